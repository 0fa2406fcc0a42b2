"""A real ASGI server (uvicorn subprocess) on the test database and the Redis channel layer,
plus real websocket clients (the `websockets` library)."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import time_machine
import websockets
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A free port: any (the kernel's choice), or one of SUNLIGHT_PORTS ("19200-19299") where several
    people share the machine and each starts servers only on their own ports."""
    span = os.environ.get("SUNLIGHT_PORTS", "")
    if not span:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    import random

    lo, hi = (int(x) for x in span.split("-"))
    ports = list(range(lo, hi + 1))
    random.shuffle(ports)  # two test workers rarely try the same one
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in SUNLIGHT_PORTS={span}")


def fen_of(amount: str | None) -> int | None:
    """An amount of the protocol (a decimal string) in fen, for comparisons with the tables."""
    from trading.money import parse_money

    return None if amount is None else parse_money(amount)


class Server:
    """`uvicorn config.asgi:application` against the current test database."""

    def __init__(self, *, workers: int = 1, port: int | None = None, extra_env: dict | None = None,
                 ws: str = "websockets"):
        self.ws = ws
        self.port = port or free_port()
        self.workers = workers
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"sunlight-auction-server-{self.port}.log"

    @property
    def env(self) -> dict:
        db = connection.settings_dict
        url = f"postgres://{db['USER']}{':' + db['PASSWORD'] if db['PASSWORD'] else ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": url, "REDIS_URL": settings.REDIS_URL or "redis://127.0.0.1:6379/7",
            "DJANGO_SETTINGS_MODULE": "config.settings", "DB_CONN_MAX_AGE": "60", "PYTHONUNBUFFERED": "1",
            "SUNLIGHT_RUN_CLOCK_IN_PROCESS": "0", "LOG_LEVEL": "WARNING",
        })
        env.update(self.extra_env)
        return env

    def start(self) -> Server:
        cmd = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
               "--port", str(self.port), "--ws", self.ws, "--lifespan", "off", "--log-level", "warning",
               "--no-access-log"]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)  # waiting for a child process to listen, not for business time
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """Kill -9 the whole server process group (a crash, not a graceful stop)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def ws_url(self, auction_id: int, last_seq: int | None = None) -> str:
        q = f"?last_seq={last_seq}" if last_seq else ""
        return f"ws://127.0.0.1:{self.port}/ws/auctions/{auction_id}/{q}"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@dataclass
class Room:
    """One websocket client: keeps every event in order, detects gaps and resyncs like the page does."""

    server: Server
    auction_id: int
    cookie: str | None = None
    events: dict[int, dict] = field(default_factory=dict)
    last_seq: int = 0
    state: dict | None = None
    number: str | None = None
    answers: dict[str, dict] = field(default_factory=dict)
    frames: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    ws: object = None
    _waiters: dict = field(default_factory=dict)
    _reader: object = None

    async def connect(self, resume: bool = False):
        headers = {"Cookie": self.cookie} if self.cookie else None
        self.ws = await websockets.connect(
            self.server.ws_url(self.auction_id, self.last_seq if resume else None),
            origin=self.server.origin, additional_headers=headers, max_size=2**24, open_timeout=20)
        first = json.loads(await asyncio.wait_for(self.ws.recv(), 20))
        self._handle(first)
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self):
        try:
            async for raw in self.ws:
                self._handle(json.loads(raw))
        except websockets.ConnectionClosed:
            pass

    def _handle(self, msg: dict):
        assert "seq" in msg and "server_time" in msg, msg
        self.frames.append(msg)
        kind = msg["type"]
        if kind == "snapshot":
            self.events = {e["seq"]: e for e in msg["events"]}
            self.last_seq = msg["seq"]
            self.state = msg["state"]
            self.number = msg["me"]["number"] or self.number
        elif kind in ("events", "event"):
            batch = msg["events"] if kind == "events" else [msg]
            for e in batch:
                if e["seq"] <= self.last_seq:
                    continue
                if e["seq"] != self.last_seq + 1:  # a gap: ask for what is missing
                    asyncio.ensure_future(self.send({"type": "resync", "last_seq": self.last_seq}))
                    break
                self.events[e["seq"]] = {k: e[k] for k in ("seq", "kind", "data", "at")}
                self.last_seq = e["seq"]
            self.state = {**(self.state or {}), **msg["state"]}  # events carry the changing fields
        elif kind in ("bid_result", "continue_result"):
            self.answers[msg["ref"]] = msg
        elif kind == "error":
            self.errors.append(msg)
        for key, (pred, fut) in list(self._waiters.items()):
            if not fut.done() and pred(self):
                fut.set_result(True)
                del self._waiters[key]

    async def wait_for(self, pred, timeout: float = 20):
        if pred(self):
            return
        fut = asyncio.get_running_loop().create_future()
        key = uuid.uuid4().hex
        self._waiters[key] = (pred, fut)
        await asyncio.wait_for(fut, timeout)

    async def send(self, obj):
        await self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def bid(self, amount_fen: int, ref: str | None = None) -> str:
        ref = ref or uuid.uuid4().hex
        await self.send({"type": "bid", "amount": f"{amount_fen // 100}.{amount_fen % 100:02d}", "ref": ref})
        return ref

    async def answer(self, ref: str, timeout: float = 20) -> dict:
        await self.wait_for(lambda r: ref in r.answers, timeout)
        return self.answers[ref]

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=5)

    def history(self) -> list[tuple]:
        return [(s, e["kind"], e["data"].get("bidder"), fen_of(e["data"].get("amount"))) for s, e in sorted(self.events.items())]


def db_last_seq(auction_id: int) -> int:
    """The auction's last committed seq (in a worker thread: closes its own connection)."""
    from bidding.auction.models import Auction

    try:
        return Auction.objects.values_list("last_seq", flat=True).get(pk=auction_id)
    finally:
        connection.close()


async def settle(rooms: list[Room], auction_id: int, timeout: float = 60) -> int:
    """Wait until every client holds the database's whole history; returns its last seq. A storm's last bid is
    answered once it is committed, but its event reaches the clients later, through the room's group: the
    highest seq any client holds when the storm ends may not be the end (two clients then differ)."""
    final = await asyncio.to_thread(db_last_seq, auction_id)
    await asyncio.gather(*(r.wait_for(lambda x: x.last_seq >= final, timeout=timeout) for r in rooms))
    return final


def live_auction(world, *, method: str = "auction", users=None, live_duration_s: int = 3600, **kw):
    """An auction open *now* in real time, built by travelling the test process back in time to
    register and schedule (the server subprocess runs on the real clock)."""
    from bidding.auction import services as S
    from tests.auction.helpers import register_all, sale_lot
    from trading.clock import tick as trading_tick

    real_now = timezone.now()
    rule_days = 22 if method == "auction" else 21
    back = real_now - dt.timedelta(days=rule_days, minutes=1)
    with time_machine.travel(back, tick=True):
        lot = sale_lot(world, method)
        register_all(world, lot, users)
        auction = S.schedule_auction(lot=lot, actor=world.staff, live_duration_s=live_duration_s, **kw)
    assert auction.start_at <= timezone.now()
    trading_tick(timezone.now())
    S.tick(timezone.now())
    auction.refresh_from_db()
    return auction
