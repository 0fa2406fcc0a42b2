"""Security keys and passkeys (WebAuthn, py_webauthn) as a second factor beside the authenticator app (TOTP).

A privileged account (trading.second_factor.needs_second_factor) registers keys from its own page
(/account/security/) and, once it has one, may pass the second step of a sign-in with it instead of a code.
Both are challenge round trips the browser makes with `navigator.credentials` (frontend/static/frontend/
security-key.js):

    registration_options(user, session, name)  → options for navigator.credentials.create()
    register(user, session, credential)         → the new SecurityKey (a django-otp device)
    authentication_options(user, session)       → options for navigator.credentials.get()
    authenticate(user, session, credential)     → the SecurityKey that signed

Rules:
- A challenge is 32 random bytes kept in the session that asked for it, with its purpose and its account; it
  is taken out of the session by the first answer, right or wrong (single use), and is refused after
  SUNLIGHT_WEBAUTHN_CHALLENGE_SECONDS. A new request replaces the session's earlier challenge.
- The relying party id and the accepted origins come from settings (SUNLIGHT_WEBAUTHN_RP_ID,
  SUNLIGHT_WEBAUTHN_ORIGINS; deploy/README.md).
- The signature counter only moves forward (`sign_count_acceptable`): an answer whose counter did not grow
  (a cloned key, a replayed answer) is refused even though its signature is good; both zero means the
  authenticator keeps no counter (synced passkeys).
- Every registration, removal, successful sign-in and refusal is an audit event (trading.services:
  account.security_key_added / _removed / _refused, account.second_factor with kind security_key); a refusal
  changes nothing else.
- The last second factor of a privileged account (its last key, or its authenticator when it has no key) cannot
  be removed (`remove`; trading.second_factor.remove_authenticator).
- Refusals are throttled per account and step (registering, signing in), as django-otp throttles a device's
  wrong codes: after n refused answers in a row, the account's next answer at that step is refused unread — no
  challenge kept, no signature checked — until SUNLIGHT_SECURITY_KEY_THROTTLE_FACTOR · 2^(n−1) seconds after the
  last refusal (at most SUNLIGHT_SECURITY_KEY_THROTTLE_MAX_SECONDS), with 429 `second_factor_throttled` and
  Retry-After; options are not given meanwhile either. A success of the step resets its count. The count is a
  row of trading.models.SecurityKeyThrottle, locked while an answer is judged, so that concurrent answers are
  counted one after the other by every process. Each refusal's audit event carries the count and the delay it
  imposes; a throttled attempt is one too (reason `throttled`, the wait left) and does not count.
- A refusal is a `KeyRefused`: the view answers it in the one JSON error shape ({"code", "detail", "fields"}),
  never a 500.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from trading.models import SecurityKey, SecurityKeyThrottle, User

SESSION_KEY = "sunlight.webauthn"
PURPOSES = ("register", "sign_in")
NAME_MAX = 64
CREDENTIAL_MAX_CHARS = 64 * 1024  # an attestation with a certificate chain is a few kB
TRANSPORTS = ("usb", "nfc", "ble", "internal", "hybrid", "smart-card", "cable")


class KeyRefused(Exception):
    """A refused key step. `code` is the error shape's code, `reason` the audit event's."""

    def __init__(self, code: str, detail: str, *, reason: str, status: int = 400, fields: dict | None = None,
                 device_id: int | None = None, retry_after: int | None = None):
        super().__init__(detail)
        self.code, self.detail, self.reason, self.status = code, detail, reason, status
        self.fields = fields or {}
        self.device_id = device_id
        self.retry_after = retry_after  # seconds (Retry-After) of a throttled attempt


# --- pure rules ------------------------------------------------------------------------------------------
def sign_count_acceptable(stored: int, new: int) -> bool:
    """WebAuthn §6.1.1 / §7.2 step 21: the counter must grow; both zero means the authenticator has none."""
    return new > stored or (new == 0 and stored == 0)


def clean_name(raw: Any) -> str:
    """The user's label for a key: 1 to 64 characters of ordinary text."""
    from trading.inputs import bad_text

    name = raw.strip() if isinstance(raw, str) else ""
    problem = None
    if not name:
        problem = _("Give the key a name (for example “blue USB key”).")
    elif len(name) > NAME_MAX:
        problem = _("A key's name has at most %(max)d characters.") % {"max": NAME_MAX}
    elif bad_text(name):
        problem = _("Text may not contain NUL or control characters or bidirectional overrides.")
    if problem:
        raise KeyRefused("invalid", problem, reason="name", fields={"name": [problem]})
    return name


def throttle_delay(failures: int, *, factor: int, cap: int) -> dt.timedelta:
    """How long after its last refusal a step waits after `failures` refusals in a row: django-otp's
    factor · 2^(failures − 1) seconds, at most `cap` seconds; none before the first refusal."""
    if failures <= 0 or factor <= 0:
        return dt.timedelta(0)
    if failures > 40:  # 2^40 s is far past any sane cap
        return dt.timedelta(seconds=cap)
    return dt.timedelta(seconds=min(factor * 2 ** (failures - 1), cap))


def throttle_wait(*, failures: int, last_failure_at: dt.datetime | None, now: dt.datetime, factor: int,
                  cap: int) -> dt.timedelta:
    """Time left before the step may be tried again; zero when it may."""
    if last_failure_at is None:
        return dt.timedelta(0)
    return max(dt.timedelta(0), last_failure_at + throttle_delay(failures, factor=factor, cap=cap) - now)


# --- settings --------------------------------------------------------------------------------------------
def rp_id() -> str:
    return settings.SUNLIGHT_WEBAUTHN_RP_ID


def origins() -> list[str]:
    return list(settings.SUNLIGHT_WEBAUTHN_ORIGINS)


def _throttle_limits() -> dict:
    return {"factor": settings.SUNLIGHT_SECURITY_KEY_THROTTLE_FACTOR,
            "cap": settings.SUNLIGHT_SECURITY_KEY_THROTTLE_MAX_SECONDS}


def available(request) -> bool:
    """Whether this page is served from an origin the keys may answer for (else the page does not offer them:
    the browser would refuse, e.g. on http://127.0.0.1:8000 — an IP address is no relying party id)."""
    return f"{request.scheme}://{request.get_host()}" in origins()


def user_handle(user: User) -> bytes:
    """A stable opaque id of the account for the authenticator (no name, no database id in clear)."""
    return salted_hmac("sunlight.webauthn.user-handle", str(user.pk)).digest()[:32]


# --- challenges ------------------------------------------------------------------------------------------
def _remember_challenge(session, *, purpose: str, user: User, challenge: bytes, **extra: Any) -> None:
    from webauthn.helpers import bytes_to_base64url

    expires = timezone.now().timestamp() + settings.SUNLIGHT_WEBAUTHN_CHALLENGE_SECONDS
    session[SESSION_KEY] = {"purpose": purpose, "user": user.pk, "challenge": bytes_to_base64url(challenge),
                            "expires": expires, **extra}


def take_challenge(session, *, purpose: str, user: User) -> dict:
    """The session's pending challenge for this purpose and account, removed from the session (used once)."""
    from webauthn.helpers import base64url_to_bytes

    pending = session.pop(SESSION_KEY, None)
    if not isinstance(pending, dict) or pending.get("purpose") != purpose or pending.get("user") != user.pk:
        raise KeyRefused("key_challenge_missing", _(
            "No security-key request is pending in this session (it was already answered, or never asked for): "
            "start again."), reason="challenge_missing")
    if timezone.now().timestamp() > float(pending["expires"]):
        raise KeyRefused("key_challenge_expired", _(
            "The security-key request expired: start again and touch your key within %(seconds)d seconds.")
            % {"seconds": settings.SUNLIGHT_WEBAUTHN_CHALLENGE_SECONDS}, reason="challenge_expired")
    return {**pending, "challenge": base64url_to_bytes(pending["challenge"])}


def _options_json(options) -> dict:
    from webauthn import options_to_json

    return json.loads(options_to_json(options))


def _descriptors(keys):
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    known = {t.value for t in AuthenticatorTransport}
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(k.credential_id),
                                          transports=[AuthenticatorTransport(t) for t in k.transports if t in known])
            for k in keys]


def keys_of(user: User) -> list[SecurityKey]:
    return list(SecurityKey.objects.filter(user=user, confirmed=True).order_by("created_at", "id"))


def _refused_answer(reason: str = "invalid") -> KeyRefused:
    return KeyRefused("key_refused", _(
        "The security key's answer was refused (not one of this account's keys, a bad signature, the wrong site, "
        "or a signature counter that did not move forward). Nothing was changed."), reason=reason)


def _credential(raw: Any) -> dict:
    """The browser's PublicKeyCredential as JSON (an object), bounded in size."""
    if not isinstance(raw, dict) or len(json.dumps(raw)) > CREDENTIAL_MAX_CHARS:
        raise _refused_answer()
    return raw


# --- throttling ------------------------------------------------------------------------------------------
def wait_left(*, user: User, step: str) -> dt.timedelta:
    """How long the account must still wait before its next answer at `step`; zero when it may answer."""
    row = SecurityKeyThrottle.objects.filter(user=user, step=step).only("failures", "last_failure_at").first()
    if row is None:
        return dt.timedelta(0)
    return throttle_wait(failures=row.failures, last_failure_at=row.last_failure_at, now=timezone.now(),
                         **_throttle_limits())


def _seconds(wait: dt.timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


def _throttled(wait: dt.timedelta) -> KeyRefused:
    seconds = _seconds(wait)
    detail = ngettext("Too many refused security-key attempts: try again in %(seconds)d second.",
                      "Too many refused security-key attempts: try again in %(seconds)d seconds.",
                      seconds) % {"seconds": seconds}
    return KeyRefused("second_factor_throttled", detail, reason="throttled", status=429, retry_after=seconds)


def _refuse_while_throttled(*, user: User, session, step: str, wait: dt.timedelta) -> None:
    """While the step waits, its attempts are refused unread: the session's pending challenge is dropped, the
    attempt recorded (reason throttled, the wait left), not counted."""
    if wait <= dt.timedelta(0):
        return
    from trading import services

    session.pop(SESSION_KEY, None)
    services.record_security_key(user=user, action="account.security_key_refused", step=step, reason="throttled",
                                 wait_seconds=_seconds(wait))
    raise _throttled(wait)


def _options_allowed(*, user: User, session, step: str) -> None:
    """Options (a new challenge) are not given while the step waits: the key would be touched in vain."""
    _refuse_while_throttled(user=user, session=session, step=step, wait=wait_left(user=user, step=step))


def _judged(*, user: User, session, step: str, judge) -> Any:
    """Run `judge()` (the verification of an answer, raising KeyRefused) under the account's throttle for the
    step: refused unread while it waits; a refusal counts (and is recorded with the count and the delay it
    imposes, in the same transaction), a success resets the count. The throttle's row stays locked while the
    answer is judged, so that concurrent answers are counted one after the other."""
    from trading import services

    refusal: KeyRefused | None = None
    with transaction.atomic():
        row, _created = SecurityKeyThrottle.objects.select_for_update().get_or_create(user=user, step=step)
        now = timezone.now()
        limits = _throttle_limits()
        try:
            _refuse_while_throttled(user=user, session=session, step=step, wait=throttle_wait(
                failures=row.failures, last_failure_at=row.last_failure_at, now=now, **limits))
            result = judge()
        except KeyRefused as refused:
            refusal = refused
            if refused.reason != "throttled":
                row.failures += 1
                row.last_failure_at = now
                row.save(update_fields=["failures", "last_failure_at"])
                services.record_security_key(
                    user=user, action="account.security_key_refused", step=step, reason=refused.reason,
                    device_id=refused.device_id, failures=row.failures,
                    wait_seconds=int(throttle_delay(row.failures, **limits).total_seconds()))
        else:
            if row.failures:
                row.failures, row.last_failure_at = 0, None
                row.save(update_fields=["failures", "last_failure_at"])
            return result
    assert refusal is not None
    raise refusal


# --- registration ----------------------------------------------------------------------------------------
def registration_options(*, user: User, session, name: Any) -> dict:
    """Options for navigator.credentials.create(): a fresh challenge (kept in the session with the key's name),
    the account's existing keys excluded (no key registered twice)."""
    from webauthn import generate_registration_options
    from webauthn.helpers.structs import (AttestationConveyancePreference, AuthenticatorSelectionCriteria,
                                          ResidentKeyRequirement, UserVerificationRequirement)

    _options_allowed(user=user, session=session, step="register")
    name = clean_name(name)
    options = generate_registration_options(
        rp_id=rp_id(), rp_name=settings.SUNLIGHT_WEBAUTHN_RP_NAME, user_id=user_handle(user),
        user_name=user.username, user_display_name=user.get_full_name() or user.username,
        timeout=settings.SUNLIGHT_WEBAUTHN_CHALLENGE_SECONDS * 1000,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED, user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=_descriptors(keys_of(user)),
    )
    _remember_challenge(session, purpose="register", user=user, challenge=options.challenge, name=name)
    return _options_json(options)


def register(*, user: User, session, credential: Any) -> tuple[SecurityKey, list[str] | None]:
    """Verify the browser's answer to the session's registration challenge and keep the key. When it is the
    account's first second factor it also gets its recovery codes (returned, to be shown once; else None).
    A refusal is an audit event, counts towards the throttle and changes nothing else."""
    def judge():
        pending = take_challenge(session, purpose="register", user=user)
        return _register(user=user, pending=pending, credential=_credential(credential))

    return _judged(user=user, session=session, step="register", judge=judge)


def _register(*, user: User, pending: dict, credential: dict) -> tuple[SecurityKey, list[str] | None]:
    from webauthn import verify_registration_response
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.exceptions import WebAuthnException

    from trading import second_factor, services

    try:
        verified = verify_registration_response(credential=credential, expected_challenge=pending["challenge"],
                                                expected_rp_id=rp_id(), expected_origin=origins())
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError):
        raise _refused_answer() from None
    response = credential.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    transports = [t for t in transports if t in TRANSPORTS] if isinstance(transports, list) else []
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one change of the account's factors at once
        credential_id = bytes_to_base64url(verified.credential_id)
        if SecurityKey.objects.filter(credential_id=credential_id).exists():
            raise KeyRefused("key_refused", _("This security key is already registered."), reason="already_registered")
        first = second_factor.factor_count(user) == 0
        key = SecurityKey.objects.create(
            user=user, name=pending.get("name") or "security key", confirmed=True, credential_id=credential_id,
            public_key=verified.credential_public_key, sign_count=verified.sign_count, transports=sorted(set(transports)),
            aaguid=str(verified.aaguid or ""))
        services.record_security_key(user=user, action="account.security_key_added", device_id=key.pk, name=key.name)
        codes = second_factor.new_recovery_codes(user=user) if first else None
    return key, codes


# --- sign-in ---------------------------------------------------------------------------------------------
def authentication_options(*, user: User, session) -> dict:
    """Options for navigator.credentials.get(): a fresh challenge for this session, the account's keys allowed."""
    from webauthn import generate_authentication_options
    from webauthn.helpers.structs import UserVerificationRequirement

    keys = keys_of(user)
    if not keys:
        raise KeyRefused("conflict", _("This account has no security key."), reason="no_key", status=409)
    _options_allowed(user=user, session=session, step="sign_in")
    options = generate_authentication_options(
        rp_id=rp_id(), timeout=settings.SUNLIGHT_WEBAUTHN_CHALLENGE_SECONDS * 1000,
        allow_credentials=_descriptors(keys), user_verification=UserVerificationRequirement.PREFERRED)
    _remember_challenge(session, purpose="sign_in", user=user, challenge=options.challenge)
    return _options_json(options)


def authenticate(*, user: User, session, credential: Any) -> SecurityKey:
    """Verify the browser's answer to the session's sign-in challenge: one of the account's keys signed it, for
    this site, with a counter that moved forward. The key's counter and last use are updated and the second
    step recorded (account.second_factor, kind security_key). A refusal is an audit event
    (account.security_key_refused), counts towards the throttle and changes nothing else."""
    def judge():
        pending = take_challenge(session, purpose="sign_in", user=user)
        answer = _credential(credential)
        key_id = answer.get("id")
        if not isinstance(key_id, str) or not key_id.isascii() or len(key_id) > 1400:
            raise _refused_answer("unknown_key")
        key = SecurityKey.objects.select_for_update().filter(user=user, confirmed=True, credential_id=key_id).first()
        if key is None:
            raise _refused_answer("unknown_key")
        try:
            return _authenticate(user=user, key=key, pending=pending, credential=answer)
        except KeyRefused as refused:
            refused.device_id = key.pk  # the answer named one of the account's keys
            raise

    return _judged(user=user, session=session, step="sign_in", judge=judge)


def _authenticate(*, user: User, key: SecurityKey, pending: dict, credential: dict) -> SecurityKey:
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException

    from trading import services

    try:
        # the counter is judged below, after the signature (so a counter refusal always means a real key's answer)
        verified = verify_authentication_response(
            credential=credential, expected_challenge=pending["challenge"], expected_rp_id=rp_id(),
            expected_origin=origins(), credential_public_key=bytes(key.public_key), credential_current_sign_count=0)
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError):
        raise _refused_answer() from None
    if not sign_count_acceptable(key.sign_count, verified.new_sign_count):
        raise _refused_answer("sign_count")
    key.sign_count = verified.new_sign_count
    key.last_used_at = timezone.now()
    key.save(update_fields=["sign_count", "last_used_at"])
    services.record_second_factor(user=user, kind="security_key", device_id=key.pk)
    return key


# --- removal ---------------------------------------------------------------------------------------------
@transaction.atomic
def remove(*, user: User, key_id: int) -> None:
    """Remove one of the account's keys. Refused (Conflict) when it is a privileged account's last second
    factor: it would then sign in with its password alone."""
    from trading import second_factor, services
    from trading.errors import Conflict, NotFound

    User.objects.select_for_update().filter(pk=user.pk).first()  # one change of the account's factors at once
    key = SecurityKey.objects.filter(user=user, pk=key_id).first()
    if key is None:
        raise NotFound(gettext_lazy("No such security key."))
    if second_factor.needs_second_factor(user) and second_factor.factor_count(user) <= 1:
        raise Conflict(gettext_lazy("This is your last second factor: add another security key or an authenticator first."))
    services.record_security_key(user=user, action="account.security_key_removed", device_id=key.pk, name=key.name)
    key.delete()
