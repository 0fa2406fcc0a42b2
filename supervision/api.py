"""Supervision API (mounted at /api/supervision/). Thin: parse, call the service, render."""
from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response

from supervision import selectors, services
from trading.errors import Invalid, NotFound
from trading.permissions import require_role
from trading.schema import listof, mapping, shape


def _ref(value: str) -> str:
    """An alert's public handle (24 hex digits); anything else answers as a missing alert."""
    if len(value) != 24 or any(c not in "0123456789abcdef" for c in value):
        raise NotFound(_("no such alert"))
    return value


ALERT_LIST = shape("SupervisionAlertList", {"alerts": listof(mapping(), help_text="newest first")})
ALERT = shape("SupervisionAlertActed", {"alert": mapping()})


@extend_schema(request=None, responses={200: ALERT_LIST})
@api_view(["GET"])
def alerts(request):
    """The alerts a supervisor may see now (newest first; ?status=new|acknowledged|dismissed|escalated)."""
    require_role(request.user, "supervisor")
    qs = selectors.visible_alerts(request.user)
    status = request.query_params.get("status")
    if status:
        from supervision.lifecycle import STATUSES

        if status not in STATUSES:
            raise Invalid(_("unknown status %(status)r"), status=status, field="status")
        qs = qs.filter(status=status)
    return Response({"alerts": [selectors.alert_row(a) for a in qs[:500]]})


@extend_schema(request=OpenApiTypes.OBJECT, responses={200: ALERT})
@api_view(["POST"])
def act(request, ref: str):
    """Act on an alert: {"action": "acknowledge" | "dismiss" | "escalate", "reason": "...",
    "escalation": "suspension" | "investigation"}."""
    data = request.data if isinstance(request.data, dict) else {}
    fields = {k: data.get(k, "") for k in ("action", "reason", "escalation")}
    for k, v in fields.items():
        if not isinstance(v, str):
            raise Invalid(_("%(k)s must be text"), k=k, field=k)
    alert = services.act_on_alert(actor=request.user, alert=_ref(ref), **fields)
    return Response({"alert": selectors.alert_row(alert)})


urlpatterns = [
    path("alerts/", alerts, name="api-supervision-alerts"),
    path("alerts/<str:ref>/actions/", act, name="api-supervision-act"),
]
