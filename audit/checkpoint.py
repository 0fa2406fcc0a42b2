"""Signed tree heads: C2SP tlog-checkpoint bodies in C2SP signed-note envelopes, Ed25519.

Pure module (no Django). A checkpoint note looks like::

    sunlight.example/log
    1234
    <base64 root hash>
    time 2025-11-21T09:38:00Z

    — sunlight.example/log <base64(4-byte key id || 64-byte Ed25519 signature)>

The key id is SHA-256(name || "\\n" || 0x01 || public key)[:4]; the verifier key string
(published on the portal) is ``name+<key id hex>+<base64(0x01 || public key)>``.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from audit import timestamps

ALG_ED25519 = b"\x01"
SIG_PREFIX = "\u2014 "  # em dash + space
MAX_SIGNATURES = 100
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,19}")

def _b64decode(text):
    """Strict base64: only the canonical encoding (unused padding bits zero), so a note cannot be
    changed without changing what it says (a flipped padding bit would otherwise decode the same)."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw) != (text.encode("ascii") if isinstance(text, str) else bytes(text)):
        raise binascii.Error("non-canonical base64")
    return raw



class CheckpointError(ValueError):
    """A checkpoint or note is malformed or its signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = field(default=())

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @property
    def time(self) -> dt.datetime | None:
        for ext in self.extensions:
            if ext.startswith("time "):
                return parse_time(ext[5:])
        return None


def format_time(when: dt.datetime) -> str:
    return timestamps.iso_seconds(when)


def parse_time(text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError as exc:
        raise CheckpointError(f"bad checkpoint time {text!r}") from exc


def parse_checkpoint(body: str) -> Checkpoint:
    if not body.endswith("\n"):
        raise CheckpointError("checkpoint body must end with a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, size and root lines")
    origin, size_s, root_s, *ext = lines
    if not origin or origin != origin.strip():
        raise CheckpointError("checkpoint origin line is empty or padded")
    if not _SIZE_RE.fullmatch(size_s) or int(size_s) >= 1 << 64:
        raise CheckpointError(f"checkpoint size {size_s!r} is not a decimal tree size")
    try:
        root = _b64decode(root_s)
    except binascii.Error as exc:
        raise CheckpointError("checkpoint root is not base64") from exc
    if len(root) != 32:
        raise CheckpointError(f"checkpoint root has {len(root)} bytes, want 32")
    if any(not line for line in ext):
        raise CheckpointError("empty extension line in checkpoint")
    return Checkpoint(origin, int(size_s), root, tuple(ext))


# ------------------------------------------------------------------------ keys

def public_key_bytes(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public).digest()[:4]


def verifier_key(name: str, key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    pub = public_key_bytes(key)
    return f"{name}+{key_id(name, pub).hex()}+{base64.b64encode(ALG_ED25519 + pub).decode()}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3 or not parts[0]:
        raise CheckpointError("verifier key must look like name+hexid+base64key")
    name, hexid, b64 = parts
    try:
        raw = _b64decode(b64)
        kid = bytes.fromhex(hexid)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError("verifier key is not valid hex/base64") from exc
    if len(raw) != 33 or raw[:1] != ALG_ED25519:
        raise CheckpointError("verifier key is not an Ed25519 key")
    if kid != key_id(name, raw[1:]):
        raise CheckpointError("verifier key id does not match its name and key")
    return name, Ed25519PublicKey.from_public_bytes(raw[1:])


def load_or_create_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Load a PEM PKCS#8 Ed25519 key; create it (mode 0600) if the file does not exist."""
    path = Path(path)
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointError(f"{path} does not hold an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(pem)
    tmp.chmod(0o600)
    tmp.replace(path)
    return key


# ----------------------------------------------------------------- signed notes

def sign_note(body: str, name: str, key: Ed25519PrivateKey) -> str:
    if not body.endswith("\n") or "\n\n" in body:
        raise CheckpointError("note text must end with one newline and contain no blank line")
    sig = key.sign(body.encode())
    kid = key_id(name, public_key_bytes(key))
    return f"{body}\n{SIG_PREFIX}{name} {base64.b64encode(kid + sig).decode()}\n"


def split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """Return (text, [(name, key id, signature)]) of a signed note, checking its layout."""
    if "\r" in note or any(ord(c) < 0x20 and c != "\n" for c in note):
        raise CheckpointError("note contains control characters")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise CheckpointError("note has no signature block")
    text, sig_block = note[: cut + 1], note[cut + 2 :]
    if not sig_block.endswith("\n"):
        raise CheckpointError("signature block must end with a newline")
    sigs = []
    for line in sig_block[:-1].split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise CheckpointError(f"malformed signature line {line[:40]!r}")
        name, _, b64 = line[len(SIG_PREFIX) :].partition(" ")
        try:
            raw = _b64decode(b64)
        except binascii.Error as exc:
            raise CheckpointError("signature is not base64") from exc
        if not name or len(raw) < 5:
            raise CheckpointError("malformed signature line")
        sigs.append((name, raw[:4], raw[4:]))
    if not sigs or len(sigs) > MAX_SIGNATURES:
        raise CheckpointError("note has no (or too many) signatures")
    return text, sigs


def verify_note(note: str, name: str, public: Ed25519PublicKey) -> str:
    """Return the note text if it carries a valid signature by (name, public); else raise."""
    text, sigs = split_note(note)
    kid = key_id(name, public_key_bytes(public))
    for sig_name, sig_kid, sig in sigs:
        if sig_name == name and sig_kid == kid:
            try:
                public.verify(sig, text.encode())
            except InvalidSignature as exc:
                raise CheckpointError(f"signature by {name} does not verify") from exc
            return text
    raise CheckpointError(f"note is not signed by the key {name}+{kid.hex()}")


def sign_checkpoint(cp: Checkpoint, key: Ed25519PrivateKey, name: str | None = None) -> str:
    return sign_note(cp.body(), name or cp.origin, key)


def open_checkpoint(note: str, vkey: str, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint against a verifier key and parse it."""
    name, public = parse_verifier_key(vkey)
    cp = parse_checkpoint(verify_note(note, name, public))
    if origin is not None and cp.origin != origin:
        raise CheckpointError(f"checkpoint origin {cp.origin!r} is not {origin!r}")
    return cp
