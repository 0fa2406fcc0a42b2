"""Evaluation pages: the expert workspace, the staff console (committee, evaluation, candidates,
objections, award, contract; supervisors read it without the forms), a bidder's objections."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from frontend.lists import Filter, list_page

from bidding.evaluation import scoring, selectors, services
from trading.challenges import services as cases
from trading.challenges.models import Case
from trading.errors import DomainError, Invalid
from trading.ids import is_ascii_int, parse_int
from trading.models import Lot
from trading.money import format_fen, parse_money
from trading.permissions import is_staff_of, require_role, role_of
from trading.lifecycle import LotStatus

STAFF_STATES = (LotStatus.BIDDING_CLOSED, LotStatus.OPENED, LotStatus.EVALUATED, LotStatus.PUBLICITY, LotStatus.AWARDED, LotStatus.CONTRACTED, LotStatus.FAILED)


def _lot(lot_id: int) -> Lot:
    return get_object_or_404(Lot.objects.select_related("project"), pk=lot_id)


@login_required
def home(request):
    """Experts: the lots whose committee they sit on. Staff and supervisors: lots in evaluation."""
    role = role_of(request.user)
    search = ("project__code", "project__title", "title")
    if role == "expert":
        mine = selectors.expert_lots(request.user)
        lst = list_page(request, mine, search=search, search_label=_lazy("Project or lot"),
                        filters=[_lot_status_filter({lot.status for lot in mine})])
        return render(request, "frontend/evaluation/expert_home.html", {"lots": lst.page, "lst": lst},
                      status=lst.status)
    require_role(request.user, "staff", "supervisor")
    lots = Lot.objects.filter(status__in=STAFF_STATES, project__method__in=(
        "open_tender", "invited_tender", "competitive_negotiation", "inquiry")).select_related("project")
    if role == "staff":
        lots = lots.filter(project__centre_id=request.user.organisation_id)
    lst = list_page(request, lots.order_by("-id"), search=search, search_label=_lazy("Project or lot"),
                    filters=[_lot_status_filter(STAFF_STATES)])
    return render(request, "frontend/evaluation/console_home.html", {"lots": lst.page, "lst": lst}, status=lst.status)


def _lot_status_filter(statuses) -> Filter:
    from frontend.templatetags.sunlight import status_label
    from trading import lifecycle

    return Filter("status", _lazy("Status"), "status", choices=[
        (str(s), lazy(status_label, str)(str(s))) for s in lifecycle.STATUSES if s in {str(x) for x in statuses}])


@login_required
def workspace(request, lot_id: int):
    lot = _lot(lot_id)
    if request.method == "POST":
        try:
            _workspace_post(request, lot)
        except DomainError as exc:
            messages.error(request, exc.message)
            ctx = selectors.workspace(request.user, lot)
            return render(request, "frontend/evaluation/workspace.html", ctx, status=exc.status_code)
        return redirect("evaluation-workspace", lot_id=lot.pk)
    return render(request, "frontend/evaluation/workspace.html", selectors.workspace(request.user, lot))


def _workspace_post(request, lot: Lot) -> None:
    p = request.POST
    bidder = p.get("bidder", "")
    if not is_ascii_int(bidder):
        raise Invalid(_("choose a bid"))
    if p.get("form") == "review":
        ground = p.get("rejection_ground") or None
        abnormal = {"accept": True, "reject": False}.get(p.get("abnormal", ""))
        decision = services.ReviewDecision(
            rejection=scoring.Rejection(ground, p.get("rejection_reason", "")) if ground is not None else None,
            clear_rejection=p.get("clear") == "1",
            abnormal=scoring.AbnormalDecision(abnormal, p.get("abnormal_reason", "")) if abnormal is not None else None)
        services.review_bid(actor=request.user, lot=lot, bidder=int(bidder), decision=decision)
        messages.success(request, _("Decision recorded."))
        return
    method = services.method_for(lot)
    ev = selectors.current_evaluation(lot)
    if ev is not None:
        method = scoring.Method.from_dict(ev.method)
    votes = {c.code: p.get(f"vote_{c.code}") == "pass" for c in method.compliance_criteria
             if p.get(f"vote_{c.code}") in ("pass", "fail")}
    scores = {c.code: p.get(f"score_{c.code}", "").strip() for c in method.score_criteria
              if p.get(f"score_{c.code}", "").strip()}
    services.submit_sheet(actor=request.user, lot=lot, bidder=int(bidder), votes=votes, scores=scores)
    messages.success(request, _("Scores saved."))


@login_required
def console(request, lot_id: int):
    lot = _lot(lot_id)
    selectors.require_console(request.user, lot)
    ev = selectors.current_evaluation(lot)
    progress = None
    if ev is not None and ev.status == "open":
        try:
            progress = services.progress(lot)
        except DomainError as exc:
            progress = {"error": exc.message}
    ctx = {
        "lot": lot, "can_act": is_staff_of(request.user, lot.project),
        "committee": selectors.committee_view(lot), "evaluation": ev, "progress": progress,
        "candidates": [(c, selectors.total_display(c)) for c in selectors.candidates(lot)],
        "publicity": selectors.publicity_for(lot),
        "objections": selectors.objections_for(request.user, lot),
        "awards": selectors.awards_history(lot), "award": selectors.award_view(selectors.award_for(lot)),
        "today": dt.date.today().isoformat(), "grounds": scoring.REJECTION_GROUNDS,
        "report_rows": _report_rows(ev),
    }
    return render(request, "frontend/evaluation/console.html", ctx)


def _report_rows(ev) -> list[dict]:
    if ev is None or not ev.report:
        return []
    names = ev.report.get("bidder_names", {})
    rows = [{"rank": r["rank"], "name": names.get(str(r["bidder"]), r["bidder"]), "price": format_fen(r["price_fen"]),
             "total": r.get("total_display"), "tie": r.get("tie_broken_by"), "excluded": ""}
            for r in ev.report.get("ranking", [])]
    for b, e in ev.report.get("excluded", {}).items():
        rows.append({"rank": "—", "name": names.get(b, b), "price": "", "total": None, "tie": None,
                     "excluded": f"{e['ground']}: {e['reason']}"})
    return rows


def _staff_action(request, lot_id: int, fn, ok: str):
    lot = _lot(lot_id)
    try:
        fn(lot, request.POST)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ok)
    return redirect("evaluation-console", lot_id=lot_id)


def _int(value: str, field: str) -> int:
    return parse_int((value or "").strip(), field=field)


@require_POST
@login_required
def act(request, lot_id: int, action: str):
    u = request.user
    actions = {
        "commit": (lambda lot, p: services.commit_draw(actor=u, lot=lot, size=_int(p.get("size", "5"), "size")),
                   _("Seed committed.")),
        "reveal": (lambda lot, p: services.reveal_draw(actor=u, lot=lot), _("Committee drawn.")),
        "start": (lambda lot, p: services.start_evaluation(actor=u, lot=lot), _("Evaluation started.")),
        "report": (lambda lot, p: services.report_evaluation(actor=u, lot=lot), _("Report received.")),
        "publicise": (lambda lot, p: services.publish_candidates(actor=u, lot=lot, days=_int(p.get("days", "3"), "days")),
                      _("Candidates publicised.")),
        "award": (lambda lot, p: services.award_lot(actor=u, lot=lot), _("Awarded.")),
        "withdraw": (lambda lot, p: services.withdraw_candidate(
            actor=u, lot=lot, bidder=_int(p.get("bidder", ""), "bidder"), reason=p.get("reason", ""),
            disqualified=p.get("disqualified") == "1", forfeit=p.get("forfeit") == "1"), _("Candidate withdrawn.")),
        "refusal": (lambda lot, p: services.refuse_to_sign(actor=u, lot=lot, reason=p.get("reason", ""),
                                                           forfeit=p.get("forfeit", "1") == "1"),
                    _("Refusal recorded; the next candidate is offered.")),
        "contract": (lambda lot, p: services.record_contract(
            actor=u, lot=lot, signed_on=_date(p.get("signed_on", "")),
            amount_fen=parse_money(p.get("amount", ""), field="amount", allow_zero=False),
            deposit_mode=p.get("deposit_mode", "refund"),
            documents=[{"name": p.get("doc_name", ""), "sha256": p.get("doc_sha256", "")}] if p.get("doc_name") else []),
            _("Contract recorded.")),
    }
    if action not in actions:
        return redirect("evaluation-console", lot_id=lot_id)
    fn, ok = actions[action]
    return _staff_action(request, lot_id, fn, ok)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(_("the signing date must look like 2026-04-01"), field="signed_on") from None


@require_POST
@login_required
def answer(request, objection_id: int):
    obj = get_object_or_404(Case.objects.select_related("lot"), pk=objection_id, kind="candidate_objection")
    try:
        cases.answer_case(actor=request.user, case=obj,
                          outcome="upheld" if request.POST.get("uphold") == "1" else "dismissed",
                          answer=request.POST.get("answer", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Objection answered."))
    return redirect("evaluation-console", lot_id=obj.lot_id)


@login_required
def objections(request, lot_id: int):
    """A bidder's objections to the candidates of a lot (file during the publicity; see the answers)."""
    lot = _lot(lot_id)
    require_role(request.user, "bidder")
    status = 200
    if request.method == "POST":
        try:
            text = request.POST.get("text", "")
            cases.file_case(actor=request.user, kind="candidate_objection", lot=lot, subject=text.strip()[:60], text=text)
        except DomainError as exc:
            messages.error(request, exc.message)
            status = exc.status_code
        else:
            messages.success(request, _("Objection filed."))
            return redirect("evaluation-objections", lot_id=lot.pk)
    return render(request, "frontend/evaluation/objections.html", {
        "lot": lot, "publicity": selectors.publicity_for(lot), "objections": selectors.objections_for(request.user, lot),
        "candidates": [(c, selectors.total_display(c)) for c in selectors.candidates(lot)]
        if selectors.publicity_for(lot) else [],
    }, status=status)


urlpatterns = [
    path("evaluation/", home, name="evaluation-home"),
    path("evaluation/lots/<int:lot_id>/workspace/", workspace, name="evaluation-workspace"),
    path("evaluation/lots/<int:lot_id>/", console, name="evaluation-console"),
    path("evaluation/lots/<int:lot_id>/act/<str:action>/", act, name="evaluation-act"),
    path("evaluation/objections/<int:objection_id>/answer/", answer, name="evaluation-answer-page"),
    path("evaluation/lots/<int:lot_id>/objections/", objections, name="evaluation-objections"),
]
