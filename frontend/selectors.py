"""Live project state in the same shape as ``audit.replay`` builds from events.

``LIVE_SECTIONS`` maps a replay section name to a function ``(project, now) -> dict`` that reads
the live tables. Each capability adds one line here next to its ``<app>/replay.py``; the
replay-equals-live test compares exactly these sections.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone
from django.utils.module_loading import import_string

from audit.replay import iso
from trading.replay import LOT_FIELDS, PROJECT_FIELDS, SCHEDULE_FIELDS


def live_trading(project, now: dt.datetime) -> dict:
    from trading.models import Document

    p = {f: getattr(project, f) for f in PROJECT_FIELDS if f not in ("owner", "agent", "centre", "supervisor")}
    p.update(owner=project.owner_id, agent=project.agent_id, centre=project.centre_id, supervisor=project.supervisor_id)
    lots = {}
    for lot in project.lots.order_by("number"):
        row = {f: getattr(lot, f) for f in LOT_FIELDS + SCHEDULE_FIELDS}
        row.update({f: iso(row[f]) for f in ("notice_at",) + SCHEDULE_FIELDS})
        lots[str(lot.pk)] = row
    notices = [
        {"number": n.number, "kind": n.kind, "title": n.title, "lot": n.lot_id, "published_at": iso(n.published_at)}
        for n in project.notices.order_by("event_id")
    ]
    documents = [
        {"id": d.pk, "notice": d.notice_id, "name": d.name, "sha256": d.sha256, "size": d.size, "access": d.access}
        for d in Document.objects.filter(notice__project=project).order_by("id")
    ]
    return {"project": p, "lots": lots, "notices": notices, "documents": documents}


LIVE_SECTIONS: dict[str, str | Callable] = {
    "trading": live_trading,
    "evaluation": "bidding.evaluation.selectors.live_evaluation",
    "envelopes": "bidding.envelopes.selectors.live_envelopes",
    "auction": "bidding.auction.selectors.live_auction_state",
    "deposits": "deposits.selectors.live_deposits",
    "registrations": "bidding.selectors.live_registrations",
    "supervision": "supervision.selectors.live_supervision",
    "challenges": "trading.challenges.selectors.live_challenges",
}


def project_state(project, now: dt.datetime | None = None) -> dict:
    """The live state of a project, section by section (see LIVE_SECTIONS)."""
    now = now or timezone.now()
    out = {}
    for name, fn in LIVE_SECTIONS.items():
        fn = import_string(fn) if isinstance(fn, str) else fn
        out[name] = fn(project, now)
    return out


def replayed_state(project, as_of: dt.datetime | None = None, *, events=None) -> dict:
    """The state rebuilt from the project's audit events alone (or from `events`, the ones a viewer
    may know of), as of a moment (default: now)."""
    from audit.models import Event
    from audit.replay import Ev, replay

    if events is None:
        events = Event.objects.filter(project_id=project.pk).order_by("id")
    return replay((Ev.from_body(e.body, e.pk) for e in events), as_of=as_of or timezone.now())


def replay_differences(project, now: dt.datetime | None = None) -> list[str]:
    """Where replay at ``now`` and the live state disagree (empty = they agree)."""
    from audit.replay import diff

    now = now or timezone.now()
    live = project_state(project, now)
    replayed = replayed_state(project, now)
    return diff({k: replayed.get(k) for k in live}, live)
