"""Appending audit events. `record_event` runs inside the caller's transaction: the event commits
or rolls back together with the business change it describes."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit import context, sql
from audit.canonical import canonical_bytes
from audit.models import Event, EventContext, Visibility
from audit import timestamps

VISIBILITIES = {v.value for v in Visibility}
EVENT_COLUMNS = ("uid", "created_at", "action", "subject", "project_id", "actor_id", "actor_label", "actor_role",
                 "visibility", "canonical")


def event_time(at: dt.datetime) -> str:
    """The timestamp format inside canonical events (UTC, microseconds, Z)."""
    return timestamps.iso_micro(at)


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


def _build_event(
    *,
    action: str,
    subject: str,
    payload: dict[str, Any],
    actor: Any = None,
    project_id: int | None = None,
    visibility: str = Visibility.PUBLIC,
    at: dt.datetime | None = None,
    context_of: dict[str, Any] | None | bool = True,
) -> Event:
    """The unsaved event with its canonical text, after checking what the log refuses."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"unknown visibility {visibility!r}")
    if not action or len(action) > 64 or not subject or len(subject) > 100:
        raise ValueError("audit events need an action (≤ 64 chars) and a subject (≤ 100 chars)")
    at = at or timezone.now()
    who = actor_fields(actor)
    uid = uuid.uuid4().hex
    # True: the current action's context; a dict: the one the batched action kept (audit.context.captured)
    ctx = context.commit_current() if context_of is True else context.commit(context_of or None)
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
    if ctx is not None:
        body["ctx"] = ctx[0]  # salted hash of who acted from where (audit.context); the row stays private
    event = Event(
        uid=uid,
        created_at=at,
        action=action,
        subject=subject,
        project_id=project_id,
        actor_id=who["id"],
        actor_label=who["label"],
        actor_role=who["role"],
        visibility=str(visibility),
        canonical=canonical_bytes(body).decode("utf-8"),
    )
    event._context = ctx  # type: ignore[attr-defined]
    return event


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record must run inside the transaction of the action it records")


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
    _require_transaction()
    event = _build_event(action=action, subject=subject, payload=payload, actor=actor, project_id=project_id,
                         visibility=visibility, at=at)
    _insert_one(event)
    if event._context is not None:  # type: ignore[attr-defined]
        _, ctx, salt = event._context  # type: ignore[attr-defined]
        EventContext.objects.create(event_uid=event.uid, context=ctx, salt=salt.hex(), created_at=event.created_at)
    return event


def _insert_one(event: Event) -> None:
    """INSERT the one event by the audit app's own statement builder (the batch path's, ``audit.sql``), reading
    back its id: the same row ``save(force_insert=True)`` writes, without compiling the ORM's INSERT each time
    (measured: about a fifth of an append's cost), prepared once per database session on PostgreSQL.
    Triggers and constraints apply as usual."""
    conn = sql._conn()
    if not conn.features.can_return_columns_from_insert:
        event.save(force_insert=True)
        return
    statement = sql.insert([event], EVENT_COLUMNS)
    assert statement is not None
    row = sql.fetch_one(sql.Statement(f"{statement.sql} RETURNING {conn.ops.quote_name('id')}", statement.params))
    assert row is not None
    event.pk = row[0]
    event._state.adding, event._state.db = False, conn.alias


def events_statement(items: list[dict[str, Any]], *, alone: bool = False
                     ) -> tuple[sql.Statement | None, list[Event]]:
    """The one INSERT appending several events in the given order (each item has the fields of
    ``record_event``), for a hot path to send together with its own rows (``audit.sql.execute``)
    in the transaction of the action; ``event_id_of(event.uid)`` refers to an event's id inside
    that same round trip. Items the log refuses raise before anything is written.
    Who acted from where is recorded as on the plain path: an item's ``context`` (the one its action
    kept: ``audit.context.captured``), else the current request's; the private ``EventContext`` rows
    go with the statement (``Statement.then``), the events commit to them by hash.
    ``alone``: the caller sends it with ``audit.sql.execute_alone`` (the round trip is the action's
    one transaction), so no transaction needs to be open now."""
    if not alone:
        _require_transaction()
    events = []
    for item in items:
        item = dict(item)
        kept = item.pop("context", True)
        events.append(_build_event(**item, context_of=kept))
    statement = sql.insert(events, EVENT_COLUMNS)
    rows = [EventContext(event_uid=e.uid, context=e._context[1], salt=e._context[2].hex(),  # type: ignore[attr-defined]
                         created_at=e.created_at) for e in events if e._context is not None]  # type: ignore[attr-defined]
    private = sql.insert(rows, ("event_uid", "context", "salt", "created_at"))
    if statement is not None and private is not None:
        statement = sql.Statement(statement.sql, statement.params, then=(private,))
    return statement, events


def event_id_of(uid: str) -> sql.Sql:
    """The id of the event ``uid``, looked up by the database (UNIQUE index) where it is needed."""
    return sql.Sql(f"(SELECT id FROM {Event._meta.db_table} WHERE uid = %s)", (uid,))


def on_commit(func) -> None:
    """Run `func` after the current transaction commits (websocket / Celery sends go here)."""
    transaction.on_commit(func)


def close_project(*, project_id: int, lots: dict[str, str], at: dt.datetime | None = None) -> Event | None:
    """Record the project's closing event (``project.close``) once, in the caller's transaction, after
    its last lot reached a final state. Its leaf header commits to the project's final event count and
    its body reveals the key of the project's sequence tags (audit.leaf), so that anyone can check the
    project's event list is complete. Returns None if the project is already closed."""
    _require_transaction()
    from audit.leaf import CLOSE_ACTION
    from audit.sequencer import project_tag_key

    if Event.objects.filter(project_id=project_id, action=CLOSE_ACTION).exists():
        return None
    return record_event(action=CLOSE_ACTION, subject=f"project:{project_id}", project_id=project_id, at=at,
                        payload={"project": project_id, "lots": lots, "tag_key": project_tag_key(project_id).hex()})
