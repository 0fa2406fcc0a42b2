"""Money is integer fen (分) inside; decimal strings ("1234.56") at the edges. One parser, one formatter.

The rule of the edges (docs/api-formats.md): every amount the API, the websockets, the pages' JSON and the
command-line tools take or give is a decimal yuan string with two decimals out ("1234.56") and at most two
in; never an integer, never a float, never a field named ``*_fen``. ``decimal_keys`` turns a stored
structure that counts in fen (an event's data, a report) into that form at the edge; ``FEN_SUFFIX`` keys in
a request are refused by the JSON parser (trading.inputs) with a 400 naming the field to use.
"""
from __future__ import annotations

import re
from typing import Any, overload

from trading.errors import Invalid
from django.utils.translation import gettext_lazy as _

_MONEY = re.compile(r"^(0|[1-9][0-9]{0,15})(?:\.([0-9]{1,2}))?$")
MONEY_PATTERN = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$"  # what the API takes (OpenAPI `pattern` of every amount)
EXPECTED = 'a decimal string like "1234.56"'
MAX_FEN = 10**17  # 1e15 yuan: far above any real transaction, far below BigInteger overflow
FEN_SUFFIX = "_fen"


def parse_money(value: object, *, field: str = "amount", allow_zero: bool = True) -> int:
    """Parse a decimal yuan string into integer fen. Floats, negatives, a third decimal place,
    exponents and anything non-numeric are refused with a clear message."""
    if isinstance(value, (bool, int, float)):
        raise Invalid(_("%(field_name)s: expected %(EXPECTED)s, not a number"), field_name=field, EXPECTED=EXPECTED, field=field)
    if not isinstance(value, str):
        raise Invalid(_("%(field_name)s: expected %(EXPECTED)s"), field_name=field, EXPECTED=EXPECTED, field=field)
    text = value.strip()
    if text.startswith("-"):
        raise Invalid(_("%(field_name)s: amount must not be negative"), field_name=field, field=field)
    match = _MONEY.match(text)
    if not match:
        if re.match(r"^\d+\.\d{3,}$", text):
            raise Invalid(_("%(field_name)s: at most two decimal places (fen) are allowed"), field_name=field, field=field)
        raise Invalid(_('%(field_name)s: %(value)r is not an amount like "1234.56"'), field_name=field, value=value, field=field)
    yuan, fen = match.group(1), (match.group(2) or "").ljust(2, "0")
    amount = int(yuan) * 100 + int(fen or "0")
    if amount >= MAX_FEN:
        raise Invalid(_("%(field_name)s: amount is too large"), field_name=field, field=field)
    if not allow_zero and amount == 0:
        raise Invalid(_("%(field_name)s: amount must be greater than zero"), field_name=field, field=field)
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


def renamed(key: str) -> str:
    """The edge name of a fen-counting key: ``amount_fen`` → ``amount``."""
    return key[: -len(FEN_SUFFIX)] if key.endswith(FEN_SUFFIX) else key


def _fen_count(item: Any) -> bool:
    return item is None or (isinstance(item, int) and not isinstance(item, bool))


def decimal_keys(value: Any) -> Any:
    """A JSON structure that counts in fen (stored event data, reports, evidence) in the edge form: every
    ``<name>_fen`` key with an integer (or null) value, or a list of them, becomes ``<name>`` with decimal
    strings."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key.endswith(FEN_SUFFIX) and _fen_count(item):
                out[renamed(key)] = format_fen(item)
            elif isinstance(key, str) and key.endswith(FEN_SUFFIX) and isinstance(item, list) and all(
                    _fen_count(x) for x in item):
                out[renamed(key)] = [format_fen(x) for x in item]
            else:
                out[key] = decimal_keys(item)
        return out
    if isinstance(value, list):
        return [decimal_keys(item) for item in value]
    return value

