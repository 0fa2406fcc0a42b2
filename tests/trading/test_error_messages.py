"""Every service error speaks the request's language.

(a) An AST walk over the platform's code collects every message given to a `trading.errors.DomainError`
    subclass; each must be a translatable literal (`_("…")`, named placeholders) — never a bare or f-string —
    and must have a zh-hans translation in the compiled catalogue.
(b) Real refusals through the API in both languages: tests/trading/test_error_language.py.
(c) No exception's own text is passed through into an error answer: inside `except … as exc`, `str(exc)`, `exc`
    or an f-string of it given to a domain error, an API error or an error body is refused (a pure module's
    refusal is translated by its code: `trading.errors.translated`), but for the few listed in PASSTHROUGH with
    their reason.
(d) Every coded refusal a pure module raises (`raise SomeError("English %(x)s", code="…", x=…)`) has its entry in
    the owning app's catalogue (`<app>/messages.py`), with the same English text, and a zh-hans translation.
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


# --- (c) no exception text passed through into an answer ---------------------------------------------------

# what answers an error (a DomainError subclass, the API's own error, an error body, the auction's refusal)
ANSWERS = ERRORS | {"BidRefused", "ApiError", "error_body", "error_response", "ApiNotFound",
                    "ValidationError", "Response", "JsonResponse", "Check"}
# file:function → why the exception's own text may go on (each reviewed; the list may only shrink)
PASSTHROUGH: dict[str, str] = {
    "audit/check.py:check_consistency": "the standalone verifier's (sunlight_verify, English by design) technical "
                                        "text shown as a detail under the check's translated verdict",
    "audit/check.py:check_project": "the same: the verifier's refusal of a checkpoint's signature, as a detail",
    "audit/tiles.py:serve": "the tile server's Http404 messages are translatable literals (_(…)), rendered in the "
                            "request's language by str()",
}


def _walk_outside_translated(node: ast.AST):
    """``ast.walk`` but for what ``translated(…)`` is given (it translates the exception by its code)."""
    yield node
    if isinstance(node, ast.Call) and _name(node.func) == "translated":
        return
    for child in ast.iter_child_nodes(node):
        yield from _walk_outside_translated(child)


def _mentions(node: ast.AST, name: str) -> bool:
    """Whether ``node`` carries the text of the exception bound to ``name`` (``exc``, ``str(exc)``, ``f"{exc}"``,
    ``exc.args``…) — not its data (``exc.code``, ``exc.params``, ``exc.field`` and the like)."""
    data = {"code", "params", "field", "status_code", "ref", "key", "error", "minimum_fen", "reason", "lineno",
            "colno", "pos", "line",
            "messages", "message_dict"}  # Django's ValidationError: its messages come translated
    for sub in _walk_outside_translated(node):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id == name:
            if sub.attr not in data and sub.attr != "message":
                return True
        if isinstance(sub, ast.Name) and sub.id == name:
            parent_ok = any(isinstance(p, ast.Attribute) and p.value is sub for p in _walk_outside_translated(node))
            if not parent_ok:
                return True
    return False


def passthroughs() -> list[str]:
    found = []
    for path in sorted(p for app in APPS for p in (ROOT / app).rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for handler in (n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)):
            if handler.name is None:
                continue
            owner = next((f.name for f in functions if f.lineno <= handler.lineno <= (f.end_lineno or 0)
                          and any(h is handler for h in ast.walk(f))), "<module>")
            for call in (n for stmt in handler.body for n in ast.walk(stmt) if isinstance(n, ast.Call)):
                if _name(call.func) not in ANSWERS:
                    continue
                given = [*call.args, *(k.value for k in call.keywords)]
                if any(_mentions(arg, handler.name) for arg in given):
                    found.append(f"{rel}:{owner}")
        # an exception handed to a helper that makes the answer: str(exc) given to an answer anywhere
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n.func) in ANSWERS):
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                if any(isinstance(n, ast.Call) and _name(n.func) == "str" and n.args and isinstance(n.args[0], ast.Name)
                       and n.args[0].id in {"exc", "err", "problem"} for n in ast.walk(arg)):
                    owner = next((f.name for f in functions if f.lineno <= call.lineno <= (f.end_lineno or 0)),
                                 "<module>")
                    found.append(f"{rel}:{owner}")
    return sorted(set(found))


def test_no_exception_text_is_passed_into_an_answer():
    found = passthroughs()
    new = [f for f in found if f not in PASSTHROUGH]
    assert not new, "exception text passed through into an error answer (translate it by its code):\n" + "\n".join(new)
    stale = [f for f in PASSTHROUGH if f not in found]
    assert not stale, f"no longer passed through, remove from PASSTHROUGH: {stale}"


# --- (d) the pure modules' coded refusals have their translated catalogue entries ---------------------------

# pure module → the catalogues (module:attribute) that translate its codes
CATALOGUES = {
    "bidding/auction/engine.py": ["bidding.auction.messages:CONFIG"],
    "bidding/envelopes/envelope.py": ["bidding.envelopes.messages:ENVELOPE", "bidding.envelopes.messages:CUSTODY"],
    "bidding/envelopes/shamir.py": ["bidding.envelopes.messages:SHAMIR"],
    "bidding/evaluation/scoring.py": ["bidding.evaluation.messages:SCORING"],
    "bidding/evaluation/draw.py": ["bidding.evaluation.messages:DRAW"],
    "deposits/statements.py": ["deposits.messages:STATEMENT"],
    "deposits/bank/signing.py": ["deposits.messages:SIGNATURE"],
    "audit/merkle.py": ["audit.messages:PROOFS"],
    "audit/proofs.py": ["audit.messages:PROOFS"],
    "audit/archive.py": ["audit.messages:ARCHIVE"],
    "trading/periods.py": ["trading.messages:SCHEDULE"],
}


def _coded_raises(rel: str) -> list[tuple[int, str, str | None]]:
    """(line, key, English template) of every ``X("literal", code="literal" or key="literal", …)`` in the module."""
    tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
    out = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        given = {k.arg: k.value.value for k in call.keywords if k.arg in ("code", "key")
                 and isinstance(k.value, ast.Constant)}
        code = given.get("key", given.get("code"))  # the catalogue's key
        if not isinstance(code, str) or not call.args or any(k.arg == "cause" for k in call.keywords):
            # (a refusal wrapping a translatable DomainError of the platform's own answers with that error)
            continue
        first = call.args[0]
        template = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        if template is None and isinstance(first, ast.BinOp) and isinstance(first.op, ast.Add):
            template = ast.literal_eval(first)  # implicit concatenation spelt with +
        out.append((call.lineno, code, template))
    return out


def test_every_coded_refusal_of_a_pure_module_is_in_its_catalogue_and_translated():
    import importlib

    problems, seen = [], 0
    for rel, names in CATALOGUES.items():
        catalogue: dict = {}
        for name in names:
            module, attr = name.split(":")
            catalogue.update(getattr(importlib.import_module(module), attr))
        for line, code, template in _coded_raises(rel):
            seen += 1
            entry = catalogue.get(code)
            if entry is None:
                problems.append(f"{rel}:{line}: code {code!r} has no catalogue entry")
                continue
            with translation.override(None):
                english = str(entry)
            if template is not None and english != template:
                problems.append(f"{rel}:{line}: {code!r}: the catalogue says {english!r}, the module {template!r}")
            with translation.override("zh-hans"):
                if str(entry) == english and _words(english):
                    problems.append(f"{rel}:{line}: {code!r} has no zh-hans translation")
                elif sorted(re.findall(r"%\(\w+\)[sr]", str(entry))) != sorted(re.findall(r"%\(\w+\)[sr]", english)):
                    problems.append(f"{rel}:{line}: {code!r}: placeholders differ in zh-hans")
    assert seen > 5
    assert not problems, "\n".join(problems)
