"""Replay of the trading core: project, lots (status + schedule), notices, documents.

Section ``state["trading"]``; its live counterpart is ``frontend.selectors.live_trading``.
"""
from __future__ import annotations

from audit.replay import Ev, on, section

PROJECT_FIELDS = ("id", "code", "title", "kind", "method", "owner", "agent", "centre", "supervisor", "region",
                  "budget_fen", "state_funded", "description")
LOT_FIELDS = ("number", "title", "estimate_fen", "security_fen", "increment_fen", "closing_rule", "evaluation_method",
              "tie_break", "eligibility", "status", "notice_at")
SCHEDULE_FIELDS = ("doc_start", "doc_end", "objection_deadline", "bid_deadline", "auction_start", "listing_start",
                   "listing_end")


def _empty() -> dict:
    return {"project": {}, "lots": {}, "notices": [], "documents": []}


def _project(state: dict, payload: dict) -> None:
    tr = section(state, "trading", _empty)
    tr["project"] = {k: payload.get(k) for k in PROJECT_FIELDS}
    for lot in payload.get("lots", []):
        current = tr["lots"].get(str(lot["id"]), {})
        tr["lots"][str(lot["id"])] = {**{k: lot.get(k) for k in LOT_FIELDS + SCHEDULE_FIELDS},
                                      **{k: current[k] for k in ("status", "notice_at") if k in current}}


@on("project.create")
def _create(state: dict, ev: Ev) -> None:
    _project(state, ev.payload)


@on("project.publish")
def _publish(state: dict, ev: Ev) -> None:
    _project(state, ev.payload)


@on("lot.transition")
def _transition(state: dict, ev: Ev) -> None:
    tr = section(state, "trading", _empty)
    lot = tr["lots"].setdefault(str(ev.payload["lot"]), {"number": ev.payload.get("number")})
    lot["status"] = ev.payload["to"]
    if ev.payload.get("action") == "publish":
        lot["notice_at"] = ev.payload.get("at")


@on("notice.publish")
def _notice(state: dict, ev: Ev) -> None:
    tr = section(state, "trading", _empty)
    p = ev.payload
    tr["notices"].append({"number": p["number"], "kind": p["kind"], "title": p["title"], "lot": p.get("lot"),
                          "published_at": p.get("published_at")})
    for change in (p.get("data") or {}).get("schedule_changes", []):
        lot = tr["lots"].setdefault(str(change["lot"]), {})
        lot.update({k: change[k] for k in SCHEDULE_FIELDS if k in change})


@on("lot.schedule_shift")
def _schedule_shift(state: dict, ev: Ev) -> None:
    lot = section(state, "trading", _empty)["lots"].setdefault(str(ev.payload["lot"]), {})
    lot.update({k: ev.payload[k] for k in SCHEDULE_FIELDS if k in ev.payload})


@on("document.attach")
def _document(state: dict, ev: Ev) -> None:
    tr = section(state, "trading", _empty)
    p = ev.payload
    tr["documents"].append({"id": p["document"], "notice": p["notice"], "name": p["name"], "sha256": p["sha256"],
                            "size": p["size"], "access": p["access"]})


# --- the outcome an archive claims (section "outcome"; re-derived independently by sunlight_verify) ---

AWARD_ACTIONS = ("evaluation.award", "auction.award")


def _outcome_lot(state: dict, lot_id) -> dict:
    return section(state, "outcome", lambda: {"lots": {}})["lots"].setdefault(str(lot_id), {"status": None, "award": None})


@on("lot.transition")
def _outcome_status(state: dict, ev: Ev) -> None:
    _outcome_lot(state, ev.payload["lot"])["status"] = ev.payload["to"]


@on(*AWARD_ACTIONS)
def _outcome_award(state: dict, ev: Ev) -> None:
    _outcome_lot(state, ev.payload["lot"])["award"] = {"bidder": ev.payload.get("bidder"),
                                                      "price_fen": ev.payload.get("price_fen")}


@on("evaluation.award_end")
def _outcome_award_end(state: dict, ev: Ev) -> None:
    _outcome_lot(state, ev.payload["lot"])["award"] = None


@on("project.close")
def _outcome_closed(state: dict, ev: Ev) -> None:
    section(state, "outcome", lambda: {"lots": {}})["closed"] = True


# Recorded for the log; no part of a project's replayed sections.
NO_STATE = ("organisation.create", "user.create", "user.confirm", "calendar.load",
            # sign-in events (trading.services.record_sign_in …, trading.second_factor)
            "account.sign_in", "account.sign_out", "account.sign_in_refused", "account.second_factor",
            "account.recovery_code_used", "account.second_factor_enrolled", "account.second_factor_removed",
            "account.recovery_codes_renewed", "account.security_key_added", "account.security_key_removed",
            "account.security_key_refused", "account.second_factor_refused")
