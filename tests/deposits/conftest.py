"""Deposit fixtures: the simulated bank, and a published tender lot with a security and registrations."""
from __future__ import annotations

import pytest

from tests import factories
from tests.evaluation.conftest import ew  # noqa: F401  (fixture re-exported: awards with securities)


@pytest.fixture(autouse=True)
def _empty_bank(fake_bank):
    """Every test here starts and ends with an empty simulated bank (the root conftest's ``fake_bank``)."""
    return fake_bank


@pytest.fixture
def tender(world, clock):
    """A published open tender lot (security 50% of the 2% cap) and its project."""
    project = factories.make_project(world, "engineering", "open_tender", publish=True)
    return project.lots.get()


def register(world, lot, i: int):
    from bidding.services import register as do_register

    return do_register(actor=world.bidders[i], lot=lot,
                       declaration=[{"condition": c, "met": True} for c in lot.eligibility])


@pytest.fixture
def regs(world, tender):
    return [register(world, tender, i) for i in range(3)]
