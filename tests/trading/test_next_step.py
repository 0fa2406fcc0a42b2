"""The bidder's next step on a registration (bidding/next_step.py): a table of the journey, then properties
over every combination of facts. Pure: no database."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidding.next_step import ACTIONS, Facts, Step, next_step
from trading import lifecycle

NOW = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=3)
EARLIER = NOW - dt.timedelta(hours=1)
START = NOW + dt.timedelta(days=5)


def facts(**kw: Any) -> Facts:
    base: dict[str, Any] = dict(registration="active", path="tender", lot_status="published", result_known=False,
                                now=NOW, deadline=LATER, security_required=True, security_paid=False)
    base.update(kw)
    return Facts(**base)


TABLE = [  # the journey, one row per moment: facts -> (action, due)
    ("tender: registered, nothing paid", facts(), ("pay", LATER)),
    ("tender: paid, not sealed", facts(security_paid=True), ("seal", LATER)),
    ("tender: no security, not sealed", facts(security_required=False), ("seal", LATER)),
    ("tender: sealed", facts(security_paid=True, envelope=True), ("wait_opening", LATER)),
    ("tender: deadline passed, not yet opened", facts(security_paid=True, envelope=True, deadline=EARLIER,
                                                      lot_status="bidding_closed"), ("wait_opening", EARLIER)),
    ("tender: opened", facts(security_paid=True, envelope=True, deadline=EARLIER, lot_status="opened"),
     ("wait_result", None)),
    ("tender: publicity", facts(security_paid=True, envelope=True, deadline=EARLIER, lot_status="publicity"),
     ("wait_result", None)),
    ("tender: awarded", facts(security_paid=True, envelope=True, deadline=EARLIER, lot_status="awarded",
                              result_known=True), ("result", None)),
    ("tender: deadline passed, never sealed", facts(security_paid=True, deadline=EARLIER, lot_status="bidding_closed"),
     ("missed", None)),
    ("tender: deadline passed, never paid", facts(envelope=True, deadline=EARLIER, lot_status="opened"),
     ("missed", None)),
    ("auction: registered, nothing paid", facts(path="auction"), ("pay", LATER)),
    ("auction: paid, waiting", facts(path="auction", security_paid=True, room_start=START), ("wait_auction", START)),
    ("auction: live", facts(path="auction", security_paid=True, deadline=EARLIER, lot_status="live", room_open=True),
     ("join_auction", None)),
    ("auction: closed", facts(path="auction", security_paid=True, deadline=EARLIER, lot_status="closed",
                              room_closed=True), ("wait_result", None)),
    ("auction: failed", facts(path="auction", security_paid=True, deadline=EARLIER, lot_status="failed",
                              result_known=True), ("result", None)),
    ("auction: never paid", facts(path="auction", deadline=EARLIER, lot_status="auction_scheduled"), ("missed", None)),
    ("listing: open, paid", facts(path="listing", security_paid=True, lot_status="listing", room_open=True),
     ("join_auction", None)),
    ("listing: open, not paid yet", facts(path="listing", lot_status="listing", room_open=True), ("pay", LATER)),
    ("withdrawn", facts(registration="withdrawn", security_paid=True), ("withdrawn", None)),
    ("terminated", facts(lot_status="terminated", result_known=True), ("result", None)),
]


@pytest.mark.parametrize(("name", "given_facts", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_journey_table(name, given_facts, expected):
    step = next_step(given_facts)
    assert (step.action, step.due) == expected


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="unknown next action"):
        Step("dance")


times = st.sampled_from([EARLIER, NOW, LATER, None])
any_facts = st.builds(
    Facts, registration=st.sampled_from(["active", "withdrawn"]), path=st.sampled_from(["tender", "auction", "listing"]),
    lot_status=st.sampled_from(list(lifecycle.STATUSES)), result_known=st.booleans(), now=st.just(NOW),
    deadline=st.sampled_from([EARLIER, NOW, LATER]), security_required=st.booleans(), security_paid=st.booleans(),
    envelope=st.booleans(), room_open=st.booleans(), room_closed=st.booleans(), room_start=times)


@given(any_facts)
def test_one_known_action_always(f):
    assert next_step(f).action in ACTIONS


@given(any_facts)
def test_the_rules_of_the_journey(f):
    step = next_step(f)
    before = f.now < f.deadline
    unpaid = f.security_required and not f.security_paid
    if f.registration == "withdrawn":
        assert step.action == "withdrawn"
        return
    if f.result_known:
        assert step.action == "result"
        return
    # pay only while it can still count, and first: nothing else is offered to an unpaid bidder before the deadline
    assert (step.action == "pay") == (before and unpaid)
    if step.action == "pay":
        assert step.due == f.deadline
    # sealing only on the tender path, before the deadline, with the security in place and no sealed bid yet
    assert (step.action == "seal") == (f.path == "tender" and before and not unpaid and not f.envelope)
    # the room only for sales, and only for a bidder whose security is in place
    if step.action in ("join_auction", "wait_auction"):
        assert f.path != "tender" and not unpaid
    if f.path == "tender":
        assert step.action not in ("join_auction", "wait_auction")
    # after the deadline an unpaid bidder has missed it
    if not before and unpaid:
        assert step.action == "missed"
    # the countdown is never for a moment already past, except the opening that follows a passed deadline
    if step.due is not None and step.action != "wait_opening" and step.action != "wait_auction":
        assert step.due > f.now
