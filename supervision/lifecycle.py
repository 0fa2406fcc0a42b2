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
from django.utils.translation import gettext_lazy as _

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
        raise Invalid(_("unknown alert action %(action)r; expected one of %(ACTIONS)s"), action=action, ACTIONS=', '.join(ACTIONS), field="action")
    step = next((t for t in TRANSITIONS if t.source == status and t.action == action), None)
    if step is None:
        possible = available(status)
        hint = f"; possible now: {', '.join(possible)}" if possible else "; it is closed"
        raise Conflict(_("cannot %(action)s an alert that is %(status)s%(hint)s"), action=action, status=status, hint=hint)
    if step.needs_reason and not reason.strip():
        raise Invalid(_("a reason is required to %(action)s an alert"), action=action, field="reason")
    if action == "escalate" and escalation not in ESCALATIONS:
        raise Invalid(_("escalate to one of %(ESCALATIONS)s"), ESCALATIONS=', '.join(ESCALATIONS), field="escalation")
    if action != "escalate" and escalation:
        raise Invalid(_("only an escalation names where it goes"), field="escalation")
    return step
