"""An auction's OCDS releases carry its award (winner and price) from the result notice on, and validate."""
from __future__ import annotations

import pytest

from bidding.auction import engine as E
from bidding.auction import services as S
from tests.auction.helpers import make_auction
from tests.trading.test_ocds import validate
from trading import ocds

pytestmark = pytest.mark.django_db


def test_a_dealt_auction_exports_its_award_and_a_failed_one_none(world, clock):
    dealt = make_auction(world, clock, users=world.bidders[:2], open_now=True)
    S.place_bid(auction=dealt, user=world.bidders[0], amount_fen=dealt.starting_price_fen, client_ref="a")
    S.place_bid(auction=dealt, user=world.bidders[1], amount_fen=dealt.starting_price_fen + dealt.increment_fen,
                client_ref="b")
    dealt.refresh_from_db()
    clock.move_to(dealt.end_at)
    S.tick()
    dealt.refresh_from_db()
    assert dealt.outcome == E.OUTCOME_DEAL

    package = ocds.release_package(dealt.lot.project)
    validate(package)
    result = package["releases"][-1]
    assert result["tag"] == ["award"]
    (award,) = result["awards"]
    price = dealt.starting_price_fen + dealt.increment_fen
    assert award["status"] == "active" and award["value"] == ocds.value(price)
    assert award["suppliers"][0]["name"] == world.bidder_orgs[1].name
    assert any("supplier" in p["roles"] and p["name"] == world.bidder_orgs[1].name for p in result["parties"])
    assert all("awards" not in r for r in package["releases"][:-1])  # no award before the result notice

    failed = make_auction(world, clock, users=world.bidders[:2], open_now=True)
    clock.move_to(failed.end_at)
    S.tick()
    failed_package = ocds.release_package(failed.lot.project)
    validate(failed_package)
    assert all("awards" not in r for r in failed_package["releases"])


def test_the_package_grows_linearly_with_notices(world):
    from tests import factories
    from trading import services

    project = factories.make_project(world, publish=True)
    notice = project.notices.get()
    sizes = []
    for i in range(12):
        services.publish_amendment(actor=world.staff, notice=notice, title=f"澄清 {i}", body="说明" * 50,
                                   kind="clarification")
        sizes.append(len(str(ocds.release_package(project))))
    steps = [b - a for a, b in zip(sizes, sizes[1:])]
    assert max(steps) - min(steps) < 0.02 * steps[0]  # each notice adds the same: linear, not quadratic
