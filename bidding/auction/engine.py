"""Pure engine of the live auction (拍卖) and listing (挂牌).

No database, no Django: ``apply(config, state, command, now) -> Outcome``.

* English ascending auction: a starting price, an increment (加价幅度): a bid is the
  current price plus a whole number of increments, at most ``max_jump`` increments; the
  very first bid may be the starting price itself.  A secret reserve (保留价) decides the
  result only.
* Closing rule per project:
  - ``countdown`` (限时竞价): every accepted bid restarts a countdown —
    the end becomes ``max(end, now + countdown_s)``;
  - ``soft_close`` (延时): a bid arriving in the last ``window_s`` seconds extends the
    end to ``now + extension_s``.
  The end time never moves backwards.
* Pause / resume: the end time is shifted by the paused duration.
* Listing (挂牌): bidders post prices (≥ the listed price and ≥ highest + increment);
  bidders who posted may declare that they want to go on to live bidding; at the end of
  the listing: two or more wanting to go on → live bidding from the highest posted price
  (only those bidders may bid); otherwise the highest posted price wins if it meets the
  reserve, else the listing fails.
* Result: highest accepted price ≥ reserve → ``deal``, else ``failed``.

Money is integer fen; times are aware ``datetime`` objects (the server's clock).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from audit import timestamps
from trading.coded import CodedError
from trading.money import format_fen

# ---------------------------------------------------------------------------
# configuration and state
# ---------------------------------------------------------------------------

MODE_AUCTION = "auction"
MODE_LISTING = "listing"
MODES = (MODE_AUCTION, MODE_LISTING)

RULE_COUNTDOWN = "countdown"      # 限时竞价
RULE_SOFT_CLOSE = "soft_close"    # 结束前 N 分钟内出价自动延时
CLOSING_RULES = (RULE_COUNTDOWN, RULE_SOFT_CLOSE)

PHASE_SCHEDULED = "scheduled"
PHASE_LISTING = "listing"
PHASE_LIVE = "live"
PHASE_PAUSED = "paused"
PHASE_CLOSED = "closed"
PHASES = (PHASE_SCHEDULED, PHASE_LISTING, PHASE_LIVE, PHASE_PAUSED, PHASE_CLOSED)

OUTCOME_DEAL = "deal"        # 成交
OUTCOME_FAILED = "failed"    # 流拍 / 挂牌不成交
OUTCOME_CANCELLED = "cancelled"  # the sale stopped or the deal cancelled (成交无效): an upheld complaint
OUTCOMES = (OUTCOME_DEAL, OUTCOME_FAILED, OUTCOME_CANCELLED)

# refusal / acceptance codes (stable, used by the API, the socket and the pages)
OK = "ok"
NOT_STARTED = "not_started"
CLOSED = "closed"
PAUSED = "paused"
TOO_LOW = "too_low"
NOT_MULTIPLE = "not_multiple"
TOO_HIGH = "too_high"
ALREADY_HIGHEST = "already_highest"
NOT_ELIGIBLE = "not_eligible"
INVALID_AMOUNT = "invalid_amount"
WRONG_PHASE = "wrong_phase"
NOTHING_TO_DO = "nothing_to_do"
REASON_REQUIRED = "reason_required"
# refusals decided outside the engine (service / transport)
NO_SECURITY = "no_security"
NOT_A_BIDDER = "not_a_bidder"
MALFORMED = "malformed"
REPLAYED = "replayed"
TOO_LARGE = "too_large"


class ConfigError(CodedError):
    """An impossible auction configuration (codes: bidding/auction/messages.py)."""


@dataclass(frozen=True)
class Config:
    mode: str
    starting_price_fen: int          # 起拍价 / 挂牌价
    increment_fen: int               # 加价幅度
    max_jump: int = 10               # at most this many increments in one bid
    reserve_fen: int = 0             # 保留价 (0 = none); secret until the result
    closing_rule: str = RULE_COUNTDOWN
    live_duration_s: int = 300       # initial (free) bidding time of the live phase
    countdown_s: int = 300           # countdown restart / soft-close extension
    window_s: int = 300              # soft close: a bid in the last window_s extends

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError("unknown mode %(mode)r", code="config_mode", mode=self.mode)
        if self.closing_rule not in CLOSING_RULES:
            raise ConfigError("unknown closing rule %(closing_rule)r", code="config_closing_rule",
                              closing_rule=self.closing_rule, field="closing_rule")
        for name in ("starting_price_fen", "increment_fen", "max_jump", "reserve_fen",
                     "live_duration_s", "countdown_s", "window_s"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError("%(name)s must be an integer", code="config_integer", name=name, field=name)
        if self.starting_price_fen <= 0:
            raise ConfigError("the starting price must be positive", code="config_starting_price",
                              field="starting_price_fen")
        if self.increment_fen <= 0:
            raise ConfigError("the increment must be positive", code="config_increment", field="increment_fen")
        if self.max_jump < 1:
            raise ConfigError("the maximum jump must be at least one increment", code="config_max_jump",
                              field="max_jump")
        if self.reserve_fen < 0:
            raise ConfigError("the reserve cannot be negative", code="config_reserve", field="reserve_fen")
        if self.live_duration_s <= 0 or self.countdown_s <= 0 or self.window_s < 0:
            raise ConfigError("durations must be positive", code="config_durations")


@dataclass(frozen=True)
class State:
    phase: str
    start_at: datetime
    end_at: datetime                      # end of the current phase (listing or live)
    price_fen: int = 0                    # highest accepted price (0: none yet)
    leader: str | None = None             # bidder number (竞买号) of the highest price
    bid_count: int = 0
    paused_phase: str | None = None
    paused_at: datetime | None = None
    posters: frozenset[str] = frozenset()     # listing: bidders who posted a price
    continuing: frozenset[str] = frozenset()  # listing: bidders wanting to go on
    eligible: frozenset[str] | None = None    # live after listing: who may bid (None: all)
    outcome: str | None = None
    outcome_reason: str = ""
    from_listing: bool = False

    # JSON helpers (the service stores a snapshot; replay rebuilds from events)
    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "start_at": self.start_at.isoformat(),
            "end_at": self.end_at.isoformat(),
            "price_fen": self.price_fen,
            "leader": self.leader,
            "bid_count": self.bid_count,
            "paused_phase": self.paused_phase,
            "paused_at": self.paused_at.isoformat() if self.paused_at else None,
            "posters": sorted(self.posters),
            "continuing": sorted(self.continuing),
            "eligible": None if self.eligible is None else sorted(self.eligible),
            "outcome": self.outcome,
            "outcome_reason": self.outcome_reason,
            "from_listing": self.from_listing,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        return cls(
            phase=data["phase"],
            start_at=datetime.fromisoformat(data["start_at"]),
            end_at=datetime.fromisoformat(data["end_at"]),
            price_fen=int(data["price_fen"]),
            leader=data["leader"],
            bid_count=int(data["bid_count"]),
            paused_phase=data["paused_phase"],
            paused_at=datetime.fromisoformat(data["paused_at"]) if data["paused_at"] else None,
            posters=frozenset(data["posters"]),
            continuing=frozenset(data["continuing"]),
            eligible=None if data["eligible"] is None else frozenset(data["eligible"]),
            outcome=data["outcome"],
            outcome_reason=data["outcome_reason"],
            from_listing=bool(data["from_listing"]),
        )


def initial_state(config: Config, *, start_at: datetime, end_at: datetime | None = None) -> State:
    """A scheduled auction.  ``end_at`` is the listing end (listing) or the end of the
    free bidding time (auction; default ``start_at + live_duration_s``)."""
    if end_at is None:
        if config.mode == MODE_LISTING:
            raise ConfigError("a listing needs its end time")
        end_at = start_at + timedelta(seconds=config.live_duration_s)
    if end_at <= start_at:
        raise ConfigError("the end must be after the start")
    return State(phase=PHASE_SCHEDULED, start_at=start_at, end_at=end_at)


# ---------------------------------------------------------------------------
# commands, decisions, events
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Bid:
    bidder: str          # 竞买号
    amount_fen: int


@dataclass(frozen=True)
class Continue:
    """Listing: the bidder wants to go on to live bidding (要求现场竞价)."""
    bidder: str


@dataclass(frozen=True)
class Pause:
    reason: str


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Cancel:
    """The sale is stopped, or its deal cancelled, by a decision outside the room (an upheld complaint):
    closed for good with the outcome ``cancelled``, ``code`` saying why and ``reason`` the decision."""
    code: str
    reason: str


@dataclass(frozen=True)
class Tick:
    """Time passes: opens, turns a listing into live bidding or a result, closes."""


Command = Bid | Continue | Pause | Resume | Cancel | Tick


@dataclass(frozen=True)
class Decision:
    """The engine's answer: ``code`` (stable, what clients act on), ``message`` (English, for logs), and for
    the edge's translation (bidding/auction/messages.py) ``key`` (which sentence: the code, or the code and a
    variant, e.g. ``too_low.listed``) and ``params`` (the values it names, amounts in fen)."""
    accepted: bool
    code: str
    message: str
    key: str = ""
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """Something that happened; the service persists it with a sequence number."""
    kind: str            # opened, bid, posted, continue, extended, live, paused, resumed, closed, cancelled
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    state: State
    events: tuple[Event, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.events)


def _ok(message: str, key: str) -> Decision:
    return Decision(True, OK, message, f"ok.{key}")


def _refuse(code: str, message: str, variant: str = "", **params: Any) -> Decision:
    return Decision(False, code, message, f"{code}.{variant}" if variant else code, params)


def _iso(t: datetime) -> str:
    return timestamps.iso_z(t)


# ---------------------------------------------------------------------------
# time-driven transitions
# ---------------------------------------------------------------------------

def _result(config: Config, state: State, at: datetime) -> tuple[State, Event]:
    if state.leader is None:
        outcome, reason = OUTCOME_FAILED, "no_bids"
    elif state.price_fen >= config.reserve_fen:
        outcome, reason = OUTCOME_DEAL, ""
    else:
        outcome, reason = OUTCOME_FAILED, "below_reserve"
    new = dataclasses.replace(state, phase=PHASE_CLOSED, outcome=outcome, outcome_reason=reason)
    data: dict[str, Any] = {
        "outcome": outcome, "reason": reason, "price_fen": state.price_fen,
        "winner": state.leader if outcome == OUTCOME_DEAL else None,
        "reserve_fen": config.reserve_fen, "at": _iso(at), "bid_count": state.bid_count,
    }
    return new, Event("closed", data)


def _advance(config: Config, state: State, now: datetime) -> tuple[State, list[Event]]:
    """Apply every transition the clock has made due by ``now`` (deterministic: the
    transitions happen at their scheduled instants, however late the tick runs)."""
    events: list[Event] = []
    for _ in range(4):
        if state.phase == PHASE_SCHEDULED and now >= state.start_at:
            phase = PHASE_LISTING if config.mode == MODE_LISTING else PHASE_LIVE
            state = dataclasses.replace(state, phase=phase)
            events.append(Event("opened", {"phase": phase, "at": _iso(state.start_at),
                                           "end_at": _iso(state.end_at)}))
            continue
        if state.phase == PHASE_LISTING and now >= state.end_at:
            listing_end = state.end_at
            if len(state.continuing) >= 2:
                end = listing_end + timedelta(seconds=config.live_duration_s)
                state = dataclasses.replace(
                    state, phase=PHASE_LIVE, end_at=end, eligible=state.continuing,
                    from_listing=True)
                events.append(Event("live", {
                    "at": _iso(listing_end), "end_at": _iso(end), "price_fen": state.price_fen,
                    "leader": state.leader, "eligible": sorted(state.continuing)}))
                continue
            state, ev = _result(config, state, listing_end)
            events.append(ev)
            break
        if state.phase == PHASE_LIVE and now >= state.end_at:
            state, ev = _result(config, state, state.end_at)
            events.append(ev)
            break
        break
    return state, events


# ---------------------------------------------------------------------------
# bids
# ---------------------------------------------------------------------------

def minimum_bid(config: Config, state: State) -> int:
    """The lowest acceptable amount now."""
    if state.leader is None:
        return config.starting_price_fen
    return state.price_fen + config.increment_fen


def maximum_bid(config: Config, state: State) -> int | None:
    """The highest acceptable amount now (None: no cap, listing)."""
    if state.phase == PHASE_LISTING or state.paused_phase == PHASE_LISTING:
        return None
    if state.leader is None:
        return config.starting_price_fen + config.max_jump * config.increment_fen
    return state.price_fen + config.max_jump * config.increment_fen


def final_refusal(config: Config, state: State, bidder: str, amount: int) -> Decision | None:
    """A refusal that no later state can lift, decided against any committed state (a read without
    the lock will do): a closed auction stays closed, and the minimum never decreases — bids only
    raise it, and a listing turning live, a pause or a resume keep it. None when only the current
    state can tell (the code then may differ: a later pause answers ``paused``, a later lead
    ``already_highest``; either way the bid is refused)."""
    if state.phase == PHASE_CLOSED:
        return _refuse(CLOSED, "The auction is closed.")
    if state.phase not in (PHASE_LIVE, PHASE_LISTING) or state.leader == bidder:
        return None
    if state.eligible is not None and bidder not in state.eligible:
        return None
    lowest = minimum_bid(config, state)
    if isinstance(amount, int) and not isinstance(amount, bool) and 0 < amount < lowest:
        return _refuse(TOO_LOW, f"The bid must be at least {_yuan(lowest)} yuan.", minimum_fen=lowest)
    return None


def _check_live_amount(config: Config, state: State, amount: int) -> Decision | None:
    base = state.price_fen if state.leader is not None else config.starting_price_fen
    lowest = minimum_bid(config, state)
    if amount < lowest:
        return _refuse(TOO_LOW, f"The bid must be at least {_yuan(lowest)} yuan.", minimum_fen=lowest)
    if (amount - base) % config.increment_fen:
        return _refuse(NOT_MULTIPLE,
                       f"The bid must be {_yuan(base)} yuan plus a whole number of increments "
                       f"of {_yuan(config.increment_fen)} yuan.", base_fen=base, increment_fen=config.increment_fen)
    highest = base + config.max_jump * config.increment_fen
    if amount > highest:
        return _refuse(TOO_HIGH,
                       f"A bid may raise the price by at most {config.max_jump} increments "
                       f"(at most {_yuan(highest)} yuan).", max_jump=config.max_jump, maximum_fen=highest)
    return None


_yuan = format_fen


def _bid(config: Config, state: State, cmd: Bid, now: datetime) -> tuple[Decision, State, list[Event]]:
    amount = cmd.amount_fen
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return _refuse(INVALID_AMOUNT, "The amount must be a positive number of fen."), state, []
    if not cmd.bidder:
        return _refuse(NOT_ELIGIBLE, "A bidder number is required.", "number"), state, []
    if state.phase == PHASE_SCHEDULED:
        return _refuse(NOT_STARTED, "The auction has not started yet."), state, []
    if state.phase == PHASE_CLOSED:
        return _refuse(CLOSED, "The auction is closed."), state, []
    if state.phase == PHASE_PAUSED:
        return _refuse(PAUSED, "The auction is paused."), state, []
    if state.leader == cmd.bidder:
        return _refuse(ALREADY_HIGHEST, "You already hold the highest bid."), state, []

    if state.phase == PHASE_LISTING:
        lowest = minimum_bid(config, state)
        if amount < lowest:
            what = "the listed price" if state.leader is None else "the highest price plus one increment"
            return _refuse(TOO_LOW, f"The price must be at least {_yuan(lowest)} yuan ({what}).",
                           "listed" if state.leader is None else "posted", minimum_fen=lowest), state, []
        new = dataclasses.replace(
            state, price_fen=amount, leader=cmd.bidder, bid_count=state.bid_count + 1,
            posters=state.posters | {cmd.bidder})
        ev = Event("posted", {"bidder": cmd.bidder, "amount_fen": amount, "at": _iso(now),
                              "n": new.bid_count})
        return _ok("Price posted.", "posted"), new, [ev]

    # live
    if state.eligible is not None and cmd.bidder not in state.eligible:
        return _refuse(NOT_ELIGIBLE, "Only bidders who asked to go on to live bidding may bid.", "live"), state, []
    refusal = _check_live_amount(config, state, amount)
    if refusal is not None:
        return refusal, state, []
    end = state.end_at
    if config.closing_rule == RULE_COUNTDOWN:
        end = max(end, now + timedelta(seconds=config.countdown_s))
    elif (state.end_at - now).total_seconds() <= config.window_s:
        end = max(end, now + timedelta(seconds=config.countdown_s))
    new = dataclasses.replace(state, price_fen=amount, leader=cmd.bidder,
                              bid_count=state.bid_count + 1, end_at=end)
    ev = Event("bid", {"bidder": cmd.bidder, "amount_fen": amount, "at": _iso(now),
                       "end_at": _iso(end), "n": new.bid_count})
    return _ok("Bid accepted.", "bid"), new, [ev]


# ---------------------------------------------------------------------------
# the one entry point
# ---------------------------------------------------------------------------

def apply(config: Config, state: State, command: Command, now: datetime) -> Outcome:
    """Decide ``command`` at ``now``.  A refused command changes nothing except the
    transitions the clock had already made due (returned as events as well)."""
    state, events = _advance(config, state, now)

    if isinstance(command, Tick):
        if events:
            return Outcome(_ok("Clock applied.", "tick"), state, tuple(events))
        return Outcome(_refuse(NOTHING_TO_DO, "Nothing is due.", "tick"), state, ())

    if isinstance(command, Bid):
        decision, new, more = _bid(config, state, command, now)
    elif isinstance(command, Continue):
        decision, new, more = _continue(state, command, now)
    elif isinstance(command, Pause):
        decision, new, more = _pause(state, command, now)
    elif isinstance(command, Resume):
        decision, new, more = _resume(state, now)
    elif isinstance(command, Cancel):
        decision, new, more = _cancel(state, command, now)
    else:  # pragma: no cover - typing guards this
        raise TypeError(f"unknown command {command!r}")
    return Outcome(decision, new, tuple(events + more))


def _continue(state: State, cmd: Continue, now: datetime) -> tuple[Decision, State, list[Event]]:
    if state.phase != PHASE_LISTING:
        return _refuse(WRONG_PHASE, "Going on to live bidding can only be requested during the listing.",
                       "continue"), state, []
    if cmd.bidder not in state.posters:
        return _refuse(NOT_ELIGIBLE, "Only bidders who posted a price may ask for live bidding.", "continue"), state, []
    if cmd.bidder in state.continuing:
        return _refuse(NOTHING_TO_DO, "You already asked for live bidding.", "continue"), state, []
    new = dataclasses.replace(state, continuing=state.continuing | {cmd.bidder})
    return _ok("Request for live bidding recorded.", "continue"), new, [
        Event("continue", {"bidder": cmd.bidder, "at": _iso(now)})]


def _pause(state: State, cmd: Pause, now: datetime) -> tuple[Decision, State, list[Event]]:
    reason = (cmd.reason or "").strip()
    if not reason:
        return _refuse(REASON_REQUIRED, "A reason is required to pause."), state, []
    if state.phase not in (PHASE_LISTING, PHASE_LIVE, PHASE_SCHEDULED):
        return _refuse(WRONG_PHASE, f"Cannot pause an auction that is {state.phase}.", "pause",
                       phase=state.phase), state, []
    new = dataclasses.replace(state, phase=PHASE_PAUSED, paused_phase=state.phase, paused_at=now)
    return _ok("Auction paused.", "paused"), new, [Event("paused", {"reason": reason, "at": _iso(now)})]


def _resume(state: State, now: datetime) -> tuple[Decision, State, list[Event]]:
    if state.phase != PHASE_PAUSED or state.paused_at is None or state.paused_phase is None:
        return _refuse(WRONG_PHASE, f"Cannot resume an auction that is {state.phase}.", "resume",
                       phase=state.phase), state, []
    shift = max(now - state.paused_at, timedelta(0))
    start = state.start_at
    if state.paused_phase == PHASE_SCHEDULED:
        # the opening is still ahead: it moves with the pause as well
        start = start + shift
    new = dataclasses.replace(state, phase=state.paused_phase, paused_phase=None, paused_at=None,
                              start_at=start, end_at=state.end_at + shift)
    return _ok("Auction resumed.", "resumed"), new, [Event("resumed", {
        "at": _iso(now), "paused_s": int(shift.total_seconds()), "start_at": _iso(start),
        "end_at": _iso(new.end_at)})]


def _cancel(state: State, cmd: Cancel, now: datetime) -> tuple[Decision, State, list[Event]]:
    """Any phase, once: a sale not yet closed stops (no result: the reserve stays secret), a closed one keeps its
    record (price, leader, the reserve revealed then) with its outcome now ``cancelled``."""
    reason = (cmd.reason or "").strip()
    if not reason or not cmd.code:
        return _refuse(REASON_REQUIRED, "A reason is required to cancel.", "cancel"), state, []
    if state.outcome == OUTCOME_CANCELLED:
        return _refuse(NOTHING_TO_DO, "The sale is already cancelled.", "cancel"), state, []
    new = dataclasses.replace(state, phase=PHASE_CLOSED, paused_phase=None, paused_at=None,
                              outcome=OUTCOME_CANCELLED, outcome_reason=cmd.code)
    return _ok("Sale cancelled.", "cancelled"), new, [Event("cancelled", {
        "previous_phase": state.phase, "previous_outcome": state.outcome, "code": cmd.code, "reason": reason,
        "at": _iso(now)})]


def reveal(config: Config, state: State) -> dict[str, Any]:
    """What the public may see of the state (never the reserve before the result)."""
    data: dict[str, Any] = {
        "phase": state.phase,
        "paused_phase": state.paused_phase,
        "start_at": _iso(state.start_at),
        "end_at": _iso(state.end_at),
        "price_fen": state.price_fen,
        "leader": state.leader,
        "bid_count": state.bid_count,
        "minimum_fen": minimum_bid(config, state),
        "maximum_fen": maximum_bid(config, state),
        "increment_fen": config.increment_fen,
        "starting_price_fen": config.starting_price_fen,
        "max_jump": config.max_jump,
        "closing_rule": config.closing_rule,
        "countdown_s": config.countdown_s,
        "mode": config.mode,
        "continuing": len(state.continuing),
        "eligible": None if state.eligible is None else sorted(state.eligible),
        "outcome": state.outcome,
        "outcome_reason": state.outcome_reason,
        "has_reserve": config.reserve_fen > 0,
    }
    if state.phase == PHASE_CLOSED and state.outcome != OUTCOME_CANCELLED:
        data["reserve_fen"] = config.reserve_fen
    return data
