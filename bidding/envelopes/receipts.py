"""Offline verification of a submission receipt and its audit-log inclusion proof. Pure (no Django).

A receipt (platform-signed) names the audit event of the submission (`event` = its uid,
`event_id`).  Once the sequencer has integrated that event, the bidder can fetch (API
`GET /api/envelopes/receipts/<digest>/proof/`) a bundle that lets anyone check, with no server:

    {"receipt": {...}, "signature": b64, "platform_key": b64,
     "event": "<the event's canonical JSON, exactly the bytes the Merkle leaf hashes>",
     "inclusion": {"event", "index", "tree_size", "leaf_hash", "proof": [b64...], "root", "checkpoint": note},
     "log": {"origin": ..., "verifier_key": "name+keyid+base64"}}

1. the receipt's platform signature;
2. that the event is the receipt's: same uid and id, an `envelope.submit`/`envelope.replace` of the
   same lot, bidder and envelope digest;
3. the leaf hash recomputed from the event's bytes, and the inclusion proof of that leaf up to the
   root of the signed checkpoint (`audit.merkle.verify_inclusion`);
4. the checkpoint's signature (`audit.checkpoint.open_checkpoint`) with the log's verifier key —
   given by the verifier (e.g. copied from the portal), or else derived from the platform key,
   which is the key that signs the log's checkpoints on this platform.
The Merkle and checkpoint code is the audit app's own (imported, not re-implemented).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import checkpoint as ck
from audit import merkle
from bidding.envelopes import envelope as E
from trading import keys
from trading.errors import Invalid
from audit import timestamps

SUBMISSION_ACTIONS = ("envelope.submit", "envelope.replace")


class ReceiptError(ValueError):
    """The receipt or its proof does not verify; the message says which check failed."""


@dataclass(frozen=True)
class VerifiedReceipt:
    # as the signed receipt names them (read with .get: the platform always writes both)
    digest: str | None
    event_uid: str | None
    index: int | None = None  # leaf index in the audit log, when a proof was checked
    tree_size: int | None = None
    checkpoint_time: str | None = None


def _b64(text, what: str) -> bytes:
    if not isinstance(text, str):
        raise ReceiptError(f"{what} must be base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ReceiptError(f"{what} is not valid base64") from None


def verify_signature(receipt, signature, platform_key: bytes) -> None:
    if not isinstance(receipt, dict):
        raise ReceiptError("the receipt must be a JSON object")
    try:
        raw = keys.decode(signature, field="the receipt signature", size=keys.SIGNATURE_BYTES)
    except Invalid as exc:
        raise ReceiptError(exc.message) from None
    if not E.verify_receipt(platform_key, receipt, raw):
        raise ReceiptError("the receipt's platform signature is INVALID")


def _check_event(receipt: dict, event_text) -> bytes:
    if not isinstance(event_text, str):
        raise ReceiptError("the proof lacks the submission event (its canonical JSON text)")
    try:
        body = json.loads(event_text)
    except ValueError:
        raise ReceiptError("the submission event is not JSON") from None
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, dict):
        raise ReceiptError("the submission event has no payload")
    if body.get("uid") != receipt.get("event"):
        raise ReceiptError(f"the event {body.get('uid')!r} is not the receipt's event {receipt.get('event')!r}")
    if body.get("action") not in SUBMISSION_ACTIONS:
        raise ReceiptError(f"the event records {body.get('action')!r}, not a submission")
    for field in ("digest", "lot", "bidder"):
        if payload.get(field) != receipt.get(field):
            raise ReceiptError(f"the event's {field} {payload.get(field)!r} differs from the receipt's "
                               f"{receipt.get(field)!r}")
    return event_text.encode("utf-8")


def _log_key(log_key: str | None, note: str, platform_key: bytes) -> str:
    if log_key:
        return log_key
    origin = note.split("\n", 1)[0]
    try:
        return ck.verifier_key(origin, Ed25519PublicKey.from_public_bytes(platform_key))
    except ValueError:
        raise ReceiptError("the platform key is not an Ed25519 public key") from None


def verify_inclusion(receipt: dict, event_text, inclusion, *, platform_key: bytes,
                     log_key: str | None = None) -> VerifiedReceipt:
    """Checks 2-4 above (the receipt's own signature is checked by `verify`)."""
    event_bytes = _check_event(receipt, event_text)
    if not isinstance(inclusion, dict):
        raise ReceiptError("the inclusion proof must be a JSON object")
    header = inclusion.get("header")
    if header is not None:  # the leaf is the event's header (audit.leaf): it must commit to this event
        try:
            committed = json.loads(header)["body"] if isinstance(header, str) else None
        except (ValueError, KeyError, TypeError):
            committed = None
        if committed != hashlib.sha256(event_bytes).hexdigest():
            raise ReceiptError("the proof's leaf hash (the leaf header) does not commit to the submission event")
    leaf = merkle.leaf_hash(header.encode("utf-8") if header is not None else event_bytes)
    if "event_id" in receipt and inclusion.get("event") != receipt["event_id"]:
        raise ReceiptError(f"the proof is for event {inclusion.get('event')!r}, the receipt names "
                           f"{receipt['event_id']!r}")
    index, size, note, hashes = (inclusion.get("index"), inclusion.get("tree_size"), inclusion.get("checkpoint"),
                                 inclusion.get("proof"))
    if not isinstance(index, int) or not isinstance(size, int) or isinstance(index, bool) \
            or not isinstance(note, str) or not isinstance(hashes, list):
        raise ReceiptError("the inclusion proof needs index, tree_size, proof and checkpoint")
    if "leaf_hash" in inclusion and _b64(inclusion["leaf_hash"], "the leaf hash") != leaf:
        raise ReceiptError("the proof's leaf hash is not the hash of the submission event")
    try:
        cp = ck.open_checkpoint(note, _log_key(log_key, note, platform_key))
    except ck.CheckpointError as exc:
        raise ReceiptError(f"the log checkpoint does not verify: {exc}") from None
    if cp.size != size:
        raise ReceiptError(f"the proof is for tree size {size}, the signed checkpoint has {cp.size}")
    try:
        merkle.verify_inclusion(index, size, leaf, [_b64(h, "a proof hash") for h in hashes], cp.root)
    except merkle.ProofError as exc:
        raise ReceiptError(f"the inclusion proof does not verify: {exc}") from None
    when = timestamps.iso_seconds(cp.time)
    return VerifiedReceipt(digest=receipt.get("digest"), event_uid=receipt.get("event"), index=index,
                           tree_size=size, checkpoint_time=when)


def verify(bundle: dict, *, platform_key: bytes, proof: dict | None = None,
           log_key: str | None = None) -> VerifiedReceipt:
    """Verify a receipt file (`{"receipt", "signature"}`), and its inclusion proof when the file
    carries one (`event` + `inclusion`, as the proof API returns) or `proof` is given."""
    if not isinstance(bundle, dict):
        raise ReceiptError("the receipt file must be a JSON object")
    receipt = bundle.get("receipt")
    verify_signature(receipt, bundle.get("signature"), platform_key)
    assert isinstance(receipt, dict), "verify_signature refuses a receipt that is not a JSON object"
    source = proof if proof is not None else (bundle if "inclusion" in bundle else None)
    if source is None:
        return VerifiedReceipt(digest=receipt.get("digest"), event_uid=receipt.get("event"))
    if not isinstance(source, dict):
        raise ReceiptError("the proof file must be a JSON object")
    if "receipt" in source and source["receipt"] != receipt:
        raise ReceiptError("the proof file is for another receipt")
    # the log key comes from the verifier (or its platform key), never from the bundle being checked
    return verify_inclusion(receipt, source.get("event"), source.get("inclusion"), platform_key=platform_key,
                            log_key=log_key)
