"""Every service error speaks the request's language.

(a) An AST walk over the platform's code collects every message given to a `trading.errors.DomainError`
    subclass; each must be a translatable literal (`_("…")`, named placeholders) — never a bare or f-string —
    and must have a zh-hans translation in the compiled catalogue.
(b) Real refusals through the API in both languages: tests/trading/test_error_language.py.
"""
from __future__ import annotations

import ast
import pathlib
import re

from django.utils import translation

ROOT = pathlib.Path(__file__).resolve().parents[2]
APPS = ("audit", "bidding", "config", "deposits", "frontend", "supervision", "trading")
# (BidRefused carries the auction engine's own reason, the one the auction room's websocket sends too)
ERRORS = {"DomainError", "Invalid", "Forbidden", "NotAuthenticated", "NotFound", "Conflict", "Suspended",
          "CalendarUnknown"}
GETTEXT = {"_", "gettext", "gettext_lazy", "pgettext_lazy"}


def _name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _literal(node: ast.expr) -> str | None:
    """The msgid of `_("…")`, else None."""
    if isinstance(node, ast.Call) and _name(node.func) in GETTEXT and node.args:
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


def _words(msgid: str) -> bool:
    """Whether the message has words to translate (not only placeholders and punctuation)."""
    return bool(re.search(r"[A-Za-z]", re.sub(r"%\(\w+\)[sr]", "", msgid)))


def collect() -> tuple[dict[str, list[str]], list[str]]:
    """(msgid → where, problems): every message passed to a domain error across the code."""
    msgids: dict[str, list[str]] = {}
    problems: list[str] = []
    constants: dict[str, str] = {}  # module-level NAME = _("…") (messages kept in a constant)
    calls: list[tuple[str, ast.Call]] = []
    for path in sorted(p for app in APPS for p in (ROOT / app).rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and (msgid := _literal(stmt.value)) is not None:
                constants.update({t.id: msgid for t in stmt.targets if isinstance(t, ast.Name)})
        for found in ast.walk(tree):
            if isinstance(found, ast.Call) and _name(found.func) in ERRORS and found.args:
                calls.append((f"{rel}:{found.lineno}", found))
    for where, node in calls:
        arg = node.args[0]
        if (msgid := _literal(arg)) is not None:
            msgids.setdefault(msgid, []).append(where)
            named = set(re.findall(r"%\((\w+)\)", msgid))
            given = {k.arg for k in node.keywords} - {"field"}
            if named - given:
                problems.append(f"{where}: placeholders {sorted(named - given)} not given")
        elif isinstance(arg, (ast.Name, ast.Attribute)) and _name(arg) in constants:
            msgids.setdefault(constants[_name(arg) or ""], []).append(where)
        elif isinstance(arg, (ast.Constant, ast.JoinedStr, ast.BinOp, ast.IfExp)):
            problems.append(f"{where}: message is not translatable: {ast.unparse(arg)[:80]}")
        # anything else passes a message made elsewhere through (str(exc) of a pure module, Django's
        # already translated validation messages)
    return msgids, problems


def test_every_domain_error_message_is_translatable_and_translated():
    msgids, problems = collect()
    assert len(msgids) > 300  # the walk found the services' messages
    assert not problems, "\n".join(problems)
    with translation.override("zh-hans"):
        missing = [f"{where[0]}: {msgid!r}" for msgid, where in msgids.items()
                   if translation.gettext(msgid) == msgid and _words(msgid)]
    assert not missing, f"{len(missing)} messages without a zh-hans translation:\n" + "\n".join(missing)


def test_placeholders_match_between_languages():
    msgids, _problems = collect()
    with translation.override("zh-hans"):
        wrong = [msgid for msgid in msgids
                 if sorted(re.findall(r"%\(\w+\)[sr]", translation.gettext(msgid))) != sorted(re.findall(r"%\(\w+\)[sr]", msgid))]
    assert not wrong
