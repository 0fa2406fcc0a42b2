"""Dependencies point one way (DESIGN.md §2): supervision reads the other apps, never the reverse.
Every module of trading (challenges included), bidding, deposits and audit is parsed; none may import
supervision, at module level or inside a function."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_app_below_supervision_imports_it():
    offenders = []
    for app in ("trading", "bidding", "deposits", "audit"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if any(m == "supervision" or m.startswith("supervision.") for m in imported_modules(path)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_case_clocks_are_registered_by_supervision():
    from supervision.clocks import registry

    names = {c.name for c in registry()}
    assert {"objection_answer", "challenge_answer", "complaint_acceptance", "complaint_decision",
            "disclosure_answer"} <= names
