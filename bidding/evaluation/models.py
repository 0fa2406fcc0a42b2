"""Experts, committees, evaluations, candidates, publicity, awards and contracts (objections: trading.challenges).

Invariants live in the database as well (CHECK / UNIQUE / partial UNIQUE); the services check
them first so that a user gets a clear message instead of an IntegrityError.
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.db.models import F, Q

from bidding.evaluation.scoring import REJECTION_GROUNDS
from trading.models import Lot, Notice, Organisation, User

ODD_SIZES = list(range(3, 52, 2))  # tenders ≥ 5 (rules table), negotiation groups ≥ 3


class Expert(models.Model):
    """An evaluation expert (评标专家). ``pool`` experts are drawn at random; the others are
    tenderee representatives appointed to a committee."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="expert_profile")
    name = models.CharField(max_length=100)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                     help_text="the expert's employer (for the exclusion rules)")
    specialities = models.JSONField(default=list, blank=True)
    region = models.CharField(max_length=100, blank=True)
    available = models.BooleanField(default=True)
    pool = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ConflictDeclaration(models.Model):
    """An expert declares a conflict of interest with a lot (回避): excluded from its draw, or
    replaced by the next reserve if already drawn."""

    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="conflicts")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    declared_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["expert", "lot"], name="eval_conflict_once")]


class Committee(models.Model):
    lot = models.OneToOneField(Lot, on_delete=models.PROTECT, related_name="committee")
    size = models.PositiveSmallIntegerField()
    representatives = models.PositiveSmallIntegerField(default=0)
    commitment = models.CharField(max_length=64)
    seed_hex = models.CharField(max_length=128, help_text="secret until revealed")
    statement = models.JSONField(help_text="what was committed: context, size, eligible experts")
    order = models.JSONField(default=list, blank=True, help_text="the seeded order of the eligible experts")
    revealed = models.BooleanField(default=False)
    committed_at = models.DateTimeField()
    committed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    revealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(size__in=ODD_SIZES), name="eval_committee_odd"),
            # pool experts ≥ 2/3: 3 × (size − representatives) ≥ 2 × size  ⇔  size ≥ 3 × representatives
            models.CheckConstraint(condition=Q(size__gte=F("representatives") * 3), name="eval_committee_pool_share"),
            models.CheckConstraint(condition=Q(revealed=False) | Q(revealed_at__isnull=False),
                                   name="eval_committee_reveal_time"),
        ]


class CommitteeMember(models.Model):
    class Kind(models.TextChoices):
        POOL = "pool", _("pool expert")
        REPRESENTATIVE = "representative", _("tenderee representative")

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="members")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="seats")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    active = models.BooleanField(default=True)
    recused_reason = models.TextField(blank=True)
    joined_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["committee", "expert"], name="eval_member_once"),
            models.CheckConstraint(condition=Q(kind__in=["pool", "representative"]), name="eval_member_kind"),
            models.CheckConstraint(condition=Q(active=True) | ~Q(recused_reason=""), name="eval_member_recusal_reason"),
        ]


class EvaluationPlan(models.Model):
    """The evaluation method of a lot as data (criteria, weights, adjustments, tie-break), declared
    with the tender documents."""

    lot = models.OneToOneField(Lot, on_delete=models.PROTECT, related_name="evaluation_plan")
    method = models.JSONField()
    declared_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    declared_at = models.DateTimeField()


class Evaluation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("in progress")
        REPORTED = "reported", _("reported")
        SUPERSEDED = "superseded", _("superseded by a re-evaluation")

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="evaluations")
    round = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    method = models.JSONField()
    started_at = models.DateTimeField()
    report = models.JSONField(default=dict, blank=True)
    failed = models.BooleanField(default=False)
    reported_at = models.DateTimeField(null=True, blank=True)
    reported_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quote_round = models.PositiveSmallIntegerField(default=1, help_text="negotiation: the current quote round")
    publicity_overdue_flagged = models.BooleanField(default=False)

    class Meta:
        ordering = ["lot_id", "round"]
        constraints = [
            models.UniqueConstraint(fields=["lot", "round"], name="eval_round_unique"),
            models.UniqueConstraint(fields=["lot"], condition=Q(status__in=["open", "reported"]),
                                    name="eval_one_current_per_lot"),
            models.CheckConstraint(condition=Q(status__in=["open", "reported", "superseded"]), name="eval_status_valid"),
            models.CheckConstraint(condition=Q(status="open") | Q(reported_at__isnull=False) | Q(status="superseded"),
                                   name="eval_reported_has_time"),
            models.CheckConstraint(condition=Q(round__gte=1), name="eval_round_positive"),
        ]


class Quote(models.Model):
    """A supplier's quote in a later round of a competitive negotiation (round 1 is the opened bid)."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="quotes")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    round = models.PositiveSmallIntegerField()
    price_fen = models.BigIntegerField()
    submitted_at = models.DateTimeField()
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["round", "submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["lot", "bidder", "round"], name="eval_quote_once_per_round"),
            models.CheckConstraint(condition=Q(round__gte=2), name="eval_quote_later_round"),
            models.CheckConstraint(condition=Q(price_fen__gt=0), name="eval_quote_positive"),
        ]


class Vote(models.Model):
    """An expert's pass/fail on a compliance criterion for one bid."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="votes")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="+")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    criterion = models.CharField(max_length=40)
    passes = models.BooleanField()
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["evaluation", "expert", "bidder", "criterion"],
                                               name="eval_vote_once")]


class Score(models.Model):
    """An expert's points on a scored criterion for one bid (range checked against the plan)."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="scores")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="+")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    criterion = models.CharField(max_length=40)
    points = models.DecimalField(max_digits=7, decimal_places=2)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "expert", "bidder", "criterion"], name="eval_score_once"),
            models.CheckConstraint(condition=Q(points__gte=0) & Q(points__lte=100), name="eval_score_range"),
        ]


class BidReview(models.Model):
    """The committee's decisions on one bid: declared price adjustments, an art. 51 rejection,
    the decision on an abnormally low price."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="reviews")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    adjustments = models.JSONField(default=dict, blank=True)
    rejection_ground = models.CharField(max_length=40, blank=True)
    rejection_reason = models.TextField(blank=True)
    abnormal_accept = models.BooleanField(null=True, blank=True)
    abnormal_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "bidder"], name="eval_review_once"),
            models.CheckConstraint(condition=Q(rejection_ground__in=["", *REJECTION_GROUNDS]),
                                   name="eval_review_listed_ground"),
            models.CheckConstraint(condition=Q(rejection_ground="") | ~Q(rejection_reason=""),
                                   name="eval_review_rejection_reason"),
            models.CheckConstraint(condition=Q(abnormal_accept__isnull=True) | ~Q(abnormal_reason=""),
                                   name="eval_review_abnormal_reason"),
        ]


class Candidate(models.Model):
    class Status(models.TextChoices):
        RANKED = "ranked", _("ranked")
        WITHDRAWN = "withdrawn", _("withdrew")
        DISQUALIFIED = "disqualified", _("disqualified")
        REFUSED = "refused", _("refused to sign")

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="candidates")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveSmallIntegerField()
    price_fen = models.BigIntegerField()
    total = models.CharField(max_length=40, blank=True, help_text="exact total (p/q) for comprehensive scoring")
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.RANKED)
    status_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["evaluation_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "rank"], name="eval_candidate_rank_once"),
            models.UniqueConstraint(fields=["evaluation", "bidder"], name="eval_candidate_bidder_once"),
            models.CheckConstraint(condition=Q(rank__gte=1) & Q(rank__lte=3), name="eval_candidate_top3"),
            models.CheckConstraint(condition=Q(price_fen__gt=0), name="eval_candidate_price_positive"),
            models.CheckConstraint(condition=Q(status="ranked") | ~Q(status_reason=""), name="eval_candidate_reason"),
        ]


class Publicity(models.Model):
    """The candidate publicity (中标候选人公示) of one evaluation."""

    evaluation = models.OneToOneField(Evaluation, on_delete=models.PROTECT, related_name="publicity")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="publicities")
    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    days = models.PositiveSmallIntegerField()
    late = models.BooleanField(default=False, help_text="published after the rule's 3 days")
    cancelled = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(days__gte=3), name="eval_publicity_min_days"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="eval_publicity_ordered"),
        ]


class Award(models.Model):
    """The award (中标/成交) of a lot to one candidate. A withdrawn, disqualified or refusing winner's
    award ends and the next candidate gets a new one; at most one award is live per lot."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("awarded, contract pending")
        CONTRACTED = "contracted", _("contract signed")
        WITHDRAWN = "withdrawn", _("winner withdrew")
        DISQUALIFIED = "disqualified", _("winner disqualified")
        REFUSED = "refused", _("winner refused to sign")
        CANCELLED = "cancelled", _("award cancelled on an objection or complaint")

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="awards")
    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="awards")
    candidate = models.OneToOneField(Candidate, on_delete=models.PROTECT, related_name="award")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveSmallIntegerField()
    price_fen = models.BigIntegerField()
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.ACTIVE)
    awarded_at = models.DateTimeField()
    awarded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    contract_due = models.DateTimeField()
    result_notice = models.ForeignKey(Notice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ended_reason = models.TextField(blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    forfeit_requested = models.BooleanField(default=False)
    overdue_flagged = models.BooleanField(default=False)

    class Meta:
        ordering = ["awarded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["lot"], condition=Q(status__in=["active", "contracted"]),
                                    name="eval_one_live_award_per_lot"),
            models.CheckConstraint(
                condition=Q(status__in=["active", "contracted", "withdrawn", "disqualified", "refused", "cancelled"]),
                name="eval_award_status"),
            models.CheckConstraint(condition=Q(contract_due__gt=F("awarded_at")), name="eval_award_window"),
            models.CheckConstraint(condition=Q(status__in=["active", "contracted"]) | ~Q(ended_reason=""),
                                   name="eval_award_end_reason"),
        ]


class Contract(models.Model):
    award = models.OneToOneField(Award, on_delete=models.PROTECT, related_name="contract")
    lot = models.OneToOneField(Lot, on_delete=models.PROTECT, related_name="contract")
    signed_on = models.DateField()
    amount_fen = models.BigIntegerField()
    documents = models.JSONField(default=list, blank=True, help_text="[{name, sha256}] of the signed documents")
    deposit_mode = models.CharField(max_length=8, help_text="refund | convert")
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="eval_contract_amount_positive"),
            models.CheckConstraint(condition=Q(deposit_mode__in=["refund", "convert", "none"]), name="eval_contract_deposit_mode"),
        ]
