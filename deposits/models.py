"""The unified deposit account's tables. The rules of deposits/ledger.py hold here in the database too:

* ``Posting`` rows are never updated or deleted (triggers); a correction is a reversing transfer.
* Every posting amount is a non-zero integer (CHECK); the legs of each transfer sum to zero per
  effect (posted / pending / release) -- a DEFERRABLE INITIALLY DEFERRED constraint trigger on
  PostgreSQL checks it at commit, together with the two-phase rules (a post/void releases exactly
  the pending legs, a post posts exactly them).
* Account counters are maintained by an AFTER INSERT trigger on postings; a CHECK on the account
  refuses any liability account whose debits (posted + pending) exceed its posted credits, i.e. no
  sub-account goes negative, whatever code inserts the posting.
* The centre's bank account is NOT a counter row (``track=False``): every transfer touches it, so a
  running balance there would serialise the whole platform.  Its balance is derived (sum of its
  postings, equal by the invariant to the sum of all liability balances).
* Each pending transfer is resolved (posted or voided) at most once: UNIQUE(pending_id).
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.db.models import F, Q

from deposits.ledger import Kind
from trading.models import Lot, Organisation, User

KINDS = [(k.value, k.value) for k in Kind]


class Account(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("awaiting / accepting payment")
        FROZEN = "frozen", _("frozen at the deadline")
        SETTLED = "settled", _("refunded, forfeited or converted")
        CLOSED = "closed", _("closed (registration withdrawn)")

    kind = models.CharField(max_length=12, choices=KINDS)
    track = models.BooleanField(default=True, help_text="counters maintained (False only for the bank account)")
    debits_posted = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    debits_pending = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    # deposit sub-accounts (one per bidder x lot registration)
    number = models.CharField(max_length=32, unique=True, null=True, blank=True, help_text="virtual sub-account 虚拟子账号")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="deposit_accounts")
    bidder = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="deposit_accounts")
    registration_id = models.BigIntegerField(null=True, blank=True, unique=True)
    required_fen = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    winner = models.BooleanField(default=False)
    paid_at = models.DateTimeField(null=True, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["lot", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in Kind]), name="dep_account_kind"),
            models.CheckConstraint(
                condition=Q(debits_posted__gte=0, credits_posted__gte=0, debits_pending__gte=0, credits_pending__gte=0),
                name="dep_account_counters_not_negative"),
            # no liability account goes negative, counting money reserved by pending transfers
            models.CheckConstraint(
                condition=Q(kind="bank") | Q(debits_posted__lte=F("credits_posted") - F("debits_pending")),
                name="dep_account_not_negative"),
            models.CheckConstraint(condition=Q(kind="bank", track=False) | (~Q(kind="bank") & Q(track=True)),
                                   name="dep_account_bank_untracked"),
            models.CheckConstraint(
                condition=~Q(kind="deposit") | Q(lot__isnull=False, bidder__isnull=False, registration_id__isnull=False,
                                                  number__isnull=False, required_fen__gt=0),
                name="dep_account_deposit_complete"),
            models.CheckConstraint(condition=Q(status__in=["open", "frozen", "settled", "closed"]), name="dep_account_status"),
            # one of each system account
            models.UniqueConstraint(fields=["kind"], condition=~Q(kind="deposit"), name="dep_account_singletons"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.number or self.pk}"

    # A deposit sub-account always has its lot, bidder and number (dep_account_deposit_complete); a system
    # account has none of them. These say so to the type checker, and fail loudly when asked of a system account.
    @property
    def deposit_lot(self) -> Lot:
        if self.lot is None:
            raise ValueError(f"account {self} is not a deposit sub-account: it has no lot")
        return self.lot

    @property
    def deposit_bidder(self) -> Organisation:
        if self.bidder is None:
            raise ValueError(f"account {self} is not a deposit sub-account: it has no bidder")
        return self.bidder

    @property
    def deposit_number(self) -> str:
        if self.number is None:
            raise ValueError(f"account {self} is not a deposit sub-account: it has no number")
        return self.number

    @property
    def balance_fen(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available_fen(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending


class Transfer(models.Model):
    class Phase(models.TextChoices):
        POSTED = "posted", _("posted")
        PENDING = "pending", _("pending (two-phase)")
        POST = "post", _("posts a pending transfer")
        VOID = "void", _("voids a pending transfer")

    class Purpose(models.TextChoices):
        CREDIT = "credit", _("deposit received")
        SUSPENSE = "suspense", _("received into suspense")
        ASSIGN = "assign", _("suspense assigned to a sub-account")
        RETURN = "return", _("suspense returned to the payer")
        REFUND = "refund", _("deposit refunded")
        FORFEIT = "forfeit", _("deposit forfeited")
        CONVERT = "convert", _("deposit converted")
        INTEREST = "interest", _("interest")
        REVERSAL = "reversal", _("reversal")

    code = models.CharField(max_length=120, unique=True, help_text="idempotency key")
    phase = models.CharField(max_length=8, choices=Phase.choices)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    pending = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="resolution")
    amount_fen = models.BigIntegerField()
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="dep_transfer_amount_positive"),
            models.CheckConstraint(condition=Q(phase__in=["posted", "pending", "post", "void"]), name="dep_transfer_phase"),
            models.CheckConstraint(condition=(Q(phase__in=["post", "void"]) & Q(pending__isnull=False))
                                   | (Q(phase__in=["posted", "pending"]) & Q(pending__isnull=True)),
                                   name="dep_transfer_resolves_pending"),
        ]


class Posting(models.Model):
    class Effect(models.TextChoices):
        POSTED = "posted", _("posted")
        PENDING = "pending", _("reserved")
        RELEASE = "release", _("releases a reservation")

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    effect = models.CharField(max_length=8, choices=Effect.choices)
    amount = models.BigIntegerField(help_text="signed fen: + debit, - credit")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "effect"])]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="dep_posting_amount_nonzero"),
            models.CheckConstraint(condition=Q(effect__in=["posted", "pending", "release"]), name="dep_posting_effect"),
            models.UniqueConstraint(fields=["transfer", "account", "effect"], name="dep_posting_once_per_leg"),
        ]


class BankTxn(models.Model):
    """One movement on the unified bank account as the bank reported it (notification or statement line).
    ``bank_txn_id`` is the bank's id: the idempotency key."""

    class Direction(models.TextChoices):
        CREDIT = "credit", _("in")
        DEBIT = "debit", _("out")

    class Outcome(models.TextChoices):
        CREDITED = "credited", _("credited to a sub-account")
        SUSPENSE = "suspense", _("held in suspense")
        REFUND = "refund", _("refund confirmed")
        RETURN = "return", _("suspense return confirmed")
        INTEREST = "interest", _("interest")
        UNMATCHED = "unmatched", _("debit without an order")

    bank_txn_id = models.CharField(max_length=64, unique=True)
    body_sha256 = models.CharField(max_length=64)
    source = models.CharField(max_length=12, default="notification")
    direction = models.CharField(max_length=6, choices=Direction.choices)
    amount_fen = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="CNY")
    sub_account = models.CharField(max_length=40, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    payer_account = models.CharField(max_length=40, blank=True)
    remark = models.CharField(max_length=300, blank=True)
    booked_at = models.DateTimeField()
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    transfer = models.OneToOneField(Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_txn")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_txns")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["booked_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="dep_banktxn_amount_positive"),
            models.CheckConstraint(condition=Q(currency="CNY"), name="dep_banktxn_cny"),
        ]


class SuspenseItem(models.Model):
    """Money that matched nothing: a staff task until it is returned to the payer or assigned."""

    class Status(models.TextChoices):
        OPEN = "open", _("to resolve")
        RETURNING = "returning", _("return ordered")
        RETURNED = "returned", _("returned to payer")
        ASSIGNED = "assigned", _("assigned to a sub-account")

    bank_txn = models.OneToOneField(BankTxn, on_delete=models.PROTECT, related_name="suspense")
    amount_fen = models.BigIntegerField()
    reason = models.CharField(max_length=24)
    detail = models.CharField(max_length=300, blank=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="the sub-account the payment was aimed at, if known")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="dep_suspense_amount_positive")]


class RefundBatch(models.Model):
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=20)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]


class RefundOrder(models.Model):
    """A payment out of the unified account (deposit refund or suspense return), two-phase in the ledger:
    the pending transfer reserves the money when the order is made; the bank's confirmation posts it;
    a final failure voids it. Idempotent: one live order per sub-account / suspense item."""

    class Status(models.TextChoices):
        PENDING = "pending", _("to send")
        SENT = "sent", _("sent to bank")
        CONFIRMED = "confirmed", _("confirmed by bank")
        FAILED = "failed", _("failed, will retry")
        CANCELLED = "cancelled", _("cancelled (voided)")

    class Reason(models.TextChoices):
        NON_WINNER = "non_winner", _("not awarded")
        WINNER = "winner", _("winner after contract")
        WITHDRAWAL = "withdrawal", _("withdrawn before the deadline")
        FAILED_LOT = "failed_lot", _("lot failed / terminated")
        SUSPENSE = "suspense", _("suspense returned to payer")
        STAFF = "staff", _("staff decision")

    batch = models.ForeignKey(RefundBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="refunds")
    suspense = models.ForeignKey(SuspenseItem, null=True, blank=True, on_delete=models.PROTECT, related_name="returns")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    amount_fen = models.BigIntegerField()
    payee_name = models.CharField(max_length=200)
    payee_account = models.CharField(max_length=40)
    # the day the refund is due by law: n working days (due_working_days) after the day it was ordered; NULL while
    # the official calendar does not know a day the count reaches yet (late in the year, before the State Council's
    # arrangement for the next one is loaded): the refund goes out regardless, and the clock tick fills the day in
    # once an administrator loads that year (deposits.services.fill_refund_due_dates). The platform never guesses.
    due_on = models.DateField(null=True, blank=True)
    due_working_days = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    pending_transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, related_name="refund_order")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.CharField(max_length=300, blank=True)
    bank_ref = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="dep_refund_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=["pending", "sent", "confirmed", "failed", "cancelled"]),
                                   name="dep_refund_status"),
            models.UniqueConstraint(fields=["account"], condition=Q(suspense__isnull=True) & ~Q(status="cancelled"),
                                    name="dep_refund_once_per_account"),
            models.UniqueConstraint(fields=["suspense"], condition=Q(suspense__isnull=False) & ~Q(status="cancelled"),
                                    name="dep_return_once_per_item"),
        ]


class Forfeit(models.Model):
    class Grounds(models.TextChoices):
        WITHDREW = "withdrew_after_deadline", _("withdrew after the deadline")
        REFUSED = "refused_to_sign", _("refused to sign the contract")
        COLLUSION = "collusion", _("proven collusion / fraud")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("awaiting supervisor countersignature")
        COUNTERSIGNED = "countersigned", _("countersigned: forfeited")
        REJECTED = "rejected", _("rejected by supervisor")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="forfeits")
    grounds = models.CharField(max_length=24, choices=Grounds.choices)
    reason = models.TextField()
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    countersigned_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    countersigned_at = models.DateTimeField(null=True, blank=True)
    countersign_note = models.TextField(blank=True)
    pending_transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, related_name="forfeit")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["account"], condition=~Q(status="rejected"), name="dep_forfeit_once"),
            models.CheckConstraint(condition=Q(countersigned_by__isnull=True) | ~Q(countersigned_by=F("requested_by")),
                                   name="dep_forfeit_four_eyes"),
            models.CheckConstraint(condition=Q(status="requested") | Q(countersigned_by__isnull=False),
                                   name="dep_forfeit_decided_by_someone"),
        ]


class StatementImport(models.Model):
    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, unique=True)
    format = models.CharField(max_length=10)
    account = models.CharField(max_length=40, blank=True)
    statement_id = models.CharField(max_length=64, blank=True)
    lines = models.PositiveIntegerField()
    opening_fen = models.BigIntegerField(null=True, blank=True)
    closing_fen = models.BigIntegerField(null=True, blank=True)
    ledger_fen = models.BigIntegerField()
    reconciled = models.BooleanField()
    report = models.JSONField(default=dict)
    imported_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
