"""Case clocks (pure): end of the last day in Beijing, working days across 调休, and suspensions."""
from __future__ import annotations

import datetime as dt

from hypothesis import given, settings as hsettings, strategies as st

from trading import workdays
from trading.challenges import clocks
from trading.challenges import lifecycle
from trading.rules import CHALLENGE_RULES, Clock
from trading.workdays import compose

CAL = compose(library=workdays.library_days(), loaded={})
UTC = dt.timezone.utc


def bj(y, m, d, h=0, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=clocks.BEIJING)


def test_deadline_ends_at_midnight_beijing():
    # filed Monday 2026-03-02 10:00 Beijing: 3 days → end of Thursday 03-05
    assert clocks.deadline(Clock(3, "days", ""), bj(2026, 3, 2, 10), CAL) == bj(2026, 3, 6)
    # 0 days ("on the spot"): the end of the same day
    assert clocks.deadline(Clock(0, "days", ""), bj(2026, 3, 2, 23, 59), CAL) == bj(2026, 3, 3)


def test_working_days_across_national_day_with_make_up_days():
    # filed Monday 2026-09-28: 7 working days = 09-29, 09-30, 10-08, 10-09, 10-10 (Sat, 调休), 10-12, 10-13
    assert clocks.deadline(Clock(7, "working_days", ""), bj(2026, 9, 28, 15), CAL) == bj(2026, 10, 14)
    # filed on the make-up Sunday 09-20 itself: the day of filing does not count
    assert clocks.deadline(Clock(1, "working_days", ""), bj(2026, 9, 20, 9), CAL) == bj(2026, 9, 22)


def test_resume_keeps_the_time_left():
    due = bj(2026, 3, 10)
    # calendar clocks move by the suspended time
    assert clocks.resumed(due, "days", suspended_at=bj(2026, 3, 4, 12), resumed_at=bj(2026, 3, 6, 12), cal=CAL) \
        == due + dt.timedelta(days=2)
    # a clock already over when suspended stays over
    assert clocks.resumed(due, "days", suspended_at=bj(2026, 3, 11), resumed_at=bj(2026, 3, 20), cal=CAL) == due
    # working days: 3 left (03-05, 03-06, 03-09) when stopped on Wed 03-04; resumed Fri 09-25 → 3 working days
    # from then crosses National Day: 09-28, 09-29, 09-30 → end of 09-30
    due = bj(2026, 3, 10)
    assert clocks.resumed(due, "working_days", suspended_at=bj(2026, 3, 4, 12), resumed_at=bj(2026, 9, 25, 12),
                          cal=CAL) == bj(2026, 10, 1)
    # ... and resumed on 09-30 it runs over the holiday week to the make-up Saturday 10-10
    assert clocks.resumed(due, "working_days", suspended_at=bj(2026, 3, 4, 12), resumed_at=bj(2026, 9, 30, 12),
                          cal=CAL) == bj(2026, 10, 11)


moments = st.datetimes(min_value=dt.datetime(2010, 1, 1), max_value=dt.datetime(2026, 6, 1),
                       timezones=st.just(UTC))


@hsettings(max_examples=150, deadline=None)
@given(start=moments, n=st.integers(0, 25), pause=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=40)),
       offset=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=40)))
def test_working_day_resume_preserves_working_days_left(start, n, pause, offset):
    due = clocks.deadline(Clock(n, "working_days", ""), start, CAL)
    suspended = start + offset
    resumed_at = suspended + pause
    new = clocks.resumed(due, "working_days", suspended_at=suspended, resumed_at=resumed_at, cal=CAL)
    if due <= suspended:
        assert new == due
        return
    left_before = CAL.working_days_between(clocks.local_day(suspended), clocks.local_day(due) - dt.timedelta(days=1))
    left_after = CAL.working_days_between(clocks.local_day(resumed_at), clocks.local_day(new) - dt.timedelta(days=1))
    assert left_before == left_after
    assert new >= due or pause == dt.timedelta(0) or new >= clocks.end_of(clocks.local_day(resumed_at))


@hsettings(max_examples=150, deadline=None)
@given(start=moments, n=st.integers(0, 40), pause=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=40)))
def test_calendar_resume_moves_by_the_pause(start, n, pause):
    due = clocks.deadline(Clock(n, "days", ""), start, CAL)
    assert clocks.resumed(due, "days", suspended_at=start, resumed_at=start + pause, cal=CAL) == due + pause


@hsettings(max_examples=150, deadline=None)
@given(start=moments, n=st.integers(0, 25), unit=st.sampled_from(["days", "working_days"]),
       later=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=60)))
def test_passed_is_the_deadline_compared_with_now_and_needs_no_day_from_today_on(start, n, unit, later):
    clock, now = Clock(n, unit, ""), start + later
    due = clocks.deadline(clock, start, CAL)
    expected = due if now >= due else None
    assert clocks.passed(clock, start, now, CAL) == expected
    # the same answer from a calendar that knows nothing from today on (today's year not loaded yet)
    cut = clocks.local_day(now) - dt.timedelta(days=1)
    assert CAL.known is not None
    short = workdays.Calendar(holidays=CAL.holidays, workdays=CAL.workdays,
                              known=tuple((a, min(b, cut)) for a, b in CAL.known if a <= cut))
    assert clocks.passed(clock, start, now, short) == expected


def test_every_rule_names_its_articles_and_the_lifecycle_is_closed():
    for rule in CHALLENGE_RULES.values():
        assert rule.window_basis
        for clock in (rule.answer, rule.accept, rule.decide, rule.extension, rule.know_within):
            assert clock is None or ("条" in clock.basis and clock.unit in ("days", "working_days"))
        family_actions = {s.action for s in lifecycle.STEPS if rule.family in s.families}
        assert family_actions, rule.kind
        # from "filed" every family can reach a final status
        seen, frontier = {"filed"}, ["filed"]
        while frontier:
            status = frontier.pop()
            for s in lifecycle.STEPS:
                if s.source == status and rule.family in s.families and s.target not in seen:
                    seen.add(s.target)
                    frontier.append(s.target)
        assert seen & lifecycle.FINAL
    challenge, request = CHALLENGE_RULES["procurement_challenge"].answer, CHALLENGE_RULES["disclosure_request"]
    assert challenge is not None and (challenge.n, challenge.unit) == (7, "working_days")
    assert request.answer is not None and request.extension is not None
    assert request.answer.n == 20 and request.extension.n == 20
    assert CHALLENGE_RULES["procurement_complaint"].suspension_max_days == 30
