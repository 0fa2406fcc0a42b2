"""The auction room's websocket protocol, pure (no database, no Channels).

Client → server frames (JSON text, at most ``MAX_FRAME_BYTES``):

* ``{"type": "bid", "amount": "1234.56", "ref": "<client id>"}`` — a bid (or a posted price
  during a listing); ``ref`` is unique per bidder: a frame replayed with a used ref is refused.
* ``{"type": "continue", "ref": "..."}`` — listing: the bidder wants to go on to live bidding.
* ``{"type": "resync", "last_seq": 17}`` — send me what I missed after seq 17 (or a snapshot).
* ``{"type": "ping"}``.

Server → client frames always carry ``seq`` (the auction's latest sequence number the frame
reflects) and ``server_time`` (ISO 8601, UTC, ending in ``Z``); amounts are decimal strings
(``"1234.56"``) everywhere, in the state (``price``, ``minimum``…) and in the events' data (``amount``);
a ``*_fen`` field sent in is refused (``malformed``, naming the field to use):

* ``snapshot`` — the whole public state and history; ``events`` — missed events in order;
  ``event`` — one new event; ``bid_result`` — the answer to one bid (accepted, with ``amount``, or
  refused with ``code``, ``message`` and ``minimum``, the lowest acceptable amount now); ``error`` — a refused frame (``malformed``, ``too_large``…);
  ``pong``.

A refusal's ``code`` is stable (what clients act on); its ``message`` is in the connection's language (the
language cookie, then the handshake's ``Accept-Language``, else zh-hans: bidding/auction/messages.py).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bidding.auction import engine as E
from trading.errors import Invalid
from trading.money import FEN_SUFFIX, parse_money, renamed

MAX_FRAME_BYTES = 2048
REF_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class FrameError(ValueError):
    """A refused frame: ``code`` (stable: malformed, too_large), ``message`` (English, for logs), ``key`` and
    ``params`` for the consumer's translated answer (bidding/auction/messages.py ``FRAMES``; ``error``: the money
    parser's own DomainError, already translatable)."""

    def __init__(self, code: str, message: str, ref: str | None = None, *, key: str = "",
                 error: Invalid | None = None, **params: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
        self.key = key or code
        self.error = error
        self.params = params


@dataclass(frozen=True)
class BidFrame:
    amount_fen: int
    ref: str


@dataclass(frozen=True)
class ContinueFrame:
    ref: str


@dataclass(frozen=True)
class ResyncFrame:
    last_seq: int


@dataclass(frozen=True)
class PingFrame:
    pass


Frame = BidFrame | ContinueFrame | ResyncFrame | PingFrame


def parse_amount(value: Any) -> int:
    """Decimal yuan string → int fen by the platform's one money parser (trading.money.parse_money); a
    refusal is the protocol's MALFORMED with the parser's words."""
    if not isinstance(value, str):
        raise FrameError(E.MALFORMED, 'amount must be a decimal string like "1234.56"', key="malformed.amount_type")
    try:
        return parse_money(value)
    except Invalid as exc:
        raise FrameError(E.MALFORMED, exc.untranslated.removeprefix("amount: "), error=exc) from None


def _ref(data: dict[str, Any]) -> str:
    ref = data.get("ref")
    if not isinstance(ref, str) or not REF_RE.match(ref):
        raise FrameError(E.MALFORMED, "ref must be 1–64 letters, digits or _.:- (a unique id per message)",
                         key="malformed.ref")
    return ref


def parse_frame(text: str | None, raw_bytes: bytes | None = None) -> Frame:
    if raw_bytes is not None:
        raise FrameError(E.MALFORMED, "binary frames are not accepted; send JSON text", key="malformed.binary")
    if text is None:
        raise FrameError(E.MALFORMED, "empty frame", key="malformed.empty")
    if len(text.encode("utf-8")) > MAX_FRAME_BYTES:
        raise FrameError(E.TOO_LARGE, f"frame larger than {MAX_FRAME_BYTES} bytes", max_bytes=MAX_FRAME_BYTES)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise FrameError(E.MALFORMED, "frame is not valid JSON", key="malformed.json") from None
    if not isinstance(data, dict):
        raise FrameError(E.MALFORMED, "frame must be a JSON object", key="malformed.object")
    kind = data.get("type")
    for key in data:
        if key.endswith(FEN_SUFFIX):  # the old form of an amount: say which field to use
            raise FrameError(E.MALFORMED, f'{key}: amounts are given as "{renamed(key)}", a decimal string like '
                                          f'"1234.56" (yuan), not in fen', ref=data.get("ref") if isinstance(
                                              data.get("ref"), str) and REF_RE.match(data["ref"]) else None,
                             key="malformed.fen_key", field_name=key, name=renamed(key))
    if kind == "bid":
        ref = _ref(data)
        try:
            return BidFrame(amount_fen=parse_amount(data.get("amount")), ref=ref)
        except FrameError as exc:
            raise FrameError(exc.code, exc.message, ref=ref, key=exc.key, error=exc.error, **exc.params) from None
    if kind == "continue":
        return ContinueFrame(ref=_ref(data))
    if kind == "resync":
        last = data.get("last_seq")
        if isinstance(last, bool) or not isinstance(last, int) or last < 0:
            raise FrameError(E.MALFORMED, "last_seq must be a non-negative integer", key="malformed.last_seq")
        return ResyncFrame(last_seq=last)
    if kind == "ping":
        return PingFrame()
    raise FrameError(E.MALFORMED, "unknown frame type; expected bid, continue, resync or ping", key="malformed.type")
