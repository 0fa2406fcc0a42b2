"""Who may read which audit event, who may know that it exists, and until when: the one rule.

Every surface that shows audit events (the API's listings, the supervisors' console, archives,
completeness commitments) asks this module; nothing else decides.

An event has a visibility chosen when it was written ("public", "supervisors", "sealed"). On top of
that, **bidder activity before a lot's bid deadline is embargoed**: a non-public event about a
project (or naming a lot) that records what bidders did — registrations, deposits, envelopes, bidder
numbers, or anything a bidder's own account did — written before the deadline of its lot (or of the
project's last lot when the event names none), is, until that deadline:

- unknown to everybody, supervisors and staff included (NONE): a project's listing does not contain
  it and does not count it, so nobody can tell whether anyone registered, paid or submitted;
- in the log as a whole only its leaf hash, without its project (as every non-public event), so the
  Merkle tree and its proofs stay whole for everyone.

At the deadline the embargo lifts by itself (nothing is rewritten: the events were in the log all
along): supervisors read them in full, everybody else may know they exist and read their leaf
hashes, so a project's completeness can be proven from then on. Other sealed events (a reserve
price) open to supervisors only once every lot of the project has its result.

audit imports nothing of the other apps: the deadline facts come from the provider named in the
setting ``SUNLIGHT_AUDIT_HORIZONS`` (a dotted path to ``provider(project_ids, lot_ids) -> Facts``),
which the trading app supplies.
"""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Events recording what bidders did (besides any event whose actor is a bidder). Prefix match.
# supervision.embargoed_alert: an alert computed before a deadline from what bidders did (issue 16).
BIDDER_ACTIVITY = ("registration.", "deposit.", "envelope.", "auction.number", "bidder_key.",
                   "supervision.embargoed_alert")
SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})


class Disclosure(enum.IntEnum):
    NONE = 0  # the viewer may not even know the event exists (absent from project listings and counts)
    HASH = 1  # the viewer may know it exists: leaf hash only
    FULL = 2  # the viewer may read the event


@dataclass(frozen=True)
class Horizon:
    """One project's facts: each lot's bid deadline, and whether every lot has its result."""

    lot_deadlines: Mapping[int, dt.datetime] = field(default_factory=dict)
    result_known: bool = False

    @property
    def last_deadline(self) -> dt.datetime | None:
        return max(self.lot_deadlines.values()) if self.lot_deadlines else None


@dataclass(frozen=True)
class Facts:
    """What the provider answers: horizons by project id and deadlines by lot id."""

    projects: Mapping[int, Horizon] = field(default_factory=dict)
    lots: Mapping[int, dt.datetime] = field(default_factory=dict)


def is_supervisor(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "role", "") in SUPERVISOR_ROLES


def _lot_of(body: Mapping[str, Any]) -> int | None:
    lot = (body.get("payload") or {}).get("lot")
    return lot if isinstance(lot, int) and not isinstance(lot, bool) else None


def is_bidder_activity(action: str, actor_role: str) -> bool:
    return actor_role == "bidder" or action.startswith(BIDDER_ACTIVITY)


def embargo_until(*, action: str, actor_role: str, visibility: str, project_id: int | None, lot_id: int | None,
                  created_at: dt.datetime, facts: Facts) -> dt.datetime | None:
    """The deadline until which nobody may know this event exists, or None if it is not embargoed.

    An event whose lot or project the provider does not know is embargoed forever (fail closed)."""
    if visibility == "public" or not is_bidder_activity(action, actor_role):
        return None
    deadline: dt.datetime | None = None
    if lot_id is not None and lot_id in facts.lots:
        deadline = facts.lots[lot_id]
    elif project_id is not None:
        horizon = facts.projects.get(project_id)
        deadline = horizon.last_deadline if horizon is not None else None
        if deadline is None:
            return dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    elif lot_id is not None:
        return dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    else:
        return None  # neither project nor lot: the log's own business (hash only for all but supervisors)
    return deadline if created_at < deadline else None


def disclosure(*, action: str, actor_role: str, visibility: str, project_id: int | None, lot_id: int | None,
               created_at: dt.datetime, supervisor: bool, facts: Facts, now: dt.datetime) -> Disclosure:
    """What a viewer (a supervisor or not) may know of one event at `now`."""
    if visibility == "public":
        return Disclosure.FULL
    until = embargo_until(action=action, actor_role=actor_role, visibility=visibility, project_id=project_id,
                          lot_id=lot_id, created_at=created_at, facts=facts)
    if until is not None and now < until:
        return Disclosure.NONE
    if not supervisor:
        return Disclosure.HASH
    if visibility == "sealed" and not is_bidder_activity(action, actor_role):
        # other sealed events (a reserve price) stay sealed to supervisors too until every lot has its result
        horizon = facts.projects.get(project_id) if project_id is not None else None
        return Disclosure.FULL if horizon is not None and horizon.result_known else Disclosure.HASH
    return Disclosure.FULL


def of_event(event: Any, *, supervisor: bool, facts: Facts, now: dt.datetime) -> Disclosure:
    """`disclosure` for an `audit.models.Event`."""
    if event.visibility == "public":
        return Disclosure.FULL
    return disclosure(action=event.action, actor_role=event.actor_role, visibility=event.visibility,
                      project_id=event.project_id, lot_id=_lot_of(event.body), created_at=event.created_at,
                      supervisor=supervisor, facts=facts, now=now)


def facts_for(events: Iterable[Any] = (), *, project_ids: Iterable[int] = ()) -> Facts:
    """Ask the owning app (setting SUNLIGHT_AUDIT_HORIZONS) for the facts these events need."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    projects, lots = set(project_ids), set()
    for e in events:
        if e.visibility == "public":
            continue
        if e.project_id is not None:
            projects.add(e.project_id)
        lot = _lot_of(e.body)
        if lot is not None:
            lots.add(lot)
    if not projects and not lots:
        return Facts()
    provider = import_string(settings.SUNLIGHT_AUDIT_HORIZONS)
    return provider(sorted(projects), sorted(lots))


def project_events(project_id: int, *, user: Any, now: dt.datetime | None = None, after: int | None = None,
                   limit: int | None = None) -> tuple[list[tuple[Any, Disclosure]], int | None]:
    """A project's events the viewer may know of, in log order, each with what it may see of it.

    Returns (rows, next_after): next_after is the id to page on from when `limit` rows were returned
    (else None); it never tells how many events the viewer was not shown."""
    from django.utils import timezone

    from audit.models import Event

    now = now or timezone.now()
    supervisor = is_supervisor(user)
    facts = facts_for(project_ids=[project_id])
    out: list[tuple[Any, Disclosure]] = []
    start, batch = after, 1000
    while True:
        qs = Event.objects.filter(project_id=project_id).order_by("id")
        if start is not None:
            qs = qs.filter(id__gt=start)
        page = list(qs[:batch])
        more = facts_for(page)
        if more.lots:
            facts = Facts(projects={**more.projects, **facts.projects}, lots={**facts.lots, **more.lots})
        for e in page:
            d = of_event(e, supervisor=supervisor, facts=facts, now=now)
            if d is not Disclosure.NONE:
                out.append((e, d))
                if limit is not None and len(out) >= limit:
                    return out, e.pk
        if len(page) < batch:
            return out, None
        start = page[-1].pk
