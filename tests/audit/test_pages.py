"""Supervisor console, public checkpoints and public-key pages."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit import sequencer
from tests import factories
from trading import services


@pytest.fixture
def project(world, clock, core_only):
    p = factories.make_project(world, lots=1)
    services.publish_project(actor=world.staff, project=p)
    clock.advance(hours=2)
    services.terminate_project(actor=world.staff, project=p, reason="测试")
    sequencer.integrate_all(now=clock.now)
    return p


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def test_console_timeline_replay_and_verify(project, world, clock):
    c = client_for(world.supervisor)
    assert project.code in c.get("/supervise/audit/").content.decode()
    page = c.get(f"/supervise/audit/{project.code}/").content.decode()
    assert "lot.transition" in page and "project.create" in page and "已终止" in page
    # replay one hour after creation: published, not yet terminated
    at = timezone.localtime(clock.now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page = c.get(f"/supervise/audit/{project.code}/", {"at": at}).content.decode()
    assert "已发布" in page and "已终止" not in page.split('id="timeline"')[0]
    page = c.get(f"/supervise/audit/{project.code}/", {"verify": 1}).content.decode()
    assert "Verified: all" in page


def test_console_verify_reports_tampering(project, world):
    from audit.models import Event

    ev = Event.objects.filter(project_id=project.pk, action="lot.transition").first()
    with connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("UPDATE audit_event SET canonical = replace(canonical, '\"reason\":\"\"', '\"reason\":\"x\"') WHERE id = %s", [ev.pk])
        cur.execute("SET LOCAL session_replication_role = origin")
    page = client_for(world.supervisor).get(f"/supervise/audit/{project.code}/", {"verify": 1}).content.decode()
    assert f"Event #{ev.pk}" in page and "does NOT match" in page


def test_console_is_for_supervisors_only(project, world):
    for user in (world.staff, world.bidders[0]):
        assert client_for(user).get(f"/supervise/audit/{project.code}/").status_code == 403
    assert Client().get(f"/supervise/audit/{project.code}/").status_code == 302
    c = client_for(world.supervisor)
    assert c.get("/supervise/audit/NO-SUCH/").status_code == 404
    assert c.get(f"/supervise/audit/{project.code}/", {"at": "yesterday"}).status_code == 400


def test_public_checkpoints_and_key(project, clock):
    c = Client()
    page = c.get("/audit/checkpoints/").content.decode()
    size = sequencer.tree_size()
    assert sequencer.verifier_key() in page and f"<td>{size}</td>" in page
    # make a second checkpoint and check consistency between the two
    from django.db import transaction
    import audit
    with transaction.atomic():
        audit.record(action="t.more", subject="x:1", payload={})
    sequencer.integrate_all(now=clock.advance(seconds=5))
    ok = c.get("/audit/checkpoints/", {"first": size, "second": size + 1}).content.decode()
    assert "Consistent:" in ok
    for params in ({"first": size + 1, "second": size}, {"first": "a", "second": "1"}, {"first": 1, "second": 10**9}):
        page = c.get("/audit/checkpoints/", params)
        assert page.status_code == 200 and "Consistent:" not in page.content.decode()
    assert c.get("/audit/public-key/", {"raw": 1}).content.decode().strip() == sequencer.verifier_key()
    assert sequencer.verifier_key() in c.get("/audit/public-key/").content.decode()
