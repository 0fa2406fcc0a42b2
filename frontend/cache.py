"""Page cache for anonymous visitors of the public portal.

Every state change on the platform writes an audit event, so the newest event id is a generation
number: a cached page keyed by it is the page as of that event. The generation itself is read at most
once per SUNLIGHT_PORTAL_CACHE_SECONDS per process (1 s by default, 0 in the tests), so a public page
is never more than that behind, and a cache hit touches neither the database nor the templates.
Logged-in users, the API and every non-GET request are never cached.
"""
from __future__ import annotations

from functools import wraps

import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max
from django.http import HttpResponse
from django.utils.translation import get_language

from audit.models import Event

TTL_SECONDS = 600


_memo = {"value": 0, "at": float("-inf")}
_lock = threading.Lock()


def generation() -> int:
    ttl = settings.SUNLIGHT_PORTAL_CACHE_SECONDS
    now = time.monotonic()
    if now - _memo["at"] < ttl:
        return _memo["value"]
    value = Event.objects.aggregate(m=Max("id"))["m"] or 0
    with _lock:
        _memo.update(value=value, at=now)
    return value


def public_page_cache(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method != "GET" or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        key = f"page:{get_language()}:{generation()}:{request.get_full_path()}"
        body = cache.get(key)
        if body is not None:
            return HttpResponse(body, content_type="text/html; charset=utf-8")
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.cookies and not getattr(response, "streaming", False):
            cache.set(key, response.content, TTL_SECONDS)
        return response

    return wrapped
