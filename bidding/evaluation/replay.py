"""Replay of evaluation: plan, committee draw (commitment, seed, members), evaluation rounds and
candidates, publicity, awards and the contract (objections: trading.challenges.replay).

Section ``state["evaluation"]`` = ``{"lots": {lot_id: {...}}}``; its live counterpart is
``bidding.evaluation.selectors.live_evaluation``.
"""
from __future__ import annotations

from audit.replay import Ev, on, section


def _lot(state: dict, lot_id) -> dict:
    sec = section(state, "evaluation", lambda: {"lots": {}})
    return sec["lots"].setdefault(str(lot_id), {
        "plan": None, "conflicts": [], "committee": None, "evaluation": None, "publicity": None,
        "awards": [], "contract": None, "quotes": [],
    })


@on("evaluation.plan")
def _plan(state: dict, ev: Ev) -> None:
    _lot(state, ev.payload["lot"])["plan"] = ev.payload["method"]


@on("evaluation.draw_commit")
def _commit(state: dict, ev: Ev) -> None:
    p = ev.payload
    _lot(state, p["lot"])["committee"] = {
        "size": p["size"], "representatives": p["representatives"], "commitment": p["commitment"],
        "eligible": p["eligible"], "revealed": False, "seed": None,
        "members": sorted(p.get("representative_ids", [])),
    }


@on("evaluation.draw_reveal")
def _reveal(state: dict, ev: Ev) -> None:
    p = ev.payload
    c = _lot(state, p["lot"])["committee"]
    c["revealed"], c["seed"] = True, p["seed"]
    c["members"] = sorted(set(c["members"]) | set(p["selected"]))


@on("evaluation.conflict")
def _conflict(state: dict, ev: Ev) -> None:
    p = ev.payload
    lot = _lot(state, p["lot"])
    lot["conflicts"] = sorted(set(lot["conflicts"]) | {p["expert"]})
    c = lot["committee"]
    if p.get("recused") and c is not None:
        members = set(c["members"]) - {p["expert"]}
        if p.get("replaced_by") is not None:
            members.add(p["replaced_by"])
        c["members"] = sorted(members)


@on("evaluation.start", "evaluation.reevaluate")
def _start(state: dict, ev: Ev) -> None:
    p = ev.payload
    lot = _lot(state, p["lot"])
    previous = lot["evaluation"]["quote_round"] if lot["evaluation"] else 1
    lot["evaluation"] = {"round": p["round"], "status": "open", "failed": False, "candidates": [],
                         "quote_round": previous}
    if ev.action == "evaluation.reevaluate":
        lot = _lot(state, p["lot"])
        if lot["publicity"] is not None:
            lot["publicity"]["cancelled"] = True


@on("evaluation.report")
def _report(state: dict, ev: Ev) -> None:
    p = ev.payload
    report = p["report"]
    chosen = set(report.get("candidates", []))
    e = _lot(state, p["lot"])["evaluation"]
    e["status"], e["failed"] = "reported", report.get("failed", False)
    e["candidates"] = [{"rank": r["rank"], "bidder": r["bidder"], "price_fen": r["price_fen"], "status": "ranked"}
                       for r in report.get("ranking", []) if r["bidder"] in chosen]


def _candidate(lot: dict, bidder: int) -> dict | None:
    e = lot["evaluation"] or {"candidates": []}
    return next((c for c in e["candidates"] if c["bidder"] == bidder), None)


@on("evaluation.candidate_withdrawn", "evaluation.candidate_disqualified")
def _withdrawn(state: dict, ev: Ev) -> None:
    p = ev.payload
    c = _candidate(_lot(state, p["lot"]), p["bidder"])
    if c is not None:
        c["status"] = ev.action.rsplit("_", 1)[1]


@on("evaluation.publicity")
def _publicity(state: dict, ev: Ev) -> None:
    p = ev.payload
    _lot(state, p["lot"])["publicity"] = {"starts_at": p["starts_at"], "ends_at": p["ends_at"], "days": p["days"],
                                          "cancelled": False}


@on("evaluation.award")
def _award(state: dict, ev: Ev) -> None:
    p = ev.payload
    _lot(state, p["lot"])["awards"].append({"id": p["award"], "bidder": p["bidder"], "rank": p["rank"],
                                            "price_fen": p["price_fen"], "status": "active",
                                            "awarded_at": p["awarded_at"], "contract_due": p["contract_due"]})


@on("evaluation.award_end")
def _award_end(state: dict, ev: Ev) -> None:
    p = ev.payload
    lot = _lot(state, p["lot"])
    for a in lot["awards"]:
        if a["id"] == p["award"]:
            a["status"] = p["status"]
    if p["status"] == "refused":
        c = _candidate(lot, p["bidder"])
        if c is not None:
            c["status"] = "refused"


@on("evaluation.publicity_shift")
def _publicity_shift(state: dict, ev: Ev) -> None:
    pub = _lot(state, ev.payload["lot"])["publicity"]
    if pub is not None:
        pub["ends_at"] = ev.payload["ends_at"]


@on("evaluation.contract_due_shift")
def _contract_due_shift(state: dict, ev: Ev) -> None:
    for a in _lot(state, ev.payload["lot"])["awards"]:
        if a["id"] == ev.payload["award"]:
            a["contract_due"] = ev.payload["contract_due"]


@on("evaluation.contract")
def _contract(state: dict, ev: Ev) -> None:
    p = ev.payload
    lot = _lot(state, p["lot"])
    for a in lot["awards"]:
        if a["id"] == p["award"]:
            a["status"] = "contracted"
    lot["contract"] = {"signed_on": p["signed_on"], "amount_fen": p["amount_fen"], "deposit_mode": p["deposit_mode"],
                       "documents": p["documents"]}


@on("evaluation.quote_round")
def _quote_round(state: dict, ev: Ev) -> None:
    _lot(state, ev.payload["lot"])["evaluation"]["quote_round"] = ev.payload["round"]


@on("evaluation.quote")
def _quote(state: dict, ev: Ev) -> None:
    p = ev.payload
    _lot(state, p["lot"])["quotes"].append({"bidder": p["bidder"], "round": p["round"], "price_fen": p["price_fen"]})


def finalize(state: dict, as_of) -> None:
    section(state, "evaluation", lambda: {"lots": {}})


# Recorded for the log; no part of the replayed section (experts' pool, individual sheets and reviews,
# reminders of overdue steps).
NO_STATE = ("expert.register", "expert.availability", "evaluation.sheet", "evaluation.review",
            "evaluation.publicity_overdue", "evaluation.objection_overdue", "evaluation.contract_overdue")
