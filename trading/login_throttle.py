"""The login throttle's rule, without the database: growing delays per (account, address), a ceiling per address.

Failures are counted per (account, address) — an account is never slowed down by failures from another
address. The first `free` failures cost nothing; from then on every further attempt waits
`base · 2^(failures − free)` after the last failure (1 min, 2 min, 4 min, … up to `cap`). Separately,
one address that fails `address_limit` times within `address_window` (whatever the accounts) is refused
until its failures age out of that window. Nothing is ever locked for good.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    free: int = 5  # failures of one account from one address before delays start
    base: dt.timedelta = dt.timedelta(minutes=1)
    cap: dt.timedelta = dt.timedelta(hours=1)
    address_limit: int = 50  # failures from one address, any accounts, within address_window
    address_window: dt.timedelta = dt.timedelta(minutes=15)


def delay_after(failures: int, limits: Limits) -> dt.timedelta:
    """How long after its last failure an (account, address) pair must wait before the next attempt."""
    if failures < limits.free:
        return dt.timedelta(0)
    steps = failures - limits.free
    if steps >= 32:  # 2^32 minutes is far past any sane cap
        return limits.cap
    return min(limits.base * (2 ** steps), limits.cap)


def wait_for_pair(*, failures: int, last_failure: dt.datetime | None, now: dt.datetime, limits: Limits) -> dt.timedelta:
    """Time left before this (account, address) may try again; zero when it may."""
    if last_failure is None:
        return dt.timedelta(0)
    return max(dt.timedelta(0), last_failure + delay_after(failures, limits) - now)


def wait_for_address(*, failure_times: list[dt.datetime], now: dt.datetime, limits: Limits) -> dt.timedelta:
    """Time left before this address may try again (any account): zero while it is under its ceiling.

    `failure_times` are the address's failures within the window (one per failure, oldest first or not)."""
    recent = sorted(t for t in failure_times if t > now - limits.address_window)
    if len(recent) < limits.address_limit:
        return dt.timedelta(0)
    # refused until enough failures leave the window to bring the count under the ceiling
    oldest_to_leave = recent[len(recent) - limits.address_limit]
    return max(dt.timedelta(0), oldest_to_leave + limits.address_window - now)
