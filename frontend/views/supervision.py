"""Supervisor console for electronic supervision: live alerts and acting on them. Thin."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from supervision import lifecycle, selectors, services
from supervision.models import Alert
from trading.errors import DomainError, NotFound
from trading.permissions import require_role
from django.utils.translation import gettext_lazy as _


@login_required
def console(request):
    require_role(request.user, "supervisor")
    status = request.GET.get("status", "open")
    qs = selectors.visible_alerts(request.user)
    if status == "open":
        qs = qs.filter(status__in=["new", "acknowledged"])
    elif status in lifecycle.STATUSES:
        qs = qs.filter(status=status)
    return render(request, "frontend/supervision/console.html", {
        "alerts": [selectors.alert_row(a) for a in qs[:300]], "status": status, "statuses": lifecycle.STATUSES,
        "escalations": lifecycle.ESCALATIONS,
    })


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
