"""The one parser for integers and ids that come from outside (URLs, query strings, forms, JSON, websockets).

Python's own `int()` and `str.isdigit()` accept far more than a client means by a number: `int("²")` fails
after `"²".isdigit()` said yes, `int("٣")` is 3, `int(" 7 ")` is 7 and `int("1_000")` is 1000. Every input
number goes through `parse_int` instead: ASCII digits only (no sign, spaces, underscores or other scripts'
digits), at most 18 of them (inside PostgreSQL's bigint), within the bounds the caller gives. A JSON
integer is taken as it is (but never `true`/`false`). Anything else raises `trading.errors.Invalid`, which
the API answers with a 400 in the one error shape and the pages with a 400 page.
"""
from __future__ import annotations

import re
from typing import Any, Literal, overload

from trading.errors import Invalid
from django.utils.translation import gettext_lazy as _

_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")
BIGINT_MAX = 2**63 - 1


def is_ascii_int(raw: Any) -> bool:
    """True for a string of 1–18 ASCII digits (what `parse_int` accepts from text)."""
    return isinstance(raw, str) and _ASCII_DIGITS.fullmatch(raw) is not None


def parse_int(raw: Any, *, field: str, minimum: int = 0, maximum: int = BIGINT_MAX) -> int:
    """An integer from outside: a string of ASCII digits or a JSON integer, within [minimum, maximum].

    Raises Invalid (400) naming the field otherwise."""
    if isinstance(raw, bool):
        raise Invalid(_("%(field_name)s must be a whole number, not true/false"), field_name=field, field=field)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _ASCII_DIGITS.fullmatch(raw):
        value = int(raw)
    else:
        shown = raw[:30] if isinstance(raw, str) else type(raw).__name__
        raise Invalid(_("%(field_name)s must be a whole number written in ASCII digits 0-9, got %(shown)r"), field_name=field, shown=shown, field=field)
    if value < minimum:
        raise Invalid(_("%(field_name)s must be at least %(minimum)s"), field_name=field, minimum=minimum, field=field)
    if value > maximum:
        raise Invalid(_("%(field_name)s must be at most %(maximum)s"), field_name=field, maximum=maximum, field=field)
    return value


def parse_id(raw: Any, *, field: str) -> int:
    """A database id (a positive bigint) from outside."""
    return parse_int(raw, field=field, minimum=1)


@overload
def optional_int(raw: Any, *, field: str, default: int, minimum: int = 0, maximum: int = BIGINT_MAX) -> int: ...
@overload
def optional_int(raw: Any, *, field: str, default: None = None, minimum: int = 0,
                 maximum: int = BIGINT_MAX) -> int | None: ...
def optional_int(raw: Any, *, field: str, default: int | None = None, minimum: int = 0,
                 maximum: int = BIGINT_MAX) -> int | None:
    """`parse_int`, with None or "" giving `default`."""
    if raw is None or raw == "":
        return default
    return parse_int(raw, field=field, minimum=minimum, maximum=maximum)


@overload
def query_int(params: Any, name: str, *, required: Literal[True], default: int | None = None, minimum: int = 0,
              maximum: int = BIGINT_MAX) -> int: ...
@overload
def query_int(params: Any, name: str, *, required: bool = False, default: int, minimum: int = 0,
              maximum: int = BIGINT_MAX) -> int: ...
@overload
def query_int(params: Any, name: str, *, required: bool = False, default: None = None, minimum: int = 0,
              maximum: int = BIGINT_MAX) -> int | None: ...
def query_int(params: Any, name: str, *, required: bool = False, default: int | None = None, minimum: int = 0,
              maximum: int = BIGINT_MAX) -> int | None:
    """An integer query-string parameter (`request.GET` / `request.query_params`)."""
    raw = params.get(name)
    if (raw is None or raw == "") and required:
        raise Invalid(_("query parameter %(name)r is required"), name=name, field=name)
    return optional_int(raw, field=name, default=default, minimum=minimum, maximum=maximum)
