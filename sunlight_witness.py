#!/usr/bin/env python3
"""sunlight-witness: a C2SP tlog-witness that the supervising department runs on its own machine.

    sunlight-witness keygen --name supervision.example/witness --key witness.pem   (prints its vkey)
    sunlight-witness serve --name supervision.example/witness --key witness.pem --state state.json \\
        --log-key 'ORIGIN+KEYID+BASE64' [--log-key …] [--listen 127.0.0.1:7380]

POST /add-checkpoint takes `old <size>`, the consistency proof lines, an empty line and the signed
checkpoint (c2sp.org/tlog-witness). It answers 200 with its cosignature line (c2sp.org/tlog-cosignature,
cosignature/v1, Ed25519) once the checkpoint is signed by a log it knows and is consistent with the
latest checkpoint it cosigned for that log; 404 for an unknown log, 403 for a bad signature, 400 for a
malformed request or an old size larger than the new, 409 (body: its size, text/x.tlog.size) when the
old size is not the one it holds or the same size comes with another root (a split view), 422 when
the consistency proof fails. Standard library and `cryptography` only, its own key, its own state.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import sunlight_verify as sv

MAX_BODY = 64 << 10
MAX_PROOF = 63


def cosigner_vkey(name: str, key: Ed25519PrivateKey) -> str:
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = hashlib.sha256(name.encode() + b"\n\x04" + pub).digest()[:4]
    raw = base64.b64encode(b"\x04" + pub).decode()
    return f"{name}+{kid.hex()}+{raw}"


def cosign(name: str, key: Ed25519PrivateKey, checkpoint_text: str, now: int | None = None) -> str:
    """One cosignature/v1 note signature line over the checkpoint body (text up to its blank line)."""
    ts = int(time.time()) if now is None else now
    sig = key.sign(f"cosignature/v1\ntime {ts}\n{checkpoint_text}".encode())
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = hashlib.sha256(name.encode() + b"\n\x04" + pub).digest()[:4]
    line = base64.b64encode(kid + struct.pack(">Q", ts) + sig).decode()
    return f"\u2014 {name} {line}\n"


def load_key(path: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{path} is not an Ed25519 key")
    return key


class Answer(Exception):
    def __init__(self, status: int, body: str = "", content_type: str = "text/plain; charset=utf-8"):
        super().__init__(body)
        self.status, self.body, self.content_type = status, body, content_type


class Witness:
    """The witness's state: per log origin, the latest cosigned (size, root), kept in one JSON file."""

    def __init__(self, name: str, key: Ed25519PrivateKey, log_keys: list[str], state: str):
        self.name, self.key, self.state_path = name, key, Path(state)
        self.logs: dict[str, list[str]] = {}
        for vkey in log_keys:
            origin, _ = sv.parse_vkey(vkey)
            self.logs.setdefault(origin, []).append(vkey)
        self.lock = threading.Lock()  # the check of the old size and the update are one step
        self.state = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    def _save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, sort_keys=True))
        os.replace(tmp, self.state_path)

    def add_checkpoint(self, body: str) -> str:
        head, sep, note = body.partition("\n\n")
        lines = head.split("\n")
        if not sep or not lines[0].startswith("old ") or len(lines) - 1 > MAX_PROOF:
            raise Answer(400, "expected: old <size>, proof lines, an empty line, the checkpoint\n")
        size_text = lines[0][4:]
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise Answer(400, "bad old size\n")
        old = int(size_text)
        try:
            proof = [sv._b64decode(h) for h in lines[1:]]
        except binascii.Error:
            raise Answer(400, "bad proof line\n") from None
        if any(len(h) != 32 for h in proof):
            raise Answer(400, "bad proof line\n")
        origin = note.split("\n", 1)[0]
        if origin not in self.logs:
            raise Answer(404, f"unknown log {origin[:80]}\n")
        text = None
        for vkey in self.logs[origin]:
            try:
                text = sv.verify_note(note, vkey)
                break
            except sv.VerifyError:
                continue
        if text is None:
            raise Answer(403, "no valid signature by the log's key\n")
        try:
            _, size, root = sv.parse_checkpoint(text)
        except sv.VerifyError as exc:
            raise Answer(400, f"{exc}\n") from None
        if old > size:
            raise Answer(400, "old size is larger than the checkpoint size\n")
        with self.lock:
            held = self.state.get(origin, {"size": 0, "root": None})
            if old != held["size"]:
                raise Answer(409, f"{held['size']}\n", "text/x.tlog.size")
            if old == size:
                if held["root"] != base64.b64encode(root).decode():
                    raise Answer(409, f"{held['size']}\n", "text/x.tlog.size")  # same size, other tree: split view
            elif old == 0:
                if proof:
                    raise Answer(422, "the proof from size 0 must be empty\n")
            else:
                try:
                    sv.verify_consistency(old, size, proof, base64.b64decode(held["root"]), root)
                except sv.VerifyError as exc:
                    raise Answer(422, f"{exc}\n") from None
            self.state[origin] = {"size": size, "root": base64.b64encode(root).decode()}
            self._save()
            return cosign(self.name, self.key, text)


def handler_for(witness: Witness):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet; the state file is the record
            pass

        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            try:
                if self.path.rstrip("/") != "/add-checkpoint":
                    raise Answer(404, "not found\n")
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_BODY:
                    raise Answer(400, "body missing or too large\n")
                try:
                    body = self.rfile.read(length).decode("utf-8")
                except UnicodeDecodeError:
                    raise Answer(400, "not UTF-8\n") from None
                self._send(200, witness.add_checkpoint(body), "text/plain; charset=utf-8")
            except Answer as a:
                self._send(a.status, a.body, a.content_type)

        def do_GET(self) -> None:
            if self.path == "/":
                self._send(200, cosigner_vkey(witness.name, witness.key) + "\n", "text/plain; charset=utf-8")
            else:
                self._send(404, "not found\n", "text/plain; charset=utf-8")

    return Handler


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="sunlight-witness", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    kg = sub.add_parser("keygen")
    kg.add_argument("--name", required=True)
    kg.add_argument("--key", required=True)
    sv_ = sub.add_parser("serve")
    sv_.add_argument("--name", required=True)
    sv_.add_argument("--key", required=True)
    sv_.add_argument("--state", required=True)
    sv_.add_argument("--log-key", action="append", required=True)
    sv_.add_argument("--listen", default="127.0.0.1:7380")
    args = ap.parse_args(argv)
    if args.cmd == "keygen":
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(args.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        print(cosigner_vkey(args.name, key))
        return 0
    witness = Witness(args.name, load_key(args.key), args.log_key, args.state)
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), handler_for(witness))
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    print(f"listening on {bound_host}:{bound_port} as {cosigner_vkey(args.name, witness.key)}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
