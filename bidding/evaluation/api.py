"""Evaluation API (mounted at /api/evaluation/): thin views — parse, authorise, call a service, render."""
from __future__ import annotations

import datetime as dt

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response

from bidding.evaluation import api_docs as D
from bidding.evaluation import scoring, selectors, services
from bidding.evaluation.models import Candidate, Expert
from trading.errors import Forbidden, Invalid, NotFound
from trading.ids import parse_id
from trading.models import Lot, Organisation, User
from trading.money import decimal_keys, format_fen, parse_money
from trading.permissions import can_read_project, require_login, role_of
from trading.inputs import text_field
from django.utils.translation import gettext_lazy as _


def _lot(pk) -> Lot:
    try:
        return Lot.objects.select_related("project").get(pk=pk)
    except (Lot.DoesNotExist, ValueError):
        raise NotFound(_("no such lot")) from None


def _user(request) -> User:
    require_login(request.user)
    return request.user


def _int(data, name: str) -> int:
    return parse_id(data.get(name), field=name)


def _dict(data, name: str) -> dict:
    value = data.get(name) or {}
    if not isinstance(value, dict):
        raise Invalid(_("%(name)s must be an object"), name=name, field=name)
    return value


_str = text_field  # a text field of the body (trading.inputs)


def _method_out(method: dict) -> dict:
    """An evaluation method in the edge form: the ceiling and each adjustment's fixed amount as decimal
    strings (``ceiling``, ``amount``); the method is kept in fen inside (scoring.Method)."""
    out = decimal_keys({k: v for k, v in method.items() if k != "adjustments"})
    out["adjustments"] = [{**{k: v for k, v in a.items() if k != "fen"}, "amount": format_fen(a.get("fen", 0))}
                          for a in method.get("adjustments", [])]
    return out


def _method_in(method: dict) -> dict:
    """The edge form of a method (``ceiling``, adjustments' ``amount``: decimal strings) → the fen form."""
    data = {k: v for k, v in method.items() if k not in ("ceiling", "adjustments")}
    if method.get("ceiling") is not None:
        data["ceiling_fen"] = parse_money(method["ceiling"], field="method.ceiling", allow_zero=False)
    adjustments = method.get("adjustments") or []
    if not isinstance(adjustments, list) or not all(isinstance(a, dict) for a in adjustments):
        raise Invalid(_("method.adjustments must be a list of objects"), field="method.adjustments")
    data["adjustments"] = []
    for i, a in enumerate(adjustments):
        if "fen" in a:
            raise Invalid(_('method.adjustments.%(i)s.fen: amounts are given as "amount", a decimal string like "1234.56" (yuan), not in fen'), i=i, field=f"method.adjustments.{i}.fen")
        row = {k: v for k, v in a.items() if k != "amount"}
        row["fen"] = parse_money(a.get("amount", "0"), field=f"method.adjustments.{i}.amount")
        data["adjustments"].append(row)
    return data


def _candidate_json(c: Candidate) -> dict:
    return {"id": c.pk, "rank": c.rank, "bidder": c.bidder_id, "name": c.bidder.name, "price": format_fen(c.price_fen),
            "total": selectors.total_display(c), "status": c.status, "status_reason": c.status_reason}


def _award_json(award) -> dict | None:
    view = selectors.award_view(award)
    if view is None:
        return None
    return {**view, "awarded_at": services.iso(view["awarded_at"]), "contract_due": services.iso(view["contract_due"])}


# --------------------------------------------------------------------------- experts

@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.EXPERT_LIST, 201: D.EXPERT_CREATED})
@api_view(["GET", "POST"])
def experts(request):
    user = _user(request)
    if request.method == "GET":
        if role_of(user) not in ("staff", "supervisor", "admin"):
            raise Forbidden(_("the expert pool is visible to staff and supervisors"))
        return Response([{"id": e.pk, "name": e.name, "organisation": e.organisation_id, "specialities": e.specialities,
                          "region": e.region, "available": e.available, "pool": e.pool}
                         for e in Expert.objects.order_by("id")])
    d = request.data
    try:
        account = User.objects.get(pk=_int(d, "user"))
        org = Organisation.objects.get(pk=_int(d, "organisation"))
    except (User.DoesNotExist, Organisation.DoesNotExist):
        raise Invalid(_("unknown user or organisation")) from None
    specs = d.get("specialities") or []
    if not isinstance(specs, list):
        raise Invalid(_("specialities must be a list"), field="specialities")
    e = services.register_expert(actor=user, user=account, name=_str(d, "name"), organisation=org,
                                 specialities=specs, region=_str(d, "region"), pool=bool(d.get("pool", True)))
    return Response({"id": e.pk, "name": e.name}, status=201)


# --------------------------------------------------------------------------- plan and committee

@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.method()})
@api_view(["GET", "PUT"])
def plan(request, lot_id: int):
    lot = _lot(lot_id)
    if request.method == "GET":
        if not can_read_project(request.user, lot.project):
            raise NotFound(_("no such lot"))
        return Response(_method_out(services.method_for(lot).to_dict()))
    p = services.declare_plan(actor=_user(request), lot=lot, method=_method_in(_dict(request.data, "method")))
    return Response(_method_out(p.method))


@extend_schema(request=OpenApiTypes.OBJECT, responses={201: D.DRAW_COMMITTED})
@api_view(["POST"])
def draw_commit(request, lot_id: int):
    user = _user(request)
    lot = _lot(lot_id)
    reps = request.data.get("representatives") or []
    if not isinstance(reps, list):
        raise Invalid(_("representatives must be a list of expert ids"), field="representatives")
    rep_ids = [parse_id(r, field="representatives") for r in reps]
    rep_experts = list(Expert.objects.filter(pk__in=rep_ids))
    if len(rep_experts) != len(reps):
        raise Invalid(_("unknown representative"), field="representatives")
    size = request.data.get("size", lot.rule.committee_min)
    if isinstance(size, bool) or not isinstance(size, int):
        raise Invalid(_("size must be an odd whole number ≥ 5"), field="size")
    c = services.commit_draw(actor=user, lot=lot, size=size, representatives=rep_experts,
                             specialities=request.data.get("specialities") or [])
    return Response({"commitment": c.commitment, "size": c.size, "eligible": c.statement["eligible"]}, status=201)


@extend_schema(request=None, responses={200: D.DRAW_REVEALED})
@api_view(["POST"])
def draw_reveal(request, lot_id: int):
    c = services.reveal_draw(actor=_user(request), lot=_lot(lot_id))
    return Response({"seed": c.seed_hex, "commitment": c.commitment, "order": c.order,
                     "members": services.committee_experts(c.lot)})


@extend_schema(request=None, responses={200: D.COMMITTEE})
@api_view(["GET"])
def committee(request, lot_id: int):
    user = _user(request)
    lot = _lot(lot_id)
    selectors.require_console(user, lot)
    view = selectors.committee_view(lot)
    if view is None:
        raise NotFound(_("no committee yet"))
    view["members"] = [{"id": m["expert"], **m} for m in view["members"]]
    view["committed_at"] = services.iso(view["committed_at"])
    view["revealed_at"] = services.iso(view["revealed_at"])
    return Response(view)


@extend_schema(request=OpenApiTypes.OBJECT, responses={201: D.CREATED_ID})
@api_view(["POST"])
def conflict(request, lot_id: int):
    d = services.declare_conflict(actor=_user(request), lot=_lot(lot_id), reason=_str(request.data, "reason"))
    return Response({"id": d.pk}, status=201)


# --------------------------------------------------------------------------- evaluation

@extend_schema(request=None, responses={201: D.EVALUATION_STARTED})
@api_view(["POST"])
def start(request, lot_id: int):
    e = services.start_evaluation(actor=_user(request), lot=_lot(lot_id))
    return Response({"evaluation": e.pk, "round": e.round}, status=201)


@extend_schema(request=None, responses={200: D.WORKSPACE})
@api_view(["GET"])
def workspace(request, lot_id: int):
    w = selectors.workspace(_user(request), _lot(lot_id))
    ev = w["evaluation"]
    return Response({"lot": w["lot"].pk, "evaluation": ev.pk if ev else None, "round": ev.round if ev else None,
                     "status": ev.status if ev else None, "criteria": w.get("criteria", []),
                     "bids": [{k: v for k, v in b.items() if k != "price_fen"} for b in w["bids"]]})


@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.SHEET})
@api_view(["POST"])
def sheet(request, lot_id: int):
    d = request.data
    out = services.submit_sheet(actor=_user(request), lot=_lot(lot_id), bidder=_int(d, "bidder"),
                                votes=_dict(d, "votes"), scores=_dict(d, "scores"))
    return Response(out)


@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.REVIEW})
@api_view(["POST"])
def review(request, lot_id: int):
    d = request.data
    abnormal = d.get("abnormal_accept")
    if abnormal is not None and not isinstance(abnormal, bool):
        raise Invalid(_("abnormal_accept must be true or false"), field="abnormal_accept")
    adjustments = d.get("adjustments")
    if adjustments is not None and not isinstance(adjustments, dict):
        raise Invalid(_("adjustments must be an object"), field="adjustments")
    ground = d.get("rejection_ground") or None
    decision = services.ReviewDecision(
        adjustments=adjustments,
        rejection=scoring.Rejection(ground, _str(d, "rejection_reason")) if ground is not None else None,
        clear_rejection=bool(d.get("clear_rejection", False)),
        abnormal=scoring.AbnormalDecision(abnormal, _str(d, "abnormal_reason")) if abnormal is not None else None)
    r = services.review_bid(actor=_user(request), lot=_lot(lot_id), bidder=_int(d, "bidder"), decision=decision)
    return Response({"bidder": r.bidder_id, "adjustments": r.adjustments, "rejection_ground": r.rejection_ground,
                     "abnormal_accept": r.abnormal_accept})


@extend_schema(request=None, responses={200: D.EVALUATION})
@api_view(["GET"])
def evaluation(request, lot_id: int):
    user = _user(request)
    lot = _lot(lot_id)
    selectors.require_console(user, lot)
    ev = selectors.current_evaluation(lot)
    if ev is None:
        raise NotFound(_("the evaluation has not started"))
    body = {"evaluation": ev.pk, "round": ev.round, "status": ev.status, "report": decimal_keys(ev.report),
            "candidates": [_candidate_json(c) for c in selectors.candidates(lot)]}
    if ev.status == "open":
        body["progress"] = services.progress(lot)
    return Response(body)


@extend_schema(request=None, responses={201: D.REPORT})
@api_view(["POST"])
def report(request, lot_id: int):
    lot = _lot(lot_id)
    e = services.report_evaluation(actor=_user(request), lot=lot)
    return Response({"evaluation": e.pk, "failed": e.failed,
                     "candidates": [_candidate_json(c) for c in selectors.candidates(lot)]}, status=201)


# --------------------------------------------------------------------------- publicity and award (objections: /api/cases/)

@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.PUBLICITY, 201: D.PUBLICITY})
@api_view(["GET", "POST"])
def candidates(request, lot_id: int):
    lot = _lot(lot_id)
    if request.method == "POST":
        days = request.data.get("days")
        if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
            raise Invalid(_("days must be a whole number"), field="days")
        services.publish_candidates(actor=_user(request), lot=lot, days=days)
    pub = selectors.publicity_for(lot)
    if pub is None:
        if not selectors.can_see_evaluation(request.user, lot):
            raise NotFound(_("the candidates have not been publicised"))
        return Response({"publicity": None, "candidates": [_candidate_json(c) for c in selectors.candidates(lot)]})
    return Response({"publicity": {"notice": pub.notice.number, "starts_at": services.iso(pub.starts_at),
                                   "ends_at": services.iso(pub.ends_at), "days": pub.days, "late": pub.late},
                     "candidates": [_candidate_json(c) for c in selectors.candidates(lot)]},
                    status=201 if request.method == "POST" else 200)


@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.candidate()})
@api_view(["POST"])
def withdraw(request, lot_id: int):
    d = request.data
    c = services.withdraw_candidate(actor=_user(request), lot=_lot(lot_id), bidder=_int(d, "bidder"),
                                    reason=_str(d, "reason"), disqualified=bool(d.get("disqualified", False)),
                                    forfeit=bool(d.get("forfeit", False)))
    return Response(_candidate_json(c))


@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.award(), 201: D.award()})
@api_view(["GET", "POST"])
def award(request, lot_id: int):
    lot = _lot(lot_id)
    if request.method == "POST":
        cand = None
        if request.data.get("candidate") is not None:
            cand = Candidate.objects.filter(pk=_int(request.data, "candidate")).first()
            if cand is None:
                raise Invalid(_("no such candidate"), field="candidate")
        a = services.award_lot(actor=_user(request), lot=lot, candidate=cand)
        return Response(_award_json(a), status=201)
    if not can_read_project(request.user, lot.project):
        raise NotFound(_("no such lot"))
    current = selectors.award_for(lot)
    if current is None:
        raise NotFound(_("the lot has not been awarded"))
    return Response(_award_json(current))


@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.REFUSAL})
@api_view(["POST"])
def refusal(request, lot_id: int):
    nxt = services.refuse_to_sign(actor=_user(request), lot=_lot(lot_id), reason=_str(request.data, "reason"),
                                  forfeit=bool(request.data.get("forfeit", True)))
    return Response({"next_award": _award_json(nxt)})


@extend_schema(request=OpenApiTypes.OBJECT, responses={201: D.CONTRACT})
@api_view(["POST"])
def contract(request, lot_id: int):
    d = request.data
    try:
        signed_on = dt.date.fromisoformat(_str(d, "signed_on"))
    except ValueError:
        raise Invalid(_("signed_on must be a date like 2026-04-01"), field="signed_on") from None
    docs = d.get("documents") or []
    if not isinstance(docs, list) or not all(isinstance(x, dict) for x in docs):
        raise Invalid(_("documents must be a list of {name, sha256}"), field="documents")
    lot = _lot(lot_id)
    c = services.record_contract(actor=_user(request), lot=lot, signed_on=signed_on,
                                 amount_fen=parse_money(d.get("amount"), field="amount", allow_zero=False),
                                 documents=docs, deposit_mode=_str(d, "deposit_mode", "refund"))
    return Response({"contract": c.pk, "signed_on": c.signed_on.isoformat(), "amount": format_fen(c.amount_fen),
                     "deposit_mode": c.deposit_mode, "award": _award_json(c.award)}, status=201)


@extend_schema(request=None, responses={200: D.QUOTE_ROUND})
@api_view(["POST"])
def quote_round(request, lot_id: int):
    e = services.open_quote_round(actor=_user(request), lot=_lot(lot_id))
    return Response({"round": e.quote_round})


@extend_schema(request=OpenApiTypes.OBJECT, responses={201: D.QUOTE})
@api_view(["POST"])
def quote(request, lot_id: int):
    q = services.submit_quote(actor=_user(request), lot=_lot(lot_id),
                              price_fen=parse_money(request.data.get("price"), field="price", allow_zero=False))
    return Response({"round": q.round, "price": format_fen(q.price_fen)}, status=201)


@extend_schema(request=None, responses={200: D.GROUNDS})
@api_view(["GET"])
def grounds(request):
    return Response(scoring.REJECTION_GROUNDS)


urlpatterns = [
    path("experts/", experts, name="evaluation-experts"),
    path("grounds/", grounds, name="evaluation-grounds"),
    path("lots/<int:lot_id>/plan/", plan, name="evaluation-plan"),
    path("lots/<int:lot_id>/draw/commit/", draw_commit, name="evaluation-draw-commit"),
    path("lots/<int:lot_id>/draw/reveal/", draw_reveal, name="evaluation-draw-reveal"),
    path("lots/<int:lot_id>/committee/", committee, name="evaluation-committee"),
    path("lots/<int:lot_id>/conflict/", conflict, name="evaluation-conflict"),
    path("lots/<int:lot_id>/start/", start, name="evaluation-start"),
    path("lots/<int:lot_id>/workspace/", workspace, name="evaluation-workspace"),
    path("lots/<int:lot_id>/sheet/", sheet, name="evaluation-sheet"),
    path("lots/<int:lot_id>/review/", review, name="evaluation-review"),
    path("lots/<int:lot_id>/evaluation/", evaluation, name="evaluation-state"),
    path("lots/<int:lot_id>/report/", report, name="evaluation-report"),
    path("lots/<int:lot_id>/quote-round/", quote_round, name="evaluation-quote-round"),
    path("lots/<int:lot_id>/quotes/", quote, name="evaluation-quote"),
    path("lots/<int:lot_id>/candidates/", candidates, name="evaluation-candidates"),
    path("lots/<int:lot_id>/withdraw/", withdraw, name="evaluation-withdraw"),
    path("lots/<int:lot_id>/award/", award, name="evaluation-award"),
    path("lots/<int:lot_id>/refusal/", refusal, name="evaluation-refusal"),
    path("lots/<int:lot_id>/contract/", contract, name="evaluation-contract"),
]
