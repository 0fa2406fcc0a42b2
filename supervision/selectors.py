"""Reads of supervision's rows for pages, the API, the websocket and the replay-equals-live check."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone

from supervision import lifecycle
from supervision.models import KINDS, SEVERITIES, Alert
from audit import timestamps
from trading.money import decimal_keys


iso = timestamps.iso


def visible_alerts(user, now: dt.datetime | None = None):
    """The alerts a supervisor may see now: never one before its deadline releases it. Supervisors read
    everything (管办分离); their own department's come first on the console."""
    now = now or timezone.now()
    if getattr(user, "role", None) != "supervisor":
        return Alert.objects.none()
    return Alert.objects.filter(visible_from__lte=now).select_related("project", "lot")


def own_first(user, qs):
    return qs.filter(Q(supervisor_org_id=user.organisation_id) | Q(supervisor_org__isnull=True))


def alert_row(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.ref, "key": alert.key, "kind": alert.kind, "kind_label": KINDS[alert.kind][0],
        "rule": alert.rule, "severity": alert.severity, "severity_label": SEVERITIES[alert.severity][0],
        "title": alert.title, "title_en": alert.title_en, "basis": alert.basis,
        "evidence": decimal_keys(alert.evidence),
        "project": alert.project.code if alert.project is not None else None, "lot": alert.lot_id,
        "status": alert.status, "status_label": lifecycle.STATUSES[alert.status][0],
        "escalation": alert.escalation, "raised_at": iso(alert.raised_at), "visible_from": iso(alert.visible_from),
        "actions": lifecycle.available(alert.status),
    }


def live_supervision(project, now: dt.datetime) -> dict | None:
    """The live counterpart of the replayed ``supervision`` section (alerts of this project)."""
    alerts = {}
    for a in Alert.objects.filter(project=project, raised_at__lte=now).order_by("id"):
        alerts[a.key] = {"kind": a.kind, "rule": a.rule, "severity": a.severity, "status": a.status,
                         "escalation": a.escalation, "visible_from": iso(a.visible_from)}
    return {"alerts": alerts} if alerts else None  # like the replay: no section without alerts
