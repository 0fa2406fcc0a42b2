"""Page cache for anonymous visitors of the public portal.

A cached page is keyed by the platform's generation number (audit/generation.py: the newest audit event
id, read at most once per SUNLIGHT_PORTAL_CACHE_SECONDS per process), so it is the page as of that event,
and a cache hit touches neither the database nor the templates. Logged-in users and every non-GET request
are never cached (the public API lists have their own: trading/api_cache.py).
"""
from __future__ import annotations

from functools import wraps

from django.core.cache import cache
from django.http import HttpResponse
from django.utils.translation import get_language

from audit.generation import generation

TTL_SECONDS = 600


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
