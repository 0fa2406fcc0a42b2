"""Live auction benchmark: the real ASGI server (uvicorn, one process) + Redis channel layer +
PostgreSQL, each scenario beside a raw baseline measured in the same run: a plain `websockets`
server with plain psycopg2 that does the same thing by hand: each bid one transaction holding the
auction's row lock (SELECT … FOR UPDATE, the state and the reference read, the bid and event rows
inserted, the row updated, COMMIT), then the event broadcast to the auction's connections. Both
servers take bids one transaction per bid (the same batching) and run their database work in a
thread pool of the same size (the event loop's default executor). For (a) a second raw server is
measured too, for information (no goal): the same plus a read without the lock that answers used
references and too-low bids first — what Sunlight's RoomView and ``_settled`` do.

(a) one auction, 50 bidders bidding as fast as they can (each bid the current minimum plus one of
    the room's +1/+2/+3/+5 increment buttons), 10 watchers: accepted bids per second, every bid
    answered, every client ending with the same gap-free history (checked against the database).
    Goal: accepted/s ≥ 0.5 × the baseline's; the absolute figure is reported.
(b) many rooms at once: A auctions (200) × 10 bidders each with 20 watchers; in each auction one
    bid every 1/R s (R = 0.5), rotating over its bidders: latency from a bid's acceptance (the
    server's timestamp in the event) to its arrival at every connection of the room (p50/p99),
    every bid answered, nothing lost. Goal: p99 ≤ 3 × the baseline's p99. Memory per idle watcher:
    the server process's RSS grown by connecting the watchers, divided by their number.

    With ``--server-processes N`` (b) runs N server processes on each side: uvicorn's ``--workers N`` for
    Sunlight (connections spread by the kernel, rooms' events through Redis to each process), N raw
    servers each serving a share of the auctions (a room's connections all on one, its broadcast in memory).
    The server's CPU time is reported beside the latency (``server_cpu_s``).

    .venv/bin/python bench/auction.py [--quick] [--fresh-setup] [--setup-processes N] [--server-processes N]

Setup (docs/benchmarks.md): everything through the services -- 50 bidders, the one auction, the 200
auctions each published, registered by 10 bidders, scheduled and opened by the clocks (the bidders admitted
and numbered at the opening) -- in 4 setup processes; the result is kept as a snapshot database (a
template, named by a hash of the code that made it) and later runs clone it in seconds while its auctions
are still open (6 h). ``--fresh-setup`` makes it anew.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sunlight_bench_auction,
dropped and re-created), REDIS_URL (default redis://127.0.0.1:6379/7). Prints one JSON line last.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sunlight_bench_auction")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
os.environ.setdefault("DEBUG", "0")

STEPS = (1, 2, 3, 5)  # the auction room's increment buttons
START, INC = 100_000_000, 100_000  # the raw baseline's auctions (ours come from the lot's rules)


def run_client(coro):
    """The load generator's event loop: uvloop when installed (with uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def fen(amount):
    """An amount of the protocol (a decimal string, docs/api-formats.md) in fen."""
    from trading.money import parse_money

    return None if amount is None else parse_money(amount)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[max(0, min(len(values) - 1, int(round(p / 100 * (len(values) - 1)))))]


def rss_kib(pid: int) -> int:
    """The resident memory of ``pid`` and of its child processes (uvicorn's workers)."""
    with open(f"/proc/{pid}/status") as f:
        own = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        children = []
    return own + sum(rss_kib(c) for c in children)


def cpu_s(pid: int) -> float:
    """The CPU time (user + system) of ``pid`` and of its child processes so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        children = []
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + sum(cpu_s(c) for c in children)


# ---------------------------------------------------------------------------------------------
# the raw baseline: plain websockets + psycopg2, the same row-locked write and broadcast
# ---------------------------------------------------------------------------------------------

RAW_SCHEMA = """
DROP TABLE IF EXISTS raw_event, raw_bid, raw_auction;
CREATE TABLE raw_auction (id int PRIMARY KEY, start_fen bigint NOT NULL, inc_fen bigint NOT NULL,
    price_fen bigint NOT NULL DEFAULT 0, leader text, last_seq bigint NOT NULL DEFAULT 0);
CREATE TABLE raw_bid (auction int NOT NULL REFERENCES raw_auction, seq bigint NOT NULL, bidder text NOT NULL,
    ref text NOT NULL, amount_fen bigint NOT NULL, UNIQUE (auction, seq), UNIQUE (bidder, ref));
CREATE TABLE raw_event (auction int NOT NULL REFERENCES raw_auction, seq bigint NOT NULL, data jsonb NOT NULL,
    at timestamptz NOT NULL, PRIMARY KEY (auction, seq));
"""

BASELINE = textwrap.dedent(r'''
    import asyncio, json, sys, threading, time
    from datetime import datetime, timezone
    import psycopg2
    from websockets.asyncio.server import serve, broadcast
    import websockets

    PORT, DSN, PREREAD = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
    rooms = {}
    local = threading.local()

    def db():
        if getattr(local, "conn", None) is None:
            local.conn = psycopg2.connect(DSN)
            local.conn.autocommit = True  # transactions spelt out: BEGIN … COMMIT
        return local.conn

    def iso():
        return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")

    def money(fen):  # the edge form of an amount, as Sunlight's (docs/api-formats.md)
        return None if fen is None else f"{fen // 100}.{fen % 100:02d}"

    def read(auction, after):
        with db().cursor() as cur:
            cur.execute("SELECT price_fen, leader, last_seq, start_fen, inc_fen FROM raw_auction WHERE id = %s", (auction,))
            price, leader, seq, start, inc = cur.fetchone()
            cur.execute("SELECT data FROM raw_event WHERE auction = %s AND seq > %s AND seq <= %s ORDER BY seq",
                        (auction, after, seq))
            events = [r[0] for r in cur.fetchall()]
        return seq, {"price": money(price), "leader": leader, "minimum": money(price + inc if leader else start),
                     "phase": "live"}, events

    READ = ("SELECT a.price_fen, a.leader, a.last_seq, a.start_fen, a.inc_fen, b.seq, b.amount_fen FROM raw_auction a "
            "LEFT JOIN raw_bid b ON b.bidder = %s AND b.ref = %s WHERE a.id = %s")

    def judge(row, bidder, amount):
        price, leader, seq, start, inc, before_seq, before_amount = row
        if before_seq is not None:
            return {"accepted": True, "code": "replayed", "seq": before_seq, "amount": money(before_amount)}
        minimum, base = (price + inc, price) if leader else (start, start)
        code = ("already_highest" if leader == bidder else "too_low" if amount < minimum
                else "not_multiple" if (amount - base) % inc else "too_high" if amount > base + 10 * inc else None)
        return {"accepted": False, "code": code, "message": code, "minimum": money(minimum)} if code else None

    def place(auction, bidder, amount, ref):
        """One transaction under the auction's row lock (lock, read, write, commit). PREREAD: first a
        read without the lock settles replays and too-low bids, as Sunlight's RoomView / _settled."""
        conn = db()
        with conn.cursor() as cur:
            if PREREAD:
                cur.execute(READ, (bidder, ref, auction))
                answer = judge(cur.fetchone(), bidder, amount)
                if answer and answer["code"] in ("replayed", "too_low"):
                    return answer, None
            try:
                cur.execute("BEGIN; SELECT 1 FROM raw_auction WHERE id = %s FOR UPDATE; " + READ,
                            (auction, bidder, ref, auction))
                row = cur.fetchone()
                answer = judge(row, bidder, amount)
                if answer:
                    cur.execute("COMMIT")
                    return answer, None
                price, leader, seq, start, inc = row[:5]
                seq += 1
                ev = {"seq": seq, "kind": "bid", "data": {"bidder": bidder, "amount": money(amount), "at": iso(),
                      "n": seq}, "at": iso()}
                cur.execute("INSERT INTO raw_bid VALUES (%s, %s, %s, %s, %s); "
                            "INSERT INTO raw_event VALUES (%s, %s, %s, now()); "
                            "UPDATE raw_auction SET price_fen = %s, leader = %s, last_seq = %s WHERE id = %s; COMMIT",
                            (auction, seq, bidder, ref, amount, auction, seq, json.dumps(ev), amount, bidder, seq,
                             auction))
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        state = {"price": money(amount), "leader": bidder, "minimum": money(amount + inc), "phase": "live"}
        return {"accepted": True, "code": "ok", "seq": seq, "amount": money(amount)}, (ev, state)

    async def handler(ws):
        path, _, query = ws.request.path.partition("?")
        auction = int(path.rstrip("/").rsplit("/", 1)[-1])
        bidder = query.split("bidder=", 1)[1] if "bidder=" in query else None
        room = rooms.setdefault(auction, set())
        room.add(ws)
        seq, state, events = await asyncio.to_thread(read, auction, 0)
        await ws.send(json.dumps({"type": "snapshot", "seq": seq, "server_time": iso(), "events": events,
                                  "state": state, "me": {"number": bidder}}))
        try:
            async for raw in ws:
                m = json.loads(raw)
                if m["type"] == "resync":
                    seq, state, events = await asyncio.to_thread(read, auction, m["last_seq"])
                    await ws.send(json.dumps({"type": "events", "seq": seq, "server_time": iso(), "events": events,
                                              "state": state}))
                    continue
                amount = int(round(float(m["amount"]) * 100))
                if bidder is None:
                    answer, event = {"accepted": False, "code": "not_a_bidder", "message": "watching"}, None
                else:
                    answer, event = await asyncio.to_thread(place, auction, bidder, amount, m["ref"])
                if event is not None:  # committed: the room hears of it
                    ev, state = event
                    broadcast(rooms[auction], json.dumps({"type": "event", "server_time": iso(), "state": state, **ev}))
                await ws.send(json.dumps({"type": "bid_result", "ref": m["ref"], "server_time": iso(),
                                          "message": answer.get("code"), **answer}))
        except websockets.ConnectionClosed:
            pass
        finally:
            room.discard(ws)

    async def main():
        async with serve(handler, "127.0.0.1", PORT, max_size=2**20, compression=None, ping_interval=20, ping_timeout=20):
            print("ready", flush=True)
            await asyncio.Future()

    asyncio.run(main())
''')


class Baseline:
    def __init__(self, auctions: int, *, preread: bool = False, processes: int = 1):
        """``auctions`` rows are created by the first server; a second one shares the tables. With
        ``processes`` > 1, as many server processes, each serving a share of the auctions (an auction's
        connections all go to one of them, so its broadcast stays in memory)."""
        import psycopg2

        from tests.auction.live import free_port

        if auctions:
            conn = psycopg2.connect(DB_URL)
            with conn, conn.cursor() as cur:
                cur.execute(RAW_SCHEMA)
                cur.execute("INSERT INTO raw_auction (id, start_fen, inc_fen) SELECT g, %s, %s "
                            "FROM generate_series(1, %s) g", (START, INC, auctions))
            conn.close()
        self.ports, self.procs = [], []
        for _ in range(processes):
            self.ports.append(free_port())
            self.procs.append(subprocess.Popen([sys.executable, "-c", BASELINE, str(self.ports[-1]), DB_URL,
                                                "1" if preread else "0"], stdout=subprocess.PIPE, cwd=ROOT))
            assert self.procs[-1].stdout.readline().strip() == b"ready"
        self.pids = [p.pid for p in self.procs]

    def url(self, auction: int, bidder: str | None) -> str:
        port = self.ports[auction % len(self.ports)]
        return f"ws://127.0.0.1:{port}/room/{auction}" + (f"?bidder={bidder}" if bidder else "")

    def history(self, auction: int) -> list:
        import psycopg2

        conn = psycopg2.connect(DB_URL)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT seq, data FROM raw_event WHERE auction = %s ORDER BY seq", (auction,))
            rows = cur.fetchall()
        conn.close()
        return [(s, d["data"]["bidder"], fen(d["data"]["amount"])) for s, d in rows]

    def stop(self):
        for proc in self.procs:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------------------------
# one client (the same protocol subset on both servers)
# ---------------------------------------------------------------------------------------------

def epoch_of(ev: dict) -> float:
    from datetime import datetime

    return datetime.fromisoformat(ev["data"].get("at") or ev["at"]).timestamp()


class Client:
    def __init__(self, url: str, cookie: str | None = None, origin: str | None = None):
        self.url, self.cookie, self.origin = url, cookie, origin
        self.events: dict[int, dict] = {}
        self.arrival: dict[int, float] = {}
        self.last_seq = 0
        self.state: dict = {}
        self.waiters: dict[str, asyncio.Future] = {}
        self.changed = asyncio.Event()
        self.number = None
        self.resyncs = 0

    async def connect(self):
        import websockets

        headers = {"Cookie": self.cookie} if self.cookie else None
        self.ws = await websockets.connect(self.url, origin=self.origin, additional_headers=headers,
                                           max_size=2**26, open_timeout=120, compression=None, ping_interval=None)
        self.handle(json.loads(await self.ws.recv()))
        self.reader = asyncio.ensure_future(self.read())
        return self

    async def read(self):
        import websockets

        try:
            async for raw in self.ws:
                self.handle(json.loads(raw))
        except websockets.ConnectionClosed:
            pass

    def handle(self, m: dict):
        t = time.time()
        kind = m["type"]
        if kind == "snapshot":
            for e in m["events"]:
                self.events[e["seq"]] = e
            self.last_seq = m["seq"]
            self.state = m["state"]
            self.number = (m.get("me") or {}).get("number")
        elif kind in ("event", "events"):
            for e in (m["events"] if kind == "events" else [m]):
                if e["seq"] <= self.last_seq:
                    continue
                if e["seq"] != self.last_seq + 1:
                    self.resyncs += 1
                    asyncio.ensure_future(self.ws.send(json.dumps({"type": "resync", "last_seq": self.last_seq})))
                    break
                self.events[e["seq"]] = {k: e[k] for k in ("seq", "kind", "data", "at")}
                self.arrival[e["seq"]] = t
                self.last_seq = e["seq"]
            self.state = {**self.state, **m["state"]}  # events carry the state's changing fields
            self.changed.set()
        elif kind == "bid_result":
            fut = self.waiters.pop(m["ref"], None)
            if fut and not fut.done():
                fut.set_result(m)

    async def bid(self, amount: int, timeout: float = 60) -> dict | None:
        ref = uuid.uuid4().hex
        fut = asyncio.get_running_loop().create_future()
        self.waiters[ref] = fut
        await self.ws.send(json.dumps({"type": "bid", "amount": f"{amount // 100}.{amount % 100:02d}", "ref": ref}))
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return None

    async def close(self):
        await self.ws.close()

    def history(self):
        return [(s, e["data"].get("bidder"), fen(e["data"].get("amount"))) for s, e in sorted(self.events.items())
                if e["kind"] == "bid"]


async def connect_many(factories, batch: int = 50):
    out = []
    for i in range(0, len(factories), batch):
        out += await asyncio.gather(*(f().connect() for f in factories[i:i + batch]))
    return out


# ---------------------------------------------------------------------------------------------
# (a) one auction, 50 bidders
# ---------------------------------------------------------------------------------------------

async def storm(bidder_urls: list, cookies: list, watcher_url: str, *, watchers: int, seconds: float, inc: int,
                origin=None, db_history=None) -> dict:
    bidders = await connect_many([lambda u=u, c=c: Client(u, cookie=c, origin=origin)
                                  for u, c in zip(bidder_urls, cookies)])
    ws = await connect_many([lambda: Client(watcher_url, origin=origin)] * watchers)
    stats = {"sent": 0, "accepted": 0, "refused": 0, "refused_without_reason": 0, "unanswered": 0}
    codes: dict[str, int] = {}
    stop = time.perf_counter() + seconds

    async def run(c: Client):
        minimum = fen(c.state.get("minimum"))
        while time.perf_counter() < stop:
            if c.state.get("leader") and c.state.get("leader") == c.number:
                c.changed.clear()
                try:
                    await asyncio.wait_for(c.changed.wait(), 0.5)
                except TimeoutError:
                    pass
                continue
            amount = max(minimum or 0, fen(c.state.get("minimum")) or 0) + (random.choice(STEPS) - 1) * inc
            stats["sent"] += 1
            ans = await c.bid(amount)
            if ans is None:
                stats["unanswered"] += 1
            elif ans["accepted"]:
                stats["accepted"] += 1
                c.state = dict(c.state, leader=c.number, minimum=f"{(amount + inc) // 100}.{(amount + inc) % 100:02d}")
                minimum = amount + inc
            else:
                stats["refused"] += 1
                codes[ans.get("code")] = codes.get(ans.get("code"), 0) + 1
                if not ans.get("code") or not ans.get("message"):
                    stats["refused_without_reason"] += 1
                minimum = fen(ans.get("minimum")) or minimum

    t0 = time.perf_counter()
    await asyncio.gather(*(run(c) for c in bidders))
    elapsed = time.perf_counter() - t0
    everyone = bidders + ws
    truth = await asyncio.to_thread(db_history)
    final = truth[-1][0] if truth else 0
    deadline = time.perf_counter() + 20
    while time.perf_counter() < deadline and any(c.last_seq < final for c in everyone):
        await asyncio.sleep(0.05)
    histories = {tuple(c.history()) for c in everyone}
    gap_free = all(sorted(c.events) == list(range(1, c.last_seq + 1)) for c in everyone)
    for c in everyone:
        await c.close()
    return {**stats, "codes": codes, "seconds": round(elapsed, 2),
            "accepted_per_s": round(stats["accepted"] / elapsed, 1),
            "same_history_as_database": histories == {tuple(truth)} and len(truth) == stats["accepted"],
            "gap_free": gap_free, "final_seq": final}


# ---------------------------------------------------------------------------------------------
# (b) many rooms: client processes, each holding a slice of the auctions
# ---------------------------------------------------------------------------------------------

def _rooms_process(rooms: list, origin, watchers: int, rate: float, seconds: float, inc: int, pipe) -> None:
    pipe.send(run_client(_rooms_main(rooms, origin, watchers, rate, seconds, inc, pipe)))


async def _rooms_main(rooms, origin, watchers, rate, seconds, inc, pipe):
    """rooms: [(watcher_url, [(bidder_url, cookie)…])…]. Watchers first (idle: the memory figure),
    then the bidders; one driver per auction bids every 1/rate s, rotating over its bidders, each
    bid after the previous answer."""
    ws = await connect_many([lambda u=w: Client(u, origin=origin) for w, _ in rooms for _ in range(watchers)])
    pipe.send("watchers")
    await asyncio.to_thread(pipe.recv)
    bidders = [await connect_many([lambda u=u, c=c: Client(u, cookie=c, origin=origin) for u, c in bs])
               for _, bs in rooms]
    stats = {"sent": 0, "accepted": 0, "refused": 0, "unanswered": 0}
    accepted: list[list[int]] = [[] for _ in rooms]
    t0 = time.perf_counter()

    async def drive(i: int):
        bs = bidders[i]
        amount = fen(bs[0].state.get("minimum"))
        await asyncio.sleep(random.random() / rate)  # rooms out of step with each other
        k = 0
        while time.perf_counter() - t0 < seconds:
            delay = t0 + (k + 1) / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            stats["sent"] += 1
            ans = await bs[k % len(bs)].bid(amount)
            k += 1
            if ans is None:
                stats["unanswered"] += 1
            elif ans["accepted"]:
                stats["accepted"] += 1
                accepted[i].append(ans["seq"])
                amount += inc
            else:
                stats["refused"] += 1
                amount = fen(ans.get("minimum")) or amount + inc

    await asyncio.gather(*(drive(i) for i in range(len(rooms))))
    per_room = [ws[i * watchers:(i + 1) * watchers] + bidders[i] for i in range(len(rooms))]
    deadline = time.perf_counter() + 20  # stragglers, bounded
    while time.perf_counter() < deadline and any(c.last_seq < max(acc, default=0)
                                                 for acc, cs in zip(accepted, per_room) for c in cs):
        await asyncio.sleep(0.05)
    lat, lost, resyncs = [], 0, 0
    for acc, cs in zip(accepted, per_room):
        for c in cs:
            resyncs += c.resyncs
            for seq in acc:
                if seq in c.arrival:
                    lat.append((c.arrival[seq] - epoch_of(c.events[seq])) * 1000)
                elif seq not in c.events:
                    lost += 1
    for c in ws + [b for bs in bidders for b in bs]:
        await c.close()
    return stats, lat, lost, resyncs, sum(len(a) for a in accepted) * (watchers + len(bidders[0]) if bidders else 0)


def many_rooms(rooms: list, *, pids: list[int], origin=None, watchers: int, rate: float, seconds: float, inc: int,
               processes: int) -> dict:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    before = sum(map(rss_kib, pids))
    procs, pipes = [], []
    for k in range(processes):
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_rooms_process, daemon=True,
                        args=(rooms[k::processes], origin, watchers, rate, seconds, inc, child))
        p.start()
        procs.append(p)
        pipes.append(parent)
    for pipe in pipes:
        assert pipe.recv() == "watchers"
    n_watchers = len(rooms) * watchers
    time.sleep(2)  # let the server settle (allocations of the last handshakes) before reading its RSS
    per_watcher_kib = (sum(map(rss_kib, pids)) - before) / n_watchers
    log(f"  {n_watchers} idle watchers: {per_watcher_kib:.1f} KiB each")
    cpu_before = sum(map(cpu_s, pids))
    for pipe in pipes:
        pipe.send("go")
    stats = {"sent": 0, "accepted": 0, "refused": 0, "unanswered": 0}
    lat, lost, resyncs, expected = [], 0, 0, 0
    for pipe, p in zip(pipes, procs):
        s, l_, lo, rs, ex = pipe.recv()
        for key in stats:
            stats[key] += s[key]
        lat += l_
        lost += lo
        resyncs += rs
        expected += ex
        p.join()
    cpu = sum(map(cpu_s, pids)) - cpu_before
    return {**stats, "auctions": len(rooms), "watchers": n_watchers, "memory_per_idle_watcher_kib": round(per_watcher_kib, 1),
            "p50_ms": round(percentile(lat, 50), 2) if lat else None,
            "p99_ms": round(percentile(lat, 99), 2) if lat else None, "max_ms": round(max(lat), 2) if lat else None,
            "lost": lost, "client_resyncs": resyncs, "deliveries": len(lat), "expected_deliveries": expected,
            # the server's CPU time from the bidders' arrival to the clients' goodbyes: bids, deliveries, pings
            "server_cpu_s": round(cpu, 2)}


# ---------------------------------------------------------------------------------------------

def _schedule(world, n: int, *, users, live_duration_s: int, **kw) -> list:
    """n sale lots, each published, registered by ``users`` and its auction scheduled -- all through the
    services, 22 days back in time (the auction rule's minimum notice), so that each auction starts now."""
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from bidding.auction import services as S
    from tests.auction.helpers import register_all, sale_lot

    out = []
    for _ in range(n):
        with time_machine.travel(timezone.now() - dt.timedelta(days=22, minutes=1), tick=True):
            lot = sale_lot(world, "auction")
            register_all(world, lot, users)
            out.append(S.schedule_auction(lot=lot, actor=world.staff, live_duration_s=live_duration_s, **kw).pk)
    return out


def _setup_process(world_pickle: bytes, n: int, user_ids: list, kw: dict, pipe) -> None:
    """One setup process: Django on the bench database, ``_schedule`` for its share of the auctions; once
    the parent has run the trading clock, the auction clock for its own auctions (``advance_auction``: each
    opening admits the bidders and gives them their numbers) -- as several clock workers share the work."""
    import pickle

    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from bidding.auction import services as S

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = pickle.loads(world_pickle)
    users = [u for u in world.bidders if u.pk in user_ids]
    try:
        ids = _schedule(world, n, users=users, **kw)
        pipe.send("scheduled")
        assert pipe.recv() == "tick"
        now = timezone.now()
        for pk in ids:
            S.advance_auction(auction=pk, now=now)
        pipe.send(ids)
    except BaseException as exc:  # the parent reports it
        pipe.send(repr(exc))
        raise


def live_auctions(world, n: int, *, users, processes: int = 1, **kw) -> list:
    """n auctions open now, as ``tests.auction.live.live_auction`` makes them (each published, registered
    and scheduled through the services by travelling back in time), spread over ``processes`` setup
    processes (the services' work is mostly waiting: for the database, and for the CPU on a shared machine),
    then opened by the clocks: the trading clock once, here, then the auction clock of each process for
    its own auctions (``_setup_process``). Not the test helper's way, a tick after each auction: each tick
    looks at every lot and auction made so far -- quadratic in n."""
    import multiprocessing as mp
    import pickle

    from django.db import connection
    from django.utils import timezone

    from bidding.auction import services as S
    from bidding.auction.models import Auction
    from trading.clock import tick as trading_tick

    if processes <= 1:
        ids = _schedule(world, n, users=users, **kw)
        trading_tick(timezone.now())
    else:
        connection.close()
        ctx = mp.get_context("spawn")
        shares = [n // processes + (1 if k < n % processes else 0) for k in range(processes)]
        procs, pipes = [], []
        for share in filter(None, shares):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_setup_process, daemon=True,
                            args=(pickle.dumps(world), share, [u.pk for u in users], kw, child))
            p.start()
            procs.append(p)
            pipes.append(parent)

        def receive(pipe):
            got = pipe.recv()
            if isinstance(got, str) and got not in ("scheduled",):
                raise RuntimeError(f"a setup process failed: {got}")
            return got

        for pipe in pipes:
            assert receive(pipe) == "scheduled"
        trading_tick(timezone.now())
        for pipe in pipes:
            pipe.send("tick")
        ids = []
        for pipe, p in zip(pipes, procs):
            ids += receive(pipe)
            p.join()
    now = timezone.now()
    assert Auction.objects.filter(pk__in=ids, start_at__lte=now).count() == n
    S.tick(now)  # whatever is still due (all of it with one process)
    return list(Auction.objects.filter(pk__in=ids).order_by("pk"))


LIVE_S = 6 * 3600  # the auctions' free bidding time: a setup snapshot stays usable for hours
SNAPSHOT_MARGIN_S = 1800  # …until half an hour before its auctions would end


def snapshot_name(n_auctions: int) -> str:
    """The setup snapshot's database: the bench database's name, the sizes, and a hash of what made it (the
    migrations, the services' and the test factories' code): any change there makes a new snapshot."""
    import hashlib
    from urllib.parse import urlparse

    h = hashlib.sha256(f"{n_auctions}/{LIVE_S}".encode())
    for pattern in ("trading/**/*.py", "bidding/**/*.py", "deposits/**/*.py", "audit/**/*.py", "config/*.py",
                    "tests/factories.py", "tests/auction/helpers.py", "tests/auction/live.py"):
        for path in sorted(ROOT.glob(pattern)):
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    return f"{urlparse(DB_URL).path.lstrip('/')}"[:40] + "_setup_" + h.hexdigest()[:12]


def _meta_path(snap: str) -> Path:
    return Path(os.environ.get("SUNLIGHT_VAR_DIR") or "/tmp") / f"{snap}.json"


def usable_snapshot(snap: str) -> dict | None:
    """The snapshot's description if it exists and its auctions are still open long enough, else None."""
    from datetime import datetime

    from bench.common import database_exists

    path = _meta_path(snap)
    if not path.exists() or not database_exists(DB_URL, snap):
        return None
    meta = json.loads(path.read_text())
    if datetime.fromisoformat(meta["ends_at"]).timestamp() - time.time() < SNAPSHOT_MARGIN_S:
        return None
    return {**meta, "cloned": True}


def make_setup(n_auctions: int, processes: int, snap: str) -> dict:
    """The bench's world through the services: 50 bidders, the one auction (all 50 registered) and
    ``n_auctions`` auctions of 10 bidders each, all open now; then kept as the snapshot ``snap`` (a template
    database) for the next runs."""
    from django.db import connection

    from bench.common import snapshot_database
    from bidding.auction.models import Auction
    from tests import factories
    from tests.auction.live import live_auction

    world = factories.make_world(bidders=50)
    one = live_auction(world, live_duration_s=LIVE_S, countdown_s=600, max_jump=10)
    rooms = []
    if n_auctions:
        log(f"scheduling {n_auctions} auctions of 10 bidders in {processes} processes…")
        t = time.perf_counter()
        rooms = live_auctions(world, n_auctions, users=world.bidders[:10], processes=processes,
                              live_duration_s=LIVE_S, countdown_s=600, max_jump=10)
        log(f"  scheduled and opened in {time.perf_counter() - t:.0f}s")
    ends = min(a.end_at for a in Auction.objects.filter(pk__in=[one.pk] + [a.pk for a in rooms]))
    meta = {"bidders": [u.pk for u in world.bidders], "one": one.pk, "rooms": [a.pk for a in rooms],
            "made_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "ends_at": ends.isoformat()}
    connection.close()
    snapshot_database(DB_URL, snap)
    _meta_path(snap).parent.mkdir(parents=True, exist_ok=True)
    _meta_path(snap).write_text(json.dumps(meta))
    return meta


def setup_database():
    """The bench database afresh, migrated (bench.common.setup_migrated: cloned from a migrated template)."""
    from bench.common import setup_migrated

    setup_migrated(DB_URL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer rooms, shorter runs")
    ap.add_argument("--auctions", type=int, default=None, help="(b) concurrent auctions (200)")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--only", choices=["one", "many"], default=None, help="run one scenario")
    ap.add_argument("--ws", default="websockets-sansio", help="uvicorn's websocket implementation")
    ap.add_argument("--server-processes", type=int, default=1,
                    help="(b) server processes on each side: uvicorn --workers N for Sunlight, N raw servers "
                         "(each with a share of the auctions) for the baseline")
    ap.add_argument("--setup-processes", type=int, default=4, help="processes scheduling the auctions (b)")
    ap.add_argument("--fresh-setup", action="store_true", help="make the auctions anew, not from the snapshot")
    args = ap.parse_args()
    n_auctions = args.auctions or (40 if args.quick else 200)
    seconds = args.seconds or (8 if args.quick else 30)
    rate, watchers, processes = 0.5, 20, 2 if args.quick else 4

    t_setup = time.perf_counter()
    snap = snapshot_name(n_auctions if args.only != "one" else 0)
    meta = None if args.fresh_setup else usable_snapshot(snap)
    if meta is not None:
        log(f"setting up: a clone of the setup snapshot {snap} (made {meta['made_at']}; --fresh-setup makes anew)")
        from bench.common import clone_database

        clone_database(DB_URL, snap)
    else:
        log("setting up the database…")
        setup_database()
        meta = make_setup(n_auctions if args.only != "one" else 0, args.setup_processes, snap)
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from bidding.auction.models import Auction, AuctionEvent
    from tests.auction.live import Server, session_cookie
    from trading.models import User

    users = {u.pk: u for u in User.objects.filter(pk__in=meta["bidders"])}
    cookies = [session_cookie(users[pk]) for pk in meta["bidders"]]
    one = Auction.objects.get(pk=meta["one"])
    inc = one.increment_fen
    by_pk = {a.pk: a for a in Auction.objects.filter(pk__in=meta["rooms"])}
    rooms = [by_pk[pk] for pk in meta["rooms"]]
    setup_s = round(time.perf_counter() - t_setup, 1)
    log(f"  set up in {setup_s}s ({'cloned' if meta.get('cloned') else 'made'})")
    from django.db import connection

    connection.close()
    n_proc = args.server_processes
    # one process for (a), production-like (no query log); for (b) the same with n_proc processes: the
    # same number of processes on each side, the raw ones each serving its share of the auctions
    server = Server(ws=args.ws, extra_env={"DEBUG": "0"}).start() if args.only != "many" else None
    many_server = (Server(ws=args.ws, workers=n_proc, extra_env={"DEBUG": "0"}).start()
                   if args.only != "one" else None)
    base = Baseline(2 + n_auctions, processes=n_proc)  # 1: (a), 2…: (b), the last: (a) with the read before the lock
    preread = Baseline(0, preread=True) if args.only != "many" else None
    pre_id = 2 + n_auctions
    results: dict = {"bench": "auction", "quick": args.quick, "seconds": seconds, "auctions": n_auctions,
                     "setup_s": setup_s, "setup": "cloned" if meta.get("cloned") else "made",
                     "watchers_per_auction": watchers, "bids_per_s_per_auction": rate, "server_processes": n_proc,
                     "note": "measured on a shared machine (2 cores, other work running)"}

    def ours_history(auction_id):
        def read():
            try:
                return [(e.seq, e.data.get("bidder"), e.data.get("amount_fen"))
                        for e in AuctionEvent.objects.filter(auction_id=auction_id, kind="bid").order_by("seq")]
            finally:
                connection.close()
        return read

    try:
        if args.only != "many":
            assert server is not None and preread is not None
            log(f"(a) one auction, 50 bidders + 10 watchers, {seconds}s — Sunlight")
            results["one"] = run_client(storm([server.ws_url(one.pk)] * 50, cookies, server.ws_url(one.pk),
                                              watchers=10, seconds=seconds, inc=inc, origin=server.origin,
                                              db_history=ours_history(one.pk)))
            log("   ", results["one"])
            log("(a) the same against the raw baseline")
            results["one_baseline"] = run_client(storm([base.url(1, f"B{i:03d}") for i in range(50)], [None] * 50,
                                                       base.url(1, None), watchers=10, seconds=seconds, inc=INC,
                                                       db_history=lambda: base.history(1)))
            log("   ", results["one_baseline"])
            log("(a) the same against the raw baseline with a read before the lock (information)")
            results["one_baseline_preread"] = run_client(storm(
                [preread.url(pre_id, f"P{i:03d}") for i in range(50)], [None] * 50, preread.url(pre_id, None),
                watchers=10, seconds=seconds, inc=INC, db_history=lambda: preread.history(pre_id)))
            log("   ", results["one_baseline_preread"])
        if args.only != "one":
            assert many_server is not None and many_server.proc is not None
            log(f"(b) {n_auctions} auctions × 10 bidders × {watchers} watchers, {rate} bids/s each, {seconds}s, "
                f"{n_proc} server process(es) each side — Sunlight")
            ours_rooms = [(many_server.ws_url(a.pk), [(many_server.ws_url(a.pk), c) for c in cookies[:10]])
                          for a in rooms]
            results["many"] = many_rooms(ours_rooms, pids=[many_server.proc.pid], origin=many_server.origin,
                                         watchers=watchers,
                                         rate=rate, seconds=seconds, inc=inc, processes=processes)
            log("   ", results["many"])
            log("(b) the same against the raw baseline")
            raw_rooms = [(base.url(k, None), [(base.url(k, f"B{i:03d}"), None) for i in range(10)])
                         for k in range(2, 2 + n_auctions)]
            results["many_baseline"] = many_rooms(raw_rooms, pids=base.pids, watchers=watchers, rate=rate,
                                                  seconds=seconds, inc=INC, processes=processes)
            log("   ", results["many_baseline"])
    finally:
        base.stop()
        if preread is not None:
            preread.stop()
        for srv in (server, many_server):
            if srv is not None:
                srv.kill()

    goals = []
    if "one" in results:
        o, b = results["one"], results["one_baseline"]
        pre = results["one_baseline_preread"]["accepted_per_s"]
        results["one_vs_raw_with_read_before_lock"] = round(o["accepted_per_s"] / pre, 2) if pre else None
        goals += [
            {"name": "one_auction_accepted_per_s_vs_raw", "value": round(o["accepted_per_s"] / b["accepted_per_s"], 2)
             if b["accepted_per_s"] else None, "target": 0.5, "better": "higher"},
            {"name": "one_auction_accepted_per_s", "value": o["accepted_per_s"], "target": None, "better": "higher"},
            {"name": "one_auction_unanswered_or_without_reason", "value": o["unanswered"] + o["refused_without_reason"],
             "target": 0, "better": "lower"},
            {"name": "one_auction_same_gap_free_history", "value": int(o["same_history_as_database"] and o["gap_free"]),
             "target": 1, "better": "higher"},
        ]
    if "many" in results:
        m, b = results["many"], results["many_baseline"]
        goals += [
            {"name": "many_rooms_fanout_p99_vs_raw", "value": round(m["p99_ms"] / b["p99_ms"], 2)
             if m["p99_ms"] and b["p99_ms"] else None, "target": 3.0, "better": "lower"},
            {"name": "many_rooms_lost_or_unanswered", "value": m["lost"] + m["unanswered"], "target": 0,
             "better": "lower"},
            {"name": "many_rooms_memory_per_idle_watcher_kib", "value": m["memory_per_idle_watcher_kib"],
             "target": None, "better": "lower"},
        ]
    results["goals"] = goals
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
