"""Virtual sub-account numbers (虚拟子账号) under the unified deposit account. Pure, no database.

Format: ``<prefix><12-digit body><check digit>``.

* The body is a keyed permutation (a 10-round numeric Feistel network over two 6-digit halves) of
  the sub-account's sequence number, so numbers are unique (a permutation is a bijection) but reveal
  nothing: a bidder cannot tell from its own number how many others registered for the lot
  (confidentiality before the deadline) and cannot guess another bidder's number.
* The check digit uses the Damm algorithm (quasigroup of order 10): it detects every single-digit
  error and every adjacent transposition, which Luhn does not (Luhn misses 09 <-> 90).
"""
from __future__ import annotations

import hashlib
import hmac
import re

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

HALF = 10**6
BODY_DIGITS = 12
SPACE = HALF * HALF  # 10**12 sequence numbers per prefix
ROUNDS = 10


def damm_digit(digits: str) -> str:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return str(interim)


def damm_valid(number: str) -> bool:
    return number.isascii() and number.isdigit() and damm_digit(number) == "0"


def _round(key: bytes, i: int, value: int) -> int:
    mac = hmac.new(key, f"{i}:{value}".encode(), hashlib.sha256).digest()
    return int.from_bytes(mac[:8], "big") % HALF


def permute(seq: int, key: bytes) -> int:
    """Keyed bijection of [0, 10**12)."""
    if not 0 <= seq < SPACE:
        raise ValueError("sequence number out of range")
    left, right = divmod(seq, HALF)
    for i in range(ROUNDS):
        left, right = right, (left + _round(key, i, right)) % HALF
    return left * HALF + right


def unpermute(value: int, key: bytes) -> int:
    if not 0 <= value < SPACE:
        raise ValueError("value out of range")
    left, right = divmod(value, HALF)
    for i in reversed(range(ROUNDS)):
        left, right = (right - _round(key, i, left)) % HALF, left
    return left * HALF + right


def make_number(prefix: str, seq: int, key: bytes) -> str:
    """The virtual sub-account number for sequence number ``seq`` (1, 2, 3 ...)."""
    if not re.fullmatch(r"[0-9]{2,12}", prefix):
        raise ValueError("prefix must be 2-12 digits")
    body = f"{permute(seq, key):0{BODY_DIGITS}d}"
    return prefix + body + damm_digit(prefix + body)


def parse_number(number: str, prefix: str) -> str | None:
    """Normalise a number typed or printed by a bank (spaces, dashes removed).
    Return the normalised number when it is well-formed for this prefix with a correct check digit,
    otherwise None."""
    if not isinstance(number, str):
        return None
    clean = re.sub(r"[\s-]", "", number)
    if len(clean) != len(prefix) + BODY_DIGITS + 1 or not clean.startswith(prefix):
        return None
    return clean if damm_valid(clean) else None


def sequence_of(number: str, prefix: str, key: bytes) -> int | None:
    clean = parse_number(number, prefix)
    if clean is None:
        return None
    return unpermute(int(clean[len(prefix):-1]), key)


def group(number: str) -> str:
    """Print in groups of four for payment instructions: 8866 0123 4567 8901 2."""
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))
