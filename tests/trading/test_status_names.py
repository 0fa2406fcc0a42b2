"""Lot statuses are named through ``trading.lifecycle.LotStatus`` everywhere but the lifecycle module itself
(and migrations, frozen history): a status literal anywhere else is a second copy of the lifecycle's names.

A source scan (AST, not text: docstrings and messages may say "awarded"). Refused outside
trading/lifecycle.py:
- a literal only the lot lifecycle uses ("published", "bidding_closed", …), anywhere;
- a literal the lot lifecycle shares with other lifecycles ("closed" is also an auction phase and a deposit
  sub-account's status, "failed" a refund order's, "contracted" an award's, …) where a status is meant: compared
  with or assigned to a ``.status``, given to a ``status``/``…__status``/``…__status__in`` lookup, handed to a
  function taking lot statuses (``_lots("opened")``, ``_ensure_lot(lot, "live")``), or listed beside a lot-only literal. Other lifecycles name theirs
  through their own model's choices (``Account.Status.CLOSED``, ``RefundOrder.Status.FAILED``, …).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from trading.lifecycle import STATUSES, LotStatus as Status

ROOT = Path(__file__).resolve().parents[2]
# outside the Django apps: the standalone verifier and witness read archives and import no app
SKIP = {"trading/lifecycle.py", "sunlight_verify.py", "sunlight_witness.py"}
SKIP_DIRS = {".venv", "tests", "bench", "migrations", "node_modules", "build", "var"}
# a shared word meaning another lifecycle's status where that lifecycle is defined (its model's choices and
# constraints) or where its model cannot be imported (the pure rules module)
ALLOWED = {("deposits/models.py", "closed"), ("deposits/models.py", "failed"),
           ("bidding/evaluation/models.py", "contracted"), ("deposits/rules.py", "closed")}
SHARED = {Status.OPENED, Status.PUBLICITY, Status.CONTRACTED, Status.COMPLETE, Status.FAILED, Status.LISTING,
          Status.LIVE, Status.CLOSED}
LOT_ONLY = set(STATUSES) - SHARED


def _sources():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if str(rel) in SKIP or SKIP_DIRS & set(rel.parts[:-1]):
            continue
        yield str(rel), ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))


def _strings(node: ast.AST) -> list[ast.Constant]:
    """The string constants of a literal, a tuple/list/set of them, or a conditional of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [c for e in node.elts for c in _strings(e)]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _is_status(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "status"


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _status_places(tree: ast.AST):
    """String constants standing where a status is meant."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_status(o) for o in operands):
                yield from (c for o in operands for c in _strings(o))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_status(t) for t in targets) and node.value is not None:
                yield from _strings(node.value)
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg and (kw.arg in ("status", "status__in") or kw.arg.endswith(("__status", "__status__in"))):
                    yield from _strings(kw.value)
            if _name(node.func).endswith(("lots", "ensure_lot")):
                yield from (c for a in node.args for c in _strings(a))
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            found = _strings(node)
            if any(c.value in LOT_ONLY for c in found):
                yield from found
        elif isinstance(node, ast.Dict):
            keys = [c for k in node.keys if k is not None for c in _strings(k)]
            if any(c.value in LOT_ONLY for c in keys):
                yield from keys


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def status_literals() -> list[str]:
    found = set()
    for rel, tree in _sources():
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and node.value in LOT_ONLY and id(node) not in docs):
                found.add(f"{rel}:{node.lineno}: {node.value!r}")
        for node in _status_places(tree):
            if node.value in STATUSES and (rel, node.value) not in ALLOWED:
                found.add(f"{rel}:{node.lineno}: {node.value!r}")
    return sorted(found)


def test_lot_statuses_are_named_by_the_lifecycle_only():
    assert status_literals() == []


_TEMPLATE_COMPARE = re.compile(r"(?:\blot\.status|(?<![\w.])status)\s*(?:==|!=|in)\s*[\"']([a-z_]+)[\"']")


def template_status_literals(root: Path = ROOT / "frontend" / "templates") -> list[str]:
    """Templates compare a lot's status (``lot.status``, or a page's ``status``) with ``LotStatus.X``
    (frontend.context), not with a literal."""
    found = []
    for path in sorted(root.rglob("*.html")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{path.name}:{n}: {m.group(1)!r}" for m in _TEMPLATE_COMPARE.finditer(line)
                      if m.group(1) in STATUSES]
    return found


def test_templates_name_lot_statuses_by_the_lifecycle():
    assert template_status_literals() == []


def test_the_scan_finds_a_status_literal(tmp_path):
    """The scan itself can fail: each kind of place it watches is found in a sample."""
    sample = '''
if lot.status == "live": pass
lots.filter(lot__status__in=["opened", "closed"])
lot.status = "failed"
_lots("publicity")
STATES = ("awarded", "contracted")
x = "bidding_closed"
'''
    tree = ast.parse(sample)
    got = sorted({n.value for n in _status_places(tree)} | {n.value for n in ast.walk(tree)
                                                            if isinstance(n, ast.Constant) and n.value in LOT_ONLY})
    assert got == ["awarded", "bidding_closed", "closed", "contracted", "failed", "live", "opened", "publicity"]
    (tmp_path / "t.html").write_text('{% if lot.status == "opened" %}{% endif %}{% if status != "draft" %}'
                                     '{% if o.status == "failed" %}', encoding="utf-8")
    assert [x.rsplit(" ", 1)[1] for x in template_status_literals(tmp_path)] == ["'opened'", "'draft'"]
