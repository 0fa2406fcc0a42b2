"""The transaction confirmation's document (pure, no database): its hash commits to every field."""
from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.canonical import canonical_bytes
from bidding.auction import confirmation as C


def make(**kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(project={"code": "SL-1", "title": "地块"}, lot={"number": 1, "title": "宗地"}, transferor="市自然资源局",
                centre="交易中心", winner={"name": "甲公司", "credit_code": "91330100MA0000000X", "number": "0007"},
                price_fen=3_250_000_000, price="32500000.00", closed_at="2026-03-02T01:00:00Z",
                issued_at="2026-03-02T02:00:00Z", contract_due_on="2026-03-16", security_converted_fen=640_000_000,
                security_converted="6400000.00", basis={"confirmation": "第二十一条", "sale_contract": "10个工作日"})
    args.update(kw)
    return C.document(**args)


def test_the_digest_is_sha256_of_the_canonical_json_and_the_body_names_it():
    doc = make()
    digest = C.digest(doc)
    assert digest == hashlib.sha256(canonical_bytes(doc)).hexdigest()
    body = C.body(doc, digest)
    assert digest in body and "甲公司" in body and "32500000.00" in body and "2026-03-16" in body and "第二十一条" in body
    # the close as people read it: Beijing time, the pages' one format (the document keeps UTC, as hashed)
    assert "成交时间：2026-03-02 09:00（北京时间）" in body and "T01:00:00Z" not in body
    assert doc["closed_at"] == "2026-03-02T01:00:00Z"


@given(price=st.integers(min_value=1, max_value=10**15), due=st.dates().map(str), number=st.from_regex(r"[0-9]{4,12}", fullmatch=True))
@settings(suppress_health_check=[HealthCheck.too_slow])  # from_regex draws slowly on a loaded machine; no timing is tested
def test_any_change_of_price_due_date_or_winner_changes_the_digest(price, due, number):
    base = make()
    changed = make(price_fen=price, contract_due_on=due,
                   winner={"name": "甲公司", "credit_code": "91330100MA0000000X", "number": number})
    assert (C.digest(changed) == C.digest(base)) == (changed == base)


def test_a_confirmation_needs_a_price():
    with pytest.raises(ValueError):
        make(price_fen=0)
