"""Security keys and passkeys (WebAuthn) as a second factor beside TOTP, through the real endpoints and real
PostgreSQL: registration from the account's own page, the second step of a sign-in with a key, removal (never of
the last factor), and every way an answer is refused — replayed, expired, another session's, another site's,
an unknown or removed key, a signature counter that went back, a forged signature, malformed bodies — each
a 4xx in the one error shape that changes nothing but the audit event of the refusal.

The answers come from tests/webauthn_key.py (a real P-256 key, real CBOR and signatures); the browser's own
virtual authenticator is driven in tests/browser/test_security_keys.py."""
from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import given
from hypothesis import strategies as st

from audit.models import Event
from tests.otp import totp_code, totp_device
from tests.webauthn_key import SoftKey
from trading import second_factor, security_keys
from trading.models import SecurityKey, SecurityKeyThrottle

PASSWORD = "correct-horse-battery"
RP_ID, ORIGIN = "sunlight.test", "https://sunlight.test"
OPTIONS, REGISTER = "/account/security/keys/options/", "/account/security/keys/"
SIGN_IN_OPTIONS, SIGN_IN = "/login/verify/key/options/", "/login/verify/key/"


@pytest.fixture(autouse=True)
def relying_party(settings):
    settings.SUNLIGHT_WEBAUTHN_RP_ID = RP_ID
    settings.SUNLIGHT_WEBAUTHN_ORIGINS = [ORIGIN]
    settings.SUNLIGHT_WEBAUTHN_CHALLENGE_SECONDS = 120


@pytest.fixture
def no_throttle(settings):
    """For the tests of refusals one after the other: refused answers wait no time (still counted and recorded;
    the throttle itself is tested below)."""
    settings.SUNLIGHT_SECURITY_KEY_THROTTLE_FACTOR = 0


def post(client, url, body=None, raw=None):
    data = raw if raw is not None else json.dumps(body or {})
    return client.post(url, data, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def password_step(client, user):
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def register(client, key: SoftKey, name: str = "blue key", **kw):
    options = post(client, OPTIONS, {"name": name})
    assert options.status_code == 200, options.content
    return post(client, REGISTER + "?next=/staff/", {"credential": key.create(options.json()["publicKey"], **kw)})


def key_sign_in(client, key: SoftKey, **kw):
    options = post(client, SIGN_IN_OPTIONS)
    assert options.status_code == 200, options.content
    return options.json()["publicKey"], post(client, SIGN_IN + "?next=/staff/",
                                             {"credential": key.get(options.json()["publicKey"], **kw)})


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "detail", "fields"} and body["code"] == code and body["detail"]
    return body


def state(user) -> tuple:
    """Everything a key step may change, but the audit log."""
    return (list(SecurityKey.objects.filter(user=user).order_by("id").values_list(
                "id", "credential_id", "sign_count", "last_used_at", "name")),
            TOTPDevice.objects.filter(user=user).count(), StaticToken.objects.filter(device__user=user).count())


def events(user, since: int = 0) -> list[Event]:
    return list(Event.objects.filter(id__gt=since, subject=f"user:{user.pk}", action__startswith="account.")
                .order_by("id"))


def last_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def verified_device(client) -> str | None:
    return client.session.get(DEVICE_ID_SESSION_KEY)


def enrolled_staff(world, clock):
    """Staff signed in with password + TOTP, then a registered key; returns (client, key, SecurityKey)."""
    user = world.staff
    client = Client()
    client.force_login(user)  # the whole login (tests/conftest.py), TOTP device included
    key = SoftKey(origin=ORIGIN)
    response = register(client, key)
    assert response.status_code == 200, response.content
    return client, key, SecurityKey.objects.get(user=user)


# --- pure rule -------------------------------------------------------------------------------------------
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=0, max_value=2**32 - 1))
def test_the_counter_only_moves_forward(stored, new):
    assert security_keys.sign_count_acceptable(stored, new) == (new > stored or new == stored == 0)


# --- registration ----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_register_list_and_sign_in_with_a_key(world, clock):
    user = world.staff
    client, key, device = enrolled_staff(world, clock)
    assert device.name == "blue key" and device.sign_count == 0 and device.transports == ["nfc", "usb"]
    assert device.credential_id == key.id and device.created_at == clock.now and device.last_used_at is None
    added = events(user)[-1]
    assert added.action == "account.security_key_added" and added.visibility == "supervisors"
    assert added.payload == {"user": user.pk, "kind": "security_key", "device": device.pk, "name": "blue key"}
    assert second_factor.factor_count(user) == 2 and second_factor.has_second_factor(user)
    page = client.get("/account/security/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="security-keys"' in page and "blue key" in page
    # a second key is excluded from being registered twice: the options list the first one
    options = post(client, OPTIONS, {"name": "again"}).json()["publicKey"]
    assert [c["id"] for c in options["excludeCredentials"]] == [key.id]
    assert options["rp"] == {"id": RP_ID, "name": "Sunlight"} and options["attestation"] == "none"
    # next sign-in: password, then the key instead of a code
    client.post("/logout/")
    password_step(client, user)
    assert client.get("/staff/").status_code == 302
    since = last_event_id()
    clock.advance(minutes=5)
    options, response = key_sign_in(client, key)
    assert [c["id"] for c in options["allowCredentials"]] == [key.id] and options["rpId"] == RP_ID
    assert response.status_code == 200 and response.json() == {"redirect": "/staff/"}
    assert verified_device(client) == device.persistent_id
    assert client.get("/staff/").status_code == 200
    device.refresh_from_db()
    assert device.sign_count == 1 and device.last_used_at == clock.now
    [passed] = events(user, since)
    assert passed.action == "account.second_factor"
    assert passed.payload == {"user": user.pk, "kind": "security_key", "device": device.pk}
    assert key.id not in json.dumps(passed.body)


@pytest.mark.django_db
def test_a_key_can_be_the_first_factor_and_brings_recovery_codes(world, clock):
    user = world.supervisor
    client = Client()
    password_step(client, user)
    assert client.get("/login/verify/")["Location"].startswith("/account/security/")
    page = client.get("/account/security/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="totp-qr"' in page  # the authenticator is offered, and a key as well (where the site's origin is)
    key = SoftKey(origin=ORIGIN)
    response = register(client, key, name="YubiKey 5")
    assert response.status_code == 200
    assert response.json()["redirect"] == "/account/security/?next=%2Fstaff%2F"
    device = SecurityKey.objects.get(user=user)
    assert verified_device(client) == device.persistent_id  # this session passed with its new key
    page = client.get("/account/security/?next=/supervise/").content.decode()
    codes = re.findall(r"<li>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</li>", page)
    assert len(codes) == 10 and StaticToken.objects.filter(device__user=user).count() == 10
    assert 'href="/supervise/"' in page
    assert 'id="recovery-codes"' not in client.get("/account/security/").content.decode()  # shown once
    assert client.get("/supervise/").status_code == 200
    actions = [e.action for e in events(user)]
    assert actions[-2:] == ["account.security_key_added", "account.recovery_codes_renewed"]
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@pytest.mark.django_db
def test_registration_refusals_change_nothing(world, clock, no_throttle):
    user = world.staff
    client = Client()
    client.force_login(user)
    before, since = state(user), last_event_id()
    # a bad name: no challenge at all
    body = assert_error(post(client, OPTIONS, {"name": " "}), 400, "invalid")
    assert "name" in body["fields"]
    assert_error(post(client, OPTIONS, {"name": "x" * 65}), 400, "invalid")
    assert_error(post(client, OPTIONS, {"name": "key\u202e"}), 400, "bad_text")
    # no challenge asked: refused
    key = SoftKey(origin=ORIGIN)
    assert_error(post(client, REGISTER, {"credential": {"id": key.id}}), 400, "key_challenge_missing")
    # another site's answer (phishing origin), then a replay of a good answer's challenge after refusal
    options = post(client, OPTIONS, {"name": "k"}).json()["publicKey"]
    assert_error(post(client, REGISTER, {"credential": key.create(options, origin="https://evil.example")}),
                 400, "key_refused")
    assert_error(post(client, REGISTER, {"credential": key.create(options)}), 400, "key_challenge_missing")
    # expired
    options = post(client, OPTIONS, {"name": "k"}).json()["publicKey"]
    clock.advance(seconds=121)
    assert_error(post(client, REGISTER, {"credential": key.create(options)}), 400, "key_challenge_expired")
    # malformed bodies
    post(client, OPTIONS, {"name": "k"})
    for raw in ("not json", "[]", json.dumps({"credential": "x"}), json.dumps({"credential": {"response": []}})):
        response = post(client, REGISTER, raw=raw)
        assert 400 <= response.status_code < 500 and set(response.json()) == {"code", "detail", "fields"}
    assert state(user) == before
    refused = events(user, since)
    assert {e.action for e in refused} == {"account.security_key_refused"}
    assert [e.payload["reason"] for e in refused][:4] == ["challenge_missing", "invalid", "challenge_missing",
                                                           "challenge_expired"]
    assert all(e.payload["step"] == "register" for e in refused)


@pytest.mark.django_db
def test_who_may_register(world, clock):
    # bidders sign in with their password only
    bidder = Client()
    bidder.force_login(world.bidders[0])
    assert_error(post(bidder, OPTIONS, {"name": "k"}), 403, "permission_denied")
    assert_error(Client().post(OPTIONS, "{}", content_type="application/json"), 401, "not_authenticated")
    # an enrolled account past its password only may not add a key (it must pass the second step first)
    totp_device(world.admin)
    half = Client()
    password_step(half, world.admin)
    assert_error(post(half, OPTIONS, {"name": "k"}), 403, "permission_denied")
    assert not SecurityKey.objects.exists()
    assert half.get(OPTIONS).status_code == 405


# --- sign-in ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_replayed_expired_and_foreign_answers_are_refused(world, clock, no_throttle):
    user = world.staff
    client, key, device = enrolled_staff(world, clock)
    client.post("/logout/")
    password_step(client, user)
    before, since = state(user), last_event_id()
    # replay: a good answer sent twice — its challenge was used by the first; the second finds none
    options = post(client, SIGN_IN_OPTIONS).json()["publicKey"]
    answer = key.get(options)
    other = Client()  # another browser with the same password cannot use this session's challenge either
    password_step(other, user)
    assert_error(post(other, SIGN_IN, {"credential": answer}), 400, "key_challenge_missing")
    assert verified_device(other) is None
    good = post(client, SIGN_IN, {"credential": answer})
    assert good.status_code == 200
    after_good = state(user)
    client.post("/logout/")
    password_step(client, user)
    assert_error(post(client, SIGN_IN, {"credential": answer}), 400, "key_challenge_missing")
    # an old answer sent to a fresh challenge: the challenge in it is not this one
    post(client, SIGN_IN_OPTIONS)
    assert_error(post(client, SIGN_IN, {"credential": answer}), 400, "key_refused")
    # expired
    options = post(client, SIGN_IN_OPTIONS).json()["publicKey"]
    clock.advance(seconds=121)
    assert_error(post(client, SIGN_IN, {"credential": key.get(options)}), 400, "key_challenge_expired")
    # another site (origin, relying party id)
    _, response = key_sign_in(client, key, origin="https://evil.example")
    assert_error(response, 400, "key_refused")
    _, response = key_sign_in(client, key, rp_id="evil.example")
    assert_error(response, 400, "key_refused")
    # an unknown key, and a key of someone else's account
    _, response = key_sign_in(client, SoftKey(origin=ORIGIN))
    assert_error(response, 400, "key_refused")
    # a forged signature: another private key under this key's id
    forger = SoftKey(origin=ORIGIN)
    forger.credential_id = key.credential_id
    forger.sign_count = 100
    _, response = key_sign_in(client, forger)
    assert_error(response, 400, "key_refused")
    assert verified_device(client) is None and client.get("/staff/").status_code == 302
    assert state(user)[0][0][2] == 1 and state(user) == after_good and before[0][0][2] == 0
    reasons = [(e.action, e.payload.get("reason")) for e in events(user, since)]
    assert reasons == [
        ("account.sign_in", None), ("account.security_key_refused", "challenge_missing"),  # the other browser
        ("account.second_factor", None), ("account.sign_out", None),
        ("account.sign_in", None),
        ("account.security_key_refused", "challenge_missing"),
        ("account.security_key_refused", "invalid"),
        ("account.security_key_refused", "challenge_expired"),
        ("account.security_key_refused", "invalid"), ("account.security_key_refused", "invalid"),
        ("account.security_key_refused", "unknown_key"), ("account.security_key_refused", "invalid"),
    ]
    refused = [e for e in events(user, since) if e.action == "account.security_key_refused"]
    assert all(e.visibility == "supervisors" and e.payload["step"] == "sign_in" for e in refused)
    assert refused[2].payload["device"] == device.pk and "device" not in refused[-2].payload


@pytest.mark.django_db
def test_a_counter_that_goes_back_is_refused(world, clock, no_throttle):
    """A cloned key: good signatures, but its counter is behind the one the platform last saw."""
    user = world.staff
    client, key, device = enrolled_staff(world, clock)
    client.post("/logout/")
    for expected in (1, 2, 3):
        password_step(client, user)
        assert key_sign_in(client, key)[1].status_code == 200
        client.post("/logout/")
        device.refresh_from_db()
        assert device.sign_count == expected
    password_step(client, user)
    before, since = state(user), last_event_id()
    for count in (3, 2, 0):
        _, response = key_sign_in(client, key, sign_count=count)
        assert_error(response, 400, "key_refused")
    assert state(user) == before and verified_device(client) is None
    assert [e.payload["reason"] for e in events(user, since)] == ["sign_count"] * 3
    _, response = key_sign_in(client, key, sign_count=10)  # the real key, moved on
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.sign_count == 10


@pytest.mark.django_db
def test_a_key_without_a_counter_is_accepted(world, clock):
    user = world.staff
    client = Client()
    client.force_login(user)
    key = SoftKey(origin=ORIGIN, counter_step=0)  # synced passkeys report 0 every time
    assert register(client, key).status_code == 200
    for _ in range(2):
        client.post("/logout/")
        password_step(client, user)
        assert key_sign_in(client, key)[1].status_code == 200


@pytest.mark.django_db
def test_malformed_sign_in_bodies_answer_4xx_in_the_shape(world, clock, no_throttle):
    user = world.staff
    client, key, _ = enrolled_staff(world, clock)
    client.post("/logout/")
    password_step(client, user)
    before = state(user)
    nested = "[" * 5000 + "]" * 5000
    for raw in ("", "nul\x00", nested, "[]", '"x"', json.dumps({"credential": None}), json.dumps({"credential": []}),
                json.dumps({"credential": {"id": 5}}), json.dumps({"credential": {"id": "é" * 10}}),
                json.dumps({"credential": {"id": key.id, "rawId": "!!", "response": {}}}),
                json.dumps({"credential": {"id": key.id, "rawId": key.id, "type": "public-key",
                                           "response": {"clientDataJSON": "", "authenticatorData": "",
                                                        "signature": ""}}}),
                json.dumps({"credential": {"id": "x" * 70000}})):
        post(client, SIGN_IN_OPTIONS)
        response = post(client, SIGN_IN, raw=raw)
        assert 400 <= response.status_code < 500, (raw[:40], response.status_code)
        assert set(response.json()) == {"code", "detail", "fields"}
    assert state(user) == before and verified_device(client) is None
    # an account without keys gets no options
    bare = Client()
    totp_device(world.supervisor)
    password_step(bare, world.supervisor)
    assert_error(post(bare, SIGN_IN_OPTIONS), 409, "conflict")


@pytest.mark.django_db
def test_verify_page_offers_the_key_only_to_accounts_with_one_on_the_site_origin(world, clock, settings):
    user = world.staff
    client, key, _ = enrolled_staff(world, clock)
    client.post("/logout/")
    password_step(client, user)
    assert 'id="key-sign-in"' not in client.get("/login/verify/").content.decode()  # testserver is not the origin
    settings.SUNLIGHT_WEBAUTHN_ORIGINS = [ORIGIN, "http://testserver"]
    page = client.get("/login/verify/?next=/staff/").content.decode()
    assert 'id="key-sign-in"' in page and "security-key.js" in page and "<script>" not in page
    other = Client()
    totp_device(world.supervisor)
    password_step(other, world.supervisor)
    assert 'id="key-sign-in"' not in other.get("/login/verify/").content.decode()


# --- removal ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_remove_keys_but_never_the_last_factor(world, clock):
    user = world.staff
    client, key, device = enrolled_staff(world, clock)
    second = SoftKey(origin=ORIGIN)
    assert register(client, second, name="backup").status_code == 200
    # one key goes while the other and the authenticator remain
    since = last_event_id()
    assert client.post(f"/account/security/keys/{device.pk}/remove/").status_code == 302
    [removed] = events(user, since)
    assert removed.action == "account.security_key_removed"
    assert removed.payload == {"user": user.pk, "kind": "security_key", "device": device.pk, "name": "blue key"}
    # the authenticator may go while a key remains; the session it verified must pass the second step again
    assert client.post("/account/security/authenticator/remove/").status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert events(user, since)[-1].action == "account.second_factor_removed"
    assert client.get("/staff/")["Location"].startswith("/login/verify/")
    _, response = key_sign_in(client, second)
    assert response.status_code == 200
    # the last factor stays
    last = SecurityKey.objects.get(user=user)
    before, since = state(user), last_event_id()
    response = client.post(f"/account/security/keys/{last.pk}/remove/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409 and "last second factor" in response.content.decode()
    assert state(user) == before and events(user, since) == []
    # someone else's key is not found, and changes nothing
    other = Client()
    other.force_login(world.supervisor)
    assert other.post(f"/account/security/keys/{last.pk}/remove/").status_code == 404
    assert state(user) == before
    # a removed key no longer signs in
    client.post("/logout/")
    password_step(client, user)
    post(client, SIGN_IN_OPTIONS)
    options = post(client, SIGN_IN_OPTIONS).json()["publicKey"]
    assert_error(post(client, SIGN_IN, {"credential": key.get(options)}), 400, "key_refused")
    assert verified_device(client) is None


@pytest.mark.django_db
def test_the_last_authenticator_cannot_be_removed(world, clock):
    user = world.staff
    client = Client()
    client.force_login(user)
    response = client.post("/account/security/authenticator/remove/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409 and TOTPDevice.objects.filter(user=user).count() == 1
    device = TOTPDevice.objects.get(user=user)
    client.post("/logout/")
    password_step(client, user)
    assert client.post("/login/verify/", {"code": totp_code(device)}).status_code == 302


# --- throttling of refused answers -------------------------------------------------------------------------
@given(st.integers(min_value=-3, max_value=200), st.integers(min_value=0, max_value=30),
       st.integers(min_value=1, max_value=10**6))
def test_the_delay_doubles_per_refusal_up_to_the_cap(failures, factor, cap):
    delay = security_keys.throttle_delay(failures, factor=factor, cap=cap).total_seconds()
    expected = 0 if failures <= 0 or factor == 0 else min(factor * 2 ** (failures - 1), cap)
    assert delay == expected
    assert security_keys.throttle_delay(failures + 1, factor=factor, cap=cap).total_seconds() >= delay


def throttle_row(user, step: str = "sign_in") -> tuple | None:
    return SecurityKeyThrottle.objects.filter(user=user, step=step).values_list("failures", "last_failure_at").first()


def forged(key: SoftKey) -> SoftKey:
    """Another private key under `key`'s id: its answers name the account's key, with a bad signature."""
    forger = SoftKey(origin=ORIGIN)
    forger.credential_id = key.credential_id
    forger.sign_count = 1000
    return forger


def assert_throttled(response, seconds: int) -> None:
    body = assert_error(response, 429, "second_factor_throttled")
    assert response["Retry-After"] == str(seconds) and f"{seconds} second" in body["detail"]


@pytest.mark.django_db
def test_refused_sign_ins_wait_longer_each_time_and_a_success_resets(world, clock):
    user = world.staff
    client, key, device = enrolled_staff(world, clock)
    client.post("/logout/")
    password_step(client, user)
    other = Client()  # another browser that knows the password: the count is the account's, not the session's
    password_step(other, user)
    good_options = post(other, SIGN_IN_OPTIONS).json()["publicKey"]  # asked for before the refusals
    since = last_event_id()
    clock.advance(minutes=1)
    first_failure = clock.now
    _, response = key_sign_in(client, forged(key))
    assert_error(response, 400, "key_refused")
    assert throttle_row(user) == (1, first_failure)
    # while it waits: options are refused, and so is an answer — even a good one — unread: not counted, the
    # key's counter untouched, the session's challenge dropped
    before = state(user)
    assert_throttled(post(client, SIGN_IN_OPTIONS), 1)
    assert_throttled(post(other, SIGN_IN, {"credential": key.get(good_options)}), 1)
    assert state(user) == before and throttle_row(user) == (1, first_failure)
    assert verified_device(other) is None and security_keys.SESSION_KEY not in other.session
    # after the delay (1 s) one attempt; refused again, the next waits 2 s, then 4 s
    clock.advance(seconds=1)
    _, response = key_sign_in(client, forged(key))
    assert_error(response, 400, "key_refused")
    assert throttle_row(user) == (2, clock.now)
    clock.advance(seconds=1)
    assert_throttled(post(client, SIGN_IN_OPTIONS), 1)
    clock.advance(seconds=1)
    _, response = key_sign_in(client, SoftKey(origin=ORIGIN))  # an unknown key counts as well
    assert_error(response, 400, "key_refused")
    assert throttle_row(user) == (3, clock.now)
    clock.advance(seconds=3)
    assert_throttled(post(client, SIGN_IN_OPTIONS), 1)
    assert state(user) == before and verified_device(client) is None
    # the real key after the wait: accepted, the count is reset
    clock.advance(seconds=1)
    _, response = key_sign_in(client, key)
    assert response.status_code == 200 and verified_device(client) == device.persistent_id
    assert throttle_row(user) == (0, None)
    refused = [e.payload for e in events(user, since) if e.action == "account.security_key_refused"]
    assert refused == [
        {"user": user.pk, "kind": "security_key", "step": "sign_in", "reason": "invalid", "device": device.pk,
         "failures": 1, "wait_seconds": 1},
        {"user": user.pk, "kind": "security_key", "step": "sign_in", "reason": "throttled", "wait_seconds": 1},
        {"user": user.pk, "kind": "security_key", "step": "sign_in", "reason": "throttled", "wait_seconds": 1},
        {"user": user.pk, "kind": "security_key", "step": "sign_in", "reason": "invalid", "device": device.pk,
         "failures": 2, "wait_seconds": 2},
        {"user": user.pk, "kind": "security_key", "step": "sign_in", "reason": "throttled", "wait_seconds": 1},
        {"user": user.pk, "kind": "security_key", "step": "sign_in", "reason": "unknown_key",
         "failures": 3, "wait_seconds": 4},
        {"user": user.pk, "kind": "security_key", "step": "sign_in", "reason": "throttled", "wait_seconds": 1},
    ]
    bodies = json.dumps([e.body for e in events(user, since)])
    assert key.id not in bodies and good_options["challenge"] not in bodies
    # a new failure starts again at 1 s
    client.post("/logout/")
    password_step(client, user)
    _, response = key_sign_in(client, forged(key))
    assert_error(response, 400, "key_refused")
    assert_throttled(post(client, SIGN_IN_OPTIONS), 1)


@pytest.mark.django_db
def test_the_delay_is_configurable_and_capped(world, clock, settings):
    settings.SUNLIGHT_SECURITY_KEY_THROTTLE_FACTOR = 5
    settings.SUNLIGHT_SECURITY_KEY_THROTTLE_MAX_SECONDS = 30
    user = world.staff
    client, key, _ = enrolled_staff(world, clock)
    client.post("/logout/")
    password_step(client, user)
    for failures, wait in ((1, 5), (2, 10), (3, 20), (4, 30), (5, 30)):
        _, response = key_sign_in(client, forged(key))
        assert_error(response, 400, "key_refused")
        assert throttle_row(user) == (failures, clock.now)
        clock.advance(seconds=wait - 1)
        assert_throttled(post(client, SIGN_IN_OPTIONS), 1)
        clock.advance(seconds=1)
    assert key_sign_in(client, key)[1].status_code == 200


@pytest.mark.django_db
def test_the_throttled_answer_is_in_the_page_language(world, clock):
    user = world.staff
    client, key, _ = enrolled_staff(world, clock)
    client.post("/logout/")
    password_step(client, user)
    _, response = key_sign_in(client, forged(key))
    clock.advance(seconds=1)
    _, response = key_sign_in(client, forged(key))
    # the page's script sends no Accept-Language of its own: the site's default, zh-hans
    response = client.post(SIGN_IN_OPTIONS, "{}", content_type="application/json")
    assert response.status_code == 429 and response["Retry-After"] == "2"
    assert response.json()["detail"] == "安全密钥验证失败次数过多：请在 2 秒后重试。"


@pytest.mark.django_db
def test_refused_registrations_are_throttled_apart_from_sign_ins(world, clock):
    user = world.staff
    client = Client()
    client.force_login(user)
    key = SoftKey(origin=ORIGIN)
    since = last_event_id()
    assert_error(register(client, key, origin="https://evil.example"), 400, "key_refused")
    assert throttle_row(user, "register") == (1, clock.now) and throttle_row(user, "sign_in") is None
    before = state(user)
    assert_throttled(post(client, OPTIONS, {"name": "k"}), 1)
    assert_throttled(post(client, REGISTER, {"credential": {"id": key.id}}), 1)
    assert state(user) == before and throttle_row(user, "register") == (1, clock.now)
    assert [(e.payload["step"], e.payload["reason"]) for e in events(user, since)] == [
        ("register", "invalid"), ("register", "throttled"), ("register", "throttled")]
    # signing in with a key is another count
    assert security_keys.wait_left(user=user, step="sign_in").total_seconds() == 0
    assert security_keys.wait_left(user=user, step="register").total_seconds() == 1
    # after the wait the key is registered, and the count reset
    clock.advance(seconds=1)
    assert register(client, key).status_code == 200
    assert throttle_row(user, "register") == (0, None) and SecurityKey.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_the_database_keeps_the_count_consistent(world):
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    user = world.staff
    SecurityKeyThrottle.objects.create(user=user, step="sign_in", failures=1, last_failure_at=timezone.now())
    for values in ({"step": "sign_in"}, {"step": "login"}, {"step": "register", "failures": -1},
                   {"step": "register", "failures": 2}, {"step": "register", "last_failure_at": timezone.now()}):
        with pytest.raises(IntegrityError), transaction.atomic():
            SecurityKeyThrottle.objects.create(user=user, **values)
    assert list(SecurityKeyThrottle.objects.values_list("step", "failures")) == [("sign_in", 1)]


@pytest.mark.django_db(transaction=True)
def test_an_answer_waits_for_a_concurrent_refusal_and_is_throttled_by_it(world, clock):
    """Another process counting a refusal holds the account's throttle row: an answer arriving meanwhile waits
    for it, then sees its count and is refused unread — never judged on the count from before."""
    import threading

    from django.db import connection, connections, transaction

    user = world.staff
    client, key, device = enrolled_staff(world, clock)
    client.post("/logout/")
    password_step(client, user)
    answer = key.get(post(client, SIGN_IN_OPTIONS).json()["publicKey"])  # a good answer
    SecurityKeyThrottle.objects.create(user=user, step="sign_in")  # the row exists: only its lock makes the answer wait
    locked, go = threading.Event(), threading.Event()
    results: dict = {}

    def refusal_elsewhere():
        try:
            with transaction.atomic():
                row, _ = SecurityKeyThrottle.objects.select_for_update().get_or_create(user=user, step="sign_in")
                locked.set()
                go.wait(30)
                row.failures, row.last_failure_at = 1, clock.now
                row.save()
        finally:
            connections.close_all()

    def good_answer():
        try:
            results["response"] = post(client, SIGN_IN, {"credential": answer})
        finally:
            connections.close_all()

    holder, answerer = threading.Thread(target=refusal_elsewhere), threading.Thread(target=good_answer)
    holder.start()
    assert locked.wait(30)
    answerer.start()
    with connection.cursor() as cursor:  # until the answer waits for the row's lock
        for _ in range(10_000):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                break
        else:
            pytest.fail("the answer did not wait for the throttle row")
    go.set()
    holder.join(30)
    answerer.join(30)
    assert_throttled(results["response"], 1)
    assert throttle_row(user) == (1, clock.now) and verified_device(client) is None
    device.refresh_from_db()
    assert device.sign_count == 0 and device.last_used_at is None
