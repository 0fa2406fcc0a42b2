"""Replay of registrations (报名): who registered for which lot with which declaration, and withdrawals.

Section ``state["registrations"]`` = ``{registration_id: {"lot", "bidder", "declaration", "status", "at"}}``;
its live counterpart is ``bidding.selectors.live_registrations``. The events are sealed until the lot's
deadline (who registered, and how many, is secret until then); replay itself sees every event it is given.
"""
from __future__ import annotations

from audit.replay import Ev, on, section


def _regs(state: dict) -> dict:
    return section(state, "registrations", dict)


@on("registration.create")
def _create(state: dict, ev: Ev) -> None:
    p = ev.payload
    _regs(state)[str(p["registration"])] = {"lot": p["lot"], "bidder": p["bidder"], "declaration": p["declaration"],
                                            "status": "active", "at": p["at"]}


@on("registration.withdraw")
def _withdraw(state: dict, ev: Ev) -> None:
    reg = _regs(state).get(str(ev.payload["registration"]))
    if reg is not None:
        reg["status"] = "withdrawn"


# Recorded for the log; no part of a project's replayed sections (an organisation's signing key).
NO_STATE = ("bidder_key.register",)
