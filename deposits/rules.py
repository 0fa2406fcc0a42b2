"""Pure deposit rules: security amount, working-day refund due dates, payment matching decisions.

No database, no Django models.  ``trading.workdays`` is the platform's calendar; when it is
importable its settings-driven holidays are used, otherwise the pure helper below is.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

REFUND_WORKING_DAYS = 5


def add_working_days(start: date, n: int, *, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> date:
    """The date ``n`` working days after ``start`` (``start`` itself is not counted).

    Saturdays and Sundays are rest days unless listed in ``workdays`` (调休 make-up days);
    dates in ``holidays`` are rest days."""
    if n < 0:
        raise ValueError("n must be >= 0")
    hol = set(holidays)
    work = set(workdays)
    d = start
    left = n
    while left > 0:
        d += timedelta(days=1)
        if is_working_day(d, hol, work):
            left -= 1
    return d


def is_working_day(d: date, holidays: set[date] | frozenset[date] = frozenset(),
                   workdays: set[date] | frozenset[date] = frozenset()) -> bool:
    if d in workdays:
        return True
    if d in holidays:
        return False
    return d.weekday() < 5


def refund_due(event_day: date, *, working_days: int = REFUND_WORKING_DAYS) -> date:
    """Due date of a refund: ``working_days`` working days after the triggering event (result notice,
    contract signature, withdrawal). Uses trading.workdays (settings holidays) when available."""
    try:
        from trading.workdays import add_working_days as platform_add  # type: ignore
    except ImportError:  # pragma: no cover - before trading.workdays exists
        return add_working_days(event_day, working_days)
    return platform_add(event_day, working_days)


def security_amount(*, estimate_fen: int | None, fixed_fen: int | None = None, rate_bp: int | None = None,
                    cap_bp: int | None = None, cap_fen: int | None = None) -> int:
    """Security (保证金) of a lot: a fixed amount, or ``rate_bp`` basis points of the estimate
    (rounded down to whole yuan), capped at ``cap_bp`` of the estimate and at ``cap_fen``.

    Raises ValueError when a fixed amount exceeds the cap (the rules table forbids it)."""
    if fixed_fen is None and rate_bp is None:
        return 0
    if fixed_fen is not None:
        if fixed_fen < 0:
            raise ValueError("security must not be negative")
        amount = fixed_fen
    else:
        if estimate_fen is None or estimate_fen <= 0:
            raise ValueError("a proportional security needs a positive estimated price")
        if rate_bp is None or rate_bp <= 0:
            raise ValueError("rate must be positive")
        amount = (estimate_fen * rate_bp // 10_000) // 100 * 100
    limits = []
    if cap_bp is not None and estimate_fen:
        limits.append(estimate_fen * cap_bp // 10_000)
    if cap_fen is not None:
        limits.append(cap_fen)
    if limits and amount > min(limits):
        if fixed_fen is not None:
            raise ValueError(f"security {amount} fen exceeds the legal cap of {min(limits)} fen")
        amount = min(limits)
    return amount


class Reason(str, enum.Enum):
    """Why money went to suspense (挂账) instead of a sub-account."""

    UNKNOWN_SUB_ACCOUNT = "unknown_sub_account"
    WRONG_AMOUNT = "wrong_amount"
    LATE = "late"
    WRONG_PAYER = "wrong_payer"
    ALREADY_PAID = "already_paid"
    CLOSED = "closed"  # registration withdrawn / sub-account closed


REASON_TEXT = {
    Reason.UNKNOWN_SUB_ACCOUNT: "no registration has this virtual sub-account number",
    Reason.WRONG_AMOUNT: "the amount differs from the required security",
    Reason.LATE: "paid after the deposit deadline",
    Reason.WRONG_PAYER: "paid from an account of a different company than the registered bidder",
    Reason.ALREADY_PAID: "the security for this registration was already paid",
    Reason.CLOSED: "the sub-account is no longer accepting money",
}


@dataclass(frozen=True)
class Expectation:
    """What a sub-account expects: used by :func:`match_payment`."""

    exists: bool
    required_fen: int = 0
    already_fen: int = 0
    open: bool = True
    deadline_passed: bool = False
    bidder_name: str = ""
    bidder_credit_code: str = ""
    known_payer_accounts: frozenset[str] = frozenset()


def expectation_of(acc: Any, booked_at: datetime) -> Expectation:
    """What the sub-account ``acc`` (a deposit Account with its lot and bidder, or None) expects of a payment
    the bank booked at ``booked_at``. Duck-typed: no models here."""
    if acc is None:
        return Expectation(exists=False)
    in_time = booked_at < acc.lot.bid_deadline
    return Expectation(
        exists=True, required_fen=acc.required_fen, already_fen=acc.balance_fen,
        # frozen, or closed at the deadline for non-payment (frozen_at set): money the bank booked before the
        # deadline still counts -- a late notification must not cost the bidder its bid
        open=acc.status == "open" or (acc.status in ("frozen", "closed") and acc.frozen_at is not None and in_time),
        deadline_passed=not in_time, bidder_name=acc.bidder.name,
        known_payer_accounts=frozenset(a for a in [acc.bidder.bank_account.replace(" ", "")] if a),
    )


def _norm_name(name: str) -> str:
    return "".join(name.split()).replace("（", "(").replace("）", ")")


def match_payment(*, amount_fen: int, payer_name: str, payer_account: str, expect: Expectation) -> Reason | None:
    """None when the payment settles the sub-account's security; otherwise why it goes to suspense.

    Order of checks: unknown sub-account, late, closed, wrong payer, already paid, wrong amount."""
    if not expect.exists:
        return Reason.UNKNOWN_SUB_ACCOUNT
    if expect.deadline_passed:
        return Reason.LATE
    if not expect.open:
        return Reason.CLOSED
    payer_ok = _norm_name(payer_name) == _norm_name(expect.bidder_name) or (
        payer_account and payer_account in expect.known_payer_accounts)
    if not payer_ok:
        return Reason.WRONG_PAYER
    if expect.already_fen >= expect.required_fen > 0:
        return Reason.ALREADY_PAID
    if expect.already_fen + amount_fen != expect.required_fen:
        return Reason.WRONG_AMOUNT
    return None
