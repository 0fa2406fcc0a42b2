"""The public notice list's cache (trading/api_cache.py): keyed by the generation (the newest audit event
id), so an anonymous visitor sees every change made through the services at once, and between changes is
answered the same bytes with one query (the generation) and no serializer; a signed-in user is never
answered from it."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from tests import factories

pytestmark = pytest.mark.django_db


def _numbers(response) -> set[str]:
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return {n["number"] for n in response.json()["results"]}


def _get(client: Client, path: str, **headers) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    return response, [q["sql"] for q in queries.captured_queries]


def test_anonymous_list_follows_every_change_and_is_cached_in_between(world):
    anonymous = Client()
    first = factories.make_project(world, publish=True)
    before, sql = _get(anonymous, "/api/notices/?limit=200")
    assert {n.number for n in first.notices.all()} <= _numbers(before)
    assert any("trading_notice" in s for s in sql)  # computed

    again, sql = _get(anonymous, "/api/notices/?limit=200")
    assert again.content == before.content  # type: ignore[attr-defined]
    assert len(sql) == 1 and "audit_event" in sql[0]  # the generation only: answered from the cache
    other_page, sql = _get(anonymous, "/api/notices/?limit=199")
    assert any("trading_notice" in s for s in sql)  # another path: computed

    token = Token.objects.create(user=world.staff)
    signed_in, sql = _get(anonymous, "/api/notices/?limit=200", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert _numbers(signed_in) == _numbers(before) and any("trading_notice" in s for s in sql)  # never cached

    # a change through the services writes an audit event: the anonymous list shows it at once
    second = factories.make_project(world, publish=True, title="缓存后发布的项目")
    after, sql = _get(anonymous, "/api/notices/?limit=200")
    assert {n.number for n in second.notices.all()} <= _numbers(after) and any("trading_notice" in s for s in sql)
