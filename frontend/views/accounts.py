from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django_otp import login as otp_login
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import i18n as i18n_views
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.i18n import JavaScriptCatalog

from trading import second_factor, services



class LoginForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput)


def login_view(request):
    form = LoginForm(request.POST or None)
    error = None
    status = 200
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, username=form.cleaned_data["username"], password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            error, status = "", 429  # the throttle (axes' middleware) answers with trading.auth.lockout_response
        elif user is None:
            error, status = _("Wrong user name or password."), 400
        else:
            login(request, user)
            services.record_sign_in(user=user, method="password",
                                    second_factor_pending=second_factor.needs_second_factor(user))
            if second_factor.needs_second_factor(user):  # the second step: a code from the authenticator
                return redirect(second_factor.verify_url(safe_next(request)))
            return redirect(safe_next(request))
    return render(request, "frontend/accounts/login.html", {"form": form, "error": error}, status=status)


class CodeForm(forms.Form):
    code = forms.CharField(max_length=32, widget=forms.TextInput(attrs={
        "autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}))


def verify_view(request):
    """The second step after the password: a code from the authenticator, or a recovery code."""
    user = request.user
    nxt = safe_next(request)
    if not user.is_authenticated:
        return redirect("login")
    if not second_factor.needs_second_factor(user) or second_factor.is_verified(user):
        return redirect(nxt)
    if not second_factor.has_second_factor(user):
        return redirect(f"{reverse('account-security')}?{urlencode({'next': nxt})}")
    form = CodeForm(request.POST or None)
    error, status = None, 200
    if request.method == "POST" and form.is_valid():
        device = second_factor.verify(user=user, code=form.cleaned_data["code"])
        if device is None:
            error, status = _("Wrong or expired code (after several wrong codes, wait a little before the next)."), 400
        else:
            request.session.cycle_key()
            otp_login(request, device)
            return redirect(nxt)
    return render(request, "frontend/accounts/verify.html", {"form": form, "error": error}, status=status)


@login_required
def security_view(request):
    """The account's own page for its second factor: enrol an authenticator (QR code), replace it, new
    recovery codes. Before the second step only the first enrolment is possible here."""
    user = request.user
    needed = second_factor.needs_second_factor(user)
    enrolled = second_factor.has_second_factor(user)
    verified = second_factor.is_verified(user)
    if needed and enrolled and not verified:
        return redirect(second_factor.verify_url(request.get_full_path()))
    context = {"needed": needed, "enrolled": enrolled, "next": safe_next(request), "codes": None, "error": None,
               "pending": None, "left": second_factor.recovery_codes_left(user) if enrolled else 0}
    status = 200
    action = request.POST.get("action") if request.method == "POST" else None
    if needed and action == "confirm":
        form = CodeForm(request.POST)
        device_id = request.POST.get("device", "")
        result = None
        if form.is_valid() and device_id.isascii() and device_id.isdigit():
            result = second_factor.confirm_enrolment(user=user, device_id=int(device_id), code=form.cleaned_data["code"])
        if result is None:
            context["error"], status = _("That code does not match: scan the QR code again and type the current code."), 400
        else:
            device, codes = result
            request.session.cycle_key()
            otp_login(request, device)
            context.update(enrolled=True, codes=codes, left=len(codes))
            return render(request, "frontend/accounts/security.html", context)
    elif needed and enrolled and action == "recovery":
        codes = second_factor.new_recovery_codes(user=user)
        context.update(codes=codes, left=len(codes))
        return render(request, "frontend/accounts/security.html", context)
    if needed and (not enrolled or action in ("replace", "confirm")):
        device = second_factor.start_enrolment(user=user)
        context["pending"] = {"id": device.pk, "secret": second_factor.base32_secret(device),
                              "qr": mark_safe(second_factor.qr_svg(device.config_url)),  # noqa: S308 - our own SVG
                              "form": CodeForm()}
    return render(request, "frontend/accounts/security.html", context, status=status)


def safe_next(request) -> str:
    nxt = request.GET.get("next", "")
    # url_has_allowed_host_and_scheme also refuses "/\\evil.example", which browsers read as "//evil.example"
    safe = nxt.startswith("/") and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    if safe:
        return nxt
    from frontend.homes import home_url

    return home_url(request.user)  # no (safe) next: the role's own home


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        services.record_sign_out(user=request.user)
    logout(request)
    return redirect("/")


# The header's language switch: a POST form to Django's own set_language view (it keeps the choice in the
# language cookie and goes back to `next` when that is on this site). No CSRF token: public pages are cached
# for every anonymous visitor alike (frontend/cache.py), so they carry none, and a forged switch of someone's
# interface language changes nothing else.
set_language = csrf_exempt(i18n_views.set_language)


urlpatterns = [
    path("lang/", set_language, name="set-language"),
    path("jsi18n/", JavaScriptCatalog.as_view(domain="djangojs"), name="javascript-catalog"),
    path("login/", login_view, name="login"),
    path("login/verify/", verify_view, name="login-verify"),
    path("account/security/", security_view, name="account-security"),
    path("logout/", logout_view, name="logout"),
]
