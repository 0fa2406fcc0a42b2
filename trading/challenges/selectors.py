"""Reads of cases shared by the API, the pages, replay-equals-live and electronic supervision."""
from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from audit.timestamps import iso
from trading.challenges import clocks, lifecycle
from trading.challenges.models import Case, Suspension
from trading.permissions import role_of


def live_challenges(project, now) -> dict:
    """The live counterpart of ``trading.challenges.replay`` (section "challenges")."""
    cases = {}
    for c in Case.objects.filter(project=project).order_by("id"):
        cases[c.number] = {"kind": c.kind, "lot": c.lot_id, "status": c.status, "clock": c.clock,
                           "due_at": iso(c.due_at), "calendar_unknown": c.calendar_unknown, "outcome": c.outcome,
                           "remedy": c.remedy, "extended": c.extended, "overdue": c.overdue_flagged, "late": c.late}
    suspensions = [{"case": s.case.number if s.case is not None else None, "started_at": iso(s.started_at),
                    "limit_at": iso(s.limit_at), "lifted_at": iso(s.lifted_at)}
                   for s in Suspension.objects.filter(project=project).select_related("case").order_by("id")]
    return {"cases": cases, "suspensions": suspensions}


def reply_deadlines(now: dt.datetime | None = None) -> list[dict]:
    """Every running reply clock of every case, for electronic supervision (yellow / red cards): what is due,
    by when, under which article; ``due_at`` None with ``calendar_unknown`` when the calendar is not loaded;
    ``suspended`` while the project's clocks are stopped."""
    from trading.challenges.services import running_clock

    now = now or timezone.now()
    suspended = set(Suspension.objects.filter(lifted_at__isnull=True).values_list("project_id", flat=True))
    out = []
    for c in Case.objects.filter(status__in=lifecycle.OPEN).select_related("project").order_by("due_at", "id"):
        clock = running_clock(c)
        out.append({"subject": f"case:{c.number}", "case": c.number, "kind": c.kind, "project": c.project_id,
                    "lot": c.lot_id, "clock": c.clock, "started_at": c.clock_started_at, "due_at": c.due_at,
                    "calendar_unknown": c.calendar_unknown, "suspended": c.project_id in suspended,
                    "late": bool(c.due_at and now > c.due_at), "basis": clock.basis if clock else "",
                    "period": clock.describe() if clock else ""})
    return out


def visible_cases(user, *, project=None):
    """Cases a user may follow: a bidder its organisation's; staff their centre's; supervisors all."""
    role = role_of(user)
    qs = Case.objects.select_related("project", "lot").order_by("-filed_at", "-id")
    if project is not None:
        qs = qs.filter(project=project)
    if role == "bidder":
        return qs.filter(Q(filer_org_id=user.organisation_id) | Q(filer=user))
    if role == "staff":
        return qs.filter(Q(project__centre_id=user.organisation_id) | Q(project__isnull=True))
    if role in ("supervisor", "admin"):
        return qs
    return qs.none()


def can_see(user, case: Case) -> bool:
    return visible_cases(user).filter(pk=case.pk).exists()


def published_cases(project):
    """What the public sees: answers and decisions, without who filed them (personal details removed)."""
    return Case.objects.filter(project=project, status__in=["answered", "decided", "refused"]).order_by("closed_at", "id")


def countdown(case: Case, now: dt.datetime | None = None) -> dict:
    return clocks.remaining(case.due_at if case.is_open else None, now or timezone.now())


def suspended_project_ids(now: dt.datetime) -> set[int]:
    """Projects suspended at `now` (their clocks stop): for electronic supervision's watched clocks."""
    return set(Suspension.objects.filter(started_at__lte=now).filter(Q(lifted_at__isnull=True) | Q(lifted_at__gt=now))
               .values_list("project_id", flat=True))


def suspension_of(project) -> Suspension | None:
    return Suspension.objects.filter(project=project, lifted_at__isnull=True).select_related("case").first()
