"""The audit event: append-only (a database trigger refuses UPDATE, DELETE and TRUNCATE).

`canonical` holds the exact bytes (UTF-8 canonical JSON) that the Merkle leaf hashes; the other
columns are copies of fields inside it, kept for querying. `audit_verify` checks they agree.
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Visibility(models.TextChoices):
    PUBLIC = "public", _("public")
    SUPERVISORS = "supervisors", _("supervisors only")
    SEALED = "sealed", _("sealed")


class Event(models.Model):
    id = models.BigAutoField(primary_key=True)
    # Only the indexes reads need (id, uid, project_id): every extra index slows every business transaction.
    # uid is UNIQUE by a constraint, not unique=True, which on PostgreSQL adds a second (LIKE) index nobody reads.
    uid = models.CharField(max_length=32)
    created_at = models.DateTimeField()
    action = models.CharField(max_length=64)
    subject = models.CharField(max_length=100)
    project_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150)
    actor_role = models.CharField(max_length=20)
    visibility = models.CharField(max_length=12, choices=Visibility.choices, default=Visibility.PUBLIC)
    canonical = models.TextField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(visibility__in=["public", "supervisors", "sealed"]), name="audit_event_visibility"
            ),
            models.UniqueConstraint(fields=["uid"], name="audit_event_uid_key"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.action} {self.subject}"

    @property
    def body(self) -> dict:
        import json

        return json.loads(self.canonical)

    @property
    def payload(self) -> dict:
        return self.body["payload"]

    @property
    def canonical_bytes(self) -> bytes:
        return self.canonical.encode("utf-8")

    @property
    def leaf_hash(self) -> bytes | None:
        """The stored leaf hash (over the leaf header, audit.leaf), or None before integration."""
        try:
            return bytes(self.leaf.hash)
        except Event.leaf.RelatedObjectDoesNotExist:
            return None


from audit.log_models import Checkpoint, Cosignature, Leaf, ProjectSequence, TreeNode  # noqa: E402,F401  (the Merkle tree's own tables)


class EventContext(models.Model):
    """Private: the network address and client (and for bids/deposits the signing key and paying
    account) of the action an event records. The event's canonical body holds only
    sha256(salt ‖ canonical(context)) under "ctx". Supervisors' screens read it; nothing public does."""

    event_uid = models.CharField(max_length=32)  # UNIQUE by the constraint below (one index, no LIKE index)
    context = models.JSONField()
    salt = models.CharField(max_length=32)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event_uid"], name="audit_eventcontext_event_uid_key")]
