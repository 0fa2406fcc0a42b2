"""Canonical JSON: the one byte encoding of an event that the Merkle leaf hashes.

Rules (kept identical in the standalone verifier, ``sunlight_verify.py``):
sorted keys, compact separators, UTF-8 (non-ASCII kept as is), no floats, no NaN,
only str / int / bool / None / list / tuple / dict with str keys.
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ["canonical_bytes", "check_json_value"]


def check_json_value(obj: Any, path: str = "$") -> None:
    """Raise TypeError/ValueError if ``obj`` is not plain, float-free JSON."""
    if obj is None or isinstance(obj, (bool, str)):
        return
    if isinstance(obj, int):
        return
    if isinstance(obj, float):
        raise TypeError(f"float not allowed in canonical JSON at {path} (use int fen / strings)")
    if isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            check_json_value(item, f"{path}[{i}]")
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"non-string key {key!r} at {path}")
            check_json_value(value, f"{path}.{key}")
        return
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable at {path}")


def canonical_bytes(obj: Any) -> bytes:
    """Encode ``obj`` as canonical JSON bytes (sorted keys, ``,``/``:``, UTF-8)."""
    check_json_value(obj)
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
