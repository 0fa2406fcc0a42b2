"""Only bidders whose security is in place may bid; the result keeps the winner's, refunds the others'."""
from __future__ import annotations

import pytest

from bidding.auction import engine as E
from bidding.auction import services as S
from bidding.auction.models import BidderNumber
from deposits import is_secured
from deposits.models import Account, RefundOrder

from tests.factories import pay_security
from tests.auction.helpers import make_auction, open_auction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_bank")]




@pytest.mark.parametrize("deal", [True, False])
def test_security_gates_bidding_and_result_settles_deposits(world, clock, deal):
    a = make_auction(world, clock, users=world.bidders[:3], security_fen=5_000_000,
                     reserve_fen=100_000_000 if deal else 900_000_000)
    lot = a.lot
    pay_security(lot, world.bidder_orgs[0])
    pay_security(lot, world.bidder_orgs[1])
    assert is_secured(world.bidder_orgs[0], lot) and not is_secured(world.bidder_orgs[2], lot)
    open_auction(clock, a)
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


def test_an_auction_in_the_last_days_of_the_known_calendar_opens_closes_and_refunds(world, clock):
    """Late in the last year the official calendar knows, the losers' refunds are due in a year not loaded yet:
    the auction opens, closes and refunds all the same (the refunds' due day is filled in once the year is
    loaded, tests/deposits/test_refund_calendar.py). Before, the auction could not advance until then."""
    import datetime as dt

    from trading import workdays
    from trading.rules import rule_for

    _, _, last = workdays.library_days()
    start = dt.datetime(last, 12, 30, 2, tzinfo=dt.timezone.utc)  # 10:00 in Beijing
    clock.move_to(start - (rule_for("land", "auction").min_notice_days + 2) * dt.timedelta(days=1))
    a = make_auction(world, clock, users=world.bidders[:3], security_fen=5_000_000, reserve_fen=100_000_000)
    assert workdays.platform_calendar().last_known_from(a.start_at.date()) == dt.date(last, 12, 31)
    pay_security(a.lot, world.bidder_orgs[0])
    pay_security(a.lot, world.bidder_orgs[1])
    open_auction(clock, a)
    S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="a")
    S.place_bid(auction=a, user=world.bidders[1], amount_fen=a.starting_price_fen + a.increment_fen, client_ref="b")
    a.refresh_from_db()
    clock.move_to(a.end_at)
    S.tick()
    a.refresh_from_db()
    assert a.outcome == E.OUTCOME_DEAL
    loser = RefundOrder.objects.get(account__lot=a.lot, account__bidder=world.bidder_orgs[0])
    assert loser.due_on is None and loser.due_working_days == a.lot.rule.refund_working_days
