"""Legal periods of a lot's schedule (pure). Returns plain-words errors keyed by field."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from trading.rules import Rule

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    notice_at: dt.datetime
    bid_deadline: dt.datetime  # = opening time for tenders; registration/deposit deadline for auctions
    doc_start: dt.datetime | None = None
    doc_end: dt.datetime | None = None
    objection_deadline: dt.datetime | None = None
    auction_start: dt.datetime | None = None
    listing_start: dt.datetime | None = None
    listing_end: dt.datetime | None = None


def _days(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 86400:.1f}"


def validate_schedule(rule: Rule, s: Schedule) -> dict[str, str]:
    errors: dict[str, str] = {}
    start_of_trading = s.bid_deadline
    if rule.path == "auction":
        if s.auction_start is None:
            errors["auction_start"] = "an auction needs its start time"
        else:
            start_of_trading = s.auction_start
            if s.auction_start < s.bid_deadline:
                errors["auction_start"] = "the auction must start at or after the registration (deposit) deadline"
    if rule.path == "listing":
        if s.listing_start is None or s.listing_end is None:
            errors["listing_start"] = "a listing needs its start and end"
        else:
            start_of_trading = s.listing_start
            if s.listing_end - s.listing_start < rule.listing_min_days * DAY:
                errors["listing_end"] = (
                    f"the listing period must last at least {rule.listing_min_days} days "
                    f"(it lasts {_days(s.listing_end - s.listing_start)}) — {rule.basis.get('listing_min_days', '')}"
                )
            if s.bid_deadline > s.listing_end:
                errors["bid_deadline"] = "the registration (deposit) deadline must not be after the listing end"
    # Tenders count from the day the documents start being issued (招标投标法 art. 24: 自招标文件开始发出之日起),
    # which is the notice at the earliest.
    count_from, counted = s.notice_at, "the notice"
    if rule.path == "tender" and s.doc_start is not None and s.doc_start > s.notice_at:
        count_from, counted = s.doc_start, "the start of the document period"
    if start_of_trading - count_from < rule.min_notice_days * DAY:
        field = {"tender": "bid_deadline", "auction": "auction_start", "listing": "listing_start"}[rule.path]
        errors.setdefault(
            field,
            f"at least {rule.min_notice_days} days must pass between {counted} and "
            f"{'the bid deadline' if rule.path == 'tender' else 'the start of trading'} "
            f"(only {_days(start_of_trading - count_from)} days given) — {rule.basis.get('min_notice_days', '')}",
        )
    if s.bid_deadline <= s.notice_at:
        errors["bid_deadline"] = "the deadline must come after the notice"
    if rule.doc_period_min_days:
        if s.doc_start is None or s.doc_end is None:
            errors["doc_start"] = "the tender document period (start and end) is required"
        else:
            # Documents are released with the notice at the earliest: the period counts from then.
            effective_start = max(s.doc_start, s.notice_at)
            if s.doc_end - effective_start < rule.doc_period_min_days * DAY:
                errors["doc_end"] = (
                    f"the document period must last at least {rule.doc_period_min_days} days — "
                    f"{rule.basis.get('doc_period_min_days', '')}"
                )
            if s.doc_end > s.bid_deadline:
                errors["doc_end"] = "the document period must end by the bid deadline"
    if rule.objection_days_before_deadline and s.objection_deadline is not None:
        latest = s.bid_deadline - rule.objection_days_before_deadline * DAY
        if s.objection_deadline > latest:
            errors["objection_deadline"] = (
                f"objections to the documents must close at least {rule.objection_days_before_deadline} days "
                f"before the bid deadline — {rule.basis.get('objection_days_before_deadline', '')}"
            )
        if s.objection_deadline < s.notice_at:
            errors["objection_deadline"] = "the objection deadline cannot be before the notice"
    return errors


def default_objection_deadline(rule: Rule, bid_deadline: dt.datetime) -> dt.datetime | None:
    if not rule.objection_days_before_deadline:
        return None
    return bid_deadline - rule.objection_days_before_deadline * DAY


def deadline_after_amendment(rule: Rule, *, amended_at: dt.datetime, bid_deadline: dt.datetime) -> dt.datetime:
    """An amendment or clarification less than `amendment_min_days` before the deadline pushes it out
    so that at least that many days remain (招标投标法 art. 23)."""
    if not rule.amendment_min_days:
        return bid_deadline
    earliest = amended_at + rule.amendment_min_days * DAY
    return max(bid_deadline, earliest)
