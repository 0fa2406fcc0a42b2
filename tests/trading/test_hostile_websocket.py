"""The auction websocket with hostile query strings and tokens: `?last_seq=²` crashed the handshake (a
Unicode digit passed `str.isdigit()` and then failed `int()`); now anything but ASCII digits is treated as no
`last_seq` (a snapshot), and a token holding a NUL is refused like any wrong token."""
from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from tests.auction.helpers import make_auction

pytestmark = pytest.mark.django_db(transaction=True)

HEADERS = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


async def _first_frame(path: str, headers=HEADERS):
    from config.asgi import application

    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await comm.connect(timeout=20)
    frame = json.loads(await comm.receive_from(timeout=20)) if connected else None
    await comm.disconnect()
    return connected, code, frame


def test_unicode_digit_last_seq_is_a_snapshot(world, clock):
    auction = make_auction(world)
    for query in ("?last_seq=²", "?last_seq=%C2%B2", "?last_seq=%D9%A3", "?last_seq=-1", "?last_seq=1e3"):
        connected, _code, frame = async_to_sync(_first_frame)(f"/ws/auctions/{auction.pk}/{query}")
        assert connected, query
        plain = async_to_sync(_first_frame)(f"/ws/auctions/{auction.pk}/")[2]
        assert frame == plain, query


def test_a_token_with_a_nul_is_refused(world, clock):
    auction = make_auction(world)
    headers = [*HEADERS, (b"authorization", b"Token abc\x00def")]
    connected, _code, _frame = async_to_sync(_first_frame)(f"/ws/auctions/{auction.pk}/", headers)
    assert not connected
