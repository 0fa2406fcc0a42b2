"""Staff console: create and publish projects with their lots and schedules, amend, attach documents, terminate."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from deposits.selectors import can_view_lot
from frontend.forms import AmendmentForm, DocumentForm, LotFormSet, ProjectForm, ReasonForm, apply_domain_error
from trading import selectors, services
from trading.errors import DomainError, Invalid
from trading.models import Notice, Project
from trading.permissions import require_role, require_staff_of
from frontend.homes import staff_dashboard
from frontend.lists import list_page, project_filters


@login_required
def home(request):
    """The staff home: today's and this week's work of the centre, then its projects (search, filters, pages)."""
    require_role(request.user, "staff")
    projects = Project.objects.filter(centre_id=request.user.organisation_id).prefetch_related("lots").order_by("-created_at", "-id")
    lst = list_page(request, projects, search=("code", "title"), filters=project_filters())
    return render(request, "frontend/staff/home.html", {
        "lst": lst, "projects": [(p, selectors.project_status(p)) for p in lst.page], **staff_dashboard(request.user),
    }, status=lst.status)


@login_required
def project_new(request):
    require_role(request.user, "staff")
    form = ProjectForm(request.POST or None)
    lots = LotFormSet(request.POST or None, prefix="lots")
    if request.method == "POST" and form.is_valid() and lots.is_valid():
        d = form.cleaned_data
        specs = []
        for lf in lots:
            if not lf.has_lot():
                continue
            l = lf.cleaned_data
            if not l.get("bid_deadline"):
                lf.add_error("bid_deadline", "the bid deadline is required")
                continue
            specs.append(services.LotSpec(
                title=l["title"], estimate_fen=l["estimate"] or 0, security_fen=l["security"] or 0,
                increment_fen=l["increment"] or 0, bid_deadline=l["bid_deadline"], doc_start=l["doc_start"],
                doc_end=l["doc_end"], auction_start=l["auction_start"], listing_start=l["listing_start"],
                listing_end=l["listing_end"], closing_rule=l["closing_rule"], evaluation_method=l["evaluation_method"],
                eligibility=[line.strip() for line in l["eligibility"].splitlines() if line.strip()],
            ))
        if not any(lf.errors for lf in lots):
            try:
                project = services.create_project(
                    actor=request.user, kind=d["kind"], method=d["method"], title=d["title"], owner=d["owner"],
                    agent=d["agent"], supervisor=d["supervisor"], region=d["region"], budget_fen=d["budget"],
                    state_funded=d["state_funded"], description=d["description"], lots=specs,
                )
            except Invalid as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(request, _("Project %(code)s created as a draft.") % {"code": project.code})
                return redirect("staff-project", code=project.code)
    return render(request, "frontend/staff/project_new.html", {"form": form, "lots": lots}, status=400 if request.method == "POST" else 200)


@login_required
def project_manage(request, code):
    project = get_object_or_404(Project, code=code)
    require_staff_of(request.user, project)
    lots = list(project.lots.order_by("number"))
    return render(request, "frontend/staff/project.html", {
        "project": project, "lots": lots, "deposit_views": {lot.pk for lot in lots if can_view_lot(request.user, lot)}, "status": selectors.project_status(project),
        "notices": project.notices.order_by("published_at", "id"), "amend_form": AmendmentForm(),
        "doc_form": DocumentForm(), "reason_form": ReasonForm(),
    })


def _act(request, code, action):
    project = get_object_or_404(Project, code=code)
    try:
        message = action(project)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("staff-project", code=code)
    messages.success(request, message)
    return redirect("staff-project", code=code)


@login_required
@require_POST
def project_publish(request, code):
    return _act(request, code, lambda p: _("Published notice %(number)s.") % {"number": services.publish_project(actor=request.user, project=p).number})


@login_required
@require_POST
def project_terminate(request, code):
    form = ReasonForm(request.POST)
    reason = form.data.get("reason", "")
    return _act(request, code, lambda p: _("Terminated: %(number)s.") % {"number": services.terminate_project(actor=request.user, project=p, reason=reason).number})


@login_required
@require_POST
def notice_amend(request, number):
    notice = get_object_or_404(Notice, number=number)
    form = AmendmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()))
        return redirect("staff-project", code=notice.project.code)
    d = form.cleaned_data
    return _act(request, notice.project.code, lambda p: _("Published %(number)s.") % {"number": services.publish_amendment(
        actor=request.user, notice=notice, title=d["title"], body=d["body"], kind=d["kind"],
        new_bid_deadline=d["new_bid_deadline"]).number})


@login_required
@require_POST
def notice_document(request, number):
    notice = get_object_or_404(Notice, number=number)
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()))
        return redirect("staff-project", code=notice.project.code)
    upload = form.cleaned_data["file"]
    return _act(request, notice.project.code, lambda p: _("Attached %(sha256)s.") % {"sha256": services.attach_document(
        actor=request.user, notice=notice, name=upload.name, content=upload.read(),
        content_type=upload.content_type or "application/octet-stream", access=form.cleaned_data["access"]).sha256})


urlpatterns = [
    path("staff/", home, name="staff-home"),
    path("staff/projects/new/", project_new, name="staff-project-new"),
    path("staff/projects/<str:code>/", project_manage, name="staff-project"),
    path("staff/projects/<str:code>/publish/", project_publish, name="staff-project-publish"),
    path("staff/projects/<str:code>/terminate/", project_terminate, name="staff-project-terminate"),
    path("staff/notices/<str:number>/amend/", notice_amend, name="staff-notice-amend"),
    path("staff/notices/<str:number>/documents/", notice_document, name="staff-notice-document"),
]
