"""The alert lifecycle as an explicit transition table (pure: no database).

    new ──acknowledge──▶ acknowledged
    new | acknowledged ──dismiss (reason)──▶ dismissed
    new | acknowledged ──escalate (reason, to suspension | investigation)──▶ escalated

Dismissed and escalated are final. Only supervisors act on alerts; every step is an audit event
(``supervision.alert_<action>``) and a row of ``AlertStep``.
"""
from __future__ import annotations

from dataclasses import dataclass

from trading.errors import Conflict, Invalid

STATUSES = {
    "new": ("新预警", "New"),
    "acknowledged": ("已确认", "Acknowledged"),
    "dismissed": ("已排除", "Dismissed"),
    "escalated": ("已移送", "Escalated"),
}
FINAL = frozenset({"dismissed", "escalated"})
ESCALATIONS = {
    "suspension": ("暂停项目", "Suspension of the project"),
    "investigation": ("立案调查", "Investigation"),
}


@dataclass(frozen=True)
class Step:
    source: str
    action: str
    target: str
    needs_reason: bool = False


TRANSITIONS: tuple[Step, ...] = (
    Step("new", "acknowledge", "acknowledged"),
    Step("new", "dismiss", "dismissed", needs_reason=True),
    Step("acknowledged", "dismiss", "dismissed", needs_reason=True),
    Step("new", "escalate", "escalated", needs_reason=True),
    Step("acknowledged", "escalate", "escalated", needs_reason=True),
)
ACTIONS = sorted({t.action for t in TRANSITIONS})


def available(status: str) -> list[str]:
    return [t.action for t in TRANSITIONS if t.source == status]


def find(*, status: str, action: str, reason: str = "", escalation: str = "") -> Step:
    """The row for (status, action), or a clear 4xx: unknown action, wrong state, missing reason."""
    if action not in ACTIONS:
        raise Invalid(f"unknown alert action {action!r}; expected one of {', '.join(ACTIONS)}", field="action")
    step = next((t for t in TRANSITIONS if t.source == status and t.action == action), None)
    if step is None:
        possible = available(status)
        hint = f"; possible now: {', '.join(possible)}" if possible else "; it is closed"
        raise Conflict(f"cannot {action} an alert that is {status}{hint}")
    if step.needs_reason and not reason.strip():
        raise Invalid(f"a reason is required to {action} an alert", field="reason")
    if action == "escalate" and escalation not in ESCALATIONS:
        raise Invalid(f"escalate to one of {', '.join(ESCALATIONS)}", field="escalation")
    if action != "escalate" and escalation:
        raise Invalid("only an escalation names where it goes", field="escalation")
    return step
