"""The transition table (pure): reachability, dead ends, determinism, messages."""
from __future__ import annotations

import pytest

from trading import clock, lifecycle
from trading.errors import Conflict, Forbidden
from trading.lifecycle import FINAL, STATUSES, TRANSITIONS, available_actions, check_role, find_transition, reachable_statuses

PATH_STATUSES = {
    "tender": {"draft", "published", "bidding_closed", "opened", "evaluated", "publicity", "awarded", "contracted",
               "complete", "failed", "terminated"},
    "auction": {"draft", "published", "auction_scheduled", "live", "closed", "awarded", "contracted", "complete",
                "failed", "terminated"},
    "listing": {"draft", "published", "listing", "live", "closed", "awarded", "contracted", "complete", "failed",
                "terminated"},
}


@pytest.mark.parametrize("path", sorted(PATH_STATUSES))
def test_every_status_of_a_path_is_reachable(path):
    assert reachable_statuses(path) == PATH_STATUSES[path]


def test_every_status_is_on_some_path():
    assert set().union(*PATH_STATUSES.values()) == set(STATUSES)


@pytest.mark.parametrize("path", sorted(PATH_STATUSES))
def test_no_dead_ends_and_finals_are_final(path):
    for status in PATH_STATUSES[path]:
        actions = available_actions(path=path, status=status)
        if status in FINAL:
            assert actions == [], status
        else:
            assert actions, f"{status} on {path} has no way out"
            if status != "draft":
                assert "terminate" in actions


@pytest.mark.parametrize("path", sorted(PATH_STATUSES))
def test_complete_is_reachable_from_every_live_state(path):
    """Nothing gets stuck: every non-final state can still end in complete, failed or terminated."""
    for status in PATH_STATUSES[path] - FINAL:
        seen, frontier = {status}, [status]
        while frontier:
            s = frontier.pop()
            for t in TRANSITIONS:
                if t.source == s and path in t.paths and t.target not in seen:
                    seen.add(t.target)
                    frontier.append(t.target)
        assert seen & FINAL


def test_table_is_deterministic():
    keys = [(t.source, t.action, p) for t in TRANSITIONS for p in t.paths]
    assert len(keys) == len(set(keys))


def test_rows_are_well_formed():
    for t in TRANSITIONS:
        assert t.source in STATUSES and t.target in STATUSES
        assert t.roles and t.roles <= {"staff", "system"}, t
        assert t.paths and t.paths <= {"tender", "auction", "listing"}
        assert t.source not in FINAL
        if t.action in ("terminate", "fail", "reevaluate"):
            assert t.needs_reason


def test_publish_checks_the_schedule_and_deadlines_are_guarded():
    assert find_transition(path="tender", status="draft", action="publish").guard == "schedule_valid"
    assert find_transition(path="tender", status="published", action="close_bidding").guard == "bid_deadline_passed"
    assert find_transition(path="auction", status="auction_scheduled", action="start_auction").guard == "auction_start_passed"
    assert find_transition(path="listing", status="published", action="start_listing").guard == "listing_start_passed"


def test_clock_deadlines_are_system_transitions():
    for status, path, field, action in clock.DEADLINES:
        t = find_transition(path=path, status=status, action=action)
        assert "system" in t.roles
        assert t.guard == f"{field}_passed"


ILLEGAL = [
    (path, status, action)
    for path, statuses in sorted(PATH_STATUSES.items())
    for status in sorted(statuses)
    for action in lifecycle.ACTIONS
    if action not in available_actions(path=path, status=status)
]


@pytest.mark.parametrize("path, status, action", ILLEGAL)
def test_illegal_pairs_name_the_current_state(path, status, action):
    with pytest.raises(Conflict) as info:
        find_transition(path=path, status=status, action=action)
    message = info.value.message
    assert f"that is {status}" in message
    assert action.replace("_", " ") in message
    allowed = available_actions(path=path, status=status)
    if allowed:
        assert all(a in message for a in allowed)
    else:
        assert "no further action" in message


def test_check_role():
    t = find_transition(path="tender", status="published", action="close_bidding")
    check_role(t, "system")
    for role in ("staff", "bidder", "supervisor", "expert", "admin", "public"):
        with pytest.raises(Forbidden, match="only system may close bidding"):
            check_role(t, role)
    t = find_transition(path="tender", status="draft", action="publish")
    with pytest.raises(Forbidden):
        check_role(t, "system")


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.sampled_from(sorted(PATH_STATUSES)), st.lists(st.sampled_from(lifecycle.ACTIONS), max_size=40))
def test_random_walks_stay_on_their_path(path, actions):
    """Any sequence of actions, applied where legal and refused (with the state named) where not, keeps the
    lot on its path; once final, everything is refused."""
    status = "draft"
    for action in actions:
        try:
            t = find_transition(path=path, status=status, action=action)
        except Conflict as exc:
            assert f"that is {status}" in exc.message
            continue
        assert status not in FINAL
        status = t.target
        assert status in PATH_STATUSES[path]
