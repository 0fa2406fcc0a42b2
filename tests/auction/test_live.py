"""Real ASGI server (uvicorn subprocess), PostgreSQL, Redis channel layer, real websocket clients."""
from __future__ import annotations

from audit.timestamps import iso_z
import asyncio
import datetime as dt
import json
import threading
import time
import uuid

import pytest
import websockets
from django.db import connection
from django.utils import timezone

from bidding.auction import engine as E
from bidding.auction import services as S
from bidding.auction.models import Auction, AuctionBid, AuctionEvent
from tests import factories

from tests.auction.live import Room, Server, fen_of, live_auction, session_cookie, settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def server(transactional_db):
    srv = Server().start()
    yield srv
    srv.kill()  # a test server: no graceful shutdown wait


def more_bidders(world, n):
    for i in range(n):
        org = factories.make_org("bidder", f"竞买人{i}有限公司")
        world.bidder_orgs.append(org)
        world.bidders.append(factories.make_user("bidder", org))
    return world


def db_history(auction_id):
    return [(e.seq, e.kind, e.data.get("bidder"), e.data.get("amount_fen"))
            for e in AuctionEvent.objects.filter(auction_id=auction_id).order_by("seq")]


def assert_gap_free(auction_id):
    a = Auction.objects.get(pk=auction_id)
    seqs = list(AuctionEvent.objects.filter(auction=a).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, a.last_seq + 1))
    bid_seqs = list(AuctionBid.objects.filter(auction=a).order_by("seq").values_list("seq", flat=True))
    amounts = list(AuctionBid.objects.filter(auction=a).order_by("seq").values_list("amount_fen", flat=True))
    assert amounts == sorted(amounts) and len(set(amounts)) == len(amounts)
    assert set(bid_seqs) <= set(seqs)
    return a


def test_twenty_bidders_at_the_same_moment(server):
    world = more_bidders(factories.make_world(), 16)
    auction = live_auction(world)
    cookies = [session_cookie(u) for u in world.bidders]
    rounds = 5

    async def scenario():
        bidders = [await Room(server, auction.pk, c).connect() for c in cookies]
        watchers = [await Room(server, auction.pk).connect() for _ in range(2)]
        assert all(b.number for b in bidders) and len({b.number for b in bidders}) == 20
        assert all(w.number is None for w in watchers)
        price = auction.starting_price_fen
        for step in range(rounds):
            amount = price if step == 0 else price + auction.increment_fen
            refs = await asyncio.gather(*(b.bid(amount) for b in bidders))
            answers = await asyncio.gather(*(b.answer(r) for b, r in zip(bidders, refs)))
            accepted = [a for a in answers if a["accepted"]]
            assert len(accepted) == 1, answers
            for a in answers:
                if not a["accepted"]:
                    assert a["code"] in (E.TOO_LOW, E.ALREADY_HIGHEST) and a["message"]
            price = amount
        final = accepted[0]["seq"]
        everyone = bidders + watchers
        await asyncio.gather(*(c.wait_for(lambda r: r.last_seq >= final) for c in everyone))
        histories = {tuple(c.history()) for c in everyone}
        # event frames carry only the state's changing fields; merged into the snapshot's state they
        # give exactly the state a newcomer's snapshot shows
        event_frames = [f for f in watchers[0].frames if f["type"] in ("event", "events")]
        assert event_frames and all(not (S.STATIC_STATE_KEYS & f["state"].keys()) for f in event_frames)
        newcomer = await Room(server, auction.pk).connect()
        fresh = dict(newcomer.state)
        assert all(c.state == fresh for c in everyone)
        for c in everyone + [newcomer]:
            await c.close()
        return histories, price

    histories, price = asyncio.run(scenario())
    assert len(histories) == 1
    a = assert_gap_free(auction.pk)
    assert list(histories)[0] == tuple(db_history(auction.pk))
    assert a.price_fen == price and a.bid_count == rounds
    assert AuctionBid.objects.filter(auction=a).count() == rounds


def test_disconnected_client_and_lost_broadcast_resync(server, monkeypatch):
    world = factories.make_world()
    auction = live_auction(world)
    c0, c1, c2 = (session_cookie(u) for u in world.bidders[:3])

    def bid_without_broadcast(amount):
        # the channel layer loses this notification (it may: the design must not depend on it)
        monkeypatch.setattr(S, "broadcast", lambda *a, **k: None)
        try:
            return S.place_bid(auction=auction.pk, user=world.bidders[3], amount_fen=amount, client_ref="lost")
        finally:
            monkeypatch.undo()
            connection.close()

    async def scenario():
        b0, b1 = await Room(server, auction.pk, c0).connect(), await Room(server, auction.pk, c1).connect()
        leaver = await Room(server, auction.pk, c2).connect()
        watcher = await Room(server, auction.pk).connect()
        rooms = [b0, b1, leaver, watcher]
        price = auction.starting_price_fen
        r = await b0.answer(await b0.bid(price))
        assert r["accepted"]
        await leaver.wait_for(lambda x: x.last_seq >= r["seq"])
        await leaver.close()  # the client drops off while bidding goes on
        for i in range(4):
            who = b1 if i % 2 == 0 else b0
            price += auction.increment_fen
            ans = await who.answer(await who.bid(price))
            assert ans["accepted"]
        seq = ans["seq"]
        await asyncio.gather(*(x.wait_for(lambda y: y.last_seq >= seq) for x in (b0, b1, watcher)))
        # it comes back with the last seq it saw and receives exactly what it missed
        before = leaver.last_seq
        await leaver.connect(resume=True)
        assert leaver.frames[-1]["type"] == "events" and leaver.frames[-1]["events"][0]["seq"] == before + 1
        assert leaver.last_seq == seq
        # a lost broadcast: nobody hears of it ...
        price += auction.increment_fen
        lost = await asyncio.to_thread(bid_without_broadcast, price)
        # ... until the next event reveals the gap; the server reads the missing one from the database
        price += auction.increment_fen
        ans = await b0.answer(await b0.bid(price))
        assert ans["accepted"] and ans["seq"] == lost.seq + 1
        await asyncio.gather(*(x.wait_for(lambda y: y.last_seq >= ans["seq"]) for x in rooms))
        assert all(lost.seq in x.events for x in rooms)
        out = [tuple(x.history()) for x in rooms]
        for x in rooms:
            await x.close()
        return out

    histories = asyncio.run(scenario())
    assert len(set(histories)) == 1
    assert histories[0] == tuple(db_history(auction.pk))
    assert_gap_free(auction.pk)


def test_bad_input_on_the_socket_changes_nothing(server):
    world = factories.make_world()
    auction = live_auction(world, users=world.bidders[:2])
    c0, c1, outsider, staff = (session_cookie(u) for u in (*world.bidders[:2], world.bidders[3], world.staff))

    async def scenario():
        b0 = await Room(server, auction.pk, c0).connect()
        b1 = await Room(server, auction.pk, c1).connect()
        first = await b0.answer(await b0.bid(auction.starting_price_fen, ref="first"))
        assert first["accepted"]
        await b1.wait_for(lambda r: r.last_seq >= first["seq"])
        before = await asyncio.to_thread(lambda: (db_history(auction.pk), Auction.objects.get(pk=auction.pk).end_at))
        watcher = await Room(server, auction.pk).connect()
        staff_room = await Room(server, auction.pk, staff).connect()
        nosec = await Room(server, auction.pk, outsider).connect()
        assert nosec.number is None
        price = auction.starting_price_fen
        cases = [
            (b1, price, E.TOO_LOW),
            (b1, price + auction.increment_fen + 1, E.NOT_MULTIPLE),
            (b1, price + (auction.max_jump + 1) * auction.increment_fen, E.TOO_HIGH),
            (b0, price + auction.increment_fen, E.ALREADY_HIGHEST),
            (watcher, price + auction.increment_fen, E.NOT_A_BIDDER),
            (staff_room, price + auction.increment_fen, E.NOT_A_BIDDER),
            (nosec, price + auction.increment_fen, E.NO_SECURITY),
        ]
        for room, amount, code in cases:
            ans = await room.answer(await room.bid(amount))
            assert not ans["accepted"] and ans["code"] == code and ans["message"], ans
        # a replayed frame (same ref): refused on the same connection, and on a new one (database check)
        b0.answers.pop("first")
        ans = await b0.answer(await b0.bid(price + auction.increment_fen, ref="first"))
        assert ans["code"] == E.REPLAYED
        replay_from_elsewhere = await Room(server, auction.pk, c0).connect()
        ans = await replay_from_elsewhere.answer(await replay_from_elsewhere.bid(price + auction.increment_fen,
                                                                                 ref="first"))
        assert ans["code"] == E.REPLAYED
        # malformed, oversized, binary frames, a float amount
        n = len(b1.errors)
        await b1.send("{not json")
        await b1.send(json.dumps({"type": "bid", "amount": "1", "ref": "x", "pad": "x" * 5000}))
        await b1.ws.send(b"\x00\x01\x02")
        await b1.send(json.dumps({"type": "hack"}))
        await b1.wait_for(lambda r: len(r.errors) >= n + 4)
        assert [e["code"] for e in b1.errors[n:n + 4]] == [E.MALFORMED, E.TOO_LARGE, E.MALFORMED, E.MALFORMED]
        ans = await b1.answer(await b1.send({"type": "bid", "amount": 12.5, "ref": "floaty"}) or "floaty")
        assert ans["code"] == E.MALFORMED
        # the connection still works afterwards
        await b1.send({"type": "ping"})
        await b1.wait_for(lambda r: r.frames[-1]["type"] == "pong")
        after = await asyncio.to_thread(lambda: (db_history(auction.pk), Auction.objects.get(pk=auction.pk).end_at))
        for r in (b0, b1, watcher, staff_room, nosec, replay_from_elsewhere):
            await r.close()
        return before, after

    before, after = asyncio.run(scenario())
    assert before[0] == after[0] and before[1] == after[1]
    assert_gap_free(auction.pk)


def test_server_killed_mid_auction_continues(server):
    world = factories.make_world()
    auction = live_auction(world)
    cookies = [session_cookie(u) for u in world.bidders[:3]]

    async def phase1():
        rooms = [await Room(server, auction.pk, c).connect() for c in cookies]
        price = auction.starting_price_fen
        for i in range(6):
            b = rooms[i % 3]
            ans = await b.answer(await b.bid(price))
            assert ans["accepted"]
            price += auction.increment_fen
        seq = ans["seq"]
        await asyncio.gather(*(r.wait_for(lambda x: x.last_seq >= seq) for r in rooms))
        return rooms, price

    rooms, price = asyncio.run(phase1())
    a = Auction.objects.get(pk=auction.pk)
    end_before, seq_before = a.end_at, a.last_seq
    server.kill()  # SIGKILL the ASGI server mid-auction
    server.start()  # and start it again on the same port

    async def phase2():
        for r in rooms:
            await r.connect(resume=True)
            assert r.frames[-1]["type"] == "events" and r.frames[-1]["events"] == []
            assert r.state["end_at"] == iso_z(end_before)
            assert r.number
        b = rooms[1] if rooms[0].state["leader"] == rooms[0].number else rooms[0]
        ans = await b.answer(await b.bid(price))
        assert ans["accepted"] and ans["seq"] == seq_before + 1
        await asyncio.gather(*(r.wait_for(lambda x: x.last_seq >= ans["seq"]) for r in rooms))
        out = [tuple(r.history()) for r in rooms]
        for r in rooms:
            await r.close()
        return out

    histories = asyncio.run(phase2())
    assert len(set(histories)) == 1 and histories[0] == tuple(db_history(auction.pk))
    a = assert_gap_free(auction.pk)
    assert a.bid_count == 7 and a.phase == E.PHASE_LIVE


def _tick_loop(stop: threading.Event, fired: list):
    try:
        while not stop.is_set():
            fired.append(S.tick(timezone.now()))
            time.sleep(0.02)  # a clock process ticking, not a test waiting
    finally:
        connection.close()


@pytest.mark.parametrize("rule", ["countdown", "soft_close"])
def test_bid_at_the_last_instant_over_the_socket(server, rule):
    world = more_bidders(factories.make_world(), 6)
    auction = live_auction(world, closing_rule=rule, countdown_s=2, window_s=2)
    cookies = [session_cookie(u) for u in world.bidders]
    # the auction is about to end: 600 ms left
    Auction.objects.filter(pk=auction.pk).update(end_at=timezone.now() + dt.timedelta(milliseconds=600))
    stop, fired = threading.Event(), list[int]()
    clocks = [threading.Thread(target=_tick_loop, args=(stop, fired)) for _ in range(2)]  # two clock processes

    async def scenario():
        rooms = [await Room(server, auction.pk, c).connect() for c in cookies]
        watcher = await Room(server, auction.pk).connect()
        end = dt.datetime.fromisoformat(rooms[0].state["end_at"])
        for t in clocks:
            t.start()
        await asyncio.sleep(max(0.0, (end - timezone.now()).total_seconds() - 0.15))
        amount = auction.starting_price_fen
        refs = await asyncio.gather(*(r.bid(amount) for r in rooms))
        answers = await asyncio.gather(*(r.answer(x) for r, x in zip(rooms, refs)))
        accepted = [a for a in answers if a["accepted"]]
        assert len(accepted) <= 1
        for a in answers:
            if not a["accepted"]:
                assert a["code"] in (E.TOO_LOW, E.CLOSED), a
        # the auction closes by the server's clock; everyone sees the same end
        everyone = rooms + [watcher]
        await asyncio.gather(*(r.wait_for(lambda x: x.state["phase"] == "closed", timeout=15) for r in everyone))
        out = [tuple(r.history()) for r in everyone]
        for r in everyone:
            await r.close()
        return accepted, end, out

    try:
        accepted, end, histories = asyncio.run(scenario())
    finally:
        stop.set()
        for t in clocks:
            t.join()
    a = assert_gap_free(auction.pk)
    assert len(set(histories)) == 1 and histories[0] == tuple(db_history(auction.pk))
    closed = AuctionEvent.objects.filter(auction=a, kind="closed")
    assert closed.count() == 1  # exactly once, with two clocks ticking
    bids = list(AuctionBid.objects.filter(auction=a))
    if accepted:
        bid = bids[0]
        assert bid.placed_at < end
        assert a.end_at == bid.placed_at + dt.timedelta(seconds=2)  # the end moved: bid in the last instant
        assert a.outcome == E.OUTCOME_DEAL and a.price_fen == bid.amount_fen
        assert closed.get().data["at"] == iso_z(a.end_at)
    else:
        assert not bids and a.outcome == E.OUTCOME_FAILED


def test_listing_posts_and_going_on_over_the_socket(server):
    world = factories.make_world()
    auction = live_auction(world, method="listing")
    assert auction.phase == E.PHASE_LISTING
    c0, c1, c2 = (session_cookie(u) for u in world.bidders[:3])

    async def scenario():
        b0, b1, b2 = [await Room(server, auction.pk, c).connect() for c in (c0, c1, c2)]
        watcher = await Room(server, auction.pk).connect()
        assert (await b0.answer(await b0.bid(auction.starting_price_fen)))["accepted"]
        odd = auction.starting_price_fen + auction.increment_fen + 123  # a listing price need not be on the grid
        assert (await b1.answer(await b1.bid(odd)))["accepted"]
        for room in (b0, b1, b2, watcher):
            await room.send({"type": "continue", "ref": "go-on"})
        answers = {}
        for name, room in (("b0", b0), ("b1", b1), ("b2", b2), ("watcher", watcher)):
            await room.wait_for(lambda x: any(f.get("ref") == "go-on" for f in x.frames))
            answers[name] = next(f for f in room.frames if f.get("ref") == "go-on")
        await asyncio.gather(*(r.wait_for(lambda x: x.last_seq >= 5) for r in (b0, b1, b2, watcher)))
        out = [tuple(r.history()) for r in (b0, b1, b2, watcher)]
        for r in (b0, b1, b2, watcher):
            await r.close()
        return answers, out

    answers, histories = asyncio.run(scenario())
    assert answers["b0"]["accepted"] and answers["b1"]["accepted"]
    assert answers["b2"]["code"] == E.NOT_ELIGIBLE  # posted nothing
    assert answers["watcher"]["code"] == E.NOT_A_BIDDER
    assert len(set(histories)) == 1 and histories[0] == tuple(db_history(auction.pk))
    a = Auction.objects.get(pk=auction.pk)
    assert len(a.continuing) == 2 and a.last_seq == 5


async def _reconnect(room, server, deadline_s: float = 60):
    """Reconnect with the last seq seen, retrying while the server restarts (polling a child
    process, not waiting for business time)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while True:
        try:
            return await room.connect(resume=True)
        except (TimeoutError, OSError, websockets.InvalidHandshake, websockets.ConnectionClosed):
            if loop.time() > end:
                raise
            await asyncio.sleep(0.1)


def test_server_killed_mid_storm_clients_resume_and_resent_bids_get_their_original_answer(server):
    """kill -9 of the ASGI server while ten bidders bid as fast as they can: every client reconnects
    with its last seq, re-sends the bid whose answer it did not get (same reference), and in the end
    every bid sent has an answer, every bid in the database was answered accepted with its own seq
    (``ok`` or, re-sent, ``replayed`` — never judged again), and every client holds the database's
    gap-free history: nothing lost, duplicated or out of order."""
    world = more_bidders(factories.make_world(), 6)
    auction = live_auction(world)
    cookies = [session_cookie(u) for u in world.bidders]
    target = 40  # the storm goes on until this seq, well after the restart
    sent: dict[str, dict] = {}  # ref → {"amount", "sends", "answer"}
    killed = asyncio.Event()

    async def bidder(room):
        floor = 0  # the minimum the last refusal named (the client's state may not show it yet)
        while room.last_seq < target:
            state = room.state
            if state["leader"] == room.number:  # wait to be outbid; the server may be killed meanwhile
                try:
                    await room.wait_for(lambda r: r.state["leader"] != r.number or r.last_seq >= target, timeout=5)
                except TimeoutError:
                    if room.ws.state is not websockets.State.OPEN:
                        await _reconnect(room, server)
                continue
            ref, amount = uuid.uuid4().hex, max(fen_of(state["minimum"]) or 0, floor)
            sent[ref] = {"amount": amount, "sends": 0, "answer": None}
            while sent[ref]["answer"] is None:
                try:
                    sent[ref]["sends"] += 1
                    await room.bid(amount, ref=ref)
                    sent[ref]["answer"] = answer = await room.answer(ref, timeout=5)
                    floor = max(floor, fen_of(answer.get("minimum")) or 0)
                except (TimeoutError, websockets.ConnectionClosed):
                    if room.ws.state is not websockets.State.OPEN:  # the server is gone: resume, re-send
                        await _reconnect(room, server)

    async def killer(watcher):
        await watcher.wait_for(lambda r: r.last_seq >= 12, timeout=60)
        await asyncio.to_thread(server.kill)  # SIGKILL mid-storm
        killed.set()
        await asyncio.to_thread(server.start)

    async def scenario():
        rooms = [await Room(server, auction.pk, c).connect() for c in cookies]
        watcher = await Room(server, auction.pk).connect()

        async def watch():
            await killed.wait()
            await _reconnect(watcher, server)
            await watcher.wait_for(lambda r: r.last_seq >= target, timeout=120)

        await asyncio.gather(killer(watcher), watch(), *(bidder(r) for r in rooms))
        await settle(rooms + [watcher], auction.pk)  # every bid answered: the database's last seq is the end
        # a bid accepted before the kill, sent again now (its answer lost): its original outcome
        early = next(ref for ref, s in sent.items() if s["answer"]["accepted"] and s["answer"]["seq"] <= 12)
        who = next(r for r in rooms if early in r.answers)
        who.answers.pop(early)
        await who.bid(sent[early]["amount"], ref=early)
        again = await who.answer(early)
        histories = [tuple(r.history()) for r in rooms + [watcher]]
        for r in rooms + [watcher]:
            await r.close()
        return early, again, histories

    early, again, histories = asyncio.run(scenario())
    assert again["accepted"] and again["code"] == E.REPLAYED and again["replayed"]
    assert again["seq"] == sent[early]["answer"]["seq"]
    a = assert_gap_free(auction.pk)
    assert len(set(histories)) == 1 and histories[0] == tuple(db_history(auction.pk))
    assert all(s["answer"] is not None for s in sent.values())  # every bid answered
    in_db = {b.client_ref: b for b in AuctionBid.objects.filter(auction=a)}
    assert len(in_db) == a.bid_count
    for ref, s in sent.items():
        answer = s["answer"]
        if ref in in_db:  # accepted once, answered with its own seq (re-sent: replayed, not judged again)
            assert answer["accepted"] and answer["seq"] == in_db[ref].seq, (ref, s)
            assert answer["code"] == (E.REPLAYED if answer.get("replayed") else E.OK)
        else:
            assert not answer["accepted"] and answer["code"] in (E.TOO_LOW, E.ALREADY_HIGHEST), (ref, s)
    assert any(s["sends"] > 1 for s in sent.values())  # the kill did cut answers off
