"""Two batches racing for one auction on real PostgreSQL connections: the second waits for the
auction's row lock, and its read (taken once the lock is held) sees the first batch: a reference
used there is answered ``replayed`` with that bid's original outcome, without any rollback."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from audit.models import Event
from bidding.auction import engine as E
from bidding.auction import services as S
from bidding.auction.models import AuctionBid, AuctionEvent

from tests.auction.helpers import make_auction

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_lock_waiter(result: dict, timeout_s: float = 10) -> None:
    """Until another backend waits for a row lock (polling another thread's progress, not business time)."""
    deadline = time.monotonic() + timeout_s
    with connections["default"].cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is cached
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            if cur.fetchone()[0]:
                return
            assert "error" not in result, result["error"]
            time.sleep(0.01)
    raise AssertionError("the second batch never waited for the auction's lock")


def test_replay_committed_while_waiting_for_the_lock_gets_its_original_answer(world, clock):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent connections: PostgreSQL")
    a = make_auction(world, clock, open_now=True)
    b0, b1, b2 = world.bidders[:3]
    p, inc = a.starting_price_fen, a.increment_fen
    result: dict = {}

    def replay_from_elsewhere():
        try:
            # b0 replays its reference "r" at an amount the engine would accept after the first batch
            result["answers"] = S.place_bids(auction=a.pk, requests=[
                S.BidRequest(user=b0, amount_fen=p + 3 * inc, client_ref="r"),
                S.BidRequest(user=b2, amount_fen=p + 4 * inc, client_ref="fresh"),
            ])
        except BaseException as exc:  # surfaced by the assertions below
            result["error"] = exc
        finally:
            connection.close()

    with transaction.atomic():
        first = S.place_bids(auction=a.pk, requests=[
            S.BidRequest(user=b0, amount_fen=p, client_ref="r"),
            S.BidRequest(user=b1, amount_fen=p + inc, client_ref="s"),
        ])
        assert [x.code for x in first] == [E.OK, E.OK]
        racer = threading.Thread(target=replay_from_elsewhere)
        racer.start()
        wait_for_lock_waiter(result)  # its read of the references is taken before this batch commits
    racer.join(30)
    assert not racer.is_alive()

    assert [x.code for x in result["answers"]] == [E.REPLAYED, E.OK]
    assert (result["answers"][0].seq, result["answers"][0].amount_fen) == (2, p)  # the original outcome
    assert result["answers"][1].seq == 4
    bids = list(AuctionBid.objects.filter(auction=a).order_by("seq").values_list("seq", "client_ref", "amount_fen"))
    assert bids == [(2, "r", p), (3, "s", p + inc), (4, "fresh", p + 4 * inc)]
    assert list(AuctionEvent.objects.filter(auction=a).values_list("seq", flat=True)) == [1, 2, 3, 4]
    audited = list(Event.objects.filter(action="auction.bid").order_by("id").values_list("id", flat=True))
    assert len(audited) == 3 and audited[2] == audited[1] + 1  # nothing was written and rolled back
