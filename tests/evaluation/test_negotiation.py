"""Competitive negotiation and inquiry: rounds of quotes from the suppliers, lowest valid final quote wins."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from bidding.evaluation import services as ev
from bidding.evaluation.models import Quote
from tests.evaluation.conftest import open_lot, pass_all
from tests.evaluation.test_services import snapshot, unchanged
from trading.errors import Conflict, Forbidden, Invalid

pytestmark = pytest.mark.django_db


def negotiation_lot(ew, clock, prices, method="competitive_negotiation"):
    from tests import factories

    original = factories.make_project

    def make_project(world, kind="engineering", m="open_tender", **kw):
        return original(world, "procurement", method, **kw)

    factories.make_project = make_project
    try:
        lot = open_lot(ew, clock, prices, method="lowest_quote")
    finally:
        factories.make_project = original
    return lot


def test_negotiation_rounds_lowest_final_quote_wins(ew, clock):
    world = ew.world
    orgs = world.bidder_orgs
    lot = negotiation_lot(ew, clock, [1_000_000, 980_000, 990_000, 1_100_000])
    assert lot.rule.committee_min == 3
    with pytest.raises(Invalid, match="at least 3"):
        ev.commit_draw(actor=world.staff, lot=lot, size=1)
    ev.commit_draw(actor=world.staff, lot=lot, size=3)
    ev.reveal_draw(actor=world.staff, lot=lot)
    ev.start_evaluation(actor=world.staff, lot=lot)
    pass_all(ew, lot)
    # round 1 = the opened responses; quotes are refused until the group opens round 2
    before = snapshot(lot)
    unchanged(lot, before, Conflict, lambda: ev.submit_quote(actor=world.bidders[0], lot=lot, price_fen=900_000))
    ev.open_quote_round(actor=world.staff, lot=lot)
    api = APIClient()
    api.force_authenticate(world.bidders[0])
    r = api.post(f"/api/evaluation/lots/{lot.pk}/quotes/", {"price": "9300.00"}, format="json")
    assert r.status_code == 201, r.json()
    ev.submit_quote(actor=world.bidders[1], lot=lot, price_fen=950_000)
    ev.submit_quote(actor=world.bidders[2], lot=lot, price_fen=940_000)
    # supplier 4 drops out (no final quote); a raised quote and a second quote in a round are refused
    n = Quote.objects.count()
    with pytest.raises(Invalid, match="may not exceed"):
        ev.submit_quote(actor=world.bidders[3], lot=lot, price_fen=1_200_000)
    with pytest.raises(Invalid, match="already quoted"):
        ev.submit_quote(actor=world.bidders[0], lot=lot, price_fen=920_000)
    with pytest.raises(Forbidden):
        ev.submit_quote(actor=world.staff, lot=lot, price_fen=920_000)
    assert Quote.objects.count() == n
    e = ev.report_evaluation(actor=world.staff, lot=lot)
    assert [(c.bidder_id, c.price_fen) for c in e.candidates.order_by("rank")] == [
        (orgs[0].pk, 930_000), (orgs[2].pk, 940_000), (orgs[1].pk, 950_000)]
    assert e.report["excluded"][str(orgs[3].pk)]["ground"] == "no_final_quote"
    ev.publish_candidates(actor=world.staff, lot=lot)
    clock.advance(days=3, minutes=1)
    award = ev.award_lot(actor=world.staff, lot=lot)
    assert award.price_fen == 930_000
    ev.record_contract(actor=world.staff, lot=lot, signed_on=clock.now.date(), amount_fen=930_000)
    from frontend.selectors import replay_differences
    assert replay_differences(lot.project, clock.now) == []


def test_inquiry_single_round(ew, clock):
    world = ew.world
    lot = negotiation_lot(ew, clock, [500_000, 480_000, 490_000], method="inquiry")
    ev.commit_draw(actor=world.staff, lot=lot, size=3)
    ev.reveal_draw(actor=world.staff, lot=lot)
    ev.start_evaluation(actor=world.staff, lot=lot)
    before = snapshot(lot)
    unchanged(lot, before, Conflict, lambda: ev.open_quote_round(actor=world.staff, lot=lot), "inquiry")
    pass_all(ew, lot)
    e = ev.report_evaluation(actor=world.staff, lot=lot)
    assert e.candidates.get(rank=1).bidder_id == world.bidder_orgs[1].pk
