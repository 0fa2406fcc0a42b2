"""Comprehensive scoring through the services, committee decisions, objections, withdrawal, refusal, tick, replay."""
from __future__ import annotations

import pytest

from audit.models import Event
from bidding.evaluation import scoring
from bidding.evaluation import services as ev
from bidding.evaluation.models import Award, Candidate, Evaluation
from trading.challenges import clocks
from trading.challenges import services as cases
from trading.challenges.models import Case
from bidding.evaluation.selectors import award_for
from tests.evaluation.conftest import DAY, draw_committee, members, open_lot, pass_all
from tests.evaluation.test_services import COMPREHENSIVE_PLAN, snapshot, unchanged
from trading.errors import Conflict, Forbidden, Invalid
from trading.models import Notice

pytestmark = pytest.mark.django_db


def to_publicity(ew, clock, prices, **kw):
    lot = open_lot(ew, clock, prices, **kw)
    draw_committee(ew, lot)
    ev.start_evaluation(actor=ew.world.staff, lot=lot)
    pass_all(ew, lot)
    ev.report_evaluation(actor=ew.world.staff, lot=lot)
    ev.publish_candidates(actor=ew.world.staff, lot=lot)
    lot.refresh_from_db()
    return lot


def file_objection(*, actor, lot, text):
    return cases.file_case(actor=actor, kind="candidate_objection", lot=lot, subject=text[:60], text=text)


def answer_objection(*, actor, objection, uphold, answer):
    return cases.answer_case(actor=actor, case=objection, outcome="upheld" if uphold else "dismissed", answer=answer)


def test_comprehensive_hand_worked_through_services(ew, clock):
    world = ew.world
    orgs = world.bidder_orgs
    lot = open_lot(ew, clock, [1_000_000, 900_000, 1_200_000], method="comprehensive", plan=COMPREHENSIVE_PLAN)
    draw_committee(ew, lot)
    ev.start_evaluation(actor=world.staff, lot=lot)
    pass_all(ew, lot, scores={
        orgs[0].pk: {"technical": ["28", "27", "26", "25", "29"], "business": ["8"] * 5},
        orgs[1].pk: {"technical": ["20", "21", "22", "19", "18"], "business": ["9"] * 5},
        orgs[2].pk: {"technical": ["30", "29", "28", "30", "28"], "business": ["10", "9", "9", "10", "7"]},
    })
    e = ev.report_evaluation(actor=world.staff, lot=lot)
    # price scores 54 / 60 / 45; totals 89 / 89 / 83; the tie goes to the lower price (declared rule)
    ranking = e.report["ranking"]
    assert [(r["bidder"], r["total"], r["tie_broken_by"]) for r in ranking] == [
        (orgs[1].pk, "89", None), (orgs[0].pk, "89", "price"), (orgs[2].pk, "83", None)]
    assert ranking[1]["scores"] == {"business": "8", "price": "54", "technical": "27"}
    assert [c.bidder_id for c in e.candidates.order_by("rank")] == [orgs[1].pk, orgs[0].pk, orgs[2].pk]


def reject(ground: str, reason: str) -> ev.ReviewDecision:
    return ev.ReviewDecision(rejection=scoring.Rejection(ground, reason))


def abnormal(accept: bool, reason: str) -> ev.ReviewDecision:
    return ev.ReviewDecision(abnormal=scoring.AbnormalDecision(accept, reason))


def test_committee_rejection_and_abnormal_low(ew, clock):
    world = ew.world
    orgs = world.bidder_orgs
    lot = open_lot(ew, clock, [1_000_000, 950_000, 980_000, 500_000])
    draw_committee(ew, lot)
    ev.start_evaluation(actor=world.staff, lot=lot)
    pass_all(ew, lot)
    chair = members(ew, lot)[0]
    before = snapshot(lot)
    unchanged(lot, before, Conflict, lambda: ev.report_evaluation(actor=world.staff, lot=lot), "abnormally low")
    unchanged(lot, before, Invalid, lambda: ev.review_bid(actor=chair, lot=lot, bidder=orgs[0].pk,
                                                          decision=reject("looks_odd", "x")), "art. 51")
    unchanged(lot, before, Invalid, lambda: ev.review_bid(actor=chair, lot=lot, bidder=orgs[0].pk,
                                                          decision=reject("collusion_fraud_bribery", "")), "reason")
    unchanged(lot, before, Conflict, lambda: ev.review_bid(actor=chair, lot=lot, bidder=orgs[0].pk,
                                                           decision=abnormal(True, "ok")), "not flagged")
    ev.review_bid(actor=chair, lot=lot, bidder=orgs[3].pk,
                  decision=abnormal(False, "cannot explain its cost; below cost"))
    ev.review_bid(actor=chair, lot=lot, bidder=orgs[2].pk,
                  decision=reject("collusion_fraud_bribery", "documents identical to another bidder's"))
    e = ev.report_evaluation(actor=world.staff, lot=lot)
    assert e.report["excluded"][str(orgs[3].pk)]["ground"] == "below_cost"
    assert e.report["excluded"][str(orgs[2].pk)]["ground"] == "collusion_fraud_bribery"
    assert [c.bidder_id for c in e.candidates.order_by("rank")] == [orgs[1].pk, orgs[0].pk]


def test_objection_dismissed_then_award(ew, clock):
    world = ew.world
    lot = to_publicity(ew, clock, [1_000_000, 900_000, 950_000])
    loser = world.bidders[0]
    obj = file_objection(actor=loser, lot=lot, text="the winner's qualification certificate has expired")
    assert obj.due_at == clocks.end_of(clocks.local_day(obj.filed_at) + 3 * DAY)  # within 3 days (art. 54)
    # someone who did not bid, staff, an empty objection: refused, nothing changed
    before = snapshot(lot)
    unchanged(lot, before, Forbidden, lambda: file_objection(actor=world.bidders[3], lot=lot, text="x"))
    unchanged(lot, before, Forbidden, lambda: file_objection(actor=world.staff, lot=lot, text="x"))
    unchanged(lot, before, Invalid, lambda: file_objection(actor=loser, lot=lot, text="  "))
    clock.advance(days=3, minutes=1)
    # the window has closed; the open objection blocks the award
    unchanged(lot, before, Conflict, lambda: file_objection(actor=loser, lot=lot, text="late"), "closed")
    unchanged(lot, before, Conflict, lambda: ev.award_lot(actor=world.staff, lot=lot), "awaits its answer")
    # the answer is late (after 3 days): the clock flags it to supervisors once
    clock.move_to(obj.due_at)
    assert cases.tick() == 1 and cases.tick() == 0
    assert Event.objects.filter(action="case.overdue").count() == 1
    answer_objection(actor=world.staff, objection=obj, uphold=False, answer="certificate valid until 2027")
    unchanged(lot, snapshot(lot), Conflict,
              lambda: answer_objection(actor=world.staff, objection=obj, uphold=True, answer="again"))
    award = ev.award_lot(actor=world.staff, lot=lot)
    assert award.bidder_id == world.bidder_orgs[1].pk


def test_upheld_objection_sends_lot_back_to_evaluation(ew, clock):
    world = ew.world
    lot = to_publicity(ew, clock, [1_000_000, 900_000, 950_000])
    obj = file_objection(actor=world.bidders[0], lot=lot, text="bidder 2 is unqualified")
    answer_objection(actor=world.staff, objection=obj, uphold=True, answer="bidder 2 lacks the licence")
    lot.refresh_from_db()
    assert lot.status == "opened"
    assert list(Evaluation.objects.filter(lot=lot).values_list("round", "status")) == [(1, "superseded"), (2, "open")]
    assert lot.publicities.get().cancelled
    chair = members(ew, lot)[0]
    pass_all(ew, lot)
    ev.review_bid(actor=chair, lot=lot, bidder=world.bidder_orgs[1].pk,
                  decision=reject("unqualified", "no construction licence"))
    e = ev.report_evaluation(actor=world.staff, lot=lot)
    assert [c.bidder_id for c in e.candidates.order_by("rank")] == [world.bidder_orgs[2].pk, world.bidder_orgs[0].pk]
    ev.publish_candidates(actor=world.staff, lot=lot)
    clock.advance(days=3, minutes=1)
    assert ev.award_lot(actor=world.staff, lot=lot).bidder_id == world.bidder_orgs[2].pk


def test_winner_withdraws_next_candidate_awarded(ew, clock):
    world = ew.world
    orgs = world.bidder_orgs
    lot = to_publicity(ew, clock, [1_000_000, 900_000, 950_000])
    clock.advance(days=3, minutes=1)
    first = ev.award_lot(actor=world.staff, lot=lot)
    assert first.bidder_id == orgs[1].pk
    before = snapshot(lot)
    unchanged(lot, before, Conflict, lambda: ev.award_lot(actor=world.staff, lot=lot))
    ev.withdraw_candidate(actor=world.staff, lot=lot, bidder=orgs[1].pk, reason="written withdrawal received")
    first.refresh_from_db()
    assert first.status == "withdrawn"
    second = award_for(lot)
    assert second is not None and second.bidder_id == orgs[2].pk and second.rank == 2
    assert Notice.objects.filter(lot=lot, kind="result").count() == 2
    lot.refresh_from_db()
    assert lot.status == "awarded"


def test_non_state_funded_may_choose_among_candidates_state_funded_may_not(ew, clock):
    world = ew.world
    lot = to_publicity(ew, clock, [1_000_000, 900_000, 950_000])
    clock.advance(days=3, minutes=1)
    second = Candidate.objects.get(evaluation__lot=lot, rank=2)
    before = snapshot(lot)
    unchanged(lot, before, Conflict, lambda: ev.award_lot(actor=world.staff, lot=lot, candidate=second), "first-ranked")


def test_refusal_to_sign_offers_next_and_last_refusal_fails_the_lot(ew, clock):
    world = ew.world
    orgs = world.bidder_orgs
    lot = to_publicity(ew, clock, [1_000_000, 900_000, 950_000])
    clock.advance(days=3, minutes=1)
    ev.award_lot(actor=world.staff, lot=lot)
    clock.advance(days=31)
    assert ev.tick() == 1  # contract window passed: flagged once
    assert ev.tick() == 0
    nxt = ev.refuse_to_sign(actor=world.staff, lot=lot, reason="refused to sign within 30 days")
    assert nxt is not None and nxt.bidder_id == orgs[2].pk
    assert Candidate.objects.get(evaluation__lot=lot, bidder=orgs[1]).status == "refused"
    ev.refuse_to_sign(actor=world.staff, lot=lot, reason="refused too")
    nxt = award_for(lot)
    assert nxt is not None and nxt.bidder_id == orgs[0].pk
    assert ev.refuse_to_sign(actor=world.staff, lot=lot, reason="refused as well") is None
    lot.refresh_from_db()
    assert lot.status == "failed"
    assert list(Award.objects.filter(lot=lot).values_list("status", flat=True)) == ["refused"] * 3


def test_replay_equals_live(ew, clock):
    from frontend.selectors import replay_differences

    world = ew.world
    lot = to_publicity(ew, clock, [1_000_000, 900_000, 950_000])
    obj = file_objection(actor=world.bidders[0], lot=lot, text="please check")
    answer_objection(actor=world.staff, objection=obj, uphold=False, answer="checked")
    clock.advance(days=3, minutes=1)
    ev.award_lot(actor=world.staff, lot=lot)
    ev.withdraw_candidate(actor=world.staff, lot=lot, bidder=world.bidder_orgs[1].pk, reason="withdrew")
    ev.record_contract(actor=world.staff, lot=lot, signed_on=clock.now.date(), amount_fen=950_000)
    assert replay_differences(lot.project, clock.now) == []
    from frontend.selectors import replayed_state
    state = replayed_state(lot.project, clock.now)["evaluation"]["lots"][str(lot.pk)]
    assert state["contract"]["amount_fen"] == 950_000
    assert [a["status"] for a in state["awards"]] == ["withdrawn", "contracted"]
    assert Case.objects.get().outcome == "dismissed"


def validate_ocds(package: dict) -> None:
    import json
    from pathlib import Path

    import jsonschema
    from referencing import Registry, Resource

    base = Path("/work/shared/standards/ocds-1.1")
    pkg_schema = json.loads((base / "release-package-schema.json").read_text())
    rel_schema = json.loads((base / "release-schema.json").read_text())
    from referencing.jsonschema import DRAFT4

    registry = Registry().with_resources([(rel_schema["id"], Resource.from_contents(rel_schema,
                                                                                    default_specification=DRAFT4))])
    validator = jsonschema.Draft4Validator(pkg_schema, registry=registry, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(package), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_ocds_awards_pending_then_active_and_contract(ew, clock):
    from trading.ocds import release_package

    world = ew.world
    lot = to_publicity(ew, clock, [1_000_000, 900_000, 950_000])
    pkg = release_package(lot.project)
    validate_ocds(pkg)
    last = pkg["releases"][-1]
    assert [a["status"] for a in last["awards"]] == ["pending"]
    broken = {**pkg, "releases": [{**last, "awards": [{**last["awards"][0], "status": "maybe"}]}]}
    with pytest.raises(AssertionError):
        validate_ocds(broken)
    assert last["awards"][0]["suppliers"][0]["name"] == world.bidder_orgs[1].name
    clock.advance(days=3, minutes=1)
    ev.award_lot(actor=world.staff, lot=lot)
    ev.withdraw_candidate(actor=world.staff, lot=lot, bidder=world.bidder_orgs[1].pk, reason="withdrew")
    clock.advance(days=2)
    ev.record_contract(actor=world.staff, lot=lot, signed_on=clock.now.date(), amount_fen=950_000)
    pkg = release_package(lot.project)
    validate_ocds(pkg)
    last = pkg["releases"][-1]
    assert [a["status"] for a in last["awards"]] == ["cancelled", "active"]
    assert last["contracts"][0]["status"] == "active" and last["contracts"][0]["value"]["amount"] == 9500
    assert "contract" in last["tag"]
    assert any("supplier" in p["roles"] for p in last["parties"])
    # the release of the candidate publicity still shows the pending award (state as of its notice)
    publicity_release = next(r for r in pkg["releases"] if r["tag"] == ["award"])
    assert [a["status"] for a in publicity_release["awards"]] == ["pending"]


def test_late_publicity_is_flagged_once_and_marked(ew, clock):
    world = ew.world
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000])
    draw_committee(ew, lot)
    ev.start_evaluation(actor=world.staff, lot=lot)
    pass_all(ew, lot)
    ev.report_evaluation(actor=world.staff, lot=lot)
    clock.advance(days=2)
    assert ev.tick() == 0
    clock.advance(days=1, minutes=1)
    assert ev.tick() == 1 and ev.tick() == 0
    assert Event.objects.filter(action="evaluation.publicity_overdue").get().visibility == "supervisors"
    pub = ev.publish_candidates(actor=world.staff, lot=lot)
    assert pub.late
