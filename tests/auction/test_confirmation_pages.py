"""The transaction confirmation (成交确认书) and the contract in the pages: the staff console's action, the
confirmation page (public with the result; staff issue it and record the contract there), the bidder's workspace
and the five-openness page; both languages."""
from __future__ import annotations

import pytest
from django.test import Client

from bidding.auction import engine as E
from bidding.auction import services as S
from bidding.auction.models import Confirmation, SaleContract
from tests.auction.helpers import make_auction
from trading.models import Lot

pytestmark = pytest.mark.django_db


def client_for(user=None, language="zh-hans") -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        c.force_login(user)
    return c


def dealt(world, clock):
    a = make_auction(world, clock, open_now=True, users=world.bidders[:2])
    S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="a")
    a.refresh_from_db()
    clock.move_to(a.end_at)
    S.tick()
    a.refresh_from_db()
    assert a.outcome == E.OUTCOME_DEAL and Lot.objects.get(pk=a.lot_id).status == "awarded"
    return a


def test_staff_issue_the_confirmation_and_record_the_contract_in_the_pages(world, clock):
    a = dealt(world, clock)
    staff = client_for(world.staff)
    console = staff.get("/staff/auctions/").content.decode()
    assert f"/auctions/{a.pk}/confirmation/" in console
    # before it is issued: staff see the issue form, everyone else a 404
    page = staff.get(f"/auctions/{a.pk}/confirmation/").content.decode()
    assert 'id="issue-confirmation"' in page and 'id="record-contract"' not in page
    for other in (None, world.bidders[0], world.supervisor):
        assert client_for(other).get(f"/auctions/{a.pk}/confirmation/").status_code == 404
    # a bidder cannot issue it: nothing changes
    client_for(world.bidders[0]).post(f"/staff/auctions/{a.pk}/confirmation/")
    assert not Confirmation.objects.exists()
    staff.post(f"/staff/auctions/{a.pk}/confirmation/")
    conf = Confirmation.objects.get(auction=a)
    for reader in (None, world.bidders[0], world.supervisor, world.staff):
        html = client_for(reader).get(f"/auctions/{a.pk}/confirmation/").content.decode()
        assert conf.sha256 in html and world.bidder_orgs[0].name in html and "成交确认书" in html
    english = client_for(None, "en").get(f"/auctions/{a.pk}/confirmation/").content.decode()
    assert "Transaction confirmation" in english
    assert "我的成交确认书" in client_for(world.bidders[0]).get("/me/").content.decode()
    disclosure = client_for().get(f"/projects/{a.lot.project.code}/disclosure/").content.decode()
    assert 'id="confirmations"' in disclosure and conf.sha256[:14] in disclosure
    # the contract: a bad document changes nothing, then it is recorded and the lot is contracted
    form = {"signed_on": clock.now.date().isoformat(), "amount": "%d.%02d" % divmod(conf.price_fen, 100),
            "document_name": "出让合同.pdf", "document_sha256": "nothex"}
    staff.post(f"/staff/auctions/{a.pk}/contract/", form)
    assert not SaleContract.objects.exists() and Lot.objects.get(pk=a.lot_id).status == "awarded"
    staff.post(f"/staff/auctions/{a.pk}/contract/", {**form, "document_sha256": "d" * 64})
    assert SaleContract.objects.get().amount_fen == conf.price_fen
    assert Lot.objects.get(pk=a.lot_id).status == "contracted"
    html = client_for().get(f"/auctions/{a.pk}/confirmation/").content.decode()
    assert 'id="contract"' in html and "d" * 64 in html
