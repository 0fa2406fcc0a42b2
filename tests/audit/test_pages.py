"""Supervisor console, public checkpoints and public-key pages."""
from __future__ import annotations

import datetime as dt
import re

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
    assert 'data-ok="true"' in page and "核验通过" in page and "Verified" not in page  # the page's language
    page = c.get(f"/supervise/audit/{project.code}/", {"verify": 1}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-ok="true"' in page and "Verified: all" in page and "核验通过" not in page


def test_console_verify_reports_tampering(project, world):
    from audit.models import Event

    ev = Event.objects.filter(project_id=project.pk, action="lot.transition").first()
    assert ev is not None
    with connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("UPDATE audit_event SET canonical = replace(canonical, '\"reason\":\"\"', '\"reason\":\"x\"') WHERE id = %s", [ev.pk])
        cur.execute("SET LOCAL session_replication_role = origin")
    page = client_for(world.supervisor).get(f"/supervise/audit/{project.code}/", {"verify": 1}).content.decode()
    assert 'data-ok="false"' in page and f"事件 #{ev.pk}" in page and "与签名日志不符" in page


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
    assert 'data-ok="true"' in ok and "一致：" in ok
    assert "Consistent:" in c.get("/audit/checkpoints/", {"first": size, "second": size + 1},
                                  HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for params in ({"first": size + 1, "second": size}, {"first": "a", "second": "1"}, {"first": 1, "second": 10**9}):
        response = c.get("/audit/checkpoints/", params)
        assert response.status_code == 200 and 'data-ok="false"' in response.content.decode()
    assert c.get("/audit/public-key/", {"raw": 1}).content.decode().strip() == sequencer.verifier_key()
    assert sequencer.verifier_key() in c.get("/audit/public-key/").content.decode()


def test_every_event_type_has_a_readable_name_in_both_languages():
    """The timeline names events for people: every action some app's replay claims has a name."""
    import re

    from audit import replay
    from frontend.event_labels import EVENT_AREAS, EVENT_LABELS

    actions = set(replay.REDUCERS) | set(replay.NO_STATE)
    assert actions, "no replay module registered"
    missing = sorted(actions - set(EVENT_LABELS))
    assert not missing, f"event types without a readable name in frontend/event_labels.py: {missing}"
    for action, (zh, en) in EVENT_LABELS.items():
        assert re.search(r"[\u4e00-\u9fff]", zh) and en and not re.search(r"[\u4e00-\u9fff]", en), action
    assert not {a.split(".", 1)[0] for a in actions} - set(EVENT_AREAS)


def test_timeline_reads_as_names_and_filters(project, world):
    c = client_for(world.supervisor)
    url = f"/supervise/audit/{project.code}/"
    page = c.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    timeline = page.split('id="timeline"')[1]
    assert "标段状态变更" in timeline and "创建项目" in timeline  # readable names, not only codes
    staff = world.staff
    assert f"{staff.get_full_name() or staff.get_username()} · {staff.organisation.name}" in timeline, timeline[-3000:]
    assert "工作人员" in timeline
    english = c.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode().split('id="timeline"')[1]
    assert "Lot status changed" in english and "Project created" in english
    # filters: by area, by who acted, by text; each keeps exactly the matching rows
    only_projects = c.get(url, {"area": "project"}).content.decode().split('id="timeline"')[1]
    actions = set(re.findall(r'data-action="([^"]+)"', only_projects))
    assert actions and all(a.startswith("project.") for a in actions)
    by_system = c.get(url, {"role": "system"}).content.decode().split('id="timeline"')[1]
    by_staff = c.get(url, {"role": "staff"}).content.decode().split('id="timeline"')[1]
    assert by_staff.count("data-action=") >= 2 and "data-action=" in by_system or "No event matches" in by_system
    found = c.get(url, {"q": "终止"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode().split('id="timeline"')[1]
    assert set(re.findall(r'data-action="([^"]+)"', found)) <= {"lot.transition", "project.close"}
    nothing = c.get(url, {"q": "no such words"}).content.decode().split('id="timeline"')[1]
    assert "data-action=" not in nothing
