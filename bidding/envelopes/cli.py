"""sunlight-bid — seal a bid on your own machine.

    sunlight-bid keygen --out bidder-key.json
        Create your Ed25519 signing key; register the printed public key (hex) with the platform.
    sunlight-bid seal --lot-key <hex X25519 public key of the lot (its submit page, GET /api/envelopes/lots/<lot>/)>
                      --project P --lot L --bidder B --price 1234.56
                      [--term name=value ...] [--doc path ...] --key bidder-key.json [--out envelope.json]
        Seal (HPKE, RFC 9180) and sign; writes the JSON you upload (API POST
        /api/envelopes/lots/<lot>/envelope/ or the submit page). The price never leaves in clear.
    sunlight-bid verify-receipt --receipt receipt.json --platform-key <hex Ed25519 key>
                                [--proof proof.json] [--log-key <audit log verifier key>]
        Check a submission receipt's platform signature and, when the file carries it (the JSON of
        GET /api/envelopes/receipts/<digest>/proof/) or --proof gives it, that the submission event
        is in the audit log: its inclusion proof up to a signed checkpoint (audit.merkle,
        audit.checkpoint). The log key defaults to the platform key (it signs the checkpoints).

Keys and signatures are lowercase hex everywhere (trading.keys, docs/api-formats.md); a key file written by an
earlier version (base64) is still read.

Uses only `cryptography` (and the platform's pure audit modules); talks to no server.
"""
from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bidding.envelopes import envelope as E
from trading import keys
from trading.errors import Invalid

KEY_KIND = "sunlight-bidder-key/v1"


def write_key(path: Path, key: Ed25519PrivateKey) -> dict:
    data = {"kind": KEY_KIND, "private": keys.encode(E.ed25519_private_bytes(key)),
            "public": keys.encode(E.ed25519_public_bytes(key))}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return data


def read_key(path: Path) -> Ed25519PrivateKey:
    data = json.loads(Path(path).read_text())
    if data.get("kind") != KEY_KIND:
        raise SystemExit(f"{path}: not a Sunlight bidder key file")
    return Ed25519PrivateKey.from_private_bytes(keys.legacy(data["private"], size=keys.PRIVATE_KEY_BYTES))


def _key(text: str, option: str) -> bytes:
    try:
        return keys.decode(text, field=option, size=keys.PUBLIC_KEY_BYTES)
    except Invalid as exc:
        raise ValueError(exc.message) from None


def _cmd_keygen(args) -> int:
    data = write_key(Path(args.out), Ed25519PrivateKey.generate())
    print(data["public"])
    print("register this public key (hex) with the platform", file=sys.stderr)
    return 0


def _cmd_seal(args) -> int:
    terms = {}
    for item in args.term or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--term must be name=value, got {item!r}")
        terms[name] = value
    documents = []
    for doc in args.doc or []:
        path = Path(doc)
        documents.append(E.Document(name=path.name, content=path.read_bytes(),
                                    type=mimetypes.guess_type(path.name)[0] or "application/octet-stream"))
    sealed = E.seal(lot_public_key=_key(args.lot_key, "--lot-key"), project=args.project, lot=args.lot,
                    bidder=args.bidder, price_fen=E.parse_price(args.price), terms=terms,
                    documents=documents, signing_key=read_key(Path(args.key)))
    text = json.dumps(sealed.to_json())
    if args.out:
        Path(args.out).write_text(text)
        print(f"sealed: digest {sealed.digest.hex()} -> {args.out}")
    else:
        print(text)
    return 0


def _cmd_verify_receipt(args) -> int:
    from bidding.envelopes import receipts

    data = json.loads(Path(args.receipt).read_text())
    proof = json.loads(Path(args.proof).read_text()) if args.proof else None
    try:
        result = receipts.verify(data, platform_key=_key(args.platform_key, "--platform-key"), proof=proof,
                                 log_key=args.log_key)
    except receipts.ReceiptError as exc:
        print(f"receipt NOT verified: {exc}")
        return 1
    print("receipt verified")
    if result.index is not None:
        print(f"in the audit log: event {result.event_uid} is leaf {result.index} of the signed checkpoint of "
              f"size {result.tree_size}" + (f" ({result.checkpoint_time})" if result.checkpoint_time else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sunlight-bid", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("keygen", help="create an Ed25519 bidder signing key")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_keygen)
    p = sub.add_parser("seal", help="seal and sign a bid")
    p.add_argument("--lot-key", required=True, help="the lot's opening public key (hex)")
    p.add_argument("--project", required=True)
    p.add_argument("--lot", required=True)
    p.add_argument("--bidder", required=True)
    p.add_argument("--price", required=True, help="yuan, e.g. 1234.56")
    p.add_argument("--term", action="append", help="declared term name=value (repeatable)")
    p.add_argument("--doc", action="append", help="bid document file (repeatable)")
    p.add_argument("--key", required=True, help="your key file from `keygen`")
    p.add_argument("--out")
    p.set_defaults(func=_cmd_seal)
    p = sub.add_parser("verify-receipt", help="check a receipt's signature and its audit-log inclusion proof")
    p.add_argument("--receipt", required=True)
    p.add_argument("--platform-key", required=True, help="the platform's Ed25519 public key (hex)")
    p.add_argument("--proof", help="the inclusion proof JSON, if not in the receipt file")
    p.add_argument("--log-key", help="the audit log's verifier key (name+keyid+base64); default: the platform key")
    p.set_defaults(func=_cmd_verify_receipt)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (E.EnvelopeError, OSError, ValueError) as exc:
        print(f"sunlight-bid: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
