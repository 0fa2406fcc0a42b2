"""The working-day calendar: official holidays and 调休 make-up days, never guessing past the known years."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.test import override_settings
from hypothesis import given, settings as hsettings, strategies as st

from audit.models import Event
from trading import workdays
from trading.models import CalendarYear
from trading.workdays import Calendar, CalendarUnknown, compose

D = dt.date
LIB = workdays.library_days()
OFFICIAL = compose(library=LIB, loaded={})


def test_national_day_2026_with_make_up_days():
    # 2026: 10-01..10-07 off; Sunday 09-20 and Saturday 10-10 are make-up working days (国办发明电〔2025〕7号).
    assert not OFFICIAL.is_working_day(D(2026, 10, 1))
    assert OFFICIAL.is_working_day(D(2026, 9, 20))  # a Sunday worked
    assert OFFICIAL.is_working_day(D(2026, 10, 10))  # a Saturday worked
    # Tuesday 09-29 + 3 working days: 09-30, (holiday week skipped), 10-08, 10-09
    assert OFFICIAL.add_working_days(D(2026, 9, 29), 3) == D(2026, 10, 9)
    # ... + 4: the make-up Saturday 10-10 counts
    assert OFFICIAL.add_working_days(D(2026, 9, 29), 4) == D(2026, 10, 10)
    assert OFFICIAL.add_working_days(D(2026, 9, 29), 5) == D(2026, 10, 12)


def test_spring_festival_2026():
    # 2026-02-15..02-23 off, Saturday 02-14 and Saturday 02-28 worked.
    assert OFFICIAL.is_working_day(D(2026, 2, 14))
    assert [OFFICIAL.is_working_day(D(2026, 2, d)) for d in range(15, 24)] == [False] * 9
    assert OFFICIAL.add_working_days(D(2026, 2, 13), 2) == D(2026, 2, 24)


def test_past_the_known_years_says_so():
    with pytest.raises(CalendarUnknown) as err:
        OFFICIAL.add_working_days(D(2026, 12, 24), 10)
    assert err.value.status_code == 409 and err.value.code == "calendar_unknown"
    assert "2026-12-31" in err.value.message and "load_calendar 2027" in err.value.message
    # within the year it still answers
    assert OFFICIAL.add_working_days(D(2026, 12, 24), 5) == D(2026, 12, 31)


def test_loaded_year_extends_and_replaces():
    cal = compose(library=LIB, loaded={2027: {D(2027, 1, 1): False, D(2027, 1, 2): False, D(2027, 1, 9): True}})
    assert cal.add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)
    assert cal.is_working_day(D(2027, 1, 9))
    # a loaded year replaces the library's days for that year
    cal = compose(library=LIB, loaded={2026: {}})
    assert cal.is_working_day(D(2026, 10, 1)) is True  # the (empty) loaded year wins
    # the administrator's override wins over both
    cal = compose(library=LIB, loaded={}, override_holidays=["2026-03-03"], override_workdays=["2026-10-01"])
    assert not cal.is_working_day(D(2026, 3, 3)) and cal.is_working_day(D(2026, 10, 1))


# any known day, and often one near the end of the known years (counts from there may run past it)
dates = st.one_of(st.dates(min_value=D(2005, 1, 1), max_value=D(2026, 12, 31)),
                  st.dates(min_value=D(2026, 11, 1), max_value=D(2026, 12, 31)))


def _known_working_days_after(start: dt.date) -> int:
    """How many working days the official calendar knows after ``start`` (to the end of its known range)."""
    until = OFFICIAL.last_known_from(start)
    assert until is not None
    return OFFICIAL.working_days_between(start, until)


@hsettings(max_examples=200, deadline=None)
@given(start=dates, n=st.integers(min_value=0, max_value=25))
def test_add_counts_exactly_n_working_days(start, n):
    # draws near the end of the known years run past it: the count is refused exactly when it would need
    # a working day the calendar does not know (never a guess)
    if n > _known_working_days_after(start):
        with pytest.raises(CalendarUnknown):
            OFFICIAL.add_working_days(start, n)
        return
    end = OFFICIAL.add_working_days(start, n)
    assert end >= start
    assert OFFICIAL.working_days_between(start, end) == n
    if n:
        assert OFFICIAL.is_working_day(end)


@hsettings(max_examples=200, deadline=None)
@given(start=dates, a=st.integers(min_value=0, max_value=15), b=st.integers(min_value=0, max_value=15))
def test_adding_composes(start, a, b):
    # a count that leaves the known years is refused, in one step or in two; inside them the steps compose
    if a + b > _known_working_days_after(start):
        with pytest.raises(CalendarUnknown):
            OFFICIAL.add_working_days(start, a + b)
        with pytest.raises(CalendarUnknown):
            OFFICIAL.add_working_days(OFFICIAL.add_working_days(start, a), b)
        return
    assert OFFICIAL.add_working_days(OFFICIAL.add_working_days(start, a), b) == OFFICIAL.add_working_days(start, a + b)


@hsettings(max_examples=100, deadline=None)
@given(start=st.dates(min_value=D(2000, 1, 1), max_value=D(2030, 1, 1)), n=st.integers(min_value=0, max_value=40),
       hol=st.sets(st.dates(min_value=D(2000, 1, 1), max_value=D(2030, 12, 31)), max_size=30))
def test_unbounded_calendar_matches_a_plain_count(start, n, hol):
    cal = Calendar(holidays=frozenset(hol))
    end = cal.add_working_days(start, n)
    plain = sum(1 for k in range(1, (end - start).days + 1)
                if (d := start + dt.timedelta(days=k)).weekday() < 5 and d not in hol)
    assert plain == n


@hsettings(max_examples=100, deadline=None)
@given(day=st.dates(min_value=D(2027, 1, 1), max_value=D(2100, 1, 1)))
def test_every_unknown_day_is_refused(day):
    with pytest.raises(CalendarUnknown):
        OFFICIAL.is_working_day(day)


@pytest.mark.django_db
def test_load_calendar_command_extends_the_platform_calendar(tmp_path, world):
    with pytest.raises(CalendarUnknown):
        workdays.add_working_days(D(2026, 12, 30), 3)
    f = tmp_path / "2027.json"
    f.write_text(json.dumps({"source": "test arrangement", "holidays": {"2027-01-01": "元旦"},
                             "workdays": ["2027-01-09"]}), encoding="utf-8")
    call_command("load_calendar", "2027", "--file", str(f))
    assert workdays.add_working_days(D(2026, 12, 30), 2) == D(2027, 1, 4)  # 12-31, (01-01 off), 01-04
    assert workdays.is_working_day(D(2027, 1, 9))
    assert Event.objects.filter(action="calendar.load", subject="calendar:2027").count() == 1
    # the settings override still wins
    with override_settings(SUNLIGHT_HOLIDAYS=["2027-01-04"]):
        assert workdays.add_working_days(D(2026, 12, 30), 2) == D(2027, 1, 5)


@pytest.mark.django_db
def test_load_calendar_refuses_bad_files_and_changes_nothing(tmp_path, world):
    from django.core.management.base import CommandError

    f = tmp_path / "bad.json"
    f.write_text(json.dumps({"source": "x", "holidays": [], "workdays": ["2027-01-06"]}), encoding="utf-8")  # a Wednesday
    with pytest.raises(CommandError, match="weekday"):
        call_command("load_calendar", "2027", "--file", str(f))
    f.write_text(json.dumps({"source": "x", "holidays": ["2028-01-01"]}), encoding="utf-8")
    with pytest.raises(CommandError, match="not in 2027"):
        call_command("load_calendar", "2027", "--file", str(f))
    assert not CalendarYear.objects.exists() and not Event.objects.filter(action="calendar.load").exists()
    call_command("load_calendar", "2026", "--from-library")
    assert CalendarYear.objects.get(year=2026).days.filter(working=True).count() == 6
    assert workdays.add_working_days(D(2026, 9, 29), 4) == D(2026, 10, 10)
