"""Login throttling through django-axes: growing delays per (account, address), a ceiling per address.

The rule itself is the pure `trading.login_throttle`; this module reads axes' tables for it. axes records
every failure (`AccessAttempt` per account × address × browser, `AccessFailureLog` per failure); the
`ThrottleHandler` below replaces axes' "N failures lock the account" with the rule. Both the login page and
`POST /api/auth/token/` authenticate through `django.contrib.auth.authenticate`, so one rule covers both, and
a refused attempt is answered by `lockout_response` (the login page again, or the API's JSON error, 429).
"""
from __future__ import annotations

import datetime as dt
import math

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone

from trading.login_throttle import Limits, wait_for_address, wait_for_pair


def limits() -> Limits:
    conf = settings.LOGIN_RATE_LIMIT
    return Limits(free=conf["per_account"], base=dt.timedelta(seconds=conf["delay_seconds"]),
                  cap=dt.timedelta(seconds=conf["max_delay_seconds"]), address_limit=conf["per_address"],
                  address_window=dt.timedelta(seconds=conf["window_seconds"]))


def username_key(request, credentials) -> str | None:
    """axes' AXES_USERNAME_CALLABLE: user names are counted case-insensitively."""
    username = (credentials or {}).get("username")
    return username.lower() if isinstance(username, str) else username


def client_address(request) -> str | None:
    """axes' AXES_CLIENT_IP_CALLABLE: the TCP peer (a reverse proxy must set REMOTE_ADDR; headers the client
    controls, like X-Forwarded-For, are never trusted here)."""
    return getattr(request, "META", {}).get("REMOTE_ADDR") or None


def wait_time(request: HttpRequest, credentials: dict | None) -> dt.timedelta:
    """How long this request's (account, address) — and its address — must still wait; zero when free."""
    from axes.models import AccessAttempt, AccessFailureLog

    now = timezone.now()
    lim = limits()
    address = client_address(request)
    username = get_client_username(request, credentials)
    waits = [dt.timedelta(0)]
    if username is not None:
        agg = AccessAttempt.objects.filter(username=username, ip_address=address).aggregate(
            n=Sum("failures_since_start"), last=Max("attempt_time"))
        waits.append(wait_for_pair(failures=agg["n"] or 0, last_failure=agg["last"], now=now, limits=lim))
    if address:
        times = list(AccessFailureLog.objects.filter(ip_address=address, attempt_time__gt=now - lim.address_window)
                     .order_by("-attempt_time").values_list("attempt_time", flat=True)[:lim.address_limit])
        waits.append(wait_for_address(failure_times=times, now=now, limits=lim))
    return max(waits)


class ThrottleHandler(AxesDatabaseHandler):
    """axes' database handler with Sunlight's rule in place of its lock-out (settings.AXES_HANDLER)."""

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        wait = wait_time(request, credentials)
        request.sunlight_login_wait = wait
        return wait > dt.timedelta(0)


def wait_message(wait: dt.timedelta) -> str:
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return _("Too many failed logins. Try again in %(when)s.") % {
        "when": ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}}


def lockout_response(request, original_response=None, credentials=None):
    """axes' AXES_LOCKOUT_CALLABLE: 429 with Retry-After; JSON on /api/, the login page elsewhere."""
    wait = getattr(request, "sunlight_login_wait", None) or wait_time(request, credentials)
    message = wait_message(wait)
    from trading import services

    services.record_sign_in_refused(username=username_key(request, credentials), reason="throttled",
                                    wait_seconds=max(1, math.ceil(wait.total_seconds())))
    if request.path.startswith("/api/"):
        response = api_error(request, status=429, code="throttled", detail=message)
    else:
        from django.shortcuts import render

        from frontend.views.accounts import LoginForm

        form = LoginForm(initial={"username": (credentials or {}).get("username", "")})
        response = render(request, "frontend/accounts/login.html", {"form": form, "error": message}, status=429)
    response["Retry-After"] = str(max(1, math.ceil(wait.total_seconds())))
    return response


def api_error(request, *, status: int, code: str, detail: str):
    """The API's one error shape ({"code", "detail", "fields"}), through trading.api_errors when it has it."""
    try:
        from trading.api_errors import error_response
    except ImportError:  # pragma: no cover - until the shared helper lands
        from django.http import JsonResponse

        return JsonResponse({"code": code, "detail": detail, "fields": {}}, status=status,
                            json_dumps_params={"ensure_ascii": False})
    return error_response(request, status=status, code=code, detail=detail)
