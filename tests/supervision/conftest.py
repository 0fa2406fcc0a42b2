"""Fixtures for supervision tests: the evaluation fixtures (experts, a lot opened with real sealed bids)."""
from __future__ import annotations

import pytest

from tests.evaluation.conftest import ew  # noqa: F401  (fixture re-exported)


@pytest.fixture(autouse=True)
def fake_bank():
    from deposits.bank.fake import BANK

    BANK.reset()
    yield BANK
    BANK.reset()
