"""OpenAPI from drf-spectacular: the whole schema is valid OpenAPI 3, and the trading API's part is generated
without a single warning or error (other apps' warnings are theirs to fix)."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


@pytest.fixture
def stats():
    GENERATOR_STATS.reset()
    yield GENERATOR_STATS
    GENERATOR_STATS.reset()


def _messages(stats) -> list[str]:
    return list(stats._warn_cache) + list(stats._error_cache)


def test_trading_api_schema_has_no_warnings(stats):
    patterns = [path("api/", include("trading.api"))]
    with stats.silence():
        schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    assert _messages(stats) == []
    validate_schema(schema)
    paths = schema["paths"]
    for expected in ("/api/projects/", "/api/projects/{id}/publish/", "/api/projects/{id}/terminate/",
                     "/api/projects/{id}/ocds/", "/api/notices/", "/api/notices/{id}/amend/",
                     "/api/notices/{id}/documents/", "/api/lots/", "/api/organisations/", "/api/changes/",
                     "/api/auth/token/"):
        assert expected in paths, sorted(paths)
    components = schema["components"]["schemas"]
    budget = components["Project"]["properties"]["budget"]
    assert budget["type"] == "string" and budget["pattern"].startswith("^")
    feed = paths["/api/changes/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert feed["$ref"].endswith("/ChangeFeed")
    assert set(components["ChangeFeed"]["properties"]) == {"results", "next_after"}
    notice_params = {p["name"] for p in paths["/api/notices/"]["get"]["parameters"]}
    assert {"q", "kind", "project_kind", "method", "region", "status", "published_from", "published_to", "limit",
            "offset"} <= notice_params
    project_params = {p["name"] for p in paths["/api/projects/"]["get"]["parameters"]}
    assert {"q", "kind", "method", "region", "status"} <= project_params
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_whole_schema_is_valid_openapi(stats, tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--file", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    assert out.stat().st_size > 10_000
    trading = [m for m in _messages(stats) if "/trading/" in m]
    assert trading == []


def test_schema_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
