"""Checkpoints (C2SP signed notes, Ed25519) and canonical JSON — pure, no database."""
from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import example, given, strategies as st

import sunlight_verify as sv
from audit import checkpoint as ck
from audit.canonical import canonical_bytes

ORIGIN = "sunlight.example/log"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # fixed: pytest-xdist workers must collect the same ids
VKEY = ck.verifier_key(ORIGIN, KEY)
WHEN = dt.datetime(2025, 11, 21, 9, 38, tzinfo=dt.timezone.utc)


def make(size=5, root=b"\x07" * 32):
    return ck.Checkpoint(ORIGIN, size, root, (f"time {ck.format_time(WHEN)}",))


def test_round_trip_and_format():
    note = ck.sign_checkpoint(make(), KEY)
    lines = note.split("\n")
    assert lines[:4] == [ORIGIN, "5", base64.b64encode(b"\x07" * 32).decode(), "time 2025-11-21T09:38:00Z"]
    assert lines[4] == "" and lines[5].startswith("\u2014 " + ORIGIN + " ")
    cp = ck.open_checkpoint(note, VKEY, origin=ORIGIN)
    assert cp == make() and cp.time == WHEN
    assert sv.open_checkpoint(note, VKEY)[:3] == (ORIGIN, 5, b"\x07" * 32)


@given(st.integers(0, 400), st.integers(0, 7))
@example(pos=210, bit=1)  # found by hypothesis: an unused padding bit of the signature's base64
def test_any_flipped_bit_breaks_the_checkpoint(pos, bit):
    note = ck.sign_checkpoint(make(), KEY).encode()
    pos %= len(note)
    bad = bytearray(note)
    bad[pos] ^= 1 << bit
    try:
        text = bad.decode()
    except UnicodeDecodeError:
        return  # not even text: rejected before any parsing
    with pytest.raises(ck.CheckpointError):
        ck.open_checkpoint(text, VKEY, origin=ORIGIN)
    with pytest.raises(sv.VerifyError):
        got = sv.open_checkpoint(text, VKEY)
        if got[0] != ORIGIN:
            raise sv.VerifyError("origin changed")


def test_wrong_key_is_refused():
    other = Ed25519PrivateKey.generate()
    note = ck.sign_checkpoint(make(), other)
    with pytest.raises(ck.CheckpointError, match="not signed by"):
        ck.open_checkpoint(note, VKEY)
    with pytest.raises(sv.VerifyError, match="not signed"):
        sv.open_checkpoint(note, VKEY)
    # same name and key id but a forged signature
    forged = ck.sign_checkpoint(make(size=6), KEY).split("\n\n")[1]
    with pytest.raises(ck.CheckpointError, match="does not verify"):
        ck.open_checkpoint(make().body() + "\n" + forged, VKEY)
    with pytest.raises(sv.VerifyError, match="INVALID"):
        sv.open_checkpoint(make().body() + "\n" + forged, VKEY)


@pytest.mark.parametrize("body", [
    "", "origin\n", "o\n5\n", "o\n05\nAAAA\n", "o\n5\nnot base64!\n", "o\n-1\n" + "A" * 44 + "\n",
    "o\n5\n" + base64.b64encode(b"x" * 31).decode() + "\n", "o\n5\n" + base64.b64encode(b"x" * 32).decode(),
])
def test_malformed_bodies(body):
    with pytest.raises(ck.CheckpointError):
        ck.parse_checkpoint(body)


@pytest.mark.parametrize("vkey", ["", "a+b+c", VKEY.replace("+", "+0", 1), VKEY[:-4] + "AAA=", "x" + VKEY])
def test_malformed_verifier_keys(vkey):
    with pytest.raises(ck.CheckpointError):
        ck.parse_verifier_key(vkey)
    with pytest.raises(sv.VerifyError):
        sv.parse_vkey(vkey)


def test_key_file_created_once(tmp_path):
    path = tmp_path / "k" / "audit.pem"
    k1 = ck.load_or_create_private_key(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    k2 = ck.load_or_create_private_key(path)
    assert ck.verifier_key(ORIGIN, k1) == ck.verifier_key(ORIGIN, k2)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(), kids, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_canonical_is_stable_and_agrees_with_verifier(value):
    data = canonical_bytes(value)
    assert json.loads(data) == value
    assert canonical_bytes(json.loads(data)) == data == sv.canonical_bytes(value)


def test_canonical_layout():
    assert canonical_bytes({"b": 1, "a": [True, None, "日"]}) == '{"a":[true,null,"日"],"b":1}'.encode()


@pytest.mark.parametrize("bad", [1.5, {"x": 0.0}, [float("nan")], {1: "a"}, {"d": WHEN}, b"x", {"s": {1, 2}}])
def test_canonical_rejects_floats_and_non_json(bad):
    with pytest.raises((TypeError, ValueError)):
        canonical_bytes(bad)
