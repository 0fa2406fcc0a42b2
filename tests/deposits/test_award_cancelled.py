"""An award cancelled by an upheld complaint (中标无效) puts the winner's security back to the rules' state through
the deposits app's one service (``clear_winner``): no longer marked, held like the others until the lot's new result
(refunded then by the result's hook), a conversion toward the price reversed; replay equals live throughout."""
from __future__ import annotations

import pytest

from audit.models import Event
from audit.replay import diff
from bidding.evaluation import services as ev
from bidding.evaluation.models import Award
from deposits import services
from deposits.selectors import live_deposits
from frontend.selectors import replayed_state
from tests.evaluation.conftest import pass_all
from tests.evaluation.test_deposits import account, awarded, refunds_of
from trading.challenges import services as cs
from trading.challenges.clocks import BEIJING

pytestmark = pytest.mark.django_db


def check_replay(project):
    assert diff(replayed_state(project)["deposits"], live_deposits(project)) == []


def test_complaint_upheld_cancels_the_award_and_unmarks_the_winners_security(ew, clock):
    world = ew.world
    orgs = world.bidder_orgs
    lot = awarded(ew, clock)
    winner = orgs[1]
    held = account(lot, winner).available_fen
    assert account(lot, winner).winner and held > 0
    complaint = cs.file_case(actor=world.bidders[0], kind="engineering_complaint", lot=lot, subject="中标人弄虚作假",
                             text="中标人业绩证明虚假", known_on=clock.now.astimezone(BEIJING).date())
    cs.accept_complaint(actor=world.supervisor, case=complaint)
    cs.decide_complaint(actor=world.supervisor, case=complaint, outcome="upheld", remedy="cancel_award",
                        decision="中标人以他人名义投标，中标无效")
    assert Award.objects.get(lot=lot, bidder=winner).status == "cancelled"
    acc = account(lot, winner)
    assert not acc.winner and acc.available_fen == held and acc.status == "frozen"  # held, as the rules say
    assert refunds_of(lot, winner) == []
    cleared = Event.objects.get(action="deposit.winner_cleared")
    assert cleared.body["payload"]["bidder"] == winner.pk and cleared.body["payload"]["reversed_fen"] == 0
    check_replay(lot.project)
    # the lot's new result: the new winner is marked again, every other held security refunded by the rules
    lot.refresh_from_db()
    assert lot.status == "opened"  # a new evaluation round is open, the committee kept
    pass_all(ew, lot)
    ev.report_evaluation(actor=world.staff, lot=lot)
    ev.publish_candidates(actor=world.staff, lot=lot)
    clock.advance(days=3, minutes=1)
    ev.award_lot(actor=world.staff, lot=lot)
    new = Award.objects.get(lot=lot, status="active")
    assert account(lot, new.bidder).winner
    for org in orgs[:3]:
        if org.pk != new.bidder_id:
            assert "non_winner" in refunds_of(lot, org)
    check_replay(lot.project)


def test_a_conversion_is_reversed_when_the_award_is_cancelled(ew, clock):
    world = ew.world
    lot = awarded(ew, clock)
    winner = world.bidder_orgs[1]
    held = account(lot, winner).available_fen
    services.settle_winner(lot=lot, bidder_org=winner, mode="convert")
    assert account(lot, winner).status == "settled" and account(lot, winner).available_fen == 0
    services.clear_winner(lot=lot, bidder_org=winner, reason="award cancelled")
    acc = account(lot, winner)
    assert (acc.winner, acc.status, acc.available_fen) == (False, "frozen", held)
    assert Event.objects.get(action="deposit.winner_cleared").body["payload"]["reversed_fen"] == held
    before = Event.objects.count()
    services.clear_winner(lot=lot, bidder_org=winner, reason="again")  # nothing marked: nothing to do
    assert Event.objects.count() == before
    check_replay(lot.project)
