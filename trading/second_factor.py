"""Second factor (django-otp) for privileged accounts: who needs it, enrolment, verification, recovery codes.

Staff, supervisors (custodians of the opening keys are staff or supervisors), administrators and any
account with Django's is_staff/is_superuser sign in with their password and then a TOTP code from an
authenticator app (django-otp's TOTP device) or one of ten single-use recovery codes (its static device).
An account of those roles without a confirmed authenticator is sent to enrol right after its password:
it scans a QR code (rendered here as SVG, nothing from outside), confirms with a first code and receives
its recovery codes once. A security key or passkey (WebAuthn, trading.security_keys: a django-otp device of its
own, trading.models.SecurityKey) may stand beside the authenticator or instead of it; the last second factor
of a privileged account is never removed (`factor_count`). Until the second step is done the session can reach nothing but the steps
themselves (`SecondFactorMiddleware`); over the API such accounts get a token only with a code
(`POST /api/auth/token/` with `otp`). Wrong codes slow the device down (django-otp's throttle); a refused code is
an audit event for the supervisors (account.second_factor_refused), and one refused unchecked while its device
waits is answered with the wait (CodeThrottled: 429, Retry-After).
"""
from __future__ import annotations

import math
import re
import secrets

from django.db import transaction

PRIVILEGED_ROLES = frozenset({"staff", "supervisor", "admin"})
RECOVERY_CODES = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"


def needs_second_factor(user) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return getattr(user, "role", None) in PRIVILEGED_ROLES or user.is_staff or user.is_superuser


def is_verified(user) -> bool:
    """Whether this request's user passed the second step (OTPMiddleware sets `is_verified`)."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def confirmed_totp(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def has_second_factor(user) -> bool:
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


def factor_count(user) -> int:
    """The account's second factors proper: its confirmed authenticator and its security keys (recovery codes are
    the way back in when those are lost, not a factor of their own)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from trading.models import SecurityKey

    return (TOTPDevice.objects.filter(user=user, confirmed=True).count()
            + SecurityKey.objects.filter(user=user, confirmed=True).count())


@transaction.atomic
def remove_authenticator(*, user) -> None:
    """Remove the account's authenticator app; refused (Conflict) when it is a privileged account's last second
    factor (it has no security key)."""
    from django.utils.translation import gettext_lazy

    from django_otp.plugins.otp_totp.models import TOTPDevice

    from trading import services
    from trading.errors import Conflict, NotFound
    from trading.models import User

    User.objects.select_for_update().filter(pk=user.pk).first()  # one change of the account's factors at once
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id"))
    if not devices:
        raise NotFound(gettext_lazy("This account has no authenticator."))
    if needs_second_factor(user) and factor_count(user) <= len(devices):
        raise Conflict(gettext_lazy("This is your last second factor: add another security key or an authenticator first."))
    for device in devices:
        services.record_second_factor_change(user=user, action="account.second_factor_removed", device_id=device.pk)
        device.delete()


def recovery_codes_left(user) -> int:
    from django_otp.plugins.otp_static.models import StaticToken

    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def start_enrolment(*, user):
    """The account's pending (unconfirmed) authenticator, created on first call; its secret is shown once
    confirmed devices exist only after a code from it was accepted."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False, name=TOTP_NAME).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


@transaction.atomic
def confirm_enrolment(*, user, device_id: int, code: str) -> tuple[object, list[str]] | None:
    """Accept the pending authenticator if `code` comes from it: it replaces any earlier authenticator and the
    account gets a fresh set of recovery codes (returned, to be shown once). None when the code is wrong."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from trading import services

    device = TOTPDevice.objects.select_for_update().filter(pk=device_id, user=user, confirmed=False).first()
    if device is None or not device.verify_token(code.strip()):
        return None
    for old in TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id"):  # replaced: removed
        services.record_second_factor_change(user=user, action="account.second_factor_removed", device_id=old.pk)
        old.delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    services.record_second_factor_change(user=user, action="account.second_factor_enrolled", device_id=device.pk)
    return device, new_recovery_codes(user=user)


@transaction.atomic
def new_recovery_codes(*, user) -> list[str]:
    """Ten fresh single-use recovery codes replacing the old ones."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = ["-".join(secrets.token_hex(2) for _ in range(3)) for _ in range(RECOVERY_CODES)]  # 48 bits, used once
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    from trading import services

    services.record_second_factor_change(user=user, action="account.recovery_codes_renewed", recovery_codes=len(codes))
    return codes


RECOVERY_CODE_SHAPE = re.compile(r"[0-9a-fA-F]{4}(?:-[0-9a-fA-F]{4}){2}")


def code_kind(code: str) -> str:
    """Which kind of device a typed code (whitespace removed) was meant for, by its shape: decimal digits only are
    an authenticator's (`totp`), three dash-joined groups of four hex digits a recovery code (`recovery_code`);
    anything else cannot be told (`code`)."""
    if code.isdecimal():  # also full-width digits (an input method's), which django-otp's int() reads
        return "totp"
    if RECOVERY_CODE_SHAPE.fullmatch(code):
        return "recovery_code"
    return "code"


class CodeThrottled(Exception):
    """A code refused unchecked: the device it was meant for waits after wrong codes (django-otp's throttle).
    `retry_after`: the seconds left (the answer's Retry-After; its message: `throttled_detail`)."""

    def __init__(self, retry_after: int):
        super().__init__(f"second factor throttled for {retry_after} s")
        self.retry_after = retry_after


def throttled_detail(seconds: int) -> str:
    """What a throttled code's answer says, in the active language."""
    from django.utils.translation import ngettext

    return ngettext("Too many wrong codes in a row: try again in %(seconds)d second.",
                    "Too many wrong codes in a row: try again in %(seconds)d seconds.",
                    seconds) % {"seconds": seconds}


def _wait_left(device, now) -> int:
    """The seconds until django-otp lets `device` check a code again (0: it may now)."""
    allowed, info = device.verify_is_allowed()
    if allowed or not info or info.get("locked_until") is None:
        return 0
    return max(1, math.ceil((info["locked_until"] - now).total_seconds()))


def verify(*, user, code: str):
    """The device (authenticator or recovery codes) that accepts `code`, else None; CodeThrottled when the code
    was refused unchecked because the device it was meant for waits. Every confirmed device is asked, each
    under its row lock, in one transaction with the audit event: each throttles its own failures with growing
    delays (django-otp: 1 s, 2 s, 4 s …); a recovery code works once. A refused code is an event for the
    supervisors (account.second_factor_refused: the kind of code by its shape, the refusals in a row and the
    delay now imposed as django-otp's throttle reports them on the device it was meant for), never the code."""
    from django.utils import timezone
    from django_otp import devices_for_user
    from django_otp.models import ThrottlingMixin
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from trading import services

    code = "".join(code.split())
    if not code or len(code) > 32:
        return None
    kind = code_kind(code)
    with transaction.atomic():
        devices = list(devices_for_user(user, confirmed=True, for_verify=True))  # locked: codes one after another
        counting = [d for d in devices if isinstance(d, ThrottlingMixin)]
        meant_class = {"totp": TOTPDevice, "recovery_code": StaticDevice}.get(kind)
        of_kind = [d for d in counting if meant_class is not None and isinstance(d, meant_class)]
        meant = of_kind or counting  # the devices whose throttle speaks for this code
        waiting = bool(meant) and all(not d.verify_is_allowed()[0] for d in meant)
        for device in devices:
            if device.verify_token(code):
                if isinstance(device, StaticDevice):
                    services.record_second_factor(user=user, kind="recovery_code",
                                                  recovery_codes_left=recovery_codes_left(user))
                else:
                    services.record_second_factor(user=user, kind="totp")
                return device
        now = timezone.now()
        wait = max((_wait_left(d, now) for d in meant), default=0)
        services.record_second_factor_refused(
            user=user, kind=kind, reason="throttled" if waiting else "wrong_code",
            failures=max((d.throttling_failure_count for d in meant), default=0), wait_seconds=wait,
            device_id=of_kind[0].pk if len(of_kind) == 1 else None)
    if waiting:
        raise CodeThrottled(max(1, wait))
    return None


def base32_secret(device) -> str:
    from base64 import b32encode

    return b32encode(device.bin_key).decode()


def qr_svg(text: str) -> str:
    """An inline SVG QR code (qrcode's path image), rendered on the server."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


# --- enforcement -------------------------------------------------------------------------------------
OPEN_PATHS = ("/login/", "/logout/", "/lang/", "/i18n/", "/jsi18n/", "/static/", "/account/security/")


def verify_url(path: str) -> str:
    from urllib.parse import urlencode

    return "/login/verify/?" + urlencode({"next": path})


class SecondFactorMiddleware:
    """After django-otp's OTPMiddleware: a privileged session that has not passed the second step reaches
    only the login steps; pages send it there, the API answers 403 in the one error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if needs_second_factor(user) and not is_verified(user) and not request.path_info.startswith(OPEN_PATHS):
            if request.path_info.startswith("/api/"):
                from django.utils.translation import gettext as _

                from trading.auth import api_error

                return api_error(request, status=403, code="permission_denied",
                                 detail=_("Sign in with your second factor (authenticator code) first."))
            from django.shortcuts import redirect

            return redirect(verify_url(request.get_full_path()))
        return self.get_response(request)


class AdminGateMiddleware:
    """/admin/ exists only for active accounts with Django's is_staff flag that passed the second step; for
    everyone else it answers 404 like any unknown address (no login form, nothing disclosed). In production
    it is not routed at all unless SUNLIGHT_ADMIN_ENABLED=1 (config/urls.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/admin/"):
            user = request.user
            if not (user.is_authenticated and user.is_active and user.is_staff and is_verified(user)):
                from django.http import Http404

                raise Http404("no such page")
        return self.get_response(request)


def session_verified(user, session) -> bool:
    """The check OTPMiddleware makes, for a websocket's session: its verified device belongs to the user."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.models import Device

    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    return device is not None and device.user_id == user.pk and device.confirmed


class WebsocketSecondFactor:
    """Inside channels' AuthMiddlewareStack: a privileged user whose session has not passed the second step
    is anonymous on the websockets."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        from channels.db import database_sync_to_async
        from django.contrib.auth.models import AnonymousUser

        def judge():
            user = scope.get("user")
            if needs_second_factor(user) and not session_verified(user, scope.get("session")):
                return AnonymousUser()
            return None

        replacement = await database_sync_to_async(judge)()
        if replacement is not None:
            scope = dict(scope, user=replacement)
        return await self.inner(scope, receive, send)
