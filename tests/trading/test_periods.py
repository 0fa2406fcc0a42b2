"""Legal periods of a schedule (pure), property-based over the whole rules table."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from trading.periods import DAY, Schedule, deadline_after_amendment, default_objection_deadline, validate_schedule
from trading.rules import RULES, rule_for

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)
rules = st.sampled_from(sorted(RULES)).map(lambda pair: RULES[pair])
notice_times = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2030, 1, 1),
                            timezones=st.just(dt.timezone.utc))
SECOND = dt.timedelta(seconds=1)


def schedule(rule, notice_at: dt.datetime, lead: dt.timedelta, *, listing_days: float | None = None) -> Schedule:
    """A schedule whose only questionable number is `lead` = notice → start of trading."""
    start = notice_at + lead
    kw: dict[str, dt.datetime] = {}
    if rule.doc_period_min_days:
        kw.update(doc_start=notice_at, doc_end=min(start, notice_at + rule.doc_period_min_days * DAY))
    if rule.path == "tender":
        return Schedule(notice_at=notice_at, bid_deadline=start, **kw)
    if rule.path == "auction":
        return Schedule(notice_at=notice_at, bid_deadline=start, auction_start=start, **kw)
    length = (listing_days if listing_days is not None else rule.listing_min_days) * DAY
    return Schedule(notice_at=notice_at, bid_deadline=start + length, listing_start=start, listing_end=start + length, **kw)


START_FIELD = {"tender": "bid_deadline", "auction": "auction_start", "listing": "listing_start"}


@given(rules, notice_times, st.integers(min_value=0, max_value=200 * 86400))
def test_at_least_the_minimum_passes(rule, notice_at, extra_seconds):
    lead = rule.min_notice_days * DAY + dt.timedelta(seconds=extra_seconds)
    if rule.doc_period_min_days:
        assume(lead >= rule.doc_period_min_days * DAY)
    assert validate_schedule(rule, schedule(rule, notice_at, lead)) == {}


@given(rules, notice_times, st.integers(min_value=1, max_value=60 * 86400))
def test_less_than_the_minimum_fails_in_plain_words(rule, notice_at, short_by_seconds):
    lead = rule.min_notice_days * DAY - dt.timedelta(seconds=short_by_seconds)
    assume(lead > SECOND)
    errors = validate_schedule(rule, schedule(rule, notice_at, lead))
    field = START_FIELD[rule.path]
    assert field in errors, errors
    if "at least" in errors[field]:
        assert f"at least {rule.min_notice_days} days" in errors[field]
        assert rule.basis["min_notice_days"] in errors[field]


@pytest.mark.parametrize("pair", sorted(RULES), ids=lambda p: f"{p[0]}-{p[1]}")
def test_exact_boundary(pair):
    rule = RULES[pair]
    exact = schedule(rule, T0, rule.min_notice_days * DAY)
    assert validate_schedule(rule, exact) == {}
    short = schedule(rule, T0, rule.min_notice_days * DAY - SECOND)
    errors = validate_schedule(rule, short)
    assert f"at least {rule.min_notice_days} days" in errors[START_FIELD[rule.path]]


@pytest.mark.parametrize("kind", ["land", "asset"])
@given(days=st.floats(min_value=0.01, max_value=9.99))
def test_listing_shorter_than_ten_days_fails(kind, days):
    rule = rule_for(kind, "listing")
    errors = validate_schedule(rule, schedule(rule, T0, rule.min_notice_days * DAY, listing_days=days))
    assert "listing_end" in errors and "at least 10 days" in errors["listing_end"]


@pytest.mark.parametrize("kind", ["land", "asset"])
def test_listing_of_ten_days_passes(kind):
    rule = rule_for(kind, "listing")
    assert validate_schedule(rule, schedule(rule, T0, rule.min_notice_days * DAY, listing_days=10)) == {}


def test_auction_notice_asset_seven_days_land_twenty():
    asset, land = rule_for("asset", "auction"), rule_for("land", "auction")
    assert validate_schedule(asset, schedule(asset, T0, 7 * DAY)) == {}
    assert "auction_start" in validate_schedule(asset, schedule(asset, T0, 7 * DAY - SECOND))
    assert "auction_start" in validate_schedule(land, schedule(land, T0, 7 * DAY))
    assert validate_schedule(land, schedule(land, T0, 20 * DAY)) == {}


def test_auction_needs_a_start_after_the_registration_deadline():
    rule = rule_for("asset", "auction")
    s = Schedule(notice_at=T0, bid_deadline=T0 + 10 * DAY)
    assert "start time" in validate_schedule(rule, s)["auction_start"]
    s = Schedule(notice_at=T0, bid_deadline=T0 + 10 * DAY, auction_start=T0 + 9 * DAY)
    assert "at or after" in validate_schedule(rule, s)["auction_start"]


def test_listing_needs_start_and_end_and_deadline_inside():
    rule = rule_for("land", "listing")
    assert "listing_start" in validate_schedule(rule, Schedule(notice_at=T0, bid_deadline=T0 + 30 * DAY))
    s = Schedule(notice_at=T0, bid_deadline=T0 + 40 * DAY, listing_start=T0 + 20 * DAY, listing_end=T0 + 30 * DAY)
    assert "bid_deadline" in validate_schedule(rule, s)


def test_tender_document_period():
    rule = rule_for("engineering", "open_tender")
    base = dict(notice_at=T0, bid_deadline=T0 + 25 * DAY)
    assert "doc_start" in validate_schedule(rule, Schedule(**base))
    short = Schedule(**base, doc_start=T0, doc_end=T0 + 5 * DAY - SECOND)
    assert "at least 5 days" in validate_schedule(rule, short)["doc_end"]
    # a document period starting before the notice only counts from the notice
    early = Schedule(**base, doc_start=T0 - 3 * DAY, doc_end=T0 + 4 * DAY)
    assert "doc_end" in validate_schedule(rule, early)
    late = Schedule(**base, doc_start=T0, doc_end=T0 + 26 * DAY)
    assert "by the bid deadline" in validate_schedule(rule, late)["doc_end"]
    assert validate_schedule(rule, Schedule(**base, doc_start=T0, doc_end=T0 + 5 * DAY)) == {}


def test_objection_deadline():
    rule = rule_for("engineering", "open_tender")
    base = dict(notice_at=T0, bid_deadline=T0 + 25 * DAY, doc_start=T0, doc_end=T0 + 6 * DAY)
    assert default_objection_deadline(rule, T0 + 25 * DAY) == T0 + 15 * DAY
    assert validate_schedule(rule, Schedule(**base, objection_deadline=T0 + 15 * DAY)) == {}
    late = validate_schedule(rule, Schedule(**base, objection_deadline=T0 + 15 * DAY + SECOND))
    assert "10 days before the bid deadline" in late["objection_deadline"]
    before = validate_schedule(rule, Schedule(**base, objection_deadline=T0 - SECOND))
    assert "before the notice" in before["objection_deadline"]
    assert default_objection_deadline(rule_for("asset", "auction"), T0) is None


def test_deadline_before_notice_refused():
    rule = rule_for("engineering", "open_tender")
    errors = validate_schedule(rule, Schedule(notice_at=T0, bid_deadline=T0 - DAY, doc_start=T0, doc_end=T0))
    assert errors["bid_deadline"] == "the deadline must come after the notice"


@given(rules, notice_times, st.integers(min_value=0, max_value=40 * 86400), st.integers(min_value=0, max_value=40 * 86400))
def test_amendment_pushes_the_deadline_only_when_too_close(rule, amended_at, remaining_seconds, extra):
    deadline = amended_at + dt.timedelta(seconds=remaining_seconds)
    new = deadline_after_amendment(rule, amended_at=amended_at, bid_deadline=deadline)
    n = rule.amendment_min_days * DAY
    if rule.amendment_min_days and deadline - amended_at < n:
        assert new == amended_at + n
    else:
        assert new == deadline
    assert new >= deadline
    if rule.amendment_min_days:
        assert new - amended_at >= n


@pytest.mark.parametrize("kind", ["engineering", "procurement"])
def test_amendment_fifteen_days_for_open_tenders(kind):
    rule = rule_for(kind, "open_tender")
    deadline = T0 + 20 * DAY
    assert deadline_after_amendment(rule, amended_at=T0 + 5 * DAY, bid_deadline=deadline) == deadline
    assert deadline_after_amendment(rule, amended_at=T0 + 5 * DAY + SECOND, bid_deadline=deadline) == T0 + 20 * DAY + SECOND
    assert deadline_after_amendment(rule, amended_at=T0 + 19 * DAY, bid_deadline=deadline) == T0 + 34 * DAY


def test_amendment_of_a_sale_does_not_move_the_deadline():
    rule = rule_for("asset", "auction")
    assert rule.amendment_min_days == 0
    assert deadline_after_amendment(rule, amended_at=T0, bid_deadline=T0 + DAY) == T0 + DAY


@pytest.mark.parametrize("pair", sorted(p for p, r in RULES.items() if r.path == "tender"), ids=lambda p: f"{p[0]}-{p[1]}")
def test_tender_period_counts_from_the_release_of_the_documents(pair):
    """招标投标法 art. 24: from the day the documents start being issued — a late document start shortens it."""
    rule = RULES[pair]
    n = rule.min_notice_days * DAY
    doc = max(rule.doc_period_min_days, 1) * DAY
    late = Schedule(notice_at=T0, doc_start=T0 + 3 * DAY, doc_end=T0 + 3 * DAY + doc, bid_deadline=T0 + n)
    errors = validate_schedule(rule, late)
    assert "between the start of the document period and the bid deadline" in errors["bid_deadline"]
    ok = Schedule(notice_at=T0, doc_start=T0 + 3 * DAY, doc_end=T0 + 3 * DAY + doc, bid_deadline=T0 + 3 * DAY + n)
    assert validate_schedule(rule, ok) == {}
    early = Schedule(notice_at=T0, doc_start=T0 - 3 * DAY, doc_end=T0 + doc, bid_deadline=T0 + n)
    assert validate_schedule(rule, early) == {}  # documents ready before the notice: count from the notice
