"""Concurrent bank notifications with real threads and real PostgreSQL transactions."""
from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from deposits import is_secured
from deposits.bank.fake import BANK
from deposits.models import Account, BankTxn, SuspenseItem, Transfer

from .test_services import acc_of, assert_invariant

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(n, target):
    barrier = threading.Barrier(n)
    errors, results = [], [None] * n

    def work(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # collected and asserted below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def test_concurrent_notifications(world, tender, regs):
    assert connection.vendor == "postgresql"
    accs = [acc_of(r) for r in regs]
    orgs = world.bidder_orgs

    def payment(acc, org, txn):
        return {"type": "payment", "txn_id": txn, "amount": "%d.%02d" % divmod(acc.required_fen, 100),
                "currency": "CNY", "sub_account": acc.number, "payer_name": org.name,
                "payer_account": org.bank_account, "booked_at": "2026-03-02T02:00:00+00:00"}

    # 1. the same notification 8 times at once -> credited once
    same = payment(accs[0], orgs[0], "DUP-1")
    results, errors = run_threads(8, lambda i: BANK.notify(same)["status"])
    assert not errors, errors
    assert sorted(results) == ["credited"] + ["duplicate"] * 7
    # 2. different payments for the same sub-account at once -> exactly one credits, the rest to suspense
    results, errors = run_threads(6, lambda i: BANK.notify(payment(accs[1], orgs[1], f"SAME-ACC-{i}"))["status"])
    assert not errors, errors
    assert sorted(results) == ["credited"] + ["suspense"] * 5
    assert SuspenseItem.objects.filter(reason="already_paid").count() == 5
    # 3. payments for different sub-accounts at once -> all credited
    more = [acc_of(r) for r in regs]
    results, errors = run_threads(2, lambda i: BANK.notify(payment(more[2], orgs[2], f"DIFF-{i}"))["status"]
                                  if i == 0 else BANK.notify({**payment(more[0], orgs[0], "DIFF-x"), "amount": "1.00"})["status"])
    assert not errors, errors
    assert sorted(results) == ["credited", "suspense"]
    assert all(is_secured(o, tender) for o in orgs[:3])
    assert BankTxn.objects.count() == 1 + 6 + 2
    assert Transfer.objects.count() == BankTxn.objects.count()
    assert_invariant()
    for acc in Account.objects.filter(kind="deposit"):
        assert acc.balance_fen == acc.required_fen
