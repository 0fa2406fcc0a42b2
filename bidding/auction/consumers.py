"""The auction room's websocket: thin. Bidders authenticate with their session; anyone may watch.

The socket only notifies: every bid is decided and committed by ``services.place_bids`` (the
engine under the auction's row lock) before anyone hears of it. Each frame carries ``seq`` and
``server_time``. Per process and auction a ``_Room`` holds one subscription to the room's group
(Redis pub/sub: each event reaches each process once) and relays it to its connections; it also
queues the bids of its connections and decides them in batches, first come first served, one
transaction per batch. Nothing depends on the channel layer delivering everything: a connection
that sees a seq gap reads the missing events from the database, and clients resync by seq.
"""
from __future__ import annotations

import asyncio
import collections
import functools
import gc
import json
import logging
from urllib.parse import parse_qs

from asgiref.sync import SyncToAsync
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from django.db import close_old_connections, connection

from audit import sql
from bidding.auction import engine as E
from bidding.auction import protocol as P
from bidding.auction import selectors, services
from trading.errors import DomainError
from trading.ids import is_ascii_int

log = logging.getLogger(__name__)


def _in_thread(func):
    """Run DB work in a worker thread (not the single thread-sensitive one), so bids on
    different connections overlap their Python work while the row lock serialises them."""

    def run(*args, **kwargs):
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return SyncToAsync(functools.wraps(func)(run), thread_sensitive=False)


def _start_now(coro) -> asyncio.Task | None:
    """Run ``coro`` at once, in the caller's turn of the event loop, up to its first suspension
    (what Python 3.12's eager tasks do); if it suspended, a task finishes it and is returned, else
    None. A websocket send completes without suspending unless the client's socket is full, so the
    fan-out writes each frame directly instead of scheduling a task per connection per event."""
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_resume(coro, waiting_on))


async def _resume(coro, waiting_on):
    return await _Resumed(coro, waiting_on)


class _Resumed:
    """Hands a started coroutine's pending future to the task that resumes it (``yield from``)."""

    def __init__(self, coro, waiting_on):
        self.coro, self.waiting_on = coro, waiting_on

    def __await__(self):
        value = self.waiting_on
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                self.coro.close()
                raise
            except BaseException as exc:  # e.g. the task was cancelled: the coroutine sees it
                try:
                    value = self.coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = self.coro.send(sent)
                except StopIteration as stop:
                    return stop.value


BATCH_MAX = 200  # bids decided in one transaction at most
GAP_WAIT_S = 0.1  # an event arriving before its predecessor waits this long before a database read


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


_EVENT_TEXTS: collections.OrderedDict = collections.OrderedDict()


def _event_text(auction_id: int, ev: dict, state: dict) -> str:
    """The frame of one event, serialised once per process for all the room's connections."""
    key = (auction_id, ev["seq"], state.get("seq"))
    text = _EVENT_TEXTS.get(key)
    if text is None:
        text = _dumps({"type": "event", "server_time": selectors.server_time(), "state": state, **ev})
        _EVENT_TEXTS[key] = text
        if len(_EVENT_TEXTS) > 512:
            _EVENT_TEXTS.popitem(last=False)
    return text


class _Room:
    """Per process and auction: the connections, one subscription to the room's group (each
    event arrives once per process and is relayed to the local connections with one shared
    serialised frame), the newest committed public state seen, and the bid queue."""

    def __init__(self, auction_id: int):
        self.auction_id = auction_id
        self.lock = asyncio.Lock()
        self.state: dict | None = None
        self.members: set[AuctionConsumer] = set()
        self.task: asyncio.Task | None = None
        self.channel: str | None = None
        self.layer = None
        self.queue: list = []
        self.drainer: asyncio.Task | None = None
        self.writer: sql.AsyncAlone | None = None  # the room's own connection for batches on the loop

    def know(self, state: dict | None) -> None:
        if state and (self.state is None or state.get("seq", 0) >= self.state.get("seq", 0)):
            self.state = state
            services.seen_seq(self.auction_id, state.get("seq", 0))

    def final_refusal(self, amount_fen: int) -> services.BidAnswer | None:
        """Refusals that the committed state already makes final (the minimum never decreases, a
        closed auction stays closed) are answered without touching the database."""
        known = self.state
        if known is None:
            return None
        if known.get("phase") == E.PHASE_CLOSED:
            return services.BidAnswer(False, E.CLOSED, "The auction is closed.")
        minimum = known.get("minimum_fen")
        if minimum is not None and amount_fen < minimum:
            return services.BidAnswer(False, E.TOO_LOW, f"The bid must be at least {minimum // 100}."
                                      f"{minimum % 100:02d} yuan.", minimum_fen=minimum)
        return None

    async def submit(self, user, frame: P.BidFrame) -> services.BidAnswer:
        """Queue a bid; the room's drainer decides queued bids in batches (one transaction each),
        first come first served. Bids made too low by an accepted one are answered from memory."""
        future = asyncio.get_running_loop().create_future()
        self.queue.append((user, frame, future))
        if self.drainer is None or self.drainer.done():
            self.drainer = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        while self.queue:
            batch, self.queue = self.queue[:BATCH_MAX], self.queue[BATCH_MAX:]
            live = []
            for user, frame, future in batch:
                refusal = self.final_refusal(frame.amount_fen)
                if refusal is not None:
                    if not future.done():
                        future.set_result(refusal)
                else:
                    live.append((user, frame, future))
            if not live:
                continue
            requests = [services.BidRequest(user=u, amount_fen=f.amount_fen, client_ref=f.ref, via="ws")
                        for u, f, _ in live]
            try:
                answers = await self._on_head(requests) or await _in_thread(services.place_bids)(
                    auction=self.auction_id, requests=requests)
            except Exception as exc:  # e.g. the database is down: every bid of the batch gets the error
                for _, _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.know(answers[-1].state)
            for (_, _, future), answer in zip(live, answers):
                if not future.done():
                    future.set_result(answer)

    async def _on_head(self, requests: list) -> list | None:
        """The usual batch, on the event loop without a thread: decided against this process's head
        and written by the room's own asynchronous connection in one round trip that is its own
        transaction. None when it cannot be done that way or the database refused it (the head was
        stale, a reference used) or the round trip failed: then ``place_bids`` decides the batch in a
        thread, under the lock."""
        if self.writer is None:
            if connection.vendor != "postgresql":
                return None
            self.writer = sql.AsyncAlone()
        batch = services.decide_on_head(auction_id=self.auction_id, requests=requests)
        if batch is None:
            return None
        try:
            await self.writer.execute_alone(batch.statements)
        except Exception as exc:
            # refused (a conflict): nothing was written. Any other failure (e.g. the connection was
            # lost) leaves it unknown whether the round trip committed: deciding the batch again under
            # the lock tells, since a committed batch holds its references (then "replayed").
            if not sql.is_conflict(exc):
                log.warning("auction %s: a batch's round trip failed (%s); deciding it under the lock",
                            self.auction_id, exc)
            services.head_refused(batch)
            return None
        answers = services.head_written(batch)
        if self.layer is not None:  # committed: the room's group hears of it (each process relays it)
            message = services.events_message(batch.head, batch.frames)
            task = asyncio.ensure_future(self.layer.group_send(services.group_name(self.auction_id), message))
            task.add_done_callback(services.log_failed_broadcast)
        return answers

    async def join(self, consumer: AuctionConsumer) -> None:
        self.members.add(consumer)
        # under the lock: subscribing awaits, and connections arriving meanwhile must not each
        # start their own relay (measured before: ~34 relays per process after a burst of
        # connects, every event relayed ~34 times, and the extra relays were never stopped)
        async with self.lock:
            if self.task is None or self.task.done():
                self.layer = get_channel_layer(services.LAYER_ALIAS)
                self.channel = await self.layer.new_channel()
                await self.layer.group_add(services.group_name(self.auction_id), self.channel)
                self.task = asyncio.ensure_future(self._relay(self.layer, self.channel))

    async def leave(self, consumer: AuctionConsumer) -> None:
        self.members.discard(consumer)
        async with self.lock:
            if not self.members and self.task is not None:
                task, layer, channel = self.task, self.layer, self.channel
                self.task = None
                task.cancel()
                try:
                    await layer.group_discard(services.group_name(self.auction_id), channel)
                except Exception:  # pragma: no cover - the layer is gone with the process anyway
                    log.exception("group_discard failed")
            if not self.members and self.writer is not None and (self.drainer is None or self.drainer.done()):
                self.writer.close()
                self.writer = None

    async def _relay(self, layer, channel) -> None:
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("auction %s relay: receive failed", self.auction_id)
                await asyncio.sleep(0.5)
                continue
            if message.get("type") != "auction.events":
                continue
            services.adopt_row(self.auction_id, message.get("row"))  # before know(): a current head stays
            self.know(message["state"])
            for consumer in list(self.members):
                consumer.offer(message["events"], message["state"])


_ROOMS: dict[int, _Room] = {}
_FROZEN = False


def _freeze_startup_heap() -> None:
    """Once per process, when the first room opens (Django, the apps and the ASGI stack are
    loaded by then): move that long-lived heap out of the cyclic GC's reach (``gc.freeze``).
    Measured: otherwise every full collection walks it and pauses the event loop ~100 ms, which
    is the fan-out's latency tail. Objects created later (connections, events) stay collectable."""
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.collect()
        gc.freeze()


def _room(auction_id: int) -> _Room:
    room = _ROOMS.get(auction_id)
    if room is None:
        _freeze_startup_heap()
        room = _ROOMS[auction_id] = _Room(auction_id)
    return room


class AuctionConsumer(AsyncWebsocketConsumer):
    max_refs = 10_000
    channel_layer_alias = None  # no channel per connection: the process-wide _Room relays the group

    async def __call__(self, scope, receive, send):
        """Like Channels' ``AsyncConsumer.__call__`` for a consumer without a channel of its own (the
        room relays the group): each message is awaited and dispatched in turn, instead of a new task
        and an ``asyncio.wait`` per message (both showed in py-spy profiles of the contention bench)."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message):
        """Like Channels' dispatch, without its ``aclose_old_connections()`` before every message:
        that is a hop to the single thread-sensitive thread per incoming frame (measured: the main
        per-bid cost under contention). This consumer touches the database only through
        ``_in_thread``, which closes stale connections around each call itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.auction_id = self.scope["url_route"]["kwargs"]["auction_id"]
        self.user = self.scope.get("user")
        self.last_sent = 0
        self.pending: dict[int, tuple[dict, dict]] = {}
        self.lock = asyncio.Lock()
        self.gap_task = None
        self.ready = False  # until the first snapshot / catch-up has been sent
        self.seen_refs: collections.OrderedDict[str, None] = collections.OrderedDict()
        try:
            self.auction, self.number = await _in_thread(self._enter)()
        except DomainError:
            await self.close(code=4404)
            return
        self.flush_task = None
        self.sending: asyncio.Task | None = None  # a direct send that had to wait for the client
        self.room = _room(self.auction.pk)
        # join the room first, then read: anything committed after the read arrives via the group
        await self.room.join(self)
        await self.accept()
        last_seq = None
        raw = parse_qs(self.scope.get("query_string", b"").decode("latin1")).get("last_seq")
        if raw and is_ascii_int(raw[0]):  # anything else (e.g. "²"): treated as absent, a snapshot
            last_seq = int(raw[0])
        await self._resync(last_seq)

    def _enter(self):
        auction = selectors.get_auction(self.auction_id)
        number = services.enter_room(auction=auction, user=self.user)
        return auction, (number.number if number else None)

    async def disconnect(self, code):
        for name in ("gap_task", "flush_task", "sending"):
            task = getattr(self, name, None)
            if task is not None:
                task.cancel()
        room = getattr(self, "room", None)
        if room is not None:
            await room.leave(self)

    # -- server → client -------------------------------------------------------------------------

    async def _resync(self, last_seq):
        async with self.lock:
            if not self._send_done():
                await asyncio.wait([self.sending])  # frames leave in order
            frame = await _in_thread(selectors.resync)(self.auction, last_seq, self.user)
            if frame["type"] == "snapshot":
                frame["me"]["number"] = self.number
                self.last_sent = frame["seq"]
            elif frame["events"]:
                self.last_sent = frame["events"][-1]["seq"]
            else:
                self.last_sent = max(self.last_sent, last_seq or 0)
            self.pending = {s: v for s, v in self.pending.items() if s > self.last_sent}
            self._know(frame["state"])
            await self.send(text_data=_dumps(frame))
            self.ready = True
        await self._flush()

    def _know(self, state: dict) -> None:
        _room(self.auction.pk).know(state)

    def offer(self, events: list[dict], state: dict) -> None:
        """From the room's relay (never blocks it: a slow client only delays itself). Events are
        forwarded strictly in seq order; one that arrives early waits (briefly) for the missing
        ones, which are then read from the database. The usual case, the next event for an idle
        connection, is written at once (``_start_now``): no task per connection and event."""
        for ev in events:
            if ev["seq"] > self.last_sent:
                self.pending[ev["seq"]] = (ev, state)
        if not self.ready or not self.pending:
            return
        if self.lock.locked() or not self._send_done():
            self._schedule_flush()  # a resync or a slow send is under way: the flush follows it
            return
        text = self._take_run()
        if text is not None:
            try:
                self.sending = _start_now(self.base_send({"type": "websocket.send", "text": text}))
            except Exception:  # the client is gone: disconnect() cleans up
                log.debug("auction %s: send failed", self.auction.pk, exc_info=True)
                return
            if self.sending is not None:
                self.sending.add_done_callback(self._after_send)
        self._watch_gap()

    def _send_done(self) -> bool:
        return self.sending is None or self.sending.done()

    def _after_send(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.debug("auction %s: send failed: %s", self.auction.pk, task.exception())
        elif self.pending:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self.flush_task is None or self.flush_task.done():
            self.flush_task = asyncio.ensure_future(self._flush())

    def _take_run(self) -> str | None:
        """Everything contiguous after ``last_sent`` as one frame: one "event" frame, or one "events"
        frame when this connection fell behind (it catches up instead of queueing frames)."""
        run, state = [], None
        while self.last_sent + 1 in self.pending:
            ev, state = self.pending.pop(self.last_sent + 1)
            run.append(ev)
            self.last_sent = ev["seq"]
        if not run:
            return None
        self._know(state)
        if len(run) == 1:
            return _event_text(self.auction.pk, run[0], state)
        return _dumps({"type": "events", "seq": run[-1]["seq"], "server_time": selectors.server_time(),
                       "events": run, "state": state})

    def _watch_gap(self) -> None:
        if self.pending and (self.gap_task is None or self.gap_task.done()):
            self.gap_task = asyncio.ensure_future(self._repair_gap())

    async def _flush(self):
        async with self.lock:
            if not self._send_done():
                await asyncio.wait([self.sending])  # frames leave in order
            while (text := self._take_run()) is not None:
                await self.base_send({"type": "websocket.send", "text": text})
            self._watch_gap()

    async def _repair_gap(self):
        await asyncio.sleep(GAP_WAIT_S)
        if self.pending and min(self.pending) > self.last_sent + 1:
            await self._resync(self.last_sent)  # the channel layer lost something: read it

    async def _answer(self, **fields):
        await self.send(text_data=_dumps({"seq": self.last_sent, "server_time": selectors.server_time(), **fields}))

    # -- client → server -------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = P.parse_frame(text_data, bytes_data)
        except P.FrameError as exc:
            if exc.ref is not None:
                await self._answer(type="bid_result", accepted=False, code=exc.code, message=exc.message, ref=exc.ref)
            else:
                await self._answer(type="error", code=exc.code, message=exc.message)
            return
        if isinstance(frame, P.PingFrame):
            await self._answer(type="pong")
        elif isinstance(frame, P.ResyncFrame):
            await self._resync(frame.last_seq)
        elif isinstance(frame, (P.BidFrame, P.ContinueFrame)):
            await self._command(frame)

    async def _command(self, frame):
        ref = frame.ref
        kind = "bid_result" if isinstance(frame, P.BidFrame) else "continue_result"
        if self.number is None and getattr(self.user, "role", None) != "bidder":
            await self._answer(type=kind, accepted=False, code=E.NOT_A_BIDDER, ref=ref,
                               message="You are watching: this connection is read-only.")
            return
        if ref in self.seen_refs:
            await self._answer(type=kind, accepted=False, code=E.REPLAYED, ref=ref,
                               message="This message was already received (replayed reference).")
            return
        self.seen_refs[ref] = None
        if len(self.seen_refs) > self.max_refs:
            self.seen_refs.popitem(last=False)
        room = self.room
        try:
            if isinstance(frame, P.BidFrame):
                answer = room.final_refusal(frame.amount_fen) or await room.submit(self.user, frame)
                if not answer.accepted:
                    await self._answer(type=kind, accepted=False, code=answer.code, message=answer.message, ref=ref,
                                       minimum_fen=answer.minimum_fen)
                    return
                receipt = answer
            else:
                receipt = await _in_thread(services.request_live_bidding)(auction=self.auction.pk, user=self.user)
        except services.BidRefused as exc:
            await self._answer(type=kind, accepted=False, code=exc.reason, message=exc.message, ref=ref,
                               minimum_fen=exc.minimum_fen)
            return
        except DomainError as exc:
            await self._answer(type=kind, accepted=False, code=exc.code, message=exc.message, ref=ref)
            return
        except Exception:
            log.exception("auction %s: bid %s failed", self.auction.pk, ref)
            await self._answer(type=kind, accepted=False, code="error", ref=ref,
                               message="The bid could not be processed and nothing was recorded; please try again.")
            return
        if receipt.number and self.number is None:
            self.number = receipt.number
        await self.send(text_data=_dumps({
            "type": kind, "accepted": True, "code": receipt.code, "message": receipt.message, "ref": ref,
            "seq": receipt.seq, "amount_fen": receipt.amount_fen, "number": receipt.number,
            "server_time": selectors.server_time(),
        }))
