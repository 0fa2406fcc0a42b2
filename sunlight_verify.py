#!/usr/bin/env python3
"""sunlight-verify: check a Sunlight project archive offline.

    sunlight-verify ARCHIVE.zip [--key 'sunlight.example/log+1a2b3c4d+AQ...']

Uses only the Python standard library and `cryptography`; reads no database. It checks:

1. the checkpoint (tree size + root hash) carries a valid Ed25519 signed-note signature by
   the platform key (pass --key with the key published on the portal; otherwise the key
   inside the archive is used and you are told to compare it yourself);
2. every event, hashed as an RFC 6962 leaf over its canonical JSON, is in that tree at its
   stated index (inclusion proof);
3. the events, replayed in order, give the result the archive claims;
4. the document list matches its hashes.

Exit status 0 means verified; anything else prints the first problem and exits 1.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
import zipfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

def _b64decode(text):
    """Strict base64: only the canonical encoding (unused padding bits zero), so a note cannot be
    changed without changing what it says (a flipped padding bit would otherwise decode the same)."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw) != (text.encode("ascii") if isinstance(text, str) else bytes(text)):
        raise binascii.Error("non-canonical base64")
    return raw


FORMAT = "sunlight-archive/1"
MAX_MEMBER = 1 << 30  # refuse archive members larger than 1 GiB


class VerifyError(Exception):
    """The archive does not verify; the message says why in plain words."""


# ---------------------------------------------------------------- canonical JSON + hashes

def canonical_bytes(obj) -> bytes:
    def check(o, path):
        if isinstance(o, float):
            raise VerifyError(f"float at {path}: not canonical")
        if isinstance(o, dict):
            for k, v in o.items():
                if not isinstance(k, str):
                    raise VerifyError(f"non-string key at {path}")
                check(v, f"{path}.{k}")
        elif isinstance(o, list):
            for i, v in enumerate(o):
                check(v, f"{path}[{i}]")
        elif not (o is None or isinstance(o, (str, int, bool))):
            raise VerifyError(f"{type(o).__name__} at {path}: not JSON")

    check(obj, "$")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


# ------------------------------------------------------------------- RFC 6962 proofs

def _chain(seed, proof, index, inner, left_only=False):
    for i, h in enumerate(proof[:inner]):
        if (index >> i) & 1:
            seed = node_hash(h, seed)
        elif not left_only:
            seed = node_hash(seed, h)
    for h in proof[inner:]:
        seed = node_hash(h, seed)
    return seed


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list, root: bytes) -> None:
    """RFC 9162 2.1.3.2: leaf `index` is in the tree (size, root)."""
    if not 0 <= index < size:
        raise VerifyError(f"index {index} is outside a tree of size {size}")
    if len(leaf) != 32:
        raise VerifyError("leaf hash is not 32 bytes")
    inner = (index ^ (size - 1)).bit_length()
    if len(proof) != inner + bin(index >> inner).count("1"):
        raise VerifyError(f"inclusion proof for index {index} has the wrong length")
    if _chain(leaf, proof, index, inner) != root:
        raise VerifyError(f"inclusion proof for index {index} does not lead to the checkpoint root")


def verify_consistency(size1: int, size2: int, proof, root1: bytes, root2: bytes) -> None:
    """RFC 9162 2.1.4.2: tree (size1, root1) is a prefix of tree (size2, root2)."""
    proof = list(proof or [])
    if size2 < size1:
        raise VerifyError(f"first size {size1} is larger than second size {size2}")
    if size1 == 0:
        raise VerifyError("consistency from the empty tree proves nothing")
    if size1 == size2:
        if proof or root1 != root2:
            raise VerifyError("equal sizes need an empty proof and equal roots")
        return
    if not proof:
        raise VerifyError("empty consistency proof")
    shift = (size1 & -size1).bit_length() - 1  # trailing zero bits of size1
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length() - shift
    seed, proof = (root1, proof) if size1 == 1 << shift else (proof[0], proof[1:])
    mask = (size1 - 1) >> shift
    border = bin(mask >> inner).count("1")
    if len(proof) != inner + border:
        raise VerifyError("consistency proof has the wrong length")
    if _chain(seed, proof, mask, inner, left_only=True) != root1:
        raise VerifyError("consistency proof does not match the first root")
    if _chain(seed, proof, mask, inner) != root2:
        raise VerifyError("consistency proof does not match the second root")


# ------------------------------------------------------- signed checkpoints (C2SP notes)

def _key_id(name: str, pub: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]


def parse_vkey(vkey: str):
    try:
        name, hexid, b64 = vkey.strip().split("+", 2)
        raw = _b64decode(b64)
        ok = len(raw) == 33 and raw[0] == 1 and bytes.fromhex(hexid) == _key_id(name, raw[1:])
    except (ValueError, binascii.Error):
        ok = False
    if not ok:
        raise VerifyError("the public key is not a valid Ed25519 note verifier key")
    return name, raw[1:]


def open_checkpoint(note: str, vkey: str):
    """Verify the note signature, then parse origin / size / root of the checkpoint."""
    name, pub = parse_vkey(vkey)
    text, sep, sigs = note.rpartition("\n\n")
    text += "\n"
    if not sep or not sigs.endswith("\n"):
        raise VerifyError("the checkpoint is not a signed note")
    kid, found = _key_id(name, pub), False
    for line in sigs[:-1].split("\n"):
        sig_name, _, b64 = line.removeprefix("\u2014 ").partition(" ")
        try:
            raw = _b64decode(b64)
        except binascii.Error:
            raise VerifyError("malformed checkpoint signature line") from None
        if line.startswith("\u2014 ") and sig_name == name and raw[:4] == kid:
            try:
                Ed25519PublicKey.from_public_bytes(pub).verify(raw[4:], text.encode())
            except InvalidSignature:
                raise VerifyError("the checkpoint signature is INVALID for the platform key") from None
            found = True
    if not found:
        raise VerifyError("the checkpoint is not signed by the platform key")
    lines = text[:-1].split("\n")
    try:
        origin, size, root = lines[0], int(lines[1]), _b64decode(lines[2])
    except (IndexError, ValueError, binascii.Error):
        raise VerifyError("the checkpoint body is malformed") from None
    if not origin or len(root) != 32 or lines[1] != str(size) or size < 0:
        raise VerifyError("the checkpoint body is malformed")
    return origin, size, root, lines[3:]


# ----------------------------------------------------------------- result replay

def replay_result(events: list) -> dict:
    """The outcome of a project from its events alone: each lot's last status and its award.

    Deliberately small so an outsider can read it; the platform's own replay (audit/replay)
    computes the claimed result independently, and the two must agree.
    """
    lots: dict = {}
    for ev in events:
        p = ev.get("payload") or {}
        if ev.get("action") not in ("lot.transition", "evaluation.award", "auction.award", "evaluation.award_end"):
            continue
        lot = lots.setdefault(str(p.get("lot")), {"status": None, "award": None})
        if ev["action"] == "lot.transition":
            lot["status"] = p.get("to")
        elif ev["action"] == "evaluation.award_end":
            lot["award"] = None
        else:
            lot["award"] = {"bidder": p.get("bidder"), "price_fen": p.get("price_fen")}
    return {"lots": lots}


# --------------------------------------------------------------------- the archive

def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise VerifyError(f"the archive has no {name}") from None
    if info.file_size > MAX_MEMBER:
        raise VerifyError(f"{name} is too large")
    return zf.read(info)


def _json(data: bytes, what: str):
    def no_float(s):
        raise VerifyError(f"{what} contains a float (not canonical JSON)")

    try:
        return json.loads(data.decode("utf-8"), parse_float=no_float, parse_constant=no_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerifyError(f"{what} is not valid JSON: {exc}") from None


def verify_archive(path: str, trusted_key: str | None = None, log=print) -> dict:
    """Verify the archive at `path`; return its manifest, or raise VerifyError."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise VerifyError(f"cannot open the archive: {exc}") from None
    with zf:
        manifest = _json(_read(zf, "manifest.json"), "manifest.json")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise VerifyError(f"not a {FORMAT} archive")
        vkey = _read(zf, "public_key.txt").decode("utf-8", "replace").strip()
        if trusted_key is not None and vkey != trusted_key.strip():
            raise VerifyError("the archive is signed with a different key than the one you trust")
        if trusted_key is None:
            log(f"NOTE: using the key inside the archive: {vkey}\n      compare it with the key published on the portal.")
        note = _read(zf, "checkpoint.txt").decode("utf-8", "replace")
        origin, size, root, _ext = open_checkpoint(note, vkey)
        if manifest.get("origin", origin) != origin:
            raise VerifyError(f"the checkpoint is from log {origin!r}, the manifest names {manifest.get('origin')!r}")
        log(f"ok  checkpoint signed by {origin}: tree size {size}, root {root.hex()}")

        events, seen = [], set()
        for n, line in enumerate(_read(zf, "events.jsonl").splitlines(), 1):
            rec = _json(line, f"events.jsonl line {n}")
            try:
                index, event = rec["index"], rec["event"]
                proof = [_b64decode(p) for p in rec["proof"]]
            except (TypeError, KeyError, ValueError, binascii.Error):
                raise VerifyError(f"events.jsonl line {n} is malformed") from None
            if not isinstance(index, int) or isinstance(index, bool) or index in seen:
                raise VerifyError(f"events.jsonl line {n}: bad or repeated index")
            if events and index < events[-1][0]:
                raise VerifyError(f"events.jsonl line {n}: events are out of order")
            seen.add(index)
            try:
                verify_inclusion(index, size, leaf_hash(canonical_bytes(event)), proof, root)
            except VerifyError as exc:
                raise VerifyError(f"event at index {index} (line {n}) is NOT in the signed log: {exc}") from None
            events.append((index, event))
        if len(events) != manifest.get("event_count"):
            raise VerifyError(f"the manifest claims {manifest.get('event_count')} events, found {len(events)}")
        log(f"ok  {len(events)} events, each proven to be in the signed log")

        claimed = manifest.get("result")
        got = replay_result([e for _, e in events])
        if got != claimed:
            raise VerifyError(f"replaying the events gives {json.dumps(got)}, the archive claims {json.dumps(claimed)}")
        log("ok  replaying the events gives the claimed result")

        for doc in manifest.get("documents", []):
            if not isinstance(doc, dict) or not isinstance(doc.get("sha256"), str) or len(doc["sha256"]) != 64:
                raise VerifyError("the document list is malformed")
            member = doc.get("file")
            if member and hashlib.sha256(_read(zf, member)).hexdigest() != doc["sha256"]:
                raise VerifyError(f"document {member} does not match its hash")
        log(f"ok  {len(manifest.get('documents', []))} document hashes listed")
    return manifest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="sunlight-verify", description=__doc__.split("\n\n")[0])
    ap.add_argument("archive")
    ap.add_argument("--key", help="the platform verifier key you trust (from the portal)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    try:
        manifest = verify_archive(args.archive, args.key, log=(lambda *a: None) if args.quiet else print)
    except VerifyError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    project = manifest.get("project") if isinstance(manifest.get("project"), dict) else {}
    print(f"VERIFIED: archive of project {project.get('code', '?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
