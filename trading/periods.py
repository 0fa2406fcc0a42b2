"""Legal periods of a lot's schedule (pure). Returns plain-words errors keyed by field: each a ``Problem``, the
English sentence (a ``str``) with its stable ``code`` and the values as ``params`` for the edge's translation
(trading/messages.py ``SCHEDULE``)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

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


class Problem(str):
    """One schedule error: the English sentence, with ``code`` and ``params`` (the convention of
    ``trading.coded.CodedError``, for a value rather than an exception)."""

    code: str
    params: dict[str, Any]

    def __new__(cls, template: str, *, code: str, **params: Any) -> Problem:
        self = super().__new__(cls, template % params if params else template)
        self.code, self.params = code, params
        return self


def validate_schedule(rule: Rule, s: Schedule) -> dict[str, Problem]:
    errors: dict[str, Problem] = {}
    start_of_trading = s.bid_deadline
    if rule.path == "auction":
        if s.auction_start is None:
            errors["auction_start"] = Problem("an auction needs its start time", code="auction_start_missing")
        else:
            start_of_trading = s.auction_start
            if s.auction_start < s.bid_deadline:
                errors["auction_start"] = Problem(
                    "the auction must start at or after the registration (deposit) deadline", code="auction_start_early")
    if rule.path == "listing":
        if s.listing_start is None or s.listing_end is None:
            errors["listing_start"] = Problem("a listing needs its start and end", code="listing_missing")
        else:
            start_of_trading = s.listing_start
            if s.listing_end - s.listing_start < rule.listing_min_days * DAY:
                errors["listing_end"] = Problem(
                    "the listing period must last at least %(days)s days (it lasts %(lasts)s) — %(basis)s",
                    code="listing_short", days=rule.listing_min_days, lasts=_days(s.listing_end - s.listing_start),
                    basis=rule.basis.get("listing_min_days", ""))
            if s.bid_deadline > s.listing_end:
                errors["bid_deadline"] = Problem("the registration (deposit) deadline must not be after the listing end",
                                                 code="deadline_after_listing")
    # Tenders count from the day the documents start being issued (招标投标法 art. 24: 自招标文件开始发出之日起),
    # which is the notice at the earliest.
    count_from, from_documents = s.notice_at, False
    if rule.path == "tender" and s.doc_start is not None and s.doc_start > s.notice_at:
        count_from, from_documents = s.doc_start, True
    if start_of_trading - count_from < rule.min_notice_days * DAY:
        field = {"tender": "bid_deadline", "auction": "auction_start", "listing": "listing_start"}[rule.path]
        given = {"days": rule.min_notice_days, "given": _days(start_of_trading - count_from),
                 "basis": rule.basis.get("min_notice_days", "")}
        if rule.path != "tender":
            problem = Problem("at least %(days)s days must pass between the notice and the start of trading (only "
                              "%(given)s days given) — %(basis)s", code="notice_trading", **given)
        elif from_documents:
            problem = Problem("at least %(days)s days must pass between the start of the document period and the bid "
                              "deadline (only %(given)s days given) — %(basis)s", code="documents_deadline", **given)
        else:
            problem = Problem("at least %(days)s days must pass between the notice and the bid deadline (only "
                              "%(given)s days given) — %(basis)s", code="notice_deadline", **given)
        errors.setdefault(field, problem)
    if s.bid_deadline <= s.notice_at:
        errors["bid_deadline"] = Problem("the deadline must come after the notice", code="deadline_before_notice")
    if rule.doc_period_min_days:
        if s.doc_start is None or s.doc_end is None:
            errors["doc_start"] = Problem("the tender document period (start and end) is required",
                                          code="documents_missing")
        else:
            # Documents are released with the notice at the earliest: the period counts from then.
            effective_start = max(s.doc_start, s.notice_at)
            if s.doc_end - effective_start < rule.doc_period_min_days * DAY:
                errors["doc_end"] = Problem("the document period must last at least %(days)s days — %(basis)s",
                                            code="documents_short", days=rule.doc_period_min_days,
                                            basis=rule.basis.get("doc_period_min_days", ""))
            if s.doc_end > s.bid_deadline:
                errors["doc_end"] = Problem("the document period must end by the bid deadline", code="documents_late")
    if rule.objection_days_before_deadline and s.objection_deadline is not None:
        latest = s.bid_deadline - rule.objection_days_before_deadline * DAY
        if s.objection_deadline > latest:
            errors["objection_deadline"] = Problem(
                "objections to the documents must close at least %(days)s days before the bid deadline — %(basis)s",
                code="objections_late", days=rule.objection_days_before_deadline,
                basis=rule.basis.get("objection_days_before_deadline", ""))
        if s.objection_deadline < s.notice_at:
            errors["objection_deadline"] = Problem("the objection deadline cannot be before the notice",
                                                   code="objections_early")
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
