"""The one time format (audit.timestamps): UTC, ends in Z, round-trips, whatever zone the moment came in."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from audit import timestamps

zones = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))])


@given(st.datetimes(min_value=dt.datetime(1000, 1, 2), timezones=zones))
def test_every_format_is_utc_with_z_and_round_trips(moment):
    for text in (timestamps.iso(moment), timestamps.iso_z(moment), timestamps.iso_micro(moment)):
        assert text.endswith("Z") and "+" not in text
        assert timestamps.parse(text) == moment
    seconds = timestamps.iso_seconds(moment)
    assert seconds.endswith("Z") and len(seconds) == 20
    assert timestamps.parse(seconds) == moment.replace(microsecond=0)
    assert len(timestamps.iso_micro(moment)) == 27


def test_none_stays_none():
    assert timestamps.iso(None) is None and timestamps.iso_seconds(None) is None
