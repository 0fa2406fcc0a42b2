"""The Merkle tree over the events, kept by the sequencer in its own insert-only tables.

* ``Leaf``: leaf index -> event, and the leaf hash SHA-256(0x00 || event.canonical).
  Indices are contiguous from 0, assigned in batches by ``audit.sequencer`` only.
* ``TreeNode``: the hash of every *perfect* subtree of level >= 1 (``key = level << 48 | index``),
  enough to answer any inclusion or consistency proof with O(log n) rows and no recomputation.
* ``ProjectSequence``: each project's number of integrated events (its leaves carry tag(n)).
* ``Checkpoint``: signed tree heads (C2SP tlog-checkpoint in a signed note, Ed25519).

All three refuse UPDATE, DELETE and TRUNCATE (trigger in the migration); business transactions
never write them, so they never queue behind a global row.
"""
from __future__ import annotations

import base64

from django.db import models
from django.db.models import Q

LEVEL_SHIFT = 48


def node_key(level: int, index: int) -> int:
    return (level << LEVEL_SHIFT) | index


def split_key(key: int) -> tuple[int, int]:
    return key >> LEVEL_SHIFT, key & ((1 << LEVEL_SHIFT) - 1)


class Leaf(models.Model):
    index = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField("audit.Event", on_delete=models.PROTECT, related_name="leaf")
    hash = models.BinaryField(max_length=32)
    header = models.TextField(null=True, blank=True,  # noqa: DJ001 (NULL = a leaf of format 1: no header)
                              help_text="the leaf header the hash is over (audit.leaf); empty for leaves of format 1")

    class Meta:
        ordering = ["index"]
        constraints = [models.CheckConstraint(condition=Q(index__gte=0), name="audit_leaf_index_not_negative")]

    def __str__(self) -> str:
        return f"leaf {self.index} = event {self.event_id}"


class ProjectSequence(models.Model):
    """How many events of each project the sequencer has integrated (the next event's n - 1).
    Written only by the sequencer, under its lock; ``audit_verify`` recomputes it from the leaves."""

    project_id = models.BigIntegerField(primary_key=True)
    count = models.BigIntegerField(default=0)


class TreeNode(models.Model):
    key = models.BigIntegerField(primary_key=True)
    hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(key__gte=1 << LEVEL_SHIFT), name="audit_node_level_positive")]

    @property
    def node(self) -> tuple[int, int]:
        return split_key(self.key)


class Checkpoint(models.Model):
    size = models.BigIntegerField(unique=True)
    root = models.BinaryField(max_length=32)
    created_at = models.DateTimeField(db_index=True)
    note = models.TextField(help_text="the signed note: C2SP tlog-checkpoint body + Ed25519 signature line")
    max_event_id = models.BigIntegerField(default=0, help_text="largest event id integrated so far")

    class Meta:
        ordering = ["-size"]
        get_latest_by = "size"
        constraints = [models.CheckConstraint(condition=Q(size__gte=0), name="audit_checkpoint_size_not_negative")]

    def __str__(self) -> str:
        return f"checkpoint {self.size} {self.root_b64}"

    @property
    def root_b64(self) -> str:
        return base64.b64encode(bytes(self.root)).decode()


class Cosignature(models.Model):
    """A witness's cosignature line (C2SP tlog-cosignature, cosignature/v1) on one of our checkpoints."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="cosignatures")
    witness = models.CharField(max_length=300, help_text="the witness's cosigner vkey")
    line = models.TextField(help_text="the note signature line the witness returned")
    timestamp = models.BigIntegerField(help_text="the cosignature's time (POSIX seconds)")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["checkpoint", "witness"], name="audit_one_cosignature_per_witness")]
