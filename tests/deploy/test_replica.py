"""Public reads from a real PostgreSQL streaming replica (pg_basebackup of the test cluster on another
port), served by a real ASGI server process configured with DATABASE_REPLICA_URL: anonymous reads come
from the replica, signed-in reads and reads after a write come from the primary, writes always go to the
primary (a hot standby refuses them, so a misrouted write would fail the request)."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from tests import factories
from tests.auction.live import Server, session_cookie
from tests.deploy.replica import Replica

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(scope="module")
def replica(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        db = connection.settings_dict
    replica = Replica(primary_host=db["HOST"] or "127.0.0.1", primary_port=int(db["PORT"] or 5432),
                      user=db["USER"] or "postgres").start()
    try:
        yield replica
    finally:
        replica.stop()


@pytest.fixture
def server(replica):
    dbname = connection.settings_dict["NAME"]
    server = Server(extra_env={"DATABASE_REPLICA_URL": replica.url(dbname), "SUNLIGHT_PORTAL_CACHE_SECONDS": "0"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _get(server: Server, path: str, headers: dict | None = None) -> tuple[int, dict | str, dict]:
    request = urllib.request.Request(server.base + path, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = answer.read().decode()
        kind = answer.headers.get("Content-Type", "")
        return answer.status, json.loads(body) if kind.startswith("application/json") else body, dict(answer.headers)


def _codes(server: Server, headers: dict | None = None) -> set[str]:
    status, body, _ = _get(server, "/api/projects/?limit=100", headers)
    assert status == 200
    assert isinstance(body, dict)
    return {p["code"] for p in body["results"]}


def _paused(replica: Replica, dbname: str) -> None:
    replica.pause(dbname)
    deadline = time.monotonic() + 30
    while replica.query(dbname, "SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "the replica did not pause"
        time.sleep(0.05)  # the pause takes effect asynchronously: poll its state


def test_public_reads_come_from_the_replica_and_a_writer_reads_the_primary(replica, server, world):
    dbname = connection.settings_dict["NAME"]
    first = factories.make_project(world, publish=True)
    replica.caught_up(dbname)
    assert first.code in _codes(server)

    _paused(replica, dbname)  # from now on the replica shows the platform as it was
    try:
        second = factories.make_project(world, publish=True, title="复制延迟中发布的项目")
        public = _codes(server)
        assert first.code in public and second.code not in public  # anonymous: the (paused) replica

        token = Token.objects.create(user=world.staff)
        assert second.code in _codes(server, {"Authorization": f"Token {token.key}"})  # signed in: primary
        assert second.code in _codes(server, {"Cookie": session_cookie(world.bidders[0])})
        assert second.code in _codes(server, {"Cookie": "sl_primary=1"})  # wrote a moment ago: primary

        # An anonymous write goes to the primary (the standby would refuse it) and pins the writer's reads.
        signup = urllib.request.Request(server.base + "/api/auth/signup/", method="POST", data=json.dumps({
            "name": "复制测试有限公司", "credit_code": factories.new_credit_code(), "username": "replica-bidder",
            "email": "r@replica.example", "password": "a-long-enough-passphrase-7"}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(signup, timeout=30) as answer:
            assert answer.status == 201
            assert "sl_primary=1" in answer.headers.get("Set-Cookie", "")
    finally:
        replica.resume(dbname)
    replica.caught_up(dbname)
    assert second.code in _codes(server)  # the replica caught up: the public sees it too
