"""A bound on the HTTP requests one ASGI process runs in Django at once.

Django runs each request's synchronous code in a thread of its own under ASGI, and each such thread
opens its own database connection: without a bound, 200 concurrent clients mean 200 threads and 200
PostgreSQL connections per process, and a second process or the Celery workers then fail with "too many
clients". Here at most SUNLIGHT_HTTP_CONCURRENCY requests of a process are inside Django at a time; the
others wait their turn in arrival order (asyncio's semaphore is fair), holding only a socket. So one
process needs at most that many connections for HTTP, plus the websocket rooms' own (docs in deploy/).
Websockets are not bounded here: a connection that waits for events holds no database connection.
"""
from __future__ import annotations

import asyncio
from typing import Any


class BoundedHTTP:
    def __init__(self, app: Any, *, limit: int):
        if limit < 1:
            raise ValueError("the HTTP concurrency limit is at least 1")
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None  # made in the server's event loop, on first use

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
