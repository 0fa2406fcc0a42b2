"""Public reads from a PostgreSQL streaming replica; everything else from the primary.

A request reads from the replica (the database alias ``replica``, configured by DATABASE_REPLICA_URL)
only when all of these hold:
- it is a GET or HEAD (a safe request: it changes nothing);
- nobody is signed in, by session or by an ``Authorization`` header (a user expects to see what they
  just did; the public sees the platform as of the replica's last replayed moment, at most a little behind);
- the client has not written anything in the last SUNLIGHT_REPLICA_PIN_SECONDS: every unsafe request
  (POST, PUT, PATCH, DELETE) sets a short cookie that pins the client's reads to the primary, so an
  anonymous filer (a disclosure request, a bidder signing up) sees what they just filed;
- no transaction is open on the primary (reads inside a transaction must see its writes, and
  ``select_for_update`` must lock the primary's rows).
Writes always go to the primary. Without DATABASE_REPLICA_URL every read goes to the primary.
Websocket consumers, Celery tasks and the clock never pass through the middleware: they use the primary.
"""
from __future__ import annotations

import contextvars
from collections.abc import Callable

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
PIN_COOKIE = "sl_primary"
SAFE_METHODS = ("GET", "HEAD")

_reads_from_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("sunlight_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str | None:
        if _reads_from_replica.get() and replica_configured() and not connections["default"].in_atomic_block:
            return REPLICA
        return None  # the primary

    def db_for_write(self, model, **hints) -> str:
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == "default"


def may_read_replica(request: HttpRequest) -> bool:
    if request.method not in SAFE_METHODS or PIN_COOKIE in request.COOKIES:
        return False
    if request.META.get("HTTP_AUTHORIZATION"):
        return False
    user = getattr(request, "user", None)
    return not (user is not None and user.is_authenticated)  # evaluated here, on the primary


class ReplicaReadsMiddleware:
    """After AuthenticationMiddleware: decides once per request where its reads go."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_configured():
            return self.get_response(request)
        token = _reads_from_replica.set(may_read_replica(request))
        try:
            response = self.get_response(request)
        finally:
            _reads_from_replica.reset(token)
        if request.method not in SAFE_METHODS:
            response.set_cookie(PIN_COOKIE, "1", max_age=settings.SUNLIGHT_REPLICA_PIN_SECONDS, httponly=True,
                                samesite="Lax", secure=request.is_secure())
        return response
