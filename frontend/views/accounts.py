from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate, login, logout
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST



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
            return redirect(safe_next(request))
    return render(request, "frontend/accounts/login.html", {"form": form, "error": error}, status=status)


def safe_next(request) -> str:
    nxt = request.GET.get("next", "")
    # url_has_allowed_host_and_scheme also refuses "/\\evil.example", which browsers read as "//evil.example"
    safe = nxt.startswith("/") and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return nxt if safe else "/"


@require_POST
def logout_view(request):
    logout(request)
    return redirect("/")


def set_language(request, code):
    """Switch the interface language with a plain link (no form, so public pages stay cacheable)."""
    from django.conf import settings
    from django.utils.http import url_has_allowed_host_and_scheme

    nxt = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    response = redirect(nxt)
    if code in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=365 * 86400, samesite="Lax")
    return response


urlpatterns = [
    path("lang/<str:code>/", set_language, name="set-lang"),
    path("login/", login_view, name="login"),
    path("logout/", logout_view, name="logout"),
]
