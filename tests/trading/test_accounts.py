"""Running a real centre without the demo loader: createsuperuser, organisations and users from the
command line and the API, bidder self-registration with e-mail confirmation, the clock command."""
from __future__ import annotations

import io
import re

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from audit.models import Event
from tests import factories
from trading.models import Organisation, User

pytestmark = pytest.mark.django_db(transaction=False)

PASSWORD = "a-long-enough-passphrase-7"


def _code() -> str:
    return factories.new_credit_code()


def test_createsuperuser_makes_an_audited_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "root@example.org",
                 stdout=io.StringIO())
    user = User.objects.get(username="root")
    assert (user.role, user.organisation_id, user.is_superuser, user.is_staff) == ("admin", None, True, True)
    assert user.check_password(PASSWORD)
    assert Event.objects.filter(action="user.create", subject=f"user:{user.pk}").exists()


def test_commands_create_a_centre_its_staff_and_refuse_a_mistyped_credit_code(monkeypatch):
    code = _code()
    out = io.StringIO()
    call_command("create_organisation", "--name", "市公共资源交易中心", "--kind", "centre", "--credit-code", code,
                 stdout=out)
    centre = Organisation.objects.get(credit_code=code)
    assert centre.kind == "centre" and f"organisation {centre.pk} created" in out.getvalue()

    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    before = (Organisation.objects.count(), Event.objects.count())
    with pytest.raises(CommandError, match="check character"):
        call_command("create_organisation", "--name", "x", "--kind", "bidder", "--credit-code", wrong)
    assert (Organisation.objects.count(), Event.objects.count()) == before

    monkeypatch.setenv("SUNLIGHT_NEW_PASSWORD", PASSWORD)
    call_command("create_user", "--username", "zhang", "--role", "staff", "--organisation", code, stdout=out)
    staff = User.objects.get(username="zhang")
    assert (staff.role, staff.organisation_id) == ("staff", centre.pk) and staff.check_password(PASSWORD)

    before = (User.objects.count(), Event.objects.count())
    with pytest.raises(CommandError, match="supervisor organisation"):
        call_command("create_user", "--username", "li", "--role", "supervisor", "--organisation", code)
    monkeypatch.setenv("SUNLIGHT_NEW_PASSWORD", "123")
    with pytest.raises(CommandError, match="short|common|numeric"):
        call_command("create_user", "--username", "wang", "--role", "staff", "--organisation", code)
    assert (User.objects.count(), Event.objects.count()) == before


def test_admin_creates_users_through_the_api_and_nobody_else_can(world):
    admin, staff = APIClient(), APIClient()
    admin.force_authenticate(world.admin)
    staff.force_authenticate(world.staff)
    body = {"username": "new-staff", "password": PASSWORD, "role": "staff", "organisation": world.centre.pk}

    before = (User.objects.count(), Event.objects.count())
    refused = staff.post("/api/users/", body, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    wrong_org = admin.post("/api/users/", {**body, "organisation": world.tenderee.pk}, format="json")
    assert wrong_org.status_code == 400 and "centre organisation" in wrong_org.json()["detail"]
    assert (User.objects.count(), Event.objects.count()) == before

    made = admin.post("/api/users/", body, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["role"] == "staff" and made.json()["organisation"] == world.centre.pk
    assert "password" not in made.json()
    listed = {u["username"] for u in staff.get("/api/users/?limit=200").json()["results"]}
    assert "new-staff" in listed and world.other_staff.username not in listed  # staff see their centre only
    assert APIClient().get("/api/users/").status_code in (401, 403)


def test_staff_cannot_create_a_centre_but_the_admin_can(world):
    staff, admin = APIClient(), APIClient()
    staff.force_authenticate(world.staff)
    admin.force_authenticate(world.admin)
    body = {"name": "另一个交易中心", "credit_code": _code(), "kind": "centre"}
    assert staff.post("/api/organisations/", body, format="json").status_code == 403
    assert admin.post("/api/organisations/", body, format="json").status_code == 201


def _signup(client: APIClient, **overrides):
    body = {"name": "晨光建设有限公司", "credit_code": _code(), "username": "chenguang", "email": "bid@chenguang.example",
            "password": PASSWORD, "region": "市本级", "contact": "王工 13800000000"}
    body.update(overrides)
    return client.post("/api/auth/signup/", body, format="json")


def test_a_bidder_registers_confirms_by_email_and_then_signs_in(django_capture_on_commit_callbacks):
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        answer = _signup(client)
    assert answer.status_code == 201, answer.content
    user = User.objects.get(username="chenguang")
    assert user.organisation is not None
    assert (user.role, user.is_active, user.organisation.kind) == ("bidder", False, "bidder")
    assert client.post("/api/auth/token/", {"username": "chenguang", "password": PASSWORD},
                       format="json").status_code == 400  # not confirmed yet

    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["bid@chenguang.example"]
    link = re.search(r"/accounts/confirm/([^/\s]+)/", str(mail.outbox[0].body))
    assert link is not None
    token = link.group(1)
    page = client.get(f"/accounts/confirm/{token}/")
    assert page.status_code == 200 and b'id="confirmed"' in page.content
    user.refresh_from_db()
    assert user.is_active
    assert Event.objects.filter(action="user.confirm", subject=f"user:{user.pk}").count() == 1
    again = client.post("/api/auth/confirm/", {"token": token}, format="json")  # harmless the second time
    assert again.status_code == 200
    assert Event.objects.filter(action="user.confirm", subject=f"user:{user.pk}").count() == 1
    signed_in = client.post("/api/auth/token/", {"username": "chenguang", "password": PASSWORD}, format="json")
    assert signed_in.status_code == 200 and signed_in.json()["role"] == "bidder"


def test_signup_refusals_change_nothing(world):
    client = APIClient()
    before = (User.objects.count(), Organisation.objects.count(), Event.objects.count(), len(mail.outbox))
    taken = _signup(client, credit_code=world.bidder_orgs[0].credit_code)
    assert taken.status_code == 409 and taken.json()["code"] == "conflict"
    bad_code = _signup(client, credit_code="91110000MA0000000X")
    assert bad_code.status_code == 400
    weak = _signup(client, password="password")
    assert weak.status_code == 400
    name_taken = _signup(client, username=world.bidders[0].username)
    assert name_taken.status_code == 409
    forged = client.post("/api/auth/confirm/", {"token": "eyJ1IjoxfQ:forged:signature"}, format="json")
    assert forged.status_code == 400
    assert (User.objects.count(), Organisation.objects.count(), Event.objects.count(), len(mail.outbox)) == before


def test_signup_page_registers_a_bidder(client, django_capture_on_commit_callbacks):
    assert client.get("/accounts/signup/").status_code == 200
    chinese = client.get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "投标/竞买单位注册" in chinese and "统一社会信用代码" in chinese and "Register a bidding" not in chinese
    english = client.get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Register a bidding company" in english and "投标/竞买单位注册" not in english
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/accounts/signup/", {
            "name": "远山工程有限公司", "credit_code": _code(), "username": "yuanshan", "email": "a@yuanshan.example",
            "password": PASSWORD})
    assert page.status_code == 200 and b'id="signup-sent"' in page.content
    assert User.objects.get(username="yuanshan").is_active is False and len(mail.outbox) == 1
    assert b'href="/accounts/signup/"' in client.get("/login/").content


def test_clock_command_fires_a_due_deadline_once(world, clock):
    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    clock.move_to(lot.bid_deadline)
    out = io.StringIO()
    call_command("clock", "--once", stdout=out)
    assert '"trading.clock.tick": 1' in out.getvalue()
    lot.refresh_from_db()
    assert lot.status == "bidding_closed"
    out = io.StringIO()
    call_command("clock", "--once", stdout=out)
    assert '"trading.clock.tick": 0' in out.getvalue()
