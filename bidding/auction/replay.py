"""Replay of live auctions and listings from their audit events alone.

Section ``state["auction"]`` = ``{"auctions": {auction_id: {...}}}``; its live counterpart is
``bidding.auction.selectors.live_auction_state``. Bidders appear under their numbers (竞买号);
the number → organisation mapping events are sealed and not replayed here. The reserve appears
only with the result (the ``auction.closed`` event reveals it, with the salt of the commitment
published at scheduling).
"""
from __future__ import annotations

from audit.replay import Ev, iso, on, parse_time, section


def _t(text: str | None) -> str | None:
    return iso(parse_time(text)) if text else None


def _auction(state: dict, auction_id) -> dict:
    sec = section(state, "auction", lambda: {"auctions": {}})
    return sec["auctions"].setdefault(str(auction_id), {})


@on("auction.schedule")
def _schedule(state: dict, ev: Ev) -> None:
    p = ev.payload
    a = _auction(state, p["auction"])
    a.update({
        "lot": p["lot"], "mode": p["mode"], "starting_price_fen": p["starting_price_fen"],
        "increment_fen": p["increment_fen"], "max_jump": p["max_jump"], "closing_rule": p["closing_rule"],
        "live_duration_s": p["live_duration_s"], "countdown_s": p["countdown_s"], "window_s": p["window_s"],
        "has_reserve": p["has_reserve"], "reserve_commitment": p["reserve_commitment"],
        "phase": "scheduled", "start_at": _t(p["start_at"]), "end_at": _t(p["end_at"]), "price_fen": 0,
        "leader": None, "bid_count": 0, "last_seq": 0, "continuing": [], "pause_reason": "",
        "outcome": None, "outcome_reason": "", "reserve_fen": None, "winner_organisation": None, "bids": [],
        "confirmation": None, "contract": None,
    })


def _seq(a: dict, p: dict) -> None:
    a["last_seq"] = p["seq"]


@on("auction.opened")
def _opened(state: dict, ev: Ev) -> None:
    p = ev.payload
    a = _auction(state, p["auction"])
    a["phase"] = p["phase"]
    a["end_at"] = _t(p["end_at"])
    _seq(a, p)


@on("auction.bid", "auction.posted")
def _bid(state: dict, ev: Ev) -> None:
    p = ev.payload
    a = _auction(state, p["auction"])
    a["price_fen"] = p["amount_fen"]
    a["leader"] = p["bidder"]
    a["bid_count"] = p["n"]
    if "end_at" in p:
        a["end_at"] = _t(p["end_at"])
    a["bids"].append([p["seq"], p["bidder"], p["amount_fen"]])
    _seq(a, p)


@on("auction.continue")
def _continue(state: dict, ev: Ev) -> None:
    p = ev.payload
    a = _auction(state, p["auction"])
    a["continuing"] = sorted(set(a["continuing"]) | {p["bidder"]})
    _seq(a, p)


@on("auction.live")
def _live(state: dict, ev: Ev) -> None:
    p = ev.payload
    a = _auction(state, p["auction"])
    a["phase"] = "live"
    a["end_at"] = _t(p["end_at"])
    _seq(a, p)


@on("auction.paused")
def _paused(state: dict, ev: Ev) -> None:
    p = ev.payload
    a = _auction(state, p["auction"])
    a["paused_phase"] = a["phase"]
    a["phase"] = "paused"
    a["pause_reason"] = p["reason"]
    _seq(a, p)


@on("auction.resumed")
def _resumed(state: dict, ev: Ev) -> None:
    p = ev.payload
    a = _auction(state, p["auction"])
    a["phase"] = a.pop("paused_phase", "live")
    a["pause_reason"] = ""
    a["start_at"] = _t(p["start_at"])
    a["end_at"] = _t(p["end_at"])
    _seq(a, p)


@on("auction.closed")
def _closed(state: dict, ev: Ev) -> None:
    p = ev.payload
    a = _auction(state, p["auction"])
    a["phase"] = "closed"
    a["end_at"] = _t(p["at"])  # the engine closes at the end instant (the clock's or the listing's)
    a["outcome"] = p["outcome"]
    a["outcome_reason"] = p["reason"]
    a["reserve_fen"] = p["reserve_fen"]
    a["winner_organisation"] = p.get("winner_organisation")
    _seq(a, p)


@on("auction.cancelled")
def _cancelled(state: dict, ev: Ev) -> None:
    """The sale stopped or its deal cancelled (an upheld complaint): closed for good, the confirmation voided."""
    p = ev.payload
    a = _auction(state, p["auction"])
    a["phase"] = "closed"
    a.pop("paused_phase", None)
    a["pause_reason"] = ""
    a["outcome"] = "cancelled"
    a["outcome_reason"] = p["code"]
    a["winner_organisation"] = None
    if p.get("confirmation") is not None and a.get("confirmation") is not None:
        a["confirmation"]["voided_at"] = _t(p["at"])
    _seq(a, p)


@on("auction.confirmation")
def _confirmation(state: dict, ev: Ev) -> None:
    p = ev.payload
    a = _auction(state, p["auction"])
    a["confirmation"] = {"sha256": p["sha256"], "winner_organisation": p["winner_organisation"],
                         "number": p["number"], "price_fen": p["price_fen"], "issued_at": _t(p["issued_at"]),
                         "contract_due": _t(p["contract_due"]), "voided_at": None}


@on("auction.contract")
def _contract(state: dict, ev: Ev) -> None:
    p = ev.payload
    a = _auction(state, p["auction"])
    a["contract"] = {"signed_on": p["signed_on"], "amount_fen": p["amount_fen"], "documents": p["documents"],
                     "recorded_at": _t(p["recorded_at"])}


# Sealed or secret until the result, not replayed here: who holds which bidder number, the reserve.
NO_STATE = ("auction.number", "auction.reserve")
