"""Tamper drill in PostgreSQL: a superuser bypasses the triggers; audit_verify names the first bad index.
And the application's role can neither change the log nor switch the triggers off."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

import audit
from audit import sequencer
from audit.log_models import Leaf
from audit.verify import verify_log

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL drill")


@pytest.fixture
def log(db, clock):
    with transaction.atomic():
        evs = [audit.record(action="t.thing", subject=f"thing:{i}", payload={"i": i}) for i in range(40)]
    sequencer.integrate_all(now=clock.now, limit=16)
    idx = dict(Leaf.objects.values_list("event_id", "index"))
    return [(e, idx[e.pk]) for e in evs]


def as_superuser(*statements):
    with connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        for sql, params in statements:
            cur.execute(sql, params)
        cur.execute("SET LOCAL session_replication_role = origin")


def failed_at(index=None, match=""):
    out = io.StringIO()
    with pytest.raises(CommandError) as err:
        call_command("audit_verify", stdout=out)
    assert err.value.returncode == 1
    msg = str(err.value)
    if index is not None:
        assert f"index {index}:" in msg, msg
    assert match in msg, msg
    return msg


def test_untouched_log_verifies(log):
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert out.getvalue().startswith("OK:")


def test_altered_leaf_header(log):
    ev, index = log[11]
    as_superuser(("UPDATE audit_leaf SET header = replace(header, '\"vis\":\"public\"', '\"vis\":\"sealed\"') "
                  "WHERE \"index\" = %s", [index]))
    failed_at(index, "leaf header")


def test_altered_event(log):
    ev, index = log[17]
    as_superuser(("UPDATE audit_event SET canonical = replace(canonical, '\"i\":17', '\"i\":71') WHERE id = %s", [ev.pk]))
    failed_at(index, "altered")


def test_altered_query_column(log):
    ev, index = log[5]
    as_superuser(("UPDATE audit_event SET action = 't.other' WHERE id = %s", [ev.pk]))
    failed_at(index, "'action'")


def test_deleted_event(log):
    ev, index = log[23]
    as_superuser(("DELETE FROM audit_event WHERE id = %s", [ev.pk]))
    failed_at(index, "removed")
    ev.save(force_insert=True)  # put it back so the test database's deferred FK check passes


def test_deleted_event_and_leaf(log):
    ev, index = log[9]
    as_superuser(("DELETE FROM audit_leaf WHERE event_id = %s", [ev.pk]), ("DELETE FROM audit_event WHERE id = %s", [ev.pk]))
    failed_at(index, "gap")


def test_deleted_tail(log):
    ev, index = log[-1]
    as_superuser(("DELETE FROM audit_leaf WHERE event_id = %s", [ev.pk]), ("DELETE FROM audit_event WHERE id = %s", [ev.pk]))
    failed_at(index, "removed from the end")


def test_reordered_events(log):
    (a, ia), (b, ib) = log[30], log[31]
    as_superuser(
        ("UPDATE audit_event SET canonical = CASE id WHEN %s THEN (SELECT canonical FROM audit_event WHERE id = %s) "
         "ELSE (SELECT canonical FROM audit_event WHERE id = %s) END WHERE id IN (%s, %s)", [a.pk, b.pk, a.pk, a.pk, b.pk]),
    )
    failed_at(min(ia, ib), "reordered")


def test_reordered_leaves(log):
    (a, ia), (b, ib) = log[12], log[13]
    as_superuser(
        ("UPDATE audit_leaf SET event_id = -1 WHERE \"index\" = %s", [ia]),
        ("UPDATE audit_leaf SET event_id = %s WHERE \"index\" = %s", [a.pk, ib]),
        ("UPDATE audit_leaf SET event_id = %s WHERE \"index\" = %s", [b.pk, ia]),
    )
    failed_at(min(ia, ib))


def test_consistent_rewrite_caught_by_nodes_and_checkpoints(log):
    ev, index = log[3]
    forged = ev.canonical.replace('"i":3', '"i":33')
    from audit.leaf import header as leaf_header
    from audit.merkle import leaf_hash

    head = leaf_header(canonical=forged.encode(), visibility="public", tag_hex=None)
    as_superuser(
        ("UPDATE audit_event SET canonical = %s WHERE id = %s", [forged, ev.pk]),
        ("UPDATE audit_leaf SET hash = %s, header = %s WHERE \"index\" = %s", [leaf_hash(head), head.decode(), index]),
    )
    msg = failed_at(match="tree node")
    res = verify_log()
    assert res.bad_index is not None and res.bad_index <= index, msg
    # also rewrite every node to match: then only the signed checkpoints give it away
    from audit.log_models import node_key
    from audit.merkle import MemoryTree

    tree = MemoryTree(bytes(h) for h in Leaf.objects.order_by("index").values_list("hash", flat=True))
    rows = [(node_key(lvl, i), h) for lvl in range(1, len(tree.levels)) for i, h in enumerate(tree.levels[lvl])]
    as_superuser(("DELETE FROM audit_treenode", []), *[("INSERT INTO audit_treenode (key, hash) VALUES (%s, %s)", r) for r in rows])
    failed_at(15, "signed checkpoint")


def test_forged_checkpoint(log):
    as_superuser(("UPDATE audit_checkpoint SET note = replace(note, E'\\n\\n', E'\\nextra\\n\\n') WHERE size = 16", []))
    failed_at(match="checkpoint of size 16")


APP_ROLE = "sunlight_app_drill"


def test_app_role_cannot_update_delete_truncate_or_bypass(log):
    tables = "audit_event, audit_leaf, audit_treenode, audit_checkpoint, audit_cosignature"
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush this test transaction's deferred FK checks
        cur.execute(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') "
                    f"THEN CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER; END IF; END $$")
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON {tables} TO {APP_ROLE}")
        cur.execute(f"SET LOCAL ROLE {APP_ROLE}")
    ev, index = log[0]
    attempts = [
        f"UPDATE audit_event SET action = 'x' WHERE id = {ev.pk}",
        f"DELETE FROM audit_event WHERE id = {ev.pk}",
        "TRUNCATE audit_event CASCADE",
        f"UPDATE audit_leaf SET hash = hash WHERE \"index\" = {index}",
        "DELETE FROM audit_leaf",
        "TRUNCATE audit_leaf",
        "UPDATE audit_treenode SET hash = hash",
        "DELETE FROM audit_treenode",
        "TRUNCATE audit_treenode",
        "UPDATE audit_checkpoint SET note = ''",
        "DELETE FROM audit_checkpoint",
        "TRUNCATE audit_checkpoint CASCADE",
        "TRUNCATE audit_cosignature",  # (empty here: row triggers are tested on the other tables)
    ]
    for sql in attempts:
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql)
    for sql in ["SET session_replication_role = replica", "ALTER TABLE audit_event DISABLE TRIGGER ALL",
                "DROP TRIGGER audit_event_append_only ON audit_event"]:
        with pytest.raises(DatabaseError, match="permission denied|must be owner"):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql)
    with connection.cursor() as cur:
        cur.execute("RESET ROLE")
    assert verify_log().ok
