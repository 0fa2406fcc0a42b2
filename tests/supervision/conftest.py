"""Fixtures for supervision tests: the evaluation fixtures (experts, a lot opened with real sealed bids)."""
from __future__ import annotations

import pytest

from tests.evaluation.conftest import ew  # noqa: F401  (fixture re-exported)


@pytest.fixture(autouse=True)
def _empty_bank(fake_bank):
    """Every test here starts and ends with an empty simulated bank (the root conftest's ``fake_bank``)."""
    return fake_bank
