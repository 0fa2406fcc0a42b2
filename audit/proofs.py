"""Proofs served from the stored tree: a handful of indexed rows per proof, never the whole tree.

Errors are ``merkle.ProofError`` with a plain message (the API turns them into 400/404).
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

from audit import merkle
from audit.log_models import Checkpoint, Leaf
from audit.models import Event
from audit.sequencer import fetch_nodes, tree_size


class NotFoundError(merkle.ProofError):
    """The thing asked about does not exist (unknown index, size or event)."""


def b64(h: bytes | memoryview) -> str:
    return base64.b64encode(bytes(h)).decode()


def latest_checkpoint() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-size").first()


def checkpoint_of_size(size: int) -> Checkpoint:
    cp = Checkpoint.objects.filter(size=size).first()
    if cp is None:
        raise NotFoundError("no signed checkpoint has tree size %(size)s", code="no_checkpoint", size=size)
    return cp


def _check_size(size: int) -> None:
    current = tree_size()
    if not 0 < size <= current:
        raise NotFoundError("tree size %(size)s is unknown: the log holds %(current)s entries", code="size_unknown",
                            size=size, current=current)


def _nodes_for(ranges: list, size: int) -> dict:
    """One query for the proof's nodes plus leaf size-1, whose absence means an unknown size."""
    if size >= 1 << 40:
        raise NotFoundError("tree size %(size)s is unknown: the log holds %(current)s entries", code="size_unknown",
                            size=size, current=tree_size())
    try:
        return fetch_nodes(merkle.nodes_for_ranges(ranges), also_leaf=size - 1)
    except merkle.ProofError:
        current = tree_size()
        if size > current:
            raise NotFoundError("tree size %(size)s is unknown: the log holds %(current)s entries",
                                code="size_unknown", size=size, current=current) from None
        raise


def inclusion_proof(index: int, size: int) -> list[bytes]:
    if size < 1:
        raise NotFoundError("tree size %(size)s is unknown: the empty tree has no leaves", code="empty_tree", size=size)
    if not 0 <= index < size:
        raise NotFoundError("leaf index %(index)s is not in a tree of size %(size)s", code="index_unknown", index=index,
                            size=size)
    ranges = merkle.inclusion_ranges(index, size)
    return merkle.hashes_for_ranges(ranges, _nodes_for(ranges, size))


def consistency_proof(size1: int, size2: int) -> list[bytes]:
    if size1 > size2:
        raise merkle.ProofError("first size %(first)s is larger than second size %(second)s", code="sizes_order",
                                first=size1, second=size2)
    if size1 < 1:
        raise merkle.ProofError("the first size must be at least 1", code="first_size")
    ranges = merkle.consistency_ranges(size1, size2)
    return merkle.hashes_for_ranges(ranges, _nodes_for(ranges, size2))


def root_at(size: int) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    _check_size(size)
    return merkle.hash_range(0, size, fetch_nodes(merkle.perfect_nodes(0, size)).__getitem__)


@dataclass(frozen=True)
class EventProof:
    event_id: int
    index: int
    leaf_hash: bytes
    proof: list[bytes]
    checkpoint: Checkpoint
    header: str | None = None

    def as_json(self) -> dict:
        return {
            "event": self.event_id,
            "index": self.index,
            "tree_size": self.checkpoint.size,
            "leaf_hash": b64(self.leaf_hash),
            "header": self.header,
            "proof": [b64(h) for h in self.proof],
            "root": self.checkpoint.root_b64,
            "checkpoint": self.checkpoint.note,
        }


def event_proof(event: Event | int, checkpoint: Checkpoint | None = None, *, integrate: bool = False) -> EventProof:
    """Inclusion proof of an event against a signed checkpoint (default: the latest).

    ``integrate=True`` runs the sequencer first if the event is not in the tree yet (receipts).
    """
    event_id = event if isinstance(event, int) else event.pk
    leaf = Leaf.objects.filter(event_id=event_id).first()
    if leaf is None and integrate:
        from audit.sequencer import integrate_all

        integrate_all()
        leaf = Leaf.objects.filter(event_id=event_id).first()
    if leaf is None:
        raise NotFoundError("event %(event)s is not in the log yet (the sequencer integrates it within seconds)",
                            code="event_not_integrated", event=event_id)
    cp = checkpoint or latest_checkpoint()
    if cp is None or cp.size <= leaf.index:
        raise NotFoundError("event %(event)s is not covered by a signed checkpoint yet", code="event_not_covered",
                            event=event_id)
    return EventProof(event_id, leaf.index, bytes(leaf.hash), inclusion_proof(leaf.index, cp.size), cp, leaf.header)
