"""Every case of shared/standards/rfc6962-testdata, happy paths and expected failures,
against both audit.merkle and the standalone verifier (sunlight_verify)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

import sunlight_verify
from audit import merkle

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "standards" / "rfc6962-testdata"

# The reference tree of the transparency-dev vectors (RFC 6962 test leaves).
LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]


def _b(s):
    return base64.b64decode(s) if s else b""


def _proof(p):
    return None if p is None else [_b(x) for x in p]


def _cases(kind):
    files = sorted((VECTORS / kind).rglob("*.json"))
    assert files, f"no vectors under {VECTORS / kind}"
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(VECTORS))) for f in files]


def _outcome(fn, *args):
    try:
        fn(*args)
    except (merkle.ProofError, sunlight_verify.VerifyError) as exc:
        return str(exc) or "error"
    return None


def test_vector_count():
    assert len(list(VECTORS.rglob("*.json"))) >= 500


@pytest.mark.parametrize("case", _cases("inclusion"))
def test_inclusion(case):
    args = (case["leafIdx"], case["treeSize"], _b(case["leafHash"]), _proof(case["proof"]) or [], _b(case["root"]))
    for fn in (merkle.verify_inclusion, sunlight_verify.verify_inclusion):
        err = _outcome(fn, *args)
        assert (err is not None) == case["wantErr"], (fn.__module__, case["desc"], err)


@pytest.mark.parametrize("case", _cases("consistency"))
def test_consistency(case):
    args = (case["size1"], case["size2"], _proof(case["proof"]), _b(case["root1"]), _b(case["root2"]))
    for fn in (merkle.verify_consistency, sunlight_verify.verify_consistency):
        err = _outcome(fn, *args)
        assert (err is not None) == case["wantErr"], (fn.__module__, case["desc"], err)


@pytest.mark.parametrize("case", _cases("subtreeinclusion"))
def test_subtree_inclusion(case):
    err = _outcome(
        merkle.verify_subtree_inclusion, case["leafIdx"], case["start"], case["end"],
        _b(case["leafHash"]), _proof(case["proof"]) or [], _b(case["root"]),
    )
    assert (err is not None) == case["wantErr"], (case["desc"], err)


@pytest.mark.parametrize("case", _cases("subtreeconsistency"))
def test_subtree_consistency(case):
    err = _outcome(
        merkle.verify_subtree_consistency, case["start"], case["end"], case["size"],
        _proof(case["proof"]), _b(case["root1"]), _b(case["root2"]),
    )
    assert (err is not None) == case["wantErr"], (case["desc"], err)


def _happy(kind):
    return [c for c in _cases(kind) if c.values[0]["desc"] == "happy path"]


@pytest.mark.parametrize("case", _happy("inclusion"))
def test_generated_inclusion_matches_vectors(case):
    if case["treeSize"] > len(LEAVES):
        pytest.skip("vector tree larger than the reference leaves")
    tree = merkle.MemoryTree(merkle.leaf_hash(x) for x in LEAVES)
    assert tree.root(case["treeSize"]) == _b(case["root"])
    assert tree.inclusion_proof(case["leafIdx"], case["treeSize"]) == (_proof(case["proof"]) or [])


@pytest.mark.parametrize("case", _happy("consistency"))
def test_generated_consistency_matches_vectors(case):
    if case["size2"] > len(LEAVES):
        pytest.skip("vector tree larger than the reference leaves")
    tree = merkle.MemoryTree(merkle.leaf_hash(x) for x in LEAVES)
    assert tree.root(case["size1"]) == _b(case["root1"])
    assert tree.root(case["size2"]) == _b(case["root2"])
    assert tree.consistency_proof(case["size1"], case["size2"]) == (_proof(case["proof"]) or [])
