"""A suspended project takes no envelope (submission, replacement, withdrawal) and no registration: 409 with the
code ``suspended`` naming the suspension, nothing recorded; its sealing period stops and resumes (the deadline
moves by the suspended time when it is lifted)."""
import datetime as dt

import pytest
from django.test import Client

from audit.models import Event
from bidding import services as registration
from bidding.envelopes import services
from bidding.envelopes.models import Envelope
from bidding.models import Registration
from trading.challenges import services as cs
from trading.challenges.services import Suspended

from .conftest import make_tender

pytestmark = pytest.mark.django_db


def counts():
    return (Envelope.objects.count(), Event.objects.count(), Registration.objects.count(),
            tuple(Envelope.objects.order_by("id").values_list("status", flat=True)))


def test_envelopes_are_refused_while_suspended_and_the_sealing_period_resumes(world, clock):
    tender = make_tender(world, bidders=world.bidders[:3])
    first, second = world.bidders[0], world.bidders[1]
    tender.submit(first, 100_000_00)
    data = tender.seal(second, 110_000_00)
    deadline = tender.lot.bid_deadline
    suspension = cs.suspend_project(actor=world.supervisor, project=tender.lot.project, reason="质疑处理，暂停投标")
    before = counts()
    client = Client()
    client.force_login(second)
    resp = client.post(f"/api/envelopes/lots/{tender.lot.pk}/envelope/", data=data, content_type="application/json")
    assert resp.status_code == 409, resp.content
    body = resp.json()
    assert set(body) == {"code", "detail", "fields"} and body["code"] == "suspended"
    assert tender.lot.project.code in body["detail"] and suspension.reason in body["detail"]
    with pytest.raises(Suspended):
        services.withdraw_envelope(actor=first, lot=tender.lot)
    with pytest.raises(Suspended):
        services.replace_envelope(actor=first, lot=tender.lot, data=tender.seal(first, 90_000_00))
    with pytest.raises(Suspended):
        registration.register(actor=world.bidders[3], lot=tender.lot,
                              declaration=[{"condition": c, "met": True} for c in tender.lot.eligibility])
    assert counts() == before
    # two days suspended: the deadline passes meanwhile, the sealing period is stopped, not ended
    clock.advance(days=2)
    cs.resume_project(actor=world.supervisor, project=tender.lot.project)
    tender.lot.refresh_from_db()
    assert tender.lot.bid_deadline == deadline + dt.timedelta(days=2)
    resp = client.post(f"/api/envelopes/lots/{tender.lot.pk}/envelope/", data=data, content_type="application/json")
    assert resp.status_code == 201, resp.content
