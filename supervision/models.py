"""Supervision's own rows: alerts, their recorded steps, and the cursor over the audit log.

Supervision reads the other apps and writes only these tables (DESIGN.md, layout)."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from supervision import lifecycle

KINDS = {
    "card": ("预警牌", "Procedure card"),
    "screen": ("串通投标筛查", "Collusion screen"),
    "market": ("市场层面指标", "Market red flag"),
    "review": ("非常规操作", "Action outside the normal path"),
}
SEVERITIES = {
    "yellow": ("黄牌", "Yellow card"),
    "red": ("红牌", "Red card"),
    "info": ("提示", "For review"),
    "medium": ("中", "Medium"),
    "high": ("高", "High"),
}


class Alert(models.Model):
    key = models.CharField(max_length=200, unique=True, help_text="what makes it the same alert (idempotent raising)")
    ref = models.CharField(max_length=24, unique=True,
                           help_text="public handle: a digest of the key (sequential ids would reveal, by their gaps, "
                                     "alerts still hidden before their deadline)")
    kind = models.CharField(max_length=8, choices=[(k, v[1]) for k, v in KINDS.items()])
    rule = models.CharField(max_length=60, db_index=True)
    severity = models.CharField(max_length=8, choices=[(k, v[1]) for k, v in SEVERITIES.items()])
    title = models.CharField(max_length=300)
    title_en = models.CharField(max_length=300, blank=True)
    basis = models.TextField()
    evidence = models.JSONField(default=dict)
    project = models.ForeignKey("trading.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey("trading.Lot", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    supervisor_org = models.ForeignKey("trading.Organisation", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", help_text="the supervising department (null: every one)")
    status = models.CharField(max_length=12, default="new", db_index=True)
    escalation = models.CharField(max_length=16, blank=True)
    raised_at = models.DateTimeField(db_index=True)
    visible_from = models.DateTimeField(db_index=True, help_text="pre-deadline secret facts: shown from the deadline")
    pushed = models.BooleanField(default=False, help_text="sent to the supervisors' consoles")
    event_id = models.BigIntegerField()

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["pushed", "visible_from"], name="sup_alert_release",
                                condition=Q(pushed=False))]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=list(lifecycle.STATUSES)), name="sup_alert_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=list(KINDS)), name="sup_alert_kind_valid"),
            models.CheckConstraint(condition=Q(severity__in=list(SEVERITIES)), name="sup_alert_severity_valid"),
            models.CheckConstraint(condition=Q(visible_from__gte=models.F("raised_at")), name="sup_alert_visible_after_raise"),
            models.CheckConstraint(
                condition=(Q(status="escalated") & Q(escalation__in=list(lifecycle.ESCALATIONS)))
                | (~Q(status="escalated") & Q(escalation="")),
                name="sup_alert_escalation_named"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.severity} {self.title}"


class AlertStep(models.Model):
    """Every lifecycle step of an alert (and its audit event)."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="steps")
    source = models.CharField(max_length=12)
    action = models.CharField(max_length=12)
    target = models.CharField(max_length=12)
    actor = models.ForeignKey("trading.User", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    escalation = models.CharField(max_length=16, blank=True)
    at = models.DateTimeField()
    event_id = models.BigIntegerField()

    class Meta:
        ordering = ["at", "id"]


class Cursor(models.Model):
    """How far supervision has read the audit log (incremental screening and review listing)."""

    name = models.CharField(max_length=40, unique=True)
    position = models.BigIntegerField(default=0)


class DocumentMeta(models.Model):
    """What an opened bid document's own properties say (author, company, creating software, last saved by),
    read once from its plaintext after the opening (supervision.docmeta) and kept by the document's SHA-256:
    a derived cache of the document, not a business fact (the document itself is in the audit-committed
    envelope). Private like the documents: only the screens read it."""

    sha256 = models.CharField(max_length=64, unique=True)
    meta = models.JSONField(default=dict)
    read_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="sup_docmeta_hex")]


class MarketState(models.Model):
    """Where the market indicators' incremental state stands (supervision.market.Market): a process keeps the
    state in memory and folds in, each tick, only the lots whose result changed since; ``version`` (random, new
    on every fold) tells a process whether its state is the one last saved, else it rebuilds it once."""

    name = models.CharField(max_length=40, unique=True)
    version = models.BigIntegerField(default=0)
    lots = models.IntegerField(default=0)
    saved_at = models.DateTimeField()
