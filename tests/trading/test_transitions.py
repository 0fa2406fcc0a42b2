"""Every legal and illegal lifecycle transition through trading.services.transition_lot, on PostgreSQL.

To stay fast, each test makes one project with one lot per case (put in its source state by a queryset
.update()) and checks the cases as subtests.
"""
from __future__ import annotations

import pytest

from audit.models import Event
from tests import factories
from tests.trading.conftest import PATH_PROJECT, SECOND, guard_moment, snapshot
from trading import lifecycle
from trading.errors import Conflict, Forbidden, Invalid, NotFound
from trading.models import Lot, LotTransition
from trading.services import transition_lot

pytestmark = pytest.mark.django_db

PATHS = ("tender", "auction", "listing")
PATH_STATUSES = {path: sorted(lifecycle.reachable_statuses(path)) for path in PATHS}


def legal_cases(path: str):
    return [(t, role) for t in lifecycle.TRANSITIONS if path in t.paths and t.source in PATH_STATUSES[path]
            for role in sorted(t.roles)]


def lots_in(world, path: str, statuses: list[str], *, publish: bool = True) -> list[Lot]:
    """One project on `path` with one lot per wanted status (made through the services, moved by .update())."""
    kind, method = PATH_PROJECT[path]
    project = factories.make_project(world, kind, method, lots=len(statuses), publish=publish)
    lots = list(project.lots.order_by("number"))
    for lot, status in zip(lots, statuses, strict=True):
        Lot.objects.filter(pk=lot.pk).update(status=status)
        lot.refresh_from_db()
    return lots


def latest_moment(lot: Lot):
    return max(m for m in (lot.bid_deadline, lot.auction_start, lot.listing_start, lot.listing_end) if m)


def check_applied(lot: Lot, t, actor, now) -> None:
    lot.refresh_from_db()
    assert lot.status == t.target
    rows = list(LotTransition.objects.filter(lot=lot).order_by("id"))
    row = rows[-1]
    assert (row.source, row.action, row.target, row.actor_id) == (t.source, t.action, t.target, actor.pk if actor else None)
    assert row.at == now
    events = list(Event.objects.filter(action="lot.transition", subject=f"lot:{lot.pk}").order_by("id"))
    assert len(events) == len(rows), "one audit event per LotTransition"
    event = events[-1]
    assert event.pk == row.event_id and event.project_id == lot.project_id
    assert (event.payload["from"], event.payload["action"], event.payload["to"]) == (t.source, t.action, t.target)
    assert event.actor_role == (actor.role if actor else "system")


@pytest.mark.parametrize("path", PATHS)
def test_every_legal_transition(world, clock, subtests, path):
    cases = legal_cases(path)
    drafts = [(t, r) for t, r in cases if t.source == "draft"]
    others = [(t, r) for t, r in cases if t.source != "draft"]
    assert drafts and others
    draft_lots = lots_in(world, path, ["draft"] * len(drafts), publish=False)
    for lot, (t, role) in zip(draft_lots, drafts):
        with subtests.test(msg=f"{t.source} -{t.action}-> {t.target} by {role}"):
            transition_lot(lot=lot, action=t.action, actor=world.staff)
            check_applied(lot, t, world.staff, clock.now)
            assert lot.notice_at == clock.now
    lots = lots_in(world, path, [t.source for t, _ in others])
    clock.move_to(max(latest_moment(lot) for lot in lots) + SECOND)  # every time guard has passed
    for lot, (t, role) in zip(lots, others):
        with subtests.test(msg=f"{t.source} -{t.action}-> {t.target} by {role}"):
            before = LotTransition.objects.filter(lot=lot).count()
            actor = world.staff if role == "staff" else None
            result = transition_lot(lot=lot, action=t.action, actor=actor, reason="测试原因" if t.needs_reason else "")
            assert result.status == t.target
            assert LotTransition.objects.filter(lot=lot).count() == before + 1
            check_applied(lot, t, actor, clock.now)


def test_legal_rows_cover_the_table():
    covered = {(t.source, t.action, p) for p in PATHS for t, _ in legal_cases(p)}
    expected = {(t.source, t.action, p) for t in lifecycle.TRANSITIONS for p in t.paths if t.source in PATH_STATUSES[p]}
    assert covered == expected and len(covered) > 40


@pytest.mark.parametrize("path", PATHS)
def test_every_illegal_pair_is_refused_and_changes_nothing(world, clock, forced_states, subtests, path):
    statuses = PATH_STATUSES[path]
    lots = lots_in(world, path, statuses)
    clock.advance(days=400)  # every time guard would pass: only the state decides
    for lot, status in zip(lots, statuses):
        legal = set(lifecycle.available_actions(path=path, status=status))
        illegal = [a for a in lifecycle.ACTIONS if a not in legal] + ["fly_to_the_moon"]
        with subtests.test(msg=status):
            before = snapshot()
            for action in illegal:
                for actor in (world.staff, None):
                    with pytest.raises(Conflict) as info:
                        transition_lot(lot=lot.pk, action=action, actor=actor, reason="r")
                    assert f"that is {status}" in info.value.message, info.value.message
            assert snapshot() == before


@pytest.mark.parametrize("path", PATHS)
def test_system_only_actions_refused_for_people(world, clock, forced_states, subtests, path):
    cases = [t for t, role in legal_cases(path) if t.roles == {"system"}]
    assert cases
    lots = lots_in(world, path, [t.source for t in cases])
    clock.move_to(max(latest_moment(lot) for lot in lots) + SECOND)
    for lot, t in zip(lots, cases):
        with subtests.test(msg=t.action):
            before = snapshot()
            for user in (world.staff, world.other_staff, world.supervisor, world.bidders[0], world.expert, world.admin):
                with pytest.raises(Forbidden, match="only system"):
                    transition_lot(lot=lot, action=t.action, actor=user)
            assert snapshot() == before


@pytest.mark.parametrize("path", PATHS)
def test_staff_actions_refused_for_other_roles_and_other_centres(world, clock, forced_states, subtests, path):
    cases = [t for t, role in legal_cases(path) if role == "staff"]
    lots = lots_in(world, path, [t.source for t in cases])
    clock.move_to(max(latest_moment(lot) for lot in lots) + SECOND)
    for lot, t in zip(lots, cases):
        with subtests.test(msg=f"{t.source}-{t.action}"):
            before = snapshot()
            for user in (world.supervisor, world.bidders[0], world.expert, world.admin):
                with pytest.raises(Forbidden):
                    transition_lot(lot=lot, action=t.action, actor=user, reason="r")
            with pytest.raises(Forbidden, match="another trading centre"):
                transition_lot(lot=lot, action=t.action, actor=world.other_staff, reason="r")
            assert snapshot() == before


@pytest.mark.parametrize("path", PATHS)
def test_too_early_is_refused(world, clock, subtests, path):
    cases = [(t, role) for t, role in legal_cases(path) if t.guard and t.guard != "schedule_valid"]
    assert cases
    lots = lots_in(world, path, [t.source for t, _ in cases])
    for lot, (t, role) in zip(lots, cases):
        with subtests.test(msg=f"{t.source}-{t.action} by {role}"):
            moment = guard_moment(lot, t.guard)
            actor = world.staff if role == "staff" else None
            clock.move_to(moment - SECOND)
            before = snapshot()
            with pytest.raises(Conflict, match="too early"):
                transition_lot(lot=lot, action=t.action, actor=actor, reason="r")
            assert snapshot() == before
            clock.move_to(moment)  # at the moment itself it fires
            assert transition_lot(lot=lot, action=t.action, actor=actor, reason="r").status == t.target


def test_publish_refused_once_the_schedule_is_no_longer_legal(world, clock):
    lot = lots_in(world, "tender", ["draft"], publish=False)[0]
    clock.advance(days=2)  # the planned deadline is now less than 20 days after a notice published today
    before = snapshot()
    with pytest.raises(Invalid, match="at least 20 days"):
        transition_lot(lot=lot, action="publish", actor=world.staff)
    assert snapshot() == before


def test_reason_required(world, clock, forced_states, subtests):
    cases = [("terminate", "published"), ("fail", "bidding_closed"), ("reevaluate", "evaluated")]
    lots = lots_in(world, "tender", [s for _, s in cases])
    for lot, (action, _) in zip(lots, cases):
        with subtests.test(msg=action):
            before = snapshot()
            with pytest.raises(Invalid, match="reason is required"):
                transition_lot(lot=lot, action=action, actor=world.staff, reason="   ")
            assert snapshot() == before


def test_unknown_lot(world):
    with pytest.raises(NotFound):
        transition_lot(lot=10**9, action="publish", actor=world.staff)


def test_extra_payload_cannot_overwrite_the_transition_facts(world, clock):
    lot = lots_in(world, "tender", ["draft"], publish=False)[0]
    transition_lot(lot=lot, action="publish", actor=world.staff, payload={"to": "complete", "from": "x", "note": "n"})
    event = Event.objects.filter(action="lot.transition", subject=f"lot:{lot.pk}").get()
    assert (event.payload["from"], event.payload["to"], event.payload["note"]) == ("draft", "published", "n")
