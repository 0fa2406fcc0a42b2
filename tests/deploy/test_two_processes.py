"""Two real ASGI server processes (uvicorn subprocesses) sharing PostgreSQL and the Redis channel layer,
one live auction, bidders connected to each by websocket: every bidder on either process sees every bid
accepted on the other, in the same order, with gap-free sequence numbers; then one process is killed with
SIGKILL mid-storm, its bidders reconnect to the survivor (what a load balancer does) resuming with their
``last_seq`` and re-sending the bid whose answer they lost (same reference), and nothing is lost,
duplicated or out of order. No sleeps for timing: every wait is for a condition, with a generous timeout."""
from __future__ import annotations

import asyncio
import uuid

import pytest
import websockets

from bidding.auction import engine as E
from bidding.auction.models import AuctionBid
from tests import factories
from tests.auction.live import Room, Server, live_auction, session_cookie, settle
from tests.auction.test_live import assert_gap_free, db_history, more_bidders
from trading.money import parse_money

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def servers(transactional_db):
    both = [Server(), Server()]
    try:
        for server in both:
            server.start()
        yield both
    finally:
        for server in both:
            server.kill()  # by the process group of its PID; a test server needs no graceful stop


def _open(room: Room) -> bool:
    return getattr(room.ws, "state", None) is websockets.State.OPEN


async def _failover(room: Room, survivor: Server, deadline_s: float = 60) -> None:
    """The client's connection died with its server: reconnect to the survivor with the last seq seen
    (retrying while the handshake fails: polling a server, not waiting for business time)."""
    room.server = survivor
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while True:
        try:
            await room.connect(resume=True)
            return
        except (TimeoutError, OSError, websockets.InvalidHandshake, websockets.ConnectionClosed):
            if loop.time() > end:
                raise
            await asyncio.sleep(0.1)


def test_two_processes_share_one_auction_and_killing_one_loses_nothing(servers):
    a, b = servers
    assert a.proc.pid != b.proc.pid
    world = more_bidders(factories.make_world(), 6)
    auction = live_auction(world)
    cookies = [session_cookie(u) for u in world.bidders]
    inc = auction.increment_fen
    target = 34  # the storm goes on until this seq, well after the kill
    kill_at = 14
    sent: dict[str, dict] = {}  # ref → {"amount", "sends", "answer", "room"}

    async def ping_pong(on_a: list[Room], on_b: list[Room], watchers: list[Room]) -> None:
        """Bidders on A and on B take turns: each bids only once it has seen, through its own process,
        the other process's last accepted bid; every connection sees each bid in the same order."""
        price, first = auction.starting_price_fen, on_a[0].last_seq  # the events before bidding (the start)
        for i in range(6):
            who = (on_a if i % 2 == 0 else on_b)[i // 2 % len(on_a)]
            ref = uuid.uuid4().hex
            sent[ref] = {"amount": price, "sends": 1, "answer": None, "room": who}
            await who.bid(price, ref=ref)
            answer = sent[ref]["answer"] = await who.answer(ref, timeout=60)
            assert answer["accepted"] and answer["seq"] == first + i + 1, answer
            everyone = on_a + on_b + watchers
            await asyncio.gather(*(r.wait_for(lambda x, s=answer["seq"]: x.last_seq >= s, timeout=60)
                                   for r in everyone))
            assert len({tuple(r.history()) for r in everyone}) == 1  # the same history on both processes
            price += inc

    async def bidder(room: Room) -> None:
        floor = 0  # the minimum the last refusal named (the client's state may not show it yet)
        while room.last_seq < target:
            state = room.state or {}
            if state["leader"] == room.number:  # wait to be outbid; its server may die meanwhile
                try:
                    await room.wait_for(lambda r: r.state["leader"] != r.number or r.last_seq >= target, timeout=5)
                except TimeoutError:
                    if not _open(room):
                        await _failover(room, b)
                continue
            ref, amount = uuid.uuid4().hex, max(parse_money(state["minimum"]), floor)
            sent[ref] = {"amount": amount, "sends": 0, "answer": None, "room": room}
            while sent[ref]["answer"] is None:
                try:
                    sent[ref]["sends"] += 1
                    await room.bid(amount, ref=ref)
                    sent[ref]["answer"] = answer = await room.answer(ref, timeout=5)
                    floor = max(floor, parse_money(answer["minimum"]) if answer.get("minimum") else 0)
                except (TimeoutError, websockets.ConnectionClosed):
                    if not _open(room):  # its server is gone: to the survivor
                        await _failover(room, b)

    async def scenario():
        on_a = [await Room(a, auction.pk, c).connect() for c in cookies[:5]]
        on_b = [await Room(b, auction.pk, c).connect() for c in cookies[5:]]
        watch_a, watch_b = await Room(a, auction.pk).connect(), await Room(b, auction.pk).connect()
        await ping_pong(on_a, on_b, [watch_a, watch_b])
        killed = asyncio.Event()

        async def killer():
            await watch_b.wait_for(lambda r: r.last_seq >= kill_at, timeout=120)
            await asyncio.to_thread(a.kill)  # SIGKILL mid-storm; A stays dead
            killed.set()

        async def watcher_on_a():
            await killed.wait()
            await asyncio.wait_for(asyncio.shield(watch_a._reader), 60)  # its reader ends with the connection
            await _failover(watch_a, b)

        await asyncio.gather(killer(), watcher_on_a(), *(bidder(r) for r in on_a + on_b))
        everyone = on_a + on_b + [watch_a, watch_b]
        assert all(r.server is b for r in everyone)  # A's clients are on the survivor now
        await settle(everyone, auction.pk)  # every bid answered: the database's last seq is the end
        # a bid accepted on A before the kill, its answer lost: sent again to B, its original outcome
        early = next(ref for ref, s in sent.items()
                     if s["answer"]["accepted"] and s["answer"]["seq"] <= kill_at and s["room"] in on_a)
        who = sent[early]["room"]
        who.answers.pop(early)
        await who.bid(sent[early]["amount"], ref=early)
        again = await who.answer(early, timeout=60)
        histories = [tuple(r.history()) for r in everyone]
        numbers = ({r.number for r in on_a}, {r.number for r in on_b})
        for r in everyone:
            await r.close()
        return early, again, histories, numbers

    early, again, histories, (numbers_a, numbers_b) = asyncio.run(scenario())
    assert a.proc is None  # killed, never restarted
    assert again["accepted"] and again["code"] == E.REPLAYED and again["replayed"]
    assert again["seq"] == sent[early]["answer"]["seq"]
    auction_row = assert_gap_free(auction.pk)  # gap-free seqs, strictly rising amounts
    truth = tuple(db_history(auction.pk))
    assert auction_row.last_seq >= target
    assert all(h == truth for h in histories)  # everyone, on either process, the database's history, in order
    bids = [e for e in truth if e[1] == "bid"]
    assert {e[2] for e in bids} & numbers_a and {e[2] for e in bids} & numbers_b  # both processes' bidders bid
    assert all(s["answer"] is not None for s in sent.values())  # every bid answered
    in_db = {bid.client_ref: bid for bid in AuctionBid.objects.filter(auction=auction_row)}
    assert len(in_db) == auction_row.bid_count == len(bids)  # no bid twice
    for ref, s in sent.items():
        answer = s["answer"]
        if ref in in_db:  # accepted once, answered with its own seq (re-sent: replayed, never judged again)
            assert answer["accepted"] and answer["seq"] == in_db[ref].seq, (ref, s)
            assert answer["code"] == (E.REPLAYED if answer.get("replayed") else E.OK)
        else:  # a refusal writes nothing
            assert not answer["accepted"] and answer["code"] in (E.TOO_LOW, E.ALREADY_HIGHEST), (ref, s)
    accepted = {ref for ref, s in sent.items() if s["answer"]["accepted"]}
    assert accepted <= set(in_db)  # every bid answered accepted is in the history
