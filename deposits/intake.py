"""The fast path of bank intake on PostgreSQL: a plain matched payment booked in two round trips.

``deposits.services.receive`` offers a payment here first (outside any transaction). One read finds what
the ordinary path would lock and read -- an earlier booking of the bank's transaction id, the sub-account
with its lot and bidder -- and draws the new transfer's id. The payment is judged by the same rule as the
ordinary path (``deposits.rules.match_payment``); only the plain case is booked here: matched, and the
sub-account not closed. Its rows -- the transfer, its postings, the sub-account's ``paid_at``, the bank
transaction -- and its audit event (made by the audit app: ``audit.services.events_statement``, described
by ``deposits.posting.transfer_event`` as on the ordinary path) go to the database as ONE transaction of
its own in one round trip (``audit.sql.execute_alone``), under the advisory lock every path takes on the
bank's transaction id. The sub-account is written only over the state the payment was judged on (a
compare-and-set); if it moved on, or the id was booked meanwhile, nothing is written and the ordinary path
books the payment under its locks. Anything but the plain case goes there too, with the transfer id drawn
here, so both paths give the same rows (tests/deposits/test_intake_differential.py).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError
from django.utils import timezone

from audit import sql
from audit.services import events_statement
from deposits import rules
from deposits.models import Account, BankTxn, Posting, Transfer
from deposits.posting import Leg, posting_order, transfer_event
from trading.models import Lot, Organisation

MEMO = "security received"

# A deposit sub-account by number, with what judging a payment needs of its lot and bidder.
ACCOUNT_SQL = """
    SELECT a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, a.number, a.lot_id,
           a.bidder_id, a.registration_id, a.required_fen, a.status, a.winner, a.paid_at, a.frozen_at, a.created_at,
           l.bid_deadline, l.project_id, o.name, o.bank_account
    FROM deposits_account a JOIN trading_lot l ON l.id = a.lot_id JOIN trading_organisation o ON o.id = a.bidder_id
    WHERE a.kind = 'deposit' AND a.number = %s"""
ACCOUNT_COLUMNS = 19

_PEEK_SQL = f"""
SELECT x.existing, bk.id, CASE WHEN x.existing IS NULL THEN nextval(pg_get_serial_sequence('deposits_transfer', 'id'))
       END, a.*
FROM (SELECT (SELECT id FROM deposits_banktxn WHERE bank_txn_id = %s) AS existing) AS x
LEFT JOIN deposits_account bk ON bk.kind = 'bank'
LEFT JOIN LATERAL ({ACCOUNT_SQL}) AS a ON true
"""

_TRANSFER_FIELDS = ("id", "code", "phase", "purpose", "pending", "amount_fen", "lot", "actor", "memo", "created_at")
_POSTING_FIELDS = ("transfer", "account", "effect", "amount")
_BANKTXN_FIELDS = ("bank_txn_id", "body_sha256", "source", "direction", "amount_fen", "currency", "sub_account",
                   "payer_name", "payer_account", "remark", "booked_at", "received_at", "outcome", "transfer",
                   "account")
_JUDGED_FIELDS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending", "status", "frozen_at",
                  "paid_at")


def lock_key(bank_txn_id: str) -> int:
    """The advisory lock serialising everything done with one bank transaction id (every path uses it)."""
    return int.from_bytes(hashlib.sha256(f"banktxn:{bank_txn_id}".encode()).digest()[:8], "big", signed=True)


def account_from_row(row: tuple[Any, ...]) -> Account:
    """A sub-account row of ACCOUNT_SQL as model instances (its lot and bidder attached), without a query."""
    (acc_id, dp, cp, dpe, cpe, num, lot_id, bidder_id, reg_id, required, status, winner, paid_at, frozen_at, created,
     deadline, project_id, bidder_name, bidder_bank) = row
    acc = Account(id=acc_id, kind="deposit", track=True, debits_posted=dp, credits_posted=cp, debits_pending=dpe,
                  credits_pending=cpe, number=num, lot_id=lot_id, bidder_id=bidder_id, registration_id=reg_id,
                  required_fen=required, status=status, winner=winner, paid_at=paid_at, frozen_at=frozen_at,
                  created_at=created)
    acc.lot = Lot(id=lot_id, bid_deadline=deadline, project_id=project_id, security_fen=required)
    acc.bidder = Organisation(id=bidder_id, name=bidder_name, bank_account=bidder_bank)
    return acc


@dataclass(frozen=True)
class Outcome:
    """``booked``: done here. ``existing_id``: the id was booked before (the caller compares the bodies).
    Otherwise the ordinary path books it, using ``transfer_id`` (drawn here) for its transfer."""

    booked: BankTxn | None = None
    existing_id: int | None = None
    transfer_id: int | None = None


def credit(*, item: Any, number: str, digest: str, source: str, bank_info: dict[str, Any]) -> Outcome:
    """Book ``item`` (a ``deposits.services.Incoming`` payment for sub-account ``number``) if it is the plain
    case. Needs PostgreSQL and no open transaction."""
    peek = sql.fetch_one(sql.Statement(_PEEK_SQL, (item.bank_txn_id, number)))  # prepared once per session
    assert peek is not None
    existing_id, bank_id, transfer_id, *account = peek
    if existing_id is not None:
        return Outcome(existing_id=existing_id)
    later = Outcome(transfer_id=transfer_id)
    if bank_id is None or account[0] is None:
        return later
    acc = account_from_row(tuple(account))
    reason = rules.match_payment(amount_fen=item.amount_fen, payer_name=item.payer_name,
                                 payer_account=item.payer_account.replace(" ", ""),
                                 expect=rules.expectation_of(acc, item.booked_at))
    if reason is not None or acc.status == Account.Status.CLOSED:
        return later
    now = timezone.now()
    bank = Account(id=bank_id, kind="bank", number=None)
    legs = [Leg(bank, item.amount_fen), Leg(acc, -item.amount_fen)]
    transfer = Transfer(id=transfer_id, code=f"in:{item.bank_txn_id}", phase="posted", purpose="credit",
                        pending=None, amount_fen=item.amount_fen, lot_id=acc.lot_id, actor=None, memo=MEMO,
                        created_at=now)
    postings = posting_order([Posting(transfer_id=transfer_id, account_id=leg.account.pk, effect="posted",
                                      amount=leg.amount) for leg in legs])
    event, _ = events_statement([transfer_event(
        transfer, legs=[(leg.account, "posted", leg.amount) for leg in legs], lot=acc.lot, actor=None, now=now,
        extra={"bank": bank_info, "account": acc.pk, "bidder": acc.bidder_id}, action="deposit.credit",
        subject=f"lot:{acc.lot_id}")], alone=True)
    judged = {name: getattr(acc, name) for name in _JUDGED_FIELDS}
    acc.paid_at = now
    txn = BankTxn(bank_txn_id=item.bank_txn_id, body_sha256=digest, source=source, direction="credit",
                  amount_fen=item.amount_fen, currency="CNY", sub_account=item.sub_account[:40],
                  payer_name=item.payer_name[:200], payer_account=item.payer_account[:40], remark=item.remark[:300],
                  booked_at=item.booked_at, received_at=now, outcome="credited", transfer_id=transfer_id,
                  account_id=acc.pk)
    insert_txn = sql.insert([txn], _BANKTXN_FIELDS)
    assert insert_txn is not None
    try:
        row = sql.execute_alone([
            sql.Statement("SELECT pg_advisory_xact_lock(%s)", (lock_key(item.bank_txn_id),)),
            _guarded(sql.update(acc, ["paid_at"], expect=judged)),
            sql.insert([transfer], _TRANSFER_FIELDS),
            sql.insert(postings, _POSTING_FIELDS),
            event,
            sql.Statement(insert_txn.sql + " RETURNING id", insert_txn.params),
        ])
    except DatabaseError:
        # booked meanwhile (UNIQUE), the sub-account moved on (the guard), or refused: nothing was written;
        # the ordinary path decides again under its locks (and reports a refusal in its own words)
        return later
    assert row is not None
    txn.id = row[0]
    return Outcome(booked=txn)


def _guarded(update: sql.Statement) -> sql.Statement:
    """The update, which must change exactly one row: otherwise the round trip is aborted (SQLSTATE 40001,
    migration 0006)."""
    return sql.Statement(f"WITH moved AS ({update.sql} RETURNING 1) "
                         f"SELECT deposits_expect_one((SELECT count(*) FROM moved))", update.params)
