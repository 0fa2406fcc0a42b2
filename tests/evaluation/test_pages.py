"""Server-rendered evaluation pages: who sees what; forms call the services; errors are 4xx with the message."""
from __future__ import annotations

import pytest
from django.test import Client

from bidding.evaluation import services as ev
from bidding.evaluation.models import Score
from trading.challenges.models import Case
from tests.evaluation.conftest import draw_committee, members, open_lot, pass_all

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_pages_by_role(ew, clock):
    world = ew.world
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000])
    draw_committee(ew, lot)
    ev.start_evaluation(actor=world.staff, lot=lot)
    member = members(ew, lot)[0]
    outsider = next(u for eid, u in ew.expert_users.items() if eid not in ev.committee_experts(lot))
    # the expert sees the lot in the workspace list and the opened bids there
    c = client_for(member)
    assert f"/evaluation/lots/{lot.pk}/workspace/" in c.get("/evaluation/").content.decode()
    page = c.get(f"/evaluation/lots/{lot.pk}/workspace/").content.decode()
    assert "9000.00" in page and world.bidder_orgs[1].name in page
    # an expert of another committee, a bidder and the public cannot open the workspace
    assert client_for(outsider).get(f"/evaluation/lots/{lot.pk}/workspace/").status_code == 403
    assert client_for(world.bidders[0]).get(f"/evaluation/lots/{lot.pk}/workspace/").status_code == 403
    assert Client().get(f"/evaluation/lots/{lot.pk}/workspace/").status_code == 302
    # a score out of range: 400 with the message, nothing stored
    r = c.post(f"/evaluation/lots/{lot.pk}/workspace/", {"form": "sheet", "bidder": world.bidder_orgs[0].pk,
                                                          "vote_qualification": "pass", "vote_response": "maybe"})
    assert r.status_code == 302  # an unknown vote value is simply not sent
    assert Score.objects.count() == 0
    # supervisors read the console without forms; other centres' staff do not see it
    pass_all(ew, lot)
    sup = client_for(world.supervisor).get(f"/evaluation/lots/{lot.pk}/").content.decode()
    assert "只读" in sup and 'id="report-btn"' not in sup
    assert client_for(world.other_staff).get(f"/evaluation/lots/{lot.pk}/").status_code == 404
    staff = client_for(world.staff)
    assert 'id="report-btn"' in staff.get(f"/evaluation/lots/{lot.pk}/").content.decode()
    staff.post(f"/evaluation/lots/{lot.pk}/act/report/")
    staff.post(f"/evaluation/lots/{lot.pk}/act/publicise/", {"days": "2"})  # too short: refused with a message
    lot.refresh_from_db()
    assert lot.status == "evaluated"
    staff.post(f"/evaluation/lots/{lot.pk}/act/publicise/", {"days": "3"})
    lot.refresh_from_db()
    assert lot.status == "publicity"
    # a bidder files an objection on its page; staff answer on the console
    b = client_for(world.bidders[0])
    assert b.post(f"/evaluation/lots/{lot.pk}/objections/", {"text": "价格分计算有误"}).status_code == 302
    obj = Case.objects.get(kind="candidate_objection")
    assert "价格分计算有误" in b.get(f"/evaluation/lots/{lot.pk}/objections/").content.decode()
    staff.post(f"/evaluation/objections/{obj.pk}/answer/", {"answer": "经复核无误"})
    obj.refresh_from_db()
    assert obj.outcome == "dismissed"
    clock.advance(days=3, minutes=1)
    late = b.post(f"/evaluation/lots/{lot.pk}/objections/", {"text": "again"})
    assert late.status_code == 409
    staff.post(f"/evaluation/lots/{lot.pk}/act/award/")
    lot.refresh_from_db()
    assert lot.status == "awarded"
    staff.post(f"/evaluation/lots/{lot.pk}/act/contract/", {"signed_on": clock.now.date().isoformat(),
                                                            "amount": "9000.00", "deposit_mode": "refund"})
    lot.refresh_from_db()
    assert lot.status == "contracted"
