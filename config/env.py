"""Read settings from environment variables, failing start-up with a clear message when one is malformed."""
from __future__ import annotations

import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured


def _bad(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Environment variable {name}={value!r} is malformed: expected {expected}.")


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise _bad(name, raw, "one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(name, raw, "an integer") from None
    if minimum is not None and value < minimum:
        raise _bad(name, raw, f"an integer ≥ {minimum}")
    return value


def env_ints(name: str, default: tuple[int, ...], *, minimum: int = 0) -> tuple[int, ...]:
    """As many comma-separated integers as ``default`` has, each at least ``minimum``."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    expected = f"{len(default)} comma-separated integers ≥ {minimum}"
    try:
        values = tuple(int(item) for item in raw.split(","))
    except ValueError:
        raise _bad(name, raw, expected) from None
    if len(values) != len(default) or any(v < minimum for v in values):
        raise _bad(name, raw, expected)
    return values


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    items = [item.strip() for item in raw.split(",")]
    if any(not item for item in items):
        raise _bad(name, raw, "a comma-separated list without empty items")
    return items


def env_url(name: str, default: str, *, schemes: set[str]) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    parsed = urlparse(raw)
    if parsed.scheme not in schemes:
        raise _bad(name, raw, f"a URL with scheme {' or '.join(sorted(schemes))}")
    if parsed.scheme not in {"sqlite", "memory"} and not parsed.hostname and not parsed.path:
        raise _bad(name, raw, "a URL with a host")
    return raw
