"""The one-statement credit (deposits_credit, deposits/intake.py) against the ordinary Python path:
same rows, same audit bytes, same refusals, nothing half-written."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.canonical import canonical_bytes
from audit.models import Event
from deposits import intake, services
from deposits.models import Account, BankTxn, Posting, SuspenseItem, Transfer
from deposits.posting import bank

from .test_services import acc_of, assert_invariant, pay, snapshot


def _pg_format(template: str, values: list[str]) -> str:
    """PostgreSQL's format() for the only specifiers the template uses (%N$s and %%)."""
    return re.sub(r"%(\d+)\$s|%%", lambda m: values[int(m.group(1)) - 1] if m.group(1) else "%", template)


pg_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="deposits_credit is a PostgreSQL function")
_text = st.text(st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(list('%$1"\\s{}'))), max_size=30)


@settings(max_examples=200, deadline=None)
@given(payer=_text, account=_text, txn=_text, amount=st.integers(1, 10**12), ids=st.lists(st.integers(1, 10**12), min_size=6, max_size=6),
       number=st.from_regex(r"[0-9]{5,20}", fullmatch=True), sealed=st.booleans())
def test_template_gives_the_canonical_bytes(payer, account, txn, amount, ids, number, sealed):
    """Filling the template as the database does gives exactly audit's canonical bytes of the real body."""
    now = dt.datetime(2026, 3, 2, 1, 2, 3, 456789, tzinfo=dt.timezone.utc)
    info = {"bank_txn_id": txn, "amount_fen": amount, "payer_name": payer, "payer_account": account,
            "booked_at": "2026-03-02T01:00:00Z", "source": "notification"}
    template = intake.format_template(uid="u" * 32, now=now, code=f"in:{txn}", amount_fen=amount, bank_info=info)
    assert template is not None
    transfer, bank, acc, bidder, lot, project = ids
    vis = "sealed" if sealed else "supervisors"
    filled = _pg_format(template, [str(transfer), str(bank), str(acc), str(bidder), str(lot), str(project),
                                   f'"{number}"', f'"{vis}"', f'"lot:{lot}"'])
    # what audit.record writes for the ordinary path (deposits.posting._record + audit.services.record_event)
    real = {"v": 1, "uid": "u" * 32, "at": "2026-03-02T01:02:03.456789Z", "action": "deposit.credit",
            "subject": f"lot:{lot}", "project": project,
            "actor": {"id": None, "label": "system", "role": "system", "org": None}, "visibility": vis,
            "payload": {"transfer": transfer, "code": f"in:{txn}", "phase": "posted", "purpose": "credit",
                        "pending": None, "amount_fen": amount, "lot": lot, "memo": "security received",
                        "legs": [{"account": bank, "kind": "bank", "number": None, "effect": "posted", "amount": amount},
                                 {"account": acc, "kind": "deposit", "number": number, "effect": "posted",
                                  "amount": -amount}],
                        "bank": info, "account": acc, "bidder": bidder}}
    assert filled.encode("utf-8") == canonical_bytes(real)


def test_placeholder_lookalikes_are_not_placeholders():
    """A value carrying the placeholder token (it would need the per-process secret) disables the template."""
    now = timezone.now()
    for info in ({"payer_name": intake.slot("transfer")}, {"payer_name": "x" + intake.slot("bank_info")}):
        assert intake.format_template(uid="u" * 32, now=now, code="in:x", amount_fen=1, bank_info=info) is None
    assert intake.format_template(uid="u" * 32, now=now, code="in:" + intake.slot("code"), amount_fen=1,
                                  bank_info={}) is None


def _event_of(txn_id: str) -> Event:
    return Event.objects.get(action="deposit.credit", canonical__contains=f'"bank_txn_id":{json.dumps(txn_id)}')


def _shape(event: Event) -> dict:
    body = json.loads(event.canonical)
    p = body["payload"]
    return {"keys": sorted(body), "payload_keys": sorted(p), "leg_keys": [sorted(leg) for leg in p["legs"]],
            "bank_keys": sorted(p["bank"]), "action": body["action"], "actor": body["actor"],
            "visibility": body["visibility"], "v": body["v"], "fixed": [p[k] for k in ("phase", "purpose", "pending", "memo")],
            "legs": [(leg["kind"], leg["effect"]) for leg in p["legs"]]}


def _check_event(event: Event, *, txn: BankTxn, acc: Account) -> None:
    text = event.canonical
    body = json.loads(text)
    assert canonical_bytes(body) == text.encode("utf-8")  # stored text is canonical
    # the columns are the copies audit_verify compares with the body
    assert (body["uid"], body["action"], body["subject"], body["project"], body["visibility"]) == (
        event.uid, event.action, event.subject, event.project_id, event.visibility)
    assert body["actor"] == {"id": None, "label": "system", "role": "system", "org": None}
    assert (event.actor_id, event.actor_label, event.actor_role) == (None, "system", "system")
    assert body["at"] == event.created_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    p = body["payload"]
    assert p["transfer"] == txn.transfer_id and p["account"] == acc.pk and p["bidder"] == acc.bidder_id
    assert p["lot"] == acc.lot_id and body["project"] == acc.lot.project_id and body["subject"] == f"lot:{acc.lot_id}"
    assert p["code"] == f"in:{txn.bank_txn_id}" and p["amount_fen"] == txn.amount_fen
    assert [(leg["account"], leg["number"], leg["amount"]) for leg in p["legs"]] == [
        (Posting.objects.get(transfer_id=txn.transfer_id, amount__gt=0).account_id, None, txn.amount_fen),
        (acc.pk, acc.number, -txn.amount_fen)]
    assert p["bank"] == {"bank_txn_id": txn.bank_txn_id, "amount_fen": txn.amount_fen, "payer_name": txn.payer_name,
                         "payer_account": txn.payer_account, "booked_at": p["bank"]["booked_at"], "source": "notification"}


@pg_only
@pytest.mark.django_db
def test_fast_and_ordinary_credit_write_the_same(world, tender, regs, fake_bank):
    """A plain payment takes the one-statement path; a payment whose registered bidder name has full-width
    brackets and a space (only Python's rules normalise names; the database compares exactly) takes the
    ordinary ORM path. Both book the same rows and the same event."""
    a0, a1, a2 = (acc_of(r) for r in regs)
    org1 = world.bidder_orgs[1]
    org1.name = "投标人（集团） 建设有限公司"
    org1.save(update_fields=["name"])
    bank()
    now = timezone.now()

    def probe(acc, org, txn):  # the database function alone: which path does it take?
        return intake.credit_in_one(bank_txn_id=txn, number=acc.number, amount_fen=acc.required_fen, booked_at=now,
                                    now=now, payer_name=org.name, payer_account="", digest="d" * 64,
                                    source="notification", sub_account=acc.number, remark="", bank_info={}).outcome

    before = snapshot()
    assert probe(a1, org1, "SLOW-1") == "slow"
    assert snapshot() == before  # wrote nothing
    assert probe(a0, world.bidder_orgs[0], "FAST-0") == "credited"
    # through the service: a2 by the hot path, a1 by the ordinary path
    assert pay(fake_bank, a2, world, 2, txn_id="FAST-2")["status"] == "credited"
    assert pay(fake_bank, a1, world, 1, txn_id="SLOW-1", payer_account="unknown")["status"] == "credited"
    t0, t1 = BankTxn.objects.get(bank_txn_id="FAST-2"), BankTxn.objects.get(bank_txn_id="SLOW-1")
    for t, acc in ((t0, a2), (t1, a1)):
        acc.refresh_from_db()
        assert t.outcome == "credited" and t.account_id == acc.pk
        assert acc.balance_fen == acc.required_fen and acc.paid_at is not None
        tr = Transfer.objects.get(pk=t.transfer_id)
        assert (tr.code, tr.phase, tr.purpose, tr.amount_fen, tr.lot_id, tr.memo) == (
            f"in:{t.bank_txn_id}", "posted", "credit", acc.required_fen, tender.pk, "security received")
        _check_event(_event_of(t.bank_txn_id), txn=t, acc=acc)
    assert _shape(_event_of("FAST-2")) == _shape(_event_of("SLOW-1"))
    assert _event_of("FAST-2").visibility == "sealed"
    assert_invariant()


@pg_only
@pytest.mark.django_db
def test_function_paths(world, tender, regs):
    """deposits_credit books only the plain case; every other case comes back 'slow' having written nothing."""
    a0 = acc_of(regs[0])
    org = world.bidder_orgs[0]
    bank()
    booked = timezone.now()

    def call(txn, **kw):
        args = dict(bank_txn_id=txn, number=a0.number, amount_fen=a0.required_fen, booked_at=booked, now=timezone.now(),
                    payer_name=org.name, payer_account=org.bank_account, digest="d" * 64, source="notification",
                    sub_account=a0.number, remark="", bank_info={"x": 1})
        args.update(kw)
        return intake.credit_in_one(**args)

    before = snapshot()
    for kw in ({"amount_fen": a0.required_fen - 1}, {"payer_name": "别的公司", "payer_account": "000"},
               {"booked_at": tender.bid_deadline}, {"number": a0.number[:-1] + "x"}, {"number": None}):
        assert call("F-1", **kw).outcome == "slow", kw
    assert snapshot() == before
    # matched by bank account alone (name spelled otherwise), with text that must survive the template
    odd = 'x%1$s%%"\\\u3000（有限）'
    res = call("F-1", payer_name=odd, payer_account=" " + org.bank_account,
               bank_info={"payer_name": odd, "remark": "%s %2$s %%"})
    assert res.outcome == "credited"
    ev = Event.objects.filter(action="deposit.credit").get()
    assert json.loads(ev.canonical)["payload"]["bank"] == {"payer_name": odd, "remark": "%s %2$s %%"}
    assert canonical_bytes(json.loads(ev.canonical)) == ev.canonical.encode()
    assert call("F-1").outcome == "exists"
    # already paid now: not the plain case any more
    assert call("F-2").outcome == "slow"
    assert BankTxn.objects.count() == 1 and Transfer.objects.count() == 1


@pytest.mark.django_db
def test_not_plain_still_goes_to_suspense(world, tender, regs, fake_bank, clock):
    a0 = acc_of(regs[0])
    pay(fake_bank, a0, world, 0, amount=a0.required_fen - 1)
    pay(fake_bank, a0, world, 0, booked_at=tender.bid_deadline + dt.timedelta(minutes=1))
    assert sorted(SuspenseItem.objects.values_list("reason", flat=True)) == ["late", "wrong_amount"]
    a0.refresh_from_db()
    assert a0.balance_fen == 0 and a0.paid_at is None
    assert_invariant()


@pg_only
@pytest.mark.django_db(transaction=True)
def test_one_statement_is_all_or_nothing(world, tender, regs):
    """Outside a transaction the statement commits whole or not at all: a failure at its very last step
    (the audit event: here a malformed template) leaves no transfer, posting, bank row or paid_at behind."""
    a0 = acc_of(regs[0])
    org = world.bidder_orgs[0]
    bank()  # (a flushed database has none until the first transfer; the function then answers 'slow')
    assert connection.get_autocommit()
    before = snapshot()
    now = timezone.now()
    with pytest.raises(Exception, match="too few arguments"):
        with connection.cursor() as cur:
            cur.execute(intake._SQL, [intake.lock_key("BAD-1"), "BAD-1", a0.number, a0.required_fen, now, now, org.name,
                                      "", "d" * 64, "notification", a0.number, org.name, "", "", "u" * 32, "%10$s"])
    assert snapshot() == before
    a0.refresh_from_db()
    assert a0.paid_at is None
    # and the service books it afterwards as usual
    txn, dup = services.receive(item=services.Incoming(bank_txn_id="BAD-1", direction="credit",
                                                       amount_fen=a0.required_fen, booked_at=now, sub_account=a0.number,
                                                       payer_name=org.name, payer_account=org.bank_account))
    assert (txn.outcome, dup) == ("credited", False)
    assert Event.objects.filter(action="deposit.credit").count() == 1
    assert_invariant()
