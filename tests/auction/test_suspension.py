"""A suspended project takes no auction bid: over HTTP (409, code ``suspended``, in the one error shape, naming
the suspension) and over the real websocket; nothing is recorded. Its auctions' clocks stop (the engine pauses
them inside the suspension's transaction) and resume with the time they had left when it is lifted."""
from __future__ import annotations

import asyncio

import pytest
from rest_framework.test import APIClient

from audit.models import Event
from bidding.auction import engine as E
from bidding.auction import services as S
from bidding.auction.models import Auction, AuctionBid, AuctionEvent
from tests import factories
from tests.auction.helpers import make_auction
from tests.auction.live import Room, Server, live_auction, session_cookie
from trading.challenges import services as cs


def counts():
    return AuctionEvent.objects.count(), AuctionBid.objects.count(), Event.objects.count()


def http_bid(user, auction, amount_fen, ref):
    c = APIClient()
    c.force_authenticate(user)
    return c.post(f"/api/auctions/{auction.pk}/bids/", {"amount": f"{amount_fen // 100}.{amount_fen % 100:02d}",
                                                        "ref": ref}, format="json")


@pytest.mark.django_db
def test_http_bids_are_refused_while_suspended_and_the_clock_stops(world, clock):
    a = make_auction(world, clock, open_now=True)
    assert a.phase == E.PHASE_LIVE
    assert http_bid(world.bidders[0], a, a.starting_price_fen, "s1").status_code == 201
    a.refresh_from_db()
    end_before = a.end_at
    project = a.lot.project
    cs.suspend_project(actor=world.supervisor, project=project, reason="投诉处理中，暂停竞价")
    a.refresh_from_db()
    assert (a.phase, a.pause_reason) == (E.PHASE_PAUSED, S.SUSPENSION_PAUSE)
    assert AuctionEvent.objects.filter(auction=a).order_by("-seq").values_list("kind", flat=True)[0] == "paused"
    before = counts()
    r = http_bid(world.bidders[1], a, a.starting_price_fen + a.increment_fen, "s2")
    assert r.status_code == 409, r.json()
    body = r.json()
    assert set(body) == {"code", "detail", "fields"} and body["code"] == "suspended"
    assert project.code in body["detail"] and "投诉处理中，暂停竞价" in body["detail"]
    assert counts() == before  # nothing recorded
    # staff cannot resume the auction behind the supervisor's back
    with pytest.raises(S.BidRefused) as refused:
        S.resume_auction(auction=a, actor=world.staff)
    assert refused.value.code == "suspended" and counts() == before
    # the clock is stopped: an hour later nothing closed; lifting resumes with the time left
    clock.advance(hours=3)
    S.tick()
    a.refresh_from_db()
    assert a.phase == E.PHASE_PAUSED and counts() == before
    paused_at = a.paused_at
    cs.resume_project(actor=world.supervisor, project=project)
    a.refresh_from_db()
    assert a.phase == E.PHASE_LIVE and a.end_at == end_before + (clock.now - paused_at)
    r = http_bid(world.bidders[1], a, a.starting_price_fen + a.increment_fen, "s3")
    assert r.status_code == 201, r.json()


def socket_context(auction_id: int, seq: int) -> dict:
    from audit.models import EventContext

    event = Event.objects.get(pk=AuctionEvent.objects.get(auction_id=auction_id, seq=seq).audit_event_id)
    return EventContext.objects.get(event_uid=event.uid).context


@pytest.fixture
def server(transactional_db):
    srv = Server().start()
    yield srv
    srv.kill()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_websocket_bids_are_refused_while_suspended(server):
    world = factories.make_world()
    auction = live_auction(world)
    project = auction.lot.project

    async def bid(room, amount):
        return await room.answer(await room.bid(amount))

    async def scenario():
        room = await Room(server, auction.pk, session_cookie(world.bidders[1])).connect()
        leader = await Room(server, auction.pk, session_cookie(world.bidders[0])).connect()
        first = await bid(leader, auction.starting_price_fen)
        assert first["accepted"], first
        await asyncio.to_thread(cs.suspend_project, actor=world.supervisor, project=project, reason="暂停核查")
        await room.wait_for(lambda r: any(e["kind"] == "paused" for e in r.events.values()))
        before = await asyncio.to_thread(counts)
        refused = await bid(room, auction.starting_price_fen + auction.increment_fen)
        assert (refused["accepted"], refused["code"]) == (False, "suspended")
        assert project.code in refused["message"] and "暂停核查" in refused["message"]
        assert await asyncio.to_thread(counts) == before
        await asyncio.to_thread(cs.resume_project, actor=world.supervisor, project=project)
        await room.wait_for(lambda r: any(e["kind"] == "resumed" for e in r.events.values()))
        again = await bid(room, auction.starting_price_fen + auction.increment_fen)
        assert again["accepted"], again
        # the socket's bid records who bid from where (the connection's address and client), privately
        recorded = await asyncio.to_thread(socket_context, auction.pk, again["seq"])
        assert recorded["address"] == "127.0.0.1" and "websockets" in recorded["client"].lower()
        await room.close()
        await leader.close()

    asyncio.run(scenario())
    assert Auction.objects.get(pk=auction.pk).phase == E.PHASE_LIVE


@pytest.mark.django_db
def test_batched_bids_record_who_bid_from_where(world, clock):
    """Issue 16 item 1 on the bid batch path: an HTTP bid's address and client (the request's), private and
    committed by hash in its audit event."""
    from audit import context
    from audit.models import EventContext

    a = make_auction(world, clock, open_now=True)
    c = APIClient()
    c.force_authenticate(world.bidders[0])
    r = c.post(f"/api/auctions/{a.pk}/bids/", {"amount": f"{a.starting_price_fen // 100}.00", "ref": "ctx1"},
               format="json", REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT="BidderBrowser/3")
    assert r.status_code == 201, r.json()
    bid = AuctionBid.objects.get(client_ref="ctx1")
    event = Event.objects.get(pk=AuctionEvent.objects.get(auction=a, seq=bid.seq).audit_event_id)
    assert event.action == "auction.bid"
    assert EventContext.objects.get(event_uid=event.uid).context == {"address": "203.0.113.77",
                                                                     "client": "BidderBrowser/3"}
    assert "203.0.113.77" not in event.canonical and context.verify_context(event)
