"""The HTTP API: same service, 4xx with a reason, nothing changed on refusal."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import Event
from bidding.auction import engine as E
from bidding.auction import services as S
from bidding.auction.models import Auction, AuctionBid, AuctionEvent

from tests.auction.helpers import make_auction, sale_lot
from trading.money import format_fen

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    c = APIClient()
    if user is not None:
        c.force_authenticate(user)
    return c


def counts():
    return AuctionEvent.objects.count(), AuctionBid.objects.count(), Event.objects.count()


def test_bid_over_http(world, clock):
    a = make_auction(world, clock, open_now=True)
    c = client_for(world.bidders[0])
    r = c.post(f"/api/auctions/{a.pk}/bids/", {"amount": f"{a.starting_price_fen // 100}.00", "ref": "h1"},
               format="json")
    assert r.status_code == 201, r.content
    assert r.json()["seq"] == 2 and r.json()["accepted"] is True
    assert AuctionBid.objects.get().via == "http"
    detail = client_for().get(f"/api/auctions/{a.pk}/").json()
    assert detail["price"] == format_fen(a.starting_price_fen) and detail["my_number"] is None
    assert "reserve_fen" not in detail
    mine = c.get(f"/api/auctions/{a.pk}/").json()
    assert mine["my_number"] == r.json()["number"]
    ev = client_for().get(f"/api/auctions/{a.pk}/events/?after=1").json()
    assert [e["seq"] for e in ev["events"]] == [2]
    snap = client_for().get(f"/api/auctions/{a.pk}/events/").json()
    assert snap["type"] == "snapshot" and [e["seq"] for e in snap["events"]] == [1, 2]


@pytest.mark.parametrize("who,body,status,code", [
    ("b0", {"amount": 1000000.0, "ref": "x"}, 400, "invalid"),
    ("b0", {"amount": "1.234", "ref": "x"}, 400, "invalid"),
    ("b0", {"amount": "-1", "ref": "x"}, 400, "invalid"),
    ("b0", {"amount": "1000000.00"}, 400, "invalid"),
    ("b0", {"amount": "1.00", "ref": "x"}, 400, "too_low"),              # the engine's reason code
    ("b0", {"amount": "1000000.01", "ref": "x"}, 400, "not_multiple"),
    ("anon", {"amount": "1000000.00", "ref": "x"}, 401, "not_authenticated"),
    ("staff", {"amount": "1000000.00", "ref": "x"}, 403, "not_a_bidder"),
    ("supervisor", {"amount": "1000000.00", "ref": "x"}, 403, "not_a_bidder"),
    ("outsider", {"amount": "1000000.00", "ref": "x"}, 403, "no_security"),
])
def test_bad_bids_over_http(world, clock, who, body, status, code):
    a = make_auction(world, clock, open_now=True, users=world.bidders[:2])
    user = {"b0": world.bidders[0], "anon": None, "staff": world.staff, "supervisor": world.supervisor,
            "outsider": world.bidders[3]}[who]
    before, state = counts(), Auction.objects.get(pk=a.pk).price_fen
    r = client_for(user).post(f"/api/auctions/{a.pk}/bids/", body, format="json")
    assert r.status_code == status, r.content
    assert r.json()["code"] == code and r.json()["detail"]
    if code == "too_low":  # as the socket's answer: the lowest acceptable amount now
        assert r.json()["fields"] == {"minimum": ["1000000.00"]}
    assert counts() == before and Auction.objects.get(pk=a.pk).price_fen == state


def test_closed_and_unknown(world, clock):
    a = make_auction(world, clock, open_now=True)
    clock.move_to(a.end_at)
    r = client_for(world.bidders[0]).post(f"/api/auctions/{a.pk}/bids/", {"amount": "1000000.00", "ref": "x"},
                                          format="json")
    assert r.status_code == 409 and "closed" in r.json()["detail"]
    assert client_for().get("/api/auctions/999999/").status_code == 404
    assert client_for().get(f"/api/auctions/{a.pk}/events/?after=x").status_code == 400


def test_staff_schedule_pause_resume_over_http(world, clock):
    lot = sale_lot(world)
    staff = client_for(world.staff)
    r = staff.post("/api/auctions/", {"lot": lot.pk, "reserve": "1200000.00", "closing_rule": "soft_close"},
                   format="json")
    assert r.status_code == 201, r.content
    assert "reserve_fen" not in r.json() and r.json()["closing_rule"] == "soft_close"
    a = Auction.objects.get(lot=lot)
    assert a.reserve_fen == 120_000_000
    bad = client_for(world.bidders[0]).post("/api/auctions/", {"lot": lot.pk}, format="json")
    assert bad.status_code == 403
    clock.move_to(a.start_at)
    from bidding.auction.services import tick
    tick()
    assert client_for(world.supervisor).post(f"/api/auctions/{a.pk}/pause/", {"reason": "x"}, format="json").status_code == 403
    assert staff.post(f"/api/auctions/{a.pk}/pause/", {"reason": ""}, format="json").status_code == 400
    assert staff.post(f"/api/auctions/{a.pk}/pause/", {"reason": "系统故障"}, format="json").json()["phase"] == E.PHASE_PAUSED
    assert staff.post(f"/api/auctions/{a.pk}/pause/", {"reason": "again"}, format="json").status_code == 409
    assert staff.post(f"/api/auctions/{a.pk}/resume/", {}, format="json").json()["phase"] == E.PHASE_LIVE
    listing = client_for().get("/api/auctions/").json()
    assert [x["id"] for x in listing] == [a.pk]


def test_auction_api_is_described_in_openapi_without_warnings():
    import warnings

    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    try:
        with GENERATOR_STATS.silence(), warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            schema = SchemaGenerator().get_schema(request=None, public=True)
        messages = list(GENERATOR_STATS._warn_cache) + list(GENERATOR_STATS._error_cache)
    finally:
        GENERATOR_STATS.reset()
    assert [m for m in messages if "auction" in m.lower()] == []
    paths = schema["paths"]

    def ref(media) -> str:
        return media["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]

    bid = paths["/api/auctions/{auction_id}/bids/"]["post"]
    assert ref(bid["requestBody"]) == "AuctionBidRequest"
    assert ref(bid["responses"]["201"]) == "AuctionBidReceipt"
    assert ref(bid["responses"]["409"]) == "Error"
    assert ref(bid["responses"]["200"]) == "AuctionBidReceipt"  # a replayed reference
    assert ref(paths["/api/auctions/{auction_id}/"]["get"]["responses"]["200"]) == "AuctionDetail"
    events = paths["/api/auctions/{auction_id}/events/"]["get"]
    assert ref(events["responses"]["200"]) == "AuctionResync"
    assert any(p["name"] == "after" and p["in"] == "query" for p in events["parameters"])
    state = schema["components"]["schemas"]["AuctionState"]["properties"]
    assert {"seq", "end_at", "minimum", "leader", "reserve_commitment"} <= set(state)


def test_every_refusal_code_is_documented_with_its_status():
    from trading.api_errors import ERROR_CODES

    for code, status_code in S.STATUS_FOR_CODE.items():
        assert ERROR_CODES[code][0] == status_code, code
