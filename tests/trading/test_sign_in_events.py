"""Sign-in events: a sign-in (page or API token), the second step (authenticator or recovery code), a sign-out,
a sign-in refused by the throttle, an authenticator enrolled or removed and recovery codes renewed are audit
events for the supervisors only. Never a password, secret or code in them; the network address and the client
are kept in the private request context (audit.context), committed by hash in the event."""
from __future__ import annotations

import json

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from audit.context import verify_context
from audit.models import Event, EventContext
from tests.otp import totp_code, totp_device
from trading import second_factor

PASSWORD = "correct-horse-battery"
UA = "Mozilla/5.0 (sign-in test)"
pytestmark = pytest.mark.django_db


def account_events(since: int) -> list[Event]:
    return list(Event.objects.filter(id__gt=since, action__startswith="account.").order_by("id"))


def last_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def assert_private(events: list[Event], *secrets: str, address: str | None = None) -> None:
    for event in events:
        assert event.visibility == "supervisors", event.action
        text = json.dumps(event.payload) + json.dumps(event.body)
        for secret in secrets:
            assert secret not in text, (event.action, secret)
        if address:
            assert address not in text and UA not in text
            ctx = EventContext.objects.get(event_uid=event.uid).context
            assert ctx["address"] == address and ctx["client"] == UA
            assert verify_context(event)


def test_sign_in_second_step_and_sign_out(world, clock):
    user = world.staff
    device = totp_device(user)
    since = last_id()
    client = Client(REMOTE_ADDR="10.7.7.7", HTTP_USER_AGENT=UA)
    assert client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    code = totp_code(device)
    assert client.post("/login/verify/", {"code": code}).status_code == 302
    assert client.post("/logout/").status_code == 302
    events = account_events(since)
    assert [(e.action, e.subject) for e in events] == [
        ("account.sign_in", f"user:{user.pk}"), ("account.second_factor", f"user:{user.pk}"),
        ("account.sign_out", f"user:{user.pk}")]
    assert events[0].payload == {"user": user.pk, "method": "password", "second_factor_pending": True}
    assert events[1].payload == {"user": user.pk, "kind": "totp"}
    assert_private(events, PASSWORD, code, device.key, address="10.7.7.7")


def test_enrolment_replacement_and_recovery_code(world, clock):
    user = world.supervisor
    since = last_id()
    first = second_factor.start_enrolment(user=user)
    assert second_factor.confirm_enrolment(user=user, device_id=first.pk, code=totp_code(first)) is not None
    clock.advance(seconds=60)
    replacement = second_factor.start_enrolment(user=user)
    enrolled = second_factor.confirm_enrolment(user=user, device_id=replacement.pk, code=totp_code(replacement))
    assert enrolled is not None
    _device, codes = enrolled
    assert second_factor.verify(user=user, code=codes[0]) is not None
    events = account_events(since)
    assert [e.action for e in events] == [
        "account.second_factor_enrolled", "account.recovery_codes_renewed",
        "account.second_factor_removed", "account.second_factor_enrolled", "account.recovery_codes_renewed",
        "account.recovery_code_used"]
    assert events[2].payload == {"user": user.pk, "device": first.pk}
    assert events[3].payload == {"user": user.pk, "device": replacement.pk}
    assert events[4].payload == {"user": user.pk, "recovery_codes": 10}
    assert events[5].payload == {"user": user.pk, "kind": "recovery_code", "recovery_codes_left": 9}
    assert not TOTPDevice.objects.filter(pk=first.pk).exists()
    assert_private(events, *codes, first.key, replacement.key)


def test_throttled_sign_in_is_an_event_without_the_password(world, clock):
    user = world.bidders[0]
    client = Client(REMOTE_ADDR="10.9.9.9", HTTP_USER_AGENT=UA)
    for _ in range(5):
        assert client.post("/login/", {"username": user.username, "password": "wrong-1"}).status_code == 400
    since = last_id()
    response = client.post("/login/", {"username": user.username.upper(), "password": PASSWORD})
    assert response.status_code == 429
    # a name that is no account's is not kept
    for _ in range(6):
        client.post("/login/", {"username": "hunter2-typed-as-name", "password": "x"})
    events = account_events(since)
    assert [e.action for e in events] == ["account.sign_in_refused"] * 2
    assert events[0].subject == f"user:{user.pk}" and events[0].actor_id is None
    assert events[0].payload == {"user": user.pk, "reason": "throttled", "wait_seconds": 60}
    assert events[1].subject == "user:unknown" and events[1].payload["user"] is None
    assert_private(events, PASSWORD, "wrong-1", "hunter2-typed-as-name", address="10.9.9.9")


def test_api_token_sign_in(world, clock):
    user = world.bidders[0]
    since = last_id()
    response = APIClient(REMOTE_ADDR="10.5.5.5", HTTP_USER_AGENT=UA).post(
        "/api/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    events = account_events(since)
    assert [e.action for e in events] == ["account.sign_in"]
    assert events[0].payload == {"user": user.pk, "method": "token", "second_factor_pending": False}
    assert_private(events, PASSWORD, response.json()["token"], address="10.5.5.5")
