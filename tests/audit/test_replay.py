"""Replay from events alone equals the live state, now and at earlier moments (trading section)."""
from __future__ import annotations

import datetime as dt

import pytest

from audit.replay import UnclaimedEvent, replay
from frontend.selectors import project_state, replay_differences, replayed_state
from tests import factories
from trading import services

CASES = [("engineering", "open_tender"), ("procurement", "inquiry"), ("land", "auction"), ("asset", "listing")]


@pytest.mark.parametrize("kind,method", CASES)
def test_replay_equals_live_through_a_project_life(world, clock, core_only, kind, method):
    project = factories.make_project(world, kind, method, lots=2)
    assert replay_differences(project) == []
    assert {lot["status"] for lot in replayed_state(project)["trading"]["lots"].values()} == {"draft"}
    before = clock.now - dt.timedelta(seconds=1)
    notice = services.publish_project(actor=world.staff, project=project)
    services.attach_document(actor=world.staff, notice=notice, name="招标文件.pdf", content=b"%PDF-1.4 test")
    published = clock.now
    clock.advance(days=1)
    lot = project.lots.order_by("number").first()
    assert lot is not None
    services.publish_amendment(actor=world.staff, notice=notice, title="变更", body="延期",
                               new_bid_deadline=lot.bid_deadline + dt.timedelta(days=3))
    assert replay_differences(project) == []
    services.terminate_project(actor=world.staff, project=project, reason="预算取消")
    assert replay_differences(project) == []

    # as of earlier moments: the state then
    assert "trading" not in replayed_state(project, before)
    mid = replayed_state(project, published)["trading"]
    assert {lot["status"] for lot in mid["lots"].values()} == {"published"}
    assert [n["kind"] for n in mid["notices"]] == ["tender"] and len(mid["documents"]) == 1
    now = project_state(project)["trading"]
    assert {lot["status"] for lot in now["lots"].values()} == {"terminated"}
    assert [n["kind"] for n in now["notices"]] == ["tender", "amendment", "termination"]


def test_lot_deadline_transition_replayed(world, clock, core_only):
    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=1))
    services.transition_lot(lot=lot, action="close_bidding")
    state = replayed_state(project)["trading"]
    assert state["lots"][str(lot.pk)]["status"] == "bidding_closed"
    assert replay_differences(project) == []


def test_replay_notices_a_tampered_live_row(world, clock, core_only):
    """The comparison can fail: change the live row behind the services' back."""
    from trading.models import Lot

    project = factories.make_project(world, publish=True)
    title = project.lots.get().title
    Lot.objects.filter(project=project).update(title="changed behind the log's back")
    diffs = replay_differences(project)
    assert diffs and "title" in diffs[0]
    Lot.objects.filter(project=project).update(title=title)  # put it back for the after-test replay check


def test_an_unclaimed_action_fails_loudly_and_order_matters():
    base = {"subject": "lot:1", "project": 1, "actor": {}, "visibility": "public"}
    evs = [
        {**base, "at": "2026-03-02T01:00:00Z", "action": "lot.transition", "payload": {"lot": 1, "to": "published", "action": "publish", "at": "2026-03-02T01:00:00Z"}},
        {**base, "at": "2026-03-03T01:00:00Z", "action": "organisation.create", "payload": {}},  # claimed: NO_STATE
        {**base, "at": "2026-03-04T01:00:00Z", "action": "lot.transition", "payload": {"lot": 1, "to": "bidding_closed", "action": "close_bidding"}},
    ]
    assert replay(evs)["trading"]["lots"]["1"]["status"] == "bidding_closed"
    as_of = dt.datetime(2026, 3, 3, tzinfo=dt.timezone.utc)
    assert replay(evs, as_of=as_of)["trading"]["lots"]["1"]["status"] == "published"
    with pytest.raises(UnclaimedEvent, match="something.else"):
        replay([*evs, {**base, "at": "2026-03-05T01:00:00Z", "action": "something.else", "payload": {}}])


def test_every_app_registers_its_own_reducers():
    """Each app's replay module sits beside its services; audit/replay/ holds the machinery only."""
    from pathlib import Path

    import audit.replay as machinery

    assert sorted(m.rsplit(".", 1)[0] for m in machinery.REGISTERED) == sorted(
        ["trading", "deposits", "bidding", "bidding.envelopes", "bidding.evaluation", "bidding.auction", "supervision",
         "trading.challenges"])
    assert [p.name for p in Path(machinery.__file__).parent.glob("*.py")] == ["__init__.py"]
    for action, fns in machinery.REDUCERS.items():
        for fn in fns:  # a reducer of another app's event is allowed (trading's outcome of awards), never audit's
            assert not fn.__module__.startswith("audit."), (action, fn)
