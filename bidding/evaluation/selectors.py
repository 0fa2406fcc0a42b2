"""Reads shared by the API and the pages (no state changes here)."""
from __future__ import annotations

from fractions import Fraction
from typing import Any

from bidding.evaluation import scoring
from bidding.evaluation.models import (
    Award, BidReview, Candidate, Committee, CommitteeMember, Contract, Evaluation, Expert, Publicity,
    Quote, Score, Vote,
)
from trading.errors import Forbidden, NotFound
from trading.models import Lot, Organisation
from trading.money import format_fen
from trading.permissions import is_staff_of, is_supervisor, role_of
from django.utils.translation import gettext_lazy as _


def award_for(lot: Lot) -> Award | None:
    """The lot's live award (active or contracted), or None."""
    return Award.objects.filter(lot=lot, status__in=["active", Award.Status.CONTRACTED]).select_related("bidder").first()


def winner_org_id(lot: Lot) -> int | None:
    award = award_for(lot)
    return award.bidder_id if award else None


def current_evaluation(lot: Lot) -> Evaluation | None:
    return Evaluation.objects.filter(lot=lot, status__in=["open", "reported"]).first()


def expert_for(user) -> Expert | None:
    if role_of(user) != "expert":
        return None
    return Expert.objects.filter(user=user).first()


def expert_lots(user) -> list[Lot]:
    """The lots whose committee this expert sits on (active seat, committee drawn)."""
    expert = expert_for(user)
    if expert is None:
        return []
    return list(Lot.objects.filter(committee__members__expert=expert, committee__members__active=True,
                                   committee__revealed=True).select_related("project").order_by("-id"))


def can_see_evaluation(user, lot: Lot) -> bool:
    return is_staff_of(user, lot.project) or is_supervisor(user)


def require_console(user, lot: Lot) -> None:
    if not can_see_evaluation(user, lot):
        raise NotFound(_("no such lot"))


def committee_view(lot: Lot) -> dict | None:
    c = Committee.objects.filter(lot=lot).first()
    if c is None:
        return None
    members = [{"expert": m.expert_id, "name": m.expert.name, "kind": m.kind, "active": m.active,
                "recused_reason": m.recused_reason}
               for m in CommitteeMember.objects.filter(committee=c).select_related("expert")]
    return {"size": c.size, "representatives": c.representatives, "commitment": c.commitment,
            "revealed": c.revealed, "seed": c.seed_hex if c.revealed else None,
            "eligible": c.statement.get("eligible", []), "order": c.order, "members": members,
            "committed_at": c.committed_at, "revealed_at": c.revealed_at}


def workspace(user, lot: Lot) -> dict:
    """What an expert sees for one of their lots: the opened bids, the criteria, their own inputs."""
    from bidding.evaluation.services import _require_member, opened_bids

    expert = _require_member(user, lot)
    ev = current_evaluation(lot)
    if ev is None:
        return {"lot": lot, "expert": expert, "evaluation": None, "bids": [], "criteria": []}
    method = scoring.Method.from_dict(ev.method)
    names = dict(Organisation.objects.filter(pk__in=[b.bidder for b in opened_bids(lot)]).values_list("pk", "name"))
    votes = {(v.bidder_id, v.criterion): v.passes for v in Vote.objects.filter(evaluation=ev, expert=expert)}
    scores = {(s.bidder_id, s.criterion): s.points for s in Score.objects.filter(evaluation=ev, expert=expert)}
    reviews = {r.bidder_id: r for r in BidReview.objects.filter(evaluation=ev)}
    bids = []
    for b in opened_bids(lot):
        r = reviews.get(b.bidder)
        bids.append({
            "bidder": b.bidder, "name": names.get(b.bidder, str(b.bidder)), "price": format_fen(b.price_fen),
            "price_fen": b.price_fen, "valid": b.valid, "failure_reason": b.failure_reason,
            "votes": {c.code: votes.get((b.bidder, c.code)) for c in method.compliance_criteria},
            "scores": {c.code: (str(scores[(b.bidder, c.code)]) if (b.bidder, c.code) in scores else None)
                       for c in method.score_criteria},
            "rejection_ground": r.rejection_ground if r else "", "rejection_reason": r.rejection_reason if r else "",
            "adjustments": r.adjustments if r else {},
            "abnormal_accept": r.abnormal_accept if r else None,
        })
    return {"lot": lot, "expert": expert, "evaluation": ev, "method": method,
            "criteria": [c.to_dict() | {"weight_display": scoring.display(c.weight)} for c in method.criteria],
            "bids": bids, "grounds": scoring.REJECTION_GROUNDS}


def candidates(lot: Lot) -> list[Candidate]:
    ev = current_evaluation(lot)
    if ev is None:
        return []
    return list(ev.candidates.select_related("bidder").order_by("rank"))


def publicity_for(lot: Lot) -> Publicity | None:
    return Publicity.objects.filter(lot=lot, cancelled=False).order_by("-starts_at").first()


def objections_for(user, lot: Lot) -> list:
    """The objections to the lot's candidates (cases of trading.challenges) the user may read."""
    from trading.challenges.models import Case

    qs = Case.objects.filter(lot=lot, kind="candidate_objection").select_related("filer_org").order_by("filed_at", "id")
    if role_of(user) == "bidder":
        return list(qs.filter(filer_org_id=user.organisation_id))
    if can_see_evaluation(user, lot):
        return list(qs)
    raise Forbidden(_("objections are visible to the objecting bidder, staff and supervisors"))


def award_view(award: Award | None) -> dict | None:
    if award is None:
        return None
    contract = Contract.objects.filter(award=award).first()
    return {"id": award.pk, "bidder": award.bidder_id, "name": award.bidder.name, "rank": award.rank,
            "price": format_fen(award.price_fen), "status": award.status, "awarded_at": award.awarded_at,
            "contract_due": award.contract_due,
            "contract": None if contract is None else {
                "signed_on": contract.signed_on.isoformat(), "amount": format_fen(contract.amount_fen),
                "documents": contract.documents, "deposit_mode": contract.deposit_mode}}


def awards_history(lot: Lot) -> list[Award]:
    return list(Award.objects.filter(lot=lot).select_related("bidder").order_by("awarded_at", "id"))


def total_display(c: Candidate) -> str | None:
    return scoring.display(Fraction(c.total)) if c.total else None


# --------------------------------------------------------------------------- live state (replay-equals-live)

def live_evaluation(project, now) -> dict:
    """The live counterpart of ``bidding/evaluation/replay.py`` (section "evaluation")."""
    from audit.replay import iso
    from bidding.evaluation.models import ConflictDeclaration, EvaluationPlan

    lots = {}
    for lot in project.lots.order_by("number"):
        plan = EvaluationPlan.objects.filter(lot=lot).first()
        committee = Committee.objects.filter(lot=lot).first()
        conflicts = sorted(ConflictDeclaration.objects.filter(lot=lot).values_list("expert_id", flat=True))
        ev = Evaluation.objects.filter(lot=lot).order_by("-round").first()
        if plan is None and committee is None and ev is None and not conflicts:
            continue
        row: dict[str, Any] = {"plan": plan.method if plan else None, "conflicts": conflicts, "committee": None, "evaluation": None,
               "publicity": None, "awards": [], "contract": None,
               "quotes": [{"bidder": q.bidder_id, "round": q.round, "price_fen": q.price_fen}
                          for q in Quote.objects.filter(lot=lot).order_by("submitted_at", "id")]}
        if committee is not None:
            row["committee"] = {
                "size": committee.size, "representatives": committee.representatives,
                "commitment": committee.commitment, "eligible": committee.statement.get("eligible", []),
                "revealed": committee.revealed, "seed": committee.seed_hex if committee.revealed else None,
                "members": sorted(committee.members.filter(active=True).values_list("expert_id", flat=True)),
            }
        if ev is not None:
            row["evaluation"] = {
                "round": ev.round, "status": "open" if ev.status == "open" else "reported", "failed": ev.failed,
                "quote_round": ev.quote_round,
                "candidates": [{"rank": c.rank, "bidder": c.bidder_id, "price_fen": c.price_fen, "status": c.status}
                               for c in ev.candidates.order_by("rank")]}
            if ev.status == "superseded":  # pragma: no cover - the newest round is never superseded
                row["evaluation"]["status"] = "superseded"
        pub = Publicity.objects.filter(lot=lot).order_by("-starts_at", "-id").first()
        if pub is not None:
            row["publicity"] = {"starts_at": iso(pub.starts_at), "ends_at": iso(pub.ends_at), "days": pub.days,
                                "cancelled": pub.cancelled}
        row["awards"] = [{"id": a.pk, "bidder": a.bidder_id, "rank": a.rank, "price_fen": a.price_fen,
                          "status": a.status, "awarded_at": iso(a.awarded_at), "contract_due": iso(a.contract_due)}
                         for a in Award.objects.filter(lot=lot).order_by("awarded_at", "id")]
        contract = Contract.objects.filter(lot=lot).first()
        if contract is not None:
            row["contract"] = {"signed_on": contract.signed_on.isoformat(), "amount_fen": contract.amount_fen,
                               "deposit_mode": contract.deposit_mode, "documents": contract.documents}
        lots[str(lot.pk)] = row
    return {"lots": lots}
