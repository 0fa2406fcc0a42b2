"""Property test: the database ledger (services' primitive + triggers + constraints) makes exactly the
decisions of the pure rules (deposits.ledger) for any sequence of transfers, posts and voids."""
from __future__ import annotations

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings, strategies as st

from deposits import ledger
from deposits.models import Account
from deposits.posting import Leg, bank, resolve_pending, system_account, write_transfer
from trading.errors import Conflict

from .test_services import acc_of

pytestmark = pytest.mark.django_db

names = ["bank", "suspense", "forfeited", "sub0", "sub1", "sub2"]
op = st.one_of(
    st.tuples(st.just("transfer"), st.sampled_from(names), st.sampled_from(names), st.integers(1, 5000), st.booleans()),
    st.tuples(st.just("resolve"), st.integers(0, 30), st.just(""), st.just(0), st.booleans()),
)


class Rollback(Exception):
    pass


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=25))
def test_db_ledger_matches_pure_rules(world, tender, regs, ops):
    db_accounts = {"bank": bank(), "suspense": system_account("suspense"), "forfeited": system_account("forfeited"),
                   **{f"sub{i}": acc_of(r) for i, r in enumerate(regs)}}
    pure = ledger.Ledger()
    for name, acc in db_accounts.items():
        pure.open_account(name, ledger.Kind(acc.kind))
    try:
        with transaction.atomic():
            pendings: list[tuple[str, object]] = []
            for n, (kind, a, b, amount, flag) in enumerate(ops):
                code = f"p{n}"
                if kind == "transfer":
                    if a == b:
                        continue
                    try:
                        pure.transfer(code, ledger.simple(a, b, amount), pending=flag)
                        expect_ok = True
                    except ledger.LedgerError:
                        expect_ok = False
                    try:
                        with transaction.atomic():
                            t = write_transfer(code=code, purpose="assign", phase="pending" if flag else "posted",
                                               legs=[Leg(db_accounts[a], amount), Leg(db_accounts[b], -amount)])
                        got_ok = True
                    except Conflict:
                        got_ok = False
                    assert got_ok == expect_ok, (kind, a, b, amount, flag)
                    if got_ok and flag:
                        pendings.append((code, t))
                else:
                    if not pendings:
                        continue
                    pid, t = pendings[a % len(pendings)]
                    try:
                        (pure.post if flag else pure.void)(code, pid)
                        expect_ok = True
                    except ledger.LedgerError:
                        expect_ok = False
                    try:
                        with transaction.atomic():
                            resolve_pending(pending=t, post=flag, code=code)
                        got_ok = True
                    except Conflict:
                        got_ok = False
                    assert got_ok == expect_ok
            with connection.cursor() as cur:
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred balance checks run now: must pass
            for name, acc in db_accounts.items():
                if name == "bank":
                    continue
                row = Account.objects.get(pk=acc.pk)
                p = pure.accounts[name]
                assert (row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending) == (
                    p.debits_posted, p.credits_posted, p.debits_pending, p.credits_pending), name
            raise Rollback
    except Rollback:
        pass


def test_a_transfer_code_again_is_the_same_transfer_or_a_conflict(world):
    """write_transfer is idempotent by code: the same legs again return the first transfer (nothing more is
    posted); other legs, or the same legs in another phase, under that code are refused."""
    from deposits.models import Posting, Transfer

    bank_acc, interest, suspense = bank(), system_account("interest"), system_account("suspense")
    with transaction.atomic():
        first = write_transfer(code="again-1", purpose="interest", legs=[Leg(bank_acc, 700), Leg(interest, -700)])
    with transaction.atomic():
        again = write_transfer(code="again-1", purpose="interest", legs=[Leg(interest, -700), Leg(bank_acc, 700)])
    assert again.pk == first.pk
    before = (Transfer.objects.count(), Posting.objects.count())
    for legs, phase in (([Leg(bank_acc, 700), Leg(suspense, -700)], "posted"),
                        ([Leg(bank_acc, 701), Leg(interest, -701)], "posted"),
                        ([Leg(bank_acc, 700), Leg(interest, -700)], "pending")):
        with pytest.raises(Conflict), transaction.atomic():
            write_transfer(code="again-1", purpose="interest", phase=phase, legs=legs)
    assert (Transfer.objects.count(), Posting.objects.count()) == before
