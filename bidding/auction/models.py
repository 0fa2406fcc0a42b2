"""Live auctions and listings: the authoritative state, bidder numbers, the event stream, bids.

The database is the source of truth: ``Auction`` holds the engine state (locked with
``select_for_update`` by every action), ``AuctionEvent`` is the gap-free per-auction sequence
every client resumes from, ``AuctionBid`` the binding accepted bids (拍卖法 art. 36).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from bidding.auction import engine as E


# What pages show for the engine's codes (frontend: the ``status_label`` filter); the engine keeps the codes.
MODE_LABELS = {E.MODE_AUCTION: _("auction"), E.MODE_LISTING: _("listing")}
PHASE_LABELS = {E.PHASE_SCHEDULED: _("scheduled"), E.PHASE_LISTING: _("listing period"), E.PHASE_LIVE: _("live bidding"),
                E.PHASE_PAUSED: _("paused"), E.PHASE_CLOSED: _("closed")}
OUTCOME_LABELS = {E.OUTCOME_DEAL: _("sold"), E.OUTCOME_FAILED: _("not sold"), E.OUTCOME_CANCELLED: _("cancelled")}
OUTCOME_REASON_LABELS = {"no_bids": _("no bids"), "below_reserve": _("below the reserve price"),
                         "challenge_upheld": _("a complaint was upheld")}
CLOSING_RULE_LABELS = {E.RULE_COUNTDOWN: _("countdown"), E.RULE_SOFT_CLOSE: _("soft close")}


class Auction(models.Model):
    lot = models.OneToOneField("trading.Lot", on_delete=models.PROTECT, related_name="auction")
    mode = models.CharField(max_length=10, choices=[(m, m) for m in E.MODES])
    # configuration (from the rules table + the project's choice)
    starting_price_fen = models.BigIntegerField(help_text="起拍价 / 挂牌价")
    increment_fen = models.BigIntegerField(help_text="加价幅度")
    max_jump = models.PositiveIntegerField(help_text="at most this many increments in one bid")
    reserve_fen = models.BigIntegerField(default=0, help_text="保留价, secret until the result (0 = none)")
    reserve_commitment = models.CharField(max_length=64, help_text="sha256(reserve:salt), published at scheduling")
    reserve_salt = models.CharField(max_length=32, help_text="revealed with the result")
    closing_rule = models.CharField(max_length=12, choices=[(r, r) for r in E.CLOSING_RULES])
    live_duration_s = models.PositiveIntegerField()
    countdown_s = models.PositiveIntegerField()
    window_s = models.PositiveIntegerField()
    # engine state
    phase = models.CharField(max_length=10, choices=[(p, p) for p in E.PHASES], db_index=True)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField(db_index=True)
    price_fen = models.BigIntegerField(default=0)
    leader = models.CharField(max_length=12, blank=True, default="")
    bid_count = models.PositiveIntegerField(default=0)
    paused_phase = models.CharField(max_length=10, blank=True, default="")
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.TextField(blank=True, default="")
    posters = models.JSONField(default=list, blank=True)
    continuing = models.JSONField(default=list, blank=True)
    eligible = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=10, blank=True, default="")
    outcome_reason = models.CharField(max_length=30, blank=True, default="")
    from_listing = models.BooleanField(default=False)
    last_seq = models.PositiveBigIntegerField(default=0)
    result_applied = models.BooleanField(default=False)
    scheduled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["start_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(mode__in=list(E.MODES)), name="auction_mode_valid"),
            models.CheckConstraint(condition=Q(phase__in=list(E.PHASES)), name="auction_phase_valid"),
            models.CheckConstraint(condition=Q(closing_rule__in=list(E.CLOSING_RULES)), name="auction_rule_valid"),
            models.CheckConstraint(condition=Q(starting_price_fen__gt=0), name="auction_start_price_positive"),
            models.CheckConstraint(condition=Q(increment_fen__gt=0), name="auction_increment_positive"),
            models.CheckConstraint(condition=Q(max_jump__gte=1), name="auction_max_jump_positive"),
            models.CheckConstraint(condition=Q(reserve_fen__gte=0), name="auction_reserve_not_negative"),
            models.CheckConstraint(condition=Q(price_fen__gte=0), name="auction_price_not_negative"),
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="auction_end_after_start"),
            models.CheckConstraint(condition=Q(countdown_s__gt=0) & Q(live_duration_s__gt=0), name="auction_durations_positive"),
            models.CheckConstraint(condition=Q(outcome__in=["", *E.OUTCOMES]), name="auction_outcome_valid"),
            models.CheckConstraint(
                condition=Q(phase=E.PHASE_CLOSED) | Q(outcome=""), name="auction_outcome_only_when_closed"
            ),
            models.CheckConstraint(
                condition=~Q(phase=E.PHASE_CLOSED) | ~Q(outcome=""), name="auction_closed_has_outcome"
            ),
        ]

    def __str__(self) -> str:
        return f"auction {self.pk} ({self.mode}) of lot {self.lot_id}"

    # -- engine bridge -------------------------------------------------------------------------
    @property
    def config(self) -> E.Config:
        return E.Config(
            mode=self.mode, starting_price_fen=int(self.starting_price_fen), increment_fen=int(self.increment_fen),
            max_jump=int(self.max_jump), reserve_fen=int(self.reserve_fen), closing_rule=self.closing_rule,
            live_duration_s=int(self.live_duration_s), countdown_s=int(self.countdown_s), window_s=int(self.window_s),
        )

    @property
    def state(self) -> E.State:
        return E.State(
            phase=self.phase, start_at=self.start_at, end_at=self.end_at, price_fen=int(self.price_fen),
            leader=self.leader or None, bid_count=int(self.bid_count), paused_phase=self.paused_phase or None,
            paused_at=self.paused_at, posters=frozenset(self.posters or ()),
            continuing=frozenset(self.continuing or ()),
            eligible=None if self.eligible is None else frozenset(self.eligible),
            outcome=self.outcome or None, outcome_reason=self.outcome_reason, from_listing=self.from_listing,
        )

    def set_state(self, st: E.State) -> None:
        self.phase = st.phase
        self.start_at = st.start_at
        self.end_at = st.end_at
        self.price_fen = st.price_fen
        self.leader = st.leader or ""
        self.bid_count = st.bid_count
        self.paused_phase = st.paused_phase or ""
        self.paused_at = st.paused_at
        self.posters = sorted(st.posters)
        self.continuing = sorted(st.continuing)
        self.eligible = None if st.eligible is None else sorted(st.eligible)
        self.outcome = st.outcome or ""
        self.outcome_reason = st.outcome_reason
        self.from_listing = st.from_listing

    STATE_FIELDS = [
        "phase", "start_at", "end_at", "price_fen", "leader", "bid_count", "paused_phase", "paused_at",
        "posters", "continuing", "eligible", "outcome", "outcome_reason", "from_listing", "last_seq",
    ]


class BidderNumber(models.Model):
    """竞买号: the only name a bidder has in the room until the result."""

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="numbers")
    organisation = models.ForeignKey("trading.Organisation", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=12)
    assigned_at = models.DateTimeField()

    class Meta:
        ordering = ["auction_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["auction", "organisation"], name="auction_number_one_per_org"),
            models.UniqueConstraint(fields=["auction", "number"], name="auction_number_unique"),
            models.CheckConstraint(condition=Q(number__regex=r"^[0-9]{4,12}$"), name="auction_number_digits"),
        ]

    def __str__(self) -> str:
        return self.number


class AuctionEvent(models.Model):
    """The gap-free per-auction stream clients resume from (public payloads only)."""

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=12)
    data = models.JSONField()
    at = models.DateTimeField()
    audit_event_id = models.BigIntegerField()

    class Meta:
        ordering = ["auction_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["auction", "seq"], name="auction_event_seq_unique"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="auction_event_seq_positive"),
        ]


class AuctionBid(models.Model):
    """An accepted, binding bid (or posted listing price)."""

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="bids")
    seq = models.PositiveBigIntegerField(help_text="the AuctionEvent seq of this bid")
    bidder = models.ForeignKey(BidderNumber, on_delete=models.PROTECT, related_name="bids")
    amount_fen = models.BigIntegerField()
    kind = models.CharField(max_length=8, default="bid")  # bid | posted
    client_ref = models.CharField(max_length=64)
    placed_at = models.DateTimeField()
    via = models.CharField(max_length=4, default="ws")  # ws | http

    class Meta:
        ordering = ["auction_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["auction", "seq"], name="auction_bid_seq_unique"),
            models.UniqueConstraint(fields=["bidder", "client_ref"], name="auction_bid_ref_once"),
            models.UniqueConstraint(fields=["auction", "amount_fen"], name="auction_bid_amount_once"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="auction_bid_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=["bid", "posted"]), name="auction_bid_kind_valid"),
        ]


class Confirmation(models.Model):
    """成交确认书: the transaction confirmation of a dealt auction or listing, generated from the auction record
    (winner, price, lot, time, the rule's basis, the date by which the contract is signed). ``document`` is the
    canonical text the centre signs: its SHA-256 is committed by the ``auction.confirmation`` audit event."""

    auction = models.OneToOneField(Auction, on_delete=models.PROTECT, related_name="confirmation")
    lot = models.OneToOneField("trading.Lot", on_delete=models.PROTECT, related_name="confirmation")
    winner = models.ForeignKey("trading.Organisation", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=12, help_text="the winner's bidder number (竞买号)")
    price_fen = models.BigIntegerField()
    closed_at = models.DateTimeField(help_text="成交时间: the auction's close")
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    contract_due = models.DateTimeField(help_text="the contract is signed by then (24:00 Beijing of the last day)")
    document = models.JSONField(help_text="the confirmation's content, exactly as hashed")
    sha256 = models.CharField(max_length=64)
    notice = models.ForeignKey("trading.Notice", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(price_fen__gt=0), name="auction_confirmation_price_positive"),
            models.CheckConstraint(condition=Q(contract_due__gt=F("issued_at")), name="auction_confirmation_window"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="auction_confirmation_sha256"),
        ]


class ConfirmationVoid(models.Model):
    """The confirmation voided: its deal cancelled (成交无效) by an upheld complaint. A new fact beside the
    confirmation (which is never edited), recorded with the ``auction.cancelled`` audit event."""

    confirmation = models.OneToOneField(Confirmation, on_delete=models.PROTECT, related_name="void")
    voided_at = models.DateTimeField()
    reason = models.TextField()

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="auction_confirmation_void_reason")]


class SaleContract(models.Model):
    """The signed contract (出让合同 / 产权交易合同) of an auction or listing lot, recorded by the centre's staff."""

    confirmation = models.OneToOneField(Confirmation, on_delete=models.PROTECT, related_name="contract")
    lot = models.OneToOneField("trading.Lot", on_delete=models.PROTECT, related_name="sale_contract")
    signed_on = models.DateField()
    amount_fen = models.BigIntegerField()
    documents = models.JSONField(help_text="[{name, sha256}] of the signed contract documents")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    notice = models.ForeignKey("trading.Notice", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="auction_contract_amount_positive"),
        ]
