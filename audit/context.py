"""Who acted from where: the network address and client of every action, kept private and
committed by hash in the event (e-bidding technical specification: time, operator, network address).

The request-context middleware (``audit.middleware.RequestContextMiddleware``) puts the address and
the client (user agent) of the current request in a context variable; a service may add what it
alone knows (``with noting(signing_key=…)`` for a sealed bid, ``noting(payer_account=…)`` for a deposit).
A batched path (``audit.services.events_statement``: auction bid batches, the bank notifications' fast path)
keeps each action's own context with it (``captured``) and passes it as the item's ``context``; the statement
then writes the private rows too, in the same round trip.
``record_event`` then stores the context in the private table ``EventContext`` with a random salt and
puts ``ctx = sha256(salt ‖ canonical(context))`` into the event's canonical body: the public log
holds only the salted hash (an address cannot be guessed from it), and the private row proves later
what it was (``verify_context``).
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

from audit.canonical import canonical_bytes

_current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("sunlight_request_context",
                                                                                   default=None)
FIELDS = ("address", "client", "signing_key", "payer_account")


def begin(*, address: str | None, client: str | None) -> contextvars.Token:
    """Start the context of one request (or websocket message); ``end(token)`` restores the previous one."""
    ctx = {"address": (address or "")[:64], "client": (client or "")[:300]}
    return _current.set(ctx)


def end(token: contextvars.Token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def noting(**facts: str) -> Iterator[None]:
    """Within this block, add facts only this action knows (signing key, paying account) to the context."""
    for key in facts:
        if key not in FIELDS:
            raise ValueError(f"unknown context field {key!r}")
    ctx = dict(_current.get() or {})
    ctx.update({k: str(v)[:300] for k, v in facts.items() if v})
    token = _current.set(ctx)
    try:
        yield
    finally:
        _current.reset(token)


def captured(*, address: str | None = None, client: str | None = None, **facts: str) -> dict[str, Any]:
    """A context kept with a queued action (an auction bid from a websocket message, a bank notification in a
    batch): the current request's, or the given address and client, plus facts only the action knows. A batched
    path passes it as the ``context`` of its ``events_statement`` item."""
    for key in facts:
        if key not in FIELDS:
            raise ValueError(f"unknown context field {key!r}")
    ctx = dict(_current.get() or {})
    if address is not None or client is not None:
        ctx.update({"address": (address or "")[:64], "client": (client or "")[:300]})
    ctx.update({k: str(v)[:300] for k, v in facts.items() if v})
    return ctx


def current() -> dict[str, Any] | None:
    ctx = _current.get()
    return dict(ctx) if ctx else None


def commitment(ctx: dict[str, Any], salt: bytes) -> str:
    return hashlib.sha256(salt + canonical_bytes(ctx)).hexdigest()


def commit_current() -> tuple[str, dict[str, Any], bytes] | None:
    """(hash for the event body, the context, its salt) of the current action, or None without one."""
    return commit(current())


def commit(ctx: dict[str, Any] | None) -> tuple[str, dict[str, Any], bytes] | None:
    """(hash, context, salt) of a given context (a batched action carries its own: ``captured``)."""
    if not ctx:
        return None
    ctx = {k: v for k, v in sorted(ctx.items()) if v}
    if not ctx:
        return None
    salt = secrets.token_bytes(16)
    return commitment(ctx, salt), ctx, salt


def verify_context(event: Any) -> bool:
    """Does the private record of this event match the hash its canonical body committed to?"""
    from audit.models import EventContext

    row = EventContext.objects.filter(event_uid=event.uid).first()
    body_hash = event.body.get("ctx")
    if row is None or body_hash is None:
        return row is None and body_hash is None
    return commitment(row.context, bytes.fromhex(row.salt)) == body_hash


def contexts_of_project(project_id: int, org_ids: list[int]) -> list[tuple[int, str, str]]:
    """(organisation of the acting user, address, client) of the project's recorded actions by users of
    these organisations (for supervision's screens; never shown publicly)."""
    from django.contrib.auth import get_user_model

    from audit.models import Event, EventContext

    users = dict(get_user_model().objects.filter(organisation_id__in=org_ids).values_list("pk", "organisation_id"))
    if not users:
        return []
    uids = Event.objects.filter(project_id=project_id, actor_id__in=list(users)).values_list("uid", "actor_id")
    actor_of = dict(uids)
    out = []
    for uid, ctx in EventContext.objects.filter(event_uid__in=list(actor_of)).values_list("event_uid", "context"):
        out.append((users[actor_of[uid]], ctx.get("address", ""), ctx.get("client", "")))
    return out
