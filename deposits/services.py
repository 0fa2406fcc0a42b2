"""Business actions of the unified deposit account. Each: keyword-only, one transaction, audited in it.

Money flows (debit + / credit -):

* payment matched     bank +X / sub-account -X            (posted)
* payment unmatched   bank +X / suspense -X               (posted) + a SuspenseItem (staff task)
* refund / return     sub-account (or suspense) +X / bank -X  PENDING when ordered, POST when the bank
                      confirms, VOID if cancelled -- the pending reservation makes a second outcome impossible
* forfeit             sub-account +X / forfeited -X       PENDING on the staff request, POST on the
                      supervisor's countersignature, VOID on rejection
* convert             sub-account +X / converted -X       (posted; winner's security kept toward the price / bond)
* suspense assigned   suspense +X / sub-account -X        (posted)
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Literal

from celery import current_app
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

import audit
from audit import context as audit_context
from deposits import conf, intake, numbers, rules
from deposits import statements as stmt_mod
from deposits.models import (Account, BankTxn, Forfeit, RefundBatch, RefundOrder, StatementImport, SuspenseItem,
                             Transfer)
from deposits.posting import Leg, bank, resolve_pending, system_account, write_transfer
from deposits import messages as DM
from trading.errors import Conflict, Forbidden, Invalid, NotFound, translated
from trading.models import Lot, Organisation, User
from trading.money import format_fen
from trading.permissions import is_staff_of, require_role, require_staff_of
from trading.services import iso
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)

RETRY_BACKOFF = (60, 300, 900, 3600, 6 * 3600)  # seconds after the 1st, 2nd ... failure


# --- sub-accounts --------------------------------------------------------------------------------


def open_sub_account(*, lot: Lot, bidder_org: Organisation, registration_id: int) -> Account:
    """A virtual sub-account for one bidder x lot registration (called by bidding.services.register).
    Idempotent by registration id."""
    with transaction.atomic():
        existing = Account.objects.filter(registration_id=registration_id).first()
        if existing is not None:
            if existing.lot_id != lot.pk or existing.bidder_id != bidder_org.pk:
                raise Conflict(_("this registration already has a deposit sub-account for another lot or bidder"))
            return existing
        if lot.security_fen <= 0:
            raise Invalid(_("this lot does not require a bid security"))
        now = timezone.now()
        if now >= lot.bid_deadline:
            raise Conflict(_("the deposit deadline has passed"))
        acc = Account.objects.create(kind="deposit", lot=lot, bidder=bidder_org, registration_id=registration_id,
                                     required_fen=lot.security_fen, number=f"tmp-{registration_id}", created_at=now)
        acc.number = numbers.make_number(conf.number_prefix(), acc.pk, conf.number_key())
        acc.save(update_fields=["number"])
        # sealed: who registered (and so who will pay) stays hidden until the deadline
        audit.record(action="deposit.sub_account_open", subject=f"lot:{lot.pk}", project_id=lot.project_id,
                     visibility="sealed",
                     payload={"account": acc.pk, "number": acc.number, "lot": lot.pk, "bidder": bidder_org.pk,
                              "registration": registration_id, "required_fen": acc.required_fen, "at": iso(now)})
    return acc


# --- bank intake -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """One movement reported by the bank (a signed notification or a statement line)."""

    bank_txn_id: str
    direction: str  # credit | debit
    amount_fen: int
    booked_at: dt.datetime  # aware
    currency: str = "CNY"
    sub_account: str = ""
    payer_name: str = ""
    payer_account: str = ""
    remark: str = ""
    order_ref: str = ""  # for debits: our refund order reference (RF...)
    kind: str = "payment"  # payment | interest | refund_failed


_FIND_SQL = f"""
SELECT pg_advisory_xact_lock(%s);
SELECT (SELECT id FROM deposits_banktxn WHERE bank_txn_id = %s), x.*
FROM (SELECT 1) AS one LEFT JOIN LATERAL ({intake.ACCOUNT_SQL} FOR UPDATE OF a) AS x ON true
"""


def _lock_and_find(bank_txn_id: str, number: str | None) -> tuple[BankTxn | None, Account | None | Literal[False]]:
    """Serialise on the bank's transaction id (a transaction-scoped advisory lock on PostgreSQL, the same key
    as the fast path takes), look it up, and lock the target sub-account -- one round trip.
    The second value is False when the caller must look the sub-account up itself (other databases)."""
    if connection.vendor != "postgresql":
        return BankTxn.objects.filter(bank_txn_id=bank_txn_id).first(), False
    with connection.cursor() as cur:
        cur.execute(_FIND_SQL, [intake.lock_key(bank_txn_id), bank_txn_id, number])
        row = cur.fetchone()
    existing = BankTxn.objects.get(pk=row[0]) if row[0] else None
    return existing, (intake.account_from_row(row[1:1 + intake.ACCOUNT_COLUMNS]) if row[1] is not None else None)


def _number_of(item: Incoming) -> str | None:
    prefix = conf.number_prefix()
    number = numbers.parse_number(item.sub_account, prefix) if item.sub_account else None
    if number is None:
        number = stmt_mod.find_sub_account(item.remark, prefix, lambda c: numbers.parse_number(c, prefix) is not None)
    return number


def _same(existing: BankTxn, item: Incoming) -> bool:
    return (existing.direction == item.direction and existing.amount_fen == item.amount_fen
            and (not item.sub_account or existing.sub_account == item.sub_account))


def receive(*, item: Incoming, body_sha256: str = "", source: str = "notification") -> tuple[BankTxn, bool]:
    """Book one movement on the unified account. The bank's transaction id is the idempotency key:
    the same movement twice books once (returns ``(txn, True)``); the same id with a different body is
    refused. Unmatched money goes to suspense with a reason.

    On PostgreSQL, outside a transaction, a payment is first offered to the fast path (``deposits.intake``);
    what it does not book -- anything but a plain matched payment -- is booked here in one transaction.
    Who sent it from where (the request's address and client) and the paying account are recorded privately
    with its event on either path (audit.context), committed by hash."""
    _validate_incoming(item)
    payer = "".join(item.payer_account.split()) if item.direction == "credit" else ""
    with audit_context.noting(payer_account=payer):
        return _receive(item=item, body_sha256=body_sha256, source=source)


def _receive(*, item: Incoming, body_sha256: str, source: str) -> tuple[BankTxn, bool]:
    digest = body_sha256 or hashlib.sha256(repr(item).encode()).hexdigest()
    transfer_id = None
    if (item.direction == "credit" and item.kind == "payment" and connection.vendor == "postgresql"
            and not connection.in_atomic_block and (number := _number_of(item)) is not None):
        fast = intake.credit(item=item, number=number, digest=digest, source=source, bank_info=_bank_info(item, source))
        if fast.existing_id is not None:
            return _known(BankTxn.objects.get(pk=fast.existing_id), item=item, digest=digest, source=source), True
        if fast.booked is not None:
            return fast.booked, False
        transfer_id = fast.transfer_id
    with transaction.atomic():
        number = _number_of(item) if item.direction == "credit" and item.kind == "payment" else None
        existing, target = _lock_and_find(item.bank_txn_id, number)
        if existing is not None:
            return _known(existing, item=item, digest=digest, source=source), True
        now = timezone.now()
        if item.direction == "debit":
            txn = _confirm_from_bank(item=item, digest=digest, source=source, now=now)
        elif item.kind == "interest":
            acc = system_account("interest")
            transfer = write_transfer(code=f"in:{item.bank_txn_id}", purpose="interest", now=now,
                                      legs=[Leg(bank(), item.amount_fen), Leg(acc, -item.amount_fen)],
                                      memo="interest")
            txn = _bank_txn(item, digest, source, now, "interest", transfer, acc)
        else:
            txn = _credit(item=item, digest=digest, source=source, now=now, found=target, transfer_id=transfer_id)
    return txn, False


def _known(existing: BankTxn, *, item: Incoming, digest: str, source: str) -> BankTxn:
    """The bank transaction id was booked already: the same movement again is a duplicate (booked once);
    a different body under the same id is refused."""
    if existing.body_sha256 == digest or (source != "notification" or existing.source != "notification") and _same(existing, item):
        return existing
    raise Conflict(_("bank transaction %(bank_txn_id)s was already received with different content: refused"), bank_txn_id=item.bank_txn_id)


def _bank_info(item: Incoming, source: str) -> dict:
    return {"bank_txn_id": item.bank_txn_id, "amount_fen": item.amount_fen, "payer_name": item.payer_name,
            "payer_account": item.payer_account, "booked_at": iso(item.booked_at), "source": source}


def _validate_incoming(item: Incoming) -> None:
    if not item.bank_txn_id or len(item.bank_txn_id) > 64:
        raise Invalid(_("the bank transaction id is missing or longer than 64 characters"), field="txn_id")
    if item.direction not in ("credit", "debit"):
        raise Invalid(_("direction must be credit or debit"), field="direction")
    if isinstance(item.amount_fen, bool) or not isinstance(item.amount_fen, int) or item.amount_fen <= 0:
        raise Invalid(_("the amount must be a positive number of fen"), field="amount")
    if item.currency != "CNY":
        raise Invalid(_("currency %(currency)s is not accepted: the unified deposit account holds CNY only"), currency=item.currency,
                      field="currency")
    if item.booked_at is None or timezone.is_naive(item.booked_at):
        raise Invalid(_("the booking time must carry a time zone"), field="booked_at")


def _bank_txn(item: Incoming, digest: str, source: str, now, outcome: str, transfer: Transfer | None,
              account: Account | None) -> BankTxn:
    return BankTxn.objects.create(
        bank_txn_id=item.bank_txn_id, body_sha256=digest, source=source, direction=item.direction,
        amount_fen=item.amount_fen, currency=item.currency, sub_account=item.sub_account[:40],
        payer_name=item.payer_name[:200], payer_account=item.payer_account[:40], remark=item.remark[:300],
        booked_at=item.booked_at, received_at=now, outcome=outcome, transfer=transfer, account=account)


def _find_sub_account(item: Incoming) -> Account | None:
    number = _number_of(item)
    if number is None:
        return None
    return (Account.objects.select_for_update(of=("self",)).select_related("lot", "lot__project", "bidder")
            .filter(kind="deposit", number=number).first())


def _credit(*, item: Incoming, digest: str, source: str, now, found: Account | None | Literal[False] = False,
            transfer_id: int | None = None) -> BankTxn:
    acc = _find_sub_account(item) if found is False else found
    expect = rules.expectation_of(acc, item.booked_at)
    reason = rules.match_payment(amount_fen=item.amount_fen, payer_name=item.payer_name,
                                 payer_account=item.payer_account.replace(" ", ""), expect=expect)
    lot = acc.lot if acc is not None else None
    info = _bank_info(item, source)
    if reason is None:
        # matched: match_payment refuses a payment without a sub-account (Reason.UNKNOWN_SUB_ACCOUNT)
        assert acc is not None, "a matched payment has its sub-account"
        lot = acc.deposit_lot
        # one audit event carries both the transfer and the credit (sealed before the deadline: who paid)
        transfer = write_transfer(code=f"in:{item.bank_txn_id}", purpose="credit", lot=lot, now=now,
                                  legs=[Leg(bank(), item.amount_fen), Leg(acc, -item.amount_fen)],
                                  memo=intake.MEMO, check_existing=False, transfer_id=transfer_id,
                                  audit_action="deposit.credit", audit_subject=f"lot:{lot.pk}",
                                  audit_payload={"bank": info, "account": acc.pk, "bidder": acc.bidder_id})
        if acc.status == Account.Status.CLOSED:  # closed at the deadline, paid in time after all: held like the others
            acc.status = "frozen"
            Account.objects.filter(pk=acc.pk).update(paid_at=now, status="frozen")
            audit.record(action="deposit.freeze", subject=f"lot:{lot.pk}", project_id=lot.project_id,
                         visibility="supervisors", at=now,
                         payload={"lot": lot.pk, "at": iso(now), "late_notice": True, "closed": [],
                                  "frozen": [{"account": acc.pk, "bidder": acc.bidder_id, "amount_fen": item.amount_fen}]})
        else:
            Account.objects.filter(pk=acc.pk).update(paid_at=now)
        acc.paid_at = now
        return _bank_txn(item, digest, source, now, "credited", transfer, acc)
    suspense = system_account("suspense")
    transfer = write_transfer(code=f"in:{item.bank_txn_id}", purpose="suspense", lot=lot, now=now,
                              legs=[Leg(bank(), item.amount_fen), Leg(suspense, -item.amount_fen)],
                              memo=f"suspense: {reason.value}", audit_payload={"bank": info, "reason": reason.value},
                              transfer_id=transfer_id)
    txn = _bank_txn(item, digest, source, now, "suspense", transfer, acc)
    detail = rules.REASON_TEXT[reason]
    if reason is rules.Reason.WRONG_AMOUNT and acc is not None:
        detail += f" (required {format_fen(acc.required_fen)}, received {format_fen(item.amount_fen)})"
    elif reason is rules.Reason.WRONG_PAYER and acc is not None:
        detail += f" (payer {item.payer_name})"
    SuspenseItem.objects.create(bank_txn=txn, amount_fen=item.amount_fen, reason=reason.value, detail=detail[:300],
                                account=acc, created_at=now)
    audit.record(action="deposit.suspense", subject=f"banktxn:{item.bank_txn_id}"[:100],
                 project_id=lot.project_id if lot else None,
                 visibility="sealed" if lot is not None and now < lot.bid_deadline else "supervisors",
                 payload={"account": acc.pk if acc else None, "lot": lot.pk if lot else None, "reason": reason.value,
                          "transfer": transfer.pk, **info})
    return txn


# --- refunds ---------------------------------------------------------------------------------------


def _payee_of(acc: Account) -> tuple[str, str]:
    """Refunds go back the way the money came (原路退回): the account that paid the security."""
    paid = acc.bank_txns.filter(outcome="credited").order_by("id").first()
    if paid is not None and paid.payer_account:
        return paid.payer_name, paid.payer_account
    return acc.deposit_bidder.name, acc.deposit_bidder.bank_account


def _order_refund(*, acc: Account, reason: str, now, batch: RefundBatch | None = None, due_on: dt.date | None = None,
                  working_days: int = rules.REFUND_WORKING_DAYS, actor=None,
                  suspense: SuspenseItem | None = None) -> RefundOrder | None:
    """Reserve the money (pending transfer) and create the order; the send happens after commit."""
    if suspense is None:
        if acc.available_fen <= 0:
            return None
        amount = acc.available_fen
        payee_name, payee_account = _payee_of(acc)
        source = acc
    else:
        amount = suspense.amount_fen
        payee_name, payee_account = suspense.bank_txn.payer_name, suspense.bank_txn.payer_account
        source = system_account("suspense")
    seq = RefundOrder.objects.filter(account=source, suspense=suspense).count() + 1
    key = f"sus{suspense.pk}" if suspense is not None else f"acc{acc.pk}"
    pending = write_transfer(code=f"refund:{key}:{seq}", purpose="return" if suspense else "refund", phase="pending",
                             legs=[Leg(source, amount), Leg(bank(), -amount)], lot=acc.lot if suspense is None else None,
                             actor=actor, now=now, memo=f"refund ordered ({reason})")
    if due_on is None:
        due_on = _refund_due(timezone.localdate(now), working_days)
    try:
        with transaction.atomic():
            order = RefundOrder.objects.create(
                batch=batch, account=source, suspense=suspense, reason=reason, amount_fen=amount,
                payee_name=payee_name, payee_account=payee_account, due_on=due_on, due_working_days=working_days,
                pending_transfer=pending,
                created_at=now, next_attempt_at=now if payee_account else None,
                status="pending" if payee_account else RefundOrder.Status.FAILED,
                last_error="" if payee_account else "no payee account known: staff must cancel and settle by hand")
    except IntegrityError:
        raise Conflict(_("a refund for this money is already under way")) from None
    audit.record(action="deposit.refund_order", subject=f"refund:{order.pk}", actor=actor,
                 project_id=acc.deposit_lot.project_id if suspense is None else None, visibility="supervisors",
                 payload={"order": order.pk, "account": source.pk, "suspense": suspense.pk if suspense else None,
                          "reason": reason, "amount_fen": amount, "payee_name": payee_name,
                          "payee_account": payee_account, "due_on": due_on.isoformat() if due_on else None,
                          "due_working_days": working_days, "transfer": pending.pk,
                          "batch": batch.pk if batch else None,
                          # the lot the money was for: a refund before its deadline stays unknown until then
                          "lot": acc.lot_id if suspense is None else (suspense.account.lot_id if suspense.account is not None else None)})
    order_id = order.pk
    if payee_account:
        transaction.on_commit(lambda: _enqueue_send(order_id))
    return order


def _refund_due(ordered_on: dt.date, working_days: int) -> dt.date | None:
    """The day a refund ordered on `ordered_on` is due; None while the official calendar does not know a day the
    count reaches (trading.workdays.CalendarUnknown): the refund is ordered and sent all the same, and the clock
    tick fills the day in once the year is loaded (fill_refund_due_dates). Never a guess."""
    from trading.workdays import CalendarUnknown

    try:
        return rules.refund_due(ordered_on, working_days=working_days)
    except CalendarUnknown:
        return None


def fill_refund_due_dates() -> int:
    """The due day of each refund ordered while the calendar did not reach it, once an administrator has loaded
    the year (manage.py load_calendar); one transaction and one ``deposit.refund_due`` event per order. Returns
    how many were filled (none while the year is still unknown)."""
    filled = 0
    for order_id in RefundOrder.objects.filter(due_on__isnull=True).values_list("pk", flat=True):
        with transaction.atomic():
            order = (RefundOrder.objects.select_for_update(skip_locked=True, of=("self",))
                     .select_related("account__lot").filter(pk=order_id, due_on__isnull=True).first())
            if order is None:
                continue
            n = order.due_working_days if order.due_working_days is not None else rules.REFUND_WORKING_DAYS
            due_on = _refund_due(timezone.localdate(order.created_at), n)
            if due_on is None:
                continue
            order.due_on = due_on
            order.save(update_fields=["due_on"])
            lot = order.account.lot
            audit.record(action="deposit.refund_due", subject=f"refund:{order.pk}",
                         project_id=lot.project_id if lot is not None and order.suspense_id is None else None,
                         visibility="supervisors",
                         payload={"order": order.pk, "due_on": due_on.isoformat(), "due_working_days": n,
                                  "ordered_on": timezone.localdate(order.created_at).isoformat()})
            filled += 1
    return filled


def _enqueue_send(order_id: int) -> None:
    # by the task's registered name: the tasks wrap these services, so this module does not import them
    try:
        current_app.tasks["deposits.send_refund"].delay(order_id)
    except Exception:  # broker down: the clock tick sends it later
        log.exception("could not enqueue refund %s; the tick will retry", order_id)


def order_ref(order: RefundOrder | int) -> str:
    return f"RF{getattr(order, 'pk', order):010d}"


def parse_order_ref(ref: str) -> int | None:
    ref = (ref or "").strip().upper()
    if ref.startswith("RF") and ref[2:].isascii() and ref[2:].isdigit():
        return int(ref[2:])
    return None


def _project_of(order: RefundOrder) -> int | None:
    lot_id = Account.objects.filter(pk=order.account_id).values_list("lot_id", flat=True).first()
    return Lot.objects.filter(pk=lot_id).values_list("project_id", flat=True).first() if lot_id else None


def begin_send(*, order_id: int) -> RefundOrder | None:
    """Mark an order as being sent (one attempt). None when it is not due / someone else has it."""
    with transaction.atomic():
        now = timezone.now()
        order = (RefundOrder.objects.select_for_update(skip_locked=True)
                 .filter(pk=order_id).filter(Q(status__in=["pending", RefundOrder.Status.FAILED]) | Q(status="sent"))
                 .filter(next_attempt_at__lte=now).exclude(payee_account="").first())
        if order is None:
            return None
        if order.attempts >= conf.refund_max_attempts():
            return None
        order.status = "sent"
        order.attempts += 1
        order.sent_at = now
        # if this process dies before the answer, the tick resends after this time (the bank dedupes by ref)
        order.next_attempt_at = now + dt.timedelta(minutes=15)
        order.save(update_fields=["status", "attempts", "sent_at", "next_attempt_at"])
        audit.record(action="deposit.refund_send", subject=f"refund:{order.pk}", project_id=_project_of(order), visibility="supervisors",
                     payload={"order": order.pk, "attempt": order.attempts, "at": iso(now)})
    return order


def refund_failed(*, order_id: int, error: str, final: bool = False) -> RefundOrder:
    """The bank refused or could not be reached: schedule a retry (or stop after the last attempt)."""
    with transaction.atomic():
        order = RefundOrder.objects.select_for_update().get(pk=order_id)
        if order.status in ("confirmed", "cancelled"):
            return order
        now = timezone.now()
        order.status = RefundOrder.Status.FAILED
        order.last_error = error[:300]
        exhausted = final or order.attempts >= conf.refund_max_attempts()
        delay = RETRY_BACKOFF[min(order.attempts, len(RETRY_BACKOFF)) - 1] if order.attempts else RETRY_BACKOFF[0]
        order.next_attempt_at = None if exhausted else now + dt.timedelta(seconds=delay)
        order.save(update_fields=["status", "last_error", "next_attempt_at"])
        audit.record(action="deposit.refund_failed", subject=f"refund:{order.pk}", project_id=_project_of(order), visibility="supervisors",
                     payload={"order": order.pk, "attempt": order.attempts, "error": error[:300],
                              "retry_at": iso(order.next_attempt_at), "at": iso(now)})
    return order


def _memo_reason(order: RefundOrder) -> str:
    """The bank memo's reason in the catalogue's source words, whatever the request's language."""
    from django.utils import translation

    with translation.override(None):
        return str(order.get_reason_display())


def dispatch_refund(*, order_id: int) -> str:
    """Send one refund order to the bank (called by the Celery task and the tick). Returns the order status."""
    from deposits.bank import BankUnavailable, get_adapter

    order = begin_send(order_id=order_id)
    if order is None:
        current = RefundOrder.objects.filter(pk=order_id).values_list("status", flat=True).first()
        return current or "missing"
    try:
        receipt = get_adapter().submit_refund(order_ref=order_ref(order), amount_fen=order.amount_fen,
                                              payee_name=order.payee_name, payee_account=order.payee_account,
                                              memo=f"保证金退还 {_memo_reason(order)}")
    except BankUnavailable as exc:
        return refund_failed(order_id=order.pk, error=str(exc) or "bank unavailable").status
    if not receipt.accepted:
        return refund_failed(order_id=order.pk, error=receipt.message or "refused by the bank",
                             final=not receipt.retryable).status
    if receipt.bank_txn_id:  # synchronous confirmation
        txn, _ = receive(item=Incoming(bank_txn_id=receipt.bank_txn_id, direction="debit", amount_fen=order.amount_fen,
                                       booked_at=receipt.booked_at or timezone.now(), order_ref=order_ref(order),
                                       payer_name=order.payee_name, payer_account=order.payee_account),
                         source="adapter")
    return RefundOrder.objects.get(pk=order.pk).status


def _confirm_from_bank(*, item: Incoming, digest: str, source: str, now) -> BankTxn:
    """A debit reported by the bank: the confirmation of one of our refund orders (posts its pending transfer)."""
    order_id = parse_order_ref(item.order_ref) or parse_order_ref(item.remark.split()[0] if item.remark else "")
    order = RefundOrder.objects.select_for_update().filter(pk=order_id).first() if order_id else None
    if order is None:
        raise Conflict(_("bank debit %(bank_txn_id)s matches no refund order of ours"), bank_txn_id=item.bank_txn_id)
    if order.amount_fen != item.amount_fen:
        raise Conflict(_("bank debit %(bank_txn_id)s is %(amount_fen)s but refund %(value)s is %(amount_fen2)s"), bank_txn_id=item.bank_txn_id, amount_fen=format_fen(item.amount_fen), value=order_ref(order), amount_fen2=format_fen(order.amount_fen))
    if order.status == "confirmed":
        raise Conflict(_("refund %(value)s is already confirmed by bank transaction %(bank_ref)s"), value=order_ref(order), bank_ref=order.bank_ref)
    if order.status == "cancelled":
        raise Conflict(_("refund %(value)s was cancelled; the bank debit needs staff attention"), value=order_ref(order))
    post = resolve_pending(pending=order.pending_transfer, post=True, code=f"{order.pending_transfer.code}:post", now=now,
                           memo=f"bank confirmed {item.bank_txn_id}", audit_payload={"bank_txn_id": item.bank_txn_id})
    txn = _bank_txn(item, digest, source, now, "return" if order.suspense_id else "refund", post, order.account)
    order.status = "confirmed"
    order.bank_ref = item.bank_txn_id
    order.confirmed_at = now
    order.next_attempt_at = None
    order.save(update_fields=["status", "bank_ref", "confirmed_at", "next_attempt_at"])
    if order.suspense_id:
        SuspenseItem.objects.filter(pk=order.suspense_id).update(status="returned", resolved_at=now)
    else:
        acc = Account.objects.select_for_update().get(pk=order.account_id)
        if acc.credits_posted - acc.debits_posted == 0 and acc.debits_pending == 0:
            acc.status = "settled" if acc.status != Account.Status.CLOSED else Account.Status.CLOSED
            acc.save(update_fields=["status"])
    audit.record(action="deposit.refund_confirmed", subject=f"refund:{order.pk}", project_id=_project_of(order), visibility="supervisors",
                 payload={"order": order.pk, "account": order.account_id, "suspense": order.suspense_id,
                          "bank_txn_id": item.bank_txn_id, "amount_fen": item.amount_fen,
                          "booked_at": iso(item.booked_at), "transfer": post.pk})
    return txn


NO_SUCH_ACCOUNT = _("no such deposit sub-account")
NO_SUCH_REFUND = _("no such refund order")


def _known_order(actor: User, order: RefundOrder | int) -> RefundOrder:
    """The refund order, locked, if the staff member may know of it: of its centre's lots (or of
    suspense), and not a refund of a lot still before its deadline (a withdrawn registrant)."""
    row = RefundOrder.objects.select_for_update(of=("self",)).select_related("account__lot__project").filter(
        pk=getattr(order, "pk", order)).first()
    lot = row.account.lot if row is not None else None
    if row is None or (lot is not None and (not is_staff_of(actor, lot.project)
                                            or timezone.now() < lot.bid_deadline)):
        raise NotFound(NO_SUCH_REFUND)
    return row


def cancel_refund(*, actor: User, order: RefundOrder | int, reason: str) -> RefundOrder:
    """Staff stop a refund the bank cannot pay (e.g. account closed): the reservation is voided."""
    require_role(actor, "staff")
    if not reason.strip():
        raise Invalid(_("a reason is required"), field="reason")
    with transaction.atomic():
        order = _known_order(actor, order)
        if order.status not in ("pending", RefundOrder.Status.FAILED):
            raise Conflict(_("refund %(value)s is %(status)s; only pending or failed refunds can be cancelled"), value=order_ref(order), status=order.status)
        now = timezone.now()
        resolve_pending(pending=order.pending_transfer, post=False, code=f"{order.pending_transfer.code}:void",
                        actor=actor, now=now, memo=reason)
        order.status = "cancelled"
        order.last_error = reason[:300]
        order.next_attempt_at = None
        order.save(update_fields=["status", "last_error", "next_attempt_at"])
        if order.suspense_id:
            SuspenseItem.objects.filter(pk=order.suspense_id).update(status="open")
        audit.record(action="deposit.refund_cancel", subject=f"refund:{order.pk}", project_id=_project_of(order), actor=actor,
                     visibility="supervisors", payload={"order": order.pk, "reason": reason})
    return order


def retry_refund(*, actor: User, order: RefundOrder | int) -> RefundOrder:
    """Staff ask for another attempt now (after the automatic retries gave up, or early)."""
    require_role(actor, "staff")
    with transaction.atomic():
        order = _known_order(actor, order)
        if order.status != RefundOrder.Status.FAILED:
            raise Conflict(_("refund %(value)s is %(status)s; only failed refunds can be retried"), value=order_ref(order), status=order.status)
        if not order.payee_account:
            raise Conflict(_("no payee account is known for this refund: cancel it and settle by hand"))
        now = timezone.now()
        order.next_attempt_at = now
        order.attempts = min(order.attempts, conf.refund_max_attempts() - 1)
        order.save(update_fields=["next_attempt_at", "attempts"])
        audit.record(action="deposit.refund_retry", subject=f"refund:{order.pk}", project_id=_project_of(order), actor=actor,
                     visibility="supervisors", payload={"order": order.pk, "at": iso(now)})
        order_id = order.pk
        transaction.on_commit(lambda: _enqueue_send(order_id))
    return order


# --- lifecycle: freeze, results, withdrawal ---------------------------------------------------------


def freeze_lot(*, lot: Lot, now: dt.datetime | None = None) -> int:
    """At the bid deadline: paid sub-accounts are frozen (held until the result), unpaid ones closed.
    Idempotent. Returns the number of sub-accounts changed."""
    with transaction.atomic():
        now = now or timezone.now()
        if now < lot.bid_deadline:
            raise Conflict(_("the deposits of a lot are frozen only at its bid deadline"))
        accounts = list(Account.objects.select_for_update().filter(lot=lot, kind="deposit", status="open").order_by("pk"))
        if not accounts:
            return 0
        paid, unpaid = [], []
        for acc in accounts:
            if acc.balance_fen >= acc.required_fen:
                acc.status, acc.frozen_at = "frozen", now
                paid.append(acc)
            else:
                acc.status, acc.frozen_at = "closed", now  # closed at the deadline for non-payment
                unpaid.append(acc)
            acc.save(update_fields=["status", "frozen_at"])
        audit.record(action="deposit.freeze", subject=f"lot:{lot.pk}", project_id=lot.project_id, visibility="supervisors",
                     payload={"lot": lot.pk, "at": iso(now),
                              "frozen": [{"account": a.pk, "bidder": a.bidder_id, "amount_fen": a.balance_fen} for a in paid],
                              "closed": [{"account": a.pk, "bidder": a.bidder_id, "amount_fen": a.balance_fen} for a in unpaid]})
        # partial payments on closed (unpaid) sub-accounts go back
        for acc in unpaid:
            if acc.available_fen > 0:
                _order_refund(acc=acc, reason="non_winner", now=now,
                              working_days=lot.rule.refund_working_days)
    return len(accounts)


def mark_winner(*, lot: Lot, bidder_org: Organisation) -> Account | None:
    """Keep the winner's security when the result refunds everybody else. Call before the award
    transition (in the same transaction) -- bidding knows the winner, deposits does not ask."""
    with transaction.atomic():
        acc = Account.objects.select_for_update().filter(lot=lot, bidder=bidder_org, kind="deposit").first()
        if acc is None:
            return None
        if acc.refunds.exclude(status="cancelled").exists():
            raise Conflict(_("the winner's security is already being refunded"))
        if not acc.winner:
            acc.winner = True
            acc.save(update_fields=["winner"])
            audit.record(action="deposit.winner", subject=f"lot:{lot.pk}", project_id=lot.project_id,
                         visibility="supervisors", payload={"lot": lot.pk, "account": acc.pk, "bidder": bidder_org.pk})
    return acc


def refund_lot(*, lot: Lot, reason: str, now: dt.datetime | None = None, include_winner: bool = False,
               actor=None) -> RefundBatch | None:
    """Order the refund of every held security of the lot (except the winner's unless asked), as one batch."""
    with transaction.atomic():
        now = now or timezone.now()
        if now >= lot.bid_deadline:
            freeze_lot(lot=lot, now=now)
        qs = Account.objects.select_for_update().filter(lot=lot, kind="deposit", status__in=["frozen", Account.Status.CLOSED, "open"])
        if not include_winner:
            qs = qs.filter(winner=False)
        accounts = [a for a in qs.order_by("pk") if a.available_fen > 0]
        closed = []
        for acc in accounts:
            if acc.status == "open":  # terminated before the deadline
                acc.status = Account.Status.CLOSED
                acc.save(update_fields=["status"])
                closed.append(acc.pk)
        if not accounts:
            return None
        batch = RefundBatch.objects.create(lot=lot, reason=reason, created_at=now)
        for acc in accounts:
            _order_refund(acc=acc, reason=reason, now=now, batch=batch, actor=actor,
                          working_days=lot.rule.refund_working_days)
        audit.record(action="deposit.refund_batch", subject=f"lot:{lot.pk}", project_id=lot.project_id, actor=actor,
                     visibility="supervisors", payload={"batch": batch.pk, "lot": lot.pk, "reason": reason,
                                                        "orders": [o.pk for o in batch.orders.all()], "closed": closed})
    return batch


def registration_withdrawn(*, registration_id: int, actor: User | None = None) -> RefundOrder | None:
    """The bidder withdrew before the deadline: close the sub-account, refund within 5 days
    (call from bidding.services.withdraw_registration, inside its transaction)."""
    with transaction.atomic():
        acc = Account.objects.select_for_update(of=("self",)).select_related("lot", "lot__project").filter(
            registration_id=registration_id).first()
        if acc is None:
            return None
        now = timezone.now()
        if now >= acc.deposit_lot.bid_deadline:
            raise Conflict(_("after the deadline a withdrawal forfeits the security (a staff decision), it is not refunded"))
        if acc.status != "open":
            return None
        acc.status = Account.Status.CLOSED
        acc.save(update_fields=["status"])
        audit.record(action="deposit.close", subject=f"lot:{acc.lot_id}", actor=actor, project_id=acc.deposit_lot.project_id,
                     visibility="sealed", payload={"account": acc.pk, "registration": registration_id, "at": iso(now)})
        return _order_refund(acc=acc, reason="withdrawal", now=now, actor=actor,
                             working_days=acc.deposit_lot.rule.withdrawal_refund_days)


def settle_winner(*, lot: Lot, bidder_org: Organisation, mode: str, actor: User | None = None) -> Account:
    """The winner's security after the contract: refunded ("refund") or kept toward the price / as
    performance bond ("convert")."""
    if mode not in ("refund", "convert"):
        raise Invalid(_("mode must be refund or convert"), field="mode")
    if actor is not None:
        require_staff_of(actor, lot.project)
    with transaction.atomic():
        acc = Account.objects.select_for_update(of=("self",)).select_related("lot", "lot__project").filter(
            lot=lot, bidder=bidder_org, kind="deposit").first()
        if acc is None:
            raise NotFound(_("this bidder has no deposit sub-account for the lot"))
        if acc.available_fen <= 0:
            done = ("refund" if acc.refunds.filter(reason="winner").exclude(status="cancelled").exists()
                    else "convert" if Transfer.objects.filter(code=f"convert:{acc.pk}").exists() else None)
            if done == mode:
                return acc  # the same settlement again (e.g. the contract hook already did it): nothing to do
            raise Conflict(_("nothing is held for this bidder (already refunded, forfeited or converted)"))
        now = timezone.now()
        if not acc.winner:
            acc.winner = True
            acc.save(update_fields=["winner"])
        if mode == "refund":
            _order_refund(acc=acc, reason="winner", now=now, actor=actor, working_days=lot.rule.refund_working_days)
        else:
            amount = acc.available_fen
            write_transfer(code=f"convert:{acc.pk}", purpose="convert", lot=lot, actor=actor, now=now,
                           legs=[Leg(acc, amount), Leg(system_account("converted"), -amount)],
                           memo="security converted (price / performance bond)")
            acc.status = "settled"
            acc.save(update_fields=["status"])
        audit.record(action="deposit.settle_winner", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="supervisors", payload={"lot": lot.pk, "account": acc.pk, "bidder": bidder_org.pk,
                                                        "mode": mode})
    return acc


def clear_winner(*, lot: Lot, bidder_org: Organisation, reason: str) -> Account | None:
    """The award was cancelled (a complaint upheld, 中标无效): the former winner's security goes back to the
    rules' state — held like every other security of the lot until the lot's new result, then refunded by the
    result's hook (or forfeited only through the forfeit procedure). A conversion toward the price is
    reversed. Called inside the cancellation's transaction; nothing to do for a bidder never marked."""
    with transaction.atomic():
        acc = Account.objects.select_for_update(of=("self",)).select_related("lot", "lot__project").filter(
            lot=lot, bidder=bidder_org, kind="deposit").first()
        if acc is None or not acc.winner:
            return acc
        now = timezone.now()
        reversed_fen = 0
        converted = Transfer.objects.filter(code=f"convert:{acc.pk}").first()
        if converted is not None and not Transfer.objects.filter(code=f"unconvert:{converted.pk}").exists():
            reversed_fen = sum(p.amount for p in converted.postings.filter(account=acc))
            write_transfer(code=f"unconvert:{converted.pk}", purpose="reversal", lot=lot, actor=None, now=now,
                           legs=[Leg(system_account("converted"), reversed_fen), Leg(acc, -reversed_fen)],
                           memo="conversion reversed: the award was cancelled")
        acc.winner = False
        fields = ["winner"]
        if reversed_fen and acc.status == "settled":
            acc.status = "frozen"
            fields.append("status")
        acc.save(update_fields=fields)
        audit.record(action="deposit.winner_cleared", subject=f"lot:{lot.pk}", project_id=lot.project_id,
                     visibility="supervisors",
                     payload={"lot": lot.pk, "account": acc.pk, "bidder": bidder_org.pk, "reason": reason[:300],
                              "reversed_fen": reversed_fen, "status": acc.status})
    return acc


# --- forfeits --------------------------------------------------------------------------------------


def request_forfeit(*, actor: User, account: Account | int, grounds: str, reason: str) -> Forfeit:
    """Staff propose forfeiting a held security; nothing moves until a supervisor countersigns."""
    require_role(actor, "staff")
    if grounds not in Forfeit.Grounds.values:
        raise Invalid(_("grounds must be one of %(values)s"), values=', '.join(Forfeit.Grounds.values), field="grounds")
    if not (reason or "").strip():
        raise Invalid(_("a forfeit needs a written reason"), field="reason")
    with transaction.atomic():
        acc = Account.objects.select_for_update(of=("self",)).select_related("lot", "lot__project").filter(
            pk=getattr(account, "pk", account), kind="deposit").first()
        now = timezone.now()
        # a sub-account the caller may not know of (another centre's, or before its lot's deadline)
        # answers exactly like a missing one: probing ids must not count registrations
        if acc is None or not is_staff_of(actor, acc.deposit_lot.project) or now < acc.deposit_lot.bid_deadline:
            raise NotFound(NO_SUCH_ACCOUNT)
        if acc.available_fen <= 0:
            raise Conflict(_("nothing is held on this sub-account (refunded, forfeited, converted or being refunded)"))
        amount = acc.available_fen
        seq = acc.forfeits.count() + 1
        pending = write_transfer(code=f"forfeit:{acc.pk}:{seq}", purpose="forfeit", phase="pending", lot=acc.lot,
                                 actor=actor, now=now, memo=f"forfeit requested: {grounds}",
                                 legs=[Leg(acc, amount), Leg(system_account("forfeited"), -amount)])
        forfeit = Forfeit.objects.create(account=acc, grounds=grounds, reason=reason.strip(), requested_by=actor,
                                         requested_at=now, pending_transfer=pending)
        audit.record(action="deposit.forfeit_request", subject=f"lot:{acc.lot_id}", actor=actor,
                     project_id=acc.deposit_lot.project_id, visibility="supervisors",
                     payload={"forfeit": forfeit.pk, "account": acc.pk, "bidder": acc.bidder_id, "grounds": grounds,
                              "reason": forfeit.reason, "amount_fen": amount, "transfer": pending.pk})
    return forfeit


def countersign_forfeit(*, actor: User, forfeit: Forfeit | int, approve: bool, note: str = "") -> Forfeit:
    """A supervisor countersigns (the money is forfeited) or rejects (the reservation is released)."""
    require_role(actor, "supervisor")
    with transaction.atomic():
        f = Forfeit.objects.select_for_update(of=("self",)).select_related("account__lot__project", "pending_transfer").filter(
            pk=getattr(forfeit, "pk", forfeit)).first()
        if f is None:
            raise NotFound(_("no such forfeit request"))
        if f.status != "requested":
            raise Conflict(_("this forfeit was already %(status)s"), status=f.status)
        if f.requested_by_id == actor.pk:
            raise Forbidden(_("the person who requested a forfeit cannot countersign it"))
        if not approve and not note.strip():
            raise Invalid(_("say why the forfeit is rejected"), field="note")
        now = timezone.now()
        resolve_pending(pending=f.pending_transfer, post=approve, actor=actor, now=now,
                        code=f"{f.pending_transfer.code}:{'post' if approve else 'void'}",
                        memo=("forfeit countersigned" if approve else "forfeit rejected"))
        f.status = "countersigned" if approve else "rejected"
        f.countersigned_by, f.countersigned_at, f.countersign_note = actor, now, note.strip()
        f.save(update_fields=["status", "countersigned_by", "countersigned_at", "countersign_note"])
        if approve:
            acc = Account.objects.select_for_update().get(pk=f.account_id)
            acc.status = "settled"
            acc.save(update_fields=["status"])
        audit.record(action="deposit.forfeit_countersign", subject=f"lot:{f.account.lot_id}", actor=actor,
                     project_id=f.account.deposit_lot.project_id, visibility="supervisors",
                     payload={"forfeit": f.pk, "account": f.account_id, "approve": approve, "note": f.countersign_note})
    return f


# --- suspense ----------------------------------------------------------------------------------------


def resolve_suspense(*, actor: User, item: SuspenseItem | int, action: str, account: Account | int | None = None,
                     note: str = "") -> SuspenseItem:
    """Staff resolve a suspense item: return the money to the payer, or assign it to a sub-account
    (only if it was paid in time and completes exactly that sub-account's security)."""
    require_role(actor, "staff")
    if action not in ("return", "assign"):
        raise Invalid(_("action must be return or assign"), field="action")
    if not note.strip():
        raise Invalid(_("a note explaining the decision is required"), field="note")
    with transaction.atomic():
        it = SuspenseItem.objects.select_for_update(of=("self",)).select_related("bank_txn", "account__lot__project").filter(
            pk=getattr(item, "pk", item)).first()
        aimed = it.account.lot if it is not None and it.account is not None else None
        if it is None or (aimed is not None and not is_staff_of(actor, aimed.project)):
            raise NotFound(_("no such suspense item"))
        if it.status != "open":
            raise Conflict(_("this suspense item is already %(status)s"), status=it.status)
        now = timezone.now()
        target = None
        if action == "return":
            _order_refund(acc=it.account or system_account("suspense"), reason="suspense", now=now, actor=actor,
                          suspense=it, working_days=rules.REFUND_WORKING_DAYS)
            it.status = "returning"
        else:
            target = Account.objects.select_for_update(of=("self",)).select_related("lot", "lot__project").filter(
                pk=getattr(account, "pk", account), kind="deposit").first() if account is not None else None
            if account is None:
                raise Invalid(_("choose the sub-account to assign the money to"), field="account")
            # before its lot's deadline staff may assign only to the sub-account the payment was aimed
            # at (they never see which one it is); any other answers like a missing sub-account
            target_lot = target.lot if target is not None else None
            if (target is None or target_lot is None or not is_staff_of(actor, target_lot.project)
                    or (now < target_lot.bid_deadline and target.pk != it.account_id)):
                raise NotFound(NO_SUCH_ACCOUNT)
            if it.bank_txn.booked_at >= target_lot.bid_deadline:
                raise Conflict(_("the money arrived after that lot's deadline: it can only be returned"))
            if target.status not in ("open", "frozen") or target.balance_fen + it.amount_fen != target.required_fen:
                raise Conflict(_("this payment does not complete that sub-account's security exactly: it can only be returned"))
            write_transfer(code=f"assign:{it.pk}", purpose="assign", lot=target.lot, actor=actor, now=now,
                           legs=[Leg(system_account("suspense"), it.amount_fen), Leg(target, -it.amount_fen)],
                           memo=f"suspense {it.pk} assigned: {note}"[:300])
            if target.status == "open" or target.frozen_at is not None:
                target.paid_at = now
                target.save(update_fields=["paid_at"])
            it.status = "assigned"
        it.resolved_by, it.resolved_at, it.resolution_note = actor, now, note.strip()[:500]
        it.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note"])
        audit.record(action="deposit.suspense_resolve", subject=f"suspense:{it.pk}", actor=actor,
                     visibility="supervisors", payload={"item": it.pk, "action": action, "note": it.resolution_note,
                                                        "account": getattr(account, "pk", account),
                                                        # the lot, so the event stays unknown until its deadline
                                                        "lot": aimed.pk if aimed is not None else
                                                        (target.lot_id if target is not None else None)})
    return it


# --- statements and reconciliation ----------------------------------------------------------------------


def _aware(line: stmt_mod.StatementLine) -> dt.datetime:
    naive = line.booked_at or dt.datetime.combine(line.booked_on, dt.time(12, 0))
    import zoneinfo

    return naive.replace(tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))


def _digits(text: str) -> str:
    return "".join(ch for ch in text or "" if ch.isalnum())


def import_statement(*, data: bytes, filename: str = "", actor: User | None = None) -> StatementImport:
    """Import a bank statement (CSV or camt.053) and reconcile it with the ledger: every line matched to a
    transfer (lines the notifications missed are booked now), every bank transfer matched to a line,
    the closing balance equal to the ledger's. A malformed file raises Invalid and changes nothing."""
    if actor is not None:
        require_role(actor, "staff")
    try:
        statement = stmt_mod.parse_statement(data, filename=filename, max_bytes=conf.statement_max_bytes())
    except stmt_mod.StatementError as exc:
        problem = translated(Invalid, exc, DM.STATEMENT)
        if exc.line:
            problem = Invalid(DM.AT_LINE, line=exc.line, problem=problem)
        raise Invalid(_("statement refused: %(value)s"), value=problem, field="file") from None
    unified = conf.unified_account()["number"]
    if statement.account and _digits(statement.account) != _digits(unified):
        raise Invalid(_("this statement is for account %(account)s, not the unified deposit account %(unified)s"), account=statement.account, unified=unified,
                      field="file")
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        done = StatementImport.objects.filter(sha256=digest).first()
        if done is not None:
            return done
        now = timezone.now()
        report = reconcile(statement=statement, now=now)
        imp = StatementImport.objects.create(
            filename=filename[:200], sha256=digest, format=statement.format, account=statement.account[:40],
            statement_id=statement.statement_id[:64], lines=len(statement.lines),
            opening_fen=statement.opening_balance_fen, closing_fen=statement.closing_balance_fen,
            ledger_fen=report["ledger_fen"], reconciled=report["reconciled"], report=report, imported_by=actor,
            imported_at=now)
        audit.record(action="deposit.statement_import", subject=f"statement:{imp.pk}", actor=actor,
                     visibility="supervisors",
                     payload={"import": imp.pk, "sha256": digest, "format": statement.format, "lines": imp.lines,
                              "closing_fen": imp.closing_fen, "ledger_fen": imp.ledger_fen,
                              "reconciled": imp.reconciled, "counts": report["counts"]})
    return imp


CAP = 500


def reconcile(*, statement: stmt_mod.Statement, now) -> dict:
    lines = statement.lines
    ids = [ln.bank_txn_id for ln in lines]
    known: dict[str, tuple[str, int]] = {}
    for i in range(0, len(ids), 5000):
        for tid, direction, amount in BankTxn.objects.filter(bank_txn_id__in=ids[i:i + 5000]).values_list(
                "bank_txn_id", "direction", "amount_fen"):
            known[tid] = (direction, amount)
    matched = 0
    booked: list[dict] = []
    mismatched: list[dict] = []
    unmatched: list[dict] = []
    for ln in lines:
        have = known.get(ln.bank_txn_id)
        if have is not None:
            if have == (ln.direction, ln.amount_fen):
                matched += 1
            else:
                mismatched.append({"line": ln.line_no, "txn": ln.bank_txn_id, "statement": [ln.direction, ln.amount_fen],
                                   "ledger": list(have)})
            continue
        item = Incoming(bank_txn_id=ln.bank_txn_id, direction=ln.direction, amount_fen=ln.amount_fen,
                        booked_at=_aware(ln), currency=ln.currency, sub_account=ln.sub_account,
                        payer_name=ln.counterparty_name, payer_account=ln.counterparty_account, remark=ln.remark,
                        order_ref=(ln.remark.split() or [""])[0] if ln.direction == "debit" else "")
        try:
            with transaction.atomic():
                txn, _ = receive(item=item, source="statement")
        except (Conflict, Invalid) as exc:
            unmatched.append({"line": ln.line_no, "txn": ln.bank_txn_id, "direction": ln.direction,
                              "amount_fen": ln.amount_fen, "problem": exc.message})
            continue
        booked.append({"line": ln.line_no, "txn": ln.bank_txn_id, "outcome": txn.outcome, "amount_fen": ln.amount_fen})
    # every bank transfer of the period must be on the statement
    missing: list[dict] = []
    end_day = max((ln.booked_on for ln in lines), default=None)
    start_day = min((ln.booked_on for ln in lines), default=None)
    if start_day is not None and end_day is not None:  # both, or neither: no lines
        tz = timezone.get_default_timezone()
        start = dt.datetime.combine(start_day, dt.time.min, tzinfo=tz)
        end = dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        on_statement = set(ids)
        for tid, direction, amount in BankTxn.objects.filter(booked_at__gte=start, booked_at__lt=end).values_list(
                "bank_txn_id", "direction", "amount_fen").iterator(chunk_size=5000):
            if tid not in on_statement:
                missing.append({"txn": tid, "direction": direction, "amount_fen": amount})
    ledger_fen = ledger_bank_balance(as_of_day=end_day)
    closing_ok = statement.closing_balance_fen is None or statement.closing_balance_fen == ledger_fen
    counts = {"lines": len(lines), "matched": matched, "booked_now": len(booked), "mismatched": len(mismatched),
              "unmatched_lines": len(unmatched), "missing_from_statement": len(missing)}
    return {
        "counts": counts, "ledger_fen": ledger_fen, "closing_fen": statement.closing_balance_fen,
        "closing_matches": closing_ok,
        "reconciled": closing_ok and not mismatched and not unmatched and not missing,
        "booked_now": booked[:CAP], "mismatched": mismatched[:CAP], "unmatched_lines": unmatched[:CAP],
        "missing_from_statement": missing[:CAP], "period": [start_day.isoformat() if start_day else None,
                                                            end_day.isoformat() if end_day else None],
    }


def ledger_bank_balance(*, as_of_day: dt.date | None = None) -> int:
    """What the ledger says the bank holds (posted), from the bank transactions booked up to the day."""
    from django.db.models import Sum

    qs = BankTxn.objects.all()
    if as_of_day is not None:
        end = dt.datetime.combine(as_of_day + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_default_timezone())
        qs = qs.filter(booked_at__lt=end)
    totals = dict(qs.values_list("direction").annotate(s=Sum("amount_fen")).values_list("direction", "s"))
    return (totals.get("credit") or 0) - (totals.get("debit") or 0)


# --- bank notifications (HTTP endpoint logic) ------------------------------------------------------


def receive_notification(*, body: bytes, timestamp: str | None, signature: str | None) -> dict:
    """Verify the bank adapter's HMAC signature and book the notification. Forged or stale -> Forbidden."""
    import json
    import time

    from deposits.bank import signing

    try:
        signing.verify(conf.bank_secret(), timestamp=timestamp, signature=signature, body=body, now=time.time())
    except signing.SignatureError as exc:
        raise Forbidden(_("bank notification refused: %(exc)s"), exc=translated(Forbidden, exc, DM.SIGNATURE)) from None
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Invalid(_("the notification body is not JSON")) from None
    item = incoming_from_json(data)
    if item.kind == "refund_failed":
        order_id = parse_order_ref(item.order_ref)
        if order_id is None or not RefundOrder.objects.filter(pk=order_id).exists():
            raise NotFound(_("no such refund order"))
        order = refund_failed(order_id=order_id, error=str(data.get("message", "refused by the bank")))
        return {"status": "refund_failed", "order": order_ref(order_id), "retry_at": iso(order.next_attempt_at)}
    txn, duplicate = receive(item=item, body_sha256=signing.body_digest(body), source="notification")
    return {"status": "duplicate" if duplicate else txn.outcome, "txn_id": txn.bank_txn_id}


def incoming_from_json(data) -> Incoming:
    from trading.money import parse_money

    if not isinstance(data, dict):
        raise Invalid(_("the notification must be a JSON object"))
    kind = data.get("type", "payment")
    if kind not in ("payment", "interest", "refund", "refund_failed"):
        raise Invalid(_("type must be payment, interest, refund or refund_failed"), field="type")
    amount = parse_money(data.get("amount"), field="amount", allow_zero=False) if kind != "refund_failed" else 1
    currency = str(data.get("currency", "CNY")).upper()
    if currency in ("RMB", "人民币"):
        currency = "CNY"
    booked_raw = data.get("booked_at")
    booked = None
    if isinstance(booked_raw, str):
        try:
            booked = dt.datetime.fromisoformat(booked_raw.replace("Z", "+00:00"))
        except ValueError:
            booked = None
    if kind != "refund_failed" and (booked is None or timezone.is_naive(booked)):
        raise Invalid(_("booked_at must be an ISO 8601 time with a zone"), field="booked_at")
    direction = "debit" if kind in ("refund", "refund_failed") else "credit"
    txn_id = str(data.get("txn_id") or "")
    if kind == "refund_failed":
        txn_id = txn_id or "n/a"
    return Incoming(bank_txn_id=txn_id, direction=direction, amount_fen=amount,
                    booked_at=booked or timezone.now(), currency=currency,
                    sub_account=str(data.get("sub_account", ""))[:40], payer_name=str(data.get("payer_name", ""))[:200],
                    payer_account=str(data.get("payer_account", ""))[:40], remark=str(data.get("remark", ""))[:300],
                    order_ref=str(data.get("order_ref", ""))[:20], kind=kind)


# --- clock -------------------------------------------------------------------------------------------


def tick(now: dt.datetime | None = None) -> int:
    """Idempotent deadline work: freeze lots whose deadline passed (any path), send due refunds."""
    now = now or timezone.now()
    done = 0
    lot_ids = (Account.objects.filter(kind="deposit", status="open", lot__bid_deadline__lte=now)
               .values_list("lot_id", flat=True).distinct())
    for lot_id in list(lot_ids):
        with transaction.atomic():
            lot = Lot.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=lot_id).select_related("project").first()
            if lot is None:
                continue
            done += freeze_lot(lot=lot, now=now)
    due = (RefundOrder.objects.filter(status__in=["pending", RefundOrder.Status.FAILED, "sent"], next_attempt_at__lte=now,
                                      attempts__lt=conf.refund_max_attempts()).values_list("pk", flat=True))
    for order_id in list(due[:200]):
        dispatch_refund(order_id=order_id)
        done += 1
    return done + fill_refund_due_dates()
