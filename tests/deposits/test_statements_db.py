"""Statement import and reconciliation on PostgreSQL: every mismatch kind, bad files change nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from deposits import statements as S
from deposits import conf, services
from deposits.models import Account, BankTxn, StatementImport, SuspenseItem, Transfer
from trading.errors import Invalid

from .test_services import acc_of, assert_invariant, pay, snapshot

pytestmark = pytest.mark.django_db


def test_clean_statement_reconciles(world, tender, regs, fake_bank, tmp_path):
    for i in range(2):
        pay(fake_bank, acc_of(regs[i]), world, i)
    for fmt in ("csv", "camt053"):
        path = tmp_path / f"s.{fmt}"
        path.write_bytes(fake_bank.statement(fmt=fmt) + (b"" if fmt == "csv" else b"\n"))
        call_command("import_statement", str(path))
        imp = StatementImport.objects.order_by("-id").first()
        assert imp is not None
        assert imp.reconciled, imp.report
        assert imp.report["counts"]["matched"] == 2 and imp.closing_fen == imp.ledger_fen == fake_bank.balance()


def test_every_mismatch_kind(world, tender, regs, fake_bank, clock):
    a0, a1, a2 = (acc_of(r) for r in regs)
    pay(fake_bank, a0, world, 0, txn_id="OK-1")  # notified and on the statement: matched
    fake_bank.deliver = False  # from here on the notifications are lost: only the statement knows
    pay(fake_bank, a1, world, 1, txn_id="LOST-1")  # good payment, notification lost -> booked from the statement
    pay(fake_bank, a2, world, 2, amount=77, txn_id="WRONG-AMT")  # -> suspense wrong_amount
    pay(fake_bank, a2, world, 2, payer_name="他人公司", payer_account="1", txn_id="WRONG-PAYER")  # -> suspense
    fake_bank.pay_in(sub_account="88660000000000000", amount_fen=500, payer_name="x", payer_account="2",
                     txn_id="UNKNOWN")  # -> suspense unknown
    clock.move_to(tender.bid_deadline + dt.timedelta(hours=1))
    pay(fake_bank, a2, world, 2, txn_id="LATE")  # -> suspense late
    fake_bank.deliver = True
    lines = list(fake_bank.lines)
    # a debit on the statement that we never ordered
    lines.append(S.StatementLine(line_no=0, bank_txn_id="ROGUE-DEBIT", direction=S.DEBIT, amount_fen=10,
                                 booked_on=lines[-1].booked_on, remark="手续费"))
    # a line whose amount differs from what the notification said
    ok = lines[0]
    lines[0] = S.StatementLine(**{**ok.__dict__, "amount_fen": ok.amount_fen + 1})
    # a ledger transfer (notified) that is not on the statement
    fake_bank.deliver = True
    pay(fake_bank, a0, world, 0, amount=5, txn_id="NOT-ON-STATEMENT")
    statement = S.Statement(format="csv", account=conf.unified_account()["number"], opening_balance_fen=0,
                            closing_balance_fen=sum(ln.signed_fen for ln in lines), lines=tuple(lines))
    data = S.write_csv(statement)
    imp = services.import_statement(data=data, filename="mixed.csv", actor=world.staff)
    r = imp.report
    assert not imp.reconciled
    c = r["counts"]
    assert c == {"lines": 7, "matched": 0, "booked_now": 5, "mismatched": 1, "unmatched_lines": 1,
                 "missing_from_statement": 1}, r
    assert r["mismatched"][0]["txn"] == "OK-1"
    assert r["unmatched_lines"][0]["txn"] == "ROGUE-DEBIT"
    assert r["missing_from_statement"][0]["txn"] == "NOT-ON-STATEMENT"
    assert not r["closing_matches"]
    assert sorted(SuspenseItem.objects.values_list("bank_txn__bank_txn_id", "reason")) == [
        ("LATE", "late"), ("NOT-ON-STATEMENT", "late"), ("UNKNOWN", "unknown_sub_account"), ("WRONG-AMT", "wrong_amount"),
        ("WRONG-PAYER", "wrong_payer")]
    assert Account.objects.get(pk=a1.pk).balance_fen == a1.required_fen  # the lost notification, booked
    assert BankTxn.objects.get(bank_txn_id="LOST-1").source == "statement"
    # importing the same file again changes nothing
    before = snapshot()
    assert services.import_statement(data=data, filename="mixed.csv").pk == imp.pk
    assert snapshot() == before
    assert_invariant()


@pytest.mark.parametrize("data,msg", [
    ("交易日期,交易流水号,对方账号,对方户名,金额\n2026-03-02,A1,6,a,1.005\n", "fraction of a fen"),
    ("交易日期,交易流水号,对方账号,对方户名,金额\n2026-03-02,A1,6,a,-1.00\n", "negative"),
    ("交易日期,交易流水号,对方账号,对方户名,金额,币种\n2026-03-02,A1,6,a,1.00,USD\n", "CNY only"),
    ("garbage\n", "no header row"),
    ("<Document><BkToCstmrStmt><Stmt>", "malformed XML"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Document>&e;</Document>', "DOCTYPE"),
    ("账号,1234\n交易日期,交易流水号,对方账号,对方户名,金额\n2026-03-02,A1,6,a,1.00\n", "not the unified"),
])
def test_bad_statements_change_nothing(world, tender, regs, fake_bank, data, msg, tmp_path):
    pay(fake_bank, acc_of(regs[0]), world, 0)
    before = snapshot()
    with pytest.raises(Invalid) as e:
        services.import_statement(data=data.encode(), filename="bad.csv")
    assert msg in e.value.message
    path = tmp_path / "bad.csv"
    path.write_bytes(data.encode())
    with pytest.raises(CommandError, match="statement refused|not the unified"):
        call_command("import_statement", str(path))
    assert snapshot() == before and StatementImport.objects.count() == 0


def test_oversized_statement(world, settings, fake_bank):
    settings.SUNLIGHT_STATEMENT_MAX_BYTES = 1000
    with pytest.raises(Invalid, match="too large"):
        services.import_statement(data=b"x" * 2000, filename="big.csv")


def test_statement_confirms_refund_when_notification_lost(world, tender, regs, fake_bank, clock,
                                                           django_capture_on_commit_callbacks):
    from deposits import hooks
    from django.db import transaction
    from .test_services import freeze

    a1 = acc_of(regs[1])
    pay(fake_bank, a1, world, 1)
    freeze(clock, tender)
    fake_bank.deliver = False
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            hooks.on_result(lot=tender, action="award", actor=None, now=clock.now)
    order = a1.refunds.get()
    assert order.status == "sent"  # the bank took it, its confirmation got lost
    imp = services.import_statement(data=fake_bank.statement(fmt="camt053"), filename="day.xml")
    order.refresh_from_db()
    assert order.status == "confirmed" and imp.reconciled, imp.report
    assert Transfer.objects.filter(phase="post", purpose="refund").count() == 1
    assert_invariant()
