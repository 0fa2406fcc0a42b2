"""A bidder's one next step on a registration (pure: no database).

pay the security → seal the bid (tender) → wait for the opening → join the auction (auction/listing) → result.
The bidder's home (frontend/homes.py) reads the facts through the selectors and asks this function which single
action to offer; the table of steps lives here only.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from trading.lifecycle import LotStatus

ACTIONS = (
    "pay",           # the security is not in place yet: pay it to the sub-account before the deadline
    "seal",          # tender: seal and submit the bid before the deadline
    "wait_opening",  # tender: a sealed bid is in; the opening follows the deadline
    "wait_result",   # opened / evaluation / publicity / auction closed: the result follows
    "wait_auction",  # auction or listing: admitted, the room opens at its start
    "join_auction",  # the auction or listing is running: enter the room
    "result",        # the lot has its result (award, failure or termination)
    "missed",        # the deadline passed without a paid security or a sealed bid
    "withdrawn",     # the registration was withdrawn
)


@dataclass(frozen=True)
class Facts:
    """What the bidder may know of its own registration, as plain values."""

    registration: str          # "active" | "withdrawn"
    path: str                  # "tender" | "auction" | "listing"
    lot_status: str            # trading.lifecycle status
    result_known: bool         # the lot has its result (the caller asks trading.selectors.RESULT_STATES)
    now: dt.datetime
    deadline: dt.datetime      # the lot's bid deadline (the registration / deposit deadline for sales)
    security_required: bool
    security_paid: bool
    envelope: bool = False     # an active sealed bid of this bidder
    room_open: bool = False    # the auction / listing is in its listing, live or paused phase
    room_closed: bool = False  # the auction / listing has ended
    room_start: dt.datetime | None = None


@dataclass(frozen=True)
class Step:
    action: str
    due: dt.datetime | None = None  # the moment the step must be done by (countdown), or when it begins

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown next action {self.action!r}")


def next_step(f: Facts) -> Step:
    if f.registration != "active":
        return Step("withdrawn")
    if f.result_known:
        return Step("result")
    before = f.now < f.deadline
    unpaid = f.security_required and not f.security_paid
    if f.path == "tender":
        if before:
            if unpaid:
                return Step("pay", f.deadline)
            if not f.envelope:
                return Step("seal", f.deadline)
            return Step("wait_opening", f.deadline)
        if not f.envelope or unpaid:
            return Step("missed")
        if f.lot_status in (LotStatus.PUBLISHED, LotStatus.BIDDING_CLOSED):
            return Step("wait_opening", f.deadline)
        return Step("wait_result")
    # auction and listing
    if before and unpaid:
        return Step("pay", f.deadline)
    if unpaid:
        return Step("missed")
    if f.room_closed:
        return Step("wait_result")
    if f.room_open:
        return Step("join_auction")
    return Step("wait_auction", f.room_start)
