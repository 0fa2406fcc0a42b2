"""Replay reducers for supervision's own events (registered with the audit replay engine when the app
is ready): the ``supervision`` section holds each alert of the project and its lifecycle state."""
from __future__ import annotations

from audit.replay import on, section


def _alerts(state: dict) -> dict:
    return section(state, "supervision", lambda: {"alerts": {}})["alerts"]


@on("supervision.alert_raise", "supervision.embargoed_alert")
def _raise(state: dict, ev) -> None:
    p = ev.payload
    _alerts(state)[p["key"]] = {"kind": p["kind"], "rule": p["rule"], "severity": p["severity"], "status": "new",
                                "escalation": "", "visible_from": p["visible_from"]}


@on("supervision.alert_acknowledge", "supervision.alert_dismiss", "supervision.alert_escalate")
def _step(state: dict, ev) -> None:
    p = ev.payload
    alert = _alerts(state)[p["key"]]
    alert["status"] = p["to"]
    alert["escalation"] = p.get("escalation", "")
