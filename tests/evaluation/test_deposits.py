"""Deposit consequences of the award: non-winners refunded, winner's converted or refunded at the contract,
refusal to sign → forfeit (staff request + supervisor countersign) and the next candidate offered."""
from __future__ import annotations

import pytest

from bidding.evaluation import services as ev
from bidding.evaluation.models import Award
from bidding.evaluation.selectors import award_for
from deposits.models import Account, Forfeit, RefundOrder
from tests.factories import pay_security
from tests.evaluation.conftest import draw_committee, open_lot, pass_all
from tests.evaluation.test_services import snapshot, unchanged
from trading.errors import Forbidden

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_bank")]
SECURITY = 1_000_000




def awarded(ew, clock):
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000], security_fen=SECURITY, pay=pay_security)
    draw_committee(ew, lot)
    ev.start_evaluation(actor=ew.world.staff, lot=lot)
    pass_all(ew, lot)
    ev.report_evaluation(actor=ew.world.staff, lot=lot)
    ev.publish_candidates(actor=ew.world.staff, lot=lot)
    clock.advance(days=3, minutes=1)
    ev.award_lot(actor=ew.world.staff, lot=lot)
    return lot


def account(lot, org) -> Account:
    return Account.objects.get(lot=lot, bidder=org, kind="deposit")


def refunds_of(lot, org) -> list[str]:
    return list(RefundOrder.objects.filter(account__lot=lot, account__bidder=org).values_list("reason", flat=True))


def test_award_refunds_non_winners_and_contract_converts_winners(ew, clock):
    world = ew.world
    orgs = world.bidder_orgs
    lot = awarded(ew, clock)
    winner = orgs[1]
    assert account(lot, winner).winner
    assert refunds_of(lot, winner) == []
    assert refunds_of(lot, orgs[0]) == ["non_winner"] and refunds_of(lot, orgs[2]) == ["non_winner"]
    clock.advance(days=2)
    ev.record_contract(actor=world.staff, lot=lot, signed_on=clock.now.date(), amount_fen=900_000,
                       deposit_mode="convert")
    acc = account(lot, winner)
    assert acc.status == "settled" and acc.available_fen == 0
    assert refunds_of(lot, winner) == []


def test_contract_refunds_winners_security(ew, clock):
    world = ew.world
    lot = awarded(ew, clock)
    ev.record_contract(actor=world.staff, lot=lot, signed_on=clock.now.date(), amount_fen=900_000,
                       deposit_mode="refund")
    assert refunds_of(lot, world.bidder_orgs[1]) == ["winner"]


def test_refusal_to_sign_forfeit_countersigned_next_candidate_offered(ew, clock):
    from deposits import services as deposits_services

    world = ew.world
    orgs = world.bidder_orgs
    lot = awarded(ew, clock)
    # a supervisor cannot act on the award; nothing changes
    before = snapshot(lot)
    unchanged(lot, before, Forbidden, lambda: ev.refuse_to_sign(actor=world.supervisor, lot=lot, reason="x"))
    nxt = ev.refuse_to_sign(actor=world.staff, lot=lot, reason="refused to sign on 2026-04-20")
    assert nxt is not None and nxt.bidder_id == orgs[2].pk and award_for(lot) == nxt
    first = Award.objects.get(lot=lot, bidder=orgs[1])
    assert first.status == "refused" and first.forfeit_requested
    forfeit = Forfeit.objects.get(account__lot=lot)
    assert forfeit.account.bidder_id == orgs[1].pk and forfeit.grounds == "refused_to_sign"
    assert forfeit.status == "requested"
    # held until the supervisor countersigns
    assert account(lot, orgs[1]).available_fen == 0
    deposits_services.countersign_forfeit(actor=world.supervisor, forfeit=forfeit, approve=True, note="依法没收")
    assert account(lot, orgs[1]).status == "settled"
    assert refunds_of(lot, orgs[1]) == []
    # the next candidate's security had been refunded with the result; it signs without one
    ev.record_contract(actor=world.staff, lot=lot, signed_on=clock.now.date(), amount_fen=950_000)
    lot.refresh_from_db()
    assert lot.status == "contracted"


def test_winner_withdraws_its_security_is_refunded(ew, clock):
    world = ew.world
    orgs = world.bidder_orgs
    lot = awarded(ew, clock)
    ev.withdraw_candidate(actor=world.staff, lot=lot, bidder=orgs[1].pk, reason="withdrew for good cause")
    assert refunds_of(lot, orgs[1]) == ["winner"]
    current = award_for(lot)
    assert current is not None and current.bidder_id == orgs[2].pk


def test_a_contracted_lot_completes_once_every_deposit_is_settled(ew, clock, fake_bank,
                                                                  django_capture_on_commit_callbacks):
    from trading import clock as trading_clock

    world = ew.world
    lot = awarded(ew, clock)  # the non-winners' refunds are ordered, not yet sent (no commit in this test)
    clock.advance(days=2)
    ev.record_contract(actor=world.staff, lot=lot, signed_on=clock.now.date(), amount_fen=900_000,
                       deposit_mode="refund")
    lot.refresh_from_db()
    assert lot.status == "contracted"
    assert trading_clock.complete_contracted() == 0  # refunds still on their way: not complete
    lot.refresh_from_db()
    assert lot.status == "contracted"

    with django_capture_on_commit_callbacks(execute=True):  # the refunds go out and the bank confirms them
        for order in RefundOrder.objects.filter(account__lot=lot, status="pending"):
            from deposits import services as dep

            dep.dispatch_refund(order_id=order.pk)
    assert set(RefundOrder.objects.filter(account__lot=lot).values_list("status", flat=True)) == {"confirmed"}
    assert trading_clock.complete_contracted() == 1
    lot.refresh_from_db()
    assert lot.status == "complete"
    assert trading_clock.complete_contracted() == 0  # once
