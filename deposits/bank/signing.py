"""HMAC signatures of bank notifications (pure).

The bank adapter signs ``"<timestamp>.<raw body>"`` with HMAC-SHA256 under a shared secret and sends
``X-Bank-Timestamp: <unix seconds>`` and ``X-Bank-Signature: v1=<hex>``.  The receiver refuses a
missing or wrong signature and a timestamp outside the tolerance window (so an old captured request
cannot be replayed later); a replay inside the window is harmless because the bank's transaction id
is the idempotency key, and a replay *with a different body* fails the signature (or, if re-signed
by the bank with the same transaction id, is refused as a conflict by the service).
"""
from __future__ import annotations

import hashlib
import hmac

from trading.coded import CodedError

SCHEME = "v1"
TOLERANCE_SECONDS = 300


class SignatureError(CodedError):
    """A bank notification's signature refused (codes: deposits/messages.py)."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(int(timestamp)).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SCHEME}={mac}"


def verify(secret: bytes, *, timestamp: str | None, signature: str | None, body: bytes, now: float,
           tolerance: int = TOLERANCE_SECONDS) -> None:
    """Raise SignatureError with a reason unless the signature is valid and fresh."""
    if not secret:
        raise SignatureError("the bank notification secret is not configured", code="no_secret")
    if not timestamp or not signature:
        raise SignatureError("missing signature headers", code="headers")
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError("malformed timestamp", code="timestamp") from None
    if abs(now - ts) > tolerance:
        raise SignatureError("timestamp outside the allowed window (stale or replayed notification)", code="stale")
    expected = sign(secret, ts, body)
    candidates = [s.strip() for s in signature.split(",")]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("signature does not match", code="mismatch")


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
