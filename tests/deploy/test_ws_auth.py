"""The auction websocket for programs: the API token in the handshake, and the Origin rule — against a
real ASGI server process, with real websocket clients."""
from __future__ import annotations

import asyncio
import json

import pytest
import websockets
import websockets.exceptions  # the package imports its submodules lazily: named here, not by chance elsewhere
from websockets.typing import Origin
from rest_framework.authtoken.models import Token

from tests.auction.live import Server, live_auction, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def server(transactional_db):
    srv = Server().start()
    yield srv
    srv.kill()


async def _bid(url: str, *, headers: dict | None = None, origin: str | None = None, amount: str) -> dict:
    async with websockets.connect(url, additional_headers=headers, origin=Origin(origin) if origin else None,
                                  open_timeout=20) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert first["type"] == "snapshot"
        await ws.send(json.dumps({"type": "bid", "amount": amount, "ref": "r1"}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if frame["type"] in ("bid_result", "error"):
                return frame


async def _refused(url: str, **kw) -> int:
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(url, open_timeout=20, **kw):
            pass
    return refused.value.response.status_code


def test_a_program_bids_with_its_token_and_without_an_origin(server, world):
    auction = live_auction(world, users=world.bidders[:2])
    url = server.ws_url(auction.pk)
    price = f"{auction.starting_price_fen // 100}.{auction.starting_price_fen % 100:02d}"
    token = Token.objects.create(user=world.bidders[0])

    anonymous = asyncio.run(_bid(url, amount=price))  # no Origin, no token: a watcher
    assert anonymous.get("accepted") is not True

    answer = asyncio.run(_bid(url, headers={"Authorization": f"Token {token.key}"}, amount=price))
    assert answer["type"] == "bid_result" and answer["accepted"] is True, answer

    assert asyncio.run(_refused(url, additional_headers={"Authorization": "Token not-a-token"})) == 403
    assert asyncio.run(_refused(url, additional_headers={"Authorization": "Bearer x"})) == 403


def test_a_browser_must_come_from_an_allowed_origin(server, world):
    auction = live_auction(world, users=world.bidders[:2])
    url = server.ws_url(auction.pk)
    cookie = {"Cookie": session_cookie(world.bidders[1])}
    assert asyncio.run(_refused(url, origin=Origin("https://evil.example"), additional_headers=cookie)) == 403
    price = f"{auction.starting_price_fen // 100}.{auction.starting_price_fen % 100:02d}"
    answer = asyncio.run(_bid(url, origin=server.origin, headers=cookie, amount=price))
    assert answer["type"] == "bid_result" and answer["accepted"] is True, answer
