"""Replay: rebuild a project's state at any moment from its audit events alone.

This package is the machinery only; every app owns the replay of its own events, in ``<app>/replay.py``
beside its services, and registers that module explicitly when Django starts (``AppConfig.ready``):

    # <app>/replay.py
    from audit.replay import on, section

    @on("deposit.transfer")                       # one or more event actions
    def _transfer(state: dict, ev: "Ev") -> None:
        dep = section(state, "deposits", lambda: {"accounts": {}})
        ...                                        # mutate your own section only

    def finalize(state: dict, as_of: datetime) -> None:   # optional: e.g. hide counts before deadline
        ...

    NO_STATE = ("deposit.refund_send", ...)       # your events that change no replayed section

    # <app>/apps.py
    def ready(self) -> None:
        from audit import replay
        from deposits import replay as reducers
        replay.register(reducers)

An event whose action no registered module claims (by a reducer or in ``NO_STATE``) makes replay fail
loudly (:class:`UnclaimedEvent`): a new event type needs its reducer.

Rules: a reducer touches only ``state[<area>]``; it uses only ``ev`` (time, action, actor,
visibility, payload) and the state so far; values are plain JSON (ints for money, ISO-8601
strings ending in "Z" for times), so that replayed state equals the live state built by
``frontend.selectors.project_state(project)`` section by section (the replay-equals-live test
compares every section that has a live counterpart in ``frontend.selectors.LIVE_SECTIONS``).
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from audit import timestamps

Reducer = Callable[[dict, "Ev"], None]
REDUCERS: dict[str, list[Reducer]] = {}
NO_STATE: dict[str, str] = {}  # action -> the module that says it changes no section
FINALIZERS: list[Callable[[dict, dt.datetime], None]] = []
REGISTERED: dict[str, ModuleType] = {}


class UnclaimedEvent(LookupError):
    """An event no registered replay module claims: its app must add a reducer (or list it in NO_STATE)."""


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


iso = timestamps.iso  # the one time format of state values
parse_time = timestamps.parse


def on(*actions: str) -> Callable[[Reducer], Reducer]:
    """Mark a reducer of these actions; it takes part once its module is registered (:func:`register`)."""
    def mark(fn: Reducer) -> Reducer:
        fn.replay_actions = getattr(fn, "replay_actions", ()) + actions  # type: ignore[attr-defined]
        return fn

    return mark


def register(module: ModuleType) -> None:
    """Add an app's replay module: its marked reducers, its ``finalize`` and its ``NO_STATE`` actions.
    Registering the same module again changes nothing."""
    if REGISTERED.get(module.__name__) is module:
        return
    REGISTERED[module.__name__] = module
    for value in vars(module).values():
        for action in getattr(value, "replay_actions", ()):
            REDUCERS.setdefault(action, []).append(value)
    for action in getattr(module, "NO_STATE", ()):
        NO_STATE[action] = module.__name__
    fin = getattr(module, "finalize", None)
    if fin is not None:
        FINALIZERS.append(fin)


def claimed(action: str) -> bool:
    return action in REDUCERS or action in NO_STATE


def section(state: dict, area: str, factory: Callable[[], Any]) -> Any:
    if area not in state:
        state[area] = factory()
    return state[area]


def replay(events: Iterable[Ev | dict], *, as_of: dt.datetime | None = None) -> dict:
    """Fold events (in log order) into state; events after ``as_of`` are ignored. Raises
    :class:`UnclaimedEvent` for an event no registered module claims."""
    state: dict = {}
    last: dt.datetime | None = None
    for ev in events:
        if isinstance(ev, dict):
            ev = Ev.from_body(ev)
        if as_of is not None and ev.at > as_of:
            continue
        last = ev.at
        if not claimed(ev.action):
            raise UnclaimedEvent(f"no replay reducer claims the event {ev.action!r} (id {ev.id}): its app's "
                                 f"replay.py must handle it or list it in NO_STATE")
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
