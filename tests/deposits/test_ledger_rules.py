"""Property tests of the pure ledger rules (no database)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from deposits.ledger import Kind, Leg, Ledger, LedgerError, Phase, reversal, simple, validate_legs

BANK = "bank"
SUSPENSE = "suspense"
FORFEITED = "forfeited"
CONVERTED = "converted"
INTEREST = "interest"


def fresh(n_subs: int = 3) -> Ledger:
    led = Ledger()
    led.open_account(BANK, Kind.BANK)
    for name, kind in ((SUSPENSE, Kind.SUSPENSE), (FORFEITED, Kind.FORFEITED), (CONVERTED, Kind.CONVERTED),
                       (INTEREST, Kind.INTEREST)):
        led.open_account(name, kind)
    for i in range(n_subs):
        led.open_account(f"sub{i}", Kind.DEPOSIT)
    return led


def test_deposit_refund_two_phase():
    led = fresh()
    led.transfer("t1", simple(BANK, "sub0", 5000))
    assert led.balance(BANK) == 5000 and led.balance("sub0") == 5000
    led.transfer("r1", simple("sub0", BANK, 5000), pending=True)
    assert led.accounts["sub0"].available == 0
    assert led.balance("sub0") == 5000  # posted balance unchanged until the bank confirms
    with pytest.raises(LedgerError) as e:  # a second outcome (forfeit) is impossible while refund pending
        led.transfer("f1", simple("sub0", FORFEITED, 5000), pending=True)
    assert e.value.code == "insufficient_funds"
    led.post("r1p", "r1")
    assert led.balance("sub0") == 0 and led.balance(BANK) == 0
    with pytest.raises(LedgerError) as e:
        led.void("r1v", "r1")
    assert e.value.code == "pending_already_posted"
    led.check_invariants()


def test_void_releases_and_idempotent_transfer():
    led = fresh()
    led.transfer("t1", simple(BANK, "sub1", 700))
    assert led.transfer("t1", simple(BANK, "sub1", 700)).id == "t1"  # same request twice: once
    assert led.balance("sub1") == 700
    with pytest.raises(LedgerError) as e:
        led.transfer("t1", simple(BANK, "sub1", 701))
    assert e.value.code == "exists_with_different_fields"
    led.transfer("p", simple("sub1", FORFEITED, 700), pending=True)
    led.void("v", "p")
    assert led.accounts["sub1"].available == 700
    with pytest.raises(LedgerError) as e:
        led.post("pp", "p")
    assert e.value.code == "pending_already_voided"
    led.check_invariants()


@pytest.mark.parametrize("legs,code", [
    ([("bank", 1), ("sub0", -2)], "unbalanced"),
    ([("bank", 0), ("sub0", 0)], "zero_amount"),
    ([("bank", 1.5), ("sub0", -1.5)], "not_integer"),
    ([("bank", 1)], "too_few_legs"),
    ([("bank", 1), ("bank", -1)], "duplicate_account"),
    ([("bank", True), ("sub0", -1)], "not_integer"),
])
def test_bad_legs(legs, code):
    with pytest.raises(LedgerError) as e:
        validate_legs(legs)
    assert e.value.code == code


def test_failed_transfer_changes_nothing():
    led = fresh()
    led.transfer("t1", simple(BANK, "sub0", 100))
    before = {k: v.__dict__.copy() for k, v in led.accounts.items()}
    with pytest.raises(LedgerError):
        led.transfer("t2", [Leg("sub0", 300), Leg("sub1", -100), Leg(BANK, -200)])  # sub0 would go negative
    with pytest.raises(LedgerError):
        led.transfer("t3", [Leg(BANK, 100), Leg("nope", -100)])
    assert {k: v.__dict__ for k, v in led.accounts.items()} == before
    assert set(led.transfers) == {"t1"}


def test_reversal_restores_balances():
    led = fresh()
    legs = simple(BANK, "sub2", 12345)
    led.transfer("t", legs)
    led.transfer("t-rev", reversal(legs))
    assert led.balance("sub2") == 0 and led.balance(BANK) == 0
    led.check_invariants()


amounts = st.integers(min_value=1, max_value=10**9)
subs = st.sampled_from(["sub0", "sub1", "sub2"])
liab = st.sampled_from(["sub0", "sub1", "sub2", SUSPENSE, FORFEITED, CONVERTED, INTEREST])


class LedgerMachine(RuleBasedStateMachine):
    """Any sequence of operations keeps every transfer balanced, no account negative and
    bank balance == sum of sub-accounts + suspense + other liabilities."""

    def __init__(self):
        super().__init__()
        self.led = fresh()
        self.n = 0
        self.model_bank = 0

    def _id(self) -> str:
        self.n += 1
        return f"t{self.n}"

    def _try(self, fn, *args, **kw):
        snapshot = {k: v.__dict__.copy() for k, v in self.led.accounts.items()}
        count = len(self.led.transfers)
        try:
            return fn(*args, **kw)
        except LedgerError:
            # a refused operation changes nothing
            assert {k: v.__dict__ for k, v in self.led.accounts.items()} == snapshot
            assert len(self.led.transfers) == count
            return None

    @rule(to=liab, amount=amounts)
    def receive(self, to, amount):  # money arrives from outside into the bank
        if self._try(self.led.transfer, self._id(), simple(BANK, to, amount)):
            self.model_bank += amount

    @rule(src=liab, dst=liab, amount=amounts)
    def move(self, src, dst, amount):  # assign suspense, forfeit, convert...
        if src != dst:
            self._try(self.led.transfer, self._id(), simple(src, dst, amount))

    @rule(src=liab, amount=amounts, pending=st.booleans())
    def pay_out(self, src, amount, pending):  # refund / return to payer
        tr = self._try(self.led.transfer, self._id(), simple(src, BANK, amount), pending=pending)
        if tr is not None and not pending:
            self.model_bank -= amount

    @rule(src=subs, dst=st.sampled_from([FORFEITED, CONVERTED, BANK]), amount=amounts)
    def reserve(self, src, dst, amount):
        self._try(self.led.transfer, self._id(), simple(src, dst, amount), pending=True)

    @precondition(lambda self: self.led.pending_ids())
    @rule(data=st.data(), post=st.booleans())
    def resolve(self, data, post):
        pid = data.draw(st.sampled_from(self.led.pending_ids()))
        tr = self.led.transfers[pid]
        if post:
            self.led.post(self._id(), pid)
            bank_leg = next((leg.amount for leg in tr.legs if leg.account == BANK), 0)
            self.model_bank += bank_leg
        else:
            self.led.void(self._id(), pid)

    @rule(data=st.data(), post=st.booleans())
    def resolve_twice(self, data, post):
        done = list(self.led.resolved)
        if done:
            pid = data.draw(st.sampled_from(done))
            with pytest.raises(LedgerError):
                (self.led.post if post else self.led.void)(self._id(), pid)

    @rule(amount=st.integers(min_value=-5, max_value=5))
    def garbage(self, amount):
        # zero/unbalanced/unknown account transfers are always refused
        self._try(self.led.transfer, self._id(), [Leg(BANK, amount), Leg("sub0", -amount - 1)])
        self._try(self.led.transfer, self._id(), [Leg(BANK, 5), Leg("ghost", -5)])

    @invariant()
    def invariants(self):
        self.led.check_invariants()
        assert self.led.balance(BANK) == self.model_bank
        for tr in self.led.transfers.values():
            assert sum(leg.amount for leg in tr.legs) == 0
            if tr.phase in (Phase.POST, Phase.VOID):
                assert self.led.resolved[tr.pending_id] == tr.id


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


@given(st.lists(st.tuples(subs, amounts), min_size=1, max_size=30))
def test_bank_equals_sum_of_liabilities(payments):
    led = fresh()
    for i, (sub, amount) in enumerate(payments):
        led.transfer(f"p{i}", simple(BANK, sub, amount))
    assert led.balance(BANK) == sum(led.balance(s) for s in ("sub0", "sub1", "sub2"))
    led.check_invariants()
