"""The audit log's batch append (``events_statement`` + ``audit.sql.execute``): one round trip on
PostgreSQL, the same events as ``record_event`` writes one by one."""
from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, connection, transaction

from audit import sql
from audit.models import Event
from audit.services import event_id_of, events_statement, record_event

pytestmark = pytest.mark.django_db


def items(n: int, **extra):
    return [{"action": "t.batch", "subject": f"thing:{i}", "payload": {"i": i, "text": "中文"}, **extra}
            for i in range(n)]


def test_batch_appends_in_order_as_record_event_would(world):
    with transaction.atomic():
        single = record_event(action="t.batch", subject="thing:single", payload={"i": -1})
        statement, events = events_statement(items(3, project_id=7, actor=world.staff))
        sql.execute([statement])
    rows = list(Event.objects.filter(id__gt=single.pk).order_by("id"))
    assert [r.uid for r in rows] == [e.uid for e in events]
    assert [json.loads(r.canonical)["payload"]["i"] for r in rows] == [0, 1, 2]
    for row, built in zip(rows, events):
        assert row.canonical == built.canonical  # the exact bytes the Merkle leaf will hash
        assert (row.project_id, row.actor_id, row.actor_role) == (7, world.staff.pk, world.staff.role)
    body = rows[0].body
    assert body["actor"]["label"] == world.staff.username and body["uid"] == rows[0].uid


def test_event_id_of_refers_to_an_event_of_the_same_round_trip():
    with connection.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE probe (event_id bigint NOT NULL)")
    with transaction.atomic():
        statement, (event,) = events_statement(items(1))
        ref = event_id_of(event.uid)  # a column filled by the database from the event appended just before
        sql.execute([statement, sql.Statement(f"INSERT INTO probe (event_id) VALUES ({ref.text})", ref.params)])
    with connection.cursor() as cur:
        cur.execute("SELECT event_id FROM probe")
        assert cur.fetchall() == [(Event.objects.get(uid=event.uid).pk,)]


def test_a_refused_item_writes_nothing():
    before = Event.objects.count()
    with pytest.raises(ValueError, match="visibility"):
        with transaction.atomic():
            events_statement([*items(2), {"action": "t.batch", "subject": "x", "payload": {}, "visibility": "nope"}])
    assert Event.objects.count() == before


def test_a_failing_statement_rolls_back_the_whole_round_trip():
    before = Event.objects.count()
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            statement, _ = events_statement(items(2))
            sql.execute([statement, sql.Statement("INSERT INTO trading_lot (id) VALUES (%s)", (None,))])
    assert Event.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_execute_alone_is_one_transaction_of_its_own_all_or_nothing():
    if connection.vendor != "postgresql":
        pytest.skip("a multi-statement simple query as one implicit transaction: PostgreSQL")
    before = Event.objects.count()
    with pytest.raises(RuntimeError, match="no open transaction"):
        with transaction.atomic():
            sql.execute_alone([events_statement(items(1))[0]])
    with pytest.raises(IntegrityError):
        statement, _ = events_statement(items(2), alone=True)
        sql.execute_alone([statement, sql.Statement("INSERT INTO trading_lot (id) VALUES (%s)", (None,))])
    assert Event.objects.count() == before  # the first statement was rolled back with the second
    statement, events = events_statement(items(2), alone=True)
    sql.execute_alone([statement])
    assert list(Event.objects.order_by("-id")[:2].values_list("uid", flat=True)) == [events[1].uid, events[0].uid]


@pytest.mark.django_db(transaction=True)
def test_events_statement_needs_a_transaction_unless_sent_alone():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events_statement(items(1))
    statement, _ = events_statement(items(1), alone=True)
    assert statement is not None


def test_update_with_expect_is_a_compare_and_set(world):
    from trading.models import Organisation

    org = world.centre
    old_name = org.name
    org.name = "改名"
    statement = sql.update(org, ["name"], expect={"name": "not the current name"})
    assert statement.sql.endswith("WHERE \"id\" = %s AND \"name\" IS NOT DISTINCT FROM %s")  # NULL expected too
    with transaction.atomic():
        sql.execute([statement])
    assert Organisation.objects.get(pk=org.pk).name == old_name  # nothing matched
    with transaction.atomic():
        sql.execute([sql.update(org, ["name"], expect={"name": old_name})])
    assert Organisation.objects.get(pk=org.pk).name == "改名"


def test_batched_actions_keep_who_acted_from_where(world):
    """Each batched item carries its own action's context (or the current request's); the private rows go with
    the statement, the events commit to them by hash, exactly as record_event does."""
    from audit import context
    from audit.models import EventContext

    kept = [context.captured(address="198.51.100.1", client="ws-client/1"),
            context.captured(address="198.51.100.2", client="ws-client/2", signing_key="ab" * 16), None]
    token = context.begin(address="203.0.113.9", client="HTTP/1")
    try:
        with transaction.atomic():
            batch = [{**item, "context": ctx} for item, ctx in zip(items(3), kept)] + items(1)
            statement, events = events_statement(batch)
            sql.execute([statement])
    finally:
        context.end(token)
    rows = {r.event_uid: r.context for r in EventContext.objects.filter(event_uid__in=[e.uid for e in events])}
    stored = [Event.objects.get(uid=e.uid) for e in events]
    assert [rows.get(e.uid) for e in events] == [
        {"address": "198.51.100.1", "client": "ws-client/1"},
        {"address": "198.51.100.2", "client": "ws-client/2", "signing_key": "ab" * 16},
        None,  # an item kept without any context (None): nothing recorded, no hash
        {"address": "203.0.113.9", "client": "HTTP/1"},  # no context given: the current request's
    ]
    assert [("ctx" in e.body) for e in stored] == [True, True, False, True]
    assert all(context.verify_context(e) for e in stored)
    assert not any("198.51.100" in e.canonical or "203.0.113.9" in e.canonical for e in stored)


def test_record_event_writes_the_row_the_orm_save_would(world):
    """record_event inserts its one event by audit.sql (RETURNING the id) instead of Model.save(): the row,
    column by column, is the one save(force_insert=True) writes for the same event."""
    from audit.services import _build_event

    columns = [f.attname for f in Event._meta.concrete_fields if f.attname != "id"]
    with transaction.atomic():
        ours = record_event(action="t.one", subject="thing:ours", payload={"n": 1, "text": "中文"}, project_id=7,
                            actor=world.staff, visibility="supervisors")
        theirs = _build_event(action="t.one", subject="thing:ours", payload={"n": 1, "text": "中文"}, project_id=7,
                              actor=world.staff, visibility="supervisors", at=ours.created_at)
        theirs.uid, theirs.canonical = ours.uid[::-1], ours.canonical  # the same event but for its unique uid
        theirs.save(force_insert=True)
    assert not ours._state.adding and theirs.pk == ours.pk + 1
    a = Event.objects.filter(pk=ours.pk).values(*columns).get()
    b = Event.objects.filter(pk=theirs.pk).values(*columns).get()
    assert {k: v for k, v in a.items() if k != "uid"} == {k: v for k, v in b.items() if k != "uid"}
    assert Event.objects.get(pk=ours.pk).canonical == ours.canonical


# --- server-side prepared statements (PostgreSQL) -------------------------------------------------------------

def _ours_on_server() -> set[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'sl\\_%%'")
        return {row[0] for row in cur.fetchall()}


def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("server-side prepared statements: PostgreSQL")


def test_a_statement_is_prepared_once_per_session_and_gives_what_the_plain_text_gives(world):
    _postgresql_only()
    statement = sql.Statement("SELECT name, %s::int + 1, '100%%' FROM trading_organisation WHERE id = %s",
                              (41, world.centre.pk))
    with connection.cursor() as cur:
        cur.execute(statement.sql, statement.params)
        plain = cur.fetchone()
    before = _ours_on_server()
    assert sql.fetch_one(statement) == plain == (world.centre.name, 42, "100%")
    made = _ours_on_server() - before
    assert len(made) == 1  # prepared now, under a name of its text
    assert sql.fetch_one(sql.Statement(statement.sql, (1, world.centre.pk))) == (world.centre.name, 2, "100%")
    assert _ours_on_server() - before == made  # executed again, not prepared again
    with connection.cursor() as cur:
        cur.execute("SELECT statement FROM pg_prepared_statements WHERE name = %s", [made.pop()])
        assert "$1::int + 1" in cur.fetchone()[0]


def test_a_placeholder_count_that_does_not_match_the_parameters_is_refused_before_the_server():
    _postgresql_only()
    before = _ours_on_server()
    with pytest.raises(ValueError, match="2 placeholders for 1 parameters"):
        sql.fetch_one(sql.Statement("SELECT %s::int + %s::int", (1,)))
    assert _ours_on_server() == before


@pytest.mark.django_db(transaction=True)
def test_prepared_statements_survive_a_rollback_and_a_new_session_starts_afresh():
    _postgresql_only()
    statement = sql.Statement("SELECT count(*) FROM audit_event WHERE action = %s", ("t.none",))
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            assert sql.fetch_one(statement) == (0,)  # prepared inside a transaction that then fails
            sql.execute([sql.Statement("INSERT INTO trading_lot (id) VALUES (%s)", (None,))])
    assert sql.fetch_one(statement) == (0,)  # still prepared on the server: executed, not prepared twice
    connection.close()  # a new database session knows none of them: prepared again, not "does not exist"
    assert _ours_on_server() == set()
    assert sql.fetch_one(statement) == (0,)
    assert len(_ours_on_server()) == 1


def test_a_session_keeps_at_most_its_share_of_prepared_statements(monkeypatch):
    _postgresql_only()
    monkeypatch.setattr(sql, "PREPARED_PER_SESSION", 3)
    before = _ours_on_server()
    texts = [sql.Statement(f"SELECT %s::int * {k}", (2,)) for k in range(1, 6)]
    assert [sql.fetch_one(s) for s in texts] == [(2,), (4,), (6,), (8,), (10,)]
    assert len(_ours_on_server() - before) <= 3  # the least recently used were deallocated
    assert [sql.fetch_one(s) for s in reversed(texts)] == [(10,), (8,), (6,), (4,), (2,)]  # and prepared again
    assert len(_ours_on_server() - before) <= 3


def test_statements_that_cannot_be_prepared_run_as_they_are():
    with transaction.atomic():
        sql.execute([sql.Statement("SET LOCAL statement_timeout = '5s'", ()),
                     sql.Statement("SELECT %s::int", (1,))])
        assert sql.fetch_one(sql.Statement("SHOW statement_timeout", ())) == ("5s",)


def test_fetch_all_returns_every_row_of_the_last_statement_in_one_round_trip(world):
    with transaction.atomic():
        rows = sql.fetch_all([sql.Statement("SELECT id FROM trading_organisation WHERE id = %s FOR UPDATE",
                                            (world.centre.pk,)),
                              sql.Statement("SELECT %s::int UNION ALL SELECT %s::int ORDER BY 1", (2, 1))])
    assert rows == [(1,), (2,)]
    assert sql.fetch_all([None]) == []
