"""Working-day calendar (pure): weekends and configured public holidays are not working days;
configured 调休 weekend days are."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def _as_dates(values: Iterable[str | dt.date]) -> frozenset[dt.date]:
    return frozenset(v if isinstance(v, dt.date) else dt.date.fromisoformat(v) for v in values)


def is_working_day(day: dt.date, *, holidays: Iterable = (), workdays: Iterable = ()) -> bool:
    if day in _as_dates(workdays):
        return True
    if day in _as_dates(holidays):
        return False
    return day.weekday() < 5


def add_working_days(start: dt.date, n: int, *, holidays: Iterable | None = None, workdays: Iterable | None = None) -> dt.date:
    """The date n working days after `start` (start itself not counted)."""
    if holidays is None or workdays is None:
        from django.conf import settings

        holidays = settings.SUNLIGHT_HOLIDAYS if holidays is None else holidays
        workdays = settings.SUNLIGHT_WORKDAYS if workdays is None else workdays
    hol, work = _as_dates(holidays), _as_dates(workdays)
    day, left = start, n
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, holidays=hol, workdays=work):
            left -= 1
    return day
