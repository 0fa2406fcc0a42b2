"""Two bidders in two Chromium contexts bid against each other in the auction room over the real
ASGI server (uvicorn) with the Redis channel layer; a public watcher sees the same; the countdown
restarts on every accepted bid; a refused bid shows its reason."""
from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from bidding.auction.models import Auction, AuctionBid
from tests import factories
from tests.auction.live import Server, live_auction
from trading.money import format_yuan_display as yuan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asgi_server(transactional_db):
    srv = Server().start()
    yield srv
    srv.kill()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def bidder_context(chromium, server, user):
    client = Client()
    client.force_login(user)
    ctx = chromium.new_context(locale="zh-CN")
    ctx.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                      "url": server.base}])
    return ctx


def left_ms(page) -> int:
    return int(page.locator("#auction-countdown").get_attribute("data-left-ms") or 0)


def test_two_bidders_bid_live(chromium, asgi_server, screenshot_dir):
    world = factories.make_world(bidders=2)
    # the free bidding time ends in ~20 s; every accepted bid restarts a 120 s countdown
    auction = live_auction(world, live_duration_s=80, countdown_s=120)
    url = f"{asgi_server.base}/auctions/{auction.pk}/"
    ctx_a, ctx_b = (bidder_context(chromium, asgi_server, u) for u in world.bidders[:2])
    ctx_w = chromium.new_context(locale="zh-CN")
    a, b, w = ctx_a.new_page(), ctx_b.new_page(), ctx_w.new_page()
    policy_errors: list[str] = []
    for page in (a, b, w):
        page.on("console", lambda m: policy_errors.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        for page in (a, b, w):
            page.goto(url)
            page.wait_for_selector("#auction-room[data-connected='1']")
            page.wait_for_function("() => document.getElementById('auction-room').dataset.seq === '1'")
        num_a = a.locator("#auction-room").get_attribute("data-my-number")
        num_b = b.locator("#auction-room").get_attribute("data-my-number")
        assert num_a and num_b and num_a != num_b
        assert w.locator("[data-steps]").count() == 0  # the watcher has no bid buttons
        assert left_ms(a) < 30_000

        # A bids the starting price (+1 button); B and the watcher see it live, the countdown restarts
        a.click("[data-steps='1']")
        a.wait_for_function("() => document.getElementById('auction-message').dataset.kind === 'ok'")
        for page in (a, b, w):
            page.wait_for_function("() => document.getElementById('auction-room').dataset.seq === '2'")
            assert page.locator("#auction-leader").inner_text().startswith(num_a)
            assert num_a in page.locator("#auction-history").inner_text()
        b.wait_for_function("() => Number(document.getElementById('auction-countdown').dataset.leftMs) > 100000")
        assert left_ms(b) > 100_000

        # B answers with a custom amount two increments up
        target = auction.starting_price_fen + 2 * auction.increment_fen
        b.fill("#auction-amount", f"{target // 100}.{target % 100:02d}")
        b.click("#auction-submit")
        for page in (a, b, w):
            page.wait_for_function("() => document.getElementById('auction-room').dataset.seq === '3'")
            assert page.locator("#auction-leader").inner_text().startswith(num_b)
            assert page.locator("#auction-price").get_attribute("data-fen") == str(target)

        # A's bid off the increment is refused with a clear reason, nothing changes
        off = target + auction.increment_fen + 1
        a.fill("#auction-amount", f"{off // 100}.{off % 100:02d}")
        a.click("#auction-submit")
        a.wait_for_function("() => document.getElementById('auction-message').dataset.kind === 'refused'")
        assert a.locator("#auction-message").get_attribute("data-code") == "not_multiple"
        # said in the page's language, chosen by the reason code, with the amounts formatted as money
        minimum = target + auction.increment_fen
        message = a.locator("#auction-message").inner_text()
        assert "加价幅度" in message and yuan(auction.increment_fen) in message and yuan(minimum) in message, message
        assert not re.search(r"[A-Za-z]{3,}", message), message  # not the engine's own (English) text
        # too low: the minimum now, as money
        a.fill("#auction-amount", f"{target // 100}.{target % 100:02d}")
        a.click("#auction-submit")
        a.wait_for_function("() => document.getElementById('auction-message').dataset.code === 'too_low'")
        message = a.locator("#auction-message").inner_text()
        assert message == f"出价不得低于 {yuan(minimum)}。", message
        # and A outbids B with the +1 button
        a.click("[data-steps='1']")
        for page in (a, b, w):
            page.wait_for_function("() => document.getElementById('auction-room').dataset.seq === '4'")
        assert b.locator("#auction-leader").inner_text().startswith(num_a)
        # the live price curve (Chart.js, served by the platform) shows the three accepted bids in yuan
        curve = w.evaluate("() => Chart.getChart('auction-curve').data.datasets[0].data.map(p => p.y)")
        assert curve == [auction.starting_price_fen / 100, target / 100, (target + auction.increment_fen) / 100]
        assert w.locator("#auction-curve").get_attribute("data-points") == "3"
        assert not policy_errors, policy_errors  # the room's style and scripts are files, under the policy
        a.screenshot(path=str(screenshot_dir / "auction-room-bidder.png"), full_page=True)
        w.screenshot(path=str(screenshot_dir / "auction-room-watcher.png"), full_page=True)
    finally:
        for ctx in (ctx_a, ctx_b, ctx_w):
            ctx.close()
    bids = list(AuctionBid.objects.filter(auction_id=auction.pk).order_by("seq").values_list("amount_fen", flat=True))
    assert bids == [auction.starting_price_fen, target, target + auction.increment_fen]
    assert Auction.objects.get(pk=auction.pk).bid_count == 3
