"""Cases (objections, procurement challenges, complaints, disclosure requests), their attachments, and the
suspensions of projects ordered while a complaint is handled.

The filer's contact details stay in these rows only: never in an event body, a page of the public or an
error message (events carry their SHA-256).
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from trading.challenges import lifecycle
from trading.models import Lot, Notice, Organisation, Project, User
from trading.rules import CHALLENGE_RULES, DISCLOSURE_REFUSALS

OUTCOMES = ["", "upheld", "dismissed", "disclosed", "refused"]
REMEDIES = ["", "reevaluate", "retender", "cancel_award"]


class Case(models.Model):
    number = models.CharField(max_length=60, unique=True)
    kind = models.CharField(max_length=30, choices=[(k, r.label[1]) for k, r in CHALLENGE_RULES.items()])
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    follows = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="followed_by",
                                help_text="the objection / challenge a complaint follows")
    filer = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    filer_org = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    filer_key = models.CharField(max_length=80, help_text="who filed, for 'filed twice' (org:/user:/contact:sha256)")
    dedupe = models.CharField(max_length=64, blank=True, help_text="disclosure requests: SHA-256 of the request")
    name = models.CharField(max_length=100, blank=True, help_text="a member of the public's name (private)")
    contact = models.CharField(max_length=200, blank=True, help_text="contact details (private)")
    token_sha256 = models.CharField(max_length=64, blank=True, help_text="a public filer's follow-up token, hashed")
    subject = models.CharField(max_length=200)
    text = models.TextField()
    known_on = models.DateField(null=True, blank=True, help_text="when the filer knew (complaints, challenges)")
    filed_at = models.DateTimeField()
    status = models.CharField(max_length=12, default="filed")
    clock = models.CharField(max_length=10, help_text="the running clock: answer | accept | decide | none")
    clock_started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True, help_text="null: past the known calendar (flagged)")
    calendar_unknown = models.BooleanField(default=False)
    overdue_flagged = models.BooleanField(default=False)
    extended = models.BooleanField(default=False)
    extension_reason = models.TextField(blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, blank=True)
    remedy = models.CharField(max_length=14, blank=True)
    ground = models.CharField(max_length=30, blank=True, help_text="disclosure refused / complaint not accepted: the ground")
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    late = models.BooleanField(default=False, help_text="answered / decided after its deadline")
    notice = models.ForeignKey(Notice, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="where the answer was recorded (opening record)")

    token = ""  # not a column: a public filer's follow-up code, set on the filed case once (only its hash is stored)

    class Meta:
        ordering = ["filed_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=list(CHALLENGE_RULES)), name="case_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=list(lifecycle.STATUSES)), name="case_status_valid"),
            models.CheckConstraint(condition=Q(outcome__in=OUTCOMES), name="case_outcome_valid"),
            models.CheckConstraint(condition=Q(remedy__in=REMEDIES), name="case_remedy_valid"),
            models.CheckConstraint(condition=Q(ground__in=["", "late", "no_standing", "not_objected_first",
                                                           "out_of_scope", *DISCLOSURE_REFUSALS]),
                                   name="case_ground_valid"),
            models.CheckConstraint(condition=Q(status__in=["filed", "accepted"]) | Q(closed_at__isnull=False),
                                   name="case_closed_has_time"),
            models.CheckConstraint(condition=Q(status__in=["filed", "accepted", "withdrawn"]) | ~Q(answer=""),
                                   name="case_closed_with_text"),
            models.CheckConstraint(condition=Q(lot__isnull=True) | Q(project__isnull=False), name="case_lot_has_project"),
            models.CheckConstraint(condition=Q(extended=False) | ~Q(extension_reason=""), name="case_extension_reason"),
            models.UniqueConstraint(fields=["kind", "project", "lot", "filer_key", "dedupe"],
                                    condition=~Q(status="withdrawn"), nulls_distinct=False, name="case_filed_once"),
        ]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return self.number

    @property
    def rule(self):
        return CHALLENGE_RULES[self.kind]

    @property
    def family(self) -> str:
        return self.rule.family

    @property
    def status_label(self) -> str:
        label = lifecycle.STATUSES[self.status][0]
        outcome = {"upheld": "成立", "dismissed": "不成立", "disclosed": "予以公开", "refused": "不予公开/不予受理"}.get(self.outcome)
        return f"{label}（{outcome}）" if outcome else label

    @property
    def public_answer(self) -> str:
        """The answer or decision as published: the filer's name and contact removed."""
        text = self.answer
        for secret in (self.name, self.contact):
            if secret:
                text = text.replace(secret, "***")
        return text

    @property
    def is_open(self) -> bool:
        return self.status in lifecycle.OPEN


class CaseAttachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    role = models.CharField(max_length=10, default="filing", help_text="filing | answer")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to="cases/%Y/%m/")
    public = models.BooleanField(default=False, help_text="a disclosed document is public; filings are not")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="case_attachment_sha256"),
            models.CheckConstraint(condition=Q(role__in=["filing", "answer"]), name="case_attachment_role"),
        ]


class Suspension(models.Model):
    """A supervisor suspends a project while handling a complaint: the lot lifecycle refuses every step
    until it is lifted, and every clock of the project stops; on lifting, they resume."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="suspensions")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="suspensions")
    reason = models.TextField()
    basis = models.TextField(blank=True)
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    limit_at = models.DateTimeField(null=True, blank=True, help_text="the longest the law allows (procurement: 30 days)")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    event_id = models.BigIntegerField()

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project"], condition=Q(lifted_at__isnull=True), name="suspension_one_active"),
            models.CheckConstraint(condition=Q(lifted_at__isnull=True) | Q(lifted_at__gte=models.F("started_at")),
                                   name="suspension_ordered"),
        ]
