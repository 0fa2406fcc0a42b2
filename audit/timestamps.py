"""The one way the platform writes a moment as text: UTC, ISO 8601, ending in ``Z`` (never ``+00:00``).

Pure (no Django); in the ground-floor app so every app, audit included, can use it.

* :func:`iso` -- state, API, event payload and replay values: microseconds only when there are any
  (``datetime.isoformat``); :func:`iso_z` the same for a moment that is always there;
* :func:`iso_seconds` -- whole seconds (OCDS releases, checkpoints, receipts);
* :func:`iso_micro` -- always six digits of microseconds (the ``at`` of a canonical audit event);
* :func:`parse` -- the inverse of all of them (also accepts ``+00:00`` and other offsets).
"""
from __future__ import annotations

import datetime as dt
from typing import overload


def iso_z(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@overload
def iso(value: dt.datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
@overload
def iso(value: dt.datetime | None) -> str | None: ...
def iso(value: dt.datetime | None) -> str | None:
    return iso_z(value) if value is not None else None


@overload
def iso_seconds(value: dt.datetime) -> str: ...
@overload
def iso_seconds(value: None) -> None: ...
@overload
def iso_seconds(value: dt.datetime | None) -> str | None: ...
def iso_seconds(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def iso_micro(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
