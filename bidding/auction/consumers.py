"""The auction room's websocket, on Channels' own ``AsyncWebsocketConsumer``. Thin: bidders
authenticate with their session, anyone may watch.

Each connection joins the room's group (``services.group_name``) on the auction channel layer
(Redis pub/sub: one PUBLISH per committed batch, delivered once to each server process, which hands
it to its connections). Channels dispatches a connection's messages one at a time, so a connection
needs no lock: its events leave in ``seq`` order, each group message's frame as serialised once by
the sender (``services.events_message``). A gap (a message lost or overtaken) is repaired at once
from the database, where every event is committed before anyone hears of it. Bids go to
``services.place_bids``, the one write path (the same as HTTP), in a worker thread, unless the
process's ``RoomView`` of the auction (the one cache, ``_VIEWS``) settles them for good: a used
reference (its original answer) or a bid too low for any later state.
"""
from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import translation
from django.utils.functional import empty

from audit import context as audit_context
from bidding.auction import messages as M
from bidding.auction import protocol as P
from bidding.auction import selectors, services
from trading.errors import DomainError
from trading.money import format_fen
from trading.ids import is_ascii_int

log = logging.getLogger(__name__)


def _db(func):
    """Database work in a worker thread of the pool (not the one thread-sensitive thread), so that
    rooms overlap; Channels closes stale connections around each call."""
    return database_sync_to_async(func, thread_sensitive=False)


# The one process-global of this app: per auction, this process's ``services.RoomView`` (the committed
# state and the accepted references), kept current by the room's group messages, dropped when a
# message does not follow on, read again at the next bid. Touched on the event loop only.
_VIEWS: dict[int, services.RoomView] = {}
MAX_VIEWS = 10_000


def connection_language(scope) -> str:
    """The connection's language, as LocaleMiddleware decides a request's: the language cookie, else the
    handshake's Accept-Language, else the default (zh-hans)."""
    headers = dict(scope.get("headers") or [])
    meta = {"HTTP_ACCEPT_LANGUAGE": headers.get(b"accept-language", b"").decode("latin1")}
    request: Any = SimpleNamespace(COOKIES=scope.get("cookies") or {}, META=meta)  # what the function reads
    return translation.get_language_from_request(request)


def resolved_user(user):
    """The user Channels' AuthMiddleware resolved for the connection, rather than its lazy proxy of it: every
    attribute read through the proxy costs a few microseconds (measured: ``precheck`` 4.5 µs through it, 0.3 µs
    without), and a bid reads the user's role and organisation several times on its way."""
    wrapped = getattr(user, "_wrapped", None)  # set by AuthMiddleware.resolve_scope before connect()
    return user if wrapped is None or wrapped is empty else wrapped


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class AuctionConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = services.LAYER_ALIAS

    async def dispatch(self, message):
        """Channels' dispatch without its ``aclose_old_connections()`` before every message: that is a
        hop to the one thread-sensitive thread per message per connection (measured by bench/auction.py:
        it is most of the fan-out's latency with thousands of watchers). This consumer uses the database
        only through ``_db``, which closes stale connections around each call itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.auction_id = self.scope["url_route"]["kwargs"]["auction_id"]
        self.user = resolved_user(self.scope.get("user"))
        # who bids from where: the connection's address and client, recorded privately with each bid's event
        headers = dict(self.scope.get("headers") or [])
        client = self.scope.get("client") or ("", 0)
        self.context = audit_context.captured(address=str(client[0] or ""),
                                              client=headers.get(b"user-agent", b"").decode("latin1"))
        self.language = connection_language(self.scope)  # the language of its answers' messages
        self.group = services.group_name(self.auction_id)
        self.last_sent = 0
        self.pending: dict[int, dict] = {}  # events that arrived before their predecessor
        self.state: dict = {}
        try:
            self.auction, self.number = await _db(self._enter)()
        except DomainError:
            await self.close(code=4404)
            return
        # join first, then read: whatever commits after the read arrives through the group
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        raw = parse_qs(self.scope.get("query_string", b"").decode("latin1")).get("last_seq")
        # anything but ASCII digits (e.g. "²"): treated as absent, a snapshot
        await self._resync(int(raw[0]) if raw and is_ascii_int(raw[0]) else None)

    def _enter(self):
        auction = selectors.get_auction(self.auction_id)
        number = services.number_for(auction=auction, user=self.user)
        return auction, (number.number if number else None)

    async def disconnect(self, code):
        if hasattr(self, "auction"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    # -- server → client -------------------------------------------------------------------------

    async def auction_events(self, message):
        """A committed batch's events from the room's group."""
        seqs = message["view"]
        view = _VIEWS.get(self.auction.pk)
        if view is not None and not view.follow(seqs):
            del _VIEWS[self.auction.pk]
        if not self.pending and seqs["after"] == self.last_sent:
            await self.send(text_data=message["text"])  # the usual case: the frame as serialised once
            self.last_sent = seqs["seq"]
            return
        events, state = services.frame_events(message["text"])
        for ev in events:
            if ev["seq"] > self.last_sent:
                self.pending[ev["seq"]] = ev
        self.state.update(state)
        await self._flush()
        if self.pending:  # an earlier message was lost or overtaken: the database has it
            await self._resync(self.last_sent)

    async def _flush(self):
        run = []
        while self.last_sent + 1 in self.pending:
            run.append(self.pending.pop(self.last_sent + 1))
            self.last_sent += 1
        if run:
            await self.send(text_data=_dumps({"type": "events", "seq": self.last_sent, "events": run,
                                              "server_time": selectors.server_time(), "state": self.state}))

    async def _resync(self, last_seq):
        frame = await _db(selectors.resync)(self.auction, last_seq, self.user)
        if frame["type"] == "snapshot":
            frame["me"]["number"] = self.number
            self.last_sent = frame["seq"]
        elif frame["events"]:
            self.last_sent = frame["events"][-1]["seq"]
        else:
            self.last_sent = max(self.last_sent, last_seq or 0)
        self.state = services.changing_state(frame["state"])
        self.pending = {s: ev for s, ev in self.pending.items() if s > self.last_sent}
        await self.send(text_data=_dumps(frame))
        await self._flush()

    async def _answer(self, **fields):
        await self.send(text_data=_dumps({"seq": self.last_sent, "server_time": selectors.server_time(), **fields}))

    # -- client → server -------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        with translation.override(self.language):  # the answers' messages (also in the service's worker thread)
            await self._receive(text_data, bytes_data)

    async def _receive(self, text_data=None, bytes_data=None):
        try:
            frame = P.parse_frame(text_data, bytes_data)
        except P.FrameError as exc:
            if exc.ref is not None:
                await self._answer(type="bid_result", accepted=False, code=exc.code, message=M.frame(exc), ref=exc.ref)
            else:
                await self._answer(type="error", code=exc.code, message=M.frame(exc))
            return
        if isinstance(frame, P.PingFrame):
            await self._answer(type="pong")
        elif isinstance(frame, P.ResyncFrame):
            await self._resync(frame.last_seq)
        elif isinstance(frame, P.BidFrame):
            await self._bid(frame)
        elif isinstance(frame, P.ContinueFrame):
            await self._continue(frame)

    async def _bid(self, frame: P.BidFrame):
        request = services.BidRequest(user=self.user, amount_fen=frame.amount_fen, client_ref=frame.ref, via="ws",
                                      context=self.context)
        try:
            # a watcher's bid, a used reference, a bid too low for good: answered without the database
            answer = (services.precheck(request) or (self.number and (await self._view()).settle(
                self.number, frame.ref, frame.amount_fen)) or await self._place(request))
        except DomainError as exc:
            answer = services.BidAnswer(False, exc.code, exc.message)
        except Exception:
            log.exception("auction %s: bid %s failed", self.auction_id, frame.ref)
            answer = services.BidAnswer(False, "error", str(M.NOT_PROCESSED))
        fields = {"type": "bid_result", "accepted": answer.accepted, "code": answer.code, "message": answer.message,
                  "ref": frame.ref, "number": answer.number}
        if answer.accepted:
            fields.update(seq=answer.seq, amount=format_fen(answer.amount_fen), replayed=answer.replayed)
        else:
            fields["minimum"] = format_fen(answer.minimum_fen)
        await self._answer(**fields)

    async def _view(self) -> services.RoomView:
        view = _VIEWS.get(self.auction.pk)
        if view is None:
            view = await _db(services.RoomView.load)(self.auction.pk)
            known = _VIEWS.get(self.auction.pk)  # the group may have moved on while it was read
            if known is not None and known.seq >= view.seq:
                return known
            if len(_VIEWS) >= MAX_VIEWS:
                _VIEWS.clear()
            _VIEWS[self.auction.pk] = view
        return view

    async def _place(self, request):
        (answer,) = await _db(services.place_bids)(auction=self.auction.pk, requests=[request])
        return answer

    async def _continue(self, frame: P.ContinueFrame):
        try:
            receipt = await _db(services.request_live_bidding)(auction=self.auction.pk, user=self.user)
        except DomainError as exc:
            await self._answer(type="continue_result", accepted=False, code=exc.code, message=exc.message, ref=frame.ref)
            return
        await self._answer(type="continue_result", accepted=True, code=receipt.code, message=receipt.message,
                           ref=frame.ref, seq=receipt.seq, number=receipt.number)
