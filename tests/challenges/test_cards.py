"""The cases' reply clocks in electronic supervision: yellow near the deadline, red past it, none while the
project is suspended (supervision.services.watch_clocks reads supervision.case_clocks)."""
from __future__ import annotations

import datetime as dt

import pytest

from supervision.models import Alert
from supervision.services import watch_clocks
from tests import factories
from trading.challenges import services as cs

pytestmark = pytest.mark.django_db


def test_reply_clocks_give_cards_and_stop_while_suspended(world, clock):
    project = factories.make_project(world, publish=True)
    request = cs.file_case(actor=None, kind="disclosure_request", project=project, subject="s", text="t",
                           name="孙八", contact="sun@example.com")
    complaint = cs.file_case(actor=world.bidders[0], kind="engineering_complaint", project=project, subject="s",
                             text="t", known_on=clock.now.date())
    assert request.due_at is not None and complaint.due_at is not None
    watch_clocks(clock.now)
    assert not Alert.objects.filter(kind="card").exists()
    clock.move_to(complaint.due_at - dt.timedelta(hours=2))
    watch_clocks(clock.now)
    assert Alert.objects.get(rule="complaint_acceptance").severity == "yellow"
    clock.move_to(complaint.due_at + dt.timedelta(minutes=1))
    watch_clocks(clock.now)
    assert Alert.objects.filter(rule="complaint_acceptance", severity="red").count() == 1
    cs.suspend_project(actor=world.supervisor, project=project, case=complaint, reason="核查")
    clock.move_to(request.due_at + dt.timedelta(minutes=1))
    watch_clocks(clock.now)
    assert not Alert.objects.filter(rule="disclosure_answer").exists()  # the project's clocks are stopped
    for alert in Alert.objects.all():
        assert "sun@example.com" not in str(alert.evidence) and "孙八" not in str(alert.evidence)
