"""Money is integer fen (分) inside; decimal strings ("1234.56") at the edges. One parser, one formatter."""
from __future__ import annotations

import re
from typing import overload

from trading.errors import Invalid

_MONEY = re.compile(r"^(0|[1-9][0-9]{0,15})(?:\.([0-9]{1,2}))?$")
MAX_FEN = 10**17  # 1e15 yuan: far above any real transaction, far below BigInteger overflow


def parse_money(value: object, *, field: str = "amount", allow_zero: bool = True) -> int:
    """Parse a decimal yuan string into integer fen. Floats, negatives, a third decimal place,
    exponents and anything non-numeric are refused with a clear message."""
    if isinstance(value, bool) or isinstance(value, float):
        raise Invalid(f"{field}: give the amount as a decimal string like \"1234.56\", not a number", field=field)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise Invalid(f"{field}: amount must be a decimal string like \"1234.56\"", field=field)
    text = value.strip()
    if text.startswith("-"):
        raise Invalid(f"{field}: amount must not be negative", field=field)
    match = _MONEY.match(text)
    if not match:
        if re.match(r"^\d+\.\d{3,}$", text):
            raise Invalid(f"{field}: at most two decimal places (fen) are allowed", field=field)
        raise Invalid(f"{field}: {value!r} is not an amount like \"1234.56\"", field=field)
    yuan, fen = match.group(1), (match.group(2) or "").ljust(2, "0")
    amount = int(yuan) * 100 + int(fen or "0")
    if amount >= MAX_FEN:
        raise Invalid(f"{field}: amount is too large", field=field)
    if not allow_zero and amount == 0:
        raise Invalid(f"{field}: amount must be greater than zero", field=field)
    return amount


@overload
def format_fen(fen: int) -> str: ...
@overload
def format_fen(fen: None) -> None: ...
@overload
def format_fen(fen: int | None) -> str | None: ...
def format_fen(fen: int | None) -> str | None:
    """Integer fen -> decimal yuan text ("-1234.56"): the one formatter of amounts at the edges."""
    if fen is None:
        return None
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def format_yuan_display(fen: int | None) -> str:
    """For pages: ¥1,234.56."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"
