"""The websocket surface of the pre-deadline differential: the auction room of a sale lot scheduled
before its registration deadline shows watchers and other bidders exactly the same frames before and
after a new registration + payment, and sends nothing when one happens."""
from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from bidding import services as registration
from deposits.bank.fake import BANK
from deposits.models import Account
from tests.auction.helpers import DECLARATION, make_auction

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie(user) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        c = Client()
        c.force_login(user)
        headers.append((b"cookie", f"sessionid={c.cookies['sessionid'].value}".encode()))
    return headers


async def _frames(auction_id: int, user_headers, then=None) -> tuple[list, list]:
    from config.asgi import application

    comm = WebsocketCommunicator(application, f"/ws/auctions/{auction_id}/", headers=user_headers)
    connected, _ = await comm.connect(timeout=20)
    assert connected
    first = [json.loads(await comm.receive_from(timeout=20))]
    later = []
    if then is not None:
        await then()
        while not await comm.receive_nothing(timeout=1):
            later.append(json.loads(await comm.receive_from(timeout=5)))
    await comm.disconnect()
    return first, later


def test_auction_room_frames_do_not_change(world, clock):
    BANK.reset()
    auction = make_auction(world, register=False, security_fen=50_000_00)
    lot = auction.lot
    assert clock.now < lot.bid_deadline
    watchers = {"public": None, "other_bidder": world.bidders[2], "staff": world.staff, "supervisor": world.supervisor}
    headers = {name: _cookie(user) for name, user in watchers.items()}
    before = {name: async_to_sync(_frames)(auction.pk, h)[0] for name, h in headers.items()}

    def act():
        try:
            _act()
        finally:
            from django.db import connection

            connection.close()  # this worker thread's own connection

    def _act():
        registration.register(actor=world.bidders[1], lot=lot, declaration=DECLARATION)
        acc = Account.objects.get(lot=lot, bidder=world.bidder_orgs[1])
        BANK.pay_in(sub_account=str(acc.number), amount_fen=acc.required_fen, payer_name=world.bidder_orgs[1].name,
                    payer_account=world.bidder_orgs[1].bank_account)

    async def act_async():
        from asgiref.sync import sync_to_async

        await sync_to_async(act, thread_sensitive=False)()

    # a watcher connected while it happens receives nothing
    _, pushed = async_to_sync(_frames)(auction.pk, headers["public"], then=act_async)
    assert pushed == []
    assert Account.objects.filter(lot=lot, paid_at__isnull=False).count() == 1
    after = {name: async_to_sync(_frames)(auction.pk, h)[0] for name, h in headers.items()}
    assert after == before
