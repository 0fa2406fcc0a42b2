"""Replay of cases and suspensions: section ``state["challenges"]``; its live counterpart is
``trading.challenges.selectors.live_challenges``. Never the filer's name or contact."""
from __future__ import annotations

from audit.replay import Ev, on, section


def _sec(state: dict) -> dict:
    return section(state, "challenges", lambda: {"cases": {}, "suspensions": []})


def _facts(state: dict, p: dict) -> dict:
    case = _sec(state)["cases"].setdefault(p["case"], {"kind": p.get("kind"), "lot": p.get("lot"), "outcome": "",
                                                        "remedy": "", "extended": False, "overdue": False,
                                                        "late": False})
    for k in ("status", "due_at", "clock", "calendar_unknown"):
        if k in p:
            case[k] = p[k]
    return case


@on("case.file", "case.accept", "case.withdraw", "case.clock")
def _case(state: dict, ev: Ev) -> None:
    case = _facts(state, ev.payload)
    if ev.action == "case.accept":
        case["overdue"] = False
        case["late"] = ev.payload.get("late", False)


@on("case.answer", "case.refuse", "case.decide")
def _closed(state: dict, ev: Ev) -> None:
    case = _facts(state, ev.payload)
    case["outcome"], case["late"] = ev.payload["outcome"], ev.payload.get("late", False)
    case["remedy"] = ev.payload.get("remedy", "")


@on("case.extend")
def _extend(state: dict, ev: Ev) -> None:
    case = _facts(state, ev.payload)
    case["extended"], case["overdue"] = True, False


@on("case.overdue")
def _overdue(state: dict, ev: Ev) -> None:
    _sec(state)["cases"][ev.payload["case"]]["overdue"] = True


@on("project.suspend")
def _suspend(state: dict, ev: Ev) -> None:
    p = ev.payload
    _sec(state)["suspensions"].append({"case": p["case"], "started_at": p["started_at"], "limit_at": p["limit_at"],
                                       "lifted_at": None})


@on("project.resume")
def _resume(state: dict, ev: Ev) -> None:
    p = ev.payload
    sec = _sec(state)
    for s in sec["suspensions"]:
        if s["lifted_at"] is None:
            s["lifted_at"] = p["lifted_at"]
    for moved in p.get("cases", []):
        case = sec["cases"][moved["case"]]
        case["due_at"], case["calendar_unknown"], case["overdue"] = moved["due_at"], moved["calendar_unknown"], False


def finalize(state: dict, as_of) -> None:
    _sec(state)
