"""Load benchmark: growing past one machine and staying bounded under load. Each goal beside its raw
baseline measured in the same run; one JSON line at the end (never pass/fail).

(a) Replica reads: a real streaming replica (pg_basebackup, tests/deploy/replica.py), a server with
    DATABASE_REPLICA_URL, the portal cache off: anonymous notice list (``/``) and API list
    (``/api/notices/?limit=25``) requests/s, each over the hello-world view's requests/s on the same
    server. Goals ≥ 0.5.
(b) Auction fan-out: A auctions × (10 bidders + W watchers), one bid every 1/R s per auction; latency
    from a bid's acceptance (the server's timestamp) to its arrival at each connection. One ASGI process
    at rate R gives p99 P1. Two processes (each room's watchers on one, its bidders on the other, so every
    event crosses Redis) at rates m·R: the largest m whose p99 ≤ P1 (interpolated between the measured
    levels) is the fan-out two processes serve at the same p99. Goal ≥ 1.7.
(c) Bounded under load: mixed clients (anonymous portal and API through the replica, logged-in page and
    API on the primary) against one node (uvicorn --workers 2), at 50 and then 200 concurrent keep-alive
    connections: errors (goal 0), the most PostgreSQL connections any one process held at once
    (pg_stat_activity on the primary and the replica, by application_name ``bench-web:<pid>``, sampled
    every 20 ms) against the documented budget (config/bounded.connection_budget), and the throughput at
    200 over the throughput at 50 (goal ≥ 0.95).

The machine is shared (2 cores, other engineers' work): the load average is recorded next to each figure.

    DATABASE_URL=… REDIS_URL=… .venv/bin/python bench/load.py [--quick] [--only a|b|c]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import emit, fresh_database, free_port  # noqa: E402

DB_NAME = "sunlight_bench_load"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------------------------------------
# HTTP load: asyncio keep-alive clients (h11 parses the answers), cycling through a mix of requests
# ---------------------------------------------------------------------------------------------

async def _client(port: int, requests: list[tuple[str, dict]], stop_at: float, offset: int, out: dict,
                  window: tuple[float, float]) -> None:
    """Requests one after another on a keep-alive connection until stop_at; those completing inside the
    measurement window (after the ramp-up) are counted."""
    import h11

    k = offset
    while time.perf_counter() < stop_at:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            out["errors"] += 1
            continue
        conn = h11.Connection(h11.CLIENT)
        try:
            while time.perf_counter() < stop_at:
                path, headers = requests[k % len(requests)]
                k += 1
                t0 = time.perf_counter()
                writer.write(conn.send(h11.Request(method="GET", target=path, headers=[
                    ("Host", "127.0.0.1"), *headers.items()])) + conn.send(h11.EndOfMessage()))
                status = None
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        data = await asyncio.wait_for(reader.read(65536), 60)
                        if not data:
                            raise ConnectionError("closed by the server")
                        conn.receive_data(data)
                    elif isinstance(event, h11.Response):
                        status = event.status_code
                    elif isinstance(event, h11.EndOfMessage):
                        break
                t1 = time.perf_counter()
                if window[0] <= t1 <= window[1]:
                    out["latency"].append(t1 - t0)
                    out["done"] += 1
                if status is None or status >= 400:
                    out["errors"] += 1
                    out["statuses"][str(status)] = out["statuses"].get(str(status), 0) + 1
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    break
                conn.start_next_cycle()
        except (OSError, ConnectionError, TimeoutError, h11.ProtocolError) as exc:
            out["errors"] += 1
            out["statuses"][type(exc).__name__] = out["statuses"].get(type(exc).__name__, 0) + 1
        finally:
            writer.close()


def http_load(port: int, requests: list[tuple[str, dict]], *, clients: int, seconds: float, ramp: float = 1.0) -> dict:
    """`clients` concurrent keep-alive connections for ramp + seconds (+ a tail of the same length, so
    that the window ends under full load); requests/s counted over the `seconds` after the ramp-up."""
    from bench.auction import run_client

    out: dict = {"done": 0, "errors": 0, "latency": [], "statuses": {}}
    start = time.perf_counter()
    window = (start + ramp, start + ramp + seconds)

    async def main():
        await asyncio.gather(*(_client(port, requests, window[1] + ramp, i, out, window) for i in range(clients)))

    run_client(main())
    elapsed = seconds
    lat = sorted(out["latency"])
    return {"clients": clients, "rps": round(out["done"] / elapsed, 1), "requests": out["done"],
            "errors": out["errors"], "statuses": out["statuses"],
            "p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
            "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 1) if lat else None, "load": loadavg()}


class ConnectionSampler:
    """The most connections each application_name held at once, on the primary and the replica."""

    def __init__(self, dsns: list[str], dbname: str, prefix: str):
        self.dsns, self.dbname, self.prefix = dsns, dbname, prefix
        self.peak: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        import psycopg2

        conns = [psycopg2.connect(dsn, application_name="bench-sampler") for dsn in self.dsns]
        for c in conns:
            c.autocommit = True
        try:
            while not self.stop.is_set():
                for where, c in zip(("primary", "replica"), conns):
                    with c.cursor() as cur:
                        cur.execute("SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = %s "
                                    "AND application_name LIKE %s AND state IS NOT NULL GROUP BY 1",
                                    (self.dbname, self.prefix + "%"))
                        for name, n in cur.fetchall():
                            key = f"{where}/{name}"
                            self.peak[key] = max(self.peak.get(key, 0), n)
                self.stop.wait(0.02)
        finally:
            for c in conns:
                c.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def start_web(env: dict, workers: int) -> tuple[subprocess.Popen, int]:
    from bench.common import start_server

    port = free_port()
    return start_server(env, port, workers=workers), port


def pid_of(server) -> int:
    assert server.proc is not None, "the server is not running"
    return server.proc.pid


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# ---------------------------------------------------------------------------------------------

SEED_NOTICES = """
import datetime as dt
from django.utils import timezone
from trading.models import Notice
rows, n = [], Notice.objects.count()
now = timezone.now()
for i in range(N - n):
    p = projects[i % len(projects)]
    rows.append(Notice(project=p, kind="clarification", number=f"{p.code}-B{i:06d}", title=f"{p.title} 澄清公告 第{i}号",
                       body="基准测试公告正文 " * 20, published_at=now - dt.timedelta(minutes=i), event_id=0))
Notice.objects.bulk_create(rows, batch_size=2000)
"""


def fanout_multiple(p1: float, levels: list[tuple[float, float]]) -> tuple[float, bool]:
    """The largest load multiple m whose p99 ≤ p1, linear between measured levels [(m, p99)…]; and
    whether it is only a lower bound (every level measured was within p1)."""
    levels = sorted(levels)
    best = 0.0
    for i, (m, p99) in enumerate(levels):
        if p99 > p1:
            if i > 0:
                m0, q0 = levels[i - 1]
                if q0 <= p1:
                    best = m0 + (m - m0) * (p1 - q0) / (p99 - q0)
            return round(best, 2), False
        best = m
    return round(best, 2), True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["a", "b", "c"], default=None)
    args = ap.parse_args()
    q = args.quick
    started = time.perf_counter()
    notices = 2000 if q else 10_000
    http_seconds = 3 if q else 8
    ramp = 1.5 if q else 3
    fan_seconds = 6 if q else 12
    n_auctions = 16 if q else 40
    watchers, rate = 20, 0.5
    multiples = [1.0, 1.7] if q else [1.0, 1.7, 2.0, 2.5]
    mix_seconds = 5 if q else 12

    db_url = fresh_database(DB_NAME)  # + BENCH_DB_SUFFIX
    db_name = urlparse(db_url).path.lstrip("/")
    os.environ["BENCH_DATABASE_URL"] = db_url  # bench/auction.py (imported below) reads its database from here
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    os.environ.setdefault("DEBUG", "0")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    log("migrating and seeding…", loadavg())
    call_command("migrate", verbosity=0)
    import datetime as dt

    import time_machine
    from django.db import connection
    from django.utils import timezone

    from bidding.auction.models import AuctionEvent  # noqa: F401  (the app's models, loaded)
    from config.bounded import connection_budget
    from tests import factories
    from tests.auction.live import Server, live_auction, session_cookie
    from tests.deploy.replica import Replica

    with time_machine.travel(timezone.now() - dt.timedelta(days=60), tick=True):
        world = factories.make_world(bidders=10)
        kinds = [("engineering", "open_tender"), ("procurement", "open_tender"), ("land", "listing"),
                 ("asset", "auction")]
        projects = [factories.make_project(world, k, m, publish=True, title=f"基准项目 {i} {k}")
                    for i, (k, m) in enumerate(kinds * 5)]
    exec(SEED_NOTICES, {"N": notices, "projects": projects})
    cookies = [session_cookie(u) for u in world.bidders]
    with connection.cursor() as cur:  # the steady state autovacuum keeps: statistics, the visibility map
        cur.execute("VACUUM ANALYZE")
    results: dict = {"bench": "load", "quick": q, "machine": f"{os.cpu_count()} cores, shared", "notices": notices}
    goals: list[dict] = []
    db = urlparse(db_url)
    budget = connection_budget(http=settings.SUNLIGHT_HTTP_CONCURRENCY, ws_threads=settings.SUNLIGHT_WS_DB_THREADS)
    results["connection_budget_per_process_per_database"] = budget

    replica = None
    try:
        if args.only in (None, "a", "c"):
            log("starting the streaming replica (pg_basebackup)…", loadavg())
            replica = Replica(primary_host=db.hostname or "127.0.0.1", primary_port=db.port or 5432,
                              user=db.username or "postgres").start()
            replica.caught_up(db_name, timeout=600)  # the shared cluster writes WAL all the time
        web_env = dict(os.environ, DATABASE_URL=db_url, DJANGO_SETTINGS_MODULE="bench.settings_bench", DEBUG="0",
                       LOG_LEVEL="ERROR", SUNLIGHT_PORTAL_CACHE_SECONDS="0", DB_CONN_MAX_AGE="300",
                       SUNLIGHT_DB_APPLICATION_NAME="bench-web", SUNLIGHT_RUN_CLOCK_IN_PROCESS="0")
        if replica is not None:
            web_env["DATABASE_REPLICA_URL"] = replica.url(db_name)
        connection.close()

        if args.only in (None, "a"):
            log("(a) replica reads, one process, 16 connections", loadavg())
            proc, port = start_web(web_env, workers=1)
            try:
                for path in ("/bench/hello/", "/", "/api/notices/?limit=25"):  # warm-up
                    http_load(port, [(path, {})], clients=4, seconds=1)
                hello = http_load(port, [("/bench/hello/", {})], clients=16, seconds=http_seconds, ramp=ramp)
                page = http_load(port, [("/", {})], clients=16, seconds=http_seconds, ramp=ramp)
                api = http_load(port, [("/api/notices/?limit=25", {})], clients=16, seconds=http_seconds, ramp=ramp)
            finally:
                stop(proc)
            results["replica_reads"] = {"hello": hello, "notice_list": page, "api_list": api}
            log("   hello", hello["rps"], "notice list", page["rps"], "api", api["rps"])
            goals += [
                {"name": "replica_notice_list_rps_vs_hello", "value": round(page["rps"] / hello["rps"], 3),
                 "target": 0.5, "better": "higher"},
                {"name": "replica_api_list_rps_vs_hello", "value": round(api["rps"] / hello["rps"], 3),
                 "target": 0.5, "better": "higher"},
                {"name": "replica_reads_errors", "value": hello["errors"] + page["errors"] + api["errors"],
                 "target": 0, "better": "lower"},
            ]

        if args.only in (None, "c"):
            log("(c) 50 then 200 concurrent mixed clients, one node (2 processes)", loadavg())
            mix: list[tuple[str, dict]] = [("/", {}), ("/api/notices/?limit=25", {}), ("/api/projects/?limit=25", {})]
            for c in cookies[:4]:
                mix += [("/me/", {"Cookie": c}), ("/api/notices/?limit=25", {"Cookie": c})]
            proc, port = start_web(web_env, workers=2)
            try:
                http_load(port, mix, clients=8, seconds=2)  # warm-up: both processes, their slots
                runs = {}
                for clients in (50, 200):
                    with ConnectionSampler([db_url] + ([replica.url(db_name)] if replica else []), db_name,
                                           "bench-web") as sampler:
                        runs[clients] = http_load(port, mix, clients=clients, seconds=mix_seconds, ramp=2 * ramp)
                    runs[clients]["peak_connections"] = dict(sampler.peak)
                    log(f"   {clients} clients:", {k: v for k, v in runs[clients].items()})
            finally:
                stop(proc)
            peak = max((n for r in runs.values() for n in r["peak_connections"].values()), default=0)
            results["bounded"] = {"runs": runs, "max_connections_one_process_one_database": peak,
                                  "budget": budget}
            goals += [
                {"name": "mixed_errors_at_50_and_200", "value": runs[50]["errors"] + runs[200]["errors"],
                 "target": 0, "better": "lower"},
                {"name": "max_pg_connections_per_process_vs_budget", "value": peak, "target": budget,
                 "better": "lower"},
                {"name": "throughput_200_vs_50_clients", "value": round(runs[200]["rps"] / runs[50]["rps"], 3),
                 "target": 0.95, "better": "higher"},
            ]
        if replica is not None:
            replica.stop()
            replica = None

        if args.only in (None, "b"):
            from bench.auction import many_rooms

            log(f"(b) scheduling {n_auctions} auctions of 10 bidders…", loadavg())
            rooms = [live_auction(world, users=world.bidders[:10], live_duration_s=3600, countdown_s=600, max_jump=10)
                     for _ in range(n_auctions)]
            inc = rooms[0].increment_fen
            connection.close()
            fan_env = {"DEBUG": "0", "DB_CONN_MAX_AGE": "300", "SUNLIGHT_DB_APPLICATION_NAME": "bench-ws"}
            one = Server(ws="websockets-sansio", extra_env=fan_env).start()
            runs_b: dict = {}
            try:
                layout = [(one.ws_url(a.pk), [(one.ws_url(a.pk), c) for c in cookies]) for a in rooms]
                log(f"   one process, {rate} bids/s per auction", loadavg())
                runs_b["one_1.0"] = dict(many_rooms(layout, pids=[pid_of(one)], origin=one.origin, watchers=watchers,
                                                    rate=rate, seconds=fan_seconds, inc=inc, processes=2),
                                         load=loadavg())
                log("   ", runs_b["one_1.0"])
            finally:
                one.kill()
            pair = [Server(ws="websockets-sansio", extra_env=fan_env).start() for _ in range(2)]
            try:
                # each room's watchers on one process, its bidders on the other: every event crosses Redis
                layout = [(pair[i % 2].ws_url(a.pk), [(pair[(i + 1) % 2].ws_url(a.pk), c) for c in cookies])
                          for i, a in enumerate(rooms)]
                for m in multiples:
                    log(f"   two processes, {m} × {rate} bids/s per auction", loadavg())
                    runs_b[f"two_{m}"] = dict(many_rooms(layout, pids=[pid_of(pair[0])], origin=pair[0].origin,
                                                         watchers=watchers, rate=rate * m, seconds=fan_seconds,
                                                         inc=inc, processes=2), load=loadavg())
                    log("   ", runs_b[f"two_{m}"])
            finally:
                for s in pair:
                    s.kill()
            p1 = runs_b["one_1.0"]["p99_ms"]
            levels = [(m, runs_b[f"two_{m}"]["p99_ms"]) for m in multiples]
            multiple, lower_bound = fanout_multiple(p1, levels)
            results["fanout"] = {"auctions": n_auctions, "watchers_per_auction": watchers, "bidders_per_auction": 10,
                                 "rate": rate, "seconds": fan_seconds, "runs": runs_b, "one_process_p99_ms": p1,
                                 "two_processes_p99_ms_by_multiple": dict(levels), "multiple_is_lower_bound": lower_bound}
            goals += [
                {"name": "fanout_two_processes_vs_one_at_same_p99", "value": multiple, "target": 1.7,
                 "better": "higher"},
                {"name": "fanout_lost_or_unanswered", "value": sum(r["lost"] + r["unanswered"] for r in runs_b.values()),
                 "target": 0, "better": "lower"},
            ]
    finally:
        if replica is not None:
            replica.stop()
    results["seconds_total"] = round(time.perf_counter() - started, 1)
    results["load_at_end"] = loadavg()
    results["goals"] = goals
    emit(results)


if __name__ == "__main__":
    main()
