"""Deposits on PostgreSQL: intake, suspense, freeze, refunds (with retries), forfeits, constraints."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from audit.models import Event
from deposits import is_secured, numbers, conf, hooks, selectors, services
from deposits.models import Account, BankTxn, Forfeit, Posting, RefundOrder, SuspenseItem, Transfer
from deposits.posting import bank
from trading import clock as trading_clock
from trading.errors import Conflict, Forbidden, Invalid, NotFound

from .conftest import register

pytestmark = pytest.mark.django_db


def acc_of(reg) -> Account:
    return Account.objects.get(registration_id=reg.pk)


def pay(bank_, acc, world, i, amount=None, **kw):
    return bank_.pay_in(sub_account=acc.number, amount_fen=acc.required_fen if amount is None else amount,
                        payer_name=kw.pop("payer_name", world.bidder_orgs[i].name),
                        payer_account=kw.pop("payer_account", world.bidder_orgs[i].bank_account), **kw)


def snapshot():
    return (Transfer.objects.count(), Posting.objects.count(), BankTxn.objects.count(), SuspenseItem.objects.count(),
            RefundOrder.objects.count(), Event.objects.filter(action__startswith="deposit.").count(),
            list(Account.objects.order_by("id").values_list("debits_posted", "credits_posted", "debits_pending",
                                                            "credits_pending", "status")))


def assert_invariant():
    liab = Account.objects.exclude(kind="bank").aggregate(c=Sum("credits_posted"), d=Sum("debits_posted"))
    bank_sum = Posting.objects.filter(account=bank(), effect="posted").aggregate(s=Sum("amount"))["s"] or 0
    assert (liab["c"] or 0) - (liab["d"] or 0) == bank_sum
    assert bank_sum == services.ledger_bank_balance()
    for a in Account.objects.exclude(kind="bank"):
        assert a.available_fen >= 0


def test_sub_account_and_instructions(world, tender, regs):
    acc = acc_of(regs[0])
    assert numbers.parse_number(acc.deposit_number, conf.number_prefix()) == acc.number
    assert acc.required_fen == tender.security_fen > 0
    ins = selectors.instructions(acc)
    assert ins["sub_account"] == acc.number and ins["amount_fen"] == tender.security_fen
    assert not is_secured(world.bidder_orgs[0], tender)
    ev = Event.objects.filter(action="deposit.sub_account_open").last()
    assert ev is not None and ev.visibility == "sealed"
    # idempotent by registration
    assert services.open_sub_account(lot=tender, bidder_org=world.bidder_orgs[0], registration_id=regs[0].pk) == acc


def test_credit_duplicate_and_secured(world, tender, regs, fake_bank, django_capture_on_commit_callbacks):
    acc = acc_of(regs[0])
    res = pay(fake_bank, acc, world, 0, txn_id="T-1")
    assert res["status"] == "credited"
    body = {"type": "payment", "txn_id": "T-1", "amount": "0.01", "booked_at": "2026-03-02T01:00:00Z"}
    before = snapshot()
    # exact same notification again: credited once
    raw = json.dumps({"type": "payment", "txn_id": "T-1", "amount": f"{acc.required_fen // 100}.{acc.required_fen % 100:02d}",
                      "currency": "CNY", "sub_account": acc.number, "payer_name": world.bidder_orgs[0].name,
                      "payer_account": world.bidder_orgs[0].bank_account, "remark": "",
                      "booked_at": BankTxn.objects.get().booked_at.isoformat()}, ensure_ascii=False, sort_keys=True).encode()
    r = fake_bank.notify(json.loads(raw))
    assert r["status"] == "duplicate"
    assert snapshot() == before
    # same bank id, different (validly signed) body: refused, nothing changes
    with pytest.raises(Conflict):
        fake_bank.notify(body)
    assert snapshot() == before
    acc.refresh_from_db()
    assert acc.balance_fen == acc.required_fen
    assert is_secured(world.bidder_orgs[0], tender)
    assert not is_secured(world.bidder_orgs[1], tender)
    ev = Event.objects.filter(action="deposit.credit").get()
    assert ev.visibility == "sealed"  # who paid is secret before the deadline
    assert_invariant()


def test_http_endpoint_signature(world, tender, regs, fake_bank, client):
    acc = acc_of(regs[0])
    body = {"type": "payment", "txn_id": "H-1", "amount": "%d.%02d" % divmod(acc.required_fen, 100),
            "sub_account": acc.number, "payer_name": world.bidder_orgs[0].name, "payer_account": "x",
            "booked_at": "2026-03-02T02:00:00+00:00"}
    url = "/api/deposits/bank/notifications/"
    raw, headers = fake_bank.signed(body)
    before = snapshot()
    # forged: wrong secret
    _, bad = fake_bank.signed(body, secret=b"not-the-secret")
    r = client.post(url, raw, content_type="application/json", **bad)
    assert r.status_code == 403 and "signature" in r.json()["detail"]
    # tampered body with the original signature
    r = client.post(url, raw.replace(b"H-1", b"H-2"), content_type="application/json", **headers)
    assert r.status_code == 403
    # stale timestamp
    raw_old, old = fake_bank.signed(body, timestamp=1)
    assert client.post(url, raw_old, content_type="application/json", **old).status_code == 403
    # no signature
    assert client.post(url, raw, content_type="application/json").status_code == 403
    assert snapshot() == before
    r = client.post(url, raw, content_type="application/json", **headers)
    assert r.status_code == 200 and r.json()["status"] == "credited"
    r = client.post(url, raw, content_type="application/json", **headers)
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    assert BankTxn.objects.count() == 1


@pytest.mark.parametrize("amount,currency,msg", [
    ("12.345", "CNY", "two decimal"), ("-5.00", "CNY", "negative"), (12.5, "CNY", "decimal string"),
    ("100.00", "USD", "CNY only"), ("abc", "CNY", "not an amount"),
])
def test_bad_notifications(world, tender, regs, fake_bank, client, amount, currency, msg):
    acc = acc_of(regs[0])
    raw, headers = fake_bank.signed({"type": "payment", "txn_id": "B-1", "amount": amount, "currency": currency,
                                     "sub_account": acc.number, "booked_at": "2026-03-02T02:00:00+00:00"})
    before = snapshot()
    r = client.post("/api/deposits/bank/notifications/", raw, content_type="application/json", **headers)
    assert r.status_code == 400 and msg in r.json()["detail"]
    assert snapshot() == before


def test_mismatches_go_to_suspense(world, tender, regs, fake_bank, clock):
    a0, a1, a2 = (acc_of(r) for r in regs)
    fake_bank.pay_in(sub_account=a0.deposit_number[:-1] + str((int(a0.deposit_number[-1]) + 1) % 10), amount_fen=a0.required_fen,
                     payer_name=world.bidder_orgs[0].name, payer_account="1")  # bad check digit: unknown
    pay(fake_bank, a1, world, 1, amount=a1.required_fen - 1)  # wrong amount
    pay(fake_bank, a2, world, 2, payer_name="某某贸易有限公司", payer_account="999")  # different company
    pay(fake_bank, a0, world, 0)  # good
    pay(fake_bank, a0, world, 0)  # second payment: already paid
    reasons = sorted(SuspenseItem.objects.values_list("reason", flat=True))
    assert reasons == ["already_paid", "unknown_sub_account", "wrong_amount", "wrong_payer"]
    assert is_secured(world.bidder_orgs[0], tender)
    assert not is_secured(world.bidder_orgs[1], tender) and not is_secured(world.bidder_orgs[2], tender)
    # late: booked after the deadline
    clock.move_to(tender.bid_deadline + dt.timedelta(minutes=1))
    pay(fake_bank, a1, world, 1)
    assert SuspenseItem.objects.filter(reason="late").count() == 1
    assert_invariant()
    assert Account.objects.get(kind="suspense").balance_fen == SuspenseItem.objects.aggregate(s=Sum("amount_fen"))["s"]


def test_paid_from_known_account_of_bidder(world, tender, regs, fake_bank):
    acc = acc_of(regs[0])
    pay(fake_bank, acc, world, 0, payer_name="投标人1建设有限公司财务部")  # name differs, account is the bidder's
    assert is_secured(world.bidder_orgs[0], tender)


def freeze(clock, lot):
    clock.move_to(lot.bid_deadline + dt.timedelta(seconds=1))
    trading_clock.tick()
    lot.refresh_from_db()
    assert lot.status == "bidding_closed"


def test_freeze_result_refunds(world, tender, regs, fake_bank, clock, django_capture_on_commit_callbacks):
    a0, a1, a2 = (acc_of(r) for r in regs)
    pay(fake_bank, a0, world, 0)
    pay(fake_bank, a1, world, 1)
    pay(fake_bank, a2, world, 2, amount=100)  # wrong amount: never secured
    freeze(clock, tender)
    statuses = dict(Account.objects.filter(lot=tender).values_list("id", "status"))
    assert statuses == {a0.pk: "frozen", a1.pk: "frozen", a2.pk: "closed"}
    assert is_secured(world.bidder_orgs[0], tender)
    # money paid after the freeze is late
    pay(fake_bank, a2, world, 2)
    assert SuspenseItem.objects.filter(reason="late").exists()
    # the result: bidder 0 wins; the others are refunded (the refund goes out through the fake bank)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            services.mark_winner(lot=tender, bidder_org=world.bidder_orgs[0])
            hooks.on_result(lot=tender, action="award", actor=None, now=clock.now)
    order = RefundOrder.objects.get(account=a1)
    assert order.status == "confirmed" and order.reason == "non_winner"
    assert order.due_on <= (clock.now + dt.timedelta(days=9)).date()
    assert order.payee_account == world.bidder_orgs[1].bank_account  # back the way it came
    a1.refresh_from_db()
    assert a1.balance_fen == 0 and a1.status == "settled"
    assert is_secured(world.bidder_orgs[0], tender)  # winner's kept
    assert not RefundOrder.objects.filter(account=a0).exists()
    # contract signed: the winner's is refunded too
    with django_capture_on_commit_callbacks(execute=True):
        services.settle_winner(lot=tender, bidder_org=world.bidder_orgs[0], mode="refund")
    assert RefundOrder.objects.get(account=a0).status == "confirmed"
    with pytest.raises(Conflict):  # at most once
        services.settle_winner(lot=tender, bidder_org=world.bidder_orgs[0], mode="convert")
    assert_invariant()
    assert services.ledger_bank_balance() == fake_bank.balance()


def test_refund_retry_after_bank_failure(world, tender, regs, fake_bank, clock, django_capture_on_commit_callbacks):
    a1 = acc_of(regs[1])
    pay(fake_bank, a1, world, 1)
    freeze(clock, tender)
    fake_bank.fail_next = 1
    fake_bank.reject_next = 1
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            hooks.on_result(lot=tender, action="award", actor=None, now=clock.now)
    order = RefundOrder.objects.get(account=a1)
    assert order.status == "failed" and order.attempts == 1 and "unavailable" in order.last_error
    assert Account.objects.get(pk=a1.pk).available_fen == 0  # reserved: nothing else can take it
    assert services.tick() == 0  # not yet due
    clock.advance(minutes=2)
    services.tick()
    order.refresh_from_db()
    assert order.status == "failed" and order.attempts == 2 and "frozen" in order.last_error
    clock.advance(minutes=6)
    with django_capture_on_commit_callbacks(execute=True):
        services.tick()
    order.refresh_from_db()
    assert order.status == "confirmed" and order.attempts == 3
    assert len(fake_bank.refunds) == 1  # paid once
    assert Account.objects.get(pk=a1.pk).balance_fen == 0
    assert services.tick() == 0  # nothing more to do
    assert_invariant()


def test_forfeit_needs_countersign(world, tender, regs, fake_bank, clock, django_capture_on_commit_callbacks):
    a0 = acc_of(regs[0])
    pay(fake_bank, a0, world, 0)
    with pytest.raises(NotFound, match="^no such deposit sub-account$"):  # before the deadline: as if missing
        services.request_forfeit(actor=world.staff, account=a0, grounds="collusion", reason="证据")
    freeze(clock, tender)
    with pytest.raises(NotFound, match="^no such deposit sub-account$"):  # another centre's: as if missing
        services.request_forfeit(actor=world.other_staff, account=a0, grounds="collusion", reason="证据")
    with pytest.raises(Forbidden):
        services.request_forfeit(actor=world.supervisor, account=a0, grounds="collusion", reason="证据")
    with pytest.raises(Invalid):
        services.request_forfeit(actor=world.staff, account=a0, grounds="collusion", reason=" ")
    f = services.request_forfeit(actor=world.staff, account=a0, grounds="collusion", reason="串通投标，监督部门认定")
    a0.refresh_from_db()
    assert a0.balance_fen == a0.required_fen and a0.available_fen == 0  # reserved, not yet forfeited
    assert not is_secured(world.bidder_orgs[0], tender)
    assert Account.objects.get(kind="forfeited").balance_fen == 0
    # refunds skip reserved money: no double outcome
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            hooks.on_result(lot=tender, action="award", actor=None, now=clock.now)
    assert not RefundOrder.objects.filter(account=a0).exists()
    before = snapshot()
    with pytest.raises(Forbidden):  # staff cannot countersign
        services.countersign_forfeit(actor=world.staff, forfeit=f, approve=True)
    with pytest.raises(Forbidden):  # bidder neither
        services.countersign_forfeit(actor=world.bidders[1], forfeit=f, approve=True)
    assert snapshot() == before
    services.countersign_forfeit(actor=world.supervisor, forfeit=f, approve=True, note="同意")
    a0.refresh_from_db()
    assert a0.balance_fen == 0 and a0.status == "settled"
    assert Account.objects.get(kind="forfeited").balance_fen == a0.required_fen
    with pytest.raises(Conflict):
        services.countersign_forfeit(actor=world.supervisor, forfeit=f, approve=False, note="x")
    assert {e.action for e in Event.objects.filter(action__startswith="deposit.forfeit")} == {
        "deposit.forfeit_request", "deposit.forfeit_countersign"}
    assert_invariant()


def test_forfeit_rejected_releases(world, tender, regs, fake_bank, clock):
    a0 = acc_of(regs[0])
    pay(fake_bank, a0, world, 0)
    freeze(clock, tender)
    f = services.request_forfeit(actor=world.staff, account=a0, grounds="refused_to_sign", reason="拒签合同")
    with pytest.raises(Invalid):
        services.countersign_forfeit(actor=world.supervisor, forfeit=f, approve=False)
    services.countersign_forfeit(actor=world.supervisor, forfeit=f, approve=False, note="证据不足")
    a0.refresh_from_db()
    assert a0.available_fen == a0.required_fen and Forfeit.objects.get().status == "rejected"
    assert Transfer.objects.filter(phase="void").count() == 1
    assert_invariant()


def test_withdrawal_refund(world, tender, regs, fake_bank, clock, django_capture_on_commit_callbacks):
    a0 = acc_of(regs[0])
    pay(fake_bank, a0, world, 0)
    with django_capture_on_commit_callbacks(execute=True):
        order = services.registration_withdrawn(registration_id=regs[0].pk)
    assert order is not None
    order.refresh_from_db()
    assert order.reason == "withdrawal" and order.status == "confirmed"
    assert not is_secured(world.bidder_orgs[0], tender)


def test_suspense_resolution(world, tender, regs, fake_bank, clock, django_capture_on_commit_callbacks):
    a1, a2 = acc_of(regs[1]), acc_of(regs[2])
    pay(fake_bank, a1, world, 1, payer_name="母公司集团有限公司", payer_account="777")  # wrong payer
    pay(fake_bank, a2, world, 2, amount=123)  # wrong amount
    wrong_payer, wrong_amount = SuspenseItem.objects.order_by("id")
    with pytest.raises(Invalid):
        services.resolve_suspense(actor=world.staff, item=wrong_payer, action="assign", account=a1, note="")
    with pytest.raises(Conflict):  # 123 fen does not complete a2's security
        services.resolve_suspense(actor=world.staff, item=wrong_amount, action="assign", account=a2, note="x")
    services.resolve_suspense(actor=world.staff, item=wrong_payer, action="assign", account=a1, note="集团代付，附授权书")
    assert is_secured(world.bidder_orgs[1], tender)
    with django_capture_on_commit_callbacks(execute=True):
        services.resolve_suspense(actor=world.staff, item=wrong_amount, action="return", note="金额错误，原路退回")
    wrong_amount.refresh_from_db()
    assert wrong_amount.status == "returned"
    assert Account.objects.get(kind="suspense").balance_fen == 0
    with pytest.raises(Conflict):
        services.resolve_suspense(actor=world.staff, item=wrong_amount, action="return", note="again")
    assert_invariant()
    assert services.ledger_bank_balance() == fake_bank.balance()


def _exec(sql, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)


def test_database_refuses_bad_postings(world, tender, regs, fake_bank):
    a0 = acc_of(regs[0])
    pay(fake_bank, a0, world, 0)
    p = Posting.objects.first()
    assert p is not None
    with pytest.raises(Exception, match="append-only"):
        with transaction.atomic():
            _exec("UPDATE deposits_posting SET amount = amount + 1 WHERE id = %s", [p.pk])
    with pytest.raises(Exception, match="append-only"):
        with transaction.atomic():
            _exec("DELETE FROM deposits_posting WHERE id = %s", [p.pk])
    with pytest.raises(Exception, match="append-only"):
        with transaction.atomic():
            _exec("UPDATE deposits_transfer SET amount_fen = 1")
    with pytest.raises(IntegrityError):  # zero amount
        with transaction.atomic():
            Posting.objects.create(transfer=p.transfer, account=bank(), effect="posted", amount=0)
    other = acc_of(regs[1])
    with pytest.raises(IntegrityError):  # would make a sub-account negative (debit without credit)
        with transaction.atomic():
            t = Transfer.objects.create(code="x1", phase="posted", purpose="refund", amount_fen=5,
                                        created_at=p.transfer.created_at)
            Posting.objects.create(transfer=t, account=other, effect="posted", amount=5)
    with pytest.raises(Exception, match="does not balance"):  # unbalanced legs: deferred check at commit
        with transaction.atomic():
            t = Transfer.objects.create(code="x2", phase="posted", purpose="credit", amount_fen=5,
                                        created_at=p.transfer.created_at)
            Posting.objects.create(transfer=t, account=bank(), effect="posted", amount=5)
            Posting.objects.create(transfer=t, account=other, effect="posted", amount=-4)
            _exec("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(Exception, match="fewer than two legs"):
        with transaction.atomic():
            Transfer.objects.create(code="x3", phase="posted", purpose="credit", amount_fen=5,
                                    created_at=p.transfer.created_at)
            _exec("SET CONSTRAINTS ALL IMMEDIATE")
    assert_invariant()


def test_pending_resolved_at_most_once_in_db(world, tender, regs, fake_bank, clock):
    a0 = acc_of(regs[0])
    pay(fake_bank, a0, world, 0)
    freeze(clock, tender)
    f = services.request_forfeit(actor=world.staff, account=a0, grounds="collusion", reason="r")
    services.countersign_forfeit(actor=world.supervisor, forfeit=f, approve=True, note="ok")
    pend = f.pending_transfer
    with pytest.raises(IntegrityError):  # UNIQUE(pending): a second resolution is impossible
        with transaction.atomic():
            Transfer.objects.create(code="again", phase="void", purpose="forfeit", pending=pend,
                                    amount_fen=pend.amount_fen, created_at=clock.now)


def test_unknown_account_ids_and_404(world, tender, regs):
    with pytest.raises(NotFound):
        selectors.account_for(world.bidders[0], 999999)
    with pytest.raises(NotFound):
        services.request_forfeit(actor=world.staff, account=999999, grounds="collusion", reason="r")


def test_in_time_payment_notified_after_the_freeze(world, tender, regs, fake_bank, clock):
    a0 = acc_of(regs[0])
    booked = tender.bid_deadline - dt.timedelta(minutes=5)
    freeze(clock, tender)
    assert Account.objects.get(pk=a0.pk).status == "closed"
    assert not is_secured(world.bidder_orgs[0], tender)
    fake_bank.pay_in(sub_account=a0.number, amount_fen=a0.required_fen, payer_name=world.bidder_orgs[0].name,
                     payer_account="1", booked_at=booked)  # the bank booked it in time; the notice came late
    assert Account.objects.get(pk=a0.pk).status == "frozen"
    assert is_secured(world.bidder_orgs[0], tender)


def test_demo_seed(world, tender, regs, fake_bank, clock, django_capture_on_commit_callbacks):
    from deposits import demo
    from deposits.models import Forfeit, StatementImport

    other = __import__("tests.factories", fromlist=["make_project"]).make_project(world, publish=True)
    lot2 = other.lots.get()
    for i in range(3):
        register(world, lot2, i)
    clock.move_to(tender.bid_deadline + dt.timedelta(hours=1))
    trading_clock.run_all_ticks()
    with django_capture_on_commit_callbacks(execute=True):
        result = demo.seed(world)
    assert result["paid"] >= 2 and result["statement_reconciled"]
    assert Forfeit.objects.filter(status="requested").exists()
    assert StatementImport.objects.get().reconciled
    assert_invariant()


def test_refund_without_known_payee_does_not_block_the_result(world, tender, regs, fake_bank, clock,
                                                               django_capture_on_commit_callbacks):
    a1 = acc_of(regs[1])
    type(world.bidder_orgs[1]).objects.filter(pk=world.bidder_orgs[1].pk).update(bank_account="")
    pay(fake_bank, a1, world, 1, payer_account="")
    freeze(clock, tender)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            hooks.on_result(lot=tender, action="award", actor=None, now=clock.now)
    order = RefundOrder.objects.get(account=a1)
    assert order.status == "failed" and "no payee account" in order.last_error and order.attempts == 0
    assert fake_bank.refunds == {}
    with pytest.raises(Conflict):
        services.retry_refund(actor=world.staff, order=order)
    services.cancel_refund(actor=world.staff, order=order, reason="线下退还 settled by hand")
    assert Account.objects.get(pk=a1.pk).available_fen == a1.required_fen  # reservation released
    assert_invariant()


def test_contract_hook_settles_the_winner_once(world, tender, regs, fake_bank, clock, django_capture_on_commit_callbacks):
    a0 = acc_of(regs[0])
    pay(fake_bank, a0, world, 0)
    freeze(clock, tender)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            services.mark_winner(lot=tender, bidder_org=world.bidder_orgs[0])
            hooks.on_result(lot=tender, action="award", actor=None, now=clock.now)
            hooks.on_contract(lot=tender, action="sign_contract", actor=None, now=clock.now)
    assert RefundOrder.objects.get(account=a0).reason == "winner"
    # bidding asking again for the same settlement is harmless; a different one is refused
    services.settle_winner(lot=tender, bidder_org=world.bidder_orgs[0], mode="refund")
    with pytest.raises(Conflict):
        services.settle_winner(lot=tender, bidder_org=world.bidder_orgs[0], mode="convert")
    assert RefundOrder.objects.filter(account=a0).count() == 1
