"""Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, last one a check character."""
from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28


def check_char(first17: str) -> str:
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate(code: str) -> str | None:
    """Return None when valid, otherwise a plain-words reason."""
    if not isinstance(code, str) or len(code) != 18:
        return "a unified social credit code has exactly 18 characters"
    code = code.upper()
    bad = [ch for ch in code if ch not in CHARSET]
    if bad:
        return f"character {bad[0]!r} is not allowed in a unified social credit code"
    if check_char(code[:17]) != code[17]:
        return "the check character (last character) does not match: the code is mistyped"
    return None


def complete(first17: str) -> str:
    """Append the check character (used by demo data and tests)."""
    return first17 + check_char(first17)
