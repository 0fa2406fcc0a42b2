"""Building auctions for the tests through the real services."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from bidding import services as registration
from bidding.auction import services as S
from tests import factories

DECLARATION = [{"condition": "具有有效的营业执照", "met": True}]


def sale_lot(world, method: str = "auction", *, kind: str = "land", security_fen: int = 0, **overrides):
    project = factories.make_project(world, kind, method, publish=True, security_fen=security_fen,
                                     estimate_fen=overrides.pop("estimate_fen", 100_000_000), **overrides)
    return project.lots.get()


def register_all(world, lot, users=None):
    for user in users if users is not None else world.bidders:
        registration.register(actor=user, lot=lot, declaration=DECLARATION)


def make_auction(world, clock=None, method: str = "auction", *, register=True, open_now=False, users=None,
                 reserve_fen: int = 0, security_fen: int = 0, **schedule_kw):
    """A published sale lot with registered bidders and its scheduled auction.
    With ``open_now`` the clock is moved to the start and the clock tick is run."""
    lot = sale_lot(world, method, security_fen=security_fen)
    if register:
        register_all(world, lot, users)
    auction = S.schedule_auction(lot=lot, actor=world.staff, reserve_fen=reserve_fen, **schedule_kw)
    if open_now:
        assert clock is not None
        open_auction(clock, auction)
    return auction


def open_auction(clock, auction):
    """The clock reaches the auction's start and the clocks' ticks run: the auction opens (bidder numbers for the
    secured registrants); ``auction`` is refreshed."""
    from trading.clock import tick as trading_tick

    clock.move_to(auction.start_at)
    trading_tick(timezone.now())
    S.tick(timezone.now())
    auction.refresh_from_db()
    return auction


def later(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds)
