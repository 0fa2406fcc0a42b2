"""Pure tests: virtual sub-account numbers, working days, security amounts, payment matching, HMAC."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, strategies as st

from deposits import numbers, rules
from deposits.bank import signing

KEY = b"k" * 32
PREFIX = "8866"


@given(st.integers(min_value=0, max_value=numbers.SPACE - 1))
def test_permutation_roundtrip(seq):
    assert numbers.unpermute(numbers.permute(seq, KEY), KEY) == seq


def test_numbers_unique_and_checked():
    made = {numbers.make_number(PREFIX, i, KEY) for i in range(1, 3001)}
    assert len(made) == 3000
    for n in list(made)[:200]:
        assert len(n) == 17 and n.startswith(PREFIX)
        assert numbers.parse_number(numbers.group(n), PREFIX) == n
        assert numbers.sequence_of(n, PREFIX, KEY) in range(1, 3001)


@given(st.integers(min_value=1, max_value=10**9), st.data())
def test_check_digit_catches_single_errors_and_transpositions(seq, data):
    n = numbers.make_number(PREFIX, seq, KEY)
    i = data.draw(st.integers(min_value=0, max_value=len(n) - 1))
    d = data.draw(st.sampled_from([c for c in "0123456789" if c != n[i]]))
    assert not numbers.damm_valid(n[:i] + d + n[i + 1:])
    j = data.draw(st.integers(min_value=0, max_value=len(n) - 2))
    if n[j] != n[j + 1]:
        swapped = n[:j] + n[j + 1] + n[j] + n[j + 2:]
        assert not numbers.damm_valid(swapped)


def test_consecutive_numbers_do_not_reveal_order():
    a, b = (numbers.make_number(PREFIX, i, KEY) for i in (1, 2))
    assert abs(int(a[4:-1]) - int(b[4:-1])) > 1000
    assert numbers.make_number(PREFIX, 1, b"other-key") != a


def test_parse_number_rejects():
    n = numbers.make_number(PREFIX, 5, KEY)
    assert numbers.parse_number(n[:-1] + str((int(n[-1]) + 1) % 10), PREFIX) is None
    assert numbers.parse_number("9999" + n[4:], PREFIX) is None
    assert numbers.parse_number(n + "0", PREFIX) is None
    assert numbers.parse_number(None, PREFIX) is None  # type: ignore[arg-type]


def test_working_days():
    fri = date(2026, 10, 30)
    assert rules.add_working_days(fri, 1) == date(2026, 11, 2)
    assert rules.add_working_days(fri, 5) == date(2026, 11, 6)
    hol = {date(2026, 11, 2), date(2026, 11, 3)}
    assert rules.add_working_days(fri, 5, holidays=hol) == date(2026, 11, 10)
    assert rules.add_working_days(fri, 1, workdays={date(2026, 10, 31)}) == date(2026, 10, 31)
    # National day 2026: Oct 1-7 off, make-up Sat Oct 10
    hol = {date(2026, 10, d) for d in range(1, 8)}
    assert rules.add_working_days(date(2026, 9, 30), 5, holidays=hol, workdays={date(2026, 10, 10)}) == date(2026, 10, 13)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(min_value=1, max_value=30))
def test_working_days_properties(start, n):
    end = rules.add_working_days(start, n)
    assert end > start and end.weekday() < 5
    assert (end - start).days <= n + 2 * (n // 5 + 2)
    between = sum(1 for k in range(1, (end - start).days + 1)
                  if rules.is_working_day(date.fromordinal(start.toordinal() + k)))
    assert between == n


def test_security_amount():
    assert rules.security_amount(estimate_fen=100_000_000, rate_bp=200, cap_bp=200) == 2_000_000
    assert rules.security_amount(estimate_fen=100_000_000, rate_bp=500, cap_bp=200) == 2_000_000
    assert rules.security_amount(estimate_fen=123_456_789, rate_bp=150) == 1_851_800  # whole yuan, rounded down
    assert rules.security_amount(estimate_fen=None, fixed_fen=50_000) == 50_000
    with pytest.raises(ValueError):
        rules.security_amount(estimate_fen=1_000_000, fixed_fen=50_000, cap_bp=200)
    assert rules.security_amount(estimate_fen=1_000_000) == 0


def _exp(**kw):
    base: dict[str, Any] = dict(exists=True, required_fen=1000, bidder_name="甲建设有限公司", known_payer_accounts=frozenset({"6222"}))
    base.update(kw)
    return rules.Expectation(**base)


@pytest.mark.parametrize("kw,payer,amount,reason", [
    ({}, "甲建设有限公司", 1000, None),
    ({}, "someone", 1000, rules.Reason.WRONG_PAYER),
    ({}, "甲建设有限公司", 999, rules.Reason.WRONG_AMOUNT),
    ({"exists": False}, "甲建设有限公司", 1000, rules.Reason.UNKNOWN_SUB_ACCOUNT),
    ({"deadline_passed": True}, "甲建设有限公司", 1000, rules.Reason.LATE),
    ({"already_fen": 1000}, "甲建设有限公司", 1000, rules.Reason.ALREADY_PAID),
    ({"open": False}, "甲建设有限公司", 1000, rules.Reason.CLOSED),
])
def test_match_payment(kw, payer, amount, reason):
    assert rules.match_payment(amount_fen=amount, payer_name=payer, payer_account="x", expect=_exp(**kw)) == reason


def test_match_payment_by_known_account():
    assert rules.match_payment(amount_fen=1000, payer_name="甲公司财务", payer_account="6222", expect=_exp()) is None


def test_signing():
    body = b'{"txn":"1"}'
    sig = signing.sign(b"s", 1000, body)
    signing.verify(b"s", timestamp="1000", signature=sig, body=body, now=1010)
    for kw in (dict(body=b'{"txn":"2"}'), dict(signature="v1=00"), dict(timestamp="999"), dict(now=5000),
               dict(signature=None), dict(timestamp="abc")):
        args: dict[str, Any] = dict(timestamp="1000", signature=sig, body=body, now=1010)
        args.update(kw)
        with pytest.raises(signing.SignatureError):
            signing.verify(b"s", **args)
    with pytest.raises(signing.SignatureError):
        signing.verify(b"", timestamp="1000", signature=sig, body=body, now=1010)
