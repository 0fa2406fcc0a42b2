"""trading.money: one parser, one formatter (pure, no database)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.errors import Invalid
from trading.money import MAX_FEN, decimal_keys, format_fen, format_yuan_display, parse_money


@pytest.mark.parametrize(
    "text, fen",
    [("0", 0), ("0.00", 0), ("1", 100), ("1.5", 150), ("1.05", 105), ("1234.56", 123456), (" 12.30 ", 1230),
     ("99999999999999.99", 9999999999999999)],
)
def test_parses_decimal_strings(text, fen):
    assert parse_money(text) == fen


@pytest.mark.parametrize("value", [12, 0, 123456, -5, 1.5, 0.1, 100.0, float("nan"), float("inf"), True, False])
def test_refuses_numbers_naming_the_expected_form(value):
    """An integer (the old fen form, or whole yuan?) is ambiguous: refused, the message names the form."""
    with pytest.raises(Invalid) as info:
        parse_money(value, field="price")
    assert info.value.message == 'price: expected a decimal string like "1234.56", not a number'
    assert info.value.field == "price"


@pytest.mark.parametrize("value", [None, b"12", [1], {"a": 1}, object()])
def test_refuses_other_types(value):
    with pytest.raises(Invalid, match="decimal string"):
        parse_money(value)


@pytest.mark.parametrize("value", ["-1", "-0.01", " -5", "-0"])
def test_refuses_negatives(value):
    with pytest.raises(Invalid, match="negative"):
        parse_money(value)


@pytest.mark.parametrize("value", ["1.234", "0.001", "1.230", "12.3456789"])
def test_refuses_third_decimal(value):
    with pytest.raises(Invalid, match="two decimal places"):
        parse_money(value)


@pytest.mark.parametrize(
    "value",
    ["", " ", "abc", "1e3", "1E3", "1e-2", "0x10", "1,234.56", "１２", "١٢", "1.", ".5", "01", "+1", "NaN", "inf",
     "1 000", "12.5\n3", "¥12", "1.2.3", "−1"],
)
def test_refuses_non_numeric(value):
    with pytest.raises(Invalid) as info:
        parse_money(value)
    assert "amount" in info.value.message


def test_refuses_huge():
    with pytest.raises(Invalid, match="too large"):
        parse_money("9999999999999999")
    with pytest.raises(Invalid):
        parse_money("1" + "0" * 30)
    with pytest.raises(Invalid, match="decimal string"):
        parse_money(10**30)


def test_zero_can_be_refused_and_field_named():
    with pytest.raises(Invalid, match="greater than zero") as info:
        parse_money("0.00", field="budget", allow_zero=False)
    assert info.value.field == "budget"
    assert info.value.message.startswith("budget:")


@given(st.integers(min_value=0, max_value=MAX_FEN - 1))
def test_round_trip(fen):
    text = format_fen(fen)
    assert parse_money(text) == fen
    assert text.count(".") == 1 and len(text.split(".")[1]) == 2


@given(st.integers(min_value=0, max_value=10**14), st.integers(min_value=0, max_value=99))
def test_one_or_two_decimals_parse_exactly(yuan, fen):
    assert parse_money(f"{yuan}.{fen:02d}") == yuan * 100 + fen
    if fen % 10 == 0:
        assert parse_money(f"{yuan}.{fen // 10}") == yuan * 100 + fen


@given(st.integers(min_value=0, max_value=10**12), st.text(alphabet="0123456789", min_size=3, max_size=8))
def test_three_or_more_decimals_always_refused(yuan, decimals):
    with pytest.raises(Invalid, match="two decimal places"):
        parse_money(f"{yuan}.{decimals}")


@given(st.one_of(st.text(max_size=30), st.floats(), st.integers(), st.none(), st.binary(max_size=5)))
def test_never_anything_but_int_or_invalid(value):
    try:
        result = parse_money(value)
    except Invalid as exc:
        assert exc.message
    else:
        assert isinstance(result, int) and 0 <= result < MAX_FEN


def test_format():
    assert format_fen(None) is None
    assert format_fen(0) == "0.00"
    assert format_fen(5) == "0.05"
    assert format_fen(123456) == "1234.56"
    assert format_fen(-105) == "-1.05"
    assert format_yuan_display(123456789) == "¥1,234,567.89"
    assert format_yuan_display(None) == "—"
    assert format_yuan_display(-5) == "-¥0.05"


def test_decimal_keys_renames_fen_counts_at_the_edge():
    stored = {"kind": "bid", "amount_fen": 123456, "reserve_fen": None, "bid_count": 3, "flag_fen": True,
              "nested": [{"price_fen": 5, "name": "x"}], "label_fen": "text stays", "prices_fen": [1, 250]}
    assert decimal_keys(stored) == {"kind": "bid", "amount": "1234.56", "reserve": None, "bid_count": 3,
                                    "flag_fen": True, "nested": [{"price": "0.05", "name": "x"}],
                                    "label_fen": "text stays", "prices": ["0.01", "2.50"]}

