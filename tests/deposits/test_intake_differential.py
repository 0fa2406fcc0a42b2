"""The fast path of bank intake (deposits/intake.py) against the ordinary path: random sequences of bank
notifications give identical ledger rows and identical audit events, byte for byte.

Each example runs the same notifications twice from the same database state: once as production does
(``receive`` outside a transaction, so plain payments take the fast path), once with the fast path switched
off. Between the runs the database is rewound (rows removed, counters and sequences put back: the test
database's superuser bypasses the triggers for that only), so ids, times (the frozen clock) and event uids
(numbered) come out the same when the two paths write the same.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import uuid
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import Event
from deposits import intake, services
from deposits.models import Account, BankTxn
from deposits.posting import bank

from .test_services import acc_of, assert_invariant

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the fast path is PostgreSQL's")

TABLES = ("deposits_transfer", "deposits_posting", "deposits_banktxn", "deposits_suspenseitem", "audit_event",
          "audit_eventcontext")  # who sent it from where and the paying account: recorded alike on both paths
# accounts are compared whole (their counters move), but rows can be added too: the suspense account is made on
# first use when an earlier transactional test's flush removed the one the migration made
MARKED = (*TABLES, "deposits_account")


def _state() -> dict[str, Any]:
    """Where every table and sequence stands, and the accounts' rows."""
    with connection.cursor() as cur:
        marks = {}
        for table in MARKED:
            cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
            top = cur.fetchone()[0]
            cur.execute(f"SELECT last_value, is_called FROM {table}_id_seq")
            marks[table] = (top, *cur.fetchone())
        cur.execute("SELECT * FROM deposits_account ORDER BY id")
        cols = [c.name for c in cur.description]
        accounts = cur.fetchall()
    return {"marks": marks, "account_cols": cols, "accounts": accounts}


def _written(since: dict[str, Any]) -> dict[str, Any]:
    """Every row written after ``since`` (all columns) and the accounts as they are now."""
    out: dict[str, Any] = {}
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"SELECT * FROM {table} WHERE id > %s ORDER BY id", [since["marks"][table][0]])
            out[table] = cur.fetchall()
        cur.execute("SELECT * FROM deposits_account ORDER BY id")
        out["deposits_account"] = cur.fetchall()
    return out


def _rewind(to: dict[str, Any]) -> None:
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")  # the append-only and ledger triggers
        for table in ("deposits_suspenseitem", "deposits_banktxn", "deposits_posting", "deposits_transfer",
                      "audit_event", "audit_eventcontext", "deposits_account"):
            cur.execute(f"DELETE FROM {table} WHERE id > %s", [to["marks"][table][0]])
        cols = to["account_cols"]
        for row in to["accounts"]:
            sets = ", ".join(f"{c} = %s" for c in cols[1:])
            cur.execute(f"UPDATE deposits_account SET {sets} WHERE id = %s", [*row[1:], row[0]])
        for table in MARKED:
            _, last, called = to["marks"][table]
            cur.execute("SELECT setval(%s, %s, %s)", [f"{table}_id_seq", last, called])


class _Uids:
    """uuid4 as numbered uids, so both runs give their events the same ones."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=next(self.counter))


class _Salts:
    """The private context's salts numbered too (audit.context), so both runs commit to the same hashes."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)

    def token_bytes(self, n: int) -> bytes:
        return next(self.counter).to_bytes(n, "big")


def _run(notes: list[dict[str, Any]], accounts: list[Account], deadline: dt.datetime, *, fast: bool,
         monkeypatch) -> list[Any]:
    from audit import context

    uids = _Uids()
    monkeypatch.setattr("audit.services.uuid", uids)
    monkeypatch.setattr("audit.context.secrets", _Salts())
    token = context.begin(address="192.0.2.10", client="bank-gateway/2.1")  # the bank's request
    try:
        return _receive_all(notes, accounts, deadline, fast=fast, monkeypatch=monkeypatch)
    finally:
        context.end(token)


def _receive_all(notes: list[dict[str, Any]], accounts: list[Account], deadline: dt.datetime, *, fast: bool,
                 monkeypatch) -> list[Any]:
    if not fast:
        monkeypatch.setattr(intake, "credit", lambda **kw: intake.Outcome())
    answers: list[tuple[Any, ...]] = []
    for note in notes:
        acc = accounts[note["account"]] if note["account"] < len(accounts) else None
        number = (acc.number or "") if acc is not None else "9" * 12
        amount = (acc.required_fen if acc is not None else 100_00) + note["amount_delta"]
        payer, payer_account = note["payer"]
        item = services.Incoming(
            bank_txn_id=note["txn"], direction="credit", amount_fen=amount,
            booked_at=deadline + dt.timedelta(minutes=note["booked_minutes"]),
            sub_account=number if note["in_field"] else "", remark="" if note["in_field"] else f"保证金 {number}",
            payer_name=payer, payer_account=payer_account)
        digest = hashlib.sha256(repr(item).encode()).hexdigest()
        try:
            txn, dup = services.receive(item=item, body_sha256=digest)
            answers.append(("ok", txn.pk, txn.outcome, txn.transfer_id, dup))
        except Exception as exc:  # noqa: BLE001 - the refusal is part of what both paths must agree on
            answers.append(("refused", type(exc).__name__, str(exc)))
    monkeypatch.undo()
    return answers


def _notes(world) -> st.SearchStrategy[list[dict[str, Any]]]:
    orgs = world.bidder_orgs
    payers = st.sampled_from([(orgs[0].name, ""), (orgs[1].name, orgs[1].bank_account), (orgs[2].name, ""),
                              ("别的公司", ""), ("投标人 财务部", orgs[0].bank_account), (" %s%%1$s\"\\", "")])
    return st.lists(st.fixed_dictionaries({
        "txn": st.sampled_from(["N-1", "N-2", "N-3", "N-4", "N-5"]),
        "account": st.integers(0, 3),  # 3: a number nobody registered
        "amount_delta": st.sampled_from([0, 0, 0, -1, 1]),
        "payer": payers,
        "booked_minutes": st.sampled_from([-60, -60, 1]),  # before the deadline, or after it
        "in_field": st.booleans(),  # the number in the sub-account field, or only in the remark
    }), min_size=1, max_size=8)


@pytest.mark.django_db(transaction=True)
def test_fast_and_ordinary_paths_write_the_same(world, tender, regs, clock, monkeypatch):
    accounts = [acc_of(r) for r in regs]
    bank()

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(notes=_notes(world))
    def check(notes):
        start = _state()
        try:
            fast = _run(notes, accounts, tender.bid_deadline, fast=True, monkeypatch=monkeypatch)
            fast_rows = _written(start)
            _rewind(start)
            plain = _run(notes, accounts, tender.bid_deadline, fast=False, monkeypatch=monkeypatch)
            plain_rows = _written(start)
        finally:
            _rewind(start)
        assert fast == plain
        for table, rows in plain_rows.items():
            assert fast_rows[table] == rows, table  # every column; audit_event.canonical byte for byte

    check()
    assert_invariant()


@pytest.mark.django_db(transaction=True)
def test_a_plain_payment_takes_the_fast_path(world, tender, regs, clock):
    acc = acc_of(regs[0])
    number = acc.number or ""
    org = world.bidder_orgs[0]
    bank()
    item = services.Incoming(bank_txn_id="F-1", direction="credit", amount_fen=acc.required_fen,
                             booked_at=clock.now, sub_account=number, payer_name=org.name)
    out = intake.credit(item=item, number=number, digest="d" * 64, source="notification",
                        bank_info=services._bank_info(item, "notification"))
    assert out.booked is not None and out.booked.pk == BankTxn.objects.get(bank_txn_id="F-1").pk
    event = Event.objects.get(action="deposit.credit")
    assert "ctx" not in event.body  # no request, no paying account: nothing to record
    assert event.visibility == "sealed" and event.subject == f"lot:{tender.pk}"
    acc.refresh_from_db()
    assert acc.balance_fen == acc.required_fen and acc.paid_at == clock.now
    # the same id again: the caller is told it exists
    assert intake.credit(item=item, number=number, digest="d" * 64, source="notification",
                         bank_info={}).existing_id == out.booked.pk
    assert_invariant()


@pytest.mark.django_db(transaction=True)
def test_a_sub_account_that_moved_on_is_left_to_the_ordinary_path(world, tender, regs, clock, monkeypatch):
    """Judged on one state, written over another: the guard aborts the whole round trip (nothing written)."""
    acc = acc_of(regs[0])
    org = world.bidder_orgs[0]
    bank()
    judge = intake.rules.expectation_of

    def meanwhile(*args):
        Account.objects.filter(pk=acc.pk).update(status="frozen", frozen_at=clock.now)  # another process
        return judge(*args)

    monkeypatch.setattr(intake.rules, "expectation_of", meanwhile)
    before = _state()
    number = acc.number or ""
    item = services.Incoming(bank_txn_id="F-2", direction="credit", amount_fen=acc.required_fen,
                             booked_at=clock.now, sub_account=number, payer_name=org.name)
    out = intake.credit(item=item, number=number, digest="d" * 64, source="notification", bank_info={})
    assert out.booked is None and out.transfer_id is not None
    after = _written(before)
    assert all(not after[t] for t in TABLES)
    Account.objects.filter(pk=acc.pk).update(status="open", frozen_at=None)


@pytest.mark.django_db(transaction=True)
def test_the_fast_path_records_who_sent_it_and_the_paying_account(world, tender, regs, clock):
    """Issue 16 item 1: the bank notification's address and client and the paying account, private and committed
    by hash in the event, on the fast path as on the ordinary one."""
    from audit import context
    from audit.models import EventContext

    acc = acc_of(regs[0])
    org = world.bidder_orgs[0]
    bank()
    item = services.Incoming(bank_txn_id="C-1", direction="credit", amount_fen=acc.required_fen,
                             booked_at=clock.now, sub_account=acc.number or "", payer_name=org.name,
                             payer_account="6222 0202 0000 0001")
    token = context.begin(address="192.0.2.10", client="bank-gateway/2.1")
    try:
        txn, dup = services.receive(item=item, body_sha256="e" * 64)
    finally:
        context.end(token)
    assert not dup and txn.outcome == "credited"
    event = Event.objects.get(action="deposit.credit")
    row = EventContext.objects.get(event_uid=event.uid)
    assert row.context == {"address": "192.0.2.10", "client": "bank-gateway/2.1", "payer_account": "6222020200000001"}
    assert "192.0.2.10" not in event.canonical and "6222020200000001" not in event.canonical
    assert context.verify_context(event)
