"""What the auction says to people, translatable: the engine's decisions (by ``Decision.key``), its
configuration refusals (``ConfigError.code``), the room protocol's frame refusals (``FrameError.key``) and the
service's own refusals. The pure engine and protocol keep their English sentences for logs; the service, the
API and the websocket consumer answer with these, rendered in the request's (or the connection's) language.
Amounts are given in fen (``minimum_fen``) and shown by the one money formatter (``trading.money.format_fen``).
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from bidding.auction import engine as E
from trading.errors import render

# Decision.key → message (the code alone, or the code and the variant)
DECISIONS: dict[str, Any] = {
    "ok.posted": _("Price posted."),
    "ok.bid": _("Bid accepted."),
    "ok.tick": _("Clock applied."),
    "ok.continue": _("Request for live bidding recorded."),
    "ok.paused": _("Auction paused."),
    "ok.resumed": _("Auction resumed."),
    "ok.cancelled": _("Sale cancelled."),
    E.TOO_LOW: _("The bid must be at least %(minimum)s yuan."),
    f"{E.TOO_LOW}.listed": _("The price must be at least %(minimum)s yuan (the listed price)."),
    f"{E.TOO_LOW}.posted": _("The price must be at least %(minimum)s yuan (the highest price plus one increment)."),
    E.NOT_MULTIPLE: _("The bid must be %(base)s yuan plus a whole number of increments of %(increment)s yuan."),
    E.TOO_HIGH: _("A bid may raise the price by at most %(max_jump)s increments (at most %(maximum)s yuan)."),
    E.INVALID_AMOUNT: _("The amount must be a positive number of fen."),
    f"{E.NOT_ELIGIBLE}.number": _("A bidder number is required."),
    f"{E.NOT_ELIGIBLE}.live": _("Only bidders who asked to go on to live bidding may bid."),
    f"{E.NOT_ELIGIBLE}.continue": _("Only bidders who posted a price may ask for live bidding."),
    E.NOT_STARTED: _("The auction has not started yet."),
    E.CLOSED: _("The auction is closed."),
    E.PAUSED: _("The auction is paused."),
    E.ALREADY_HIGHEST: _("You already hold the highest bid."),
    f"{E.NOTHING_TO_DO}.tick": _("Nothing is due."),
    f"{E.NOTHING_TO_DO}.continue": _("You already asked for live bidding."),
    f"{E.WRONG_PHASE}.continue": _("Going on to live bidding can only be requested during the listing."),
    f"{E.WRONG_PHASE}.pause": _("Cannot pause an auction that is %(phase)s."),
    f"{E.WRONG_PHASE}.resume": _("Cannot resume an auction that is %(phase)s."),
    E.REASON_REQUIRED: _("A reason is required to pause."),
    f"{E.REASON_REQUIRED}.cancel": _("A reason is required to cancel."),
    f"{E.NOTHING_TO_DO}.cancel": _("The sale is already cancelled."),
}

# ConfigError.code → message (an impossible auction configuration; pure module: bidding/auction/engine.py)
CONFIG: dict[str, Any] = {
    "config_mode": _("unknown mode %(mode)r"),
    "config_closing_rule": _("unknown closing rule %(closing_rule)r"),
    "config_integer": _("%(name)s must be an integer"),
    "config_starting_price": _("the starting price must be positive"),
    "config_increment": _("the increment must be positive"),
    "config_max_jump": _("the maximum jump must be at least one increment"),
    "config_reserve": _("the reserve cannot be negative"),
    "config_durations": _("durations must be positive"),
}

# FrameError.key → message (a refused websocket frame; pure module: bidding/auction/protocol.py)
FRAMES: dict[str, Any] = {
    "malformed.amount_type": _('amount must be a decimal string like "1234.56"'),
    "malformed.ref": _("ref must be 1–64 letters, digits or _.:- (a unique id per message)"),
    "malformed.binary": _("binary frames are not accepted; send JSON text"),
    "malformed.empty": _("empty frame"),
    "too_large": _("frame larger than %(max_bytes)s bytes"),
    "malformed.json": _("frame is not valid JSON"),
    "malformed.object": _("frame must be a JSON object"),
    "malformed.fen_key": _('%(field_name)s: amounts are given as "%(name)s", a decimal string like "1234.56" (yuan), '
                           'not in fen'),
    "malformed.last_seq": _("last_seq must be a non-negative integer"),
    "malformed.type": _("unknown frame type; expected bid, continue, resync or ping"),
}

# the service's and the consumer's own answers
INVALID_AMOUNT = DECISIONS[E.INVALID_AMOUNT]
NEEDS_REF = _("Each bid needs a unique reference (1–64 characters).")
NOT_A_BIDDER = _("Only bidders may bid; this connection is read-only.")
NOT_ADMITTED = _("You were not admitted to this auction: your registration or bid security (竞买保证金) was not "
                 "confirmed when admission closed at the opening.")
REPLAYED = _("This bid was received before (same reference): here is its original answer.")
NOT_PROCESSED = _("The bid could not be processed; please send it again with the same reference.")


def _phase(params: dict[str, Any]) -> dict[str, Any]:
    from bidding.auction.models import PHASE_LABELS

    if "phase" in params:
        params = {**params, "phase": PHASE_LABELS.get(params["phase"], params["phase"])}
    return params


def decision(d: E.Decision) -> str:
    """The engine's decision in the active language (its English ``message`` if the key is unknown)."""
    template = DECISIONS.get(d.key) or DECISIONS.get(d.code)
    return d.message if template is None else render(template, _phase(d.params))


def frame(exc: Any) -> str:
    """A refused frame (``protocol.FrameError``) in the active language."""
    if exc.error is not None:  # the money parser's refusal, translatable itself
        return exc.error.message
    template = FRAMES.get(exc.key)
    return exc.message if template is None else render(template, exc.params)
