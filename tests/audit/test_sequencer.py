"""The sequencer, stored proofs and checkpoints against the in-memory reference tree (PostgreSQL)."""
from __future__ import annotations

import hashlib
import json

import base64

import pytest
from django.db import connection, transaction

import audit
import sunlight_verify as sv
from audit import checkpoint as ck
from audit import merkle, proofs, sequencer
from audit.log_models import Checkpoint, Leaf, TreeNode, split_key
from audit.models import Event


def record(n, **kw):
    with transaction.atomic():
        return [audit.record(action="test.thing", subject=f"thing:{i}", payload={"i": i, **kw}) for i in range(n)]


def reference_tree():
    leaves = Leaf.objects.order_by("index").select_related("event")
    assert [l.index for l in leaves] == list(range(len(leaves)))
    for l in leaves:
        assert l.header is not None and json.loads(l.header)["body"] == hashlib.sha256(l.event.canonical_bytes).hexdigest()
        assert bytes(l.hash) == merkle.leaf_hash(l.header.encode())
    return merkle.MemoryTree(bytes(l.hash) for l in leaves)


def test_integrate_assigns_contiguous_leaves_nodes_and_a_signed_checkpoint(db, clock):
    before = Event.objects.count()
    record(37)
    res = sequencer.integrate_all(now=clock.now, limit=10)
    assert res.added == before + 37 and res.size == before + 37
    tree = reference_tree()
    assert {split_key(k) for k in TreeNode.objects.values_list("key", flat=True)} == set(
        merkle.new_perfect_nodes(0, tree.size))
    cp = proofs.latest_checkpoint()
    assert cp is not None and cp.size == tree.size and bytes(cp.root) == tree.root()
    parsed = ck.open_checkpoint(cp.note, sequencer.verifier_key(), origin="sunlight.example/log")
    assert parsed.size == tree.size and parsed.extensions == ()  # no time line: witness cosignatures carry time
    assert cp.created_at == clock.now
    # batches of 10 -> one checkpoint per batch, each a prefix of the next
    sizes = list(Checkpoint.objects.order_by("size").values_list("size", flat=True))
    assert sizes[-1] == tree.size and len(sizes) == -(-tree.size // 10)
    for a, b in zip(sizes, sizes[1:]):
        sv.verify_consistency(a, b, proofs.consistency_proof(a, b), tree.root(a), tree.root(b))
    # nothing pending: integrating again changes nothing
    assert sequencer.integrate(now=clock.now).added == 0
    assert Checkpoint.objects.count() == len(sizes)


def test_stored_proofs_equal_reference_proofs(db, clock):
    record(21)
    sequencer.integrate_all(now=clock.now, limit=8)
    tree = reference_tree()
    n = tree.size
    for size in range(1, n + 1):
        assert proofs.root_at(size) == tree.root(size)
        for index in range(size):
            assert proofs.inclusion_proof(index, size) == tree.inclusion_proof(index, size)
        for first in range(1, size + 1):
            assert proofs.consistency_proof(first, size) == tree.consistency_proof(first, size)


def test_event_proof_verifies_offline(db, clock):
    events = record(5)
    p = proofs.event_proof(events[2], integrate=True).as_json()
    origin, size, root, _ = sv.open_checkpoint(p["checkpoint"], sequencer.verifier_key())
    assert json.loads(p["header"])["body"] == hashlib.sha256(sv.canonical_bytes(events[2].body)).hexdigest()
    leaf = sv.leaf_hash(p["header"].encode())
    assert base64.b64decode(p["leaf_hash"]) == leaf
    sv.verify_inclusion(p["index"], size, leaf, [base64.b64decode(h) for h in p["proof"]], root)


@pytest.mark.parametrize("index,size", [(-1, 3), (5, 3), (0, 0), (0, 10**9)])
def test_unknown_index_or_size_is_a_clear_error(db, clock, index, size):
    record(3)
    sequencer.integrate_all(now=clock.now)
    with pytest.raises(merkle.ProofError):
        proofs.inclusion_proof(index, size)


def test_bad_consistency_requests(db, clock):
    record(4)
    sequencer.integrate_all(now=clock.now)
    n = sequencer.tree_size()
    for a, b in [(3, 2), (0, 2), (1, n + 1), (-1, 2)]:
        with pytest.raises(merkle.ProofError):
            proofs.consistency_proof(a, b)


def test_tick_throttles_checkpoints(db, clock):
    record(2)
    assert sequencer.tick(clock.now) > 0
    record(2)
    assert sequencer.tick(clock.advance(seconds=1)) == 0  # within the interval: wait
    assert sequencer.tick(clock.advance(seconds=2)) == 2
    latest = proofs.latest_checkpoint()
    assert latest is not None and latest.size == sequencer.tree_size() == Event.objects.count()


def test_sequencer_tables_are_append_only(db, clock):
    record(3)
    sequencer.integrate_all(now=clock.now)
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush this test transaction's deferred FK checks
    for sql in [
        "UPDATE audit_leaf SET hash = hash",
        "DELETE FROM audit_leaf",
        "UPDATE audit_treenode SET hash = hash",
        "DELETE FROM audit_checkpoint",
        "TRUNCATE audit_checkpoint CASCADE",
        "UPDATE audit_event SET action = 'x'",
        "TRUNCATE audit_event CASCADE",
    ]:
        with pytest.raises(Exception, match="append-only"):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql)


def test_verify_flags_events_the_sequencer_never_integrated(db, clock):
    from audit.verify import verify_log

    record(2)
    sequencer.integrate_all(now=clock.now)
    assert verify_log(now=clock.now).ok
    late = record(1)[0]
    assert verify_log(now=clock.now).ok  # just recorded: the sequencer has time
    res = verify_log(now=clock.advance(minutes=11))
    assert not res.ok and f"event #{late.pk} is not in the tree" in res.message
    sequencer.tick(clock.now)
    assert verify_log(now=clock.now).ok


def test_production_refuses_to_generate_a_signing_key(settings, tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    settings.PRODUCTION = True
    settings.SUNLIGHT_AUDIT_KEY_FILE = str(tmp_path / "missing.pem")
    sequencer._key.cache_clear()
    try:
        with pytest.raises(ImproperlyConfigured, match="does not exist"):
            sequencer.signing_key()
        assert not (tmp_path / "missing.pem").exists()
    finally:
        sequencer._key.cache_clear()
