"""Pure double-entry rules of the unified deposit account (no database, no Django).

The shape follows TigerBeetle:

* An **account** has four counters, all non-negative integers of fen: ``debits_posted``,
  ``credits_posted``, ``debits_pending``, ``credits_pending``.  The centre's bank account is an
  asset (debit-normal); every other account (deposit sub-accounts, suspense, forfeited income,
  converted securities, interest) is a liability or income account (credit-normal) and carries the
  flag "debits must not exceed credits": its balance can never go below zero, counting the money
  already reserved by pending transfers.
* A **transfer** is a list of legs ``(account, amount)`` with amount in signed fen: positive is a
  debit, negative a credit.  The legs of every transfer sum to zero, every amount is a non-zero
  integer, and an account appears at most once per transfer.
* Two-phase transfers: a *pending* transfer reserves its amounts (the ``*_pending`` counters);
  exactly one of *post* (the money moves: pending released, posted added) or *void* (pending
  released, nothing moves) may follow, at most once.  A frozen deposit is refunded, forfeited or
  converted through such a pending transfer, so each of those happens at most once.
* Postings are immutable: a correction is a new, reversing transfer (:func:`reversal`).

Invariant (checked by :meth:`Ledger.check_invariants` and by the property tests)::

    bank balance (posted) == sum of the posted balances of all credit-normal accounts

i.e. deposit sub-accounts + suspense + forfeited + converted + interest = what the bank holds.

The database layer (``deposits.models`` + triggers) enforces the same rules again; this module is the
specification, and services call :func:`validate_legs` before touching the database.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

MAX_AMOUNT = 10**17  # same ceiling as trading.money.MAX_FEN


class Kind(str, enum.Enum):
    BANK = "bank"  # the centre's unified bank account (asset, debit-normal)
    DEPOSIT = "deposit"  # one per bidder x lot registration (liability)
    SUSPENSE = "suspense"  # money received that matched nothing (liability)
    FORFEITED = "forfeited"  # forfeited securities (income)
    CONVERTED = "converted"  # securities converted to a performance bond / part of the price (liability)
    INTEREST = "interest"  # interest credited by the bank (income/liability to depositors)


DEBIT_NORMAL = frozenset({Kind.BANK})


def normal_sign(kind: Kind) -> int:
    """+1 for debit-normal (asset) accounts, -1 for credit-normal ones."""
    return 1 if Kind(kind) in DEBIT_NORMAL else -1


class Phase(str, enum.Enum):
    POSTED = "posted"  # an ordinary (single-phase) transfer
    PENDING = "pending"  # reserves amounts
    POST = "post"  # completes a pending transfer
    VOID = "void"  # cancels a pending transfer


class LedgerError(Exception):
    """A rule of the ledger was broken; ``code`` is stable (used by callers and tests)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Leg:
    account: str
    amount: int  # + debit, - credit, fen


@dataclass
class Account:
    id: str
    kind: Kind
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def balance(self) -> int:
        """Posted balance on the account's normal side (>= 0 for a healthy account)."""
        return normal_sign(self.kind) * (self.debits_posted - self.credits_posted)

    @property
    def available(self) -> int:
        """What may still leave the account: posted balance minus what pending transfers reserved."""
        if normal_sign(self.kind) < 0:
            return self.credits_posted - self.debits_posted - self.debits_pending
        return self.debits_posted - self.credits_posted - self.credits_pending

    @property
    def pending_in(self) -> int:
        return self.credits_pending if normal_sign(self.kind) < 0 else self.debits_pending

    @property
    def pending_out(self) -> int:
        return self.debits_pending if normal_sign(self.kind) < 0 else self.credits_pending


def validate_legs(legs: Sequence[Leg] | Sequence[tuple[str, int]]) -> tuple[Leg, ...]:
    """Check the shape rules of a transfer and return the legs as :class:`Leg` objects.

    Raises :class:`LedgerError` for: fewer than two legs, non-integer or zero amounts, amounts out of
    range, the same account twice, legs not summing to zero."""
    out: list[Leg] = []
    for leg in legs:
        if not isinstance(leg, Leg):
            account, amount = leg
            leg = Leg(account, amount)
        if isinstance(leg.amount, bool) or not isinstance(leg.amount, int):
            raise LedgerError("not_integer", f"amount {leg.amount!r} on {leg.account} is not an integer number of fen")
        if leg.amount == 0:
            raise LedgerError("zero_amount", f"leg on {leg.account} has a zero amount")
        if abs(leg.amount) >= MAX_AMOUNT:
            raise LedgerError("too_large", f"amount on {leg.account} is out of range")
        out.append(leg)
    if len(out) < 2:
        raise LedgerError("too_few_legs", "a transfer needs at least two legs")
    accounts = [leg.account for leg in out]
    if len(set(accounts)) != len(accounts):
        raise LedgerError("duplicate_account", "an account appears twice in one transfer")
    total = sum(leg.amount for leg in out)
    if total != 0:
        raise LedgerError("unbalanced", f"legs do not balance: debits - credits = {total}")
    return tuple(out)


def simple(debit: str, credit: str, amount: int) -> tuple[Leg, Leg]:
    """Two legs moving ``amount`` fen: debit one account, credit the other."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise LedgerError("not_integer", f"amount {amount!r} is not an integer number of fen")
    if amount <= 0:
        raise LedgerError("zero_amount" if amount == 0 else "negative_amount", "amount must be a positive number of fen")
    return (Leg(debit, amount), Leg(credit, -amount))


def reversal(legs: Iterable[Leg]) -> tuple[Leg, ...]:
    """The legs of the transfer that undoes ``legs`` (postings are never edited)."""
    return tuple(Leg(leg.account, -leg.amount) for leg in legs)


def counter_deltas(leg: Leg, phase: Phase) -> dict[str, int]:
    """How one leg changes the four counters of its account in the given phase.

    ``POST`` here means the leg is the *posted* side of completing a pending transfer; the release
    of the pending side is computed with ``release=True`` via :func:`release_deltas`."""
    side = "debits" if leg.amount > 0 else "credits"
    if phase in (Phase.POSTED, Phase.POST):
        return {f"{side}_posted": abs(leg.amount)}
    if phase is Phase.PENDING:
        return {f"{side}_pending": abs(leg.amount)}
    return {}


def release_deltas(leg: Leg) -> dict[str, int]:
    side = "debits" if leg.amount > 0 else "credits"
    return {f"{side}_pending": -abs(leg.amount)}


def breaks_limit(acc: Account) -> bool:
    """True when the account would violate its balance flag (negative available balance)."""
    if min(acc.debits_posted, acc.credits_posted, acc.debits_pending, acc.credits_pending) < 0:
        return True
    return acc.available < 0


@dataclass(frozen=True)
class Transfer:
    id: str
    legs: tuple[Leg, ...]
    phase: Phase
    pending_id: str | None = None  # for POST / VOID

    @property
    def amount(self) -> int:
        return sum(leg.amount for leg in self.legs if leg.amount > 0)


@dataclass
class Ledger:
    """An in-memory ledger applying the rules; the reference model for the database ledger."""

    accounts: dict[str, Account] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    resolved: dict[str, str] = field(default_factory=dict)  # pending id -> post/void transfer id
    # the bank account, if any, is not protected against going negative through ordinary transfers
    # (it cannot: every credit to it debits a liability that cannot go negative), but we check anyway.

    def open_account(self, account_id: str, kind: Kind) -> Account:
        if account_id in self.accounts:
            existing = self.accounts[account_id]
            if existing.kind is not Kind(kind):
                raise LedgerError("account_exists", f"account {account_id} exists with kind {existing.kind.value}")
            return existing
        acc = Account(account_id, Kind(kind))
        self.accounts[account_id] = acc
        return acc

    # --- operations -------------------------------------------------------------------------
    def transfer(self, transfer_id: str, legs: Sequence[Leg] | Sequence[tuple[str, int]], *, pending: bool = False) -> Transfer:
        checked = validate_legs(legs)
        phase = Phase.PENDING if pending else Phase.POSTED
        if transfer_id in self.transfers:
            return self._same_or_conflict(transfer_id, Transfer(transfer_id, checked, phase))
        self._apply(checked, lambda leg: counter_deltas(leg, phase))
        tr = Transfer(transfer_id, checked, phase)
        self.transfers[transfer_id] = tr
        return tr

    def post(self, transfer_id: str, pending_id: str) -> Transfer:
        return self._resolve(transfer_id, pending_id, Phase.POST)

    def void(self, transfer_id: str, pending_id: str) -> Transfer:
        return self._resolve(transfer_id, pending_id, Phase.VOID)

    def _resolve(self, transfer_id: str, pending_id: str, phase: Phase) -> Transfer:
        pend = self.transfers.get(pending_id)
        if pend is None:
            raise LedgerError("pending_not_found", f"pending transfer {pending_id} does not exist")
        if pend.phase is not Phase.PENDING:
            raise LedgerError("not_pending", f"transfer {pending_id} is not a pending transfer")
        wanted = Transfer(transfer_id, pend.legs, phase, pending_id)
        if transfer_id in self.transfers:
            return self._same_or_conflict(transfer_id, wanted)
        done = self.resolved.get(pending_id)
        if done is not None:
            word = "posted" if self.transfers[done].phase is Phase.POST else "voided"
            raise LedgerError(f"pending_already_{word}", f"pending transfer {pending_id} was already {word}")

        def deltas(leg: Leg) -> dict[str, int]:
            d = release_deltas(leg)
            if phase is Phase.POST:
                for k, v in counter_deltas(leg, Phase.POST).items():
                    d[k] = d.get(k, 0) + v
            return d

        self._apply(pend.legs, deltas)
        self.transfers[transfer_id] = wanted
        self.resolved[pending_id] = transfer_id
        return wanted

    def _same_or_conflict(self, transfer_id: str, wanted: Transfer) -> Transfer:
        existing = self.transfers[transfer_id]
        if existing != wanted:
            raise LedgerError("exists_with_different_fields", f"transfer {transfer_id} already exists with other fields")
        return existing  # idempotent: the same request twice moves the money once

    def _apply(self, legs: Sequence[Leg], deltas: Callable[[Leg], dict[str, int]]) -> None:
        staged: dict[str, Account] = {}
        for leg in legs:
            acc = self.accounts.get(leg.account)
            if acc is None:
                raise LedgerError("unknown_account", f"account {leg.account} does not exist")
            new = staged.get(leg.account) or Account(**acc.__dict__)
            for name, delta in deltas(leg).items():
                setattr(new, name, getattr(new, name) + delta)
            staged[leg.account] = new
        for acc in staged.values():
            if breaks_limit(acc):
                raise LedgerError(
                    "insufficient_funds",
                    f"account {acc.id} would go negative (available {self.accounts[acc.id].available} fen)",
                )
        # all checks passed: commit atomically
        for acc in staged.values():
            self.accounts[acc.id] = acc

    # --- reading ----------------------------------------------------------------------------
    def balance(self, account_id: str) -> int:
        return self.accounts[account_id].balance

    def pending_ids(self) -> list[str]:
        return [t.id for t in self.transfers.values() if t.phase is Phase.PENDING and t.id not in self.resolved]

    def check_invariants(self) -> None:
        """Raise AssertionError when any ledger invariant is broken."""
        total_posted = {"d": 0, "c": 0}
        for acc in self.accounts.values():
            assert not breaks_limit(acc), f"account {acc.id} is negative: {acc}"
            total_posted["d"] += acc.debits_posted
            total_posted["c"] += acc.credits_posted
        assert total_posted["d"] == total_posted["c"], "posted debits != posted credits"
        assert_balanced(self.accounts.values())
        # pending counters equal what unresolved pending transfers reserve
        expect: dict[str, dict[str, int]] = {a: {"debits_pending": 0, "credits_pending": 0} for a in self.accounts}
        for tid in self.pending_ids():
            for leg in self.transfers[tid].legs:
                for k, v in counter_deltas(leg, Phase.PENDING).items():
                    expect[leg.account][k] += v
        for aid, acc in self.accounts.items():
            assert acc.debits_pending == expect[aid]["debits_pending"], f"pending debits drift on {aid}"
            assert acc.credits_pending == expect[aid]["credits_pending"], f"pending credits drift on {aid}"
        # every transfer balances
        for tr in self.transfers.values():
            assert sum(leg.amount for leg in tr.legs) == 0


def assert_balanced(accounts: Iterable[Account]) -> None:
    """bank balance == sum of the credit-normal accounts' balances (the unified-account invariant)."""
    bank = 0
    liabilities = 0
    for acc in accounts:
        if normal_sign(acc.kind) > 0:
            bank += acc.balance
        else:
            liabilities += acc.balance
    assert bank == liabilities, f"bank balance {bank} != sub-accounts + suspense + others {liabilities}"


def bank_balance_from(balances: Mapping[Kind, int]) -> int:
    """Derive the bank balance from the balances of all credit-normal accounts (no hot bank row)."""
    return sum(v for k, v in balances.items() if normal_sign(k) < 0)
