"""The bid batch's fast path on real PostgreSQL: decided against the state this process last
committed (its head) and written in one round trip that is its own transaction, the first
statement a compare-and-set of the auction row. Whenever the database says the head is stale or a
reference was used, nothing of the attempt remains and the batch is decided under the lock."""
from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.models import Event
from bidding.auction import engine as E
from bidding.auction import services as S
from bidding.auction.models import Auction, AuctionBid, AuctionEvent

from tests.auction.helpers import later, make_auction
from tests.auction.test_race import wait_for_lock_waiter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("one round trip as its own transaction: PostgreSQL")


def bid(user, amount, ref):
    return S.BidRequest(user=user, amount_fen=amount, client_ref=ref)


def rows(a: Auction):
    return (list(AuctionEvent.objects.filter(auction=a).order_by("seq").values_list("seq", "kind")),
            list(AuctionBid.objects.filter(auction=a).order_by("seq").values_list("seq", "client_ref", "amount_fen")),
            [e.payload for e in Event.objects.filter(action="auction.bid").order_by("id")])


def warm(world, clock):
    """An open auction whose head this process knows (one batch decided under the lock), and the
    numbers of three bidders known too (they are read once per process)."""
    a = make_auction(world, clock, open_now=True)
    p = a.starting_price_fen
    first = S.place_bids(auction=a.pk, requests=[bid(u, p, f"w{i}") for i, u in enumerate(world.bidders[:3])])
    assert [x.code for x in first] == [E.OK, E.TOO_LOW, E.TOO_LOW] and first[0].seq == 2
    return a, p, a.increment_fen


def test_a_batch_is_one_round_trip_and_writes_what_the_locked_path_writes(world, clock):
    a, p, inc = warm(world, clock)
    b0, b1, b2 = world.bidders[:3]
    with CaptureQueriesContext(connection) as queries:
        answers = S.place_bids(auction=a.pk, requests=[
            bid(b1, p + inc, "f1"), bid(b2, p + inc, "f2"), bid(b2, p + 3 * inc, "f3"), bid(b0, p, "f4")])
    assert len(queries) == 1, [q["sql"][:80] for q in queries]
    assert queries[0]["sql"].startswith("WITH head AS (UPDATE")
    assert [x.code for x in answers] == [E.OK, E.TOO_LOW, E.OK, E.TOO_LOW]
    assert [x.seq for x in answers if x.accepted] == [3, 4]
    assert answers[1].minimum_fen == p + 2 * inc and answers[3].minimum_fen == p + 4 * inc
    assert answers[0].state["price_fen"] == p + 3 * inc and answers[0].state["seq"] == 4

    events, bids, audited = rows(a)
    assert events == [(1, "opened"), (2, "bid"), (3, "bid"), (4, "bid")]
    assert bids == [(2, "w0", p), (3, "f1", p + inc), (4, "f3", p + 3 * inc)]
    # the same audit payloads as the locked path wrote for the first bid
    assert set(audited[0]) == set(audited[1]) == set(audited[2])
    assert [(x["seq"], x["amount_fen"]) for x in audited] == [(2, p), (3, p + inc), (4, p + 3 * inc)]
    linked = AuctionEvent.objects.filter(auction=a, kind="bid").order_by("seq")
    assert [Event.objects.get(pk=e.audit_event_id).payload["seq"] for e in linked] == [2, 3, 4]
    a.refresh_from_db()
    assert (a.last_seq, a.price_fen, a.bid_count) == (4, p + 3 * inc, 3)
    assert a.leader == answers[2].number


def test_a_stale_head_writes_nothing_and_the_batch_is_decided_under_the_lock(world, clock):
    a, p, inc = warm(world, clock)
    b1 = world.bidders[1]
    S.pause_auction(auction=a.pk, actor=world.staff, reason="system failure")  # seq 3, 4 by other actions
    S.resume_auction(auction=a.pk, actor=world.staff)
    audit_before = Event.objects.count()
    with CaptureQueriesContext(connection) as queries:
        (answer,) = S.place_bids(auction=a.pk, requests=[bid(b1, p + inc, "after-pause")])
    assert queries[0]["sql"].startswith("WITH head AS (UPDATE")  # tried, refused by the database…
    assert any("FOR UPDATE" in q["sql"] for q in queries[1:])  # …then decided under the lock
    assert answer.accepted and answer.seq == 5
    events, bids, _ = rows(a)
    assert [s for s, _ in events] == [1, 2, 3, 4, 5]
    assert bids[-1] == (5, "after-pause", p + inc)
    assert Event.objects.count() == audit_before + 1  # the refused attempt left no audit event
    # and the head is current again: the next batch is one round trip
    with CaptureQueriesContext(connection) as queries:
        (answer,) = S.place_bids(auction=a.pk, requests=[bid(world.bidders[2], p + 2 * inc, "next")])
    assert answer.seq == 6 and len(queries) == 1


def test_a_head_behind_what_the_room_saw_is_not_tried(world, clock):
    a, p, inc = warm(world, clock)
    S.pause_auction(auction=a.pk, actor=world.staff, reason="system failure")
    S.resume_auction(auction=a.pk, actor=world.staff)
    S.seen_seq(a.pk, 4)  # the room's relay saw seq 4
    with CaptureQueriesContext(connection) as queries:
        (answer,) = S.place_bids(auction=a.pk, requests=[bid(world.bidders[1], p + inc, "x")])
    assert answer.seq == 5
    assert not any("auction_expect_head" in q["sql"] for q in queries)


def test_a_used_reference_rolls_the_attempt_back_and_is_refused_as_replayed(world, clock):
    a, p, inc = warm(world, clock)
    b0, b1 = world.bidders[:2]
    S.place_bids(auction=a.pk, requests=[bid(b1, p + inc, "lead")])
    before = rows(a)
    # b0 sends its first reference again at an amount the engine alone would accept
    answers = S.place_bids(auction=a.pk, requests=[bid(b0, p + 3 * inc, "w0")])
    assert [x.code for x in answers] == [E.REPLAYED]
    assert rows(a) == before
    a.refresh_from_db()
    assert (a.last_seq, a.price_fen) == (3, p + inc)


def test_an_outcome_with_side_effects_is_decided_under_the_lock(world, clock):
    a, p, inc = warm(world, clock)
    a.refresh_from_db()
    before = rows(a)
    clock.move_to(a.end_at + later(1))  # the closing is due (the clock closes it; a bid cannot)
    with CaptureQueriesContext(connection) as queries:
        (answer,) = S.place_bids(auction=a.pk, requests=[bid(world.bidders[1], p + inc, "late")])
    assert answer.code == E.CLOSED
    assert not any("auction_expect_head" in q["sql"] for q in queries)
    assert any("FOR UPDATE" in q["sql"] for q in queries)
    assert rows(a) == before


def test_a_batch_waiting_for_a_lock_holder_that_moved_the_auction_is_decided_again(world, clock):
    """Lock order: the compare-and-set is the first statement, so it waits for the row like every
    other action (no deadlock), and when the holder commits a new seq it matches no row."""
    a, p, inc = warm(world, clock)
    result: dict = {}

    def batch_from_elsewhere():
        try:
            result["answers"] = S.place_bids(auction=a.pk, requests=[bid(world.bidders[1], p + inc, "waiting")])
        except BaseException as exc:  # surfaced by the assertions below
            result["error"] = exc
        finally:
            connection.close()

    with transaction.atomic():
        S.pause_auction(auction=a.pk, actor=world.staff, reason="system failure")  # holds the row, seq 3
        racer = threading.Thread(target=batch_from_elsewhere)
        racer.start()
        wait_for_lock_waiter(result)
    racer.join(30)
    assert not racer.is_alive() and "error" not in result, result
    assert [x.code for x in result["answers"]] == [E.PAUSED]  # decided again, against the paused auction
    events, bids, audited = rows(a)
    assert events == [(1, "opened"), (2, "bid"), (3, "paused")] and len(bids) == 1 and len(audited) == 1


def test_the_guard_function_raises_a_serialization_failure():
    from django.db import OperationalError

    with pytest.raises(OperationalError) as info:
        with connection.cursor() as cur:
            cur.execute("SELECT auction_expect_head(0)")
    assert info.value.__cause__.pgcode == "40001"
    with connection.cursor() as cur:
        cur.execute("SELECT auction_expect_head(1)")


def test_the_room_writes_a_batch_on_the_event_loop_and_hands_a_stale_head_to_the_lock(world, clock):
    import asyncio

    from bidding.auction.consumers import _Room

    a, p, inc = warm(world, clock)
    b1, b2 = world.bidders[1:3]
    room = _Room(a.pk)

    async def batch(*requests):
        return await room._on_head(list(requests))

    try:
        answers = asyncio.run(batch(bid(b1, p + inc, "loop1"), bid(b2, p + inc, "loop2")))
        assert [x.code for x in answers] == [E.OK, E.TOO_LOW] and answers[0].seq == 3
        assert answers[1].state["seq"] == 3 and answers[1].minimum_fen == p + 2 * inc
        assert rows(a)[1][-1] == (3, "loop1", p + inc)

        S.pause_auction(auction=a.pk, actor=world.staff, reason="system failure")  # seq 4, elsewhere
        before = rows(a)
        assert asyncio.run(batch(bid(b2, p + 2 * inc, "loop3"))) is None  # refused by the database
        assert rows(a) == before
        assert S._head(a.pk) is None  # the next batch goes straight to the lock
    finally:
        if room.writer is not None:
            room.writer.close()


def test_a_head_adopts_the_row_another_process_committed(world, clock):
    a, p, inc = warm(world, clock)
    S.place_bids(auction=a.pk, requests=[bid(world.bidders[1], p + inc, "elsewhere")])
    behind = S._head(a.pk)
    # another process's batch (here: under the lock, inside a transaction, so this head is not told)
    with transaction.atomic():
        (other,) = S.place_bids(auction=a.pk, requests=[bid(world.bidders[2], p + 2 * inc, "other")])
    assert other.seq == 4
    S._HEADS[a.pk] = behind  # as seen by a process that only hears the group
    fresh = Auction.objects.get(pk=a.pk)
    S.adopt_row(a.pk, {"last_seq": 99})  # not a whole row: ignored
    S.adopt_row(a.pk, S.row_of(behind))  # not newer: ignored
    assert S._head(a.pk).last_seq == 3
    S.adopt_row(a.pk, S.row_of(fresh))
    head = S._head(a.pk)
    assert (head.last_seq, head.price_fen, head.leader, head.end_at) == (4, p + 2 * inc, fresh.leader, fresh.end_at)
    with CaptureQueriesContext(connection) as queries:
        (answer,) = S.place_bids(auction=a.pk, requests=[bid(world.bidders[0], p + 3 * inc, "after")])
    assert answer.seq == 5 and len(queries) == 1  # decided on the adopted head, accepted by the database
