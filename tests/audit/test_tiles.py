"""The log as C2SP tlog-tiles: a client that knows only the spec rebuilds the signed root from the
tiles, and every entry hashes to its level-0 tile hash."""
from __future__ import annotations

import hashlib

import pytest
from django.db import transaction
from django.test import Client

import audit
import sunlight_verify as sv
from audit import merkle, sequencer
from audit.tiles import parse_index

pytestmark = pytest.mark.django_db


def path_of(n: int) -> str:
    digits = f"{n:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    parts = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return "/".join([f"x{p}" for p in parts[:-1]] + [parts[-1]])


def test_index_encoding():
    assert path_of(1234067) == "x001/x234/067" and parse_index("x001/x234/067".split("/")) == 1234067
    assert parse_index(["000"]) == 0


def test_tiles_rebuild_the_signed_root(clock):
    with transaction.atomic():
        for i in range(600):
            audit.record(action="test.thing", subject=f"thing:{i}", payload={"i": i})
    sequencer.integrate_all()
    c = Client()
    got = c.get("/api/audit/tlog/checkpoint")
    assert got.status_code == 200 and got["Content-Type"].startswith("text/plain")
    _, size, root, ext = sv.open_checkpoint(got.content.decode(), sequencer.verifier_key())
    assert size == 600 and ext == []  # no time extension line: witnesses' cosignatures carry time
    leaves = b""
    for n in range(size // 256):
        r = c.get(f"/api/audit/tlog/tile/0/{path_of(n)}")
        assert r.status_code == 200 and len(r.content) == 8192 and "immutable" in r["Cache-Control"]
        leaves += r.content
    partial = c.get(f"/api/audit/tlog/tile/0/{path_of(size // 256)}.p/{size % 256}")
    assert partial.status_code == 200 and len(partial.content) == 32 * (size % 256)
    leaves += partial.content
    hashes = [leaves[i:i + 32] for i in range(0, len(leaves), 32)]
    assert merkle.root_from_leaf_hashes(hashes) == root
    level1 = c.get("/api/audit/tlog/tile/1/000.p/2").content
    assert level1 == b"".join(merkle.root_from_leaf_hashes(hashes[i:i + 256]) for i in (0, 256))
    # entry bundles: uint16 length + the leaf header; each hashes to its level-0 hash
    bundle = c.get("/api/audit/tlog/tile/entries/001").content
    entries, at = [], 0
    while at < len(bundle):
        n = int.from_bytes(bundle[at:at + 2], "big")
        entries.append(bundle[at + 2:at + 2 + n])
        at += 2 + n
    assert len(entries) == 256
    assert [hashlib.sha256(b"\x00" + e).digest() for e in entries] == hashes[256:512]
    assert b'"payload"' not in bundle  # headers only, never event bodies
    # what does not exist is a 404 in the one error shape
    for bad in ("tile/0/003", "tile/0/002.p/89", "tile/0/2", "tile/0/x2/000", "tile/64/000", "tile/0/000.p/256",
                "nothing"):
        r = c.get(f"/api/audit/tlog/{bad}")
        assert r.status_code == 404 and r.json()["code"] == "not_found", bad
