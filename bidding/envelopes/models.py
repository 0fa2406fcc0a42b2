"""Sealed envelopes, the lot's opening key and its custody, and the opened bids.

Nothing here ever holds a bid in clear before the opening: `Envelope.ciphertext` is HPKE
ciphertext to the lot's opening key, whose private half exists only as Shamir shares each
sealed to one custodian's own key (`CustodyShare.sealed_share`).
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.db.models import Q

from bidding.models import BidderKey
from trading.models import Lot, Organisation, User


class CustodianKey(models.Model):
    """A custodian's X25519 key that custody shares are sealed to.

    `wrapped_private_key` is the private key encrypted under a key derived (scrypt) from the
    custodian's own custody passphrase, which the platform never stores; empty when the
    custodian keeps the private key off-platform (then the share is presented in clear)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="custody_keys")
    public_key = models.BinaryField()
    wrapped_private_key = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(revoked_at__isnull=True),
                                    name="custodian_one_active_key"),
        ]


class OpeningKey(models.Model):
    """The lot's opening key: public half published; private half only as k-of-n shares."""

    lot = models.OneToOneField(Lot, on_delete=models.PROTECT, related_name="opening_key")
    public_key = models.BinaryField()
    k = models.PositiveSmallIntegerField()
    n = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField()
    event_id = models.BigIntegerField()
    # at the deadline
    sealed_at = models.DateTimeField(null=True, blank=True)
    envelope_count = models.PositiveIntegerField(null=True, blank=True)
    merkle_root = models.CharField(max_length=64, blank=True)
    # at the opening
    opened_at = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(k__gte=2) & Q(n__gte=models.F("k")) & Q(n__lte=32),
                                   name="opening_key_k_of_n"),
        ]

    @property
    def context(self) -> str:
        return f"lot-{self.lot_id}"


class CustodyShare(models.Model):
    opening_key = models.ForeignKey(OpeningKey, on_delete=models.PROTECT, related_name="shares")
    custodian = models.ForeignKey(User, on_delete=models.PROTECT, related_name="custody_shares")
    custodian_key = models.ForeignKey(CustodianKey, on_delete=models.PROTECT, related_name="+")
    x = models.PositiveSmallIntegerField()
    sealed_share = models.BinaryField()
    digest = models.CharField(max_length=64)
    presented_at = models.DateTimeField(null=True, blank=True)
    # the share in clear between its presentation and the opening (after the deadline only); wiped at opening
    presented_share = models.TextField(blank=True)

    class Meta:
        ordering = ["x"]
        constraints = [
            models.UniqueConstraint(fields=["opening_key", "custodian"], name="custody_one_share_each"),
            models.UniqueConstraint(fields=["opening_key", "x"], name="custody_share_x_unique"),
            models.CheckConstraint(condition=Q(digest__regex=r"^[0-9a-f]{64}$"), name="custody_digest_hex"),
            models.CheckConstraint(condition=Q(presented_share="") | Q(presented_at__isnull=False),
                                   name="custody_presented_has_time"),
        ]


class Envelope(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        REPLACED = "replaced", _("replaced")
        WITHDRAWN = "withdrawn", _("withdrawn")

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="envelopes")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="envelopes")
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    bidder_key = models.ForeignKey(BidderKey, on_delete=models.PROTECT, related_name="+")
    ciphertext = models.BinaryField()
    size = models.PositiveIntegerField()
    digest = models.CharField(max_length=64, unique=True)
    signature = models.BinaryField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    submitted_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    receipt = models.JSONField(default=dict)
    receipt_signature = models.CharField(max_length=128, help_text="the platform's Ed25519 signature of the receipt, hex (base64 in rows written before the hex rule)")
    event_id = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["lot", "bidder"], condition=Q(status="active"),
                                    name="envelope_one_active_per_bidder"),
            models.CheckConstraint(condition=Q(status__in=["active", "replaced", "withdrawn"]),
                                   name="envelope_status_valid"),
            models.CheckConstraint(condition=Q(digest__regex=r"^[0-9a-f]{64}$"), name="envelope_digest_hex"),
            models.CheckConstraint(condition=Q(status="active") | Q(ended_at__isnull=False),
                                   name="envelope_ended_has_time"),
        ]


class OpenedBid(models.Model):
    """The outcome of one envelope at the opening (art. 31 for those that could not be read)."""

    class Outcome(models.TextChoices):
        VALID = "valid", _("opened")
        REVOKED = "revoked", _("treated as revoked (bidder at fault)")
        WITHDRAWN = "withdrawn", _("treated as withdrawn (not the bidder's fault)")

    envelope = models.OneToOneField(Envelope, on_delete=models.PROTECT, related_name="opened")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="opened_bids")
    bidder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    price_fen = models.BigIntegerField(null=True, blank=True)
    terms = models.JSONField(default=dict)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_reason = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    # this envelope's own HPKE content key (AEAD key || nonce), kept once it is opened so the bid
    # documents are read from the stored ciphertext (opens this envelope only; the lot key is wiped)
    content_key = models.BinaryField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(outcome__in=["valid", "revoked", "withdrawn"]),
                                   name="opened_outcome_valid"),
            models.CheckConstraint(
                condition=(Q(outcome="valid") & Q(price_fen__gt=0) & Q(failure_code=""))
                | (~Q(outcome="valid") & Q(price_fen__isnull=True) & ~Q(failure_code="")),
                name="opened_valid_has_price"),
            models.UniqueConstraint(fields=["lot", "bidder"], name="opened_once_per_bidder"),
        ]

    @property
    def valid(self) -> bool:
        return self.outcome == self.Outcome.VALID


class OpenedDocument(models.Model):
    """A bid document of an opened envelope: metadata; its bytes are read from the envelope with
    the bid's content key (`bidding.envelopes.selectors.document_content`)."""

    bid = models.ForeignKey(OpenedBid, on_delete=models.PROTECT, related_name="documents")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
