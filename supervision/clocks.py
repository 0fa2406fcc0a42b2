"""Watched clocks (yellow / red cards): the pure card rule and the registry other apps contribute to.

A *watched clock* is one legal or platform deadline (candidate publicity within 3 days of the report,
contract within 30 days of the award, refund within 5 working days …). Its provider reads the
database and returns the *watches* that are open now: one per lot / refund / objection whose step is
not done yet. ``card(watch, clock, now)`` is the whole rule: nothing before ``due - yellow_before``,
a yellow card from then on, a red card once ``due`` has passed with the step still open.

Other apps contribute clocks without touching this app: a module that defines ``CLOCKS`` (a list of
``WatchedClock``) is named in ``settings.SUNLIGHT_WATCHED_CLOCKS``. A project that is suspended stops
its clocks: every callable named in ``settings.SUNLIGHT_SUSPENDED_PROJECTS`` returns the ids of the
projects suspended at ``now``; their watches raise nothing (a provider that knows the suspension's
length should also move ``due`` out by it).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Watch:
    """One open step on one clock."""

    subject: str  # what is late: "lot:12", "refund:5", "objection:3"
    due: dt.datetime
    project_id: int | None = None
    lot_id: int | None = None
    started: dt.datetime | None = None
    secret_until: dt.datetime | None = None  # the card names who registered/paid/bid: shown from then on
    detail: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class WatchedClock:
    name: str
    label: str  # 中文
    label_en: str
    basis: str  # the rule and its legal (or platform) basis
    yellow_before: dt.timedelta
    watches: Callable[[dt.datetime], Iterable[Watch]] = field(compare=False, hash=False)


def card(watch: Watch, clock: WatchedClock, now: dt.datetime) -> str | None:
    """"red" past the limit, "yellow" near it, else None (the step is still open)."""
    if now > watch.due:
        return "red"
    if now >= watch.due - clock.yellow_before:
        return "yellow"
    return None


def registry() -> list[WatchedClock]:
    """Every watched clock of every app (settings.SUNLIGHT_WATCHED_CLOCKS), names unique."""
    out: dict[str, WatchedClock] = {}
    for path in getattr(settings, "SUNLIGHT_WATCHED_CLOCKS", ["supervision.watches.CLOCKS"]):
        for clock in import_string(path):
            if clock.name in out:
                raise ValueError(f"two watched clocks are named {clock.name!r}")
            out[clock.name] = clock
    return list(out.values())


def suspended_projects(now: dt.datetime) -> set[int]:
    ids: set[int] = set()
    for path in getattr(settings, "SUNLIGHT_SUSPENDED_PROJECTS", []):
        ids |= set(import_string(path)(now))
    return ids
