"""The login throttle's pure rule (trading/login_throttle.py)."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from trading.login_throttle import Limits, delay_after, wait_for_address, wait_for_pair

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)
limits_st = st.builds(
    Limits, free=st.integers(1, 10), base=st.integers(1, 600).map(lambda s: dt.timedelta(seconds=s)),
    cap=st.integers(1, 86400).map(lambda s: dt.timedelta(seconds=s)), address_limit=st.integers(1, 100),
    address_window=st.integers(1, 7200).map(lambda s: dt.timedelta(seconds=s)))


def test_the_default_steps():
    lim = Limits()
    assert [delay_after(n, lim).total_seconds() for n in range(4, 13)] == [0, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@given(limits_st, st.integers(0, 10_000))
def test_delays_never_shrink_and_stay_under_the_cap(lim, n):
    d = delay_after(n, lim)
    assert dt.timedelta(0) <= d <= max(lim.cap, dt.timedelta(0))
    assert delay_after(n + 1, lim) >= d
    assert (d == dt.timedelta(0)) == (n < lim.free)


@given(limits_st, st.integers(0, 50), st.integers(-100_000, 100_000))
def test_a_pair_waits_exactly_its_delay_after_its_last_failure(lim, n, offset):
    last = T0
    now = T0 + dt.timedelta(seconds=offset)
    wait = wait_for_pair(failures=n, last_failure=last, now=now, limits=lim)
    assert wait >= dt.timedelta(0)
    assert (wait > dt.timedelta(0)) == (now < last + delay_after(n, lim))
    assert wait_for_pair(failures=n, last_failure=None, now=now, limits=lim) == dt.timedelta(0)


@given(limits_st, st.lists(st.integers(0, 7200), max_size=120))
def test_an_address_is_refused_only_at_its_ceiling_and_until_it_is_under_it(lim, ages):
    now = T0
    times = [now - dt.timedelta(seconds=a) for a in ages]
    wait = wait_for_address(failure_times=times, now=now, limits=lim)
    recent = [t for t in times if t > now - lim.address_window]
    assert (wait > dt.timedelta(0)) == (len(recent) >= lim.address_limit)
    if wait:  # once the wait is over, the address is under its ceiling again
        later = now + wait
        assert wait_for_address(failure_times=times, now=later, limits=lim) == dt.timedelta(0)
        assert len([t for t in times if t > later - lim.address_window]) < lim.address_limit
