"""OpenAPI for the whole project: drf-spectacular generates the schema of every API the project mounts
(config/urls.py) as valid OpenAPI 3, without a single generator warning or error — except, for now, those of
the live-auction API (bidding/auction), which is still being annotated.

Same approach as tests/trading/test_openapi.py: the generator's messages are collected from
`drf_spectacular.drainage.GENERATOR_STATS` (silenced, so they do not clutter the output); Python warnings
raised while generating are captured too."""
from __future__ import annotations

import warnings

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

# Every API the project mounts: at least one path under each prefix must make it into the schema
# (a view the generator cannot describe is dropped from it, so an empty prefix means a broken app).
API_PREFIXES = ("/api/audit/", "/api/auctions/", "/api/deposits/", "/api/bidding/", "/api/envelopes/", "/api/evaluation/",
                "/api/projects/", "/api/notices/", "/api/lots/")


@pytest.fixture(scope="module")
def generated():
    """(schema, generator messages, python warnings) for the whole project, generated once."""
    GENERATOR_STATS.reset()
    try:
        with GENERATOR_STATS.silence(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            schema = SchemaGenerator().get_schema(request=None, public=True)
        messages = list(GENERATOR_STATS._warn_cache) + list(GENERATOR_STATS._error_cache)
    finally:
        GENERATOR_STATS.reset()
    # ResourceWarnings are the garbage collector finalising sockets left by earlier tests in this process,
    # not something the schema generator said.
    python_warnings = [f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in caught
                       if not issubclass(w.category, ResourceWarning)]
    return schema, messages, python_warnings


def test_whole_schema_is_valid_openapi(generated):
    schema, _, _ = generated
    validate_schema(schema)
    for prefix in API_PREFIXES:
        assert any(p.startswith(prefix) for p in schema["paths"]), (prefix, sorted(schema["paths"]))


def test_no_generator_warnings_or_errors(generated):
    _, messages, python_warnings = generated
    problems = messages + python_warnings
    assert problems == [], "\n".join(problems)


def test_envelopes_api_is_described(generated):
    """The sealed-envelope API's operations carry their request and response shapes (no bare objects)."""
    schema, _, _ = generated
    paths, components = schema["paths"], schema["components"]["schemas"]

    def ref(media: dict) -> str:
        return media["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]

    envelope = paths["/api/envelopes/lots/{lot_id}/envelope/"]
    assert set(envelope) >= {"get", "post", "put", "delete"}
    for method in ("post", "put"):
        assert ref(envelope[method]["requestBody"]) == "EnvelopeTransportRequest"
        assert ref(envelope[method]["responses"]["201"]) == "EnvelopeReceipt"
        assert ref(envelope[method]["responses"]["409"]) == "Error"  # the one error shape
    assert set(components["EnvelopeTransportRequest"]["required"]) == {"envelope", "signature"}
    assert ref(envelope["get"]["responses"]["200"]) == "EnvelopeReceipt"
    assert ref(envelope["delete"]["responses"]["200"]) == "EnvelopeWithdrawn"
    lot_param = next(p for p in envelope["post"]["parameters"] if p["name"] == "lot_id")
    assert lot_param["in"] == "path" and lot_param["schema"]["type"] == "integer"

    state = paths["/api/envelopes/lots/{lot_id}/"]["get"]["responses"]["200"]
    assert ref(state) == "OpeningState"
    assert {"has_key", "custodians", "merkle_root", "bids", "binding"} <= set(components["OpeningState"]["properties"])

    assert ref(paths["/api/envelopes/lots/{lot_id}/opening-key/"]["post"]["requestBody"]) == "OpeningKeySetupRequest"
    assert ref(paths["/api/envelopes/lots/{lot_id}/shares/"]["post"]["requestBody"]) == "SharePresentationRequest"
    assert "requestBody" not in paths["/api/envelopes/lots/{lot_id}/open/"]["post"]
    assert ref(paths["/api/envelopes/lots/{lot_id}/open/"]["post"]["responses"]["200"]) == "OpeningResult"
    opened = paths["/api/envelopes/lots/{lot_id}/opened/"]["get"]["responses"]["200"]
    items = opened["content"]["application/json"]["schema"]
    assert items["type"] == "array" and items["items"]["$ref"].endswith("/OpenedBid")
    assert ref(paths["/api/envelopes/custody-keys/"]["post"]["requestBody"]) == "CustodyKeyCreateRequest"
    assert ref(paths["/api/envelopes/platform-key/"]["get"]["responses"]["200"]) == "PlatformKey"

    proof = paths["/api/envelopes/receipts/{digest}/proof/"]["get"]
    assert ref(proof["responses"]["200"]) == "ReceiptProof"
    assert {"receipt", "signature", "event", "inclusion", "log", "platform_key"} <= set(
        components["ReceiptProof"]["properties"])
    params = {p["name"]: p for p in proof["parameters"]}
    assert params["size"]["in"] == "query" and params["size"]["schema"]["type"] == "integer"
    assert not params["size"].get("required", False)
    assert params["digest"]["in"] == "path"
    assert "verify-receipt" in proof["description"]
