"""Case pages: file an objection / challenge / complaint (bidders, from their workspace) or a disclosure request /
complaint (anyone, from a project's five-openness page); follow a case and its countdown; staff answer,
supervisors accept / refuse / decide and suspend / resume; the annual openness report (page, print, CSV)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from frontend.lists import Filter, list_page
from frontend.templatetags.sunlight import in_language

from trading import selectors as trading_selectors
from trading.challenges import report as annual
from trading.challenges import selectors, services
from trading.challenges.models import Case
from trading.errors import DomainError, Invalid
from trading.models import Project
from trading.permissions import role_of
from trading.rules import CHALLENGE_RULES, DISCLOSURE_REFUSALS


def _countdown(case: Case) -> str:
    c = selectors.countdown(case)
    if case.calendar_unknown and case.is_open:
        return _("deadline pending: next year's official calendar is not loaded")
    if c["seconds"] is None:
        return ""
    s = abs(c["seconds"])
    text = _("%(days)d d %(hours)d h") % {"days": s // 86400, "hours": s % 86400 // 3600}
    return _("overdue by %(time)s") % {"time": text} if c["late"] else _("%(time)s left") % {"time": text}


def _kinds_for(user, project: Project | None) -> list[tuple[str, tuple[str, str]]]:
    who = "bidder" if role_of(user) == "bidder" else "public"
    return [(k, r.label) for k, r in CHALLENGE_RULES.items()
            if who in r.filers and (project is None or not r.project_kinds or project.kind in r.project_kinds)]


def _uploads(request) -> list[services.Upload]:
    return [services.Upload(f.name, f.read(), f.content_type or "application/octet-stream")
            for f in request.FILES.getlist("attachments")]


def index(request):
    """My cases (bidders: their organisation's; staff: their centre's; supervisors: all) with their countdowns."""
    if not request.user.is_authenticated:
        return redirect("case-follow")
    lst = list_page(request, selectors.visible_cases(request.user),
                    search=("number", "subject", "project__code", "project__title"),
                    search_label=_lazy("Number, subject or project"), filters=case_filters())
    rows = [(c, _countdown(c)) for c in lst.page]
    return render(request, "frontend/cases/index.html", {"rows": rows, "lst": lst}, status=lst.status)


def case_filters() -> list[Filter]:
    from trading.challenges.lifecycle import STATUSES

    label = lazy(in_language, str)
    return [Filter("kind", _lazy("Kind"), "kind", choices=[(k, label(r.label)) for k, r in CHALLENGE_RULES.items()]),
            Filter("status", _lazy("Status"), "status", choices=[(k, label(v)) for k, v in STATUSES.items()]),
            Filter("from", _lazy("Filed from"), "filed_at", kind="from"),
            Filter("to", _lazy("Filed until"), "filed_at", kind="to")]


def new(request):
    """File a case. ?project=CODE preselects the project (from its five-openness page)."""
    code = request.GET.get("project") or request.POST.get("project") or ""
    project = None
    if code and not services.valid_number(code):
        raise Http404("no such project")
    if code:
        project = trading_selectors.visible_projects(request.user).filter(code=code).first()
        if project is None:
            raise Http404("no such project")
    role = role_of(request.user)
    if role not in ("bidder", "public"):
        messages.error(request, _("Cases are filed by bidders and members of the public."))
        return redirect("cases-index")
    kinds = _kinds_for(request.user, project)
    status, form = 200, {}
    if request.method == "POST":
        form = request.POST
        try:
            lot = None
            if project is not None and form.get("lot"):
                lot = project.lots.filter(number=int(form["lot"])).first() \
                    if form["lot"].isdigit() and len(form["lot"]) <= 6 else None
                if lot is None:
                    raise Invalid(_("no such lot in this project"), field="lot")
            known_on = None
            if form.get("known_on"):
                try:
                    known_on = dt.date.fromisoformat(form["known_on"])
                except ValueError:
                    raise Invalid(_("the day you knew must look like 2026-04-01"), field="known_on") from None
            follows = None
            if form.get("follows"):
                number = form["follows"].strip()
                follows = selectors.visible_cases(request.user).filter(number=number).first() \
                    if services.valid_number(number) else None
                if follows is None:
                    raise Invalid(_("follows: no such case of yours"), field="follows")
            case = services.file_case(
                actor=request.user if role != "public" else None, kind=form.get("kind", ""), project=project, lot=lot,
                subject=form.get("subject", ""), text=form.get("text", ""), known_on=known_on, follows=follows,
                name=form.get("name", ""), contact=form.get("contact", ""), attachments=_uploads(request))
        except DomainError as exc:
            messages.error(request, exc.message)
            status = exc.status_code
        else:
            if case.token:
                # the follow-up code is shown once, on this page: the public filer keeps it
                return render(request, "frontend/cases/filed.html", {"case": case, "token": case.token,
                                                                     "countdown": _countdown(case)}, status=201)
            messages.success(request, _("Filed: %(number)s") % {"number": case.number})
            return redirect("case-page", number=case.number)
    return render(request, "frontend/cases/new.html", {
        "project": project, "kinds": kinds, "form": form, "public": role == "public",
        "lots": list(project.lots.order_by("number")) if project else []}, status=status)


def follow(request):
    """A member of the public follows a case with its number and follow-up code."""
    number, token = request.GET.get("number", "").strip(), request.GET.get("token", "").strip()
    if number and token:
        return redirect(f"{reverse('case-page', args=[number])}?{urlencode({'token': token})}")
    return render(request, "frontend/cases/follow.html", {})


def _case_for(request, number: str) -> Case:
    token = request.GET.get("token") or request.POST.get("token") or ""
    if token:
        try:
            return services.case_by_token(number=number, token=token)
        except DomainError:
            raise Http404("no such case") from None
    case = Case.objects.filter(number=number).select_related("project", "lot", "follows").first() \
        if services.valid_number(number) else None
    if case is None or not request.user.is_authenticated or not selectors.can_see(request.user, case):
        raise Http404("no such case")
    return case


def detail(request, number: str):
    case = _case_for(request, number)
    role = role_of(request.user)
    staff_of = role == "staff" and (case.project is None or case.project.centre_id == request.user.organisation_id)
    supervisor_of = role == "supervisor" and case.project is not None \
        and case.project.supervisor_id == request.user.organisation_id
    return render(request, "frontend/cases/detail.html", {
        "case": case, "rule": case.rule, "countdown": _countdown(case), "token": request.GET.get("token", ""),
        "answer_text": services._scrub(case.answer, case),
        "can_answer": staff_of and case.status == "filed" and case.family in ("objection", "disclosure"),
        "can_extend": staff_of and case.status == "filed" and case.family == "disclosure" and not case.extended,
        "can_accept": supervisor_of and case.status == "filed" and case.family == "complaint",
        "can_decide": supervisor_of and case.status == "accepted",
        "can_suspend": supervisor_of and case.is_open and case.family == "complaint",
        "suspension": selectors.suspension_of(case.project) if case.project else None,
        "can_withdraw": request.user.is_authenticated and case.filer_id == request.user.pk and case.is_open,
        "refusals": DISCLOSURE_REFUSALS, "complaint_refusals": services.COMPLAINT_REFUSALS,
        "remedies": services.remedy_choices(case), "attachments": case.attachments.all(),
    })


@require_POST
def act(request, number: str, action: str):
    case = _case_for(request, number)
    p, user = request.POST, request.user
    actions: dict[str, Callable[[], object]] = {
        "answer": lambda: services.answer_case(actor=user, case=case, outcome=p.get("outcome", ""),
                                               answer=p.get("answer", ""), remedy=p.get("remedy", ""),
                                               ground=p.get("ground", ""), attachments=_uploads(request)),
        "extend": lambda: services.extend_case(actor=user, case=case, reason=p.get("reason", "")),
        "accept": lambda: services.accept_complaint(actor=user, case=case),
        "refuse": lambda: services.refuse_complaint(actor=user, case=case, ground=p.get("ground", ""),
                                                    answer=p.get("answer", "")),
        "decide": lambda: services.decide_complaint(actor=user, case=case, outcome=p.get("outcome", ""),
                                                    decision=p.get("decision", ""), remedy=p.get("remedy", "")),
        "withdraw": lambda: services.withdraw_case(actor=user, case=case),
    }
    if case.project is not None:
        project = case.project
        actions["suspend"] = lambda: services.suspend_project(actor=user, project=project, case=case,
                                                              reason=p.get("reason", ""))
        actions["resume"] = lambda: services.resume_project(actor=user, project=project)
    if action not in actions or not user.is_authenticated:
        raise Http404("no such action")
    try:
        actions[action]()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Recorded."))
    return redirect("case-page", number=case.number)


def report(request, year: int):
    if not (2000 <= year <= 2200):
        raise Http404("no report for that year")
    data = annual.build(year)
    return render(request, "frontend/cases/report.html", {"r": data, "rows": annual.rows(data), "year": year,
                                                          "years": range(timezone.localdate().year, 2019, -1)})


def report_csv(request, year: int):
    if not (2000 <= year <= 2200):
        raise Http404("no report for that year")
    response = HttpResponse(annual.to_csv(annual.build(year)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="openness-report-{year}.csv"'
    return response


def report_latest(request):
    return redirect("openness-report", year=timezone.localdate().year)


urlpatterns = [
    path("cases/", index, name="cases-index"),
    path("cases/new/", new, name="case-new"),
    path("cases/follow/", follow, name="case-follow"),
    path("cases/<str:number>/", detail, name="case-page"),
    path("cases/<str:number>/<str:action>/", act, name="case-act"),
    path("openness-report/", report_latest, name="openness-report-latest"),
    path("openness-report/<int:year>/", report, name="openness-report"),
    path("openness-report/<int:year>.csv", report_csv, name="openness-report-csv"),
]
