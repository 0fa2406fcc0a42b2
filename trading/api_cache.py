"""The public API lists' cache: an anonymous GET of a list is answered with the JSON rendered for the same
path, language and generation (audit/generation.py: the newest audit event id; every state change writes
one), so the answer is exactly the list as of that event, without the queries, the serializers or the
rendering. Signed-in users (session or token) are never cached: what they may see depends on who they are.
Only the JSON format is cached (the browsable API is rendered afresh); DRF adds its headers (Allow, Vary) to
a cached answer as to any other."""
from __future__ import annotations

from django.core.cache import cache
from django.http import HttpResponse
from django.utils.translation import get_language

from audit.generation import generation

TTL_SECONDS = 600


class PublicListCache:
    """A mixin for a ListModelMixin viewset whose anonymous list is the same for every visitor."""

    def list(self, request, *args, **kwargs):
        renderer = request.accepted_renderer
        if request.user.is_authenticated or renderer.format != "json":
            return super().list(request, *args, **kwargs)  # type: ignore[misc]
        content_type = renderer.media_type + (f"; charset={renderer.charset}" if renderer.charset else "")
        key = f"api:{type(self).__name__}:{get_language()}:{generation()}:{content_type}:{request.get_full_path()}"
        body = cache.get(key)
        if body is not None:
            return HttpResponse(body, content_type=content_type)
        response = super().list(request, *args, **kwargs)  # type: ignore[misc]
        if response.status_code == 200:
            cache.set(key, renderer.render(response.data, request.accepted_media_type,
                                           self.get_renderer_context()), TTL_SECONDS)  # type: ignore[attr-defined]
        return response
