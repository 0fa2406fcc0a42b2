"""The deadline clock: fires lifecycle transitions when their moment has passed.

Exactly once even with several clock processes, and catching up after downtime: each due lot is
handled in its own transaction under a row lock taken with SKIP LOCKED, and the transition's state
guard refuses a second firing.
"""
from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from trading.errors import DomainError
from trading.models import Lot
from trading.lifecycle import LotStatus

log = logging.getLogger(__name__)

SALE_METHODS = ("auction", "listing")
# (status, path, time field, action)
DEADLINES = (
    (LotStatus.PUBLISHED, "tender", "bid_deadline", "close_bidding"),
    (LotStatus.PUBLISHED, "auction", "bid_deadline", "close_registration"),
    (LotStatus.AUCTION_SCHEDULED, "auction", "auction_start", "start_auction"),
    (LotStatus.PUBLISHED, "listing", "listing_start", "start_listing"),
)


def _path_filter(path: str) -> dict:
    if path == "tender":
        return {"project__method__in": [m for m in ("open_tender", "invited_tender", "competitive_negotiation", "inquiry")]}
    return {"project__method": path}


def due(now: dt.datetime) -> list[tuple[int, str, str]]:
    items = []
    for status, path, field, action in DEADLINES:
        ids = Lot.objects.filter(status=status, **{f"{field}__lte": now}, **_path_filter(path)).values_list("id", flat=True)
        items += [(lot_id, status, action) for lot_id in ids]
    return items


def tick(now: dt.datetime | None = None) -> int:
    """Fire every due deadline transition. Returns how many fired.

    After downtime a lot may have passed several deadlines (registration closed *and* auction start):
    rounds repeat until nothing more is due, so one tick catches up completely."""
    now = now or timezone.now()
    fired = 0
    for _ in range(len(DEADLINES) + 1):
        fired_now = _tick_round(now)
        fired += fired_now
        if not fired_now:
            break
    close_finished()
    return fired


def close_finished() -> int:
    """Close every project whose lots are all final and that has no closing event yet."""
    from audit.models import Event
    from trading.lifecycle import FINAL
    from trading.services import close_project

    done = Lot.objects.exclude(status__in=FINAL).values("project_id")
    candidates = set(Lot.objects.filter(status__in=FINAL).exclude(project_id__in=done)
                     .values_list("project_id", flat=True).distinct())
    if not candidates:
        return 0
    closed = set(Event.objects.filter(project_id__in=candidates, action="project.close")
                 .values_list("project_id", flat=True))
    return sum(close_project(project=pid) for pid in sorted(candidates - closed))


def _tick_round(now: dt.datetime) -> int:
    from trading.services import transition_lot

    fired = 0
    for lot_id, status, action in due(now):
        with transaction.atomic():
            lot = Lot.objects.select_for_update(skip_locked=True).filter(pk=lot_id, status=status).first()
            if lot is None:  # another clock has it, or it already moved on
                continue
            try:
                transition_lot(lot=lot, action=action, actor=None)
            except DomainError as exc:  # guard not met (e.g. deadline pushed out meanwhile)
                log.info("deadline %s for lot %s not fired: %s", action, lot_id, exc)
                continue
            fired += 1
    return fired


def run_all_ticks(now: dt.datetime | None = None) -> dict[str, int]:
    """Run every capability's clock tick (settings.SUNLIGHT_CLOCK_TICKS)."""
    results = {}
    for path in settings.SUNLIGHT_CLOCK_TICKS:
        try:
            results[path] = import_string(path)(now) or 0
        except Exception:  # one capability's failure must not stop the others' deadlines
            log.exception("clock tick %s failed", path)
            results[path] = -1
    return results


def complete_contracted(now: dt.datetime | None = None) -> int:
    """Move each contracted lot to complete once every capability says its part is finished
    (settings.SUNLIGHT_COMPLETION_CHECKS: dotted paths, each ``check(lot) -> bool``; deposits: every
    security refunded, converted or forfeited and no refund still on its way). Exactly once, like the
    deadlines: a row lock with SKIP LOCKED and the transition's state guard."""
    from trading.services import transition_lot

    checks = [import_string(path) for path in settings.SUNLIGHT_COMPLETION_CHECKS]
    done = 0
    for lot_id in Lot.objects.filter(status=LotStatus.CONTRACTED).values_list("id", flat=True):
        with transaction.atomic():
            lot = Lot.objects.select_for_update(skip_locked=True).filter(pk=lot_id, status=LotStatus.CONTRACTED).first()
            if lot is None or not all(check(lot) for check in checks):
                continue
            transition_lot(lot=lot, action="complete", actor=None,
                           payload={"checks": list(settings.SUNLIGHT_COMPLETION_CHECKS)})
            done += 1
    return done

