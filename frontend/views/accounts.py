from __future__ import annotations

import json

from django import forms
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django_otp import login as otp_login
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import i18n as i18n_views
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.i18n import JavaScriptCatalog

from trading import second_factor, security_keys, services
from trading.api_errors import error_response
from trading.errors import DomainError



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
    error, status, retry_after = None, 200, None
    if request.method == "POST" and form.is_valid():
        try:
            device = second_factor.verify(user=user, code=form.cleaned_data["code"])
        except second_factor.CodeThrottled as throttled:  # the device waits after wrong codes: say how long
            device, status, retry_after = None, 429, throttled.retry_after
            error = second_factor.throttled_detail(retry_after)
        else:
            if device is None:
                error, status = _("Wrong or expired code (after several wrong codes, wait a little before the next)."), 400
        if device is not None:
            request.session.cycle_key()
            otp_login(request, device)
            return redirect(nxt)
    has_keys = bool(security_keys.keys_of(user))
    response = render(request, "frontend/accounts/verify.html", {
        "form": form, "error": error, "next": nxt, "has_keys": has_keys,
        "keys_available": has_keys and security_keys.available(request)}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


RECOVERY_CODES_ONCE = "sunlight.recovery_codes_once"  # codes of a first enrolment by key, shown on the next page


def _security_context(request) -> dict:
    user = request.user
    needed = second_factor.needs_second_factor(user)
    enrolled = second_factor.has_second_factor(user)
    keys = security_keys.keys_of(user) if needed else []
    return {"needed": needed, "enrolled": enrolled, "next": safe_next(request), "codes": None, "error": None,
            "pending": None, "left": second_factor.recovery_codes_left(user) if enrolled else 0,
            "has_totp": second_factor.confirmed_totp(user) is not None, "keys": keys,
            "factors": second_factor.factor_count(user), "keys_available": security_keys.available(request),
            "keys_origins": security_keys.origins()}


def security_page(request, *, error: str | None = None, status: int = 200):
    """The security page in its resting state (enrolled), with an error of an action that was refused."""
    context = _security_context(request)
    context["error"] = error
    return render(request, "frontend/accounts/security.html", context, status=status)


@login_required
def security_view(request):
    """The account's own page for its second factors: enrol an authenticator (QR code), replace or remove it,
    register, list and remove security keys (WebAuthn), new recovery codes. Before the second step only the
    first enrolment is possible here (an authenticator or a key)."""
    user = request.user
    context = _security_context(request)
    needed, enrolled = context["needed"], context["enrolled"]
    if needed and enrolled and not second_factor.is_verified(user):
        return redirect(second_factor.verify_url(request.get_full_path()))
    codes = request.session.pop(RECOVERY_CODES_ONCE, None) if request.method == "GET" else None
    if codes:
        context.update(codes=codes, left=len(codes))
        return render(request, "frontend/accounts/security.html", context)
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
            context.update(enrolled=True, codes=codes, left=len(codes), has_totp=True,
                           factors=second_factor.factor_count(user))
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


# --- security keys (WebAuthn): JSON round trips of frontend/static/frontend/security-key.js ------------------
# Each answers {"publicKey": options} or {"redirect": url} on success, and the one error shape
# ({"code", "detail", "fields"}, trading.api_errors.error_response) on any refusal: never a 500.
KEY_BODY_MAX = 64 * 1024


def _key_error(request, refused):
    headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
    return error_response(request, status=refused.status, code=refused.code, detail=refused.detail,
                          fields=refused.fields, headers=headers)


def _json_body(request) -> dict:
    from trading.api_errors import ApiError
    from trading.inputs import check_json

    if len(request.body) > KEY_BODY_MAX:
        raise security_keys.KeyRefused("too_large", _("The request body is too large."), reason="body", status=413)
    try:
        data = json.loads(request.body or b"{}")
        check_json(data)
    except (ValueError, RecursionError):
        raise security_keys.KeyRefused("parse_error", _("The request body is not well-formed."), reason="body") from None
    except ApiError as exc:
        raise security_keys.KeyRefused(exc.error_code, str(exc.detail), reason="body", status=exc.status_code) from None
    if not isinstance(data, dict):
        raise security_keys.KeyRefused("not_an_object", _("The request body must be a JSON object."), reason="body")
    return data


def _key_endpoint(step: str):
    """A JSON endpoint of the key ceremonies: POST only, a signed-in privileged account; `step` "enrol" (its own
    security page: the first factor, or more once past the second step) or "sign_in" (the second step)."""
    def decorate(view):
        @require_POST
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return error_response(request, status=401, code="not_authenticated")
            if not second_factor.needs_second_factor(user):
                return error_response(request, status=403, code="permission_denied",
                                      detail=_("Your role signs in with its password only."))
            if step == "enrol" and second_factor.has_second_factor(user) and not second_factor.is_verified(user):
                return error_response(request, status=403, code="permission_denied",
                                      detail=_("Sign in with your second factor (authenticator code) first."))
            try:
                return view(request, *args, **kwargs)
            except security_keys.KeyRefused as refused:
                return _key_error(request, refused)
        return wrapped
    return decorate


@_key_endpoint("enrol")
def key_register_options_view(request):
    body = _json_body(request)
    options = security_keys.registration_options(user=request.user, session=request.session, name=body.get("name"))
    return JsonResponse({"publicKey": options})


@_key_endpoint("enrol")
def key_register_view(request):
    body = _json_body(request)
    key, codes = security_keys.register(user=request.user, session=request.session, credential=body.get("credential"))
    nxt = safe_next(request)
    if codes is not None:  # the account's first factor: this session has passed with it; codes shown once
        request.session.cycle_key()
        otp_login(request, key)
        request.session[RECOVERY_CODES_ONCE] = codes
    return JsonResponse({"redirect": f"{reverse('account-security')}?{urlencode({'next': nxt})}"})


@_key_endpoint("sign_in")
def key_sign_in_options_view(request):
    _json_body(request)
    return JsonResponse({"publicKey": security_keys.authentication_options(user=request.user, session=request.session)})


@_key_endpoint("sign_in")
def key_sign_in_view(request):
    body = _json_body(request)
    key = security_keys.authenticate(user=request.user, session=request.session, credential=body.get("credential"))
    request.session.cycle_key()
    otp_login(request, key)
    return JsonResponse({"redirect": safe_next(request)})


@login_required
@require_POST
def key_remove_view(request, pk: int):
    """Remove one of the account's keys (a form on its security page); the last factor stays."""
    user = request.user
    if not second_factor.needs_second_factor(user) or not second_factor.is_verified(user):
        return redirect("account-security")
    try:
        security_keys.remove(user=user, key_id=pk)
    except DomainError as exc:
        return security_page(request, error=exc.message, status=exc.status_code)
    return redirect(f"{reverse('account-security')}?{urlencode({'next': safe_next(request)})}")


@login_required
@require_POST
def authenticator_remove_view(request):
    """Remove the authenticator app (a form on the security page), when a security key remains."""
    user = request.user
    if not second_factor.needs_second_factor(user) or not second_factor.is_verified(user):
        return redirect("account-security")
    try:
        second_factor.remove_authenticator(user=user)
    except DomainError as exc:
        return security_page(request, error=exc.message, status=exc.status_code)
    return redirect(f"{reverse('account-security')}?{urlencode({'next': safe_next(request)})}")


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
    path("account/security/keys/options/", key_register_options_view, name="account-key-options"),
    path("account/security/keys/", key_register_view, name="account-key-register"),
    path("account/security/keys/<int:pk>/remove/", key_remove_view, name="account-key-remove"),
    path("account/security/authenticator/remove/", authenticator_remove_view, name="account-authenticator-remove"),
    path("login/verify/key/options/", key_sign_in_options_view, name="login-key-options"),
    path("login/verify/key/", key_sign_in_view, name="login-key"),
    path("logout/", logout_view, name="logout"),
]
