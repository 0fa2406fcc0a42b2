"""Business actions of evaluation, candidate publicity, award and contract. Objections to the candidates are
cases of trading.challenges (one mechanism for every objection, challenge and complaint).

Each action: keyword-only arguments, one transaction, its audit event inside that transaction;
authorisation is checked here too (not only in the views). A failed action changes nothing.

Confidentiality: the committee's membership and the experts' inputs are recorded with
visibility "supervisors" (招标投标法 art. 37/44: 评标委员会成员的名单在中标结果确定前应当保密;
评标情况不得透露); the candidates become public with the publicity notice.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

import audit
from bidding.evaluation import draw as drawing
from bidding.evaluation import scoring
from bidding.evaluation.models import (
    Award, BidReview, Candidate, Committee, CommitteeMember, ConflictDeclaration, Contract, Evaluation,
    EvaluationPlan, Expert, Publicity, Quote, Score, Vote,
)
from bidding.evaluation import messages as M
from trading.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, translated
from trading.models import Lot, Organisation, User
from trading.inputs import document_hashes
from trading.money import format_fen
from trading.permissions import require_role, require_staff_of, role_of
from audit import timestamps
from trading.lifecycle import LotStatus
from django.utils.translation import gettext_lazy as _

DAY = dt.timedelta(days=1)
TIE_BREAKS = {
    "lower_price_then_earlier": ("price", "submitted"),
    "earlier_submission": ("submitted",),
    "higher_technical_score": ("technical", "price"),
    "public_draw": ("lottery",),
}


iso = timestamps.iso


def _scoring_error(exc: scoring.ScoringError) -> DomainError:
    return translated(Invalid, exc, M.SCORING)


def _locked_lot(lot: Lot | int) -> Lot:
    lot_id = lot.pk if isinstance(lot, Lot) else lot
    try:
        return Lot.objects.select_for_update().select_related("project").get(pk=lot_id)
    except Lot.DoesNotExist:
        raise NotFound(_("no such lot")) from None


def _transition(**kwargs) -> Lot:
    from trading.services import transition_lot

    return transition_lot(**kwargs)


def _publish_notice(**kwargs):
    from trading.services import publish_notice

    return publish_notice(**kwargs)


def _require_tender(lot: Lot) -> None:
    if lot.path != "tender":
        raise Conflict(_("lot %(number)s is sold by %(path)s; it has no evaluation"), number=lot.number, path=lot.path)


# --------------------------------------------------------------------------- opened bids

def opened_bids(lot: Lot) -> list[scoring.Bid]:
    """The lot's opened bids as scoring inputs (from the envelopes app, once the lot is opened), in
    order of submission (``submitted_seq`` feeds the "earlier submission" tie-break)."""
    try:
        from bidding.envelopes.selectors import opened_bids as provider
    except ImportError:
        raise Conflict(_("the opened bids of this lot are not available (the opening module is missing)")) from None
    rows = list(provider(lot))
    submitted = _submission_times(lot, [getattr(r, "envelope_digest", None) for r in rows])
    out = []
    for i, ob in enumerate(rows):
        bidder = _first(ob, "bidder_org_id", "bidder_id", "organisation_id", "bidder")
        if isinstance(bidder, Organisation):
            bidder = bidder.pk
        price = _first(ob, "price_fen", default=None)
        valid = bool(_first(ob, "valid", default=True)) and bool(price) and price > 0
        out.append(scoring.Bid(
            bidder=int(bidder), price_fen=int(price) if price and price > 0 else 1, valid=valid,
            failure_reason=str(_first(ob, "failure_reason", "reason", default="") or ("no price" if not price else "")),
            submitted_seq=i,
        ))
    if submitted:
        order = sorted(range(len(out)), key=lambda i: (submitted.get(i) is None, submitted.get(i) or 0, i))
        seq = {idx: n for n, idx in enumerate(order)}
        out = [scoring.Bid(b.bidder, b.price_fen, b.valid, b.failure_reason, submitted_seq=seq[i])
               for i, b in enumerate(out)]
    return sorted(out, key=lambda b: (b.submitted_seq, b.bidder))


def _submission_times(lot: Lot, digests: list[str | None]) -> dict[int, float]:
    try:
        from bidding.envelopes.models import Envelope
    except ImportError:
        return {}
    times = dict(Envelope.objects.filter(lot=lot, digest__in=[d for d in digests if d])
                 .values_list("digest", "submitted_at"))
    return {i: times[d].timestamp() for i, d in enumerate(digests) if d in times}


def _first(obj: Any, *names: str, default: Any = ...) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    if default is ...:
        raise Conflict(_("opened bid record lacks %(names)s"), names=names[0])
    return default


def _bidder_orgs(lot: Lot) -> list[int]:
    from bidding.models import Registration

    return list(Registration.objects.filter(lot=lot).values_list("bidder_id", flat=True))


# --------------------------------------------------------------------------- experts

def register_expert(*, actor: User, user: User, name: str, organisation: Organisation,
                    specialities: Iterable[str] = (), region: str = "", pool: bool = True) -> Expert:
    require_role(actor, "staff", "admin")
    if user.role != "expert":
        raise Invalid(_("an expert profile needs a user account with the expert role"), field="user")
    if not name.strip():
        raise Invalid(_("the expert needs a name"), field="name")
    specs = sorted({str(s).strip() for s in specialities if str(s).strip()})
    with transaction.atomic():
        if Expert.objects.filter(user=user).exists():
            raise Conflict(_("user %(username)s is already an expert"), username=user.username)
        expert = Expert.objects.create(user=user, name=name.strip(), organisation=organisation, specialities=specs,
                                       region=region.strip(), pool=pool, created_at=timezone.now())
        audit.record(action="expert.register", subject=f"expert:{expert.pk}", actor=actor, visibility="supervisors",
                     payload={"expert": expert.pk, "user": user.pk, "name": expert.name, "organisation": organisation.pk,
                              "specialities": specs, "region": expert.region, "pool": pool})
    return expert


def set_expert_availability(*, actor: User, expert: Expert, available: bool) -> Expert:
    if not (role_of(actor) in ("staff", "admin") or (role_of(actor) == "expert" and expert.user_id == actor.pk)):
        raise Forbidden(_("only staff or the expert may change the expert's availability"))
    with transaction.atomic():
        expert = Expert.objects.select_for_update().get(pk=expert.pk)
        expert.available = bool(available)
        expert.save(update_fields=["available"])
        audit.record(action="expert.availability", subject=f"expert:{expert.pk}", actor=actor,
                     visibility="supervisors", payload={"expert": expert.pk, "available": expert.available})
    return expert


def _expert_of(user: User) -> Expert:
    require_role(user, "expert")
    try:
        return Expert.objects.get(user=user)
    except Expert.DoesNotExist:
        raise Forbidden(_("your account has no expert profile")) from None


# --------------------------------------------------------------------------- the plan (method as data)

def default_method(lot: Lot) -> dict:
    qualification = [
        {"code": "qualification", "kind": "compliance", "ground": "unqualified", "name": "资格审查"},
        {"code": "response", "kind": "compliance", "ground": "non_responsive", "name": "响应性审查"},
    ]
    tie = TIE_BREAKS.get(lot.tie_break, ("price", "submitted"))
    if lot.evaluation_method == "comprehensive":
        return {"kind": "comprehensive", "tie_break": list(tie), "criteria": qualification + [
            {"code": "price", "kind": "price", "weight": "60", "name": "价格"},
            {"code": "technical", "kind": "score", "weight": "30", "name": "技术"},
            {"code": "business", "kind": "score", "weight": "10", "name": "商务"},
        ]}
    if "technical" in tie:
        tie = ("price", "submitted")
    if lot.evaluation_method == "lowest_quote":
        return {"kind": "negotiation", "criteria": qualification, "tie_break": list(tie), "abnormal_low_ratio": None}
    return {"kind": "lowest_evaluated_price", "criteria": qualification, "tie_break": list(tie)}


def _method_kind(lot: Lot) -> str:
    return {"comprehensive": "comprehensive", "lowest_quote": "negotiation"}.get(lot.evaluation_method,
                                                                                 "lowest_evaluated_price")


def method_for(lot: Lot) -> scoring.Method:
    plan = EvaluationPlan.objects.filter(lot=lot).first()
    return scoring.Method.from_dict(plan.method if plan else default_method(lot))


def declare_plan(*, actor: User, lot: Lot, method: dict) -> EvaluationPlan:
    """Declare the lot's evaluation method (criteria, weights, adjustments, tie-break) before bids close."""
    require_staff_of(actor, lot.project)
    _require_tender(lot)
    try:
        parsed = scoring.Method.from_dict(method)
    except scoring.ScoringError as exc:
        raise _scoring_error(exc) from None
    expected = _method_kind(lot)
    if parsed.kind != expected:
        raise Invalid(_("lot %(number)s is evaluated by %(evaluation_method)s; the plan must be of kind %(expected)s"), number=lot.number, evaluation_method=lot.evaluation_method, expected=expected)
    data = parsed.to_dict()
    with transaction.atomic():
        lot = _locked_lot(lot)
        if lot.status not in (LotStatus.DRAFT, LotStatus.PUBLISHED) or (lot.status == LotStatus.PUBLISHED and timezone.now() >= lot.bid_deadline):
            raise Conflict(_("the evaluation method can only be declared before the bid deadline (lot is %(status)s)"), status=lot.status)
        plan, _created = EvaluationPlan.objects.update_or_create(
            lot=lot, defaults={"method": data, "declared_by": actor, "declared_at": timezone.now()})
        audit.record(action="evaluation.plan", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     payload={"lot": lot.pk, "method": data})
    return plan


# --------------------------------------------------------------------------- the committee draw

def _draw_context(lot: Lot) -> str:
    return f"lot:{lot.pk}"


def commit_draw(*, actor: User, lot: Lot, size: int, representatives: Iterable[Expert] = (),
                specialities: Iterable[str] = (), regions: Iterable[str] = ()) -> Committee:
    """Step 1: freeze the eligible pool, commit to a secret seed (SHA-256) in the audit log."""
    require_staff_of(actor, lot.project)
    reps = list(representatives)
    try:
        drawing.committee_split(size, len(reps), lot.rule.committee_min)
    except drawing.DrawError as exc:
        raise translated(Invalid, exc, M.DRAW, field="size") from None
    with transaction.atomic():
        lot = _locked_lot(lot)
        _require_tender(lot)
        if lot.status not in (LotStatus.BIDDING_CLOSED, LotStatus.OPENED):
            raise Conflict(_("the committee is drawn after the bid deadline, before evaluation (lot is %(status)s)"), status=lot.status)
        if Committee.objects.filter(lot=lot).exists():
            raise Conflict(_("this lot's committee draw has already been committed"))
        bidders = _bidder_orgs(lot)
        for r in reps:
            if r.pool or r.organisation_id != lot.project.owner_id:
                raise Invalid(_("%(name)s is not a representative of the tenderee"), name=r.name, field="representatives")
        conflicts = list(ConflictDeclaration.objects.filter(lot=lot).values_list("expert_id", flat=True))
        pool = [drawing.Candidate(id=e.pk, organisation_id=e.organisation_id, specialities=frozenset(e.specialities),
                                  region=e.region, available=e.available)
                for e in Expert.objects.filter(pool=True)]
        ids, excluded = drawing.eligible(pool, tenderee_org=lot.project.owner_id, bidder_orgs=bidders,
                                         conflicts=conflicts, specialities=specialities, regions=regions)
        need = size - len(reps)
        if len(ids) < need:
            raise Conflict(_("only %(count)s eligible pool expert(s) for %(need)s seat(s)"), count=len(ids), need=need)
        seed = drawing.new_seed()
        commitment = drawing.commit(seed)
        statement = drawing.draw_statement(context=_draw_context(lot), size=size, representatives=len(reps),
                                           eligible_ids=ids, commitment=commitment)
        statement["representative_ids"] = sorted(r.pk for r in reps)
        statement["excluded"] = {str(k): v for k, v in sorted(excluded.items())}
        committee = Committee.objects.create(lot=lot, size=size, representatives=len(reps), commitment=commitment,
                                             seed_hex=seed.hex(), statement=statement, committed_at=timezone.now(),
                                             committed_by=actor)
        now = timezone.now()
        for r in reps:
            CommitteeMember.objects.create(committee=committee, expert=r, kind="representative", joined_at=now)
        audit.record(action="evaluation.draw_commit", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="supervisors", payload={"lot": lot.pk, **statement,
                                                        "statement_digest": drawing.statement_digest(statement)})
    return committee


def reveal_draw(*, actor: User, lot: Lot) -> Committee:
    """Step 2: draw from the committed seed, then reveal the seed so anyone can re-run the draw."""
    require_staff_of(actor, lot.project)
    with transaction.atomic():
        lot = _locked_lot(lot)
        try:
            committee = Committee.objects.select_for_update().get(lot=lot)
        except Committee.DoesNotExist:
            raise Conflict(_("commit the draw first")) from None
        if committee.revealed:
            raise Conflict(_("the committee has already been drawn"))
        seed = bytes.fromhex(committee.seed_hex)
        st = committee.statement
        k = committee.size - committee.representatives
        order = list(drawing.order(seed, st["eligible"], st["context"]))
        now = timezone.now()
        for eid in order[:k]:
            CommitteeMember.objects.create(committee=committee, expert_id=eid, kind="pool", joined_at=now)
        committee.order = order
        committee.revealed = True
        committee.revealed_at = now
        committee.save(update_fields=["order", "revealed", "revealed_at"])
        audit.record(action="evaluation.draw_reveal", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="supervisors",
                     payload={"lot": lot.pk, "seed": committee.seed_hex, "commitment": committee.commitment,
                              "selected": order[:k], "order": order,
                              "representatives": st.get("representative_ids", [])})
    return committee


def declare_conflict(*, actor: User, lot: Lot, reason: str) -> ConflictDeclaration:
    """An expert declares a conflict with a lot: excluded from its draw, or replaced if already drawn."""
    expert = _expert_of(actor)
    if not reason.strip():
        raise Invalid(_("say what the conflict is"), field="reason")
    with transaction.atomic():
        lot = _locked_lot(lot)
        if ConflictDeclaration.objects.filter(expert=expert, lot=lot).exists():
            raise Conflict(_("you have already declared a conflict with this lot"))
        decl = ConflictDeclaration.objects.create(expert=expert, lot=lot, reason=reason.strip(),
                                                  declared_at=timezone.now())
        replaced_by = None
        member = CommitteeMember.objects.select_for_update().filter(
            committee__lot=lot, expert=expert, active=True).first()
        if member is not None:
            if Evaluation.objects.filter(lot=lot, status="reported").exists():
                raise Conflict(_("the evaluation has been reported; a recusal can no longer change the committee"))
            member.active = False
            member.recused_reason = reason.strip()
            member.save(update_fields=["active", "recused_reason"])
            if member.kind == "pool":
                replaced_by = _replace_member(lot, member.committee)
        audit.record(action="evaluation.conflict", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="supervisors",
                     payload={"lot": lot.pk, "expert": expert.pk, "reason": reason.strip(),
                              "recused": member is not None, "replaced_by": replaced_by})
    return decl


def _replace_member(lot: Lot, committee: Committee) -> int:
    """The next expert in the seeded order who is not seated, not conflicted and available."""
    seated = set(committee.members.values_list("expert_id", flat=True))
    conflicted = set(ConflictDeclaration.objects.filter(lot=lot).values_list("expert_id", flat=True))
    available = set(Expert.objects.filter(pk__in=committee.order, available=True).values_list("pk", flat=True))
    for eid in committee.order:
        if eid not in seated and eid not in conflicted and eid in available:
            CommitteeMember.objects.create(committee=committee, expert_id=eid, kind="pool", joined_at=timezone.now())
            return eid
    raise Conflict(_("no reserve expert is left in the drawn order; the committee cannot be completed"))


def _require_member(user: User, lot: Lot) -> Expert:
    expert = _expert_of(user)
    if not CommitteeMember.objects.filter(committee__lot=lot, committee__revealed=True, expert=expert,
                                          active=True).exists():
        raise Forbidden(_("you do not sit on this lot's evaluation committee"))
    return expert


def committee_experts(lot: Lot) -> list[int]:
    return list(CommitteeMember.objects.filter(committee__lot=lot, active=True).order_by("expert_id")
                .values_list("expert_id", flat=True))


# --------------------------------------------------------------------------- evaluation

def _current_evaluation(lot: Lot, *, lock: bool = False) -> Evaluation:
    qs = Evaluation.objects.filter(lot=lot, status__in=["open", "reported"])
    if lock:
        qs = qs.select_for_update()
    ev = qs.first()
    if ev is None:
        raise Conflict(_("the evaluation of this lot has not started"))
    return ev


def _new_round(lot: Lot, method: scoring.Method) -> Evaluation:
    last = Evaluation.objects.filter(lot=lot).order_by("-round").first()
    return Evaluation.objects.create(lot=lot, round=(last.round + 1) if last else 1, method=method.to_dict(),
                                     started_at=timezone.now(), quote_round=last.quote_round if last else 1)


def start_evaluation(*, actor: User, lot: Lot) -> Evaluation:
    require_staff_of(actor, lot.project)
    with transaction.atomic():
        lot = _locked_lot(lot)
        _require_tender(lot)
        if lot.status != LotStatus.OPENED:
            raise Conflict(_("evaluation starts after the opening (lot is %(status)s)"), status=lot.status)
        committee = Committee.objects.filter(lot=lot, revealed=True).first()
        if committee is None:
            raise Conflict(_("draw the evaluation committee first"))
        if committee.members.filter(active=True).count() != committee.size:
            raise Conflict(_("the committee is incomplete"))
        if Evaluation.objects.filter(lot=lot, status__in=["open", "reported"]).exists():
            raise Conflict(_("the evaluation has already started"))
        method = method_for(lot)
        ev = _new_round(lot, method)
        audit.record(action="evaluation.start", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="supervisors",
                     payload={"lot": lot.pk, "evaluation": ev.pk, "round": ev.round, "method": ev.method,
                              "experts": committee_experts(lot)})
    return ev


_POINTS = re.compile(r"^\d{1,3}(\.\d{1,2})?$")


def parse_points(value: Any, *, field: str = "score") -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise Invalid(_('%(field_name)s: give points as a decimal string like "27.5"'), field_name=field, field=field)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not _POINTS.match(value.strip()):
        raise Invalid(_('%(field_name)s: %(value)r is not a score like "27.5" (at most two decimals)'), field_name=field, value=value, field=field)
    return Decimal(value.strip())


def submit_sheet(*, actor: User, lot: Lot, bidder: Organisation | int, votes: dict[str, bool] | None = None,
                 scores: dict[str, Any] | None = None) -> dict:
    """An expert's pass/fail votes and points for one bid (may be revised until the report)."""
    votes = dict(votes or {})
    scores = dict(scores or {})
    bidder_id = bidder.pk if isinstance(bidder, Organisation) else int(bidder)
    with transaction.atomic():
        lot = _locked_lot(lot)
        expert = _require_member(actor, lot)
        ev = _current_evaluation(lot, lock=True)
        if ev.status != "open":
            raise Conflict(_("the evaluation report has been submitted; scores can no longer change"))
        method = scoring.Method.from_dict(ev.method)
        if bidder_id not in {b.bidder for b in opened_bids(lot)}:
            raise NotFound(_("no opened bid of that bidder in this lot"))
        parsed_scores = {}
        for code, passes in votes.items():
            crit = _criterion(method, code)
            if crit.kind != "compliance":
                raise Invalid(_("%(code)s is scored, not pass/fail"), code=code, field=code)
            if not isinstance(passes, bool):
                raise Invalid(_("%(code)s: a vote is true (pass) or false (fail)"), code=code, field=code)
        for code, raw in scores.items():
            crit = _criterion(method, code)
            if crit.kind != "score":
                raise Invalid(_("%(code)s is not scored by the experts"), code=code, field=code)
            points = parse_points(raw, field=code)
            if not (0 <= Fraction(points) <= crit.weight):
                raise Invalid(_("%(code)s: %(points)s is outside the criterion's range 0–%(value)s"), code=code, points=points, value=scoring.display(crit.weight),
                              field=code)
            parsed_scores[code] = points
        if not votes and not scores:
            raise Invalid(_("nothing to record"))
        now = timezone.now()
        for code, passes in votes.items():
            Vote.objects.update_or_create(evaluation=ev, expert=expert, bidder_id=bidder_id, criterion=code,
                                          defaults={"passes": passes, "at": now})
        for code, points in parsed_scores.items():
            Score.objects.update_or_create(evaluation=ev, expert=expert, bidder_id=bidder_id, criterion=code,
                                           defaults={"points": points, "at": now})
        payload = {"lot": lot.pk, "evaluation": ev.pk, "expert": expert.pk, "bidder": bidder_id,
                   "votes": votes, "scores": {k: str(v) for k, v in parsed_scores.items()}}
        audit.record(action="evaluation.sheet", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="supervisors", payload=payload)
    return payload


def _criterion(method: scoring.Method, code: str) -> scoring.Criterion:
    try:
        return method.criterion(code)
    except scoring.ScoringError:
        raise Invalid(_("unknown criterion %(code)r"), code=code, field=code) from None


@dataclass(frozen=True)
class ReviewDecision:
    """What the committee decides on one bid, each part optional: the declared price adjustments applied
    (code -> times), an art. 51 rejection (or clearing an earlier one), the decision on an abnormally low
    price. Each part is checked by its own rule in ``review_bid``."""
    adjustments: dict[str, int] | None = None
    rejection: scoring.Rejection | None = None
    clear_rejection: bool = False
    abnormal: scoring.AbnormalDecision | None = None


def review_bid(*, actor: User, lot: Lot, bidder: Organisation | int, decision: ReviewDecision) -> BidReview:
    """A committee decision on one bid: declared price adjustments, an art. 51 rejection, the decision on
    an abnormally low price.  Each is recorded with its reason."""
    bidder_id = bidder.pk if isinstance(bidder, Organisation) else int(bidder)
    with transaction.atomic():
        lot = _locked_lot(lot)
        expert = _require_member(actor, lot)
        ev = _current_evaluation(lot, lock=True)
        if ev.status != "open":
            raise Conflict(_("the evaluation report has been submitted"))
        method = scoring.Method.from_dict(ev.method)
        bids = {b.bidder: b for b in opened_bids(lot)}
        if bidder_id not in bids:
            raise NotFound(_("no opened bid of that bidder in this lot"))
        review = BidReview.objects.select_for_update().filter(evaluation=ev, bidder_id=bidder_id).first() or \
            BidReview(evaluation=ev, bidder_id=bidder_id, updated_at=timezone.now())
        if decision.adjustments is not None:
            review.adjustments = _checked_adjustments(method, bids[bidder_id], decision.adjustments)
        if decision.rejection is not None:
            review.rejection_ground, review.rejection_reason = _checked_rejection(decision.rejection)
        elif decision.clear_rejection:
            review.rejection_ground, review.rejection_reason = "", ""
        if decision.abnormal is not None:
            review.abnormal_accept, review.abnormal_reason = _checked_abnormal(ev, lot, method, bidder_id,
                                                                               decision.abnormal)
        review.updated_at = timezone.now()
        review.save()
        audit.record(action="evaluation.review", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="supervisors",
                     payload={"lot": lot.pk, "evaluation": ev.pk, "expert": expert.pk, "bidder": bidder_id,
                              "adjustments": review.adjustments, "rejection_ground": review.rejection_ground,
                              "rejection_reason": review.rejection_reason, "abnormal_accept": review.abnormal_accept,
                              "abnormal_reason": review.abnormal_reason})
    return review


def _checked_adjustments(method: scoring.Method, bid: scoring.Bid, adjustments: dict[str, int]) -> dict[str, int]:
    """Only adjustments the tender declared, each a whole count >= 0; the adjusted price must be computable."""
    declared = {a.code for a in method.adjustments}
    for code, count in adjustments.items():
        if code not in declared:
            raise Invalid(_("adjustment %(code)r was not declared in the tender"), code=code, field="adjustments")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise Invalid(_("adjustment %(code)r: the count must be a whole number ≥ 0"), code=code, field="adjustments")
    kept = {k: v for k, v in sorted(adjustments.items()) if v}
    try:
        scoring.evaluated_price(method, scoring.Bid(bid.bidder, bid.price_fen, adjustments=kept))
    except scoring.ScoringError as exc:
        raise _scoring_error(exc) from None
    return kept


def _checked_rejection(rejection: scoring.Rejection) -> tuple[str, str]:
    """A rejection names a ground of art. 51 and gives its reason."""
    if rejection.ground not in scoring.REJECTION_GROUNDS:
        raise Invalid(_("%(ground)r is not a ground of 实施条例 art. 51; allowed: %(choices)s"),
                      field="rejection_ground", ground=rejection.ground, choices=", ".join(scoring.REJECTION_GROUNDS))
    if not rejection.reason.strip():
        raise Invalid(_("a rejection needs its reason"), field="rejection_reason")
    return rejection.ground, rejection.reason.strip()


def _checked_abnormal(ev: Evaluation, lot: Lot, method: scoring.Method, bidder_id: int,
                      abnormal: scoring.AbnormalDecision) -> tuple[bool, str]:
    """A decision on an abnormally low price needs its reason and a bid the evaluation flags."""
    if not abnormal.reason.strip():
        raise Invalid(_("the decision on an abnormally low bid needs its reason"), field="abnormal_reason")
    result = _evaluate(ev, lot, method, strict=False)
    if bidder_id not in result.flagged:
        raise Conflict(_("that bid is not flagged as abnormally low"))
    return bool(abnormal.accept), abnormal.reason.strip()


def tie_seed(ev: Evaluation) -> bytes | None:
    committee = Committee.objects.filter(lot_id=ev.lot_id, revealed=True).first()
    if committee is None:
        return None
    return hashlib.sha256(bytes.fromhex(committee.seed_hex) + f"|tie-break|{ev.round}".encode()).digest()


def evaluation_inputs(ev: Evaluation, lot: Lot) -> dict:
    reviews = {r.bidder_id: r for r in ev.reviews.all()}
    bids = []
    for b in opened_bids(lot):
        r = reviews.get(b.bidder)
        bids.append(scoring.Bid(b.bidder, b.price_fen, b.valid, b.failure_reason,
                                adjustments=(r.adjustments if r else {}), submitted_seq=b.submitted_seq))
    return dict(
        bids=bids,
        experts=committee_experts(lot),
        votes={(v.expert_id, v.bidder_id, v.criterion): v.passes for v in ev.votes.all()},
        scores={(s.expert_id, s.bidder_id, s.criterion): s.points for s in ev.scores.all()},
        rejections={r.bidder_id: scoring.Rejection(r.rejection_ground, r.rejection_reason)
                    for r in reviews.values() if r.rejection_ground},
        abnormal_decisions={r.bidder_id: scoring.AbnormalDecision(r.abnormal_accept, r.abnormal_reason)
                            for r in reviews.values() if r.abnormal_accept is not None},
        seed=tie_seed(ev),
    )


def _evaluate(ev: Evaluation, lot: Lot, method: scoring.Method | None = None, *, strict: bool = True) -> scoring.Result:
    method = method or scoring.Method.from_dict(ev.method)
    inputs = evaluation_inputs(ev, lot)
    experts = inputs.pop("experts")
    if not strict:
        # a stale decision (bid no longer flagged) must not block the progress view
        inputs["abnormal_decisions"] = {}
    try:
        if method.kind == "negotiation":
            return _negotiate(ev, lot, method, experts, inputs)
        return scoring.evaluate(method, inputs.pop("bids"), experts=experts, **inputs)
    except scoring.ScoringError as exc:
        raise _scoring_error(exc) from None


def _negotiate(ev: Evaluation, lot: Lot, method: scoring.Method, experts: list[int], inputs: dict) -> scoring.Result:
    """Competitive negotiation / inquiry: the compliance review of the first responses (as for
    tenders), then the lowest valid final quote (round ``ev.quote_round``) wins."""
    gate = scoring.Method(kind="lowest_evaluated_price", criteria=method.compliance_criteria,
                          abnormal_low_ratio=None, tie_break=("submitted",), max_candidates=method.max_candidates)
    bids = inputs.pop("bids")
    first = scoring.evaluate(gate, bids, experts=experts, votes=inputs["votes"], rejections=inputs["rejections"])
    if first.missing:
        return first
    suppliers = [b.bidder for b in bids if b.bidder not in first.excluded]
    quotes = [scoring.Quote(b.bidder, 1, b.price_fen, b.submitted_seq) for b in bids if b.bidder in suppliers]
    for i, q in enumerate(Quote.objects.filter(lot=lot, bidder_id__in=suppliers).order_by("round", "submitted_at", "id")):
        quotes.append(scoring.Quote(q.bidder_id, q.round, q.price_fen, 1000 * q.round + i))
    result = scoring.negotiate(suppliers=suppliers, quotes=quotes, final_round=ev.quote_round,
                               tie_break=method.tie_break, seed=inputs.get("seed"),
                               max_candidates=method.max_candidates, min_valid=method.min_valid)
    return scoring.Result(method="negotiation", ranking=result.ranking,
                          excluded={**first.excluded, **result.excluded}, flagged={}, benchmark=result.benchmark,
                          failed=result.failed, failure_reason=result.failure_reason,
                          max_candidates=method.max_candidates)


def open_quote_round(*, actor: User, lot: Lot) -> Evaluation:
    """Competitive negotiation (竞争性谈判): after a negotiation round the group invites the remaining
    suppliers to quote again; the last round's quotes are the final quotes. Inquiry (询价) has one round."""
    require_staff_of(actor, lot.project)
    with transaction.atomic():
        lot = _locked_lot(lot)
        ev = _current_evaluation(lot, lock=True)
        if ev.method.get("kind") != "negotiation":
            raise Conflict(_("quote rounds belong to competitive negotiation"))
        if lot.project.method != "competitive_negotiation":
            raise Conflict(_("an inquiry (询价) takes one quote per supplier that cannot be changed"))
        if ev.status != "open":
            raise Conflict(_("the evaluation report has been submitted"))
        ev.quote_round += 1
        ev.save(update_fields=["quote_round"])
        audit.record(action="evaluation.quote_round", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="supervisors", payload={"lot": lot.pk, "evaluation": ev.pk, "round": ev.quote_round})
    return ev


def submit_quote(*, actor: User, lot: Lot, price_fen: int) -> Quote:
    """A supplier's quote in the current round (not above its previous quote)."""
    require_role(actor, "bidder")
    with transaction.atomic():
        lot = _locked_lot(lot)
        ev = _current_evaluation(lot, lock=True)
        if ev.method.get("kind") != "negotiation" or ev.status != "open":
            raise Conflict(_("this lot is not taking quotes"))
        if ev.quote_round < 2:
            raise Conflict(_("the first quote is the opened response; wait for the next round"))
        bids = {b.bidder: b for b in opened_bids(lot) if b.valid}
        bidder_id = actor.organisation_id
        if bidder_id not in bids:
            raise Forbidden(_("only suppliers with a valid response take part in the negotiation"))
        rejected = BidReview.objects.filter(evaluation=ev, bidder_id=bidder_id).exclude(rejection_ground="").exists()
        if rejected:
            raise Forbidden(_("your response was rejected by the negotiation group"))
        previous = [scoring.Quote(bidder_id, 1, bids[bidder_id].price_fen)] + [
            scoring.Quote(q.bidder_id, q.round, q.price_fen) for q in Quote.objects.filter(lot=lot, bidder_id=bidder_id)]
        try:
            scoring.check_quote(previous=previous, supplier=bidder_id, round=ev.quote_round, price_fen=price_fen,
                                current_round=ev.quote_round)
        except scoring.ScoringError as exc:
            raise translated(Invalid, exc, M.SCORING, field="price") from None
        q = Quote.objects.create(lot=lot, bidder_id=bidder_id, round=ev.quote_round, price_fen=price_fen,
                                 submitted_at=timezone.now(), submitted_by=actor)
        audit.record(action="evaluation.quote", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="supervisors",
                     payload={"lot": lot.pk, "bidder": bidder_id, "round": q.round, "price_fen": price_fen,
                              "at": iso(q.submitted_at)})
    return q


def progress(lot: Lot) -> dict:
    """For the staff console: what is still missing, which bids are flagged."""
    ev = _current_evaluation(lot)
    result = _evaluate(ev, lot, strict=False)
    return {"evaluation": ev.pk, "round": ev.round, "status": ev.status, "missing": len(result.missing),
            "flagged": {str(k): scoring.display(v * 100) + "%" for k, v in result.flagged.items()},
            "excluded": {str(k): e.to_dict() for k, e in result.excluded.items()}}


def report_evaluation(*, actor: User, lot: Lot) -> Evaluation:
    """The committee's report: the ranking and at most three candidates; the lot becomes evaluated
    (or fails when too few valid bids remain)."""
    require_staff_of(actor, lot.project)
    with transaction.atomic():
        lot = _locked_lot(lot)
        if lot.status != LotStatus.OPENED:
            raise Conflict(_("the lot is %(status)s; only an opened lot is evaluated"), status=lot.status)
        ev = _current_evaluation(lot, lock=True)
        if ev.status != "open":
            raise Conflict(_("the report has already been submitted"))
        method = scoring.Method.from_dict(ev.method)
        result = _evaluate(ev, lot, method)
        try:
            result.require_complete()
        except scoring.IncompleteEvaluation as exc:
            raise translated(Conflict, exc, M.SCORING, **M.missing_kind(exc)) from None
        now = timezone.now()
        names = dict(Organisation.objects.filter(pk__in=[b.bidder for b in opened_bids(lot)]).values_list("pk", "name"))
        report = result.to_dict()
        report["bidder_names"] = {str(k): v for k, v in names.items()}
        report["experts"] = committee_experts(lot)
        ev.report, ev.status, ev.reported_at, ev.reported_by, ev.failed = report, "reported", now, actor, result.failed
        ev.save(update_fields=["report", "status", "reported_at", "reported_by", "failed"])
        for c in result.candidates:
            Candidate.objects.create(evaluation=ev, bidder_id=c.bidder, rank=c.rank, price_fen=c.price_fen,
                                     total=scoring.frac_str(c.total) or "")
        audit.record(action="evaluation.report", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="supervisors", payload={"lot": lot.pk, "evaluation": ev.pk, "round": ev.round,
                                                        "report": report})
        if result.failed:
            _transition(lot=lot, action="fail", actor=actor, reason=f"evaluation: {result.failure_reason}")
        else:
            _transition(lot=lot, action="evaluate", actor=actor,
                        payload={"evaluation": ev.pk, "candidates": [c.bidder for c in result.candidates]})
    return ev


# --------------------------------------------------------------------------- publicity

def publish_candidates(*, actor: User, lot: Lot, days: int | None = None) -> Publicity:
    """Candidate publicity notice (实施条例 art. 54): within 3 days of the report, for at least 3 days."""
    require_staff_of(actor, lot.project)
    rule = lot.rule
    days = rule.publicity_min_days if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or days < rule.publicity_min_days or days > 30:
        raise Invalid(_("the publicity lasts at least %(publicity_min_days)s days (at most 30) — %(value)s"), publicity_min_days=rule.publicity_min_days, value=rule.basis.get('publicity', ''), field="days")
    with transaction.atomic():
        lot = _locked_lot(lot)
        if lot.status != LotStatus.EVALUATED:
            raise Conflict(_("candidates are publicised after the evaluation report (lot is %(status)s)"), status=lot.status)
        ev = _current_evaluation(lot, lock=True)
        now = timezone.now()
        late = now > ev.reported_at + rule.publicity_within_days * DAY
        cands = list(ev.candidates.select_related("bidder").order_by("rank"))
        ends = now + days * DAY
        rows = [{"rank": c.rank, "bidder": c.bidder_id, "name": c.bidder.name, "price": format_fen(c.price_fen),
                 "total": scoring.display(Fraction(c.total)) if c.total else None} for c in cands]
        body = "\n".join(f"第{r['rank']}名：{r['name']}，投标报价 {r['price']} 元" + (f"，综合得分 {r['total']}" if r["total"] else "")
                         for r in rows)
        body += f"\n公示期：{timezone.localtime(now):%Y-%m-%d %H:%M} 至 {timezone.localtime(ends):%Y-%m-%d %H:%M}。" \
                "投标人对评标结果有异议的，应当在公示期间提出。"
        notice = _publish_notice(actor=actor, project=lot.project, lot=lot, kind="candidates",
                                 title=f"{lot.project.title} 第{lot.number}标段 中标候选人公示", body=body,
                                 data={"candidates": rows, "evaluation": ev.pk, "round": ev.round,
                                       "starts_at": iso(now), "ends_at": iso(ends), "days": days})
        publicity = Publicity.objects.create(evaluation=ev, lot=lot, notice=notice, starts_at=now, ends_at=ends,
                                             days=days, late=late)
        audit.record(action="evaluation.publicity", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     payload={"lot": lot.pk, "evaluation": ev.pk, "notice": notice.pk, "candidates": rows,
                              "starts_at": iso(now), "ends_at": iso(ends), "days": days, "late": late})
        _transition(lot=lot, action="publicise", actor=actor, payload={"publicity": publicity.pk})
    return publicity


def _reevaluate(*, lot: Lot, actor: User | None, reason: str) -> Evaluation:
    """Back to evaluation: the publicity is cancelled, the report superseded, a new round opens.
    actor=None: ordered by an upheld objection or complaint (trading.challenges)."""
    if lot.status not in (LotStatus.EVALUATED, LotStatus.PUBLICITY) and not (actor is None and lot.status == LotStatus.AWARDED):
        raise Conflict(_("a lot that is %(status)s cannot go back to evaluation"), status=lot.status)
    ev = _current_evaluation(lot, lock=True)
    Publicity.objects.filter(evaluation=ev).update(cancelled=True)
    ev.status = "superseded"
    ev.save(update_fields=["status"])
    _transition(lot=lot, action="reevaluate", actor=actor, reason=reason)
    new = _new_round(lot, scoring.Method.from_dict(ev.method))
    audit.record(action="evaluation.reevaluate", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                 payload={"lot": lot.pk, "superseded": ev.pk, "evaluation": new.pk, "round": new.round,
                          "reason": reason})
    return new


def reevaluate(*, actor: User, lot: Lot, reason: str) -> Evaluation:
    require_staff_of(actor, lot.project)
    if not reason.strip():
        raise Invalid(_("a reason is required to re-evaluate"), field="reason")
    with transaction.atomic():
        lot = _locked_lot(lot)
        from trading.challenges.models import Case

        if Case.objects.filter(lot=lot, kind="candidate_objection", status="filed").exists():
            raise Conflict(_("answer the open objections first"))
        return _reevaluate(lot=lot, actor=actor, reason=reason.strip())


# --------------------------------------------------------------------------- what trading.challenges asks

def publicity_window(lot: Lot) -> tuple[dt.datetime, dt.datetime] | None:
    """The running candidate publicity of the lot (start, end), when objections to the candidates are filed."""
    pub = Publicity.objects.filter(lot=lot, cancelled=False).order_by("-starts_at", "-id").first()
    return (pub.starts_at, pub.ends_at) if pub is not None else None


def lot_bidder_ids(lot: Lot) -> set[int]:
    """The organisations whose bids were opened in the lot (who may object to its opening and candidates)."""
    return {b.bidder for b in opened_bids(lot)}


def remedy_reevaluate(*, lot: Lot, reason: str) -> None:
    """An upheld objection or complaint sends the lot back to evaluation."""
    if lot.status == LotStatus.AWARDED:
        return remedy_cancel_award(lot=lot, reason=reason)
    _reevaluate(lot=lot, actor=None, reason=reason)


def remedy_cancel_award(*, lot: Lot, reason: str) -> None:
    """The award is cancelled (中标无效) and the lot goes back to evaluation."""
    if lot.status not in (LotStatus.AWARDED, LotStatus.EVALUATED, LotStatus.PUBLICITY):
        raise Conflict(_("a lot that is %(status)s has no award to cancel or evaluation to repeat"), status=lot.status)
    for award in Award.objects.select_for_update().filter(lot=lot, status="active"):
        _end_award(award, status="cancelled", reason=reason, actor=None)
        if lot.security_fen > 0:  # the winner's security back to the rules' state (deposits decides how)
            from deposits import services as dep

            dep.clear_winner(lot=lot, bidder_org=award.bidder, reason=f"award cancelled — {reason}")
    _reevaluate(lot=lot, actor=None, reason=reason)


def on_resume(*, project_id: int, after: dt.datetime, delta: dt.timedelta) -> None:
    """A suspension was lifted: the publicity and contract windows still running at its start move by its length."""
    for pub in Publicity.objects.select_for_update().filter(lot__project_id=project_id, cancelled=False, ends_at__gt=after):
        pub.ends_at += delta
        pub.save(update_fields=["ends_at"])
        audit.record(action="evaluation.publicity_shift", subject=f"lot:{pub.lot_id}", project_id=project_id,
                     payload={"lot": pub.lot_id, "publicity": pub.pk, "ends_at": iso(pub.ends_at)})
    for award in Award.objects.select_for_update().filter(lot__project_id=project_id, status="active",
                                                           contract_due__gt=after):
        award.contract_due += delta
        award.save(update_fields=["contract_due"])
        audit.record(action="evaluation.contract_due_shift", subject=f"lot:{award.lot_id}", project_id=project_id,
                     payload={"lot": award.lot_id, "award": award.pk, "contract_due": iso(award.contract_due)})


# --------------------------------------------------------------------------- award

def _next_candidate(ev: Evaluation) -> Candidate | None:
    taken = set(Award.objects.filter(evaluation=ev).values_list("candidate_id", flat=True))
    return ev.candidates.filter(status="ranked").exclude(pk__in=taken).order_by("rank").first()


def _make_award(*, lot: Lot, ev: Evaluation, cand: Candidate, actor: User, now: dt.datetime, first: bool) -> Award:
    award = Award.objects.create(lot=lot, evaluation=ev, candidate=cand, bidder_id=cand.bidder_id, rank=cand.rank,
                                 price_fen=cand.price_fen, awarded_at=now, awarded_by=actor,
                                 contract_due=now + lot.rule.contract_window_days * DAY)
    deposit = _mark_winner(lot=lot, bidder_id=cand.bidder_id)
    name = cand.bidder.name
    notice = _publish_notice(
        actor=actor, project=lot.project, lot=lot, kind="result",
        title=f"{lot.project.title} 第{lot.number}标段 {'中标结果公告' if first else '中标结果变更公告'}",
        body=f"中标人：{name}；中标价：{format_fen(cand.price_fen)} 元（第{cand.rank}名中标候选人）。",
        data={"award": award.pk, "bidder": cand.bidder_id, "name": name, "price": format_fen(cand.price_fen),
              "rank": cand.rank, "contract_due": iso(award.contract_due),
              "experts": [e.name for e in Expert.objects.filter(pk__in=committee_experts(lot))]},
    )
    award.result_notice = notice
    award.save(update_fields=["result_notice"])
    audit.record(action="evaluation.award", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                 payload={"lot": lot.pk, "award": award.pk, "evaluation": ev.pk, "candidate": cand.pk,
                          "bidder": cand.bidder_id, "rank": cand.rank, "price_fen": cand.price_fen,
                          "awarded_at": iso(now), "contract_due": iso(award.contract_due),
                          "notice": notice.pk, "award_notice_to": cand.bidder_id, "deposit": deposit})
    return award


def award_lot(*, actor: User, lot: Lot, candidate: Candidate | None = None) -> Award:
    """Award after the publicity (art. 55): the first-ranked candidate that has not withdrawn or been
    disqualified. Only a project that is not state-funded may pick another of the candidates."""
    require_staff_of(actor, lot.project)
    with transaction.atomic():
        lot = _locked_lot(lot)
        if lot.status != LotStatus.PUBLICITY:
            raise Conflict(_("a lot is awarded after its candidate publicity (lot is %(status)s)"), status=lot.status)
        ev = _current_evaluation(lot, lock=True)
        publicity = Publicity.objects.get(evaluation=ev)
        now = timezone.now()
        if now < publicity.ends_at:
            raise Conflict(_("the candidate publicity runs until %(ends_at)s; no award before it ends — %(value)s"), ends_at=format(timezone.localtime(publicity.ends_at), '%Y-%m-%d %H:%M'), value=lot.rule.basis.get('publicity', ''))
        first = _next_candidate(ev)
        if candidate is not None:
            if candidate.evaluation_id != ev.pk or candidate.status != "ranked":
                raise Invalid(_("that is not a current candidate of this lot"), field="candidate")
            if candidate != first and lot.project.state_funded:
                raise Conflict(_("a state-funded project must award the first-ranked candidate (实施条例第五十五条) unless it withdraws or is disqualified"))
            first = candidate
        if first is None:
            raise Conflict(_("no candidate is left to award"))
        award = _make_award(lot=lot, ev=ev, cand=first, actor=actor, now=now, first=True)
        _transition(lot=lot, action="award", actor=actor, payload={"award": award.pk, "bidder": award.bidder_id})
    return award


def withdraw_candidate(*, actor: User, lot: Lot, bidder: Organisation | int, reason: str,
                       disqualified: bool = False, forfeit: bool = False) -> Candidate:
    """A candidate withdraws (or is disqualified). If it holds the award, the next candidate is offered it
    and its held security is refunded, or (``forfeit``) proposed for forfeit, countersigned by a supervisor."""
    require_staff_of(actor, lot.project)
    if not reason.strip():
        raise Invalid(_("a reason is required"), field="reason")
    bidder_id = bidder.pk if isinstance(bidder, Organisation) else int(bidder)
    status = "disqualified" if disqualified else "withdrawn"
    with transaction.atomic():
        lot = _locked_lot(lot)
        if lot.status not in (LotStatus.EVALUATED, LotStatus.PUBLICITY, LotStatus.AWARDED):
            raise Conflict(_("the lot is %(status)s; candidates can no longer change"), status=lot.status)
        ev = _current_evaluation(lot, lock=True)
        cand = ev.candidates.select_for_update().filter(bidder_id=bidder_id).first()
        if cand is None or cand.status != "ranked":
            raise NotFound(_("that bidder is not a current candidate of this lot"))
        cand.status, cand.status_reason = status, reason.strip()
        cand.save(update_fields=["status", "status_reason"])
        audit.record(action="evaluation.candidate_" + status, subject=f"lot:{lot.pk}", actor=actor,
                     project_id=lot.project_id,
                     payload={"lot": lot.pk, "candidate": cand.pk, "bidder": bidder_id, "reason": reason.strip()})
        award = Award.objects.select_for_update().filter(lot=lot, status="active", candidate=cand).first()
        if award is not None:
            _end_award(award, status=status, reason=reason.strip(), actor=actor)
            if forfeit:
                award.forfeit_requested = bool(_request_forfeit(
                    lot=lot, bidder_id=bidder_id, actor=actor, reason=reason.strip(),
                    grounds="collusion" if disqualified else "withdrew_after_deadline"))
                award.save(update_fields=["forfeit_requested"])
            else:
                _settle_winner(lot=lot, bidder_id=bidder_id, mode="refund", actor=actor)
            _offer_next(lot=lot, ev=ev, actor=actor)
    return cand


def _end_award(award: Award, *, status: str, reason: str, actor: User | None) -> None:
    award.status, award.ended_reason, award.ended_at = status, reason, timezone.now()
    award.save(update_fields=["status", "ended_reason", "ended_at"])
    audit.record(action="evaluation.award_end", subject=f"lot:{award.lot_id}", actor=actor,
                 project_id=award.lot.project_id,
                 payload={"lot": award.lot_id, "award": award.pk, "bidder": award.bidder_id, "status": status,
                          "reason": reason})


def _offer_next(*, lot: Lot, ev: Evaluation, actor: User) -> Award | None:
    nxt = _next_candidate(ev)
    if nxt is None:
        _transition(lot=lot, action="fail", actor=actor, reason="no candidate left to award")
        return None
    return _make_award(lot=lot, ev=ev, cand=nxt, actor=actor, now=timezone.now(), first=False)


def refuse_to_sign(*, actor: User, lot: Lot, reason: str, forfeit: bool = True) -> Award | None:
    """The winner refuses to sign: its award ends, its deposit is proposed for forfeit (the supervisor
    countersigns in deposits), and the next candidate is offered the award."""
    require_staff_of(actor, lot.project)
    if not reason.strip():
        raise Invalid(_("a reason is required"), field="reason")
    with transaction.atomic():
        lot = _locked_lot(lot)
        if lot.status != LotStatus.AWARDED:
            raise Conflict(_("the lot is %(status)s; only an awarded lot's winner can refuse to sign"), status=lot.status)
        award = Award.objects.select_for_update().filter(lot=lot, status="active").first()
        if award is None:
            raise Conflict(_("no award is waiting for its contract"))
        cand = Candidate.objects.select_for_update().get(pk=award.candidate_id)
        cand.status, cand.status_reason = "refused", reason.strip()
        cand.save(update_fields=["status", "status_reason"])
        _end_award(award, status="refused", reason=reason.strip(), actor=actor)
        if forfeit and _request_forfeit(lot=lot, bidder_id=award.bidder_id, actor=actor, reason=reason.strip()):
            award.forfeit_requested = True
            award.save(update_fields=["forfeit_requested"])
        return _offer_next(lot=lot, ev=award.evaluation, actor=actor)


def _deposit_held(lot: Lot, bidder_id: int) -> bool:
    """The one question: is this bidder's security for the lot still held?"""
    import deposits

    return lot.security_fen > 0 and bool(deposits.is_secured(bidder_id, lot))


def _request_forfeit(*, lot: Lot, bidder_id: int, actor: User, reason: str,
                     grounds: str = "refused_to_sign") -> int | None:
    """Staff propose forfeiting the refusing winner's security; a supervisor countersigns in deposits."""
    from deposits import services as dep
    from deposits.models import Account

    if not _deposit_held(lot, bidder_id):
        return None
    account = Account.objects.get(lot=lot, bidder_id=bidder_id, kind="deposit")
    basis = {"refused_to_sign": "中标人拒绝签订合同（招标投标法实施条例第七十四条）",
             "withdrew_after_deadline": "中标人放弃中标（招标投标法实施条例第七十四条）",
             "collusion": "中标人被取消中标资格（弄虚作假、串通投标等）"}[grounds]
    forfeit = dep.request_forfeit(actor=actor, account=account, grounds=grounds, reason=f"{basis}：{reason}")
    return forfeit.pk


def _mark_winner(*, lot: Lot, bidder_id: int) -> str:
    """Keep the winner's security out of the non-winners' refund (deposits rule); returns what happened."""
    if lot.security_fen <= 0:
        return "none"
    from deposits import services as dep

    if not _deposit_held(lot, bidder_id):
        return "not_held"
    dep.mark_winner(lot=lot, bidder_org=Organisation.objects.get(pk=bidder_id))
    return "held"


# --------------------------------------------------------------------------- contract

def record_contract(*, actor: User, lot: Lot, signed_on: dt.date, amount_fen: int,
                    documents: list[dict] | None = None, deposit_mode: str = "refund") -> Contract:
    """Record the signed contract; the winner's deposit is refunded or converted (deposits rules)."""
    require_staff_of(actor, lot.project)
    if deposit_mode not in ("refund", "convert"):
        raise Invalid(_("deposit_mode must be refund or convert"), field="deposit_mode")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise Invalid(_("the contract amount must be positive"), field="amount")
    docs = document_hashes(documents or [], field="documents")
    with transaction.atomic():
        lot = _locked_lot(lot)
        if lot.status != LotStatus.AWARDED:
            raise Conflict(_("a contract is recorded for an awarded lot (lot is %(status)s)"), status=lot.status)
        award = Award.objects.select_for_update().filter(lot=lot, status="active").first()
        if award is None:
            raise Conflict(_("no award is waiting for its contract"))
        now = timezone.now()
        if signed_on < timezone.localdate(award.awarded_at) or signed_on > timezone.localdate(now):
            raise Invalid(_("the signing date must be between the award and today"), field="signed_on")
        if amount_fen != award.price_fen:
            raise Invalid(_("the contract price must be the awarded price %(price_fen)s (招标投标法第四十六条: 不得再行订立背离合同实质性内容的其他协议)"), price_fen=format_fen(award.price_fen), field="amount")
        late = now > award.contract_due
        contract = Contract.objects.create(award=award, lot=lot, signed_on=signed_on, amount_fen=amount_fen,
                                           documents=docs, deposit_mode=deposit_mode if lot.security_fen else "none",
                                           recorded_by=actor, recorded_at=now)
        award.status = Award.Status.CONTRACTED
        award.save(update_fields=["status"])
        _publish_notice(
            actor=actor, project=lot.project, lot=lot, kind="result",
            title=f"{lot.project.title} 第{lot.number}标段 合同公告",
            body=f"中标人：{award.bidder.name}；合同金额：{format_fen(amount_fen)} 元；签订日期：{signed_on.isoformat()}。",
            data={"contract": contract.pk, "award": award.pk, "bidder": award.bidder_id,
                  "amount": format_fen(amount_fen), "signed_on": signed_on.isoformat(),
                  "documents": docs})
        audit.record(action="evaluation.contract", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     payload={"lot": lot.pk, "award": award.pk, "contract": contract.pk, "bidder": award.bidder_id,
                              "signed_on": signed_on.isoformat(), "amount_fen": amount_fen, "documents": docs,
                              "deposit_mode": contract.deposit_mode, "late": late})
        _settle_winner(lot=lot, bidder_id=award.bidder_id, mode=deposit_mode, actor=actor)
        _transition(lot=lot, action="sign_contract", actor=actor, payload={"contract": contract.pk})
    return contract


def _settle_winner(*, lot: Lot, bidder_id: int, mode: str, actor: User) -> bool:
    if not _deposit_held(lot, bidder_id):
        return False
    from deposits import services as dep

    dep.settle_winner(lot=lot, bidder_org=Organisation.objects.get(pk=bidder_id), mode=mode, actor=actor)
    return True


# --------------------------------------------------------------------------- the clock

def tick(now: dt.datetime | None = None) -> int:
    """Idempotent deadline watch: late publicity, contract windows passed (late objection answers: the
    trading.challenges clock) —
    each flagged once to the supervisors (an audit event)."""
    now = now or timezone.now()
    fired = 0
    for ev_id in Evaluation.objects.filter(status="reported", failed=False, publicity_overdue_flagged=False,
                                           lot__status=LotStatus.EVALUATED).values_list("pk", flat=True):
        with transaction.atomic():
            ev = Evaluation.objects.select_for_update(skip_locked=True).select_related("lot__project").filter(
                pk=ev_id, status="reported", publicity_overdue_flagged=False, lot__status=LotStatus.EVALUATED).first()
            if ev is None or now <= ev.reported_at + ev.lot.rule.publicity_within_days * DAY:
                continue
            ev.publicity_overdue_flagged = True
            ev.save(update_fields=["publicity_overdue_flagged"])
            audit.record(action="evaluation.publicity_overdue", subject=f"lot:{ev.lot_id}",
                         project_id=ev.lot.project_id, visibility="supervisors",
                         payload={"lot": ev.lot_id, "evaluation": ev.pk, "reported_at": iso(ev.reported_at),
                                  "basis": ev.lot.rule.basis.get("publicity", "")})
            fired += 1
    for award_id in Award.objects.filter(status="active", overdue_flagged=False, contract_due__lte=now) \
            .values_list("pk", flat=True):
        with transaction.atomic():
            award = Award.objects.select_for_update(skip_locked=True).filter(
                pk=award_id, status="active", overdue_flagged=False).select_related("lot").first()
            if award is None:
                continue
            award.overdue_flagged = True
            award.save(update_fields=["overdue_flagged"])
            audit.record(action="evaluation.contract_overdue", subject=f"lot:{award.lot_id}",
                         project_id=award.lot.project_id, visibility="supervisors",
                         payload={"lot": award.lot_id, "award": award.pk, "bidder": award.bidder_id,
                                  "contract_due": iso(award.contract_due)})
            fired += 1
    return fired
