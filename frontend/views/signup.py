"""Bidder self-registration pages: the form, and the confirmation link mailed to the new user."""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from trading import services
from trading.errors import DomainError


class SignupForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=200)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=18, min_length=18)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    contact = forms.CharField(label=_("Contact person and telephone"), max_length=200, required=False)
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)


def signup_view(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user = services.register_bidder(
                name=d["name"], credit_code_value=d["credit_code"], region=d["region"], contact=d["contact"],
                username=d["username"], email=d["email"], password=d["password"],
                confirm_url=settings.SUNLIGHT_PUBLIC_URL + "/accounts/confirm/{token}/")
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return render(request, "frontend/accounts/signup_sent.html", {"email": user.email})
    return render(request, "frontend/accounts/signup.html", {"form": form}, status=400 if form.errors else 200)


def confirm_view(request, token: str):
    try:
        user = services.confirm_bidder(token=token)
    except DomainError as exc:
        return render(request, "frontend/accounts/confirm.html", {"error": exc.message}, status=400)
    return render(request, "frontend/accounts/confirm.html", {"confirmed": user})


urlpatterns = [
    path("accounts/signup/", signup_view, name="signup"),
    path("accounts/confirm/<str:token>/", confirm_view, name="signup-confirm"),
]
