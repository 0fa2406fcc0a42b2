"""The auction pages: room (bidder / watcher), list, staff console (schedule, pause, resume)."""
from __future__ import annotations

import pytest
from django.test import Client

from bidding.auction import engine as E
from bidding.auction import services as S
from bidding.auction.models import Auction

from tests.auction.helpers import make_auction, sale_lot

pytestmark = pytest.mark.django_db


def client_for(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def test_room_for_bidder_and_watcher(world, clock):
    a = make_auction(world, clock, open_now=True, users=world.bidders[:2])
    page = client_for(world.bidders[0]).get(f"/auctions/{a.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    bidder_number = S.number_for(auction=a, user=world.bidders[0])
    assert bidder_number is not None
    number = bidder_number.number
    assert f'data-my-number="{number}"' in html and 'data-can-bid="1"' in html and "data-steps" in html
    assert world.bidder_orgs[0].name not in html  # numbers, never names
    for watcher in (None, world.supervisor, world.bidders[3]):
        html = client_for(watcher).get(f"/auctions/{a.pk}/").content.decode()
        assert 'data-can-bid="0"' in html and "data-steps" not in html
    assert client_for().get("/auctions/").status_code == 200
    assert client_for().get("/auctions/999999/").status_code == 404


def test_staff_console_schedule_pause_resume(world, clock):
    lot = sale_lot(world)
    staff = client_for(world.staff)
    assert staff.get("/staff/auctions/").status_code == 200
    assert client_for(world.bidders[0]).get("/staff/auctions/").status_code == 403
    r = staff.post(f"/staff/auctions/schedule/{lot.pk}/", {"reserve": "1.234", "closing_rule": "countdown"})
    assert r.status_code == 302 and not Auction.objects.exists()  # bad reserve: refused, nothing created
    r = client_for(world.other_staff).post(f"/staff/auctions/schedule/{lot.pk}/", {"reserve": "100.00"})
    assert r.status_code == 403 and not Auction.objects.exists()
    r = staff.post(f"/staff/auctions/schedule/{lot.pk}/", {"reserve": "1050000.00", "closing_rule": "soft_close",
                                                           "countdown_s": "300"})
    assert r.status_code == 302
    a = Auction.objects.get(lot=lot)
    assert a.reserve_fen == 105_000_000 and a.closing_rule == "soft_close"
    clock.move_to(a.start_at)
    S.tick()
    staff = client_for(world.staff)  # weeks later: a fresh session
    staff.post(f"/staff/auctions/{a.pk}/pause/", {"reason": ""})
    assert Auction.objects.get(pk=a.pk).phase == E.PHASE_LIVE  # a reason is required
    staff.post(f"/staff/auctions/{a.pk}/pause/", {"reason": "交易系统故障"})
    assert Auction.objects.get(pk=a.pk).phase == E.PHASE_PAUSED
    console = staff.get("/staff/auctions/").content.decode()
    assert "交易系统故障" in console
    staff.post(f"/staff/auctions/{a.pk}/resume/")
    assert Auction.objects.get(pk=a.pk).phase == E.PHASE_LIVE
