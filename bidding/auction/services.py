"""Business actions of live auctions and listings.

Every action: keyword-only, one ``transaction.atomic()``, the auction row locked with
``select_for_update``, the pure engine decides, the decision's events are persisted with the
gap-free per-auction sequence and recorded in the audit log in the same transaction, and the
websocket broadcast is sent only on commit.  The database is the source of truth.

The hot path, a batch of bids, may instead be decided against the state this process last
committed and written in one round trip that is its own transaction, its first statement a
compare-and-set of the auction row that the database judges (``_decide_on_head``); if the row
moved on, nothing is written and the batch is decided under the lock as above.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import logging
import secrets
import threading
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

import audit
from audit import services as audit_services
from audit import sql
from bidding.auction import engine as E
from bidding.auction.models import Auction, AuctionBid, AuctionEvent, BidderNumber
from trading.errors import Conflict, DomainError, Invalid, NotFound
from trading.models import Lot, Organisation, User
from trading.permissions import require_staff_of, role_of
from audit import timestamps
from trading.money import format_fen

log = logging.getLogger(__name__)

GROUP_PREFIX = "auction-"
# the room's fan-out layer: settings.CHANNEL_LAYERS["auction"] (Redis pub/sub: one PUBLISH per
# event, relayed by each server process to its own connections) when configured, else the default
LAYER_ALIAS = "auction" if "auction" in getattr(settings, "CHANNEL_LAYERS", {}) else "default"


def group_name(auction_id: int) -> str:
    return f"{GROUP_PREFIX}{auction_id}"


# HTTP status per refusal code (the socket answers with the code and the message)
STATUS_FOR_CODE = {
    E.TOO_LOW: 400, E.NOT_MULTIPLE: 400, E.TOO_HIGH: 400, E.INVALID_AMOUNT: 400, E.MALFORMED: 400,
    E.TOO_LARGE: 400, E.REASON_REQUIRED: 400,
    E.NO_SECURITY: 403, E.NOT_A_BIDDER: 403, E.NOT_ELIGIBLE: 403,
    E.NOT_STARTED: 409, E.CLOSED: 409, E.PAUSED: 409, E.ALREADY_HIGHEST: 409, E.WRONG_PHASE: 409,
    E.NOTHING_TO_DO: 409, E.REPLAYED: 409,
}


class BidRefused(DomainError):
    """A refused bid / command: ``code`` is the engine's reason code."""

    def __init__(self, code: str, message: str, *, minimum_fen: int | None = None):
        super().__init__(message)
        self.reason = code
        self.minimum_fen = minimum_fen  # the lowest acceptable amount now, when known
        self.status_code = STATUS_FOR_CODE.get(code, 400)
        self.code = {400: "invalid", 403: "forbidden", 409: "conflict"}.get(self.status_code, "invalid")


@dataclasses.dataclass(frozen=True)
class BidReceipt:
    accepted: bool
    code: str
    message: str
    seq: int
    amount_fen: int
    number: str
    state: dict[str, Any]


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
        raise NotFound("no such auction") from None


def _locked_with_refs(auction_id: int, pairs: list[tuple[int, str]]) -> tuple[Auction, set[tuple[int, str]]]:
    """The hot path of bids, one round trip: the auction row alone, locked, and which of these
    (bidder, client_ref) pairs are already taken by accepted bids (the UNIQUE index answers)."""
    table, bids = Auction._meta.db_table, AuctionBid._meta.db_table
    params: list[Any] = []
    join = "SELECT NULL AS used_bidder, NULL AS used_ref"
    if pairs:
        match = " OR ".join(["(b.bidder_id = %s AND b.client_ref = %s)"] * len(pairs))
        join = f"SELECT b.bidder_id AS used_bidder, b.client_ref AS used_ref FROM {bids} b WHERE {match}"
        params += [v for pair in pairs for v in pair]
    lock = ""
    if connection.features.has_select_for_update:
        lock = " FOR UPDATE OF a" if connection.features.has_select_for_update_of else " FOR UPDATE"
    try:
        rows = list(Auction.objects.raw(
            f"SELECT a.*, u.used_bidder, u.used_ref FROM {table} a LEFT JOIN ({join}) u ON TRUE "
            f"WHERE a.id = %s{lock}", [*params, int(auction_id)]))
    except (ValueError, TypeError):
        rows = []
    if not rows:
        raise NotFound("no such auction")
    return rows[0], {(r.used_bidder, r.used_ref) for r in rows if r.used_bidder is not None}


def public_state(auction: Auction, state: E.State | None = None) -> dict[str, Any]:
    st = state or auction.state
    data = E.reveal(auction.config, st)
    data["auction"] = auction.pk
    data["lot"] = auction.lot_id
    data["seq"] = auction.last_seq
    data["reserve_commitment"] = auction.reserve_commitment
    if st.phase == E.PHASE_PAUSED:
        data["pause_reason"] = auction.pause_reason
    if st.phase == E.PHASE_CLOSED:
        data["reserve_salt"] = auction.reserve_salt
    return data


# the configuration part of the public state: in every snapshot, never repeated in event frames
STATIC_STATE_KEYS = frozenset({"increment_fen", "starting_price_fen", "max_jump", "closing_rule", "countdown_s",
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


def _registered(organisation: Organisation, lot: Lot) -> bool:
    from bidding.models import Registration

    return Registration.objects.filter(lot=lot, bidder=organisation, status="active").exists()


def _new_number(auction: Auction) -> str:
    taken = set(BidderNumber.objects.filter(auction=auction).values_list("number", flat=True))
    while True:
        number = f"{secrets.randbelow(900_000) + 100_000:06d}"
        if number not in taken:
            return number


def _assign_number(auction: Auction, organisation: Organisation, now: dt.datetime, actor: User | None) -> BidderNumber | None:
    """Inside the auction lock: the bidder's number, assigned once its security is confirmed."""
    existing = BidderNumber.objects.filter(auction=auction, organisation=organisation).first()
    if existing is not None:
        return existing
    if not _registered(organisation, auction.lot) or not is_secured(organisation, auction.lot):
        return None
    bn = BidderNumber.objects.create(auction=auction, organisation=organisation, number=_new_number(auction),
                                     assigned_at=now)
    # who holds which number stays sealed until the result
    audit.record(action="auction.number", subject=f"auction:{auction.pk}", actor=actor,
                 project_id=auction.lot.project_id, visibility="sealed", at=now,
                 payload={"auction": auction.pk, "lot": auction.lot_id, "organisation": organisation.pk,
                          "number": bn.number})
    return bn


def _assign_all_numbers(auction: Auction, now: dt.datetime) -> None:
    """At the opening: a number for every registered bidder whose security is confirmed."""
    from bidding.models import Registration

    for reg in Registration.objects.filter(lot=auction.lot, status="active").select_related("bidder").order_by("?"):
        _assign_number(auction, reg.bidder, now, None)


# ---------------------------------------------------------------------------------------------
# persisting the engine's events (the one path every action takes)
# ---------------------------------------------------------------------------------------------

def _ensure_lot(lot: Lot, target: str, *, actor: User | None) -> None:
    """Move the lot along its path to ``target`` (the trading clock may already have done it)."""
    from trading.services import transition_lot

    steps = {
        # (path, current status, target) -> action
        ("auction", "published", "live"): "close_registration",
        ("auction", "auction_scheduled", "live"): "start_auction",
        ("listing", "published", "listing"): "start_listing",
        ("listing", "published", "live"): "start_listing",
        ("listing", "listing", "live"): "start_auction",
        ("listing", "published", "closed"): "start_listing",
        ("listing", "listing", "closed"): "close_auction",
        ("auction", "published", "closed"): "close_registration",
        ("auction", "auction_scheduled", "closed"): "start_auction",
        ("auction", "live", "closed"): "close_auction",
        ("listing", "live", "closed"): "close_auction",
    }
    for _ in range(4):
        lot.refresh_from_db(fields=["status"])
        if lot.status == target:
            return
        action = steps.get((lot.path, lot.status, target))
        if action is None:
            raise Conflict(f"lot {lot.pk} is {lot.status}; the auction cannot move it to {target}")
        transition_lot(lot=lot, action=action, actor=None)


def _apply_result(auction: Auction, closed: E.Event, now: dt.datetime) -> dict[str, Any]:
    """The closed auction's result: lot transition, deposits, result notice. Exactly once."""
    from trading.services import publish_notice, transition_lot

    lot = auction.lot
    _ensure_lot(lot, "closed", actor=None)
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
    alone: bool = False  # written by ``sql.execute_alone`` (the fast path): no transaction is open yet

    def audit_statement(self) -> sql.Statement | None:
        """The INSERT of the waiting audit events; their rows refer to them by uid."""
        statement, records = audit_services.events_statement(self.audit, alone=self.alone)
        for row, record in zip(self.unaudited, records):
            row.audit_event_id = audit_services.event_id_of(record.uid)
        self.audit, self.unaudited = [], []
        return statement

    def flush_audit(self) -> None:
        sql.execute([self.audit_statement()])


SIDE_EFFECT_FREE = ("bid", "posted")  # events that write only their own rows (no lot transition, no numbers)

_PROJECT_OF_LOT: dict[int, int] = {}  # a lot never changes project


def _project_id(auction: Auction) -> int:
    if Auction.lot.is_cached(auction):
        return auction.lot.project_id
    project_id = _PROJECT_OF_LOT.get(auction.lot_id)
    if project_id is None:
        project_id = Lot.objects.values_list("project_id", flat=True).get(pk=auction.lot_id)
        _PROJECT_OF_LOT[auction.lot_id] = project_id
    return project_id


def _write_events(auction: Auction, out: E.Outcome, rows: _Rows, *, actor: User | None, now: dt.datetime,
                  bidder: BidderNumber | None = None, client_ref: str = "", via: str = "ws",
                  extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The outcome's events: next seq, audit event, lot transitions; rows collected in ``rows``."""
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
        elif ev.kind == "opened":
            _ensure_lot(auction.lot, E.PHASE_LISTING if auction.mode == E.MODE_LISTING else "live", actor=None)
            _assign_all_numbers(auction, now)
        elif ev.kind == "live":
            _ensure_lot(auction.lot, "live", actor=None)
        item = {"action": f"auction.{ev.kind}", "subject": f"auction:{auction.pk}", "payload": payload, "at": now,
                "actor": actor if ev.kind not in ("opened", "live", "closed") else None,
                "project_id": _project_id(auction)}
        row = AuctionEvent(auction=auction, seq=seq, kind=ev.kind, data=data, at=now)
        rows.events.append(row)
        if deferred:
            rows.audit.append(item)
            rows.unaudited.append(row)
        else:
            row.audit_event_id = audit.record(**item).pk
        if ev.kind in ("bid", "posted"):
            assert bidder is not None
            rows.bids.append(AuctionBid(auction=auction, seq=seq, bidder=bidder, amount_fen=data["amount_fen"],
                                        kind=ev.kind, client_ref=client_ref, placed_at=now, via=via))
        frames.append({"seq": seq, "kind": ev.kind, "data": data, "at": _iso(now)})
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
        auction_id, message = auction.pk, events_message(auction, rows.frames)
        transaction.on_commit(lambda: broadcast(auction_id, message))


def _persist(auction: Auction, out: E.Outcome, *, actor: User | None, now: dt.datetime,
             bidder: BidderNumber | None = None, client_ref: str = "", via: str = "ws",
             extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Write the outcome's events (seq, audit, bid rows, lot transitions) and the new state."""
    rows = _Rows()
    frames = _write_events(auction, out, rows, actor=actor, now=now, bidder=bidder, client_ref=client_ref, via=via,
                           extra=extra)
    _finish(auction, rows)
    return frames


def events_message(auction: Auction, frames: list[dict[str, Any]]) -> dict[str, Any]:
    """The room group's message once ``auction`` is committed with the events of ``frames``: the
    events and the state's changing fields (both relayed to the clients), and for the other server
    processes the auction row as committed (``adopt_row``)."""
    return {"type": "auction.events", "events": list(frames), "state": changing_state(public_state(auction)),
            "row": row_of(auction)}


_DATETIME_FIELDS = frozenset(f for f in _WRITTEN_FIELDS
                             if Auction._meta.get_field(f).get_internal_type() == "DateTimeField")


def row_of(auction: Auction) -> dict[str, Any]:
    """The written fields of the row, as plain values for the channel layer (datetimes in ISO 8601)."""
    return {f: (v.isoformat() if f in _DATETIME_FIELDS and v is not None else v)
            for f in _WRITTEN_FIELDS for v in (getattr(auction, f),)}


def adopt_row(auction_id: int, row: dict[str, Any] | None) -> None:
    """Another process committed the auction at ``row["last_seq"]`` (from the room's group): this
    process's head moves there without a read. Only ever a starting point: the compare-and-set
    of the next batch is judged by the database all the same."""
    if not row or set(row) != set(_WRITTEN_FIELDS):
        return
    with _HEADS_LOCK:
        known = _HEADS.get(auction_id)
        if known is None or known.last_seq >= row["last_seq"]:
            return
        head = copy.copy(known)
        for name, value in row.items():
            setattr(head, name, dt.datetime.fromisoformat(value) if name in _DATETIME_FIELDS and value else value)
        _HEADS[auction_id] = head


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
        raise Conflict(f"lot {lot.number} is sold by {rule.path}, not by auction or listing")
    mode = rule.path
    closing_rule = closing_rule or lot.closing_rule or (rule.auction_closing_rules or (E.RULE_COUNTDOWN,))[0]
    if closing_rule not in rule.auction_closing_rules:
        raise Invalid(f"closing rule {closing_rule!r} is not allowed here; allowed: "
                      f"{', '.join(rule.auction_closing_rules)}", field="closing_rule")
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
            raise Invalid(f"{name} must be an integer", field=name)
    try:
        config = E.Config(mode=mode, starting_price_fen=starting, increment_fen=increment, max_jump=max_jump,
                          reserve_fen=reserve_fen, closing_rule=closing_rule, live_duration_s=live_duration_s,
                          countdown_s=countdown_s, window_s=window_s)
    except E.ConfigError as exc:
        raise Invalid(str(exc)) from None
    if mode == E.MODE_LISTING:
        start_at, end_at = lot.listing_start, lot.listing_end
        if start_at is None or end_at is None:
            raise Invalid("the lot has no listing period", field="listing_start")
        if (end_at - start_at) < dt.timedelta(days=rule.listing_min_days):
            raise Invalid(f"the listing must last at least {rule.listing_min_days} days", field="listing_end")
    else:
        start_at, end_at = lot.auction_start, None
        if start_at is None:
            raise Invalid("the lot has no auction start time", field="auction_start")
    now = timezone.now()
    with transaction.atomic():
        lot = Lot.objects.select_for_update().select_related("project").get(pk=lot.pk)
        if lot.status not in ("published", "auction_scheduled", "listing"):
            raise Conflict(f"cannot schedule an auction for a lot that is {lot.status}")
        if Auction.objects.filter(lot=lot).exists():
            raise Conflict(f"lot {lot.number} already has its auction")
        if start_at <= now:
            raise Conflict("the start time has already passed; amend the lot's schedule first")
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
    return auction


def pause_auction(*, auction: Auction | int, actor: User, reason: str) -> Auction:
    """Suspend trading (e.g. the electronic system failed); the end moves by the paused time."""
    with transaction.atomic():
        auction = _locked(auction)
        require_staff_of(actor, auction.lot.project)
        now = timezone.now()
        out = E.apply(auction.config, auction.state, E.Pause(reason), now)
        if not out.decision.accepted:
            raise BidRefused(out.decision.code, out.decision.message)
        auction.pause_reason = reason.strip()
        _persist(auction, out, actor=actor, now=now)
    return auction


def resume_auction(*, auction: Auction | int, actor: User) -> Auction:
    with transaction.atomic():
        auction = _locked(auction)
        require_staff_of(actor, auction.lot.project)
        now = timezone.now()
        out = E.apply(auction.config, auction.state, E.Resume(), now)
        if not out.decision.accepted:
            raise BidRefused(out.decision.code, out.decision.message)
        auction.pause_reason = ""
        _persist(auction, out, actor=actor, now=now)
    return auction


# ---------------------------------------------------------------------------------------------
# bidders
# ---------------------------------------------------------------------------------------------

def enter_room(*, auction: Auction | int, user: User | None) -> BidderNumber | None:
    """A bidder entering the room gets its number (竞买号) once its security is confirmed."""
    if role_of(user) != "bidder" or user.organisation_id is None:
        return None
    auction_id = auction.pk if isinstance(auction, Auction) else auction
    existing = BidderNumber.objects.filter(auction_id=auction_id, organisation_id=user.organisation_id).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        auction = _locked(auction_id)
        return _assign_number(auction, user.organisation, timezone.now(), user)


def _bidder_for(auction: Auction, user: User, now: dt.datetime) -> BidderNumber:
    if role_of(user) != "bidder":
        raise BidRefused(E.NOT_A_BIDDER, "Only bidders may bid; this connection is read-only.")
    bn = _assign_number(auction, user.organisation, now, user)
    if bn is None:
        raise BidRefused(E.NO_SECURITY, "Your registration or bid security (竞买保证金) for this lot is not confirmed; "
                                        "you cannot bid.")
    return bn


def _fast_refusal(auction_id: int, amount_fen: int) -> None:
    """Refuse without the lock what the lock could only refuse too: the price never decreases
    and a closed auction stays closed, so 'too low' / 'closed' against a committed state is final."""
    row = Auction.objects.filter(pk=auction_id).values(
        "phase", "price_fen", "leader", "increment_fen", "starting_price_fen").first()
    if row is None:
        raise NotFound("no such auction")
    if row["phase"] == E.PHASE_CLOSED:
        raise BidRefused(E.CLOSED, "The auction is closed.")
    if row["leader"] and amount_fen < row["price_fen"] + row["increment_fen"]:
        lowest = row["price_fen"] + row["increment_fen"]
        raise BidRefused(E.TOO_LOW, f"The bid must be at least {_yuan(lowest)} yuan.", minimum_fen=lowest)


@dataclasses.dataclass(frozen=True)
class BidRequest:
    user: User
    amount_fen: int
    client_ref: str
    via: str = "ws"


@dataclasses.dataclass(frozen=True)
class BidAnswer:
    accepted: bool
    code: str
    message: str
    seq: int | None = None
    amount_fen: int = 0
    number: str | None = None
    minimum_fen: int | None = None
    state: dict[str, Any] | None = None


_REPLAYED = "This bid message was already received (replayed reference)."
_NUMBERS: dict[tuple[int, int], BidderNumber] = {}  # (auction, organisation) → number: never changes once given


def _known_number(auction_id: int, organisation_id: int | None) -> BidderNumber | None:
    if organisation_id is None:
        return None
    key = (auction_id, organisation_id)
    bn = _NUMBERS.get(key)
    if bn is None:
        bn = BidderNumber.objects.filter(auction_id=auction_id, organisation_id=organisation_id).first()
        # cache only committed rows read outside any transaction (an outer one could still roll back)
        if bn is not None and not connection.in_atomic_block:
            if len(_NUMBERS) > 100_000:
                _NUMBERS.clear()
            _NUMBERS[key] = bn
    return bn


def _precheck(req: BidRequest) -> BidAnswer | None:
    amount = req.amount_fen
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        return BidAnswer(False, E.INVALID_AMOUNT, "The amount must be a positive number of fen.")
    if not req.client_ref or len(req.client_ref) > 64:
        return BidAnswer(False, E.MALFORMED, "Each bid needs a unique reference (1–64 characters).")
    if role_of(req.user) != "bidder":
        return BidAnswer(False, E.NOT_A_BIDDER, "Only bidders may bid; this connection is read-only.")
    return None


# ---------------------------------------------------------------------------------------------
# the batch of bids: decided against this process's head in one round trip, else under the lock
# ---------------------------------------------------------------------------------------------

# Per process: the newest committed row of each auction that this process read under its lock or
# wrote itself (the "head"). Only ever a starting point: a batch decided against it is written
# with a compare-and-set on ``last_seq`` that the database judges (see ``_decide_on_head``).
_HEADS: dict[int, Auction] = {}
_HEADS_LOCK = threading.Lock()


def _remember(auction: Auction) -> None:
    _project_id(auction)  # cached for the batches decided on the event loop (no database there)
    snapshot = copy.copy(auction)
    with _HEADS_LOCK:
        known = _HEADS.get(auction.pk)
        if known is None or known.last_seq <= snapshot.last_seq:
            if len(_HEADS) > 10_000:
                _HEADS.clear()
            _HEADS[auction.pk] = snapshot


def _head(auction_id: int) -> Auction | None:
    with _HEADS_LOCK:
        known = _HEADS.get(auction_id)
    return None if known is None else copy.copy(known)  # a private copy: deciding mutates it


def seen_seq(auction_id: int, seq: int) -> None:
    """A server process learnt (from the room's group) that the auction reached ``seq``: a head
    behind it is stale, so the next batch goes straight to the lock instead of failing once."""
    with _HEADS_LOCK:
        known = _HEADS.get(auction_id)
        if known is not None and known.last_seq < seq:
            del _HEADS[auction_id]


def _guarded_update(auction: Auction, seen: int) -> sql.Statement:
    """The new state, written only over the state it was decided from (``last_seq`` = ``seen``);
    any other count of rows updated aborts the round trip (SQLSTATE 40001, migration 0004)."""
    update = sql.update(auction, _WRITTEN_FIELDS, expect={"last_seq": seen})
    return sql.Statement(f"WITH head AS ({update.sql} RETURNING 1) "
                         f"SELECT auction_expect_head((SELECT count(*) FROM head))", update.params)


@dataclasses.dataclass
class HeadBatch:
    """A batch decided against the process's head, not yet written: ``statements`` are its one
    round trip (``audit.sql.execute_alone`` or ``AsyncAlone``); once that committed,
    ``head_written`` gives the answers and the frames go to the room."""

    auction_id: int
    head: Auction
    seen: int
    statements: list[sql.Statement | None]
    answers: list[BidAnswer]
    frames: list[dict[str, Any]]
    final: dict[str, Any]


def place_bids(*, auction: Auction | int, requests: list[BidRequest]) -> list[BidAnswer]:
    """Decide bids in their order of arrival, each by the engine, as one transaction (group
    commit): accepted bids get consecutive sequence numbers and their own audit events; the
    broadcast goes out once, after commit. Refused bids change nothing.

    Usually the batch is decided against this process's head and written in one round trip whose
    first statement is a compare-and-set on the auction row (``_decide_on_head``). When that cannot
    be done or the database refuses it, the batch is decided under the row lock
    (``_decide_bids``): a reference a bidder already used is then refused as replayed (the
    references are read with the lock), and the UNIQUE (bidder, client_ref) index is the judge of
    a race the read cannot see (a batch committed while this one waited for the lock): its
    transaction then rolls back whole and the batch is decided again."""
    auction_id = auction.pk if isinstance(auction, Auction) else auction
    answers: list[BidAnswer | None] = [_precheck(r) for r in requests]
    numbers = [None if a is not None else _known_number(auction_id, r.user.organisation_id)
               for r, a in zip(requests, answers)]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        batch = _decide_on_head(auction_id, requests, answers, numbers)
        if batch is not None:
            try:
                sql.execute_alone(batch.statements)
            except (IntegrityError, OperationalError) as exc:
                if not sql.is_conflict(exc):
                    raise
                head_refused(batch)
            else:
                answers_now = head_written(batch)
                broadcast(auction_id, events_message(batch.head, batch.frames))  # the round trip committed
                return answers_now
    try:
        return _decide_bids(auction_id, requests, list(answers), numbers)
    except IntegrityError as exc:
        if "auction_bid_ref_once" not in str(exc):
            raise
    return _decide_bids(auction_id, requests, answers, numbers)


def decide_on_head(*, auction_id: int, requests: list[BidRequest]) -> HeadBatch | None:
    """For the room's event loop: the batch decided against the head without touching the
    database at all (numbers and the lot's project from this process's caches), or None when that
    cannot be done (then ``place_bids`` in a thread). The caller sends ``statements`` as one round
    trip and then calls ``head_written``, or ``head_refused`` if the database refused it
    (``audit.sql.is_conflict``: decide the batch again with ``place_bids``)."""
    answers: list[BidAnswer | None] = [_precheck(r) for r in requests]
    numbers = [None if a is not None else _NUMBERS.get((auction_id, r.user.organisation_id))
               for r, a in zip(requests, answers)]
    return _decide_on_head(auction_id, requests, answers, numbers)


def head_written(batch: HeadBatch) -> list[BidAnswer]:
    """The batch's round trip committed: its state is the process's head now."""
    _remember(batch.head)
    return [dataclasses.replace(a, state=batch.final) for a in batch.answers]


def head_refused(batch: HeadBatch) -> None:
    """The database refused the batch (the head was stale, or a reference was used): nothing was
    written, and the next batch goes to the lock without trying this head again."""
    seen_seq(batch.auction_id, batch.seen + 1)


def _decide_on_head(auction_id: int, requests: list[BidRequest], answers: list[BidAnswer | None],
                    numbers: list[BidderNumber | None]) -> HeadBatch | None:
    """The batch decided by the engine against this process's head (no read), to be written in one
    round trip that is its own transaction: first the compare-and-set of the auction row (it also
    takes the row lock, in the same order as every other action), then the audit events, the event
    rows and the bid rows. The database is the judge of the head:

    - another process or action wrote the auction since → the row no longer holds the head's
      ``last_seq``: 0 rows updated → serialization failure, and whatever it wrote holds the next
      sequence numbers too (UNIQUE (auction, seq));
    - a reference already used → UNIQUE (bidder, client_ref).

    Either way the round trip rolls back whole and the batch is decided under the lock. None,
    before anything is sent, when this path cannot decide it: no head, a bidder without a known
    number, an outcome with side effects (opening, closing…), or no accepted bid (no write would
    check the head)."""
    if any(a is None and n is None for a, n in zip(answers, numbers)):
        return None
    head = _head(auction_id)
    if head is None or head.lot_id not in _PROJECT_OF_LOT:
        return None
    seen, now = head.last_seq, timezone.now()
    config, state = head.config, head.state
    answers = list(answers)
    rows = _Rows(alone=True)
    for i, req in enumerate(requests):
        bidder = numbers[i]
        if answers[i] is not None or bidder is None:
            continue
        out = E.apply(config, state, E.Bid(bidder.number, req.amount_fen), now)
        if any(ev.kind not in SIDE_EFFECT_FREE for ev in out.events):
            return None
        answers[i], state = _take(head, config, state, out, rows, req=req, bidder=bidder, now=now)
    if not rows.frames:
        return None
    statements = [_guarded_update(head, seen), *_row_statements(rows)]
    return HeadBatch(auction_id, head, seen, statements, answers, list(rows.frames), public_state(head, state))


def _take(auction: Auction, config: E.Config, state: E.State, out: E.Outcome, rows: _Rows, *,
          req: BidRequest, bidder: BidderNumber, now: dt.datetime) -> tuple[BidAnswer, E.State]:
    """One bid's answer from the engine's outcome and the state after it; an accepted bid's rows
    are collected in ``rows`` (both paths of a batch)."""
    if not out.decision.accepted:
        return BidAnswer(False, out.decision.code, out.decision.message, number=bidder.number,
                         minimum_fen=E.minimum_bid(config, state)), state
    frames = _write_events(auction, out, rows, actor=req.user, now=now, bidder=bidder,
                           client_ref=req.client_ref, via=req.via)
    seq = next(f["seq"] for f in frames if f["kind"] in SIDE_EFFECT_FREE)
    return BidAnswer(True, E.OK, out.decision.message, seq, req.amount_fen, bidder.number), out.state


def _decide_bids(auction_id: int, requests: list[BidRequest], answers: list[BidAnswer | None],
                 numbers: list[BidderNumber | None]) -> list[BidAnswer]:
    # a bidder whose number is only being assigned now has no bids yet
    pairs = [(n.pk, r.client_ref) for r, a, n in zip(requests, answers, numbers) if a is None and n is not None]
    with transaction.atomic():
        auction, used = _locked_with_refs(auction_id, pairs)
        now = timezone.now()
        config = auction.config
        state = auction.state
        rows = _Rows()
        for i, req in enumerate(requests):
            if answers[i] is not None:
                continue
            bidder = numbers[i]
            if bidder is None:
                rows.flush_audit()  # the number's audit event comes after the bids decided before it
                try:
                    bidder = _bidder_for(auction, req.user, now)
                except BidRefused as exc:
                    answers[i] = BidAnswer(False, exc.reason, exc.message)
                    continue
            if (bidder.pk, req.client_ref) in used:
                answers[i] = BidAnswer(False, E.REPLAYED, _REPLAYED, number=bidder.number)
                continue
            out = E.apply(config, state, E.Bid(bidder.number, req.amount_fen), now)
            answers[i], state = _take(auction, config, state, out, rows, req=req, bidder=bidder, now=now)
            if answers[i].accepted:
                used.add((bidder.pk, req.client_ref))
        if rows.frames:
            _finish(auction, rows)
        final = public_state(auction, state)
        transaction.on_commit(lambda: _remember(auction))  # read under the lock, then written: the newest
    return [dataclasses.replace(a, state=final) for a in answers]


def place_bid(*, auction: Auction | int, user: User, amount_fen: int, client_ref: str, via: str = "ws") -> BidReceipt:
    """One authoritative decision per bid: under the auction's row lock the engine decides; an
    accepted bid is persisted with the next sequence number and audited, then broadcast on commit.
    A refused bid raises ``BidRefused`` (code + message) and changes nothing."""
    req = BidRequest(user=user, amount_fen=amount_fen, client_ref=client_ref, via=via)
    early = _precheck(req)
    if early is not None:
        raise BidRefused(early.code, early.message)
    auction_id = auction.pk if isinstance(auction, Auction) else auction
    _fast_refusal(auction_id, amount_fen)
    (answer,) = place_bids(auction=auction_id, requests=[req])
    if not answer.accepted:
        raise BidRefused(answer.code, answer.message, minimum_fen=answer.minimum_fen)
    return BidReceipt(True, E.OK, answer.message, answer.seq, amount_fen, answer.number, answer.state)


def request_live_bidding(*, auction: Auction | int, user: User) -> BidReceipt:
    """Listing: the bidder wants to go on to live bidding at the end of the listing (要求现场竞价)."""
    with transaction.atomic():
        auction = _locked(auction)
        now = timezone.now()
        bidder = _bidder_for(auction, user, now)
        out = E.apply(auction.config, auction.state, E.Continue(bidder.number), now)
        if not out.decision.accepted:
            raise BidRefused(out.decision.code, out.decision.message)
        frames = _persist(auction, out, actor=user, now=now)
        return BidReceipt(True, E.OK, out.decision.message, frames[-1]["seq"], 0, bidder.number,
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
