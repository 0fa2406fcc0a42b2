"""A code refused at the second step — on the page /login/verify/ or for an API token — is an audit event for the
supervisors (account.second_factor_refused), in the shape of a refused security-key answer: the kind of code it
was meant for (by its shape: totp, recovery_code, or code), the refusals in a row and the delay django-otp's
throttle now imposes on that device, and reason `throttled` for a code refused unchecked while the device waits
(which the answer now says: 429, Retry-After, the wait in the page's language). Never the code in the event or
the logs. Real PostgreSQL, real TOTP codes, time moved by the clock fixture."""
from __future__ import annotations

import json
import logging

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.context import verify_context
from audit.models import Event, EventContext
from tests.otp import totp_code, totp_device
from trading import second_factor

PASSWORD = "correct-horse-battery"
UA = "Mozilla/5.0 (refused-code test)"
TOKEN_URL = "/api/auth/token/"
pytestmark = pytest.mark.django_db


def last_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def account_events(since: int) -> list[Event]:
    return list(Event.objects.filter(id__gt=since, action__startswith="account.").order_by("id"))


def throttle_state(*devices) -> list[tuple]:
    out = []
    for device in devices:
        device.refresh_from_db()
        out.append((device.pk, device.throttling_failure_count, device.throttling_failure_timestamp))
    return out


def assert_private(events: list[Event], codes: list[str], caplog, *, address: str) -> None:
    """Supervisors only; neither the codes nor any secret in the event, its context or the logs."""
    assert events
    for event in events:
        assert event.visibility == "supervisors", event.action
        text = json.dumps(event.payload) + json.dumps(event.body)
        ctx = EventContext.objects.get(event_uid=event.uid).context
        assert ctx["address"] == address and ctx["client"] == UA and verify_context(event)
        for secret in [*codes, PASSWORD]:
            assert secret not in text and secret not in json.dumps(ctx), (event.action, secret)
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for secret in [*codes, PASSWORD]:
        assert secret not in logged, secret


def assert_hidden_from_others(since: int) -> None:
    """The audit log's own listing gives others (here: anonymous) the refusals by leaf hash only."""
    listed = {e["id"]: e for e in APIClient().get("/api/audit/events/", {"after": since, "limit": 500}).json()["results"]}
    refused = Event.objects.filter(id__gt=since, action="account.second_factor_refused")
    assert refused and all(listed[e.pk]["visibility"] == "supervisors" and "event" not in listed[e.pk] for e in refused)


@pytest.fixture
def staff_account(world):
    user = world.staff
    device = totp_device(user)
    codes = second_factor.new_recovery_codes(user=user)
    return user, device, StaticDevice.objects.get(user=user), codes


def test_the_shape_of_a_code_tells_what_it_was_meant_for():
    assert second_factor.code_kind("123456") == "totp"
    assert second_factor.code_kind("12345678") == "totp"
    assert second_factor.code_kind("１２３４５６") == "totp"  # full-width, as an input method types them
    assert second_factor.code_kind("0a1b-2c3d-4e5f") == "recovery_code"
    assert second_factor.code_kind("0A1B-2C3D-4E5F") == "recovery_code"
    for other in ("12345a", "0a1b2c3d4e5f", "0a1b-2c3d", "abc", "-123456", "0a1b-2c3d-4e5g"):
        assert second_factor.code_kind(other) == "code", other


def test_wrong_codes_on_the_page_are_events_and_a_throttled_one_says_to_wait(staff_account, clock, caplog):
    caplog.set_level(logging.DEBUG)
    user, totp, static, codes = staff_account
    client = Client(REMOTE_ADDR="10.3.3.3", HTTP_USER_AGENT=UA)
    assert client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    since = last_id()
    wrong_totp, wrong_recovery, garbage = "123456", "ffff-0000-ffff", "not-a-code"
    assert wrong_recovery not in codes
    # a wrong code: the same answer as ever (400, "wrong or expired code"), in the page's language
    page = client.post("/login/verify/", {"code": wrong_totp}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400 and "Wrong or expired code" in page.content.decode()
    assert "Retry-After" not in page
    clock.advance(seconds=1)
    page = client.post("/login/verify/", {"code": wrong_recovery})
    assert page.status_code == 400 and "动态码错误或已过期" in page.content.decode()
    clock.advance(seconds=2)
    assert client.post("/login/verify/", {"code": garbage}).status_code == 400
    # three wrong codes in a row: the next waits 4 s; the right code now is refused unchecked and the page says so
    right = totp_code(totp)
    before = throttle_state(totp, static)
    page = client.post("/login/verify/", {"code": right})
    assert page.status_code == 429 and page["Retry-After"] == "4"
    assert "连续输错验证码次数过多：请在 4 秒后重试。" in page.content.decode()
    assert throttle_state(totp, static) == before  # not counted
    assert client.get("/staff/").status_code == 302  # still before the second step
    clock.advance(seconds=1)
    page = client.post("/login/verify/", {"code": right}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 429 and page["Retry-After"] == "3"
    assert "Too many wrong codes in a row: try again in 3 seconds." in page.content.decode()
    clock.advance(seconds=3)
    assert client.post("/login/verify/", {"code": right}).status_code == 302
    assert client.get("/staff/").status_code == 200

    events = account_events(since)
    assert [e.action for e in events] == ["account.second_factor_refused"] * 5 + ["account.second_factor"]
    assert all(e.subject == f"user:{user.pk}" and e.actor_id == user.pk for e in events)
    # every code is tried on both devices (django-otp counts it on each): the event reports the meant one's count
    assert [e.payload for e in events[:5]] == [
        {"user": user.pk, "kind": "totp", "device": totp.pk, "reason": "wrong_code", "failures": 1, "wait_seconds": 1},
        {"user": user.pk, "kind": "recovery_code", "device": static.pk, "reason": "wrong_code", "failures": 2,
         "wait_seconds": 2},
        {"user": user.pk, "kind": "code", "reason": "wrong_code", "failures": 3, "wait_seconds": 4},
        {"user": user.pk, "kind": "totp", "device": totp.pk, "reason": "throttled", "failures": 3, "wait_seconds": 4},
        {"user": user.pk, "kind": "totp", "device": totp.pk, "reason": "throttled", "failures": 3, "wait_seconds": 3},
    ]
    assert events[5].payload == {"user": user.pk, "kind": "totp"}
    assert_private(events, [wrong_totp, wrong_recovery, garbage, right, *codes, totp.key], caplog, address="10.3.3.3")
    assert_hidden_from_others(since)


def test_a_right_code_resets_and_a_recovery_code_while_the_authenticator_waits(staff_account, clock):
    """The throttle is the device's: a recovery code is judged by the recovery codes' own count."""
    user, totp, static, codes = staff_account
    # the recovery codes counted a wrong code long ago and were reset by none since (a right TOTP resets only TOTP)
    assert second_factor.verify(user=user, code="654321") is None
    clock.advance(seconds=60)
    assert second_factor.verify(user=user, code=totp_code(totp)) == totp
    since = last_id()
    assert second_factor.verify(user=user, code="000000") is None
    with pytest.raises(second_factor.CodeThrottled) as throttled:  # the authenticator waits 1 s
        second_factor.verify(user=user, code=totp_code(totp))
    assert throttled.value.retry_after == 1
    # the recovery codes have counted two wrong codes in a row (2 s): refused unchecked, not counted, not used
    with pytest.raises(second_factor.CodeThrottled) as throttled:
        second_factor.verify(user=user, code=codes[0])
    assert throttled.value.retry_after == 2 and StaticToken.objects.filter(device=static).count() == 10
    clock.advance(seconds=2)
    assert second_factor.verify(user=user, code=codes[0]) == static
    assert [(e.action, e.payload.get("kind"), e.payload.get("reason"), e.payload.get("failures"),
             e.payload.get("wait_seconds")) for e in account_events(since)] == [
        ("account.second_factor_refused", "totp", "wrong_code", 1, 1),
        ("account.second_factor_refused", "totp", "throttled", 1, 1),
        ("account.second_factor_refused", "recovery_code", "throttled", 2, 2),
        ("account.recovery_code_used", "recovery_code", None, None, None)]


def test_an_account_without_the_meant_device_reports_the_device_that_counted(world, clock):
    """Recovery codes only (an account whose keys were its factors): a six-digit code was meant for an
    authenticator it does not have; the recovery codes counted it."""
    user = world.supervisor
    second_factor.new_recovery_codes(user=user)
    assert not TOTPDevice.objects.filter(user=user).exists()
    since = last_id()
    assert second_factor.verify(user=user, code="123456") is None
    [event] = account_events(since)
    assert event.payload == {"user": user.pk, "kind": "totp", "reason": "wrong_code", "failures": 1,
                             "wait_seconds": 1}


def test_api_token_wrong_and_throttled_codes(staff_account, clock, caplog):
    caplog.set_level(logging.DEBUG)
    user, totp, static, codes = staff_account
    api = APIClient(REMOTE_ADDR="10.4.4.4", HTTP_USER_AGENT=UA)
    since = last_id()
    wrong = "111111"
    response = api.post(TOKEN_URL, {"username": user.username, "password": PASSWORD, "otp": wrong}, format="json")
    assert response.status_code == 400 and "Retry-After" not in response  # as before
    assert response.json() == {"code": "invalid", "detail": "wrong or expired code",
                               "fields": {"otp": ["wrong or expired code"]}}
    right = totp_code(totp)
    before = throttle_state(totp, static), StaticToken.objects.filter(device=static).count()
    response = api.post(TOKEN_URL, {"username": user.username, "password": PASSWORD, "otp": right}, format="json")
    assert response.status_code == 429 and response["Retry-After"] == "1"
    assert response.json() == {"code": "second_factor_throttled",
                               "detail": "Too many wrong codes in a row: try again in 1 second.", "fields": {}}
    response = api.post(TOKEN_URL, {"username": user.username, "password": PASSWORD, "otp": codes[0]},
                        format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 429 and response["Retry-After"] == "1"
    assert response.json()["detail"] == "连续输错验证码次数过多：请在 1 秒后重试。"
    # nothing else changed: no token, no sign-in, the devices' counts and the recovery codes as they were
    assert not Token.objects.filter(user=user).exists()
    assert (throttle_state(totp, static), StaticToken.objects.filter(device=static).count()) == before
    assert [(e.action, e.payload) for e in account_events(since)] == [
        ("account.second_factor_refused", {"user": user.pk, "kind": "totp", "device": totp.pk, "reason": "wrong_code",
                                           "failures": 1, "wait_seconds": 1}),
        ("account.second_factor_refused", {"user": user.pk, "kind": "totp", "device": totp.pk, "reason": "throttled",
                                           "failures": 1, "wait_seconds": 1}),
        ("account.second_factor_refused", {"user": user.pk, "kind": "recovery_code", "device": static.pk,
                                           "reason": "throttled", "failures": 1, "wait_seconds": 1})]
    clock.advance(seconds=1)
    response = api.post(TOKEN_URL, {"username": user.username, "password": PASSWORD, "otp": right}, format="json")
    assert response.status_code == 200 and Token.objects.filter(user=user).exists()
    events = account_events(since)
    assert [e.action for e in events[3:]] == ["account.second_factor", "account.sign_in"]
    assert_private(events, [wrong, right, *codes, totp.key, response.json()["token"]], caplog, address="10.4.4.4")
    assert_hidden_from_others(since)


def test_a_right_code_is_no_refusal_event(staff_account, clock):
    user, totp, _static, codes = staff_account
    since = last_id()
    client = Client()
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert client.post("/login/verify/", {"code": codes[1]}).status_code == 302
    assert not Event.objects.filter(id__gt=since, action="account.second_factor_refused").exists()
    assert [e.action for e in account_events(since)] == ["account.sign_in", "account.recovery_code_used"]
