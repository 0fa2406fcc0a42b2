from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate, login, logout
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trading.auth import client_address, is_locked


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput)


def login_view(request):
    form = LoginForm(request.POST or None)
    error = None
    status = 200
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        if is_locked(username, client_address(request)):
            error, status = _("Too many failed logins. Try again in 15 minutes."), 429
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                error, status = _("Wrong user name or password."), 400
            else:
                login(request, user)
                nxt = request.GET.get("next", "")
                # url_has_allowed_host_and_scheme also refuses "/\\evil.example", which browsers read as "//evil.example"
                safe = nxt.startswith("/") and url_has_allowed_host_and_scheme(
                    nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure())
                return redirect(nxt if safe else "/")
    return render(request, "frontend/accounts/login.html", {"form": form, "error": error}, status=status)


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
