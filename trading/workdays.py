"""Working days from the official calendar: public holidays and the make-up working days (调休).

The State Council publishes each year's arrangement (国务院办公厅关于部分节假日安排的通知) late in the
year before. The platform's calendar is, in order of precedence:

1. the administrator's override (settings ``SUNLIGHT_HOLIDAYS`` / ``SUNLIGHT_WORKDAYS``);
2. years an administrator loaded (``manage.py load_calendar``, ``trading.models.CalendarYear``) — how
   next year's arrangement gets in before the library catches up;
3. the maintained ``chinesecalendar`` package (pinned in pyproject.toml).

A clock never guesses beyond the known years: counting past them raises ``CalendarUnknown`` (a 409
naming the last known day and how to load the missing year).

``Calendar`` is pure (no database, no settings); ``platform_calendar()`` builds the platform's one.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from trading.errors import Conflict

DAY = dt.timedelta(days=1)


class CalendarUnknown(Conflict):
    """A working-day count ran past the years whose official arrangement is known."""

    code = "calendar_unknown"

    def __init__(self, day: dt.date, known_until: dt.date | None):
        until = f"known only up to {known_until.isoformat()}" if known_until else "not known for that date"
        super().__init__(
            f"the official working-day calendar is {until}: {day.year}'s public holidays and make-up working days "
            f"(调休) are not loaded, so a working-day deadline reaching {day.isoformat()} cannot be computed — an "
            f"administrator loads the State Council's arrangement with `manage.py load_calendar {day.year}`",
            field="calendar",
        )
        self.day = day
        self.known_until = known_until


def _as_dates(values: Iterable[str | dt.date]) -> frozenset[dt.date]:
    return frozenset(v if isinstance(v, dt.date) else dt.date.fromisoformat(v) for v in values)


@dataclass(frozen=True)
class Calendar:
    """Holidays and make-up working days over the known ranges (inclusive); ``known=None``: unbounded
    (weekends and the listed days only — for callers that pass their own lists)."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    known: tuple[tuple[dt.date, dt.date], ...] | None = None

    def knows(self, day: dt.date) -> bool:
        return self.known is None or any(a <= day <= b for a, b in self.known)

    @property
    def known_until(self) -> dt.date | None:
        """The last day of the contiguous known range that contains today's year, else the last known day."""
        if not self.known:
            return None
        return max(b for _, b in self.known)

    def last_known_from(self, day: dt.date) -> dt.date | None:
        """The last day d ≥ day such that every day from `day` to d is known."""
        if self.known is None:
            return None
        end = None
        for a, b in sorted(self.known):
            if end is None:
                if a <= day <= b:
                    end = b
            elif a <= end + DAY:
                end = max(end, b)
        return end

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if not self.knows(day):
            raise CalendarUnknown(day, self.last_known_from(day) or self.known_until)
        return day.weekday() < 5

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The date n working days after `start` (start itself not counted; n = 0 gives start)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day, left = start, n
        while left > 0:
            day += DAY
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie in (start, end] (0 when end ≤ start)."""
        count, day = 0, start
        while day < end:
            day += DAY
            if self.is_working_day(day):
                count += 1
        return count


def merge_ranges(ranges: Iterable[tuple[dt.date, dt.date]]) -> tuple[tuple[dt.date, dt.date], ...]:
    out: list[list[dt.date]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + DAY:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def compose(*, library: tuple[dict[dt.date, bool], int, int] | None, loaded: dict[int, dict[dt.date, bool]],
            override_holidays: Iterable = (), override_workdays: Iterable = ()) -> Calendar:
    """The platform calendar from its three sources (pure). ``library`` = (special days → working?,
    first year, last year); ``loaded`` = year → its special days (replacing the library's for that year);
    the overrides win over both."""
    special: dict[dt.date, bool] = {}
    ranges: list[tuple[dt.date, dt.date]] = []
    if library is not None:
        days, first, last = library
        special.update({d: w for d, w in days.items() if d.year not in loaded})
        ranges.append((dt.date(first, 1, 1), dt.date(last, 12, 31)))
    for year, days in loaded.items():
        special.update(days)
        ranges.append((dt.date(year, 1, 1), dt.date(year, 12, 31)))
    for d in _as_dates(override_holidays):
        special[d] = False
    for d in _as_dates(override_workdays):
        special[d] = True
    return Calendar(
        holidays=frozenset(d for d, w in special.items() if not w),
        workdays=frozenset(d for d, w in special.items() if w),
        known=merge_ranges(ranges),
    )


@lru_cache(maxsize=1)
def library_days() -> tuple[dict[dt.date, bool], int, int]:
    """The chinesecalendar package's special days (holidays on weekdays and weekends alike, make-up
    working days) and the years it covers."""
    from chinese_calendar import constants

    days = {d: False for d in constants.holidays}
    days.update({d: True for d in constants.workdays})
    years = [d.year for d in days]
    return days, min(years), max(years)


def library_year(year: int) -> dict[dt.date, tuple[bool, str]]:
    """One year's special days from the library, with their names (for ``load_calendar --from-library``)."""
    from chinese_calendar import constants

    out = {d: (False, str(name)) for d, name in constants.holidays.items() if d.year == year}
    out.update({d: (True, str(name)) for d, name in constants.workdays.items() if d.year == year})
    return out


_cache: dict[tuple, Calendar] = {}


def platform_calendar() -> Calendar:
    """The platform's calendar (library + loaded years + settings override), rebuilt when a year is loaded."""
    from django.conf import settings
    from django.db.models import Count, Max

    from trading.models import CalendarDay, CalendarYear

    stamp = CalendarYear.objects.aggregate(n=Count("id"), last=Max("loaded_at"))
    key = (stamp["n"], stamp["last"], tuple(settings.SUNLIGHT_HOLIDAYS), tuple(settings.SUNLIGHT_WORKDAYS))
    cal = _cache.get(key)
    if cal is None:
        loaded: dict[int, dict[dt.date, bool]] = {y: {} for y in CalendarYear.objects.values_list("year", flat=True)}
        for d, working, year in CalendarDay.objects.values_list("date", "working", "calendar__year"):
            loaded[year][d] = working
        cal = compose(library=library_days(), loaded=loaded, override_holidays=settings.SUNLIGHT_HOLIDAYS,
                      override_workdays=settings.SUNLIGHT_WORKDAYS)
        _cache.clear()
        _cache[key] = cal
    return cal


def is_working_day(day: dt.date, *, holidays: Iterable | None = None, workdays: Iterable | None = None) -> bool:
    return _calendar(holidays, workdays).is_working_day(day)


def add_working_days(start: dt.date, n: int, *, holidays: Iterable | None = None, workdays: Iterable | None = None) -> dt.date:
    """The date n working days after `start` (start itself not counted). Without lists: the platform's
    official calendar (raises CalendarUnknown past its known years); with lists: weekends and those days."""
    return _calendar(holidays, workdays).add_working_days(start, n)


def working_days_between(start: dt.date, end: dt.date) -> int:
    return platform_calendar().working_days_between(start, end)


def _calendar(holidays: Iterable | None, workdays: Iterable | None) -> Calendar:
    if holidays is None and workdays is None:
        return platform_calendar()
    return Calendar(holidays=_as_dates(holidays or ()), workdays=_as_dates(workdays or ()))
