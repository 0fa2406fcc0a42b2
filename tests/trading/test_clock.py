"""The deadline clock: on time, exactly once, idempotent, catching up after downtime, safe with two clocks."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from audit.models import Event
from tests import factories
from trading import clock as trading_clock
from trading.models import Lot, LotTransition

SECOND = dt.timedelta(seconds=1)


def _projects(world):
    return {
        "tender": factories.make_project(world, "engineering", "open_tender", publish=True),
        "procurement": factories.make_project(world, "procurement", "competitive_negotiation", publish=True),
        "auction": factories.make_project(world, "asset", "auction", publish=True),
        "listing": factories.make_project(world, "land", "listing", publish=True),
    }


@pytest.mark.django_db
def test_fires_on_time_and_only_once(world, clock):
    lot = factories.make_project(world, publish=True).lots.get()
    clock.move_to(lot.bid_deadline - SECOND)
    assert trading_clock.tick() == 0
    lot.refresh_from_db()
    assert lot.status == "published"
    clock.move_to(lot.bid_deadline)
    assert trading_clock.tick() == 1
    lot.refresh_from_db()
    assert lot.status == "bidding_closed"
    transitions, events = LotTransition.objects.count(), Event.objects.count()
    assert trading_clock.tick() == 0  # idempotent: the second tick fires nothing
    clock.advance(hours=1)
    assert trading_clock.tick() == 0
    assert (LotTransition.objects.count(), Event.objects.count()) == (transitions, events)
    row = LotTransition.objects.get(lot=lot, action="close_bidding")
    assert row.actor_id is None and row.at == lot.bid_deadline


@pytest.mark.django_db
def test_catches_up_after_being_down(world, clock):
    projects = _projects(world)
    lots = {name: p.lots.get() for name, p in projects.items()}
    # the clock was down for two months: every deadline (registration, auction start, listing start) passed
    clock.advance(days=60)
    fired = trading_clock.tick()
    for lot in lots.values():
        lot.refresh_from_db()
    assert lots["tender"].status == "bidding_closed"
    assert lots["procurement"].status == "bidding_closed"
    assert lots["auction"].status == "live"  # registration closed, then the auction started
    assert lots["listing"].status == "listing"
    assert fired == 5
    assert trading_clock.tick() == 0
    actions = sorted(LotTransition.objects.filter(actor__isnull=True).values_list("action", flat=True))
    assert actions == ["close_bidding", "close_bidding", "close_registration", "start_auction", "start_listing"]
    # the transitions happened at the catch-up moment, in the legal order
    auction = list(LotTransition.objects.filter(lot=lots["auction"]).order_by("id").values_list("source", "target"))
    assert auction[-2:] == [("published", "auction_scheduled"), ("auction_scheduled", "live")]


@pytest.mark.django_db
def test_run_all_ticks_runs_the_trading_tick(world, clock):
    lot = factories.make_project(world, publish=True).lots.get()
    clock.move_to(lot.bid_deadline + SECOND)
    results = trading_clock.run_all_ticks()
    assert results["trading.clock.tick"] == 1
    assert trading_clock.run_all_ticks()["trading.clock.tick"] == 0


@pytest.mark.django_db(transaction=True)
def test_two_clocks_at_the_same_moment_fire_each_lot_exactly_once(world, clock):
    projects = [factories.make_project(world, publish=True, lots=3) for _ in range(3)]
    projects.append(factories.make_project(world, "asset", "auction", publish=True, lots=2))
    lot_ids = list(Lot.objects.filter(project__in=projects).values_list("id", flat=True))
    assert len(lot_ids) == 11
    clock.move_to(max(Lot.objects.filter(pk__in=lot_ids).values_list("bid_deadline", flat=True)) + SECOND)
    now = clock.now

    workers = 4
    barrier = threading.Barrier(workers)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(trading_clock.tick(now))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == workers
    for lot_id in lot_ids:
        closing = LotTransition.objects.filter(lot_id=lot_id, action__in=("close_bidding", "close_registration"))
        assert closing.count() == 1, f"lot {lot_id} fired {closing.count()} times"
    # the auction lots also passed their auction start: one tick catches up with both deadlines
    starts = LotTransition.objects.filter(lot_id__in=lot_ids, action="start_auction")
    assert starts.count() == 2 and len(set(starts.values_list("lot_id", flat=True))) == 2
    assert sum(results) == len(lot_ids) + 2
    closing_events = [e for e in Event.objects.filter(action="lot.transition")
                      if e.payload["action"] in ("close_bidding", "close_registration")]
    assert len(closing_events) == len(lot_ids)
    assert trading_clock.tick(now) == 0
