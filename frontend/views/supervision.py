"""Supervisor console for electronic supervision: live alerts and acting on them. Thin."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from supervision import lifecycle, selectors, services
from django.utils.functional import lazy

from frontend.lists import Filter, list_page
from frontend.templatetags.sunlight import in_language
from supervision.models import KINDS, SEVERITIES, Alert
from trading.errors import DomainError, NotFound
from trading.permissions import require_role
from django.utils.translation import gettext_lazy as _


@login_required
def console(request):
    require_role(request.user, "supervisor")
    label = lazy(in_language, str)
    lst = list_page(request, selectors.visible_alerts(request.user), per_page=50,
                    search=("title", "title_en", "project__code", "project__title"),
                    search_label=_("Alert or project"), filters=[
        Filter("status", _("Status"), "status", default="open", where=_alert_status_q,
               choices=[("open", _("Open")), *((k, label(v)) for k, v in lifecycle.STATUSES.items()), ("all", _("All"))]),
        Filter("severity", _("Severity"), "severity", choices=[(k, label(v)) for k, v in SEVERITIES.items()]),
        Filter("kind", _("Kind"), "kind", choices=[(k, label(v)) for k, v in KINDS.items()]),
        Filter("from", _("Raised from"), "raised_at", kind="from"),
        Filter("to", _("Raised until"), "raised_at", kind="to")])
    return render(request, "frontend/supervision/console.html", {
        "alerts": [selectors.alert_row(a) for a in lst.page], "lst": lst, "status": lst.params["status"],
        "statuses": lifecycle.STATUSES, "escalations": lifecycle.ESCALATIONS,
    }, status=lst.status)


def _alert_status_q(value: str) -> Q:
    if value == "open":
        return Q(status__in=["new", "acknowledged"])
    return Q() if value == "all" else Q(status=value)


@login_required
def alert_detail(request, ref: str):
    require_role(request.user, "supervisor")
    alert = selectors.visible_alerts(request.user).filter(ref=ref).first()
    if alert is None:
        raise NotFound(_("no such alert"))
    suspension = None
    if alert.escalation == "suspension" and alert.project is not None:
        from trading.challenges.selectors import suspension_of

        suspension = suspension_of(alert.project)
    return render(request, "frontend/supervision/alert.html", {
        "alert": selectors.alert_row(alert), "steps": alert.steps.select_related("actor"),
        "escalations": lifecycle.ESCALATIONS, "suspension": suspension})


@login_required
@require_POST
def act(request, ref: str):
    try:
        services.act_on_alert(actor=request.user, alert=ref, action=request.POST.get("action", ""),
                              reason=request.POST.get("reason", ""), escalation=request.POST.get("escalation", ""))
    except NotFound:
        raise
    except DomainError as exc:  # refused (e.g. the project is already suspended): nothing changed, said why
        messages.error(request, exc.message)
    return redirect("supervision-alert", ref=ref)


urlpatterns = [
    path("supervise/alerts/", console, name="supervision-console"),
    path("supervise/alerts/<str:ref>/", alert_detail, name="supervision-alert"),
    path("supervise/alerts/<str:ref>/act/", act, name="supervision-act"),
]

_unused = Alert  # the console reads alerts only through supervision.selectors
