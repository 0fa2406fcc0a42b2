"""The platform's generation number: every state change writes an audit event, so the newest event id
names the state a public answer was computed from. Public caches key on it (the portal's pages,
frontend/cache.py; the public API lists, trading/api_cache.py): an entry keyed by it is the answer as of
that event. It is read at most once per SUNLIGHT_PORTAL_CACHE_SECONDS per process (1 s by default, 0 in the
tests), so a public answer is never more than that behind."""
from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db.models import Max

from audit.models import Event

_memo: dict[str, float] = {"value": 0, "at": float("-inf")}
_lock = threading.Lock()


def generation() -> int:
    ttl = settings.SUNLIGHT_PORTAL_CACHE_SECONDS
    now = time.monotonic()
    if now - _memo["at"] < ttl:
        return int(_memo["value"])
    value = Event.objects.aggregate(m=Max("id"))["m"] or 0
    with _lock:
        _memo.update(value=value, at=now)
    return value
