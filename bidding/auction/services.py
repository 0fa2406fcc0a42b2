"""Business actions of live auctions and listings.

Every action: keyword-only, one ``transaction.atomic()``, the auction row locked with
``select_for_update``, the pure engine decides, the decision's events are persisted with the
gap-free per-auction sequence and recorded in the audit log in the same transaction, and the
websocket broadcast is sent only on commit.  The database is the source of truth, and this module
keeps no state between calls: bids take the one path ``place_bids`` (docs/auction.md).
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, OperationalError, connections, transaction
from django.db.models import Model, Q
from django.utils import timezone

import audit
from audit import context as audit_context
from audit import services as audit_services
from audit import sql
from bidding.auction import engine as E
from bidding.auction import messages as M
from bidding.auction.models import (Auction, AuctionBid, AuctionEvent, BidderNumber, Confirmation, ConfirmationVoid,
                                    SaleContract)
from trading.errors import Conflict, DomainError, Invalid, NotFound, translated
from trading.models import Lot, Organisation, User
from trading.permissions import require_staff_of, role_of
from audit import timestamps
from trading.money import decimal_keys, format_fen
from trading import lifecycle as lot_lifecycle
from trading.lifecycle import LotStatus
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)
M_ = TypeVar("M_", bound=Model)

GROUP_PREFIX = "auction-"
# the room's fan-out layer: settings.CHANNEL_LAYERS["auction"] (Redis pub/sub: one PUBLISH per
# event, relayed by each server process to its own connections) when configured, else the default
LAYER_ALIAS = "auction" if "auction" in getattr(settings, "CHANNEL_LAYERS", {}) else "default"


def group_name(auction_id: int) -> str:
    return f"{GROUP_PREFIX}{auction_id}"


# HTTP status per refusal code (the socket answers with the code and the message)
SUSPENDED = "suspended"  # the project is suspended (trading.challenges): no bid, no step
STATUS_FOR_CODE = {
    E.TOO_LOW: 400, E.NOT_MULTIPLE: 400, E.TOO_HIGH: 400, E.INVALID_AMOUNT: 400, E.MALFORMED: 400,
    E.TOO_LARGE: 413, E.REASON_REQUIRED: 400,
    E.NO_SECURITY: 403, E.NOT_A_BIDDER: 403, E.NOT_ELIGIBLE: 403,
    E.NOT_STARTED: 409, E.CLOSED: 409, E.PAUSED: 409, E.ALREADY_HIGHEST: 409, E.WRONG_PHASE: 409,
    E.NOTHING_TO_DO: 409, SUSPENDED: 409,
}


class BidRefused(DomainError):
    """A refused bid / command: ``code`` is the engine's reason code; ``message`` a translatable text (or one
    rendered already in the request's language: bidding/auction/messages.py)."""

    def __init__(self, code: str, message: Any, *, minimum_fen: int | None = None):
        super().__init__(message)
        self.reason = self.code = code  # the API answers with the engine's code, as the socket does
        self.minimum_fen = minimum_fen  # the lowest acceptable amount now, when known
        self.status_code = STATUS_FOR_CODE.get(code, 400)


@dataclasses.dataclass(frozen=True)
class BidReceipt:
    accepted: bool
    code: str
    message: str
    seq: int
    amount_fen: int
    number: str
    state: dict[str, Any]
    replayed: bool = False  # the reference was used before: the original bid's receipt


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _iso(t: dt.datetime) -> str:
    return timestamps.iso_z(t)


def _commitment(reserve_fen: int, salt: str) -> str:
    return hashlib.sha256(f"{reserve_fen}:{salt}".encode()).hexdigest()


def _locked(auction: Auction | int, *, related: str = "lot__project") -> Auction:
    auction_id = auction.pk if isinstance(auction, Auction) else auction
    try:
        return (Auction.objects.select_for_update(of=("self",)).select_related(related)
                .get(pk=auction_id))
    except (Auction.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("no such auction")) from None


def public_state(auction: Auction, state: E.State | None = None) -> dict[str, Any]:
    """The public state in the edge form (amounts as decimal strings: ``price``, ``minimum``, ``reserve``…)."""
    st = state or auction.state
    data = decimal_keys(E.reveal(auction.config, st))
    data["auction"] = auction.pk
    data["lot"] = auction.lot_id
    data["seq"] = auction.last_seq
    data["reserve_commitment"] = auction.reserve_commitment
    if st.phase == E.PHASE_PAUSED:
        data["pause_reason"] = auction.pause_reason
    if st.phase == E.PHASE_CLOSED and st.outcome == E.OUTCOME_CANCELLED and auction.result_applied:
        data.update(decimal_keys({"reserve_fen": auction.reserve_fen}))  # cancelled after its result: shown then
    if "reserve" in data:
        data["reserve_salt"] = auction.reserve_salt
    return data


# the configuration part of the public state: in every snapshot, never repeated in event frames
STATIC_STATE_KEYS = frozenset({"increment", "starting_price", "max_jump", "closing_rule", "countdown_s",
                               "mode", "has_reserve", "auction", "lot", "reserve_commitment"})


def changing_state(state: dict[str, Any]) -> dict[str, Any]:
    """What an event frame carries of the state: the fields that can change (clients merge them into
    the snapshot's state). A third of the frame's bytes at 1,000 watchers per event."""
    return {k: v for k, v in state.items() if k not in STATIC_STATE_KEYS}


def is_secured(organisation: Organisation, lot: Lot) -> bool:
    """The one question asked of deposits: is this bidder's security in place for the lot?"""
    if lot.security_fen <= 0:
        return True
    import deposits

    return bool(deposits.is_secured(organisation, lot))


def _new_number(auction: Auction) -> str:
    taken = set(BidderNumber.objects.filter(auction=auction).values_list("number", flat=True))
    while True:
        number = f"{secrets.randbelow(900_000) + 100_000:06d}"
        if number not in taken:
            return number


# ---------------------------------------------------------------------------------------------
# persisting the engine's events (the one path every action takes)
# ---------------------------------------------------------------------------------------------

def _ensure_lot(lot: Lot, target: str, *, actor: User | None) -> None:
    """Move the lot along its path to ``target`` (the trading clock may already have done it)."""
    from trading.services import transition_lot

    steps = {
        # (path, current status, target) -> action
        ("auction", LotStatus.PUBLISHED, LotStatus.LIVE): "close_registration",
        ("auction", LotStatus.AUCTION_SCHEDULED, LotStatus.LIVE): "start_auction",
        ("listing", LotStatus.PUBLISHED, LotStatus.LISTING): "start_listing",
        ("listing", LotStatus.PUBLISHED, LotStatus.LIVE): "start_listing",
        ("listing", LotStatus.LISTING, LotStatus.LIVE): "start_auction",
        ("listing", LotStatus.PUBLISHED, LotStatus.CLOSED): "start_listing",
        ("listing", LotStatus.LISTING, LotStatus.CLOSED): "close_auction",
        ("auction", LotStatus.PUBLISHED, LotStatus.CLOSED): "close_registration",
        ("auction", LotStatus.AUCTION_SCHEDULED, LotStatus.CLOSED): "start_auction",
        ("auction", LotStatus.LIVE, LotStatus.CLOSED): "close_auction",
        ("listing", LotStatus.LIVE, LotStatus.CLOSED): "close_auction",
    }
    for _attempt in range(4):
        lot.refresh_from_db(fields=["status"])
        if lot.status == target:
            return
        action = steps.get((lot.path, lot.status, target))
        if action is None:
            raise Conflict(_("lot %(lot_id)s is %(status)s; the auction cannot move it to %(target)s"), lot_id=lot.pk, status=lot.status, target=target)
        transition_lot(lot=lot, action=action, actor=None)


def _apply_result(auction: Auction, closed: E.Event, now: dt.datetime) -> dict[str, Any]:
    """The closed auction's result: lot transition, deposits, result notice. Exactly once."""
    from trading.services import publish_notice, transition_lot

    lot = auction.lot
    _ensure_lot(lot, LotStatus.CLOSED, actor=None)
    winner_org_id = None
    if closed.data["outcome"] == E.OUTCOME_DEAL:
        winner = BidderNumber.objects.select_related("organisation").get(auction=auction, number=closed.data["winner"])
        winner_org_id = winner.organisation_id
        _keep_winner_security(lot=lot, winner=winner.organisation)
        # the award hook (deposits.hooks.on_result) refunds every other security per the deposits rules
        transition_lot(lot=lot, action="award", actor=None,
                       payload={"auction": auction.pk, "winner": winner_org_id, "price_fen": closed.data["price_fen"]})
        _convert_winner_security(lot=lot, winner=winner.organisation)
        title = f"{lot.project.title} 第{lot.number}标的 成交结果公告"
        body = (f"竞价结束，竞买号 {winner.number}（{winner.organisation.name}）以 "
                f"{_yuan(closed.data['price_fen'])} 元竞得。保留价 {_yuan(auction.reserve_fen)} 元。")
    else:
        reason = {"no_bids": "无人应价 no bids", "below_reserve": "最高应价未达保留价 below the reserve"}.get(
            closed.data["reason"], closed.data["reason"])
        # the fail hook (deposits.hooks.on_fail) refunds every security
        transition_lot(lot=lot, action="fail", actor=None, reason=f"流拍 failed auction: {reason}",
                       payload={"auction": auction.pk})
        title = f"{lot.project.title} 第{lot.number}标的 流拍公告"
        body = f"竞价结束，{reason}，本标的流拍。最高应价 {_yuan(closed.data['price_fen'])} 元，保留价 {_yuan(auction.reserve_fen)} 元。"
    numbers = {bn.number: bn.organisation_id for bn in BidderNumber.objects.filter(auction=auction)}
    publish_notice(actor=None, project=lot.project, kind="result", title=title, body=body, lot=lot,
                   data={"auction": auction.pk, "outcome": closed.data["outcome"], "reason": closed.data["reason"],
                         "price_fen": closed.data["price_fen"], "winner_number": closed.data["winner"],
                         "winner_organisation": winner_org_id, "reserve_fen": auction.reserve_fen,
                         "bid_count": closed.data["bid_count"], "numbers": numbers})
    auction.result_applied = True
    return {"winner_organisation": winner_org_id, "numbers": numbers}


def _void_deal(auction: Auction, cancelled: E.Event, now: dt.datetime) -> dict[str, Any]:
    """The cancelled sale's deal, if it had one (成交无效): the confirmation voided (its document kept as issued)
    and the winner's security back to the deposit rules' state (``deposits.services.clear_winner``: no longer
    the winner's, a conversion toward the price reversed). Called by ``_write_events`` before the audit event."""
    if cancelled.data["previous_outcome"] != E.OUTCOME_DEAL:
        return {"confirmation": None, "winner_organisation": None}
    lot = auction.lot
    winner = BidderNumber.objects.select_related("organisation").get(auction=auction, number=auction.leader)
    why = f"deal cancelled — {cancelled.data['reason']}"
    conf = Confirmation.objects.filter(auction=auction).first()
    if conf is not None:
        ConfirmationVoid.objects.create(confirmation=conf, voided_at=now, reason=why)
    if lot.security_fen > 0:
        from deposits import services as deposit_services

        deposit_services.clear_winner(lot=lot, bidder_org=winner.organisation, reason=why)
    return {"confirmation": conf.pk if conf else None, "winner_organisation": winner.organisation_id}


def _keep_winner_security(*, lot: Lot, winner: Organisation) -> None:
    """Before the award: mark the winner so the result's refund leaves its security alone."""
    if lot.security_fen <= 0:
        return
    from deposits import services as deposit_services

    deposit_services.mark_winner(lot=lot, bidder_org=winner)


def _convert_winner_security(*, lot: Lot, winner: Organisation) -> None:
    """After the award: the winner's security is kept toward the price (转作价款)."""
    if lot.security_fen <= 0:
        return
    from deposits import services as deposit_services

    deposit_services.settle_winner(lot=lot, bidder_org=winner, mode="convert")


_yuan = format_fen


@dataclasses.dataclass
class _Rows:
    """Rows written at the end of an action (bulk), and the frames to broadcast after commit.
    The audit events of bids wait in ``audit`` (their ``AuctionEvent`` rows in ``unaudited``) and
    are appended with one INSERT, in order, before any other audit event of the action."""

    events: list[AuctionEvent] = dataclasses.field(default_factory=list)
    bids: list[AuctionBid] = dataclasses.field(default_factory=list)
    frames: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    audit: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    unaudited: list[AuctionEvent] = dataclasses.field(default_factory=list)

    def audit_statement(self) -> sql.Statement | None:
        """The INSERT of the waiting audit events; their rows refer to them by uid."""
        statement, records = audit_services.events_statement(self.audit)
        for row, record in zip(self.unaudited, records):
            row.audit_event_id = audit_services.event_id_of(record.uid)
        self.audit, self.unaudited = [], []
        return statement

    def flush_audit(self) -> None:
        sql.execute([self.audit_statement()])


SIDE_EFFECT_FREE = ("bid", "posted")  # events that write only their own rows (no lot transition, no numbers)

def _project_id(auction: Auction) -> int:
    if Auction.lot.is_cached(auction):
        return auction.lot.project_id
    known: int | None = vars(auction).get("lot_project_id")  # read with the row by the bid path (not a field)
    if known is None:
        known = vars(auction)["lot_project_id"] = Lot.objects.values_list("project_id", flat=True).get(pk=auction.lot_id)
    return known


def _write_events(auction: Auction, out: E.Outcome, rows: _Rows, *, actor: User | None, now: dt.datetime,
                  bidder: BidderNumber | None = None, client_ref: str = "", via: str = "ws",
                  extra: dict[str, Any] | None = None, context: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The outcome's events: next seq, audit event, lot transitions; rows collected in ``rows``.
    ``context``: who acted from where, kept with a batched bid (else the current request's)."""
    frames: list[dict[str, Any]] = []
    auction.set_state(out.state)
    for ev in out.events:
        auction.last_seq += 1
        seq = auction.last_seq
        data = dict(ev.data)
        if ev.kind in ("paused",) and extra:
            data.update(extra)
        if ev.kind == "closed":
            data["reserve_salt"] = auction.reserve_salt
        payload = {"auction": auction.pk, "lot": auction.lot_id, "seq": seq, "kind": ev.kind, **data}
        deferred = ev.kind in SIDE_EFFECT_FREE  # audited with the batch's other bids
        if not deferred:
            rows.flush_audit()  # the bids before this event keep their place in the log
        if ev.kind == "closed":
            payload.update(_apply_result(auction, ev, now))
        elif ev.kind == "cancelled":
            payload.update(_void_deal(auction, ev, now))
        elif ev.kind == "opened":
            _ensure_lot(auction.lot, LotStatus.LISTING if auction.mode == E.MODE_LISTING else LotStatus.LIVE, actor=None)
            _admit_bidders(auction, now)  # admission closes at the opening
        elif ev.kind == "live":
            _ensure_lot(auction.lot, LotStatus.LIVE, actor=None)
        item = {"action": f"auction.{ev.kind}", "subject": f"auction:{auction.pk}", "payload": payload, "at": now,
                "actor": actor if ev.kind not in ("opened", "live", "closed") else None,
                "project_id": _project_id(auction)}
        row = AuctionEvent(auction=auction, seq=seq, kind=ev.kind, data=data, at=now)
        rows.events.append(row)
        if deferred:
            rows.audit.append({**item, "context": context} if context is not None else item)
            rows.unaudited.append(row)
        else:
            row.audit_event_id = audit.record(**item).pk
        if ev.kind in ("bid", "posted"):
            assert bidder is not None
            rows.bids.append(AuctionBid(auction=auction, seq=seq, bidder=bidder, amount_fen=data["amount_fen"],
                                        kind=ev.kind, client_ref=client_ref, placed_at=now, via=via))
        frames.append({"seq": seq, "kind": ev.kind, "data": decimal_keys(data), "at": _iso(now)})
    rows.frames += frames
    return frames


_WRITTEN_FIELDS = Auction.STATE_FIELDS + ["pause_reason", "result_applied"]


def _row_statements(rows: _Rows) -> list[sql.Statement | None]:
    """The bids' audit events, then the event and bid rows that refer to them."""
    return [
        rows.audit_statement(),
        sql.insert(rows.events, ("auction", "seq", "kind", "data", "at", "audit_event_id")),
        sql.insert(rows.bids, ("auction", "seq", "bidder", "amount_fen", "kind", "client_ref", "placed_at", "via")),
    ]


def _finish(auction: Auction, rows: _Rows) -> None:
    """Write the collected rows and the new state; broadcast once, after commit."""
    # one round trip on PostgreSQL: the bids' audit events, the event and bid rows, the new state
    sql.execute([*_row_statements(rows), sql.update(auction, _WRITTEN_FIELDS)])
    if rows.frames:
        # the room's message is made after commit, once the auction's row lock is released, from the auction
        # as written here (a copy: the caller's instance may change later in an enclosing transaction)
        written, frames, bids = copy.copy(auction), rows.frames, rows.bids
        transaction.on_commit(lambda: broadcast(written.pk, events_message(written, frames, bids)))


def _persist(auction: Auction, out: E.Outcome, *, actor: User | None, now: dt.datetime,
             bidder: BidderNumber | None = None, client_ref: str = "", via: str = "ws",
             extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Write the outcome's events (seq, audit, bid rows, lot transitions) and the new state."""
    rows = _Rows()
    frames = _write_events(auction, out, rows, actor=actor, now=now, bidder=bidder, client_ref=client_ref, via=via,
                           extra=extra)
    _finish(auction, rows)
    return frames


def events_message(auction: Auction, frames: list[dict[str, Any]], bids: Sequence[AuctionBid] = ()) -> dict[str, Any]:
    """The room group's message once ``auction`` is committed with the events of ``frames``:
    ``text``: the client frame of them (the events, the state's changing fields), serialised once here
    for every connection of the room, and ``view``: the range of sequence numbers (``after``, ``seq``)
    and what each server process's ``RoomView`` needs to follow the auction (the engine state and the
    references of the accepted bids; never sent on)."""
    state = changing_state(public_state(auction))
    now = _iso(timezone.now())
    if len(frames) == 1:
        frame = {"type": "event", "server_time": now, "state": state, **frames[0]}
    else:
        frame = {"type": "events", "seq": frames[-1]["seq"], "server_time": now, "events": frames, "state": state}
    view = {"after": frames[0]["seq"] - 1, "seq": auction.last_seq, "state": auction.state.to_json(),
            "bids": [[b.bidder.number, b.client_ref, b.seq, b.amount_fen] for b in bids]}
    # nothing else: each connection of the room decodes the message (channels-redis), so the events and
    # the state travel once, inside ``text`` (read back by ``frame_events`` when a connection needs them)
    return {"type": "auction.events", "view": view, "text": json.dumps(frame, ensure_ascii=False, separators=(",", ":"))}


def frame_events(text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The events and the state's changing fields of a frame made by ``events_message``."""
    frame = json.loads(text)
    if frame["type"] == "event":
        return [{k: frame[k] for k in ("seq", "kind", "data", "at")}], frame["state"]
    return frame["events"], frame["state"]


@dataclasses.dataclass
class RoomView:
    """What one server process knows of an auction's committed state: THE one cache of this app
    (consumers keep one per auction, docs/auction.md). It is read from the database once (``load``),
    then kept current by the room's group messages (``follow``), contiguously: a message that does
    not follow on from it (lost, overtaken) makes it useless, and it is read again.

    It answers, without the database, only what no later state can change (``settle``): a
    reference the bidder already used (its original outcome: every accepted bid up to ``seq`` is in
    ``accepted``), and the engine's ``final_refusal`` (too low, closed). Such a refusal can never
    wrong a re-sent bid: had its original been accepted after ``seq``, it was accepted against a
    state at least as new, whose minimum is at least this one's, so it is not too low here."""

    seq: int
    config: E.Config
    state: E.State
    accepted: dict[tuple[str, str], tuple[int, int]]  # (number, client_ref) → (seq, amount_fen)

    @classmethod
    def load(cls, auction_id: int) -> RoomView:
        """One statement, so one snapshot: the auction and every accepted bid."""
        conn = connections[DEFAULT_DB_ALIAS]
        q = conn.ops.quote_name
        rows = sql.fetch_all([sql.Statement(
            f"SELECT {_columns(Auction, 'a', conn.vendor)}, n.number, b.client_ref, b.seq, b.amount_fen "
            f"FROM {q(Auction._meta.db_table)} a LEFT JOIN {q(AuctionBid._meta.db_table)} b ON b.auction_id = a.id "
            f"LEFT JOIN {q(BidderNumber._meta.db_table)} n ON n.id = b.bidder_id WHERE a.id = %s", (auction_id,))])
        if not rows:
            raise NotFound(_("no such auction"))
        k = len(Auction._meta.concrete_fields)
        a = _instance(Auction, rows[0][:k], conn)
        return cls(a.last_seq, a.config, a.state,
                   {(number, ref): (seq, amount) for number, ref, seq, amount in (r[k:] for r in rows) if ref is not None})

    def follow(self, view: dict[str, Any]) -> bool:
        """Apply a group message's ``view``; False if it does not follow on (this view is stale)."""
        if view["seq"] <= self.seq:
            return True  # already known (each connection of the process hands the message in)
        if view["after"] != self.seq:
            return False
        self.seq, self.state = view["seq"], E.State.from_json(view["state"])
        for number, ref, seq, amount in view["bids"]:
            self.accepted[(number, ref)] = (seq, amount)
        return True

    def settle(self, number: str, ref: str, amount_fen: int) -> BidAnswer | None:
        before = self.accepted.get((number, ref))
        if before is not None:
            return BidAnswer(True, E.REPLAYED, str(M.REPLAYED), before[0], before[1], number, replayed=True)
        refusal = E.final_refusal(self.config, self.state, number, amount_fen)
        if refusal is None:
            return None
        return BidAnswer(False, refusal.code, M.decision(refusal), number=number,
                         minimum_fen=E.minimum_bid(self.config, self.state))


def broadcast(auction_id: int, message: dict[str, Any]) -> None:
    """Notify the room (after commit). Losing this message loses nothing: clients resync.
    Inside the ASGI server the send is handed to the event loop without blocking the worker thread."""
    try:
        import asyncio
        import os

        from asgiref.sync import SyncToAsync, async_to_sync
        from channels.layers import get_channel_layer

        layer = get_channel_layer(LAYER_ALIAS)
        if layer is None:
            return
        local = SyncToAsync.threadlocal
        loop = getattr(local, "main_event_loop", None)
        if loop is not None and getattr(local, "main_event_loop_pid", None) == os.getpid() and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(layer.group_send(group_name(auction_id), message), loop)
            future.add_done_callback(log_failed_broadcast)
        else:
            async_to_sync(layer.group_send)(group_name(auction_id), message)
    except Exception:  # the database is the truth; a lost notification is repaired by resync
        log.exception("broadcast of auction %s failed", auction_id)


def log_failed_broadcast(future) -> None:
    """Done-callback of a send to the room's group: a failure is logged (clients resync by seq)."""
    if not future.cancelled() and future.exception() is not None:
        log.error("auction broadcast failed: %s", future.exception())


# ---------------------------------------------------------------------------------------------
# staff actions
# ---------------------------------------------------------------------------------------------

def schedule_auction(*, lot: Lot, actor: User, reserve_fen: int = 0, closing_rule: str = "",
                     starting_price_fen: int | None = None, increment_fen: int | None = None,
                     max_jump: int | None = None, live_duration_s: int | None = None,
                     countdown_s: int | None = None, window_s: int | None = None) -> Auction:
    """Set up the auction / listing of a sale lot: configuration from the rules table and the
    project's choice; the reserve is sealed (only its commitment is public) until the result."""
    require_staff_of(actor, lot.project)
    rule = lot.rule
    if rule.path not in (E.MODE_AUCTION, E.MODE_LISTING):
        raise Conflict(_("lot %(number)s is sold by %(path)s, not by auction or listing"), number=lot.number, path=rule.path)
    mode = rule.path
    closing_rule = closing_rule or lot.closing_rule or (rule.auction_closing_rules or (E.RULE_COUNTDOWN,))[0]
    if closing_rule not in rule.auction_closing_rules:
        raise Invalid(_("closing rule %(closing_rule)r is not allowed here; allowed: %(auction_closing_rules)s"), closing_rule=closing_rule, auction_closing_rules=', '.join(rule.auction_closing_rules), field="closing_rule")
    if countdown_s is None:
        countdown_s = rule.auction_countdown_seconds if closing_rule == E.RULE_COUNTDOWN else rule.auction_soft_close_seconds
    window_s = rule.auction_soft_close_seconds if window_s is None else window_s
    live_duration_s = live_duration_s or (countdown_s if closing_rule == E.RULE_COUNTDOWN else 3600)
    starting = lot.estimate_fen if starting_price_fen is None else starting_price_fen
    increment = lot.increment_fen if increment_fen is None else increment_fen
    max_jump = rule.auction_max_jump_increments if max_jump is None else max_jump
    for name, value in (("reserve_fen", reserve_fen), ("starting_price_fen", starting), ("increment_fen", increment),
                        ("max_jump", max_jump), ("live_duration_s", live_duration_s), ("countdown_s", countdown_s),
                        ("window_s", window_s)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(_("%(name)s must be an integer"), name=name, field=name)
    try:
        config = E.Config(mode=mode, starting_price_fen=starting, increment_fen=increment, max_jump=max_jump,
                          reserve_fen=reserve_fen, closing_rule=closing_rule, live_duration_s=live_duration_s,
                          countdown_s=countdown_s, window_s=window_s)
    except E.ConfigError as exc:
        raise translated(Invalid, exc, M.CONFIG) from None
    if mode == E.MODE_LISTING:
        start_at, end_at = lot.listing_start, lot.listing_end
        if start_at is None or end_at is None:
            raise Invalid(_("the lot has no listing period"), field="listing_start")
        if (end_at - start_at) < dt.timedelta(days=rule.listing_min_days):
            raise Invalid(_("the listing must last at least %(listing_min_days)s days"), listing_min_days=rule.listing_min_days, field="listing_end")
    else:
        start_at, end_at = lot.auction_start, None
        if start_at is None:
            raise Invalid(_("the lot has no auction start time"), field="auction_start")
    now = timezone.now()
    with transaction.atomic():
        lot = Lot.objects.select_for_update().select_related("project").get(pk=lot.pk)
        if lot.status not in (LotStatus.PUBLISHED, LotStatus.AUCTION_SCHEDULED, LotStatus.LISTING):
            raise Conflict(_("cannot schedule an auction for a lot that is %(status)s"), status=lot.status)
        if Auction.objects.filter(lot=lot).exists():
            raise Conflict(_("lot %(number)s already has its auction"), number=lot.number)
        if start_at <= now:
            raise Conflict(_("the start time has already passed; amend the lot's schedule first"))
        state = E.initial_state(config, start_at=start_at, end_at=end_at)
        salt = secrets.token_hex(16)
        auction = Auction(lot=lot, mode=mode, starting_price_fen=starting, increment_fen=increment, max_jump=max_jump,
                          reserve_fen=reserve_fen, reserve_salt=salt, reserve_commitment=_commitment(reserve_fen, salt),
                          closing_rule=closing_rule, live_duration_s=live_duration_s, countdown_s=countdown_s,
                          window_s=window_s, scheduled_by=actor, created_at=now)
        auction.set_state(state)
        auction.save()
        audit.record(action="auction.schedule", subject=f"auction:{auction.pk}", actor=actor,
                     project_id=lot.project_id, at=now,
                     payload={"auction": auction.pk, "lot": lot.pk, "mode": mode, "starting_price_fen": starting,
                              "increment_fen": increment, "max_jump": max_jump, "closing_rule": closing_rule,
                              "live_duration_s": live_duration_s, "countdown_s": countdown_s, "window_s": window_s,
                              "start_at": _iso(start_at), "end_at": _iso(state.end_at),
                              "has_reserve": reserve_fen > 0, "reserve_commitment": auction.reserve_commitment})
        audit.record(action="auction.reserve", subject=f"auction:{auction.pk}", actor=actor,
                     project_id=lot.project_id, visibility="sealed", at=now,
                     payload={"auction": auction.pk, "reserve_fen": reserve_fen, "salt": salt})
        _admit_bidders(auction, now)  # the bidders qualified so far; the others at the opening
    return auction


def _suspension_refusal(project_id: int) -> str | None:
    from trading.challenges.services import suspension_refusal

    return suspension_refusal(project_id)


def _check_running(auction: Auction) -> None:
    message = _suspension_refusal(auction.lot.project_id)
    if message is not None:
        raise BidRefused(SUSPENDED, message)


SUSPENSION_PAUSE = "项目暂停 project suspended"


def on_suspend(*, project_id: int, now: dt.datetime, reason: str) -> None:
    """SUNLIGHT_SUSPEND_HOOKS: the project was suspended (inside that transaction): its auctions still to open
    or running are paused by the engine (their clocks stop: the end moves by the paused time on resuming)."""
    for auction_id in Auction.objects.filter(lot__project_id=project_id, phase__in=[
            E.PHASE_SCHEDULED, E.PHASE_LISTING, E.PHASE_LIVE]).values_list("pk", flat=True):
        auction = _locked(auction_id)
        out = E.apply(auction.config, auction.state, E.Pause(f"{SUSPENSION_PAUSE}: {reason}"[:300]), now)
        if out.decision.accepted:
            auction.pause_reason = SUSPENSION_PAUSE
        _persist(auction, out, actor=None, now=now)  # also what the clock had made due before the pause


def on_resume(*, project_id: int, after: dt.datetime, delta: dt.timedelta) -> None:
    """SUNLIGHT_RESUME_HOOKS: the suspension was lifted: the auctions it paused resume with the time they had
    left (the engine moves their opening and end by the paused time)."""
    now = timezone.now()
    for auction_id in Auction.objects.filter(lot__project_id=project_id, phase=E.PHASE_PAUSED,
                                             pause_reason=SUSPENSION_PAUSE).values_list("pk", flat=True):
        auction = _locked(auction_id)
        out = E.apply(auction.config, auction.state, E.Resume(), now)
        if out.decision.accepted:
            auction.pause_reason = ""
            _persist(auction, out, actor=None, now=now)


def pause_auction(*, auction: Auction | int, actor: User, reason: str) -> Auction:
    """Suspend trading (e.g. the electronic system failed); the end moves by the paused time."""
    with transaction.atomic():
        auction = _locked(auction)
        require_staff_of(actor, auction.lot.project)
        _check_running(auction)
        now = timezone.now()
        out = E.apply(auction.config, auction.state, E.Pause(reason), now)
        if not out.decision.accepted:
            raise BidRefused(out.decision.code, M.decision(out.decision))
        auction.pause_reason = reason.strip()
        _persist(auction, out, actor=actor, now=now)
    return auction


def resume_auction(*, auction: Auction | int, actor: User) -> Auction:
    with transaction.atomic():
        auction = _locked(auction)
        require_staff_of(actor, auction.lot.project)
        _check_running(auction)  # the supervisor's suspension is lifted by the supervisor, not here
        now = timezone.now()
        out = E.apply(auction.config, auction.state, E.Resume(), now)
        if not out.decision.accepted:
            raise BidRefused(out.decision.code, M.decision(out.decision))
        auction.pause_reason = ""
        _persist(auction, out, actor=actor, now=now)
    return auction


# ---------------------------------------------------------------------------------------------
# bidders: numbers (竞买号) are given at admission, never while bidding
# ---------------------------------------------------------------------------------------------

def _admit_bidders(auction: Auction, now: dt.datetime) -> None:
    """Admission: a number for every registered bidder whose security is confirmed, in random order.
    Run when the auction is scheduled and again at its opening (admission closes there: a bidder
    who qualifies later is not admitted). Bidding only ever reads numbers."""
    from bidding.models import Registration

    for reg in Registration.objects.filter(lot=auction.lot, status="active").select_related("bidder").order_by("?"):
        _assign_number(auction, reg.bidder, now)


def _assign_number(auction: Auction, organisation: Organisation, now: dt.datetime) -> None:
    if BidderNumber.objects.filter(auction=auction, organisation=organisation).exists():
        return
    if not is_secured(organisation, auction.lot):
        return
    bn = BidderNumber.objects.create(auction=auction, organisation=organisation, number=_new_number(auction),
                                     assigned_at=now)
    # who holds which number stays sealed until the result
    audit.record(action="auction.number", subject=f"auction:{auction.pk}", actor=None,
                 project_id=auction.lot.project_id, visibility="sealed", at=now,
                 payload={"auction": auction.pk, "lot": auction.lot_id, "organisation": organisation.pk,
                          "number": bn.number})


def number_for(*, auction: Auction | int, user: User | None) -> BidderNumber | None:
    """The bidder's number in this auction, if it was admitted (a read: numbers are never made here)."""
    if user is None or role_of(user) != "bidder" or user.organisation_id is None:
        return None
    auction_id = auction.pk if isinstance(auction, Auction) else auction
    return BidderNumber.objects.filter(auction_id=auction_id, organisation_id=user.organisation_id).first()




# ---------------------------------------------------------------------------------------------
# the one write path of bids
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class BidRequest:
    user: User
    amount_fen: int
    client_ref: str
    via: str = "ws"
    # who bid from where (network address, client), kept with the bid for the batch's audit event: the current
    # request's by default (HTTP), the websocket's connection for a socket bid (audit.context.captured)
    context: dict[str, Any] = dataclasses.field(default_factory=lambda: audit_context.captured(), compare=False)


@dataclasses.dataclass(frozen=True)
class BidAnswer:
    """One bid's answer. ``replayed``: the reference was used before; the answer is that bid's
    original outcome (its ``seq``, amount and number), nothing was judged or written again."""

    accepted: bool
    code: str
    message: str
    seq: int | None = None
    amount_fen: int = 0
    number: str | None = None
    minimum_fen: int | None = None
    state: dict[str, Any] | None = None
    replayed: bool = False




def precheck(req: BidRequest) -> BidAnswer | None:
    amount = req.amount_fen
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        return BidAnswer(False, E.INVALID_AMOUNT, str(M.INVALID_AMOUNT))
    if not req.client_ref or len(req.client_ref) > 64:
        return BidAnswer(False, E.MALFORMED, str(M.NEEDS_REF))
    if role_of(req.user) != "bidder" or req.user.organisation_id is None:
        return BidAnswer(False, E.NOT_A_BIDDER, str(M.NOT_A_BIDDER))
    return None


@functools.lru_cache(maxsize=64)
def _columns(model: type[Model], alias: str, vendor: str) -> str:
    """The model's columns in the order of its fields (a row read with them is what ``_instance`` takes);
    fixed for a model, so made once (like ``audit.sql``'s shapes)."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column or f.attname)}" for f in model._meta.concrete_fields)


def _instance(model: type[M_], values: Sequence[Any], conn: Any) -> M_:
    """The instance of a row read by ``_columns``, each value converted by the backend's and the field's own
    converters, as the ORM converts it (JSON decoded, ...), without compiling a query (``QuerySet.raw`` resolves
    the columns and the converters of every row anew: measured, most of the bid path's Python)."""
    values, fields = list(values), model._meta.concrete_fields
    for i in _converted(model, conn.vendor):
        col = fields[i].cached_col
        for convert in (*conn.ops.get_db_converters(col), *fields[i].get_db_converters(conn)):
            values[i] = convert(values[i], col, conn)
    return model.from_db(conn.alias, _attnames(model), values)


@functools.lru_cache(maxsize=64)
def _converted(model: type[Model], vendor: str) -> tuple[int, ...]:
    """Which of the model's columns the backend or the field converts when read (on PostgreSQL: the JSON
    fields); fixed for a model and a backend, so found once."""
    conn = connections[DEFAULT_DB_ALIAS]
    return tuple(i for i, f in enumerate(model._meta.concrete_fields)
                 if conn.ops.get_db_converters(f.cached_col) or f.get_db_converters(conn))


@functools.lru_cache(maxsize=64)
def _attnames(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


@functools.lru_cache(maxsize=64)
def _read_statements(orgs: int, refs: int, lock: bool, vendor: str, seen: bool = False
                     ) -> tuple[str, str | None, tuple[Any, ...]]:
    """The texts of the bid path's read for so many organisations and references (with ``lock``: the
    statement taking the auction's row lock, run first on PostgreSQL; with ``seen``, only if the auction is
    still at the sequence number read before) and the read's constant parameters (the suspension rule's):
    fixed for a shape, so made once, and the same text each time (prepared once)."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    table, lots = quote(Auction._meta.db_table), quote(Lot._meta.db_table)
    numbers, bids = quote(BidderNumber._meta.db_table), quote(AuctionBid._meta.db_table)
    project, suspended = "", ()
    if lock:  # the project, and whether it is suspended (trading.challenges' rule), in the same statement
        from trading.challenges.services import suspended_projects_sql

        sql_, suspended = suspended_projects_sql()
        project = (f", (SELECT project_id FROM {lots} WHERE id = a.lot_id), "
                   f"EXISTS (SELECT 1 FROM {lots} l WHERE l.id = a.lot_id AND l.project_id IN ({sql_}))")
    read = (f"SELECT {_columns(Auction, 'a', vendor)}, n.id, n.organisation_id, n.number, b.client_ref, b.seq, "
            f"b.amount_fen{project} FROM {table} a "
            f"LEFT JOIN {numbers} n ON n.auction_id = a.id AND n.organisation_id IN ({', '.join(['%s'] * orgs) or 'NULL'}) "
            f"LEFT JOIN {bids} b ON b.bidder_id = n.id AND b.client_ref IN ({', '.join(['%s'] * refs) or 'NULL'}) "
            f"WHERE a.id = %s")
    locking = None
    if lock and vendor == "postgresql":
        locking = f"SELECT 1 FROM {table} WHERE id = %s{' AND last_seq = %s' if seen else ''} FOR UPDATE"
    return read, locking, tuple(suspended)


def _read(auction_id: int, org_ids: list[int], refs: list[str], *, lock: bool, seen: int | None = None
          ) -> tuple[Auction, dict[int, BidderNumber], dict[tuple[int, str], AuctionBid]]:
    """The auction, the numbers of these organisations, and the bids they already made with these
    references. With ``lock``, under the auction's row lock: on PostgreSQL one round trip of two
    statements, the lock first, then the read, which (READ COMMITTED) takes its snapshot once the
    lock is held and so sees every batch committed before this one; and the lot's project and whether
    it is suspended (``vars(auction)``: ``lot_project_id``, ``lot_suspended``).
    With ``seen`` (the ``last_seq`` of a read before), the lock is taken only if the auction is still at
    ``seen`` once the transactions ahead of this one have committed (``FOR UPDATE`` checks the row again
    then); else the read is of the newer committed state, without the lock: ``_holds_lock`` tells which."""
    conn = connections[DEFAULT_DB_ALIAS]
    read, locking, suspended = _read_statements(len(org_ids), len(refs), lock, conn.vendor, seen is not None)
    statements = [sql.Statement(read, (*suspended, *org_ids, *refs, auction_id))]
    if locking is not None:
        statements.insert(0, sql.Statement(locking, (auction_id,) if seen is None else (auction_id, seen)))
    rows = sql.fetch_all(statements)
    if not rows:
        raise NotFound(_("no such auction"))
    k = len(Auction._meta.concrete_fields)
    auction = _instance(Auction, rows[0][:k], conn)
    if lock:
        vars(auction).update(zip(("lot_project_id", "lot_suspended"), rows[0][k + 6:k + 8]))
    admitted: dict[int, BidderNumber] = {}
    done: dict[tuple[int, str], AuctionBid] = {}
    for n_id, n_org, n_number, b_ref, b_seq, b_amount in (r[k:k + 6] for r in rows):
        if n_id is not None:
            admitted[n_org] = BidderNumber(id=n_id, auction_id=auction_id, organisation_id=n_org, number=n_number)
        if b_ref is not None:
            done[(n_id, b_ref)] = AuctionBid(seq=b_seq, amount_fen=b_amount, client_ref=b_ref)
    return auction, admitted, done


def _retryable(exc: BaseException) -> bool:
    """A transaction the database rolled back to resolve a conflict (SQLSTATE class 40:
    serialization failure, deadlock), which may simply be run again."""
    import psycopg2.errors

    return isinstance(exc.__cause__, psycopg2.errors.TransactionRollback)


def place_bids(*, auction: Auction | int, requests: list[BidRequest]) -> list[BidAnswer]:
    """THE write path of bids, for the websocket and HTTP alike: a batch decided in its order of
    arrival, each bid by the pure engine, in one transaction under the auction's row lock (the
    database serialises every writer of the auction; see docs/auction.md). Accepted bids get
    consecutive sequence numbers and their own audit events; the room hears of them after commit.
    A reference the bidder used before for an accepted bid is answered ``replayed`` with that bid's
    original outcome. Refused bids change nothing.

    First, one read without the lock answers what the committed state already settles for good
    (``_settled``); only the other bids wait for the lock, and take it only if the auction is still as that
    read found it (else they are judged on the newer state, and only a bid still acceptable there is decided
    again, under the lock: ``_decide_bids``). (Kept for the socket too, although its
    ``RoomView`` has asked the same: read later, when the bid's turn in the pool comes, the committed state
    has often moved on, and a storm's too-low bids then stay out of the lock -- bench/auction.py (a).)"""
    auction_id = auction.pk if isinstance(auction, Auction) else int(auction)
    early = [precheck(r) for r in requests]
    early, final, seen = _settled(auction_id, requests, early)
    if all(a is not None for a in early):
        return _with_state(early, final)
    for attempt in range(MOVED_ON_ROUNDS + 2):
        try:
            # the last rounds wait for the lock whatever the auction's sequence number then
            return _decide_bids(auction_id, requests, early, seen=seen if attempt < MOVED_ON_ROUNDS else None)
        except _MovedOn as moved:
            seen = moved.seq
        except (IntegrityError, OperationalError) as exc:
            if attempt == MOVED_ON_ROUNDS + 1 or not _retryable(exc):
                raise
    raise AssertionError("unreachable")


MOVED_ON_ROUNDS = 3  # how many times a bid still acceptable in a newer state than the one read is decided again


class _MovedOn(Exception):
    """The auction moved on from the state read before the lock, which was therefore not taken, and a bid would
    be accepted in the newer state: decided again, under the lock (nothing was written)."""

    def __init__(self, seq: int):
        super().__init__(seq)
        self.seq = seq


def _arguments(requests: list[BidRequest], answers: list[BidAnswer | None]) -> tuple[list[int], list[str]]:
    live = [r for r, a in zip(requests, answers) if a is None]
    return sorted({r.user.organisation_id or 0 for r in live}), sorted({r.client_ref for r in live})


def _settled(auction_id: int, requests: list[BidRequest], answers: list[BidAnswer | None]
             ) -> tuple[list[BidAnswer | None], dict[str, Any] | None, int | None]:
    """Answers no later state can change, from one read of the committed state without the lock:
    a reference already used (accepted bids are never removed: ``replayed``, the original outcome)
    and the engine's ``final_refusal`` (too low for a minimum that never decreases, closed);
    and the ``last_seq`` read."""
    answers = list(answers)
    if all(a is not None for a in answers):
        return answers, None, None
    auction, admitted, done = _read(auction_id, *_arguments(requests, answers), lock=False)
    config, state = auction.config, auction.state
    for i, req in enumerate(requests):
        bidder = admitted.get(req.user.organisation_id or 0)
        if answers[i] is not None or bidder is None:
            continue
        before = done.get((bidder.pk, req.client_ref))
        if before is not None:
            answers[i] = _replayed(before, bidder)
        elif (refusal := E.final_refusal(config, state, bidder.number, req.amount_fen)) is not None:
            answers[i] = BidAnswer(False, refusal.code, M.decision(refusal), number=bidder.number,
                                   minimum_fen=E.minimum_bid(config, state))
    # the state goes with accepted answers (HTTP receipts), here only replayed ones
    final = public_state(auction, state) if any(a is not None and a.accepted for a in answers) else None
    return answers, final, auction.last_seq


def _replayed(before: AuctionBid, bidder: BidderNumber) -> BidAnswer:
    return BidAnswer(True, E.REPLAYED, str(M.REPLAYED), before.seq, before.amount_fen, bidder.number, replayed=True)


def _decide_bids(auction_id: int, requests: list[BidRequest], early: list[BidAnswer | None], *,
                 seen: int | None = None) -> list[BidAnswer]:
    """The bids not settled before, decided under the auction's row lock. With ``seen`` the lock is taken only
    if the auction is still as it was read before; if it moved on (a bid of another bidder committed while this
    one waited for the lock), the bids are judged on the newer committed state without holding the lock, so that
    the refusals (most of a storm's: too low by now) do not keep every other writer waiting through their commit;
    a bid that would be accepted raises ``_MovedOn`` before anything is written (decided again under the lock)."""
    with transaction.atomic():
        auction, admitted, done = _read(auction_id, *_arguments(requests, early), lock=True, seen=seen)
        # locked: the lock statement found the row at ``seen`` (a newer read is never at ``seen``: seq only grows)
        locked = seen is None or auction.last_seq == seen or connections[DEFAULT_DB_ALIAS].vendor != "postgresql"
        now = timezone.now()
        config, state = auction.config, auction.state
        rows = _Rows()
        answers = list(early)
        suspended = _suspension_refusal(_project_id(auction)) if vars(auction)["lot_suspended"] else None
        if suspended is not None:  # nothing is judged or written while the project is suspended
            answers = [a if a is not None else BidAnswer(False, SUSPENDED, suspended) for a in answers]
        for i, req in enumerate(requests):
            if answers[i] is not None:
                continue
            bidder = admitted.get(req.user.organisation_id or 0)
            if bidder is None:
                answers[i] = BidAnswer(False, E.NO_SECURITY, str(M.NOT_ADMITTED))
                continue
            before = done.get((bidder.pk, req.client_ref))
            if before is not None:
                answers[i] = _replayed(before, bidder)
                continue
            out = E.apply(config, state, E.Bid(bidder.number, req.amount_fen), now)
            if not out.decision.accepted:  # changes nothing (what the clock made due, the clock writes)
                answers[i] = BidAnswer(False, out.decision.code, M.decision(out.decision), number=bidder.number,
                                       minimum_fen=E.minimum_bid(config, state))
                continue
            if not locked:
                raise _MovedOn(auction.last_seq)
            frames = _write_events(auction, out, rows, actor=req.user, now=now, bidder=bidder,
                                   client_ref=req.client_ref, via=req.via, context=req.context)
            seq = next(f["seq"] for f in frames if f["kind"] in SIDE_EFFECT_FREE)
            answers[i] = BidAnswer(True, E.OK, M.decision(out.decision), seq, req.amount_fen, bidder.number)
            done[(bidder.pk, req.client_ref)] = AuctionBid(seq=seq, amount_fen=req.amount_fen)
            state = out.state
        if rows.frames:
            _finish(auction, rows)
    return _with_state(answers, public_state(auction, state))  # after commit: the lock is released


def _with_state(answers: list[BidAnswer | None], state: dict[str, Any] | None) -> list[BidAnswer]:
    """The batch's answers, each decided by now, with the state after the batch."""
    out = []
    for a in answers:
        assert a is not None
        out.append(a if a.state is state else dataclasses.replace(a, state=state))
    return out


def place_bid(*, auction: Auction | int, user: User, amount_fen: int, client_ref: str, via: str = "ws") -> BidReceipt:
    """One bid through ``place_bids``. A refused bid raises ``BidRefused`` (the engine's code, the
    message and the minimum now) and changes nothing; a replayed reference returns the original
    receipt with ``replayed`` set."""
    (answer,) = place_bids(auction=auction, requests=[BidRequest(user=user, amount_fen=amount_fen,
                                                                  client_ref=client_ref, via=via)])
    if not answer.accepted:
        raise BidRefused(answer.code, answer.message, minimum_fen=answer.minimum_fen)
    return BidReceipt(True, answer.code, answer.message, answer.seq or 0, answer.amount_fen, answer.number or "",
                      answer.state or {}, replayed=answer.replayed)


def request_live_bidding(*, auction: Auction | int, user: User) -> BidReceipt:
    """Listing: the bidder wants to go on to live bidding at the end of the listing (要求现场竞价)."""
    if role_of(user) != "bidder":
        raise BidRefused(E.NOT_A_BIDDER, M.NOT_A_BIDDER)
    with transaction.atomic():
        auction = _locked(auction)
        now = timezone.now()
        bidder = number_for(auction=auction, user=user)
        if bidder is None:
            raise BidRefused(E.NO_SECURITY, M.NOT_ADMITTED)
        out = E.apply(auction.config, auction.state, E.Continue(bidder.number), now)
        if not out.decision.accepted:
            raise BidRefused(out.decision.code, M.decision(out.decision))
        frames = _persist(auction, out, actor=user, now=now)
        return BidReceipt(True, E.OK, M.decision(out.decision), frames[-1]["seq"], 0, bidder.number,
                          public_state(auction))


# ---------------------------------------------------------------------------------------------
# the clock
# ---------------------------------------------------------------------------------------------

def _due_filter(now: dt.datetime) -> Q:
    return (Q(phase=E.PHASE_SCHEDULED, start_at__lte=now)
            | Q(phase__in=[E.PHASE_LISTING, E.PHASE_LIVE], end_at__lte=now))


def advance_auction(*, auction: Auction | int, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Apply the clock to one auction (opening, listing end, closing) — exactly once: the row is
    taken with SKIP LOCKED and the engine's state guard makes a second run a no-op."""
    auction_id = auction.pk if isinstance(auction, Auction) else auction
    with transaction.atomic():
        now = _now(now)
        row = (Auction.objects.select_for_update(of=("self",), skip_locked=True).select_related("lot__project")
               .filter(_due_filter(now), pk=auction_id).first())
        if row is None:
            return []
        out = E.apply(row.config, row.state, E.Tick(), now)
        if not out.events:
            return []
        return _persist(row, out, actor=None, now=now)


def tick(now: dt.datetime | None = None) -> int:
    """SUNLIGHT_CLOCK_TICKS entry: advance every due auction. Returns how many changed."""
    now = _now(now)
    fired = 0
    for auction_id in Auction.objects.filter(_due_filter(now)).values_list("id", flat=True):
        try:
            if advance_auction(auction=auction_id, now=now):
                fired += 1
        except DomainError as exc:
            log.warning("auction %s could not advance: %s", auction_id, exc)
    return fired


# ---------------------------------------------------------------------------------------------
# after the deal: the transaction confirmation (成交确认书) and the contract
# ---------------------------------------------------------------------------------------------

def _locked_sale_lot(auction: Auction | int) -> tuple[Auction, Lot]:
    """The auction and its lot, the lot row locked (every lifecycle step of the lot takes this lock)."""
    auction_id = auction.pk if isinstance(auction, Auction) else auction
    try:
        lot_id = Auction.objects.values_list("lot_id", flat=True).get(pk=auction_id)
    except (Auction.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("no such auction")) from None
    lot = Lot.objects.select_for_update().select_related("project", "project__owner", "project__centre").get(pk=lot_id)
    return Auction.objects.get(pk=auction_id), lot


def issue_confirmation(*, actor: User, auction: Auction | int) -> Confirmation:
    """Issue the transaction confirmation (成交确认书) of a dealt auction or listing: a document generated from the
    auction record, signed by the centre by committing its SHA-256 in the ``auction.confirmation`` audit event and
    published with the result (成交公示). It fixes the date by which the contract is signed (the rules table's
    ``sale_contract_working_days``, ending 24:00 Beijing time of the last day). Staff of the lot's centre, once."""
    from bidding.auction import confirmation as C
    from trading.challenges.clocks import end_of, local_day
    from trading.services import publish_notice
    from trading.workdays import add_working_days

    with transaction.atomic():
        auction, lot = _locked_sale_lot(auction)
        require_staff_of(actor, lot.project)
        if Confirmation.objects.filter(auction=auction).exists():
            raise Conflict(_("the transaction confirmation (成交确认书) of this lot is already issued"))
        if lot.status != LotStatus.AWARDED or auction.outcome != E.OUTCOME_DEAL:
            raise Conflict(_("a transaction confirmation is issued for an awarded lot after a deal (lot is %(status)s)"), status=lot.status)
        winner = BidderNumber.objects.select_related("organisation").get(auction=auction, number=auction.leader)
        now = timezone.now()
        rule = lot.rule
        due_day = add_working_days(local_day(now), rule.sale_contract_working_days)
        project = lot.project
        doc = C.document(
            project={"code": project.code, "title": project.title}, lot={"number": lot.number, "title": lot.title},
            transferor=project.owner.name, centre=project.centre.name,
            winner={"name": winner.organisation.name, "credit_code": winner.organisation.credit_code,
                    "number": winner.number},
            price_fen=auction.price_fen, price=format_fen(auction.price_fen),
            closed_at=_iso(auction.end_at), issued_at=_iso(now), contract_due_on=due_day.isoformat(),
            security_converted_fen=lot.security_fen, security_converted=format_fen(lot.security_fen),
            basis={k: rule.basis.get(k, "") for k in ("confirmation", "sale_contract", "sale_deposits", "result_publicity")},
        )
        digest = C.digest(doc)
        notice = publish_notice(
            actor=actor, project=project, kind="result", lot=lot,
            title=f"{project.title} 第{lot.number}标的 成交确认书", body=C.body(doc, digest),
            data={"auction": auction.pk, "confirmation_sha256": digest, "winner_organisation": winner.organisation_id,
                  "price_fen": auction.price_fen, "contract_due_on": due_day.isoformat()})
        conf = Confirmation.objects.create(
            auction=auction, lot=lot, winner=winner.organisation, number=winner.number, price_fen=auction.price_fen,
            closed_at=auction.end_at, issued_at=now, issued_by=actor, contract_due=end_of(due_day), document=doc,
            sha256=digest, notice=notice)
        audit.record(action="auction.confirmation", subject=f"auction:{auction.pk}", actor=actor,
                     project_id=lot.project_id, at=now,
                     payload={"auction": auction.pk, "lot": lot.pk, "confirmation": conf.pk, "sha256": digest,
                              "winner_organisation": winner.organisation_id, "number": winner.number,
                              "price_fen": auction.price_fen, "issued_at": _iso(now),
                              "contract_due": _iso(conf.contract_due), "notice": notice.number})
    return conf


def record_sale_contract(*, actor: User, auction: Auction | int, signed_on: dt.date, amount_fen: int,
                         documents: list[dict] | None = None) -> SaleContract:
    """Record the signed contract (出让合同 / 产权交易合同) of a confirmed deal: the date, the amount (the
    confirmation's price) and the signed document's SHA-256, within the period the confirmation fixed. The lot
    moves ``awarded → contracted`` through the one lifecycle; the clock completes it once the deposits are settled
    (the winner's kept toward the price at the result, the others refunded)."""
    from trading.inputs import document_hashes
    from trading.services import publish_notice, transition_lot

    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise Invalid(_("the contract amount must be positive"), field="amount")
    docs = document_hashes(documents, field="documents", required=True)
    with transaction.atomic():
        auction, lot = _locked_sale_lot(auction)
        require_staff_of(actor, lot.project)
        if lot.status != LotStatus.AWARDED:
            raise Conflict(_("a contract is recorded for an awarded lot (lot is %(status)s)"), status=lot.status)
        conf = Confirmation.objects.filter(auction=auction).select_related("winner").first()
        if conf is None:
            raise Conflict(_("issue the transaction confirmation (成交确认书) before recording the contract"))
        if SaleContract.objects.filter(confirmation=conf).exists():
            raise Conflict(_("the contract of this lot is already recorded"))
        now = timezone.now()
        if now > conf.contract_due:
            raise Conflict(_("the period to sign the contract ended %(value)s (%(value2)s); the deal is now for the supervisors and the deposit rules (forfeit), not for a contract"), value=_iso(conf.contract_due), value2=lot.rule.basis.get('sale_contract', ''))
        if signed_on < timezone.localdate(conf.issued_at) or signed_on > timezone.localdate(now):
            raise Invalid(_("the signing date must be between the confirmation and today"), field="signed_on")
        if amount_fen != conf.price_fen:
            raise Invalid(_("the contract price must be the confirmed price %(price_fen)s (成交确认书对出让人和竞得人具有法律效力)"), price_fen=format_fen(conf.price_fen), field="amount")
        notice = publish_notice(
            actor=actor, project=lot.project, kind="result", lot=lot,
            title=f"{lot.project.title} 第{lot.number}标的 合同签订公告",
            body=f"竞得人：{conf.winner.name}；合同金额：{format_fen(amount_fen)} 元；签订日期：{signed_on.isoformat()}；"
                 f"成交确认书 SHA-256：{conf.sha256}。",
            data={"auction": auction.pk, "sale_contract": True, "winner_organisation": conf.winner_id,
                  "amount_fen": amount_fen, "signed_on": signed_on.isoformat(), "documents": docs,
                  "confirmation_sha256": conf.sha256})
        contract = SaleContract.objects.create(confirmation=conf, lot=lot, signed_on=signed_on, amount_fen=amount_fen,
                                               documents=docs, recorded_by=actor, recorded_at=now, notice=notice)
        audit.record(action="auction.contract", subject=f"auction:{auction.pk}", actor=actor, project_id=lot.project_id,
                     at=now, payload={"auction": auction.pk, "lot": lot.pk, "contract": contract.pk,
                                      "confirmation": conf.pk, "signed_on": signed_on.isoformat(),
                                      "amount_fen": amount_fen, "documents": docs, "recorded_at": _iso(now),
                                      "notice": notice.number})
        # the contract hook (deposits.hooks.on_contract) settles a winner's security still held
        transition_lot(lot=lot, action="sign_contract", actor=actor, payload={"sale_contract": contract.pk})
    return contract


# ---------------------------------------------------------------------------------------------
# remedies of an upheld complaint (settings.SUNLIGHT_CHALLENGE_REMEDIES["auction" / "listing"])
# ---------------------------------------------------------------------------------------------

CANCEL_CODE = "challenge_upheld"


def _sale_auction(lot: Lot) -> Auction | None:
    auction_id = Auction.objects.filter(lot=lot).values_list("pk", flat=True).first()
    return None if auction_id is None else _locked(auction_id)


def _cancel_sale(auction: Auction, *, reason: str) -> None:
    """Close the sale for good as ``cancelled`` through the engine (one event in the room's sequence and the
    audit log, sent to the room on commit); a deal it had is voided (``_void_deal``)."""
    now = timezone.now()
    out = E.apply(auction.config, auction.state, E.Cancel(CANCEL_CODE, reason[:1000]), now)
    if not out.decision.accepted:
        raise Conflict(M.decision(out.decision))
    auction.pause_reason = ""
    _persist(auction, out, actor=None, now=now)


def _terminate(lot: Lot, auction: Auction | None, *, reason: str) -> None:
    """The lot terminated (to be offered again by a new announcement) and the public told: a deal cancelled is
    published as a result notice (成交结果撤销公告: OCDS marks its award cancelled), a sale stopped before its
    result as a termination notice."""
    from trading.services import publish_notice, transition_lot

    # the terminate hook (deposits.hooks.on_fail) refunds every security still held, the former winner's included
    transition_lot(lot=lot, action="terminate", actor=None,
                   reason=f"sale stopped, to be offered again by a new announcement — {reason}")
    project = lot.project
    data: dict[str, Any] = {"auction": auction.pk if auction else None, "outcome": E.OUTCOME_CANCELLED}
    event = auction.events.filter(kind="cancelled").first() if auction else None
    if event is not None and event.data.get("previous_outcome") == E.OUTCOME_DEAL:
        assert auction is not None
        winner = BidderNumber.objects.select_related("organisation").get(auction=auction, number=auction.leader)
        data.update(deal_cancelled=True, winner_organisation=winner.organisation_id, price_fen=auction.price_fen)
        publish_notice(actor=None, project=project, kind="result", lot=lot, data=data,
                       title=f"{project.title} 第{lot.number}标的 成交结果撤销公告",
                       body=f"竞买号 {winner.number}（{winner.organisation.name}）以 {_yuan(auction.price_fen)} 元的成交"
                            f"无效，成交确认书作废；本标的终止，另行公告出让。依据：{reason}")
    else:
        publish_notice(actor=None, project=project, kind="termination", lot=lot, data=data,
                       title=f"{project.title} 第{lot.number}标的 终止公告",
                       body=f"本标的交易终止，另行公告出让。依据：{reason}")


def _check_before_contract(lot: Lot) -> None:
    if lot.status == LotStatus.CONTRACTED or lot.status in lot_lifecycle.FINAL:
        raise Conflict(_("lot %(number)s is %(status)s: the remedy no longer applies to its sale (a signed contract "
                         "is undone by its parties or a court, not by the platform)"), number=lot.number,
                       status=lot.status)


def remedy_cancel_deal(*, lot: Lot, reason: str) -> None:
    """``cancel_award`` on an auction or listing lot (成交无效): the deal is cancelled — the auction's outcome
    becomes ``cancelled`` with the decision as its reason, the confirmation (成交确认书) is voided, the winner's
    security goes back to the deposit rules' state — and the lot is terminated, to be offered again by a new
    announcement (a sale is never re-run on the same lot: its auction record stays as it happened)."""
    _check_before_contract(lot)
    auction = _sale_auction(lot)
    if lot.status != LotStatus.AWARDED or auction is None or auction.outcome != E.OUTCOME_DEAL:
        raise Conflict(_("lot %(number)s (%(status)s) has no deal to cancel; to stop its sale order retender"),
                       number=lot.number, status=lot.status)
    _cancel_sale(auction, reason=reason)
    _terminate(lot, auction, reason=reason)


def remedy_reoffer(*, lot: Lot, reason: str) -> None:
    """``retender`` on an auction or listing lot (重新组织出让/转让): the sale stops at whatever step it is before
    the contract — a scheduled, listing or live auction is closed as ``cancelled``, a deal is cancelled as in
    ``remedy_cancel_deal`` — and the lot is terminated, to be offered again by a new announcement."""
    _check_before_contract(lot)
    auction = _sale_auction(lot)
    if auction is not None and auction.outcome != E.OUTCOME_CANCELLED:
        _cancel_sale(auction, reason=reason)
    _terminate(lot, auction, reason=reason)
