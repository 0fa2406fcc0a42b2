"""An alert escalated to a suspension suspends the project through the challenges app's one suspension service:
both sides record their event (the suspension names the alert, the alert's step names the suspension), the
project's lots refuse every step, and a refused escalation changes nothing. Through the API and the console."""
from __future__ import annotations

import pytest

from audit.models import Event
from supervision import services
from supervision.models import Alert, AlertStep
from tests import factories
from trading import services as trading_services
from trading.challenges import services as cs
from trading.challenges.models import Suspension

pytestmark = pytest.mark.django_db


def raised(project, name: str) -> Alert:
    alert = services.raise_alert(key=f"test:{name}:{project.pk}", kind="review", rule="amended", severity="info",
                                 title="变更招标文件", basis="test basis", evidence={"why": name}, project_id=project.pk)
    assert alert is not None
    return alert


def last_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_escalation_to_a_suspension_through_the_api_suspends_the_project(world, client, clock):
    project = factories.make_project(world, publish=True)
    first, second = raised(project, "a"), raised(project, "b")
    client.force_login(world.supervisor)
    before = last_event_id()
    response = client.post(f"/api/supervision/alerts/{first.ref}/actions/",
                           {"action": "escalate", "escalation": "suspension", "reason": "疑似违规变更，暂停核查"},
                           content_type="application/json")
    assert response.status_code == 200, response.json()
    assert (response.json()["alert"]["status"], response.json()["alert"]["escalation"]) == ("escalated", "suspension")
    suspension = Suspension.objects.get(project=project, lifted_at__isnull=True)
    assert suspension.reason == "疑似违规变更，暂停核查" and suspension.started_by == world.supervisor
    events = list(Event.objects.filter(pk__gt=before).order_by("id"))
    assert [e.action for e in events] == ["project.suspend", "supervision.alert_escalate"]
    assert events[0].body["payload"]["source"] == f"alert:{first.ref}" and events[0].pk == suspension.event_id
    assert events[1].body["payload"]["suspension_event"] == suspension.event_id
    step = AlertStep.objects.get(alert=first)
    assert (step.action, step.escalation, step.event_id) == ("escalate", "suspension", events[1].pk)
    # one suspension mechanism: the lots refuse every step until it is lifted
    lot = project.lots.get()
    with pytest.raises(cs.Suspended):
        trading_services.transition_lot(lot=lot, action="terminate", actor=world.staff, reason="x")
    # a second escalation to a suspension is refused (409, in the one error shape) and changes nothing
    before = last_event_id()
    response = client.post(f"/api/supervision/alerts/{second.ref}/actions/",
                           {"action": "escalate", "escalation": "suspension", "reason": "再次"},
                           content_type="application/json")
    assert response.status_code == 409 and "already suspended" in response.json()["detail"]
    assert set(response.json()) == {"code", "detail", "fields"}
    second.refresh_from_db()
    assert second.status == "new" and not AlertStep.objects.filter(alert=second).exists()
    assert last_event_id() == before and Suspension.objects.filter(project=project).count() == 1


def test_another_department_cannot_suspend_through_an_alert(world, client):
    project = factories.make_project(world, publish=True)
    alert = raised(project, "c")
    other = factories.make_user("supervisor", factories.make_org("supervisor", "邻市财政局"))
    client.force_login(other)
    before = last_event_id()
    response = client.post(f"/api/supervision/alerts/{alert.ref}/actions/",
                           {"action": "escalate", "escalation": "suspension", "reason": "x"},
                           content_type="application/json")
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == "new" and last_event_id() == before and not Suspension.objects.exists()


def test_escalation_to_a_suspension_from_the_console(world, client):
    project = factories.make_project(world, publish=True)
    alert, other = raised(project, "d"), raised(project, "e")
    client.force_login(world.supervisor)
    page = client.get(f"/supervise/alerts/{alert.ref}/").content.decode()
    assert 'value="suspension"' in page
    response = client.post(f"/supervise/alerts/{alert.ref}/act/",
                           {"action": "escalate", "escalation": "suspension", "reason": "控制台暂停"})
    assert response.status_code == 302
    page = client.get(f"/supervise/alerts/{alert.ref}/").content.decode()
    assert 'id="alert-suspension"' in page and "控制台暂停" in page
    assert Suspension.objects.get(project=project, lifted_at__isnull=True).reason == "控制台暂停"
    # refused on the console: said why, nothing changed
    response = client.post(f"/supervise/alerts/{other.ref}/act/",
                           {"action": "escalate", "escalation": "suspension", "reason": "再次"}, follow=True)
    from django.utils import translation

    with translation.override("zh-hans"):  # the page speaks the request's language (zh-hans by default)
        said = translation.gettext("project %(code)s is already suspended") % {"code": project.code}
    assert said in response.content.decode()
    other.refresh_from_db()
    assert other.status == "new"
    # lifted by the supervisor (the challenges app's service), the project runs again
    cs.resume_project(actor=world.supervisor, project=project)
    assert not Suspension.objects.filter(project=project, lifted_at__isnull=True).exists()
