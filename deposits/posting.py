"""The database ledger primitive: write one transfer (with its audit event) inside the caller's transaction.

Not a business action by itself -- services call it. It validates with the pure rules
(``deposits.ledger``), takes row locks on the tracked accounts in id order (no deadlocks), checks
the balance rule with a clear message, inserts the transfer and its postings (the database's
triggers update the counters and check everything again at commit), and records the transfer's
audit event. The bank account is never locked or updated: it is not a hot row.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import audit
from deposits import ledger
from deposits.models import Account, Posting, Transfer
from trading.errors import Conflict, Invalid

log = logging.getLogger(__name__)

EFFECT_ORDER = {"release": 0, "pending": 1, "posted": 2}


@dataclass(frozen=True)
class Leg:
    account: Account
    amount: int  # + debit, - credit


_system_cache: dict[tuple[str, str], int] = {}


def system_account(kind: str) -> Account:
    """The singleton bank / suspense / forfeited / converted / interest account (created on first use)."""
    key = (connection.settings_dict.get("NAME", ""), kind)
    acc_id = _system_cache.get(key)
    if acc_id is not None:
        acc = Account.objects.filter(pk=acc_id, kind=kind).first()
        if acc is not None:
            return acc
    acc, _ = Account.objects.get_or_create(kind=kind, defaults={"track": kind != "bank", "created_at": timezone.now()})
    _system_cache[key] = acc.pk
    return acc


_bank_cache: dict[str, Account] = {}


def bank() -> Account:
    """The bank account. It is never updated (no counters), so the instance is cached per process and
    only its existence re-checked with one cheap raw query (tables can be flushed under tests)."""
    key = connection.settings_dict.get("NAME", "")
    acc = _bank_cache.get(key)
    if acc is not None:
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM deposits_account WHERE id = %s AND kind = 'bank'", [acc.pk])
            if cur.fetchone():
                return acc
    acc = system_account(ledger.Kind.BANK.value)
    _bank_cache[key] = acc
    return acc


def _visibility(lot, now) -> str:
    if lot is None:
        return "supervisors"
    return "sealed" if now < lot.bid_deadline else "supervisors"


def write_transfer(*, code: str, purpose: str, legs: list[Leg], phase: str = "posted", pending: Transfer | None = None,
                   lot=None, actor=None, memo: str = "", now=None, audit_payload: dict | None = None,
                   check_existing: bool = True, visibility: str | None = None, audit_action: str = "deposit.transfer",
                   audit_subject: str | None = None, transfer_id: int | None = None) -> Transfer:
    """Insert a posted or pending transfer. Idempotent by ``code``: the same code with the same legs
    returns the existing transfer; with different legs it is a Conflict (callers that already hold the
    idempotency lock pass ``check_existing=False``; the UNIQUE code still guards). ``transfer_id``: an id the
    caller already drew from the table's sequence (deposits.intake), else the database assigns one."""
    if not connection.in_atomic_block:
        raise RuntimeError("write_transfer must run inside the service's transaction")
    try:
        # the ledger's rules name accounts by string id (deposits.ledger); the database's ids are integers
        checked = ledger.validate_legs([(str(leg.account.pk), leg.amount) for leg in legs])
    except ledger.LedgerError as exc:
        raise Invalid(_("ledger: %(value)s"), value=exc.message) from None
    amount = sum(leg.amount for leg in checked if leg.amount > 0)
    existing = Transfer.objects.filter(code=code).first() if check_existing else None
    if existing is not None:
        have = sorted(Posting.objects.filter(transfer=existing).values_list("account_id", "amount"))
        if existing.phase != phase or have != sorted((int(leg.account), leg.amount) for leg in checked):
            raise Conflict(_("transfer %(code)s already exists with other fields"), code=code)
        return existing
    now = now or timezone.now()
    effect = "pending" if phase == "pending" else "posted"
    if any(leg.amount > 0 and leg.account.kind != "bank" for leg in legs):
        # only a debit can take a liability account below zero: lock and check those (credits never can)
        _lock_and_check([(leg.account, leg.amount, effect) for leg in legs])
    transfer = Transfer.objects.create(id=transfer_id, code=code, phase=phase, purpose=purpose, amount_fen=amount,
                                       lot=lot, actor=actor, memo=memo[:300], created_at=now)
    _insert([Posting(transfer=transfer, account=leg.account, effect=effect, amount=leg.amount) for leg in legs])
    _record(transfer, legs=[(leg.account, effect, leg.amount) for leg in legs], lot=lot, actor=actor, now=now,
            extra=audit_payload, visibility=visibility, action=audit_action, subject=audit_subject)
    return transfer


def resolve_pending(*, pending: Transfer, post: bool, code: str, actor=None, memo: str = "", now=None,
                    audit_payload: dict | None = None) -> Transfer:
    """Post (the money moves) or void (the reservation is released) a pending transfer, at most once."""
    if pending.phase != "pending":
        raise Conflict(_("transfer %(code)s is not pending"), code=pending.code)
    existing = Transfer.objects.filter(pending=pending).first()
    if existing is not None:
        if existing.code == code and existing.phase == ("post" if post else "void"):
            return existing  # the same resolution again: idempotent
        raise Conflict(_("transfer %(code)s was already %(value)s"), code=pending.code, value='posted' if existing.phase == 'post' else 'voided')
    now = now or timezone.now()
    legs = list(Posting.objects.filter(transfer=pending, effect="pending").select_related("account"))
    rows = [(p.account, p.amount, "release") for p in legs]
    if post:
        rows += [(p.account, p.amount, "posted") for p in legs]
    _lock_and_check(rows)
    try:
        transfer = Transfer.objects.create(code=code, phase="post" if post else "void", purpose=pending.purpose,
                                           pending=pending, amount_fen=pending.amount_fen, lot=pending.lot,
                                           actor=actor, memo=memo[:300], created_at=now)
    except IntegrityError:
        raise Conflict(_("transfer %(code)s was already resolved"), code=pending.code) from None
    _insert([Posting(transfer=transfer, account=acc, effect=eff, amount=amt) for acc, amt, eff in rows])
    _record(transfer, legs=[(acc, eff, amt) for acc, amt, eff in rows], lot=pending.lot, actor=actor, now=now,
            extra=audit_payload)
    return transfer


def _lock_and_check(rows: list[tuple[Account, int, str]]) -> None:
    """Lock every tracked account touched (id order) and refuse a leg that would make one negative."""
    ids = sorted({acc.pk for acc, _, _ in rows if acc.kind != "bank"})
    locked = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    for acc_id in ids:
        acc = locked[acc_id]
        state = ledger.Account(str(acc.pk), ledger.Kind(acc.kind), acc.debits_posted, acc.credits_posted,
                               acc.debits_pending, acc.credits_pending)
        for a, amount, effect in rows:
            if a.pk != acc_id:
                continue
            side = "debits" if amount > 0 else "credits"
            if effect == "release":
                setattr(state, f"{side}_pending", getattr(state, f"{side}_pending") - abs(amount))
            else:
                name = f"{side}_{'pending' if effect == 'pending' else 'posted'}"
                setattr(state, name, getattr(state, name) + abs(amount))
        if ledger.breaks_limit(state):
            label = acc.number or acc.kind
            raise Conflict(_("account %(label)s does not hold enough money: available %(available_fen)s fen"), label=label, available_fen=acc.available_fen)
        # keep the caller's instance fresh
        for a, _leg, _label in rows:
            if a.pk == acc_id:
                for f in ("debits_posted", "credits_posted", "debits_pending", "credits_pending", "status"):
                    setattr(a, f, getattr(acc, f))


def posting_order(postings: list[Posting]) -> list[Posting]:
    """The order postings are inserted in: by account, release before posted for the same account, so the
    immediate CHECK never sees a transient overdraft."""
    return sorted(postings, key=lambda p: (p.account_id, EFFECT_ORDER[p.effect]))


def _insert(postings: list[Posting]) -> None:
    postings = posting_order(postings)
    try:
        Posting.objects.bulk_create(postings)
    except IntegrityError as exc:  # the database refused what the checks above let through
        # the database's own words stay in the log; the answer names the ledger rule (the constraint) it broke
        rule = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or "?"
        log.warning("the ledger refused a transfer: %s", str(exc).splitlines()[0] if str(exc) else exc)
        raise Conflict(_("the ledger refused the transfer (database rule %(rule)s)"), rule=rule) from None


def _record(transfer: Transfer, *, legs, lot, actor, now, extra: dict | None, visibility: str | None = None,
            action: str = "deposit.transfer", subject: str | None = None) -> None:
    audit.record(**transfer_event(transfer, legs=legs, lot=lot, actor=actor, now=now, extra=extra,
                                  visibility=visibility, action=action, subject=subject))


def transfer_event(transfer: Transfer, *, legs, lot, actor, now, extra: dict | None, visibility: str | None = None,
                   action: str = "deposit.transfer", subject: str | None = None) -> dict:
    """The audit event of a transfer (the fields of ``audit.record``): every path that writes a transfer
    describes it with this, whether through ``audit.record`` or the audit app's batch statement."""
    payload = {
        "transfer": transfer.pk, "code": transfer.code, "phase": transfer.phase, "purpose": transfer.purpose,
        "pending": transfer.pending_id, "amount_fen": transfer.amount_fen, "lot": transfer.lot_id,
        "memo": transfer.memo,
        "legs": [{"account": acc.pk, "kind": acc.kind, "number": acc.number, "effect": eff, "amount": amt}
                 for acc, eff, amt in legs],
    }
    if extra:
        payload.update(extra)
    return {"action": action, "subject": (subject or f"transfer:{transfer.code}")[:100], "actor": actor,
            "project_id": lot.project_id if lot is not None else None,
            "visibility": visibility or _visibility(lot, now), "payload": payload, "at": now}
