"""Remedies of an upheld complaint on a lot sold by live auction or listing (land 招拍挂, state assets).

A sale lot has no evaluation to repeat: ``reevaluate`` does not fit it and is refused with a 409 naming the
remedies that do, nothing changed. ``cancel_award`` cancels the deal (成交无效): the auction's outcome becomes
``cancelled`` with the decision as its reason, the transaction confirmation (成交确认书) is voided, the winner's
security goes back to the deposit rules' state (``deposits.services.clear_winner``: the conversion toward the
price reversed) and the lot is terminated, to be offered again by a new announcement — the termination's rule
then refunds every security held. ``retender`` stops the sale at any step before the contract (the deal
cancelled if there is one, a running auction closed as cancelled) and terminates the lot likewise. Through the
services, the API and the page, on PostgreSQL; replay equals live after every test (tests/conftest.py).
"""
from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import Event
from bidding.auction import engine as E
from bidding.auction import services as S
from bidding.auction.models import Auction, AuctionEvent, Confirmation
from deposits.models import Account, RefundOrder
from tests.factories import pay_security
from tests.auction.helpers import make_auction, open_auction
from trading.challenges import services as cs
from trading.challenges.clocks import BEIJING
from trading.challenges.models import Case
from trading.errors import Conflict
from trading.lifecycle import LotStatus
from tests.trading.test_ocds import validate
from trading import ocds
from trading.models import Lot

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_bank")]
SECURITY = 5_000_000




def _open(world, clock, method="auction"):
    a = make_auction(world, clock, method=method, users=world.bidders[:2], security_fen=SECURITY)
    pay_security(a.lot, world.bidder_orgs[0])
    pay_security(a.lot, world.bidder_orgs[1])
    return open_auction(clock, a)


def dealt(world, clock, *, confirm=True):
    """A land auction sold to bidder 1 (its security kept toward the price), the confirmation issued."""
    a = _open(world, clock)
    S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="a")
    S.place_bid(auction=a, user=world.bidders[1], amount_fen=a.starting_price_fen + a.increment_fen, client_ref="b")
    a.refresh_from_db()
    clock.move_to(a.end_at)
    S.tick()
    a.refresh_from_db()
    assert a.outcome == E.OUTCOME_DEAL and Lot.objects.get(pk=a.lot_id).status == LotStatus.AWARDED
    if confirm:
        S.issue_confirmation(actor=world.staff, auction=a)
    return a


def accepted_complaint(world, clock, lot) -> Case:
    case = cs.file_case(actor=world.bidders[0], kind="engineering_complaint", lot=lot, subject="竞得人资格不符",
                        text="竞得人提交的资格证明虚假", known_on=clock.now.astimezone(BEIJING).date())
    return cs.accept_complaint(actor=world.supervisor, case=case)


def account(lot, org):
    return Account.objects.get(lot=lot, bidder=org, kind="deposit")


def snapshot(a: Auction) -> tuple:
    a = Auction.objects.get(pk=a.pk)
    lot = Lot.objects.get(pk=a.lot_id)
    conf = Confirmation.objects.filter(auction=a).values_list("void__voided_at", flat=True).first()
    accs = sorted(Account.objects.filter(lot=lot).values_list("pk", "winner", "status"))
    return (lot.status, a.phase, a.outcome, a.last_seq, conf, accs, RefundOrder.objects.count(),
            Event.objects.count(), Case.objects.get(lot=lot).status)


def test_reevaluation_does_not_fit_a_sale_lot_and_is_refused_naming_what_fits(world, clock):
    a = dealt(world, clock)
    case = accepted_complaint(world, clock, a.lot)
    before = snapshot(a)
    with pytest.raises(Conflict) as exc:
        cs.decide_complaint(actor=world.supervisor, case=case, outcome="upheld", remedy="reevaluate",
                            decision="竞得人资格不符，成交无效")
    message = exc.value.untranslated
    assert "reevaluate" in message and "retender, cancel_award" in message and "auction" in message
    assert snapshot(a) == before  # nothing changed: the case still open, the deal, the confirmation, the deposits
    assert cs.fitting_remedies(case) == ("retender", "cancel_award")


def test_cancel_award_on_a_sale_lot_cancels_the_deal_voids_the_confirmation_and_terminates(world, clock):
    a = dealt(world, clock)
    lot, winner, loser = a.lot, world.bidder_orgs[1], world.bidder_orgs[0]
    assert account(lot, winner).status == "settled"  # converted toward the price at the result
    case = accepted_complaint(world, clock, lot)
    cs.decide_complaint(actor=world.supervisor, case=case, outcome="upheld", remedy="cancel_award",
                        decision="竞得人资格不符，成交无效")
    a.refresh_from_db()
    lot.refresh_from_db()
    assert (a.phase, a.outcome, a.outcome_reason) == (E.PHASE_CLOSED, E.OUTCOME_CANCELLED, "challenge_upheld")
    assert lot.status == LotStatus.TERMINATED
    conf = Confirmation.objects.get(auction=a)
    assert conf.void.voided_at is not None and case.number in conf.void.reason
    acc = account(lot, winner)
    cleared_event = Event.objects.get(action="deposit.winner_cleared")
    cleared = cleared_event.body["payload"]
    assert not acc.winner and cleared["reversed_fen"] == SECURITY  # the conversion reversed …
    refund = RefundOrder.objects.get(account=acc)  # … and refunded by the termination's rule
    assert (refund.reason, refund.amount_fen) == ("failed_lot", SECURITY)
    assert RefundOrder.objects.filter(account=account(lot, loser)).count() == 1  # refunded at the result already
    cancelled = Event.objects.get(action="auction.cancelled")
    payload = cancelled.body["payload"]
    assert payload["previous_outcome"] == E.OUTCOME_DEAL and payload["confirmation"] == conf.pk
    assert payload["winner_organisation"] == winner.pk and case.number in payload["reason"]
    assert AuctionEvent.objects.filter(auction=a, kind="cancelled").count() == 1
    assert "reserve" in S.public_state(a)  # revealed with the result before, still shown
    decided = Event.objects.get(action="case.decide")
    terminated, = [e for e in Event.objects.filter(action="lot.transition") if e.body["payload"]["action"] == "terminate"]
    assert decided.pk < cleared_event.pk < cancelled.pk < terminated.pk  # one transaction, in this order
    # the public is told (成交结果撤销公告), and the open-contracting export marks the award cancelled
    notice = lot.notices.filter(kind="result").order_by("-published_at", "-id").first()
    assert notice.data["deal_cancelled"] and "成交结果撤销公告" in notice.title and "成交确认书作废" in notice.body
    package = ocds.release_package(lot.project)
    validate(package)
    (award,) = package["releases"][-1]["awards"]
    assert award["status"] == "cancelled" and package["releases"][-1]["tag"] == ["awardUpdate"]
    # the deal is gone: no contract can be recorded on the voided confirmation
    with pytest.raises(Conflict):
        S.record_sale_contract(actor=world.staff, auction=a, signed_on=clock.now.date(), amount_fen=a.price_fen,
                               documents=[{"name": "c.pdf", "sha256": "0" * 64}])


def test_cancel_award_needs_a_deal(world, clock):
    a = _open(world, clock)  # live, no deal yet
    case = accepted_complaint(world, clock, a.lot)
    before = snapshot(a)
    with pytest.raises(Conflict) as exc:
        cs.decide_complaint(actor=world.supervisor, case=case, outcome="upheld", remedy="cancel_award",
                            decision="挂牌公告违法")
    assert "no deal" in exc.value.untranslated
    assert snapshot(a) == before


def test_retender_stops_a_running_sale_and_terminates_the_lot(world, clock):
    a = _open(world, clock, method="listing")
    case = accepted_complaint(world, clock, a.lot)
    cs.suspend_project(actor=world.supervisor, project=a.lot.project, case=case, reason="调查")
    cs.decide_complaint(actor=world.supervisor, case=case, outcome="upheld", remedy="retender",
                        decision="挂牌公告遗漏规划条件，重新挂牌")
    a.refresh_from_db()
    lot = Lot.objects.get(pk=a.lot_id)
    assert (a.phase, a.outcome, lot.status) == (E.PHASE_CLOSED, E.OUTCOME_CANCELLED, LotStatus.TERMINATED)
    assert Event.objects.get(action="auction.cancelled").body["payload"]["previous_outcome"] is None
    assert lot.notices.filter(kind="termination", data__outcome="cancelled").count() == 1
    state = S.public_state(a)  # no result was reached: the reserve stays secret
    assert state["outcome"] == E.OUTCOME_CANCELLED and "reserve" not in state and "reserve_salt" not in state
    for i in (0, 1):  # every security refunded by the termination's rule
        assert RefundOrder.objects.filter(account=account(lot, world.bidder_orgs[i])).count() == 1
    clock.advance(hours=2)
    S.tick()  # the clock leaves a cancelled sale alone
    assert Auction.objects.get(pk=a.pk).last_seq == a.last_seq


def test_retender_after_the_deal_cancels_it_first(world, clock):
    a = dealt(world, clock, confirm=False)
    case = accepted_complaint(world, clock, a.lot)
    cs.decide_complaint(actor=world.supervisor, case=case, outcome="upheld", remedy="retender",
                        decision="出让公告违法，重新组织出让")
    a.refresh_from_db()
    assert a.outcome == E.OUTCOME_CANCELLED and Lot.objects.get(pk=a.lot_id).status == LotStatus.TERMINATED
    assert not account(a.lot, world.bidder_orgs[1]).winner


def api(user) -> APIClient:
    c = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    c.force_authenticate(user)
    return c


def test_the_api_and_the_page_offer_only_the_remedies_that_fit(world, clock):
    a = dealt(world, clock)
    case = accepted_complaint(world, clock, a.lot)
    sup = api(world.supervisor)
    body = sup.get(f"/api/cases/{case.number}/").json()
    assert body["remedies"] == ["retender", "cancel_award"]
    before = snapshot(a)
    refused = sup.post(f"/api/cases/{case.number}/decide/", {"outcome": "upheld", "remedy": "reevaluate",
                                                             "decision": "成交无效"}, format="json")
    assert refused.status_code == 409, refused.content
    err = refused.json()
    assert err["code"] == "conflict" and "cancel_award" in err["detail"] and "retender" in err["detail"]
    assert snapshot(a) == before
    page = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    page.force_login(world.supervisor)
    html = page.get(f"/cases/{case.number}/").content.decode()
    form = html[html.index('id="decide-form"'):]
    form = form[:form.index("</form>")]
    assert 'value="cancel_award"' in form and 'value="retender"' in form and 'value="reevaluate"' not in form
    assert "成交无效" in form  # the remedy's label, in the page's language
    done = page.post(f"/cases/{case.number}/decide/", {"outcome": "upheld", "remedy": "cancel_award",
                                                       "decision": "竞得人资格不符，成交无效"})
    assert done.status_code == 302
    a.refresh_from_db()
    assert a.outcome == E.OUTCOME_CANCELLED and Case.objects.get(pk=case.pk).remedy == "cancel_award"
    conf = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(f"/auctions/{a.pk}/confirmation/").content.decode()
    assert 'id="confirmation-void"' in conf and "已作废" in conf and case.number in conf
    voided = APIClient().get(f"/api/auctions/{a.pk}/confirmation/").json()["voided"]
    assert voided["at"].endswith("Z") and case.number in voided["reason"]
