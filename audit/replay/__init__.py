"""Replay: rebuild a project's state at any moment from its audit events alone.

The engine is pure (no Django, no models of other apps). Each capability adds one module
``audit/replay/<area>.py`` next to ``trading.py`` and lists it in ``AREAS``:

    from audit.replay import on, section

    @on("deposit.transfer")                       # one or more event actions
    def _transfer(state: dict, ev: "Ev") -> None:
        dep = section(state, "deposits", lambda: {"accounts": {}})
        ...                                        # mutate your own section only

    def finalize(state: dict, as_of: datetime) -> None:   # optional: e.g. hide counts before deadline
        ...

Rules: a reducer touches only ``state[<area>]``; it uses only ``ev`` (time, action, actor,
visibility, payload) and the state so far; values are plain JSON (ints for money, ISO-8601
strings ending in "Z" for times), so that replayed state equals the live state built by
``frontend.selectors.project_state(project)`` section by section (the replay-equals-live test
compares every section that has a live counterpart in ``frontend.selectors.LIVE_SECTIONS``).
"""
from __future__ import annotations

import datetime as dt
import importlib
import json
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Iterable

AREAS = ["trading", "registration", "deposits", "envelopes", "evaluation", "auction"]

Reducer = Callable[[dict, "Ev"], None]
REDUCERS: dict[str, list[Reducer]] = {}
FINALIZERS: list[Callable[[dict, dt.datetime], None]] = []
_loaded = False


@dataclass(frozen=True)
class Ev:
    """One audit event as replay sees it (built from the event's canonical body)."""

    id: int | None
    at: dt.datetime
    action: str
    subject: str
    project: int | None
    actor: dict
    visibility: str
    payload: dict

    @property
    def at_iso(self) -> str:
        return iso(self.at)

    @classmethod
    def from_body(cls, body: dict, event_id: int | None = None) -> Ev:
        return cls(
            id=event_id, at=parse_time(body["at"]), action=body["action"], subject=body["subject"],
            project=body.get("project"), actor=body.get("actor") or {}, visibility=body.get("visibility", "public"),
            payload=body.get("payload") or {},
        )


def iso(value: dt.datetime | None) -> str | None:
    """The one time format of state values (matches trading.services.iso)."""
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def on(*actions: str) -> Callable[[Reducer], Reducer]:
    def register(fn: Reducer) -> Reducer:
        for action in actions:
            REDUCERS.setdefault(action, []).append(fn)
        return fn

    return register


def section(state: dict, area: str, factory: Callable[[], Any]) -> Any:
    if area not in state:
        state[area] = factory()
    return state[area]


def load_areas() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for area in AREAS:
        try:
            module = importlib.import_module(f"audit.replay.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"audit.replay.{area}":
                raise
            continue
        fin = getattr(module, "finalize", None)
        if fin is not None:
            FINALIZERS.append(fin)


def replay(events: Iterable[Ev | dict], *, as_of: dt.datetime | None = None) -> dict:
    """Fold events (in log order) into state; events after ``as_of`` are ignored."""
    load_areas()
    state: dict = {}
    last: dt.datetime | None = None
    for ev in events:
        if isinstance(ev, dict):
            ev = Ev.from_body(ev)
        if as_of is not None and ev.at > as_of:
            continue
        last = ev.at
        for fn in REDUCERS.get(ev.action, ()):
            fn(state, ev)
    moment = as_of or last or dt.datetime.now(dt.timezone.utc)
    for fin in FINALIZERS:
        fin(state, moment)
    return state


def diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Human-readable differences between two JSON-like values (for tests and the console)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a:
                out.append(f"{path}/{key}: only live = {json.dumps(b[key], default=str)[:200]}")
            elif key not in b:
                out.append(f"{path}/{key}: only replay = {json.dumps(a[key], default=str)[:200]}")
            else:
                out += diff(a[key], b[key], f"{path}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    if a != b:
        return [f"{path}: replay {json.dumps(a, default=str)[:200]} != live {json.dumps(b, default=str)[:200]}"]
    return []
