"""The contract (issue 18 item 3): every operation of the OpenAPI schema has a response schema for its
successes and documents its errors with the one `Error` component; Swagger UI and Redoc are served by the
platform itself (drf-spectacular-sidecar), so they work offline; the bank notification's HMAC is specified."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from trading.api_errors import ERROR_CODES


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, op


def test_every_operation_has_a_response_schema(schema):
    free = []
    for method, path, op in _operations(schema):
        successes = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert successes, (method, path)
        for code, response in successes.items():
            content = response.get("content") or {}
            if "application/json" not in content and any(
                    kind.startswith("text/") and (c.get("schema") or {}).get("type") == "string"
                    for kind, c in content.items()):
                continue  # a documented text format (a C2SP checkpoint or policy): not free-form
            body = content.get("application/json", {}).get("schema")
            if body is None or ("$ref" not in body and body.get("type") == "object" and not body.get("properties")
                                and body.get("additionalProperties") in (None, {}, True)):
                free.append(f"{method} {path} {code}")
    assert free == [], free


def test_every_operation_documents_its_errors_with_the_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "detail", "fields"]
    code = error["properties"]["code"]
    assert code["allOf"] == [{"$ref": "#/components/schemas/ErrorCodeEnum"}]
    assert schema["components"]["schemas"]["ErrorCodeEnum"]["enum"] == list(ERROR_CODES)
    for code in ERROR_CODES:
        assert f"`{code}`" in error["description"]
    for method, path, op in _operations(schema):
        for status in ("400", "401", "403", "404", "405", "413", "415", "429", "500") + (("409",) if method != "GET" else ()):
            ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/Error", (method, path, status)


def test_bank_notification_hmac_is_specified(schema):
    op = schema["paths"]["/api/deposits/bank/notifications/"]["post"]
    headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
    assert headers == {"X-Bank-Timestamp", "X-Bank-Signature"}
    assert "HMAC-SHA256" in op["description"] and "v1=" in op["description"]


@pytest.mark.django_db
def test_swagger_ui_and_redoc_are_served_by_the_platform():
    c = Client()
    for url in ("/api/docs/", "/api/redoc/"):
        page = c.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert "cdn" not in html.lower() and "googleapis" not in html, html[:2000]
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
        assert assets, html[:2000]
        for asset in assets:
            assert asset.startswith("/static/"), asset
    script = c.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
    from django.contrib.staticfiles import finders

    for name in ("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
                 "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"):
        assert finders.find(name), name


def test_the_documented_hmac_example_is_what_the_platform_computes(schema):
    """The worked example in the README and the schema is the reference implementation's answer."""
    from pathlib import Path

    from deposits.bank import signing

    body = (b'{"type":"payment","txn_id":"T20260101-0001","amount":"5000.00","currency":"CNY",'
            b'"booked_at":"2026-01-01T00:00:00Z","sub_account":"8801234567890"}')
    expected = signing.sign(b"demo-bank-secret", 1767225600, body)
    assert expected == "v1=018bbe78defce957c60c056603a330dc9fc04d8c27489362086b8a32ad929d77"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert body.decode() in readme and expected[3:] in readme
    assert expected[3:] in schema["paths"]["/api/deposits/bank/notifications/"]["post"]["description"]
    signing.verify(b"demo-bank-secret", timestamp="1767225600", signature=expected, body=body, now=1767225600)
