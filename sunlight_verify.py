#!/usr/bin/env python3
"""sunlight-verify: check a Sunlight project archive offline.

    sunlight-verify ARCHIVE.zip --key 'ORIGIN+KEYID+BASE64'      (the key published by the platform)
    sunlight-verify ARCHIVE.zip --key-fingerprint SHA256HEX       (or its fingerprint, from the portal)
        [--in-progress] [--policy POLICY] [--log https://platform/]

Standard library and `cryptography` only; reads no database. The trusted key must come from
outside the archive: an archive cannot vouch for itself. It checks, stopping at the first problem:

1. the manifest (project, every event's leaf index, document hashes, result, checkpoint) carries
   the log key's signature, and the checkpoint too (with --policy: and a quorum of witnesses);
2. every event's leaf header is in the signed tree at its index (RFC 6962 inclusion proof) and
   every event body given matches the hash in its header; only non-public bodies may be withheld;
3. the events are exactly the project's sequence 1, 2, 3 … (each header's tag is
   HMAC(project key, n); the project key is revealed after the deadlines) and every event body
   names the project: nothing missing, nothing added, nothing reordered;
4. the closing event commits to the final count: exit 0 only for a closed project with all its
   events, or with --in-progress for a running one ("in progress as of …", never a result);
5. every document's bytes match the hash its `document.attach` event recorded;
6. replaying the events gives the published result (tender candidates and award, auction and
   listing winner and price, each lot's status);
7. with --log URL: the archive's checkpoint is consistent with the log's current one, and how stale.

Exit status 0 means verified; anything else prints the first problem and exits 1.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import struct
import sys
import urllib.request
import zipfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "sunlight-archive/2"
MAX_MEMBER = 1 << 30  # refuse archive members larger than 1 GiB
CLOSE_ACTION = "project.close"


class VerifyError(Exception):
    """The archive does not verify; the message says why in plain words."""


def _b64decode(text):
    """Strict base64: only the canonical encoding, so an encoding cannot change without the bytes."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw) != (text.encode("ascii") if isinstance(text, str) else bytes(text)):
        raise binascii.Error("non-canonical base64")
    return raw


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


def project_tag(key: bytes, n: int) -> str:
    """The tag of a project's n-th event (audit/leaf.py)."""
    return hmac.new(key, str(n).encode(), hashlib.sha256).hexdigest()


def _plain(obj) -> bytes:
    """canonical_bytes of a value json.loads produced (no floats: _json refuses them)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


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


# ----------------------------------------------- signed notes, checkpoints, cosignatures

def _key_id(name: str, pub: bytes, alg: bytes = b"\x01") -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + alg + pub).digest()[:4]


def parse_vkey(vkey: str, alg: int = 1):
    """A C2SP signed-note verifier key `name+hexid+base64(alg || key)` (alg 1: Ed25519,
    alg 4: a witness's cosignature/v1 key)."""
    try:
        name, hexid, b64 = vkey.strip().split("+", 2)
        raw = _b64decode(b64)
        ok = len(raw) == 33 and raw[0] == alg and bytes.fromhex(hexid) == _key_id(name, raw[1:], raw[:1])
    except (ValueError, binascii.Error):
        ok = False
    if not ok or not name:
        raise VerifyError(f"{vkey.strip()[:60]!r} is not a valid Ed25519 note verifier key")
    return name, raw[1:]


def fingerprint(vkey: str) -> str:
    """What the portal prints next to the key: SHA-256 of the verifier key string, hex."""
    return hashlib.sha256(vkey.strip().encode()).hexdigest()


def note_signatures(note: str):
    """(text, [(name, key id, signature bytes)]) of a signed note."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not sigs.endswith("\n") or "\r" in note:
        raise VerifyError("not a signed note")
    out = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise VerifyError("malformed signature line")
        name, _, b64 = line[2:].partition(" ")
        try:
            raw = _b64decode(b64)
        except binascii.Error:
            raise VerifyError("malformed signature line") from None
        if len(raw) < 5:
            raise VerifyError("malformed signature line")
        out.append((name, raw[:4], raw[4:]))
    return text + "\n", out


def verify_note(note: str, vkey: str) -> str:
    """The note's text if the key `vkey` signed it."""
    name, pub = parse_vkey(vkey)
    text, sigs = note_signatures(note)
    kid = _key_id(name, pub)
    for sig_name, sig_kid, sig in sigs:
        if sig_name == name and sig_kid == kid:
            try:
                Ed25519PublicKey.from_public_bytes(pub).verify(sig, text.encode())
            except InvalidSignature:
                raise VerifyError(f"the signature by {name} is INVALID") from None
            return text
    raise VerifyError(f"not signed by the trusted key {name}")


def parse_checkpoint(text: str):
    lines = text[:-1].split("\n")
    try:
        origin, size, root = lines[0], int(lines[1]), _b64decode(lines[2])
    except (IndexError, ValueError, binascii.Error):
        raise VerifyError("the checkpoint body is malformed") from None
    if not origin or len(root) != 32 or lines[1] != str(size) or size < 0:
        raise VerifyError("the checkpoint body is malformed")
    return origin, size, root


def open_checkpoint(note: str, vkey: str):
    """Verify the note signature, then parse origin / size / root of the checkpoint."""
    try:
        text = verify_note(note, vkey)
    except VerifyError as exc:
        raise VerifyError(f"the checkpoint: {exc}") from None
    origin, size, root = parse_checkpoint(text)
    if origin != parse_vkey(vkey)[0]:
        raise VerifyError(f"the checkpoint is of log {origin!r}, not of the trusted key's log")
    return origin, size, root, text[:-1].split("\n")[3:]


def cosignature_time(note: str, witness_vkey: str) -> int | None:
    """C2SP tlog-cosignature (cosignature/v1): the timestamp if the witness validly cosigned."""
    name, pub = parse_vkey(witness_vkey, alg=4)
    text, sigs = note_signatures(note)
    kid = _key_id(name, pub, b"\x04")
    for sig_name, sig_kid, sig in sigs:
        if sig_name == name and sig_kid == kid and len(sig) == 72:
            ts = struct.unpack(">Q", sig[:8])[0]
            msg = f"cosignature/v1\ntime {ts}\n{text}".encode()
            try:
                Ed25519PublicKey.from_public_bytes(pub).verify(sig[8:], msg)
            except InvalidSignature:
                return None
            return ts
    return None


def parse_policy(text: str) -> dict:
    """A C2SP tlog-policy: `log <vkey> [url]`, `witness <name> <vkey> [url]`,
    `group <name> <k|all|any> <member>…` (members defined on earlier lines), `quorum <name|none>`."""
    policy: dict = {"logs": [], "witnesses": {}, "groups": {}, "quorum": None}
    for raw in text.splitlines():
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        kind, known = words[0], set(policy["witnesses"]) | set(policy["groups"])
        if kind == "log" and len(words) in (2, 3):
            parse_vkey(words[1])
            policy["logs"].append(words[1])
        elif kind == "witness" and len(words) in (3, 4) and words[1] not in known | {"none"}:
            parse_vkey(words[2], alg=4)
            policy["witnesses"][words[1]] = words[2]
        elif kind == "group" and len(words) >= 4 and words[1] not in known | {"none"}:
            members = words[3:]
            k = {"all": len(members), "any": 1}.get(words[2]) or (int(words[2]) if words[2].isdigit() else 0)
            if not 1 <= k <= len(members) or len(set(members)) != len(members) or not set(members) <= known:
                raise VerifyError(f"policy group {words[1]!r} is malformed")
            policy["groups"][words[1]] = (k, members)
        elif kind == "quorum" and len(words) == 2 and policy["quorum"] is None and words[1] in known | {"none"}:
            policy["quorum"] = words[1]
        else:
            raise VerifyError(f"policy line not understood: {raw.strip()[:60]!r}")
    if policy["quorum"] is None:
        raise VerifyError("the policy names no quorum")
    return policy


def check_quorum(note: str, policy: dict) -> int | None:
    """Raise unless the policy's quorum of witnesses validly cosigned the checkpoint note;
    return the latest time a witness of the quorum cosigned it (POSIX seconds)."""
    times = {name: cosignature_time(note, vkey) for name, vkey in policy["witnesses"].items()}

    def witnessed(name: str) -> bool:
        if name in times:
            return times[name] is not None
        k, members = policy["groups"][name]
        return sum(witnessed(m) for m in members) >= k

    if policy["quorum"] == "none":
        return None
    if not witnessed(policy["quorum"]):
        got = sum(t is not None for t in times.values())
        raise VerifyError(f"the checkpoint lacks the witness quorum the policy requires ({got} of "
                          f"{len(times)} witnesses cosigned it)")
    return max((t for t in times.values() if t is not None), default=None)


# ----------------------------------------------------------------- result replay

def replay_result(events: list) -> dict:
    """The result of a project from its public events alone, checking the auction as it goes:
    each lot's final status, the candidates publicised, the award, and the auction's winner and price.
    Deliberately written apart from the platform's replay: the two must agree."""
    lots: dict = {}
    auctions: dict = {}

    def lot(lot_id):
        return lots.setdefault(str(lot_id), {"status": None, "candidates": [], "award": None, "auction": None})

    for ev in events:
        p, action = ev.get("payload") or {}, ev.get("action")
        if action == "lot.transition":
            lot(p["lot"])["status"] = p["to"]
            if p.get("action") == "award" and "winner" in p:
                lot(p["lot"])["award"] = {"bidder": p["winner"], "price_fen": p["price_fen"]}
        elif action == "evaluation.publicity":
            lot(p["lot"])["candidates"] = [[c["rank"], c["bidder"]] for c in p["candidates"]]
        elif action == "evaluation.award":
            lot(p["lot"])["award"] = {"bidder": p["bidder"], "price_fen": p["price_fen"]}
        elif action == "evaluation.award_end":
            lot(p["lot"])["award"] = None
        elif action == "auction.schedule":
            auctions[p["auction"]] = {"lot": p["lot"], "price": 0, "leader": None, "n": 0, "seq": 0,
                                      "start": p["starting_price_fen"], "step": p["increment_fen"],
                                      "commitment": p["reserve_commitment"]}
        elif action in ("auction.bid", "auction.posted"):
            a = auctions.get(p["auction"])
            if a is None:
                raise VerifyError(f"a bid in auction {p['auction']} comes before its schedule")
            low = a["start"] if a["leader"] is None else a["price"] + a["step"]
            if p["amount_fen"] < low or p["seq"] <= a["seq"] or p["n"] != a["n"] + 1:
                raise VerifyError(f"auction {p['auction']}: bid seq {p['seq']} of {p['amount_fen']} fen breaks the "
                                  f"rules (lowest allowed {low}, bid number {a['n'] + 1})")
            a.update(price=p["amount_fen"], leader=p["bidder"], n=p["n"], seq=p["seq"])
        elif action == "auction.closed":
            a = auctions.get(p["auction"])
            if a is None:
                raise VerifyError(f"auction {p['auction']} closes without a schedule")
            if hashlib.sha256(f"{p['reserve_fen']}:{p['reserve_salt']}".encode()).hexdigest() != a["commitment"]:
                raise VerifyError(f"auction {p['auction']}: the reserve price revealed at the close is not the one "
                                  "committed to at scheduling")
            deal = a["leader"] is not None and a["price"] >= p["reserve_fen"]
            winner = a["leader"] if deal else None
            if p["outcome"] != ("deal" if deal else "failed") or p.get("winner") != winner \
                    or (a["leader"] is not None and p["price_fen"] != a["price"]) or p.get("bid_count") != a["n"]:
                raise VerifyError(f"auction {p['auction']}: the close announces {p['outcome']} at {p['price_fen']} fen "
                                  f"to bidder number {p.get('winner')}, the bids give "
                                  f"{'deal' if deal else 'failed'} at {a['price']} fen to {winner}")
            lot(a["lot"])["auction"] = {"outcome": p["outcome"], "price_fen": a["price"], "winner_number": winner,
                                        "bids": a["n"]}
    for entry in lots.values():
        if entry["auction"] and entry["auction"]["outcome"] == "deal" and entry["award"] is None:
            raise VerifyError("an auction ended in a deal but the lot was never awarded")
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
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise VerifyError(f"{what} is not valid JSON: {exc}") from None


def _trusted_key(zf, key: str | None, key_fingerprint: str | None) -> str:
    if key:
        return key.strip()
    if not key_fingerprint:
        raise VerifyError("give the log key you trust (--key, or --key-fingerprint as published by the platform): "
                          "an archive cannot vouch for itself")
    inside = _read(zf, "public_key.txt").decode("utf-8", "replace").strip()
    if fingerprint(inside) != key_fingerprint.strip().lower():
        raise VerifyError("the key in the archive does not have the fingerprint you trust")
    return inside


def _fetch(url: str):
    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 (an https URL the user gave)
        return json.loads(resp.read(1 << 24))


def check_current(base: str, vkey: str, size: int, root: bytes, policy, log) -> None:
    """Consistency of the archive's checkpoint with the log's current one, fetched from `base`."""
    base = base.rstrip("/")
    try:
        latest = _fetch(f"{base}/api/audit/checkpoints/latest/")
        _, size2, root2, _ = open_checkpoint(latest["note"], vkey)
        when = check_quorum(latest["note"], policy) if policy else None
        proof = [] if size2 == size else _fetch(
            f"{base}/api/audit/proofs/consistency/?first={size}&second={size2}")["proof"]
        verify_consistency(size, size2, [_b64decode(h) for h in proof], root, root2)
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise VerifyError(f"cannot check against the current log at {base}: {exc}") from None
    except VerifyError as exc:
        raise VerifyError(f"the archive is NOT consistent with the current log at {base}: {exc}") from None
    stamp = f", cosigned {dt.datetime.fromtimestamp(when, dt.timezone.utc):%Y-%m-%d %H:%M:%SZ}" if when else ""
    log(f"ok  consistent with the current log ({size2} entries{stamp}): the archive is {size2 - size} entries behind")


def verify_archive(path: str, trusted_key: str | None = None, *, key_fingerprint: str | None = None,
                   in_progress: bool = False, policy: str | None = None, log_url: str | None = None,
                   log=print) -> dict:
    """Verify the archive at `path`; return its manifest (with "verdict"), or raise VerifyError."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise VerifyError(f"cannot open the archive: {exc}") from None
    with zf:
        vkey = _trusted_key(zf, trusted_key, key_fingerprint)
        origin, _ = parse_vkey(vkey)
        rules = parse_policy(policy) if policy else None
        if rules and rules["logs"] and vkey not in rules["logs"]:
            raise VerifyError("the policy does not list the log key you trust")

        # 1. the signed manifest and checkpoint
        raw = _read(zf, "manifest.json")
        try:
            sig_text = verify_note(_read(zf, "manifest.sig").decode("utf-8", "replace"), vkey)
        except VerifyError as exc:
            raise VerifyError(f"the manifest signature: {exc}") from None
        if sig_text != f"{FORMAT}\n{origin}\n{hashlib.sha256(raw).hexdigest()}\n":
            raise VerifyError("the manifest was changed after the log key signed it")
        m = _json(raw, "manifest.json")
        if not isinstance(m, dict) or m.get("format") != FORMAT or m.get("kind") not in ("public", "full"):
            raise VerifyError(f"not a {FORMAT} archive")
        project = m["project"]
        note = _read(zf, "checkpoint.txt").decode("utf-8", "replace")
        _, size, root, _ = open_checkpoint(note, vkey)
        if m.get("checkpoint") != {"size": size, "root": base64.b64encode(root).decode()}:
            raise VerifyError("the manifest names another checkpoint than the one in the archive")
        when = check_quorum(note, rules) if rules else None
        as_of = (f"{dt.datetime.fromtimestamp(when, dt.timezone.utc):%Y-%m-%d %H:%M:%SZ} (witness-cosigned)"
                 if when else f"{m.get('exported_at')} (the platform's word; no witness policy given)")
        log(f"ok  manifest and checkpoint signed by {origin}: tree size {size}"
            + (f", cosigned by a quorum of witnesses at {as_of}" if when else ""))

        # 2. every event in the tree, its body matching its header
        indices, withheld = m["events"], set(m.get("withheld", []))
        lines = _read(zf, "events.jsonl").splitlines()
        if len(lines) != len(indices):
            raise VerifyError(f"the signed manifest lists {len(indices)} events, the archive holds {len(lines)}")
        key = bytes.fromhex(m["tag_key"]) if m.get("tag_key") else None
        tagger = hmac.new(key, digestmod=hashlib.sha256) if key is not None else None
        decoded: dict[str, bytes] = {}  # proof hashes repeat across events: decode each once
        events, headers, bodies, last = [], [], [], -1
        for n, line in enumerate(lines, 1):
            rec = _json(line, f"events.jsonl line {n}")
            try:
                index, head_text = rec["index"], rec["header"]
                proof = [decoded.get(p) or decoded.setdefault(p, _b64decode(p)) for p in rec["proof"]]
                head = _json(head_text.encode(), f"the header of event {n}")
            except (TypeError, KeyError, ValueError, binascii.Error, AttributeError):
                raise VerifyError(f"events.jsonl line {n} is malformed") from None
            if index != indices[n - 1] or not isinstance(index, int) or index <= last:
                raise VerifyError(f"events.jsonl line {n}: index {index} is not the manifest's {indices[n - 1]} "
                                  "(events dropped, added or reordered)")
            last = index
            if not isinstance(head, dict) or _plain(head).decode() != head_text or head.get("v") != 2:
                raise VerifyError(f"event {n} (index {index}): the leaf header is not canonical")
            try:
                verify_inclusion(index, size, leaf_hash(head_text.encode()), proof, root)
            except VerifyError as exc:
                raise VerifyError(f"event {n} (index {index}) is NOT in the signed log: {exc}") from None
            # 3. its place in the project's sequence
            if tagger is not None:
                t = tagger.copy()
                t.update(str(n).encode())
            if tagger is not None and head.get("tag") != t.hexdigest():
                raise VerifyError(f"event {n} (index {index}) is not event {n} of project {project['id']}: its tag "
                                  "does not match (another project's event, or events are missing before it)")
            body = rec.get("event")
            if body is None:
                if index not in withheld or head.get("vis") == "public":
                    raise VerifyError(f"event {n} (index {index}) is public but its body is withheld")
                if m["kind"] == "full" and head.get("vis") != "sealed":
                    raise VerifyError(f"event {n} (index {index}): a full archive withholds only sealed bodies")
            else:
                if hashlib.sha256(_plain(body)).hexdigest() != head.get("body"):
                    raise VerifyError(f"event {n} (index {index}) was changed: its body does not match its hash "
                                      "in the signed log")
                if body.get("project") != project["id"] or body.get("visibility") != head.get("vis"):
                    raise VerifyError(f"event {n} (index {index}) belongs to project {body.get('project')}, "
                                      f"not to project {project['id']}")
                events.append(body)
            headers.append(head)
            bodies.append(body)
        log(f"ok  {len(lines)} events, each proven in the signed log ({len(withheld)} bodies withheld as hashes)")

        # 3/4. completeness and the close
        closes = [i for i, h in enumerate(headers) if "count" in h]
        if key is None:
            if not in_progress:
                raise VerifyError("the project's sequence key is not revealed yet (its deadline has not passed): "
                                  "completeness cannot be checked; use --in-progress")
            log("--  completeness cannot be checked before the deadline: the project's sequence key is not revealed")
        closed = bool(closes)
        if closed:
            c = closes[0]
            body = bodies[c]
            if len(closes) > 1 or headers[c]["count"] != c + 1 or body is None or body.get("action") != CLOSE_ACTION:
                raise VerifyError("the project's closing event is malformed or repeated")
            if (body.get("payload") or {}).get("tag_key") != m.get("tag_key"):
                raise VerifyError("the closing event reveals another sequence key than the manifest's")
            if m.get("status") != "closed" or m.get("final_count") != c + 1:
                raise VerifyError("the manifest's status disagrees with the closing event")
            log(f"ok  complete: the closing event commits to {c + 1} events and all {c + 1} are here, in order")
        if not closed:
            if m.get("status") == "closed":
                raise VerifyError("the manifest says the project is closed, but its closing event is missing "
                                  "(an archive cut before the end)")
            if not in_progress:
                raise VerifyError(f"the project is NOT closed in this archive ({len(lines)} events as of checkpoint "
                                  f"size {size}): there is no final result to verify; use --in-progress")

        # 5. documents
        attached = {(e["payload"]["sha256"], e["payload"]["name"]) for e in events if e.get("action") == "document.attach"}
        listed = m.get("documents", [])
        if {(d["sha256"], d["name"]) for d in listed} != attached:
            raise VerifyError("the manifest's documents are not those the document events recorded")
        for doc in listed:
            member = doc.get("file")
            if member is None:
                if m["kind"] == "full" or doc.get("access") == "public":
                    raise VerifyError(f"document {doc['name']} is missing from the archive")
                continue
            if hashlib.sha256(_read(zf, member)).hexdigest() != doc["sha256"]:
                raise VerifyError(f"document {doc['name']} does not match the hash recorded in the log")
        log(f"ok  {len(listed)} documents, every file matching the hash recorded in the log")

        # 6. the result
        names = [e["payload"] for e in events if e.get("action") in ("project.create", "project.publish")]
        if not names or {"id": project["id"], "code": names[-1].get("code"), "title": names[-1].get("title")} != project:
            raise VerifyError("the manifest's project (id, code, title) is not the one the events record")
        if closed:
            got = replay_result(events)
            if got != m.get("result"):
                raise VerifyError(f"replaying the events gives {json.dumps(got, ensure_ascii=False)}, "
                                  f"the archive claims {json.dumps(m.get('result'), ensure_ascii=False)}")
            log("ok  replaying the events gives the published result")
            m["verdict"] = f"closed project {project['code']}: all {len(lines)} events present, result verified"
        else:
            if m.get("result") is not None:
                raise VerifyError("an archive of a running project claims a result")
            replay_result(events)  # still refuse broken auction rules
            m["verdict"] = f"project {project['code']} in progress as of {as_of}: no result yet"
        if log_url:
            check_current(log_url, vkey, size, root, rules, log)
    return m


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="sunlight-verify", description=__doc__.split("\n\n")[0])
    ap.add_argument("archive")
    ap.add_argument("--key", help="the log key you trust, as published by the platform (name+id+base64)")
    ap.add_argument("--key-fingerprint", help="or the SHA-256 fingerprint of that key, as published")
    ap.add_argument("--in-progress", action="store_true", help="accept a project that has not closed (no result)")
    ap.add_argument("--policy", help="a C2SP tlog-policy file: witnesses whose cosignatures a checkpoint needs")
    ap.add_argument("--log", help="the platform's URL: check the archive against the current log")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    try:
        policy = open(args.policy, encoding="utf-8").read() if args.policy else None
        m = verify_archive(args.archive, args.key, key_fingerprint=args.key_fingerprint, in_progress=args.in_progress,
                           policy=policy, log_url=args.log, log=(lambda *a: None) if args.quiet else print)
    except (VerifyError, OSError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"VERIFIED: {m['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
