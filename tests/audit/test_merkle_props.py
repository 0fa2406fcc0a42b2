"""Property tests of the pure Merkle module and the standalone verifier (no database)."""
from __future__ import annotations

import hashlib

import pytest
from hypothesis import assume, given, settings, strategies as st

import sunlight_verify as sv
from audit import merkle

MAX = 300


def naive_mth(leaves):
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return merkle.node_hash(naive_mth(leaves[:k]), naive_mth(leaves[k:]))


def leaves_of(n):
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


TREE = merkle.MemoryTree(leaves_of(MAX))
ERRORS = (merkle.ProofError, sv.VerifyError)


def flip(b: bytes, bit: int) -> bytes:
    bit %= len(b) * 8
    arr = bytearray(b)
    arr[bit // 8] ^= 1 << (bit % 8)
    return bytes(arr)


@given(st.integers(0, MAX))
def test_root_matches_naive_definition(n):
    leaves = leaves_of(n)
    assert TREE.root(n) == naive_mth(leaves) == merkle.root_from_leaf_hashes(leaves)


@given(st.integers(0, MAX), st.integers(0, MAX))
def test_new_perfect_nodes_are_exactly_the_completed_ones(a, b):
    a, b = min(a, b), max(a, b)
    def complete(size):
        return {(lvl, i) for lvl in range(1, 10) for i in range(size >> lvl)}
    got = merkle.new_perfect_nodes(a, b)
    assert len(got) == len(set(got))
    assert set(got) == complete(b) - complete(a)


@given(st.data())
def test_inclusion_proofs_verify_and_reject_any_change(data):
    size = data.draw(st.integers(1, MAX))
    index = data.draw(st.integers(0, size - 1))
    root, leaf = TREE.root(size), TREE.levels[0][index]
    proof = TREE.inclusion_proof(index, size)
    for verify in (merkle.verify_inclusion, sv.verify_inclusion):
        verify(index, size, leaf, proof, root)
    # any single flipped bit anywhere (leaf, root, any proof hash) is rejected
    bit = data.draw(st.integers(0, 255))
    target = data.draw(st.integers(-2, len(proof) - 1))
    bad_leaf, bad_root, bad_proof = leaf, root, list(proof)
    if target == -2:
        bad_leaf = flip(leaf, bit)
    elif target == -1:
        bad_root = flip(root, bit)
    else:
        bad_proof[target] = flip(proof[target], bit)
    for verify in (merkle.verify_inclusion, sv.verify_inclusion):
        with pytest.raises(ERRORS):
            verify(index, size, bad_leaf, bad_proof, bad_root)


@given(st.data())
def test_inclusion_rejects_wrong_index_or_size(data):
    size = data.draw(st.integers(1, MAX))
    index = data.draw(st.integers(0, size - 1))
    proof = TREE.inclusion_proof(index, size)
    other = data.draw(st.integers(0, MAX))
    assume(other != index)
    for verify in (merkle.verify_inclusion, sv.verify_inclusion):
        with pytest.raises(ERRORS):
            verify(other, size, TREE.levels[0][index], proof, TREE.root(size))
        with pytest.raises(ERRORS):
            verify(index, size, TREE.levels[0][index], proof + [TREE.root(size)], TREE.root(size))


@given(st.data())
def test_consistency_proofs_verify_and_reject_any_change(data):
    size2 = data.draw(st.integers(1, MAX))
    size1 = data.draw(st.integers(1, size2))
    r1, r2 = TREE.root(size1), TREE.root(size2)
    proof = TREE.consistency_proof(size1, size2)
    for verify in (merkle.verify_consistency, sv.verify_consistency):
        verify(size1, size2, proof, r1, r2)
    bit = data.draw(st.integers(0, 255))
    target = data.draw(st.integers(-2, len(proof) - 1))
    b1, b2, bp = r1, r2, list(proof)
    if target == -2:
        b1 = flip(r1, bit)
    elif target == -1:
        b2 = flip(r2, bit)
    else:
        bp[target] = flip(proof[target], bit)
    for verify in (merkle.verify_consistency, sv.verify_consistency):
        with pytest.raises(ERRORS):
            verify(size1, size2, bp, b1, b2)


@given(st.data())
def test_consistency_between_different_histories_fails(data):
    size2 = data.draw(st.integers(2, MAX))
    size1 = data.draw(st.integers(1, size2 - 1))
    changed = data.draw(st.integers(0, size1 - 1))
    forked = list(TREE.levels[0][:size2])
    forked[changed] = merkle.leaf_hash(b"forged")
    fork = merkle.MemoryTree(forked)
    proof = fork.consistency_proof(size1, size2)
    for verify in (merkle.verify_consistency, sv.verify_consistency):
        with pytest.raises(ERRORS):
            verify(size1, size2, proof, TREE.root(size1), fork.root(size2))


@given(st.integers(0, MAX), st.integers(0, MAX))
def test_bad_sizes_are_errors_not_crashes(a, b):
    assume(not 0 < a <= b <= MAX)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_ranges(a, b)
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_ranges(a, a if a <= b else b)


@settings(max_examples=50)
@given(st.integers(1, MAX), st.data())
def test_proofs_need_only_logarithmic_stored_nodes(size, data):
    index = data.draw(st.integers(0, size - 1))
    ranges = merkle.inclusion_ranges(index, size) + (
        merkle.consistency_ranges(index + 1, size)
    )
    needed = merkle.nodes_for_ranges(ranges)
    assert len(needed) <= 4 * max(1, size.bit_length()) ** 2
    # fetched-node assembly equals the in-memory proof
    nodes = {n: TREE.node(n) for n in needed}
    assert merkle.hashes_for_ranges(merkle.inclusion_ranges(index, size), nodes) == TREE.inclusion_proof(index, size)


@given(st.integers(0, MAX), st.integers(0, 64))
def test_compact_range_appends_store_every_perfect_node(start, extra):
    end = min(MAX, start + extra)
    border = {n: TREE.node(n) for n in merkle.CompactRange.border_nodes(start)}
    cr = merkle.CompactRange(start, border)
    assert cr.root() == TREE.root(start)
    created = []
    for i in range(start, end):
        created += cr.append(TREE.levels[0][i])
    assert cr.root() == TREE.root(end)
    names = [n for n, _ in created]
    assert len(names) == len(set(names)) and set(names) == set(merkle.new_perfect_nodes(start, end))
    assert all(TREE.node(n) == h for n, h in created)
