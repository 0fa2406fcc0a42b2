"""The public API lists' cache: an anonymous GET of a list is answered from the data computed for the same
path, language and generation (audit/generation.py: the newest audit event id; every state change writes
one), so the answer is exactly what the list was as of that event, without the query or the serializers.
Signed-in users (session or token) are never cached: what they may see depends on who they are. The
rendering (JSON, the browsable API) is done afresh from the cached data, so headers and formats are the
view's own."""
from __future__ import annotations

from django.core.cache import cache
from django.utils.translation import get_language
from rest_framework.response import Response

from audit.generation import generation

TTL_SECONDS = 600


class PublicListCache:
    """A mixin for a ListModelMixin viewset whose anonymous list is the same for every visitor."""

    def list(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return super().list(request, *args, **kwargs)  # type: ignore[misc]
        key = f"api:{type(self).__name__}:{get_language()}:{generation()}:{request.get_full_path()}"
        data = cache.get(key)
        if data is not None:
            return Response(data)
        response = super().list(request, *args, **kwargs)  # type: ignore[misc]
        if response.status_code == 200:
            cache.set(key, response.data, TTL_SECONDS)
        return response
