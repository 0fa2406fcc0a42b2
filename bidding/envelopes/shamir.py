"""Shamir secret sharing, k-of-n, over the prime field GF(2**521 - 1).

Pure module (no Django).  Why this field: the secret we split is a 32-byte X25519
private key, i.e. any integer below 2**256; the Mersenne prime M521 = 2**521 - 1 is
comfortably larger, is a well-known prime (no primality doubts), and arithmetic is
plain Python integers.  A share is the point (x, f(x)) of a random polynomial f of
degree k-1 with f(0) = secret; every coefficient is drawn uniformly from the whole
field with `secrets`, so any k-1 shares are uniformly distributed whatever the secret
(tested exhaustively over a small field in tests/envelopes/test_shamir.py).

The field is a parameter so the classic textbook example (p = 1613) can serve as a
known-answer test.

Text form of a share (what a custodian holds):
    sunlight-share:v1:<context>:<k>:<x>:<y as hex>
`context` names what the share belongs to (e.g. "lot-17") so a share for the wrong lot
is refused by name, not by a mysterious wrong key.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from collections.abc import Iterable, Sequence

from trading.coded import CodedError

PRIME = 2**521 - 1
SECRET_BYTES = 32
SHARE_PREFIX = "sunlight-share:v1"
_CONTEXT_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ShamirError(CodedError):
    """A share set that cannot be used (too few, duplicate, malformed, wrong context)."""


@dataclass(frozen=True)
class Share:
    x: int
    y: int
    k: int
    context: str = ""

    def encode(self) -> str:
        return f"{SHARE_PREFIX}:{self.context}:{self.k}:{self.x}:{self.y:x}"


def _check_params(k: int, n: int, prime: int) -> None:
    if not (isinstance(k, int) and isinstance(n, int)):
        raise ShamirError("k and n must be integers", code="k_n_integers")
    if k < 1 or n < k:
        raise ShamirError("need 1 <= k <= n, got k=%(k)s, n=%(n)s", code="k_n_range", k=k, n=n)
    if n >= prime:
        raise ShamirError("n must be smaller than the field size", code="n_field")


def evaluate(coefficients: Sequence[int], x: int, prime: int = PRIME) -> int:
    """Horner evaluation of sum(c_i * x**i) mod prime (c_0 is the secret)."""
    acc = 0
    for c in reversed(coefficients):
        acc = (acc * x + c) % prime
    return acc


def split_with_coefficients(secret: int, coefficients: Sequence[int], n: int, *,
                            prime: int = PRIME, context: str = "") -> list[Share]:
    """Deterministic split: f(x) = secret + c1 x + c2 x^2 ...; shares at x = 1..n."""
    k = len(coefficients) + 1
    _check_params(k, n, prime)
    if not 0 <= secret < prime:
        raise ShamirError("secret out of field range", code="secret_range")
    poly = [secret, *[c % prime for c in coefficients]]
    return [Share(x=x, y=evaluate(poly, x, prime), k=k, context=context) for x in range(1, n + 1)]


def split(secret: int, *, k: int, n: int, prime: int = PRIME, context: str = "") -> list[Share]:
    """Random split of an integer secret (0 <= secret < prime) into n shares, any k rebuild it."""
    _check_params(k, n, prime)
    coefficients = [secrets.randbelow(prime) for _ in range(k - 1)]
    try:
        return split_with_coefficients(secret, coefficients, n, prime=prime, context=context)
    finally:
        coefficients[:] = [0] * len(coefficients)


def interpolate_at_zero(points: Sequence[tuple[int, int]], prime: int = PRIME) -> int:
    """Lagrange interpolation of the unique polynomial of degree < len(points) at x = 0."""
    xs = [x for x, _ in points]
    if len(set(xs)) != len(xs):
        raise ShamirError("duplicate share x-coordinates", code="duplicate_x")
    if any(x % prime == 0 for x in xs):
        raise ShamirError("share x-coordinate must be non-zero", code="zero_x")
    total = 0
    for i, (xi, yi) in enumerate(points):
        num, den = 1, 1
        for j, (xj, _) in enumerate(points):
            if i != j:
                num = (num * -xj) % prime
                den = (den * (xi - xj)) % prime
        total = (total + yi * num * pow(den, -1, prime)) % prime
    return total


def combine(shares: Iterable[Share], *, prime: int = PRIME) -> int:
    """Rebuild the secret from at least k shares (uses the first k); refuses k-1."""
    shares = list(shares)
    if not shares:
        raise ShamirError("no shares given", code="no_shares")
    ks = {s.k for s in shares}
    contexts = {s.context for s in shares}
    if len(ks) != 1:
        raise ShamirError("shares disagree on k", code="k_disagree")
    if len(contexts) != 1:
        raise ShamirError("shares belong to different contexts", code="contexts_differ")
    k = ks.pop()
    xs = [s.x for s in shares]
    if len(set(xs)) != len(xs):
        raise ShamirError("duplicate share", code="duplicate_share")
    if len(shares) < k:
        raise ShamirError("%(given)s share(s) given, %(k)s needed", code="too_few", given=len(shares), k=k)
    return interpolate_at_zero([(s.x, s.y) for s in shares[:k]], prime)


# -- bytes helpers (the opening key is 32 bytes) ------------------------------------

def split_bytes(secret: bytes, *, k: int, n: int, context: str = "") -> list[Share]:
    if len(secret) != SECRET_BYTES:
        raise ShamirError("secret must be %(size)s bytes", code="secret_size", size=SECRET_BYTES)
    return split(int.from_bytes(secret, "big"), k=k, n=n, context=context)


def combine_bytes(shares: Iterable[Share]) -> bytes:
    value = combine(shares)
    if value >= 2 ** (8 * SECRET_BYTES):
        raise ShamirError("shares do not rebuild a valid key", code="no_key")
    return value.to_bytes(SECRET_BYTES, "big")


def validate_context(context: str) -> str:
    if not _CONTEXT_RE.match(context or ""):
        raise ShamirError("share context must be 1-64 characters of A-Z a-z 0-9 . _ -", code="context_chars")
    return context


def decode_share(text: str) -> Share:
    """Parse the text form; raises ShamirError with a readable message."""
    if not isinstance(text, str):
        raise ShamirError("share must be text", code="share_text")
    parts = text.strip().split(":")
    if len(parts) != 6 or ":".join(parts[:2]) != SHARE_PREFIX:
        raise ShamirError("not a Sunlight custody share (expected sunlight-share:v1:...)", code="share_prefix")
    _, _, context, k_s, x_s, y_s = parts
    validate_context(context)
    try:
        k, x, y = int(k_s, 10), int(x_s, 10), int(y_s, 16)
    except ValueError:
        raise ShamirError("malformed custody share numbers", code="share_numbers") from None
    if not (1 <= k <= 255 and 1 <= x <= 255 and 0 <= y < PRIME):
        raise ShamirError("custody share values out of range", code="share_range")
    return Share(x=x, y=y, k=k, context=context)


def share_digest(share: Share) -> str:
    """Digest recorded at the split; a submitted share must match it exactly."""
    return hashlib.sha256(b"sunlight/share-digest/v1\x00" + share.encode().encode()).hexdigest()


def share_matches(share: Share, digest_hex: str) -> bool:
    return hmac.compare_digest(share_digest(share), digest_hex)
