"""Unified social credit code check character (GB 32100-2015), pure."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading import credit_code

first17 = st.text(alphabet=credit_code.CHARSET, min_size=17, max_size=17)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "911100001000079554"])
def test_real_codes_are_valid(code):
    assert credit_code.validate(code) is None


def test_weights_are_the_standard_ones():
    assert credit_code.WEIGHTS == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    assert len(credit_code.CHARSET) == 31 and not set("IOSVZ") & set(credit_code.CHARSET)


@given(first17)
def test_completed_codes_validate(prefix):
    code = credit_code.complete(prefix)
    assert len(code) == 18
    assert credit_code.validate(code) is None


@given(first17, st.integers(min_value=0, max_value=17), st.sampled_from(credit_code.CHARSET))
def test_any_single_character_change_fails(prefix, position, replacement):
    code = credit_code.complete(prefix)
    if code[position] == replacement:
        replacement = credit_code.CHARSET[(credit_code.CHARSET.index(replacement) + 1) % 31]
    changed = code[:position] + replacement + code[position + 1:]
    reason = credit_code.validate(changed)
    assert reason is not None and "check character" in reason


@given(first17, st.integers(min_value=0, max_value=17), st.sampled_from("IOSVZ!-  é中"))
def test_forbidden_characters_named(prefix, position, bad):
    code = credit_code.complete(prefix)
    changed = code[:position] + bad + code[position + 1:]
    reason = credit_code.validate(changed)
    assert reason is not None and "not allowed" in reason


@given(first17, st.integers(min_value=0, max_value=15))
def test_adjacent_transposition_of_different_chars_fails(prefix, i):
    code = credit_code.complete(prefix)
    if code[i] == code[i + 1]:
        return
    swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
    assert credit_code.validate(swapped) is not None


@pytest.mark.parametrize("value", ["", "9135010", "91350100M000100Y431", None, 913501001000100, b"91350100M000100Y43"])
def test_wrong_length_or_type(value):
    problem = credit_code.validate(value)
    assert problem is not None and "18 characters" in problem
