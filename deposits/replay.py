"""Replay of the unified deposit account for one project: its sub-accounts and forfeits.

Section ``state["deposits"]`` = ``{"accounts": {id: {...}}, "forfeits": {id: {...}}}``; its live
counterpart is ``deposits.selectors.live_deposits``. Balances come from the legs of the
``deposit.transfer`` / ``deposit.credit`` events (signed fen: + debit, - credit; a sub-account is a
liability, so its balance is credits - debits, and pending debits are money reserved for a refund or
forfeit not yet final).
"""
from __future__ import annotations

from audit.replay import Ev, on, section


def _dep(state: dict) -> dict:
    return section(state, "deposits", lambda: {"accounts": {}, "forfeits": {}})


def _acc(state: dict, account_id) -> dict | None:
    return _dep(state)["accounts"].get(str(account_id))


@on("deposit.sub_account_open")
def _open(state: dict, ev: Ev) -> None:
    p = ev.payload
    _dep(state)["accounts"][str(p["account"])] = {
        "lot": p["lot"], "bidder": p["bidder"], "number": p["number"], "required_fen": p["required_fen"],
        "status": "open", "balance_fen": 0, "reserved_fen": 0, "winner": False, "paid_at": None,
    }


@on("deposit.transfer", "deposit.credit")
def _transfer(state: dict, ev: Ev) -> None:
    p = ev.payload
    for leg in p.get("legs", []):
        if leg.get("kind") != "deposit":
            continue
        acc = _acc(state, leg["account"])
        if acc is None:
            continue
        amount, effect = leg["amount"], leg["effect"]
        if effect == "posted":
            acc["balance_fen"] -= amount
        elif effect == "pending" and amount > 0:
            acc["reserved_fen"] += amount
        elif effect == "release" and amount > 0:
            acc["reserved_fen"] -= amount
        if p.get("purpose") in ("credit", "assign") and effect == "posted" and amount < 0:
            acc["paid_at"] = ev.at_iso


@on("deposit.freeze")
def _freeze(state: dict, ev: Ev) -> None:
    for item in ev.payload.get("frozen", []):
        if (acc := _acc(state, item["account"])) is not None:
            acc["status"] = "frozen"
    for item in ev.payload.get("closed", []):
        if (acc := _acc(state, item["account"])) is not None:
            acc["status"] = "closed"


@on("deposit.close")
def _close(state: dict, ev: Ev) -> None:
    if (acc := _acc(state, ev.payload["account"])) is not None:
        acc["status"] = "closed"


@on("deposit.refund_batch")
def _batch(state: dict, ev: Ev) -> None:
    for account_id in ev.payload.get("closed", []):
        if (acc := _acc(state, account_id)) is not None:
            acc["status"] = "closed"


@on("deposit.winner")
def _winner(state: dict, ev: Ev) -> None:
    if (acc := _acc(state, ev.payload["account"])) is not None:
        acc["winner"] = True


@on("deposit.settle_winner")
def _settle(state: dict, ev: Ev) -> None:
    if (acc := _acc(state, ev.payload["account"])) is not None:
        acc["winner"] = True
        if ev.payload.get("mode") == "convert":
            acc["status"] = "settled"


@on("deposit.winner_cleared")
def _cleared(state: dict, ev: Ev) -> None:
    if (acc := _acc(state, ev.payload["account"])) is not None:
        acc["winner"] = False
        acc["status"] = ev.payload["status"]


@on("deposit.refund_confirmed")
def _confirmed(state: dict, ev: Ev) -> None:
    acc = _acc(state, ev.payload.get("account"))
    if acc is not None and not ev.payload.get("suspense") and acc["balance_fen"] == 0 and acc["reserved_fen"] == 0 \
            and acc["status"] != "closed":
        acc["status"] = "settled"


@on("deposit.forfeit_request")
def _forfeit(state: dict, ev: Ev) -> None:
    p = ev.payload
    _dep(state)["forfeits"][str(p["forfeit"])] = {"account": p["account"], "grounds": p["grounds"],
                                                  "amount_fen": p["amount_fen"], "status": "requested"}


@on("deposit.forfeit_countersign")
def _countersign(state: dict, ev: Ev) -> None:
    p = ev.payload
    f = _dep(state)["forfeits"].get(str(p["forfeit"]))
    if f is not None:
        f["status"] = "countersigned" if p["approve"] else "rejected"
    if p["approve"] and (acc := _acc(state, p["account"])) is not None:
        acc["status"] = "settled"


def finalize(state, as_of) -> None:
    _dep(state)


# Recorded for the log; the money they move is replayed from their transfers' events (deposit.transfer).
NO_STATE = ("deposit.refund_order", "deposit.refund_due", "deposit.refund_send", "deposit.refund_retry",
            "deposit.refund_failed", "deposit.refund_cancel", "deposit.statement_import", "deposit.suspense",
            "deposit.suspense_resolve")
