"""Login rate limiting per account and per address (failed attempts in a sliding window)."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils import timezone


def client_address(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR")


def is_locked(username: str, address: str | None) -> bool:
    from trading.models import LoginFailure

    limits = settings.LOGIN_RATE_LIMIT
    since = timezone.now() - dt.timedelta(seconds=limits["window_seconds"])
    recent = LoginFailure.objects.filter(at__gte=since)
    if recent.filter(username=username.lower()).count() >= limits["per_account"]:
        return True
    return bool(address) and recent.filter(address=address).count() >= limits["per_address"]


def note_failure(username: str, address: str | None) -> None:
    from trading.models import LoginFailure

    LoginFailure.objects.create(username=username.lower(), address=address, at=timezone.now())


class RateLimitedModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            return None
        address = client_address(request)
        if is_locked(username, address):
            raise PermissionDenied("too many failed logins; try again later")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            note_failure(username, address)
        else:  # a successful login clears the account's failures (the address's stay until they age out)
            from trading.models import LoginFailure

            LoginFailure.objects.filter(username=username.lower()).delete()
        return user
