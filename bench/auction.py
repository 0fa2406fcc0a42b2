"""Live auction benchmark: the real ASGI server (uvicorn) + Redis channel layer + PostgreSQL,
each scenario beside a minimal `websockets` broadcast server serving the same clients in the same run.

(a) fan-out: N watchers (1,000) while bids are accepted at 20 per second for D seconds (30):
    p50/p99 latency from a bid's acceptance (the server's timestamp of the accepted event) to its
    arrival at every watcher, and messages lost. Goals: p99 ≤ 3× the baseline's p99, 0 lost.
(b) contention: 50 bidders bidding as fast as they can for D seconds with 10 watchers (each bid
    is the current price plus one of the room's +1/+2/+3/+5 increment buttons): accepted bids per second (goal ≥ 200), every refused bid answered with a reason, every client ending
    with the same gap-free history (checked against the database).

    .venv/bin/python bench/auction.py [--quick]

The clients run on uvloop (it comes with uvicorn[standard]) for both servers alike: they share the
machine's cores with the servers, and the lighter they are the less they weigh on either.

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


def run_client(coro):
    """The load generator's event loop: uvloop when installed (it comes with uvicorn[standard]), so
    that the clients' own CPU, on the same cores as the servers, weighs less on either server."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


# ---------------------------------------------------------------------------------------------
# the baseline: a minimal websockets broadcast "auction" server (separate process, like uvicorn)
# ---------------------------------------------------------------------------------------------

BASELINE = textwrap.dedent(r'''
    import asyncio, json, sys, time
    import websockets
    from websockets.asyncio.server import serve, broadcast

    PORT, START, INC = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    clients = set()
    st = {"seq": 0, "price": 0, "leader": None, "events": []}

    def now_iso():
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"

    async def handler(ws):
        clients.add(ws)
        bidder = ws.request.path.rsplit("=", 1)[-1] if "bidder=" in ws.request.path else None
        await ws.send(json.dumps({"type": "snapshot", "seq": st["seq"], "server_time": now_iso(),
                                  "events": st["events"], "state": {"price_fen": st["price"], "leader": st["leader"],
                                  "minimum_fen": (st["price"] + INC) if st["leader"] else START, "phase": "live"},
                                  "me": {"number": bidder}}))
        try:
            async for raw in ws:
                m = json.loads(raw)
                amount = int(round(float(m["amount"]) * 100))
                minimum = (st["price"] + INC) if st["leader"] else START
                if bidder is None:
                    ok, code = False, "not_a_bidder"
                elif st["leader"] == bidder:
                    ok, code = False, "already_highest"
                elif amount < minimum:
                    ok, code = False, "too_low"
                elif (amount - (st["price"] if st["leader"] else START)) % INC:
                    ok, code = False, "not_multiple"
                else:
                    ok, code = True, "ok"
                if not ok:
                    await ws.send(json.dumps({"type": "bid_result", "accepted": False, "code": code, "message": code,
                                              "ref": m["ref"], "seq": st["seq"], "server_time": now_iso(),
                                              "minimum_fen": minimum}))
                    continue
                st["seq"] += 1
                st["price"], st["leader"] = amount, bidder
                ev = {"seq": st["seq"], "kind": "bid", "data": {"bidder": bidder, "amount_fen": amount,
                      "at_epoch": time.time()}, "at": now_iso()}
                st["events"].append(ev)
                await ws.send(json.dumps({"type": "bid_result", "accepted": True, "code": "ok", "message": "ok",
                                          "ref": m["ref"], "seq": st["seq"], "server_time": now_iso()}))
                broadcast(clients, json.dumps({"type": "event", "server_time": now_iso(),
                    "state": {"price_fen": amount, "leader": bidder, "minimum_fen": amount + INC, "phase": "live"}, **ev}))
        except websockets.ConnectionClosed:
            pass
        finally:
            clients.discard(ws)

    async def main():
        async with serve(handler, "127.0.0.1", PORT, max_size=2**20, compression=None):
            print("ready", flush=True)
            await asyncio.Future()

    asyncio.run(main())
''')


class Baseline:
    def __init__(self, start_fen: int, inc_fen: int):
        from tests.auction.live import free_port

        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-c", BASELINE, str(self.port), str(start_fen), str(inc_fen)],
                                     stdout=subprocess.PIPE, cwd=ROOT)
        assert self.proc.stdout.readline().strip() == b"ready"

    def url(self, bidder: str | None) -> str:
        return f"ws://127.0.0.1:{self.port}/room" + (f"?bidder={bidder}" if bidder else "")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


# ---------------------------------------------------------------------------------------------
# one client (works against both servers: same protocol subset)
# ---------------------------------------------------------------------------------------------

def epoch_of(ev: dict) -> float:
    if "at_epoch" in ev["data"]:
        return ev["data"]["at_epoch"]
    from datetime import datetime

    return datetime.fromisoformat(ev["data"].get("at") or ev["at"]).timestamp()


class Client:
    def __init__(self, url: str, cookie: str | None = None, origin: str | None = None):
        self.url, self.cookie, self.origin = url, cookie, origin
        self.events: dict[int, dict] = {}
        self.arrival: dict[int, float] = {}
        self.last_seq = 0
        self.state: dict = {}
        self.answers: dict[str, dict] = {}
        self.answer_waiters: dict[str, asyncio.Future] = {}
        self.changed = asyncio.Event()
        self.number = None
        self.resyncs = 0

    async def connect(self):
        import websockets

        headers = {"Cookie": self.cookie} if self.cookie else None
        self.ws = await websockets.connect(self.url, origin=self.origin, additional_headers=headers,
                                           max_size=2**26, open_timeout=60, compression=None, ping_interval=None)
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
            self.answers[m["ref"]] = m
            fut = self.answer_waiters.pop(m["ref"], None)
            if fut and not fut.done():
                fut.set_result(m)

    async def bid(self, amount: int, timeout: float = 30) -> dict:
        ref = uuid.uuid4().hex
        fut = asyncio.get_running_loop().create_future()
        self.answer_waiters[ref] = fut
        await self.ws.send(json.dumps({"type": "bid", "amount": f"{amount // 100}.{amount % 100:02d}", "ref": ref}))
        return await asyncio.wait_for(fut, timeout)

    async def close(self):
        await self.ws.close()

    def history(self):
        return [(s, e["data"].get("bidder"), e["data"].get("amount_fen")) for s, e in sorted(self.events.items())
                if e["kind"] == "bid"]


async def connect_many(make, n: int, batch: int = 100):
    out = []
    for i in range(0, n, batch):
        out += await asyncio.gather(*(make().connect() for _ in range(min(batch, n - i))))
    return out


# ---------------------------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------------------------

def _watchers_process(url: str, origin: str | None, n: int, pipe) -> None:
    """A client process holding n watcher connections (the watchers are spread over processes so
    that the clients' own CPU does not dominate the latency being measured)."""
    run_client(_watchers_main(url, origin, n, pipe))


async def _watchers_main(url, origin, n, pipe):
    clients = await connect_many(lambda: Client(url, origin=origin), n)
    pipe.send("ready")
    accepted = await asyncio.to_thread(pipe.recv)
    last = max(accepted) if accepted else 0
    deadline = time.perf_counter() + 10  # stragglers, bounded
    while time.perf_counter() < deadline and any(c.last_seq < last for c in clients):
        await asyncio.sleep(0.05)
    lat, lost = [], 0
    for c in clients:
        for seq in accepted:
            if seq in c.arrival and seq in c.events:
                lat.append((c.arrival[seq] - epoch_of(c.events[seq])) * 1000)
            elif seq not in c.events:
                lost += 1
    resyncs = sum(c.resyncs for c in clients)
    for c in clients:
        await c.close()
    pipe.send((lat, lost, resyncs))


def _driver_process(urls: list, cookies: list, origin, rate, seconds, start, inc, pipe) -> None:
    pipe.send(run_client(_driver_main(urls, cookies, origin, rate, seconds, start, inc)))


async def _driver_main(urls, cookies, origin, rate, seconds, start, inc):
    """Two bidders alternate, one increment at a time, paced at `rate`; each bid waits for the
    answer to the previous one (so an overloaded server shows as a lower achieved rate)."""
    b = [await Client(u, cookie=c, origin=origin).connect() for u, c in zip(urls, cookies)]
    amount = start if not b[0].state.get("leader") else b[0].state["price_fen"] + inc
    accepted, codes = [], {}
    t0 = time.perf_counter()
    for k in range(int(rate * seconds)):
        delay = t0 + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        ans = await b[k % 2].bid(amount, timeout=60)
        if ans["accepted"]:
            accepted.append(ans["seq"])
            amount += inc
        else:
            codes[ans["code"]] = codes.get(ans["code"], 0) + 1
            amount = ans.get("minimum_fen") or amount + inc
    elapsed = time.perf_counter() - t0
    for c in b:
        await c.close()
    return accepted, codes, elapsed


def fanout(url_for, cookies, *, watchers: int, rate: float, seconds: float, start: int, inc: int,
           origin=None, per_process: int = 250) -> dict:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    procs, pipes = [], []
    left = watchers
    while left > 0:
        n = min(per_process, left)
        left -= n
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_watchers_process, args=(url_for(None, None), origin, n, child), daemon=True)
        p.start()
        procs.append(p)
        pipes.append(parent)
    for pipe in pipes:
        assert pipe.recv() == "ready"
    log(f"  {watchers} watchers connected in {len(procs)} client processes")
    parent, child = ctx.Pipe()
    driver = ctx.Process(target=_driver_process, daemon=True, args=(
        [url_for(i, c) for i, c in enumerate(cookies[:2])], list(cookies[:2]), origin, rate, seconds, start, inc,
        child))
    driver.start()
    accepted, codes, elapsed = parent.recv()
    refused = sum(codes.values())
    driver.join()
    for pipe in pipes:
        pipe.send(accepted)
    lat, lost, resyncs = [], 0, 0
    for pipe, p in zip(pipes, procs):
        l_, lo, rs = pipe.recv()
        lat += l_
        lost += lo
        resyncs += rs
        p.join()
    return {"accepted": len(accepted), "refused": refused, "refused_codes": codes,
            "rate": round(len(accepted) / elapsed, 1),
            "p50_ms": round(percentile(lat, 50), 2) if lat else None,
            "p99_ms": round(percentile(lat, 99), 2) if lat else None,
            "max_ms": round(max(lat), 2) if lat else None, "lost": lost, "client_resyncs": resyncs,
            "deliveries": len(lat), "expected_deliveries": len(accepted) * watchers}


async def contention(url_for, cookies, *, watchers: int, seconds: float, inc: int, origin=None,
                     db_last_seq=None) -> dict:
    bidders = [await Client(url_for(i, c), cookie=c, origin=origin).connect() for i, c in enumerate(cookies)]
    ws = [await Client(url_for(None, None), origin=origin).connect() for _ in range(watchers)]
    log(f"  {len(bidders)} bidders + {len(ws)} watchers connected")
    stats = {"sent": 0, "accepted": 0, "refused": 0, "refused_without_reason": 0, "unanswered": 0}
    codes: dict[str, int] = {}
    stop = time.perf_counter() + seconds

    async def run(c: Client):
        minimum = c.state.get("minimum_fen")
        while time.perf_counter() < stop:
            if c.state.get("leader") and c.state.get("leader") == c.number:
                c.changed.clear()
                try:
                    await asyncio.wait_for(c.changed.wait(), 0.5)
                except TimeoutError:
                    pass
                minimum = c.state.get("minimum_fen", minimum)
                continue
            # like a bidder on the page: one of the +1 / +2 / +3 / +5 increment buttons
            amount = max(minimum or 0, c.state.get("minimum_fen") or 0) + (random.choice(STEPS) - 1) * inc
            stats["sent"] += 1
            try:
                ans = await c.bid(amount)
            except TimeoutError:
                stats["unanswered"] += 1
                continue
            if ans["accepted"]:
                stats["accepted"] += 1
                c.state = dict(c.state, leader=c.number, minimum_fen=amount + inc)
                minimum = amount + inc
            else:
                stats["refused"] += 1
                codes[ans.get("code")] = codes.get(ans.get("code"), 0) + 1
                if not ans.get("code") or not ans.get("message"):
                    stats["refused_without_reason"] += 1
                minimum = ans.get("minimum_fen") or minimum

    t0 = time.perf_counter()
    await asyncio.gather(*(run(c) for c in bidders))
    elapsed = time.perf_counter() - t0
    everyone = bidders + ws
    final = max([c.last_seq for c in everyone] + ([await asyncio.to_thread(db_last_seq)] if db_last_seq else []))
    deadline = time.perf_counter() + 15
    while time.perf_counter() < deadline and any(c.last_seq < final for c in everyone):
        await asyncio.sleep(0.05)
    histories = {tuple(c.history()) for c in everyone}
    gap_free = all(sorted(c.events) == list(range(1, c.last_seq + 1)) for c in everyone)
    for c in everyone:
        await c.close()
    return {**stats, "codes": codes, "seconds": round(elapsed, 2),
            "accepted_per_s": round(stats["accepted"] / elapsed, 1),
            "same_history": len(histories) == 1, "gap_free": gap_free, "final_seq": final,
            "history": list(histories)[0] if len(histories) == 1 else None}


# ---------------------------------------------------------------------------------------------

def setup_database():
    import psycopg2
    from urllib.parse import urlparse

    u = urlparse(DB_URL)
    name = u.path.lstrip("/")
    conn = psycopg2.connect(host=u.hostname, port=u.port or 5432, user=u.username, password=u.password,
                            dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer watchers, shorter runs")
    ap.add_argument("--watchers", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--ws", default="websockets", help="uvicorn websocket implementation")
    ap.add_argument("--only", choices=["fanout", "contention"], default=None, help="run one scenario")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (scale-out)")
    args = ap.parse_args()
    watchers = args.watchers or (200 if args.quick else 1000)
    seconds = args.seconds or (5 if args.quick else 30)
    rate = 20.0

    log("setting up the database…")
    setup_database()
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from bidding.auction.models import Auction, AuctionEvent
    from tests import factories
    from tests.auction.live import Server, live_auction, session_cookie

    world = factories.make_world(bidders=50)
    cookies = [session_cookie(u) for u in world.bidders]
    a_fan = live_auction(world, users=world.bidders[:2], live_duration_s=3600, countdown_s=600, max_jump=10)
    a_con = live_auction(world, live_duration_s=3600, countdown_s=600, max_jump=10)
    start, inc = a_fan.starting_price_fen, a_fan.increment_fen
    from django.db import connection

    connection.close()

    server = Server(workers=args.workers, ws=args.ws, extra_env={"DEBUG": "0"}).start()  # production-like: no query log
    base = Baseline(start, inc)
    results: dict = {"bench": "auction", "quick": args.quick, "watchers": watchers, "seconds": seconds,
                     "workers": args.workers, "ws": args.ws}
    fan_ours = fan_base = con_ours = con_base = None

    def ours(auction_id):
        return lambda i, c: server.ws_url(auction_id)

    def theirs(i, c):
        return base.url(None if i is None else f"B{i:03d}")

    def db_last_seq():
        from django.db import connection as conn

        try:
            return Auction.objects.get(pk=a_con.pk).last_seq
        finally:
            conn.close()

    try:
        if args.only != "contention":
            log(f"(a) fan-out, Sunlight: {watchers} watchers, {rate}/s for {seconds}s")
            fan_ours = fanout(ours(a_fan.pk), cookies, watchers=watchers, rate=rate, seconds=seconds,
                              start=start, inc=inc, origin=server.origin)
            log("   ", fan_ours)
            log("(a) fan-out, baseline websockets broadcast server")
            fan_base = fanout(theirs, [None, None], watchers=watchers, rate=rate, seconds=seconds,
                              start=start, inc=inc)
            log("   ", fan_base)
            base.stop()
            base = Baseline(start, inc)
        if args.only != "fanout":
            log(f"(b) contention, Sunlight: 50 bidders, 10 watchers, {seconds}s")
            con_ours = run_client(contention(ours(a_con.pk), cookies, watchers=10, seconds=seconds, inc=inc,
                                              origin=server.origin, db_last_seq=db_last_seq))
            hist = con_ours.pop("history")
            db_hist = [(e.seq, e.data.get("bidder"), e.data.get("amount_fen"))
                       for e in AuctionEvent.objects.filter(auction_id=a_con.pk, kind="bid").order_by("seq")]
            a = Auction.objects.get(pk=a_con.pk)
            seqs = list(AuctionEvent.objects.filter(auction_id=a_con.pk).order_by("seq")
                        .values_list("seq", flat=True))
            con_ours["matches_database"] = hist is not None and list(hist) == db_hist
            con_ours["database_gap_free"] = seqs == list(range(1, a.last_seq + 1))
            log("   ", con_ours)
            log("(b) contention, baseline")
            con_base = run_client(contention(theirs, [f"B{i:03d}" for i in range(50)], watchers=10,
                                              seconds=seconds, inc=inc))
            con_base.pop("history")
            log("   ", con_base)
    finally:
        base.stop()
        server.kill()

    results.update({
        "fanout": fan_ours, "fanout_baseline": fan_base, "contention": con_ours, "contention_baseline": con_base,
    })
    if args.only:
        results["goals"] = []
        print(json.dumps(results, ensure_ascii=False))
        return
    ratio = (fan_ours["p99_ms"] / fan_base["p99_ms"]) if fan_ours["p99_ms"] and fan_base["p99_ms"] else None
    results["goals"] = [
        {"name": "fanout_p99_vs_baseline", "value": round(ratio, 2) if ratio else None, "target": 3.0, "better": "lower"},
        {"name": "fanout_lost", "value": fan_ours["lost"], "target": 0, "better": "lower"},
        {"name": "contention_accepted_per_s", "value": con_ours["accepted_per_s"], "target": 200, "better": "higher"},
        {"name": "contention_refused_without_reason", "value": con_ours["refused_without_reason"] + con_ours["unanswered"],
         "target": 0, "better": "lower"},
        {"name": "contention_same_gap_free_history", "value": int(con_ours["same_history"] and con_ours["gap_free"]
                                                                  and con_ours["matches_database"]
                                                                  and con_ours["database_gap_free"]),
         "target": 1, "better": "higher"},
    ]
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
