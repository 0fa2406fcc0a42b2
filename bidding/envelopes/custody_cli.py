"""sunlight-custody — an opening custodian's key, kept on the custodian's own machine.

    sunlight-custody keygen --out custody-key.json
        Create your X25519 custody key (file mode 0600). Prints the public key (hex): register it on
        your custody page or with POST /api/envelopes/custody-keys/ {"public_key": "<hex>"}.
        The private key never leaves this file; the platform never sees it.
    sunlight-custody open-share --key custody-key.json --sealed sealed-share.json [--out share.txt]
        At the opening ceremony (after the deadline): decrypt your sealed share, the JSON of
        GET /api/envelopes/lots/<lot>/shares/mine/, and print the share to present
        (ceremony page, or POST /api/envelopes/lots/<lot>/shares/ {"share": "<printed text>"}).
    sunlight-custody public-key --key custody-key.json
        Print the public key (hex) again.

Uses only `cryptography` and the platform's pure envelope module; talks to no server.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding.envelopes import envelope as E
from trading import keys

KEY_KIND = "sunlight-custody-key/v1"


def write_key(path: Path, key: X25519PrivateKey) -> dict:
    data = {"kind": KEY_KIND, "private": keys.encode(E.x25519_private_bytes(key)),
            "public": keys.encode(E.x25519_public_bytes(key))}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return data


def read_key(path: Path) -> X25519PrivateKey:
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or data.get("kind") != KEY_KIND:
        raise SystemExit(f"{path}: not a Sunlight custody key file")
    return X25519PrivateKey.from_private_bytes(keys.legacy(data["private"], size=keys.PRIVATE_KEY_BYTES))


def _cmd_keygen(args) -> int:
    data = write_key(Path(args.out), X25519PrivateKey.generate())
    print(data["public"])
    print("register this public key (hex) on your custody page; keep the key file safe and private",
          file=sys.stderr)
    return 0


def _cmd_public_key(args) -> int:
    print(E.x25519_public_bytes(read_key(Path(args.key))).hex())
    return 0


def _cmd_open_share(args) -> int:
    key = read_key(Path(args.key))
    sealed = json.loads(Path(args.sealed).read_text())
    if not isinstance(sealed, dict) or not {"sealed_share", "context", "custodian"} <= set(sealed):
        raise SystemExit(f"{args.sealed}: not a sealed share (GET /api/envelopes/lots/<lot>/shares/mine/)")
    want = sealed.get("custodian_public_key")
    if want and want != E.x25519_public_bytes(key).hex():
        raise SystemExit("this sealed share is for another custody key than the one in --key")
    try:
        share = E.open_share(E.b64d(sealed["sealed_share"], what="sealed share"), key,
                             context=str(sealed["context"]), custodian=sealed["custodian"])
    except E.CustodyError as exc:
        raise SystemExit(f"sunlight-custody: {exc}") from None
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(share + "\n")
    else:
        print(share)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sunlight-custody", description="An opening custodian's key, kept off the platform.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("keygen", help="create an X25519 custody key")
    p.add_argument("--out", required=True, help="key file to create (must not exist)")
    p.set_defaults(func=_cmd_keygen)
    p = sub.add_parser("public-key", help="print the key's public half (hex)")
    p.add_argument("--key", required=True)
    p.set_defaults(func=_cmd_public_key)
    p = sub.add_parser("open-share", help="decrypt your sealed share at the ceremony")
    p.add_argument("--key", required=True, help="your custody key file")
    p.add_argument("--sealed", required=True, help="the JSON of GET /api/envelopes/lots/<lot>/shares/mine/")
    p.add_argument("--out", help="write the share here (mode 0600) instead of printing it")
    p.set_defaults(func=_cmd_open_share)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (OSError, ValueError) as exc:
        print(f"sunlight-custody: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
