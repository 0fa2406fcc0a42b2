"""Reads shared by the API and the pages."""
from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from trading import lifecycle
from trading.models import Document, Lot, Project
from trading.permissions import role_of
from trading.lifecycle import LotStatus


def visible_projects(user) -> QuerySet[Project]:
    role = role_of(user)
    qs = Project.objects.select_related("owner", "agent", "centre", "supervisor")
    published = Exists(Lot.objects.filter(project=OuterRef("pk")).exclude(status=LotStatus.DRAFT))
    if role in ("supervisor", "admin"):
        return qs
    if role == "staff":
        return qs.filter(published | Q(centre_id=user.organisation_id))
    return qs.filter(published)


def project_status(project: Project) -> str:
    """A project's status summarised from its lots (the lots carry the lifecycle)."""
    statuses = [lot.status for lot in project.lots.all()]
    if not statuses:
        return LotStatus.DRAFT
    if all(s in lifecycle.FINAL for s in statuses):
        if all(s == LotStatus.TERMINATED for s in statuses):
            return LotStatus.TERMINATED
        if all(s == "failed" for s in statuses):
            return "failed"
        return "complete"
    open_ = [s for s in statuses if s not in lifecycle.FINAL]
    order = list(lifecycle.STATUSES)
    return min(open_, key=order.index)


def can_download(user, document: Document, now) -> bool:
    if document.access == "public":
        return True
    role = role_of(user)
    project = document.notice.project
    if role in ("supervisor", "admin") or (role == "staff" and user.organisation_id == project.centre_id):
        return True
    if role != "bidder":
        return False
    lots = project.lots.all() if document.notice.lot is None else [document.notice.lot]
    for lot in lots:
        in_period = (lot.doc_start is None or lot.doc_start <= now) and (lot.doc_end is None or now <= lot.doc_end)
        if in_period and lot.registrations.filter(bidder_id=user.organisation_id, status="active").exists():
            return True
    return False


# statuses in which a lot has its result (the audit rule opens result-sealed events then)
RESULT_STATES = frozenset({LotStatus.AWARDED, LotStatus.CONTRACTED, LotStatus.COMPLETE, LotStatus.FAILED, LotStatus.TERMINATED})


def audit_horizons(project_ids, lot_ids):
    """The deadline facts `audit.visibility` needs (setting SUNLIGHT_AUDIT_HORIZONS)."""
    from audit.visibility import Facts, Horizon

    rows = list(Lot.objects.filter(Q(project_id__in=list(project_ids)) | Q(pk__in=list(lot_ids)))
                .values_list("pk", "project_id", "bid_deadline", "status"))
    by_project: dict[int, list] = {}
    for pk, project_id, deadline, status in rows:
        by_project.setdefault(project_id, []).append((pk, deadline, status))
    projects = {pid: Horizon(lot_deadlines={pk: d for pk, d, _ in lots},
                             result_known=all(s in RESULT_STATES for _, _, s in lots))
                for pid, lots in by_project.items()}
    return Facts(projects=projects, lots={pk: deadline for pk, _, deadline, _ in rows})
