"""Cases API (mounted at /api/cases/): thin views — parse, authorise, call a service, render.

Bidders file from their workspace (logged in); anyone files a disclosure request or a complaint (their
name and contact kept private) and follows it with the case number and the follow-up code returned once.
"""
from __future__ import annotations

import datetime as dt

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response

from audit.timestamps import iso
from trading.challenges import api_docs as D
from trading.challenges import report as annual
from trading.challenges import selectors, services
from trading.challenges.models import Case
from trading.errors import Forbidden, Invalid, NotFound
from trading.ids import parse_id
from trading.models import Lot, Project
from trading.permissions import can_read_project, require_login, role_of
from trading.rules import CHALLENGE_RULES, DISCLOSURE_REFUSALS
from trading.inputs import text_field
from trading.lifecycle import LotStatus

_str = text_field  # a text field of the body (trading.inputs)


def _id(data, name: str) -> int | None:
    value = data.get(name)
    return None if value in (None, "") else parse_id(value, field=name)


def _date(data, name: str) -> dt.date | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(_("%(name)s must be a date (YYYY-MM-DD)"), name=name, field=name) from None


def _uploads(request) -> list[services.Upload]:
    files = request.FILES.getlist("attachments") if hasattr(request, "FILES") else []
    return [services.Upload(f.name, f.read(), f.content_type or "application/octet-stream") for f in files]


def _filer_org_shown(case: Case, viewer) -> int | None:
    """Before the bid deadline, who objected to the documents would reveal an interested bidder: only the filer
    sees it then (DESIGN §3, confidentiality before the deadline)."""
    if case.filer_org_id is None:
        return None
    if viewer is not None and getattr(viewer, "organisation_id", None) == case.filer_org_id:
        return case.filer_org_id
    if case.lot is not None and case.lot.status in (LotStatus.DRAFT, LotStatus.PUBLISHED):
        return None
    return case.filer_org_id


def _basis(case: Case) -> str:
    rule = CHALLENGE_RULES[case.kind]
    clock = services.running_clock(case) or rule.answer or rule.decide
    return clock.basis if clock is not None else rule.window_basis


def case_json(case: Case, *, private: bool, viewer=None) -> dict:
    """A case as its filer, the staff and the supervisors see it; ``private=False``: as published."""
    count = selectors.countdown(case)
    body = {
        "number": case.number, "kind": case.kind, "kind_label": CHALLENGE_RULES[case.kind].label[0],
        "project": case.project_id, "lot": case.lot_id, "subject": case.subject, "status": case.status,
        "filed_at": iso(case.filed_at), "clock": case.clock, "due_at": iso(case.due_at),
        "calendar_unknown": case.calendar_unknown, "seconds_left": count["seconds"], "late": case.late,
        "extended": case.extended, "outcome": case.outcome, "remedy": case.remedy, "ground": case.ground,
        "ground_text": DISCLOSURE_REFUSALS.get(case.ground) or services.COMPLAINT_REFUSALS.get(case.ground, ""),
        "answer": services._scrub(case.answer, case), "closed_at": iso(case.closed_at),
        "basis": _basis(case),
        "attachments": [{"name": a.name, "sha256": a.sha256, "size": a.size, "role": a.role}
                        for a in case.attachments.all() if private or a.public],
    }
    if private:
        body.update(text=case.text, known_on=case.known_on.isoformat() if case.known_on else None,
                    follows=case.follows.number if case.follows is not None else None,
                    extension_reason=case.extension_reason, filer_org=_filer_org_shown(case, viewer),
                    remedies=list(services.fitting_remedies(case)))
    return body


def _case(number: str) -> Case:
    if not services.valid_number(number):
        raise NotFound(_("no such case"))
    case = Case.objects.select_related("project", "lot", "follows").filter(number=number).first()
    if case is None:
        raise NotFound(_("no such case"))
    return case


def _visible(request, number: str) -> Case:
    token = request.query_params.get("token") or ""
    if token:
        return services.case_by_token(number=number, token=token)
    case = _case(number)
    if not selectors.can_see(request.user, case):
        raise NotFound(_("no such case"))  # an object the caller may not know exists answers as a missing one
    return case


@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.case(many=True), 201: D.case()})
@api_view(["GET", "POST"])
def cases(request):
    """GET: the cases you may follow. POST: file one (kind, subject, text, project / lot, known_on, follows,
    and for the public name + contact; attachments as multipart files)."""
    if request.method == "GET":
        require_login(request.user)
        return Response([case_json(c, private=True, viewer=request.user) for c in selectors.visible_cases(request.user)[:200]])
    d = request.data
    actor = request.user if role_of(request.user) != "public" else None
    lot_id, project_id = _id(d, "lot"), _id(d, "project")
    lot = project = None
    if lot_id is not None:
        lot = Lot.objects.select_related("project").filter(pk=lot_id).first()
        if lot is None or not can_read_project(request.user, lot.project):
            raise NotFound(_("no such lot"))
    elif project_id is not None:
        project = Project.objects.filter(pk=project_id).first()
        if project is None or not can_read_project(request.user, project):
            raise NotFound(_("no such project"))
    follows = None
    if d.get("follows"):
        number = _str(d, "follows")
        follows = Case.objects.filter(number=number).first() if services.valid_number(number) else None
        if follows is None or (actor is not None and not selectors.can_see(actor, follows)):
            raise Invalid(_("follows: no such case of yours"), field="follows")
    case = services.file_case(
        actor=actor, kind=_str(d, "kind"), subject=_str(d, "subject"), text=_str(d, "text"), project=project, lot=lot,
        known_on=_date(d, "known_on"), follows=follows, name=_str(d, "name"), contact=_str(d, "contact"),
        attachments=_uploads(request))
    body = case_json(case, private=True, viewer=request.user)
    if case.token:
        body["token"] = case.token  # shown once: the public filer follows the case with it
    return Response(body, status=201)


@extend_schema(responses={200: D.case()}, operation_id="case_detail")
@api_view(["GET"])
def case_detail(request, number: str):
    return Response(case_json(_visible(request, number), private=True, viewer=request.user))


def _act(request, number: str, fn):
    require_login(request.user)
    case = _case(number)
    if not selectors.can_see(request.user, case):
        raise NotFound(_("no such case"))
    return Response(case_json(fn(case), private=True, viewer=request.user))


@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.case()})
@api_view(["POST"])
def answer(request, number: str):
    d = request.data
    return _act(request, number, lambda c: services.answer_case(
        actor=request.user, case=c, outcome=_str(d, "outcome"), answer=_str(d, "answer"), remedy=_str(d, "remedy"),
        ground=_str(d, "ground"), attachments=_uploads(request)))


@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.case()})
@api_view(["POST"])
def extend(request, number: str):
    return _act(request, number, lambda c: services.extend_case(actor=request.user, case=c,
                                                                reason=_str(request.data, "reason")))


@extend_schema(request=None, responses={200: D.case()})
@api_view(["POST"])
def accept(request, number: str):
    return _act(request, number, lambda c: services.accept_complaint(actor=request.user, case=c))


@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.case()})
@api_view(["POST"])
def refuse(request, number: str):
    d = request.data
    return _act(request, number, lambda c: services.refuse_complaint(actor=request.user, case=c,
                                                                     ground=_str(d, "ground"), answer=_str(d, "answer")))


@extend_schema(request=OpenApiTypes.OBJECT, responses={200: D.case()})
@api_view(["POST"])
def decide(request, number: str):
    d = request.data
    return _act(request, number, lambda c: services.decide_complaint(
        actor=request.user, case=c, outcome=_str(d, "outcome"), decision=_str(d, "decision"), remedy=_str(d, "remedy")))


@extend_schema(request=None, responses={200: D.case()})
@api_view(["POST"])
def withdraw(request, number: str):
    return _act(request, number, lambda c: services.withdraw_case(actor=request.user, case=c))


def _project(request, pk: int) -> Project:
    project = Project.objects.filter(pk=pk).first()
    if project is None or not can_read_project(request.user, project):
        raise NotFound(_("no such project"))
    return project


def _suspension_json(s) -> dict | None:
    if s is None:
        return None
    return {"project": s.project_id, "case": s.case.number if s.case_id else None, "reason": s.reason,
            "basis": s.basis, "started_at": iso(s.started_at), "limit_at": iso(s.limit_at),
            "lifted_at": iso(s.lifted_at)}


@extend_schema(request=OpenApiTypes.OBJECT, responses={201: D.SUSPENSION})
@api_view(["POST"])
def suspend(request, project_id: int):
    require_login(request.user)
    project = _project(request, project_id)
    case = None
    if request.data.get("case"):
        number = _str(request.data, "case")
        case = Case.objects.filter(number=number, project=project).first() if services.valid_number(number) else None
        if case is None:
            raise Invalid(_("case: no such complaint of this project"), field="case")
    s = services.suspend_project(actor=request.user, project=project, case=case, reason=_str(request.data, "reason"))
    return Response(_suspension_json(s), status=201)


@extend_schema(request=None, responses={200: D.SUSPENSION})
@api_view(["POST"])
def resume(request, project_id: int):
    require_login(request.user)
    if role_of(request.user) != "supervisor":
        raise Forbidden(_("only the supervising department lifts a suspension"))
    return Response(_suspension_json(services.resume_project(actor=request.user, project=_project(request, project_id))))


@extend_schema(responses={200: D.PUBLISHED})
@api_view(["GET"])
def published(request, project_id: int):
    """The project's answered objections and published decisions, without who filed them; its suspension."""
    project = _project(request, project_id)
    return Response({"suspension": _suspension_json(selectors.suspension_of(project)),
                     "cases": [case_json(c, private=False) for c in selectors.published_cases(project)]})


@extend_schema(responses={200: D.RULES})
@api_view(["GET"])
def rules(request):
    def clock(c):
        return None if c is None else {"n": c.n, "unit": c.unit, "basis": c.basis}

    return Response([{"kind": r.kind, "label": r.label, "family": r.family, "filers": sorted(r.filers),
                      "project_kinds": sorted(r.project_kinds), "window_basis": r.window_basis,
                      "answer": clock(r.answer), "accept": clock(r.accept), "decide": clock(r.decide),
                      "extension": clock(r.extension), "know_within": clock(r.know_within),
                      "blocks": sorted(r.blocks), "remedies": list(r.remedies),
                      "suspension_max_days": r.suspension_max_days} for r in CHALLENGE_RULES.values()])


def _year(year: int) -> int:
    if not (2000 <= year <= 2200):
        raise NotFound(_("no report for that year"))
    return year


@extend_schema(responses={200: D.REPORT})
@api_view(["GET"])
def report(request, year: int):
    return Response(annual.build(_year(year)))


urlpatterns = [
    path("", cases, name="cases"),
    path("rules/", rules, name="cases-rules"),
    path("report/<int:year>/", report, name="cases-report"),
    path("projects/<int:project_id>/", published, name="cases-published"),
    path("projects/<int:project_id>/suspend/", suspend, name="cases-suspend"),
    path("projects/<int:project_id>/resume/", resume, name="cases-resume"),
    path("<str:number>/", case_detail, name="case-detail"),
    path("<str:number>/answer/", answer, name="case-answer"),
    path("<str:number>/extend/", extend, name="case-extend"),
    path("<str:number>/accept/", accept, name="case-accept"),
    path("<str:number>/refuse/", refuse, name="case-refuse"),
    path("<str:number>/decide/", decide, name="case-decide"),
    path("<str:number>/withdraw/", withdraw, name="case-withdraw"),
]
