"""Appending audit events. `record_event` runs inside the caller's transaction: the event commits
or rolls back together with the business change it describes."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.canonical import canonical_bytes
from audit.models import Event, Visibility

VISIBILITIES = {v.value for v in Visibility}


def event_time(at: dt.datetime) -> str:
    """The timestamp format inside canonical events (UTC, microseconds, Z)."""
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def actor_fields(actor: Any) -> dict[str, Any]:
    """Duck-typed: audit imports nothing of the other apps."""
    if actor is None:
        return {"id": None, "label": "system", "role": "system", "org": None}
    return {
        "id": actor.pk,
        "label": actor.get_username(),
        "role": getattr(actor, "role", "") or "",
        "org": getattr(actor, "organisation_id", None),
    }


def record_event(
    *,
    action: str,
    subject: str,
    payload: dict[str, Any],
    actor: Any = None,
    project_id: int | None = None,
    visibility: str = Visibility.PUBLIC,
    at: dt.datetime | None = None,
) -> Event:
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record must run inside the transaction of the action it records")
    if visibility not in VISIBILITIES:
        raise ValueError(f"unknown visibility {visibility!r}")
    if not action or len(action) > 64 or not subject or len(subject) > 100:
        raise ValueError("audit events need an action (≤ 64 chars) and a subject (≤ 100 chars)")
    at = at or timezone.now()
    who = actor_fields(actor)
    uid = uuid.uuid4().hex
    body = {
        "v": 1,
        "uid": uid,
        "at": event_time(at),
        "action": action,
        "subject": subject,
        "project": project_id,
        "actor": who,
        "visibility": str(visibility),
        "payload": payload,
    }
    text = canonical_bytes(body).decode("utf-8")
    event = Event.objects.create(
        uid=uid,
        created_at=at,
        action=action,
        subject=subject,
        project_id=project_id,
        actor_id=who["id"],
        actor_label=who["label"],
        actor_role=who["role"],
        visibility=str(visibility),
        canonical=text,
    )
    return event


def on_commit(func) -> None:
    """Run `func` after the current transaction commits (websocket / Celery sends go here)."""
    transaction.on_commit(func)
