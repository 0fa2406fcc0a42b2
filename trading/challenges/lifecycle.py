"""The lifecycle of a case as an explicit transition table (pure).

Objections, procurement challenges and disclosure requests are answered; complaints are accepted (or
refused) and then decided. Every row: from-status, action, to-status, who may act, the families it
belongs to. ``find`` gives the row or a Conflict naming the current status.
"""
from __future__ import annotations

from dataclasses import dataclass

from trading.errors import Conflict, Forbidden
from django.utils.translation import gettext_lazy as _

STATUSES = {
    "filed": ("已提交", "Filed"),
    "accepted": ("已受理", "Accepted"),
    "answered": ("已答复", "Answered"),
    "refused": ("不予受理", "Not accepted"),
    "decided": ("已作出处理决定", "Decided"),
    "withdrawn": ("已撤回", "Withdrawn"),
}
OPEN = frozenset({"filed", "accepted"})
FINAL = frozenset({"answered", "refused", "decided", "withdrawn"})


@dataclass(frozen=True)
class Step:
    source: str
    action: str
    target: str
    roles: frozenset[str]  # staff | supervisor | filer | system
    families: frozenset[str]


def _s(source, action, target, roles, families) -> Step:
    return Step(source, action, target, frozenset(roles), frozenset(families))


STEPS: tuple[Step, ...] = (
    _s("filed", "answer", "answered", {"staff"}, {"objection", "disclosure"}),
    _s("filed", "extend", "filed", {"staff"}, {"disclosure"}),
    _s("filed", "accept", "accepted", {"supervisor"}, {"complaint"}),
    _s("filed", "refuse", "refused", {"supervisor"}, {"complaint"}),
    _s("accepted", "decide", "decided", {"supervisor"}, {"complaint"}),
    _s("filed", "withdraw", "withdrawn", {"filer"}, {"objection", "complaint", "disclosure"}),
    _s("accepted", "withdraw", "withdrawn", {"filer"}, {"complaint"}),
)
OUTCOMES = {
    "answer": {"objection": ("upheld", "dismissed"), "disclosure": ("disclosed", "refused")},
    "decide": {"complaint": ("upheld", "dismissed")},
}


def find(*, family: str, status: str, action: str) -> Step:
    for step in STEPS:
        if step.source == status and step.action == action and family in step.families:
            return step
    possible = available(family=family, status=status)
    hint = f"; possible now: {', '.join(possible)}" if possible else "; no further step is possible"
    raise Conflict(_("cannot %(action)s a case that is %(status)s%(hint)s"), action=action, status=status, hint=hint)


def check_role(step: Step, role: str) -> None:
    if role not in step.roles:
        raise Forbidden(_("only %(choices)s may %(action)s this case"), choices=' or '.join(sorted(step.roles)), action=step.action)


def available(*, family: str, status: str) -> list[str]:
    return [s.action for s in STEPS if s.source == status and family in s.families]
