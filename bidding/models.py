"""Registration (报名) of a bidder for a lot, and bidders' registered signing keys."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.db.models import Q

from trading.models import Lot, Organisation, User


class Registration(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        WITHDRAWN = "withdrawn", _("withdrawn")

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="registrations")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="registrations")
    registered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    declaration = models.JSONField(default=list, help_text="[{condition, met, note}] against the lot's eligibility")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["lot", "bidder"], name="registration_once_per_lot"),
            models.CheckConstraint(condition=Q(status__in=["active", "withdrawn"]), name="registration_status_valid"),
        ]


class BidderKey(models.Model):
    """A bidder organisation's Ed25519 public key, used to verify its envelope signatures."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="signing_keys")
    public_key_hex = models.CharField(max_length=64, unique=True)
    registered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(public_key_hex__regex=r"^[0-9a-f]{64}$"), name="bidder_key_hex"),
        ]
