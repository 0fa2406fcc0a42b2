"""The bound on concurrent HTTP requests per ASGI process: in isolation (an ASGI app that counts), and in
a real server process, where 40 concurrent clients open no more PostgreSQL connections than the bound."""
from __future__ import annotations

import asyncio
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
from django.db import connection

from config.bounded import BoundedHTTP
from tests import factories
from tests.auction.live import Server


def test_at_most_limit_requests_are_inside_the_app_and_websockets_pass():
    inside, peak, done = 0, 0, []

    async def app(scope, receive, send):
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        await asyncio.sleep(0)  # yield to the other requests: they must queue, not enter
        await asyncio.sleep(0)
        inside -= 1
        done.append(scope["type"])

    bounded = BoundedHTTP(app, limit=3)

    async def main():
        await asyncio.gather(*(bounded({"type": "http"}, None, None) for _ in range(20)),
                             *(bounded({"type": "websocket"}, None, None) for _ in range(5)))

    asyncio.run(main())
    assert done.count("http") == 20 and done.count("websocket") == 5
    assert peak == 3 + 5  # 3 HTTP at most, websockets never wait
    with pytest.raises(ValueError):
        BoundedHTTP(app, limit=0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_server_under_forty_concurrent_clients_keeps_its_connections_within_the_bound(world):
    for _ in range(3):
        factories.make_project(world, publish=True)
    db = connection.settings_dict
    server = Server(extra_env={"SUNLIGHT_HTTP_CONCURRENCY": "3", "SUNLIGHT_PORTAL_CACHE_SECONDS": "0",
                                "DB_CONN_MAX_AGE": "0"}).start()
    watcher = psycopg2.connect(dbname=db["NAME"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
                               user=db["USER"])
    watcher.autocommit = True
    peak, stop = 0, threading.Event()

    def watch():
        nonlocal peak
        with watcher.cursor() as cur:
            while not stop.is_set():
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
                            " AND application_name NOT LIKE 'pytest%%'", (db["NAME"],))
                peak = max(peak, cur.fetchone()[0])

    def fetch(i):
        path = ("/", "/api/projects/?limit=50", "/api/notices/?limit=50")[i % 3]
        with urllib.request.urlopen(server.base + path, timeout=120) as answer:
            return answer.status

    try:
        ours = _connections_now(watcher, db["NAME"])  # this test process's own (Django's) connection
        sampler = threading.Thread(target=watch)
        sampler.start()
        with ThreadPoolExecutor(40) as pool:
            statuses = list(pool.map(fetch, range(120)))
        stop.set()
        sampler.join()
    finally:
        stop.set()
        server.stop()
        watcher.close()
    assert statuses == [200] * 120
    # A backend whose connection was just closed lingers in pg_stat_activity for a moment while its
    # successor opens: 2 of slack for that. Without the bound this server opens 24 to 40 here.
    assert peak - ours <= 3 + 2, f"{peak - ours} connections from a server bounded to 3"


def _connections_now(conn, name: str) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        return cur.fetchone()[0]
