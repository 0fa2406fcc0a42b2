"""Login: rate limits per account and per address, CSRF, redirects; settings refuse bad configuration."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.otp import totp_code, totp_device


ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"


def login(client, username, password, **extra):
    extra.setdefault("HTTP_ACCEPT_LANGUAGE", "en")  # the messages below are asserted in English
    return client.post("/login/", {"username": username, "password": password}, **extra)


@pytest.mark.django_db
def test_good_login_and_safe_redirects(world, client):
    bidder = world.bidders[0].username
    response = login(client, bidder, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/me/"  # the bidder's own home
    assert client.get("/me/").status_code == 200
    client.post("/logout/")
    response = client.post("/login/?next=/me/", {"username": bidder, "password": PASSWORD})
    assert response["Location"] == "/me/"
    client.post("/logout/")
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example/", "/%5Cevil.example/", "\\\\evil.example"):
        response = client.post(f"/login/?next={evil}", {"username": bidder, "password": PASSWORD})
        assert response["Location"] == "/me/"
        client.post("/logout/")
        # staff go through the second step, which keeps the same rule for where it goes next
        response = client.post(f"/login/?next={evil}", {"username": world.staff.username, "password": PASSWORD})
        assert response["Location"] == "/login/verify/?next=%2Fstaff%2F"
        client.post("/logout/")
    assert client.get("/logout/").status_code == 405


@pytest.mark.django_db
def test_failures_from_other_addresses_never_lock_an_account_out(world, clock):
    """The attack of the old table: anyone failing five times against the admin or a staff member before an
    opening locked them out. Now 100 failures from 20 other addresses change nothing for them."""
    for victim in (world.staff, world.admin):
        for i in range(20):
            attacker = Client(REMOTE_ADDR=f"198.51.100.{i + 1}")
            for _ in range(5):
                assert login(attacker, victim.username, "guess").status_code == 400
        assert login(Client(REMOTE_ADDR="10.0.0.5"), victim.username, PASSWORD).status_code == 302
    # the attackers' own addresses are slowed down on those accounts, each on its own
    response = login(Client(REMOTE_ADDR="198.51.100.1"), world.staff.username, PASSWORD)
    assert response.status_code == 429 and "_auth_user_id" not in response.client.session


@pytest.mark.django_db
def test_delays_grow_per_account_and_address_and_a_login_resets_them(world, clock):
    user = world.bidders[0].username
    client = Client(REMOTE_ADDR="10.1.1.1")
    for _ in range(5):
        response = login(client, user, "wrong password")
        assert response.status_code == 400 and "Wrong user name or password" in response.content.decode()
    # the sixth attempt waits a minute after the fifth failure, even with the right password
    response = login(client, user, PASSWORD)
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert "Too many failed logins. Try again in 1 minute." in response.content.decode()
    assert "_auth_user_id" not in client.session
    clock.advance(seconds=59)
    assert login(client, user, PASSWORD).status_code == 429  # refused attempts are not counted ...
    clock.advance(seconds=1)
    assert login(client, user, "wrong again").status_code == 400  # ... and the minute is over
    # the sixth failure doubles the delay: two minutes
    response = login(client, user, PASSWORD)
    assert response.status_code == 429 and response["Retry-After"] == "120"
    clock.advance(seconds=61)
    assert login(client, user, PASSWORD).status_code == 429
    clock.advance(seconds=60)
    assert login(client, user, "wrong").status_code == 400
    assert login(client, user, PASSWORD)["Retry-After"] == "240"
    # the same account from another address, and another account from this one, are not slowed at all
    assert login(Client(REMOTE_ADDR="10.1.1.2"), user, PASSWORD).status_code == 302
    assert login(Client(REMOTE_ADDR="10.1.1.1"), world.bidders[1].username, PASSWORD).status_code == 302
    clock.advance(minutes=4)
    assert login(client, user, PASSWORD).status_code == 302
    # a good login forgets the pair's failures: five free tries again
    other = Client(REMOTE_ADDR="10.1.1.1")
    for _ in range(5):
        assert login(other, user, "wrong").status_code == 400
    assert login(other, user, PASSWORD).status_code == 429


@pytest.mark.django_db
def test_user_names_are_counted_case_insensitively(world, client, clock):
    user = world.bidders[0].username
    for i in range(5):
        login(client, user.upper() if i % 2 else user, "wrong")
    assert login(client, user, PASSWORD).status_code == 429


@pytest.mark.django_db
def test_address_ceiling(world, clock):
    from axes.models import AccessFailureLog

    client = Client(REMOTE_ADDR="203.0.113.7")
    for i in range(50):
        assert login(client, f"nobody{i}", "guess").status_code == 400
        clock.advance(seconds=6)
    assert AccessFailureLog.objects.filter(ip_address="203.0.113.7").count() == 50
    assert "guess" not in str(list(AccessFailureLog.objects.values()))  # no password is kept
    response = login(client, world.staff.username, PASSWORD)
    # the oldest failure leaves the 15-minute window 15·60 − 50·6 = 600 s from now
    assert response.status_code == 429 and response["Retry-After"] == "600"
    assert "Too many failed logins" in response.content.decode()
    # another address can still log in to the same account
    assert login(Client(REMOTE_ADDR="203.0.113.8"), world.staff.username, PASSWORD).status_code == 302
    clock.advance(seconds=600)
    assert login(client, world.staff.username, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_forwarded_headers_do_not_choose_the_address(world, clock):
    client = Client(REMOTE_ADDR="10.2.2.2")
    for i in range(5):
        login(client, world.bidders[0].username, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert login(client, world.bidders[0].username, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


@pytest.mark.django_db
def test_csrf_enforced_on_the_login_form(world):
    client = Client(enforce_csrf_checks=True)
    response = login(client, world.staff.username, PASSWORD)
    assert response.status_code == 403
    page = client.get("/login/")
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()
    token = client.cookies["csrftoken"].value
    response = client.post("/login/", {"username": world.staff.username, "password": PASSWORD,
                                       "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"].startswith("/login/verify/")
    device = totp_device(world.staff)
    assert client.post("/login/verify/", {"code": totp_code(device)}).status_code == 403  # the second step too
    token = client.cookies["csrftoken"].value
    response = client.post("/login/verify/", {"code": totp_code(device), "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/staff/"  # the staff dashboard
    # forms of the consoles are protected too
    assert client.post("/staff/projects/new/", {"title": "x"}).status_code == 403


def test_passwords_are_argon2_in_production_settings():
    from config import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def run_settings(env: dict, code: str = "") -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SUNLIGHT_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS",
                                 "CELERY_", "LOGIN_", "DJANGO_SETTINGS_MODULE"))}
    base.update(env)
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    script = "import django; django.setup(); from django.conf import settings as s; " + (code or "pass")
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


GOOD_KEY = "k" * 20 + "-production-secret-" + "x" * 20


@pytest.mark.parametrize(
    "env, words",
    [
        ({"SUNLIGHT_PRODUCTION": "1", "ALLOWED_HOSTS": "ggzy.example"}, "demo SECRET_KEY"),
        ({"SUNLIGHT_PRODUCTION": "1", "SECRET_KEY": "sunlight-demo-secret-key-never-use-in-production",
          "ALLOWED_HOSTS": "ggzy.example"}, "demo SECRET_KEY"),
        ({"SUNLIGHT_PRODUCTION": "1", "SECRET_KEY": "short", "ALLOWED_HOSTS": "ggzy.example"}, "SECRET_KEY"),
        ({"SUNLIGHT_PRODUCTION": "1", "SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS"),
        ({"SUNLIGHT_PRODUCTION": "maybe"}, "SUNLIGHT_PRODUCTION"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://u@host:port/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://127.0.0.1:6379/0"}, "REDIS_URL"),
        ({"LOGIN_FAILS_PER_ACCOUNT": "five"}, "LOGIN_FAILS_PER_ACCOUNT"),
        ({"LOGIN_FAILS_PER_ACCOUNT": "0"}, "LOGIN_FAILS_PER_ACCOUNT"),
        ({"ALLOWED_HOSTS": "a,,b"}, "ALLOWED_HOSTS"),
        ({"SUNLIGHT_PRODUCTION": "1", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "ggzy.example",
          "DATABASE_URL": "postgres://app:pw@db.example:5432/sunlight"}, "example log origin"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else "-".join(f"{k}={v[k]}" for k in v)[:60],
)
def test_bad_configuration_stops_start_up_with_a_clear_message(env, words):
    result = run_settings(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert words in last, last


def test_production_settings_with_a_good_key():
    code = ("import json; print(json.dumps({k: getattr(s, k) for k in ('DEBUG', 'SESSION_COOKIE_SECURE', "
            "'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT', "
            "'SESSION_COOKIE_HTTPONLY', 'ALLOWED_HOSTS', 'PASSWORD_HASHERS', 'TIME_ZONE', 'LANGUAGE_CODE', 'USE_TZ')}))")
    result = run_settings({"SUNLIGHT_PRODUCTION": "1", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "ggzy.example",
                           "DATABASE_URL": "postgres://app:pw@db.example:5432/sunlight",
                           "SUNLIGHT_LOG_ORIGIN": "ggzy.example/sunlight/log"}, code)
    assert result.returncode == 0, result.stderr[-2000:]
    s = json.loads(result.stdout.strip().splitlines()[-1])
    assert s["DEBUG"] is False
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"] and s["SESSION_COOKIE_HTTPONLY"]
    assert s["SECURE_HSTS_SECONDS"] >= 31536000 and s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and s["SECURE_SSL_REDIRECT"]
    assert s["ALLOWED_HOSTS"] == ["ggzy.example"]
    assert s["PASSWORD_HASHERS"][0].endswith("Argon2PasswordHasher")
    assert (s["TIME_ZONE"], s["LANGUAGE_CODE"], s["USE_TZ"]) == ("Asia/Shanghai", "zh-hans", True)


def test_demo_defaults_start():
    code = "print(s.DATABASES['default']['ENGINE'], s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.DEBUG)"
    result = run_settings({}, code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["django.db.backends.sqlite3", "False", "0", "False"]  # no debug pages in the demo


@pytest.mark.parametrize("env, routed", [
    ({"SUNLIGHT_PRODUCTION": "1", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "ggzy.example",
      "SUNLIGHT_LOG_ORIGIN": "ggzy.example/sunlight/log"}, False),
    ({"SUNLIGHT_PRODUCTION": "1", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "ggzy.example",
      "SUNLIGHT_LOG_ORIGIN": "ggzy.example/sunlight/log", "SUNLIGHT_ADMIN_ENABLED": "1"}, True),
    ({}, True),
])
def test_admin_is_off_in_production_unless_enabled(env, routed):
    code = ("from django.urls import resolve, Resolver404\n"
            "try:\n    resolve('/admin/'); print('routed')\nexcept Resolver404:\n    print('absent')")
    result = run_settings(env, code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == ("routed" if routed else "absent")


@pytest.mark.django_db
def test_error_pages_look_like_the_site_and_show_no_debug_details(world):
    from django.conf import settings
    from django.test import RequestFactory
    from django.views import defaults

    assert settings.DEBUG is False
    response = Client().get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 404 and 'class="brand"' in page and "Page not found" in page
    assert "Traceback" not in page and "urlpatterns" not in page.lower()
    from django.utils import translation

    with translation.override("en"):
        crash = defaults.server_error(RequestFactory().get("/"))
    assert crash.status_code == 500 and 'class="brand"' in crash.content.decode()
    assert "Server error" in crash.content.decode() and "服务器" not in crash.content.decode()
    with translation.override("zh-hans"):
        crash = defaults.server_error(RequestFactory().get("/"))
    assert "服务器出错" in crash.content.decode() and "Server error" not in crash.content.decode()
