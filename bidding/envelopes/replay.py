"""Replay of sealed envelopes: opening key and custody set, envelope submissions / replacements /
withdrawals (digests only — never contents), the deadline seal (Merkle root), presented shares,
and the opening with each envelope's art. 31 outcome and price.

Section ``state["envelopes"]`` = ``{"lots": {lot_id: {...}}}``; its live counterpart is
``bidding.envelopes.selectors.live_envelopes``.
"""
from __future__ import annotations

from audit.replay import Ev, on, section


def _lot(state: dict, lot_id) -> dict:
    sec = section(state, "envelopes", lambda: {"lots": {}})
    return sec["lots"].setdefault(str(lot_id), {
        "opening_key": None, "envelopes": {}, "seal": None, "presented": [], "opening": None,
    })


@on("opening_key.create")
def _key(state: dict, ev: Ev) -> None:
    p = ev.payload
    _lot(state, p["lot"])["opening_key"] = {
        "public_key": p["public_key"], "k": p["k"], "n": p["n"],
        "custody": [{"custodian": c["custodian"], "x": c["x"], "digest": c["digest"]} for c in p["custody"]],
    }


@on("envelope.submit", "envelope.replace")
def _submit(state: dict, ev: Ev) -> None:
    p = ev.payload
    envs = _lot(state, p["lot"])["envelopes"]
    if p.get("replaces"):
        envs[p["replaces"]]["status"] = "replaced"
    envs[p["digest"]] = {"bidder": p["bidder"], "status": "active", "at": p["at"]}


@on("envelope.withdraw")
def _withdraw(state: dict, ev: Ev) -> None:
    p = ev.payload
    _lot(state, p["lot"])["envelopes"][p["digest"]]["status"] = "withdrawn"


@on("envelope.seal_set")
def _seal(state: dict, ev: Ev) -> None:
    p = ev.payload
    _lot(state, p["lot"])["seal"] = {"count": p["count"], "merkle_root": p["merkle_root"]}


@on("custody.share_present")
def _present(state: dict, ev: Ev) -> None:
    p = ev.payload
    lot = _lot(state, p["lot"])
    lot["presented"] = sorted(set(lot["presented"]) | {p["custodian"]})


@on("envelope.open")
def _open(state: dict, ev: Ev) -> None:
    p = ev.payload
    lot = _lot(state, p["lot"])
    lot["opening"] = {
        "valid": p["valid"],
        "bids": sorted(({"bidder": b["bidder"], "digest": b["digest"], "outcome": b["outcome"],
                         "price_fen": b["price_fen"], "terms": b["terms"], "failure_code": b["failure_code"]}
                        for b in p["bids"]), key=lambda b: b["digest"]),
    }


# Recorded for the log; no part of the replayed section (custodians' public keys).
NO_STATE = ("custody.key_register", "custody.share_refused")
