"""A bound on the threads, and so on the database connections, of one ASGI process.

Django runs a request's synchronous code (middleware, views) in a thread, and each thread holds its own
database connection. Out of the box, Django under ASGI makes a new thread for every request, so 200
concurrent clients mean 200 threads and 200 PostgreSQL connections per process (and a second process or the
Celery workers then fail with "too many clients"), and a connection cannot outlive its request (its thread
dies), so every request pays for a new PostgreSQL backend.

Here each process has a fixed pool of SUNLIGHT_HTTP_CONCURRENCY *slots*, each one long-lived thread (an
executor of one worker, given to asgiref's ``ThreadSensitiveContext``): a request takes a free slot, runs
all its synchronous code in the slot's thread, and gives the slot back; the others wait their turn in
arrival order (asyncio's queue is fair), holding only a socket. So one process's HTTP needs at most that
many connections, and since the threads live on, a connection may too (DB_CONN_MAX_AGE > 0): the slots'
connections are opened once and reused, whatever the number of clients.

Websockets are not queued behind HTTP: a connection waiting for events holds no thread. Their database work
(``database_sync_to_async(thread_sensitive=False)``, the auction room) runs in the event loop's default
executor, which is set here to SUNLIGHT_WS_DB_THREADS threads; their other database calls (the handshake's
session and token lookups) in asgiref's one process-wide thread-sensitive thread. So a process holds at
most SUNLIGHT_HTTP_CONCURRENCY + SUNLIGHT_WS_DB_THREADS + 1 connections to each database
(``connection_budget``; deploy/README.md: the budget of a node).
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext


def connection_budget(*, http: int, ws_threads: int) -> int:
    """The most database connections (per database) one ASGI process opens: the HTTP slots, the
    websockets' pool, asgiref's one thread-sensitive thread (websocket handshakes)."""
    return http + ws_threads + 1


class BoundedHTTP:
    def __init__(self, app: Any, *, limit: int, ws_threads: int | None = None):
        if limit < 1:
            raise ValueError("the HTTP concurrency limit is at least 1")
        if ws_threads is not None and ws_threads < 1:
            raise ValueError("the websockets' database threads are at least 1")
        self.app = app
        self.limit = limit
        self.ws_threads = ws_threads
        # made in the server's event loop, on first use
        self._slots: asyncio.Queue[ThreadPoolExecutor] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _start(self) -> asyncio.Queue[ThreadPoolExecutor]:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._loop = loop
            if self.ws_threads is not None:
                loop.set_default_executor(ThreadPoolExecutor(self.ws_threads, thread_name_prefix="sunlight-ws-db"))
            self._slots = asyncio.Queue()
            for i in range(self.limit):
                self._slots.put_nowait(ThreadPoolExecutor(1, thread_name_prefix=f"sunlight-http-{i}"))
        return self._slots

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        slots = self._start()
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        slot = await slots.get()
        try:
            # every thread-sensitive call of this request (Django's middleware, the view, the request
            # signals that close or keep its connection) runs in the slot's one thread
            async with ThreadSensitiveContext(executor=slot):
                await self.app(scope, receive, send)
        finally:
            slots.put_nowait(slot)
