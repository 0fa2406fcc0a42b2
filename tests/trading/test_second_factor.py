"""The second factor: staff, supervisors and admins sign in with a real TOTP code (computed here from the
device's key, as an authenticator app does) or a recovery code; enrolment from their own account page;
the API token only with a code; nothing of the site before the second step."""
from __future__ import annotations

import base64
import re

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tests.otp import totp_code, totp_device

PASSWORD = "correct-horse-battery"
pytestmark = pytest.mark.django_db


def password_step(client, user, nxt=""):
    return client.post(f"/login/{nxt}", {"username": user.username, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en")


def code_from_secret(secret: str) -> str:
    """What an authenticator app shows for a base32 secret it was given (RFC 6238, 30 s, 6 digits)."""
    import time

    totp = TOTP(base64.b32decode(secret), 30, 0, 6)
    totp.time = time.time()
    return f"{totp.token():06d}"


def test_staff_reach_nothing_until_their_code_is_checked(world, clock):
    device = totp_device(world.staff)
    client = Client()
    response = password_step(client, world.staff, "?next=/staff/")
    assert response.status_code == 302 and response["Location"] == "/login/verify/?next=%2Fstaff%2F"
    # with the password alone: pages send back to the second step, the API refuses in its error shape
    assert client.get("/staff/")["Location"] == "/login/verify/?next=%2Fstaff%2F"
    response = client.get("/api/projects/")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert set(response.json()) == {"code", "detail", "fields"}
    assert client.get("/admin/").status_code == 404
    # a wrong code changes nothing
    page = client.post("/login/verify/?next=/staff/", {"code": "000000"}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400 and "Wrong or expired code" in page.content.decode()
    assert client.get("/staff/").status_code == 302
    clock.advance(seconds=2)  # django-otp's growing delay after a wrong code (1 s, 2 s, 4 s …)
    code = totp_code(device)
    response = client.post("/login/verify/?next=/staff/", {"code": code})
    assert response.status_code == 302 and response["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    # the same code cannot be used twice (another browser, same password)
    other = Client()
    password_step(other, world.staff)
    assert other.post("/login/verify/", {"code": code}).status_code == 400
    clock.advance(seconds=30)
    assert other.post("/login/verify/", {"code": totp_code(device)}).status_code == 302


def test_wrong_codes_slow_the_device_down(world, clock):
    device = totp_device(world.supervisor)
    client = Client()
    password_step(client, world.supervisor)
    for _ in range(4):
        assert client.post("/login/verify/", {"code": "123456"}).status_code == 400
        clock.advance(seconds=60)
    clock.advance(seconds=-60)  # 4 failures: the next try waits 8 s after the last one, and the page says so
    page = client.post("/login/verify/", {"code": totp_code(device)})
    assert page.status_code == 429 and page["Retry-After"] == "8"
    assert "连续输错验证码次数过多：请在 8 秒后重试。" in page.content.decode()
    clock.advance(seconds=9)
    assert client.post("/login/verify/", {"code": totp_code(device)}).status_code == 302


def test_enrolment_from_the_account_page_and_recovery_codes(world, clock):
    user = world.supervisor
    assert not TOTPDevice.objects.filter(user=user).exists()
    client = Client()
    password_step(client, user, "?next=/supervise/")
    response = client.get("/login/verify/?next=/supervise/")
    assert response["Location"] == "/account/security/?next=%2Fsupervise%2F"
    page = client.get(response["Location"]).content.decode()
    assert "<svg" in page and 'id="totp-qr"' in page  # the QR code is drawn on the server, no outside service
    secret_match = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', page)
    device_match = re.search(r'name="device" value="(\d+)"', page)
    assert secret_match and device_match
    secret, device_id = secret_match.group(1), device_match.group(1)
    assert client.get("/supervise/").status_code == 302  # still nothing else
    # a wrong first code enrols nothing
    bad = client.post("/account/security/?next=/supervise/", {"action": "confirm", "device": device_id, "code": "1"})
    assert bad.status_code == 400 and not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    clock.advance(seconds=2)  # the pending device slows wrong codes down too
    response = client.post("/account/security/?next=/supervise/",
                           {"action": "confirm", "device": device_id, "code": code_from_secret(secret)})
    assert response.status_code == 200
    codes = re.findall(r"<li>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</li>", response.content.decode())
    assert len(codes) == 10 and StaticToken.objects.filter(device__user=user).count() == 10
    assert client.get("/supervise/").status_code == 200
    # next time: password, then a recovery code instead of the authenticator; each works once
    client.post("/logout/")
    password_step(client, user)
    assert client.post("/login/verify/", {"code": codes[0]}).status_code == 302
    assert client.get("/supervise/").status_code == 200
    client.post("/logout/")
    password_step(client, user)
    assert client.post("/login/verify/", {"code": codes[0]}).status_code == 400
    clock.advance(seconds=2)
    assert client.post("/login/verify/", {"code": codes[1]}).status_code == 302
    assert StaticToken.objects.filter(device__user=user).count() == 8


def test_an_enrolled_account_cannot_be_re_enrolled_with_the_password_alone(world, clock):
    totp_device(world.admin)
    client = Client()
    password_step(client, world.admin)
    for response in (client.get("/account/security/"), client.post("/account/security/", {"action": "replace"}),
                     client.post("/account/security/", {"action": "recovery"})):
        assert response.status_code == 302 and response["Location"].startswith("/login/verify/")
    assert TOTPDevice.objects.filter(user=world.admin).count() == 1
    assert not StaticToken.objects.filter(device__user=world.admin).exists()


def test_bidders_and_experts_sign_in_with_their_password(world):
    for user, home in ((world.bidders[0], "/me/"), (world.expert, "/evaluation/")):
        client = Client()
        assert password_step(client, user)["Location"] == home  # each lands on its own home
        assert "password only" in client.get("/account/security/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_api_token_for_privileged_accounts_needs_the_code(world, clock):
    api = APIClient()
    url = "/api/auth/token/"
    body = {"username": world.staff.username, "password": PASSWORD}
    response = api.post(url, body, format="json")
    assert response.status_code == 403 and "enrol" in response.json()["detail"]  # no authenticator yet
    device = totp_device(world.staff)
    response = api.post(url, body, format="json")
    assert response.status_code == 400 and "otp" in str(response.json())
    assert api.post(url, {**body, "otp": "000000"}, format="json").status_code == 400
    clock.advance(seconds=2)
    response = api.post(url, {**body, "otp": totp_code(device)}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "staff"
    # bidders: password only
    response = api.post(url, {"username": world.bidders[0].username, "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_force_login_in_tests_stands_for_the_whole_login(world):
    client = Client()
    client.force_login(world.staff)  # tests/conftest.py: the session carries the user's verified device
    assert client.get("/staff/").status_code == 200
    plain = Client()
    plain.force_login(world.staff)
    from django_otp import DEVICE_ID_SESSION_KEY

    session = plain.session
    del session[DEVICE_ID_SESSION_KEY]
    session.save()
    assert plain.get("/staff/").status_code == 302  # the rule itself is on


def test_websocket_sessions_without_the_second_step_are_anonymous(world):
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY

    from trading.second_factor import session_verified

    device = totp_device(world.staff)
    session = SessionStore()
    assert not session_verified(world.staff, session)
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    assert session_verified(world.staff, session)
    assert not session_verified(world.supervisor, session)  # someone else's device


def test_admin_is_not_there_for_anyone_but_verified_admins(world):
    anonymous = Client()
    for path in ("/admin/", "/admin/login/", "/admin/login/?next=/admin/", "/admin/trading/user/"):
        response = anonymous.get(path)
        assert response.status_code == 404 and b"password" not in response.content.lower()
    for user in (world.bidders[0], world.staff, world.supervisor):  # centre staff have no is_staff flag
        client = Client()
        client.force_login(user)
        assert client.get("/admin/").status_code == 404
    world.admin.is_staff = True
    world.admin.save(update_fields=["is_staff"])
    half = Client()
    password_step(half, world.admin)  # password only: still nothing
    assert half.get("/admin/").status_code == 404
    client = Client()
    client.force_login(world.admin)
    assert client.get("/admin/").status_code == 200


def test_the_demo_step_logs_staff_in_with_the_printed_code(world, clock, capsys):
    from django.core.management import call_command

    from frontend.demo import seed_demo_authenticator

    seed_demo_authenticator(world.staff)
    client = Client()
    password_step(client, world.staff)
    call_command("demo_code")  # README: the one documented step of the demo's second factor
    code = capsys.readouterr().out.strip()
    assert re.fullmatch(r"\d{6}", code)
    assert client.post("/login/verify/", {"code": code})["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
