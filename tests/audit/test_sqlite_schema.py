"""The embedded default (SQLite, scripts/demo) gets the same append-only guarantees as PostgreSQL: a fresh
SQLite database migrated in its own process has append-only triggers on exactly the tables that have them on
PostgreSQL, and its audit log refuses UPDATE and DELETE."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_sqlite_tables_are_append_only_where_postgresql_tables_are(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("compares with the PostgreSQL schema")
    with connection.cursor() as cur:
        cur.execute("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
                    "WHERE NOT tgisinternal AND tgname LIKE '%%append_only'")
        on_postgresql = {row[0] for row in cur.fetchall()}
    assert {"audit_event", "audit_leaf", "deposits_posting"} <= on_postgresql
    path = tmp_path / "demo.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "SUNLIGHT_VAR_DIR": str(tmp_path / "var")}
    env.pop("SUNLIGHT_PRODUCTION", None)
    result = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    db = sqlite3.connect(path)
    try:
        triggers = db.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        guarded = {table for table, name in triggers if name in (f"{table}_no_update", f"{table}_no_delete")}
        assert guarded == on_postgresql
        db.execute("INSERT INTO audit_event (uid, created_at, action, subject, actor_label, actor_role, visibility, "
                   "canonical) VALUES ('u1', '2026-12-07', 't', 's', 'system', 'system', 'public', '{}')")
        for change in ("UPDATE audit_event SET canonical = '{\"forged\":1}'", "DELETE FROM audit_event"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(change)
        assert db.execute("SELECT canonical FROM audit_event").fetchall() == [("{}",)]
    finally:
        db.close()


def test_the_event_uid_is_unique_by_one_index_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's indexes")
    with connection.cursor() as cur:
        cur.execute("SELECT tablename, indexdef FROM pg_indexes WHERE tablename IN ('audit_event', 'audit_eventcontext')")
        defs = cur.fetchall()
    assert not [d for d in defs if "varchar_pattern_ops" in d[1]]
    assert any(t == "audit_event" and "UNIQUE" in d and "(uid)" in d for t, d in defs)
    assert any(t == "audit_eventcontext" and "UNIQUE" in d and "(event_uid)" in d for t, d in defs)
