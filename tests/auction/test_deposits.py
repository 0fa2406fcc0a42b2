"""Only bidders whose security is in place may bid; the result keeps the winner's, refunds the others'."""
from __future__ import annotations

import pytest

from bidding.auction import engine as E
from bidding.auction import services as S
from bidding.auction.models import BidderNumber
from deposits import is_secured
from deposits.bank.fake import BANK
from deposits.models import Account, RefundOrder

from tests.auction.helpers import make_auction

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fake_bank():
    BANK.reset()
    yield BANK
    BANK.reset()


def pay(world, lot, i):
    acc = Account.objects.get(lot=lot, bidder=world.bidder_orgs[i], kind="deposit")
    BANK.pay_in(sub_account=acc.number, amount_fen=acc.required_fen, payer_name=world.bidder_orgs[i].name,
                payer_account=world.bidder_orgs[i].bank_account)


@pytest.mark.parametrize("deal", [True, False])
def test_security_gates_bidding_and_result_settles_deposits(world, clock, deal):
    a = make_auction(world, clock, users=world.bidders[:3], security_fen=5_000_000,
                     reserve_fen=100_000_000 if deal else 900_000_000)
    lot = a.lot
    pay(world, lot, 0)
    pay(world, lot, 1)
    assert is_secured(world.bidder_orgs[0], lot) and not is_secured(world.bidder_orgs[2], lot)
    clock.move_to(a.start_at)
    from trading.clock import tick as trading_tick
    trading_tick()
    S.tick()
    a.refresh_from_db()
    # numbers only for the secured bidders, assigned at the opening
    assert set(BidderNumber.objects.filter(auction=a).values_list("organisation_id", flat=True)) == {
        world.bidder_orgs[0].pk, world.bidder_orgs[1].pk}
    with pytest.raises(S.BidRefused) as exc:
        S.place_bid(auction=a, user=world.bidders[2], amount_fen=a.starting_price_fen, client_ref="n")
    assert exc.value.reason == E.NO_SECURITY and exc.value.status_code == 403
    S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="a")
    S.place_bid(auction=a, user=world.bidders[1], amount_fen=a.starting_price_fen + a.increment_fen, client_ref="b")
    a.refresh_from_db()
    clock.move_to(a.end_at)
    S.tick()
    a.refresh_from_db()
    winner_acc = Account.objects.get(lot=lot, bidder=world.bidder_orgs[1], kind="deposit")
    loser_acc = Account.objects.get(lot=lot, bidder=world.bidder_orgs[0], kind="deposit")
    assert RefundOrder.objects.filter(account=loser_acc).count() == 1
    if deal:
        assert a.outcome == E.OUTCOME_DEAL
        assert winner_acc.winner and winner_acc.status == "settled"  # kept toward the price
        assert not RefundOrder.objects.filter(account=winner_acc).exists()
    else:
        assert a.outcome == E.OUTCOME_FAILED
        assert RefundOrder.objects.filter(account=winner_acc).count() == 1
