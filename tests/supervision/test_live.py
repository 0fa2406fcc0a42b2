"""The console hears of alerts over a real websocket (uvicorn subprocess, Redis channel layer)."""
from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from django.db import transaction

from supervision import services
from tests import factories
from tests.auction.live import Server, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def server(transactional_db):
    srv = Server().start()
    yield srv
    srv.kill()


def test_alert_reaches_the_supervisors_console_after_commit(server, world):
    project = factories.make_project(world, publish=True)
    url = f"ws://127.0.0.1:{server.port}/ws/supervision/alerts/"

    async def scenario():
        async with websockets.connect(url, origin=server.origin,
                                      additional_headers={"Cookie": session_cookie(world.supervisor)}) as ws:
            await asyncio.sleep(0.3)  # let the consumer join its groups (not business time)

            def raise_it():
                with transaction.atomic():
                    services.raise_alert(key="test:1", kind="review", rule="terminated", severity="info",
                                         title="项目终止", basis="basis", evidence={"x": 1}, project_id=project.pk)

            await asyncio.get_running_loop().run_in_executor(None, raise_it)
            frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert frame["type"] == "alert" and frame["alert"]["key"] == "test:1"
            assert frame["alert"]["project"] == project.code and frame["alert"]["status"] == "new"

    asyncio.run(scenario())


def test_only_supervisors_may_listen(server, world):
    url = f"ws://127.0.0.1:{server.port}/ws/supervision/alerts/"

    async def scenario():
        for user in (world.bidders[0], world.staff, None):
            headers = {"Cookie": session_cookie(user)} if user else None
            with pytest.raises(websockets.exceptions.WebSocketException):
                async with websockets.connect(url, origin=server.origin, additional_headers=headers) as ws:
                    await asyncio.wait_for(ws.recv(), 10)

    asyncio.run(scenario())
