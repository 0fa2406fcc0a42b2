"""Test helpers for the second factor: a known authenticator per account and the codes it shows.

Privileged accounts (staff, supervisor, admin) sign in with a TOTP code after their password. Tests that log
such users in with `client.force_login` get a verified session through the autouse fixture in
tests/conftest.py (the session records a confirmed device of the user's, as a real second step does); tests
that drive the login form compute the real code with `totp_code`.
"""
from __future__ import annotations

import time

from django_otp.oath import TOTP

# RFC 6238's test secret ("12345678901234567890"), base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
TEST_TOTP_KEY = "3132333435363738393031323334353637383930"


def totp_device(user, key: str = TEST_TOTP_KEY):
    """The user's confirmed authenticator, created with a known key when it has none."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", key=key, confirmed=True)
    return device


def totp_code(device) -> str:
    """The code the authenticator app would show now: the current time step's, or — when that step's code was
    already used in this test (the test clock stands still) — the next step's, which the device still accepts
    (tolerance 1). Computed with the device's own key, step and digits."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if totp.t() <= device.last_t:
        steps_ahead = device.last_t + 1 - totp.t()
        if steps_ahead > device.tolerance:
            raise AssertionError("the test used every code of this time step: move the clock (clock.advance)")
        totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def verify_session(client, user) -> None:
    """Mark a test client's logged-in session as having passed the second step with the user's device."""
    from django_otp import DEVICE_ID_SESSION_KEY

    device = totp_device(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
