"""The demo loads whatever the date: for years its dates reach that the official calendar does not know yet,
it loads a placeholder named as such (never for a year the calendar knows); the platform's own clocks still
refuse to count past the known years."""
from __future__ import annotations

import datetime as dt

import pytest

from audit.models import Event
from frontend.demo import DEMO_CALENDAR_SOURCE, ensure_demo_calendar
from trading import workdays
from trading.models import CalendarYear

pytestmark = pytest.mark.django_db


def test_a_year_past_the_known_ones_gets_a_placeholder_named_as_such():
    today = dt.date(2199, 12, 20)  # the demo's furthest deadline falls in 2200
    with pytest.raises(workdays.CalendarUnknown):
        workdays.add_working_days(today, 20)
    assert ensure_demo_calendar(today) == [2199, 2200]
    loaded = {c.year: c for c in CalendarYear.objects.all()}
    assert set(loaded) == {2199, 2200}
    assert all(c.source == DEMO_CALENDAR_SOURCE for c in loaded.values())
    assert "not the State Council's arrangement" in DEMO_CALENDAR_SOURCE
    assert sorted(d.isoformat() for d in loaded[2200].days.filter(working=False).values_list("date", flat=True)) == [
        "2200-01-01", "2200-05-01", "2200-05-02", "2200-10-01", "2200-10-02", "2200-10-03"]
    # counting now works: New Year's Day and the weekends are skipped
    assert workdays.add_working_days(dt.date(2199, 12, 31), 1) == dt.date(2200, 1, 2)  # 1 Jan 2200 is a Wednesday
    # loading it is an audit event like any administrator's load, its source in the log
    events = Event.objects.filter(action="calendar.load").order_by("id")
    assert [e.payload["year"] for e in events] == [2199, 2200]
    assert all(e.payload["source"] == DEMO_CALENDAR_SOURCE for e in events)
    assert ensure_demo_calendar(today) == []  # known now: nothing loaded twice
    assert CalendarYear.objects.count() == 2


def test_nothing_is_loaded_for_years_the_official_calendar_knows():
    days, first, last = workdays.library_days()
    today = dt.date(last, 6, 1)  # 40 days back and 180 ahead stay within the library's last year
    assert ensure_demo_calendar(today) == []
    assert not CalendarYear.objects.exists()
    assert not Event.objects.filter(action="calendar.load").exists()
