"""The rules table (pure): completeness, legal numbers, basis texts, unknown kinds/methods."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.errors import Invalid
from trading.rules import KINDS, METHODS, PATHS, RULES, Rule, rule_for, security_cap_fen

# The pairs DESIGN.md §1 names (kind → typical methods); every one must have a rule.
DESIGN_PAIRS = {
    ("engineering", "open_tender"), ("engineering", "invited_tender"),
    ("procurement", "open_tender"), ("procurement", "competitive_negotiation"), ("procurement", "inquiry"),
    ("land", "open_tender"), ("land", "auction"), ("land", "listing"),
    ("asset", "auction"), ("asset", "listing"),
}


def test_design_pairs_all_have_rules():
    assert DESIGN_PAIRS <= set(RULES)


@pytest.mark.parametrize("pair", sorted(RULES), ids=lambda p: f"{p[0]}-{p[1]}")
def test_every_rule_is_complete_and_explained(pair):
    kind, method = pair
    rule = RULES[pair]
    assert rule_for(kind, method) is rule
    assert (rule.kind, rule.method) == pair
    assert rule.path in PATHS
    assert rule.path == ("tender" if method not in ("auction", "listing") else method)
    assert rule.min_notice_days > 0
    assert rule.basis.get("min_notice_days", "").strip(), "notice period needs its legal basis"
    assert "security_cap_bp" in rule.basis
    if rule.amendment_min_days:
        assert rule.basis.get("amendment_min_days", "").strip()
    if rule.doc_period_min_days:
        assert rule.basis.get("doc_period_min_days", "").strip()
    if rule.objection_days_before_deadline:
        assert rule.basis.get("objection_days_before_deadline", "").strip()
    if rule.listing_min_days:
        assert rule.basis.get("listing_min_days", "").strip()
    if rule.path == "tender":
        assert rule.evaluation_methods and rule.min_valid_bids >= 3
        assert rule.listing_min_days == 0
    else:
        assert rule.auction_closing_rules and rule.min_valid_bids >= 1
    if rule.path == "listing":
        assert rule.listing_min_days >= 10
    assert rule.fees and all(name and text for name, text in rule.fees)
    assert all(text.strip() for text in rule.basis.values())
    assert rule.committee_min % 2 == 1
    assert rule.label.startswith(KINDS[kind][0])


@pytest.mark.parametrize("kind", ["engineering", "procurement"])
def test_open_tender_notice_is_twenty_days_and_amendment_fifteen(kind):
    rule = rule_for(kind, "open_tender")
    assert rule.min_notice_days == 20 and rule.amendment_min_days == 15
    assert rule.doc_period_min_days == 5 and rule.objection_days_before_deadline == 10
    assert "二十日" in rule.basis["min_notice_days"] and "十五日" in rule.basis["amendment_min_days"]


def test_auction_notice_asset_seven_land_twenty():
    assert rule_for("asset", "auction").min_notice_days == 7
    assert "七日" in rule_for("asset", "auction").basis["min_notice_days"]
    assert rule_for("land", "auction").min_notice_days == 20
    assert "20日" in rule_for("land", "auction").basis["min_notice_days"]


def test_listing_at_least_ten_days():
    for kind in ("land", "asset"):
        assert rule_for(kind, "listing").listing_min_days >= 10


@pytest.mark.parametrize("kind", ["mining", "", "Engineering", None, "auction"])
def test_unknown_kind(kind):
    with pytest.raises(Invalid) as info:
        rule_for(kind, "open_tender")
    assert info.value.field == "kind"
    assert "unknown project kind" in info.value.message and "engineering" in info.value.message


@pytest.mark.parametrize("method", ["lottery", "", "OPEN_TENDER", None, "land"])
def test_unknown_method(method):
    with pytest.raises(Invalid) as info:
        rule_for("engineering", method)
    assert info.value.field == "method"
    assert "unknown method" in info.value.message and "open_tender" in info.value.message


@pytest.mark.parametrize("pair", sorted({(k, m) for k in KINDS for m in METHODS} - set(RULES)),
                         ids=lambda p: f"{p[0]}-{p[1]}")
def test_pairs_not_allowed_are_refused_with_the_allowed_list(pair):
    kind, method = pair
    with pytest.raises(Invalid) as info:
        rule_for(kind, method)
    assert f"not used for {kind}" in info.value.message
    allowed = [m for (k, m) in RULES if k == kind]
    assert allowed and all(m in info.value.message for m in allowed)


def test_rules_are_frozen():
    rule = rule_for("engineering", "open_tender")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.min_notice_days = 1  # type: ignore[misc]
    assert isinstance(rule, Rule)


@given(st.sampled_from(sorted(RULES)), st.integers(min_value=0, max_value=10**15))
def test_security_cap(pair, estimate):
    rule = RULES[pair]
    cap = security_cap_fen(rule, estimate)
    assert 0 <= cap <= estimate * rule.security_cap_bp // 10000
    if rule.security_cap_fen is not None:
        assert cap <= rule.security_cap_fen


def test_engineering_security_cap_is_two_percent_and_800k():
    rule = rule_for("engineering", "open_tender")
    assert security_cap_fen(rule, 10_000_000) == 200_000  # 2 % of ¥100,000
    assert security_cap_fen(rule, 10**12) == 80_000_000  # capped at ¥800,000
