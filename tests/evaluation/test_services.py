"""Evaluation services on PostgreSQL: the draw, both methods, publicity, objections, award, contract."""
from __future__ import annotations

import hashlib

import pytest
from django.db import IntegrityError, transaction

from audit.models import Event
from trading.challenges.models import Case
from bidding.evaluation import draw as drawing
from bidding.evaluation import services as ev
from bidding.evaluation.models import (
    Award, Candidate, Committee, CommitteeMember, Contract, Evaluation, Publicity, Score, Vote,
)
from tests.evaluation.conftest import DAY, draw_committee, members, open_lot, pass_all
from trading.errors import Conflict, Forbidden, Invalid, NotFound

pytestmark = pytest.mark.django_db


def snapshot(lot):
    lot.refresh_from_db()
    return (lot.status, Event.objects.count(), Vote.objects.count(), Score.objects.count(),
            Candidate.objects.count(), Award.objects.count(), Case.objects.count(), Contract.objects.count(),
            Evaluation.objects.count(), Publicity.objects.count())


def unchanged(lot, before, exc_type, fn, match=None):
    with pytest.raises(exc_type, match=match):
        fn()
    assert snapshot(lot) == before


COMPREHENSIVE_PLAN = {
    "kind": "comprehensive",
    "criteria": [
        {"code": "qualification", "kind": "compliance", "ground": "unqualified"},
        {"code": "price", "kind": "price", "weight": "60"},
        {"code": "technical", "kind": "score", "weight": "30"},
        {"code": "business", "kind": "score", "weight": "10"},
    ],
    "tie_break": ["price", "submitted"],
}


# --------------------------------------------------------------------------- draw

def test_draw_commit_reveal_and_replay(ew, clock):
    world = ew.world
    # one pool expert works for the tenderee, one for a bidder, one declares a conflict
    ew.experts[0].organisation = world.tenderee
    ew.experts[0].save()
    ew.experts[1].organisation = world.bidder_orgs[0]
    ew.experts[1].save()
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000])
    ev.declare_conflict(actor=ew.expert_users[ew.experts[2].pk], lot=lot, reason="former employee of a bidder")
    committee = ev.commit_draw(actor=world.staff, lot=lot, size=5)
    assert not committee.revealed
    commit_event = Event.objects.filter(action="evaluation.draw_commit").get()
    committee = ev.reveal_draw(actor=world.staff, lot=lot)
    seated = set(ev.committee_experts(lot))
    assert len(seated) == 5
    assert not seated & {ew.experts[0].pk, ew.experts[1].pk, ew.experts[2].pk}
    assert committee.statement["excluded"] == {str(ew.experts[0].pk): "tenderee organisation",
                                               str(ew.experts[1].pk): "bidder organisation",
                                               str(ew.experts[2].pk): "declared conflict"}
    # a supervisor re-runs the draw from the revealed seed and the committed statement
    import json
    reveal = json.loads(Event.objects.filter(action="evaluation.draw_reveal").get().canonical)["payload"]
    commit = json.loads(commit_event.canonical)["payload"]
    seed = bytes.fromhex(reveal["seed"])
    assert hashlib.sha256(seed).hexdigest() == commit["commitment"]
    assert drawing.verify(seed, commit["commitment"])
    assert list(drawing.order(seed, commit["eligible"], commit["context"])[:5]) == reveal["selected"]
    assert set(reveal["selected"]) == seated
    assert commit_event.pk < Event.objects.filter(action="evaluation.draw_reveal").get().pk
    assert commit_event.visibility == "supervisors"
    # a second commit is refused, nothing changes
    before = snapshot(lot)
    unchanged(lot, before, Conflict, lambda: ev.commit_draw(actor=world.staff, lot=lot, size=5))


def test_draw_constraints_over_many_seeds(ew, clock):
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000])
    for _ in range(20):
        with transaction.atomic():
            sid = transaction.savepoint()
            ev.commit_draw(actor=ew.world.staff, lot=lot, size=7)
            c = ev.reveal_draw(actor=ew.world.staff, lot=lot)
            seated = CommitteeMember.objects.filter(committee=c)
            assert seated.count() == 7 and seated.filter(kind="pool").count() == 7
            orgs = set(seated.values_list("expert__organisation_id", flat=True))
            assert not orgs & {ew.world.tenderee.pk, *(o.pk for o in ew.world.bidder_orgs)}
            assert list(drawing.order(bytes.fromhex(c.seed_hex), c.statement["eligible"], f"lot:{lot.pk}")[:7]) == \
                list(seated.order_by("id").values_list("expert_id", flat=True))
            transaction.savepoint_rollback(sid)


def test_bad_committee_shapes(ew, clock):
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000])
    before = snapshot(lot)
    unchanged(lot, before, Invalid, lambda: ev.commit_draw(actor=ew.world.staff, lot=lot, size=6), "odd")
    unchanged(lot, before, Invalid, lambda: ev.commit_draw(actor=ew.world.staff, lot=lot, size=3), "at least 5")
    unchanged(lot, before, Conflict, lambda: ev.commit_draw(actor=ew.world.staff, lot=lot, size=11), "eligible")
    unchanged(lot, before, Forbidden, lambda: ev.commit_draw(actor=ew.world.other_staff, lot=lot, size=5))
    # the database refuses an even or under-sized committee on its own
    with pytest.raises(IntegrityError), transaction.atomic():
        Committee.objects.create(lot=lot, size=4, commitment="0" * 64, seed_hex="00", statement={},
                                 committed_at=clock.now, committed_by=ew.world.staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        Committee.objects.create(lot=lot, size=5, representatives=2, commitment="0" * 64, seed_hex="00",
                                 statement={}, committed_at=clock.now, committed_by=ew.world.staff)


def test_recusal_replaced_by_next_in_seeded_order(ew, clock):
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000])
    c = draw_committee(ew, lot)
    first = c.order[0]
    ev.declare_conflict(actor=ew.expert_users[first], lot=lot, reason="my brother works for bidder 2")
    seated = ev.committee_experts(lot)
    assert first not in seated and c.order[5] in seated and len(seated) == 5


# --------------------------------------------------------------------------- lowest evaluated price

def test_lowest_price_path_to_contract(ew, clock):
    world = ew.world
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000, 980_000])
    draw_committee(ew, lot)
    ev.start_evaluation(actor=world.staff, lot=lot)
    pass_all(ew, lot)
    e = ev.report_evaluation(actor=world.staff, lot=lot)
    lot.refresh_from_db()
    assert lot.status == "evaluated"
    ranks = [(c.rank, c.bidder_id) for c in e.candidates.order_by("rank")]
    orgs = world.bidder_orgs
    assert ranks == [(1, orgs[1].pk), (2, orgs[2].pk), (3, orgs[3].pk)]
    pub = ev.publish_candidates(actor=world.staff, lot=lot)
    assert pub.notice.kind == "candidates" and pub.ends_at == pub.starts_at + 3 * DAY
    lot.refresh_from_db()
    assert lot.status == "publicity"
    # awarding before the publicity ends is refused, nothing changes
    before = snapshot(lot)
    unchanged(lot, before, Conflict, lambda: ev.award_lot(actor=world.staff, lot=lot), "publicity runs until")
    clock.advance(days=3, minutes=1)
    award = ev.award_lot(actor=world.staff, lot=lot)
    assert award.bidder_id == orgs[1].pk and award.result_notice is not None and award.result_notice.kind == "result"
    assert award.contract_due == award.awarded_at + 30 * DAY
    from bidding.evaluation.selectors import award_for
    assert award_for(lot) == award
    clock.advance(days=5)
    before = snapshot(lot)
    unchanged(lot, before, Invalid, lambda: ev.record_contract(actor=world.staff, lot=lot, signed_on=clock.now.date(),
                                                               amount_fen=123), "awarded price")
    contract = ev.record_contract(actor=world.staff, lot=lot, signed_on=clock.now.date(), amount_fen=900_000,
                                  documents=[{"name": "合同.pdf", "sha256": "a" * 64}])
    lot.refresh_from_db()
    assert lot.status == "contracted" and contract.award.status == "contracted"


def test_scores_and_votes_are_checked(ew, clock):
    world = ew.world
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000], method="comprehensive", plan=COMPREHENSIVE_PLAN)
    draw_committee(ew, lot)
    ev.start_evaluation(actor=world.staff, lot=lot)
    user = members(ew, lot)[0]
    b = world.bidder_orgs[0].pk
    before = snapshot(lot)
    unchanged(lot, before, Invalid, lambda: ev.submit_sheet(actor=user, lot=lot, bidder=b, scores={"technical": "30.5"}),
              "outside")
    unchanged(lot, before, Invalid, lambda: ev.submit_sheet(actor=user, lot=lot, bidder=b, scores={"technical": "-1"}))
    unchanged(lot, before, Invalid, lambda: ev.submit_sheet(actor=user, lot=lot, bidder=b, scores={"technical": 29.5}),
              "decimal string")
    unchanged(lot, before, Invalid, lambda: ev.submit_sheet(actor=user, lot=lot, bidder=b, scores={"price": "10"}))
    unchanged(lot, before, Invalid, lambda: ev.submit_sheet(actor=user, lot=lot, bidder=b,
                                                            votes={"qualification": True}, scores={"technical": "31"}))
    unchanged(lot, before, NotFound, lambda: ev.submit_sheet(actor=user, lot=lot, bidder=world.bidder_orgs[3].pk,
                                                             scores={"technical": "3"}))
    # an expert who does not sit on this lot
    outsider = next(u for eid, u in ew.expert_users.items() if eid not in ev.committee_experts(lot))
    unchanged(lot, before, Forbidden, lambda: ev.submit_sheet(actor=outsider, lot=lot, bidder=b,
                                                              scores={"technical": "3"}), "do not sit")
    unchanged(lot, before, Forbidden, lambda: ev.submit_sheet(actor=world.staff, lot=lot, bidder=b,
                                                              scores={"technical": "3"}))
    # the report needs every input
    unchanged(lot, before, Conflict, lambda: ev.report_evaluation(actor=world.staff, lot=lot), "missing")
    ev.submit_sheet(actor=user, lot=lot, bidder=b, votes={"qualification": True}, scores={"technical": "27.5"})
    assert Score.objects.get(evaluation__lot=lot, criterion="technical").points == ev.parse_points("27.5")
