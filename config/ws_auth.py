"""Websocket authentication for clients that are not browsers, and the Origin rule.

- A browser signs in with its session cookie (Channels' AuthMiddlewareStack). A program sends the same
  API token it uses over HTTP in the handshake's header ``Authorization: Token <key>``
  (``POST /api/auth/token/`` gives one). A token that is not valid refuses the handshake (HTTP 403); a
  valid one makes the connection that user's, whatever cookie came along.
- Origin: a browser always sends ``Origin``; it must name one of ALLOWED_HOSTS (any scheme and port), so
  another site's page cannot open the room with the visitor's cookie (cross-site websocket hijacking).
  A handshake without ``Origin`` comes from a program, which has no victim's cookie to misuse: it is
  accepted and is anonymous unless it presents a token.
"""
from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings

from trading.inputs import bad_text


@database_sync_to_async
def _token_user(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token is not None and token.user.is_active else None


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class TokenAuthMiddleware(BaseMiddleware):
    """Inside AuthMiddlewareStack: an ``Authorization: Token …`` header decides the connection's user."""

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            auth = _header(scope, b"authorization")
            if auth is not None:
                scheme, _, key = auth.partition(" ")
                key = key.strip()
                # a key with a NUL or other forbidden character is no key (and never reaches PostgreSQL)
                user = await _token_user(key) if scheme == "Token" and key and not bad_text(key) else None
                if user is None:
                    return await WebsocketDenier()(scope, receive, send)
                scope = dict(scope, user=user)
        return await super().__call__(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """ALLOWED_HOSTS for a browser's Origin; no Origin header at all is a program's handshake."""

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def websocket_guard(application):
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(application, allowed)
