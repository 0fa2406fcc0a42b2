"""Legal clocks of cases (pure): deadlines in calendar or working days, ending at the end of the last day
(Beijing time), and how a suspension moves them.

A period "within n days" starts on the day after the event and ends at 24:00 of its last day (民法典
第二百条、第二百零一条); n = 0 means the same day ("当场"). Working days come from ``trading.workdays.Calendar``.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from trading.rules import Clock
from trading.workdays import Calendar

BEIJING = ZoneInfo("Asia/Shanghai")
DAY = dt.timedelta(days=1)


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(BEIJING).date()


def end_of(day: dt.date) -> dt.datetime:
    """24:00 Beijing time of `day`, in UTC."""
    return dt.datetime.combine(day + DAY, dt.time(0), tzinfo=BEIJING).astimezone(dt.timezone.utc)


def last_day(clock: Clock, start: dt.date, cal: Calendar) -> dt.date:
    if clock.unit == "working_days":
        return cal.add_working_days(start, clock.n)
    return start + clock.n * DAY


def deadline(clock: Clock, start: dt.datetime, cal: Calendar) -> dt.datetime:
    """When a period of `clock` that starts at `start` ends (raises CalendarUnknown past the known years)."""
    return end_of(last_day(clock, local_day(start), cal))


def passed(clock: Clock, start: dt.datetime, now: dt.datetime, cal: Calendar) -> dt.datetime | None:
    """The end of a period of `clock` started at `start` if it has passed at `now`, else None: ``deadline``
    compared with `now`, but counting only the days before today. A period still running today is running
    whatever the days after today turn out to be, so a filing window is judged even when its last day lies in
    a year the calendar does not know yet (raises CalendarUnknown only for an unknown day before today)."""
    if clock.unit != "working_days" or clock.n == 0:
        closes = deadline(clock, start, cal)
        return closes if now >= closes else None
    first, today = local_day(start), local_day(now)
    # the period's last day D is its n-th working day after `first`: today ≤ D exactly when fewer than n
    # working days lie in (first, today - 1]; otherwise D lies before today, where every day is known
    if cal.working_days_between(first, today - DAY) < clock.n:
        return None
    return deadline(clock, start, cal)


def resumed(due: dt.datetime, unit: str, *, suspended_at: dt.datetime, resumed_at: dt.datetime,
            cal: Calendar) -> dt.datetime:
    """A deadline after a suspension from `suspended_at` to `resumed_at`: the time that was left when the
    clock stopped is left again when it restarts. Calendar clocks move by the suspended time; a working-day
    clock keeps the working days it had left (counted from the day it stopped) and ends at the end of a day."""
    if due <= suspended_at:
        return due  # already over when the clock stopped
    if unit != "working_days":
        return due + (resumed_at - suspended_at)
    left = cal.working_days_between(local_day(suspended_at), local_day(due - dt.timedelta(microseconds=1)))
    return end_of(cal.add_working_days(local_day(resumed_at), left))


def remaining(due: dt.datetime | None, now: dt.datetime) -> dict:
    """The countdown a filer sees: seconds left (negative when late) and whole days."""
    if due is None:
        return {"due_at": None, "seconds": None, "days": None, "late": False}
    seconds = int((due - now).total_seconds())
    return {"due_at": due, "seconds": seconds, "days": seconds // 86400 if seconds >= 0 else -((-seconds) // 86400),
            "late": seconds < 0}
