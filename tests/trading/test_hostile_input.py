"""Hostile input never produces a 500 (issue 13): each request below answered 500 before the input rules
(trading/ids.py, trading/inputs.py, trading/api_errors.py); now each is a 4xx in the one error shape, and
nothing changed."""
from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from audit.models import Event
from tests import factories
from trading.ids import is_ascii_int, parse_int
from trading.errors import Invalid
from trading.models import Organisation, Project

SUPERSCRIPT_TWO = "²"  # "²".isdigit() is True, int("²") raises ValueError


def client_for(user=None) -> Client:
    c = Client(raise_request_exception=False)
    if user is not None:
        c.force_login(user)
    return c


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["fields"], dict)
    if code is not None:
        assert body["code"] == code, body
    return body


# ------------------------------------------------------------------------------------ the id parser

@pytest.mark.parametrize("raw", ["0", "7", "123456789012345678"])
def test_parse_int_takes_ascii_digits(raw):
    assert parse_int(raw, field="x") == int(raw)
    assert is_ascii_int(raw)


@pytest.mark.parametrize("raw", ["²", "٣", "１", " 7", "7 ", "+7", "-7", "1_000", "", "0x10", "1e3", "7\x00",
                                 "1234567890123456789", None, 1.5, True, False, [], {}])
def test_parse_int_refuses_everything_else(raw):
    with pytest.raises(Invalid) as info:
        parse_int(raw, field="x")
    assert info.value.field == "x"
    assert not is_ascii_int(raw)


def test_parse_int_bounds():
    assert parse_int(5, field="x", minimum=5, maximum=5) == 5
    with pytest.raises(Invalid):
        parse_int("4", field="x", minimum=5)
    with pytest.raises(Invalid):
        parse_int(6, field="x", maximum=5)


# ------------------------------------------------------------------------- Unicode digits, everywhere

UNICODE_DIGIT_URLS = [
    "/api/audit/events/?project=²", "/api/audit/events/?after=²", "/api/audit/events/?limit=²",
    "/api/audit/checkpoints/?limit=²", "/api/audit/checkpoints/?before=²",
    "/api/audit/proofs/inclusion/?index=²&size=²", "/api/audit/proofs/inclusion/?event=²",
    "/api/audit/proofs/consistency/?first=²&second=²", "/api/changes/?after=²", "/api/changes/?limit=²",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", UNICODE_DIGIT_URLS)
def test_unicode_digit_in_a_query_parameter_is_a_400(url):
    body = assert_error(client_for().get(url), 400, "invalid")
    assert body["fields"], body


@pytest.mark.django_db
def test_unicode_digit_as_project_id_is_a_404(world):
    assert_error(client_for().get("/api/projects/²/"), 404, "not_found")
    assert client_for().get("/projects/²/").status_code == 404


@pytest.mark.django_db
def test_unicode_digit_in_auction_events(world, clock):
    from tests.auction.helpers import make_auction

    auction = make_auction(world, clock)
    assert_error(client_for().get(f"/api/auctions/{auction.pk}/events/?after=²"), 400, "invalid")
    assert client_for().get(f"/api/auctions/{auction.pk}/events/?after=0").status_code == 200


@pytest.mark.django_db
def test_unicode_digit_in_the_receipt_proof_size(world):
    c = client_for(world.bidders[0])
    assert_error(c.get("/api/envelopes/receipts/" + "ab" * 32 + "/proof/?size=²"), 400, "invalid")


@pytest.mark.django_db
def test_unicode_digits_in_evaluation_ids(world):
    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    c = client_for(world.staff)
    for url, body in [(f"/api/evaluation/lots/{lot.pk}/sheet/", {"bidder": "²"}),
                      (f"/api/evaluation/lots/{lot.pk}/draw/commit/", {"representatives": ["²"], "size": 5}),
                      (f"/api/evaluation/lots/{lot.pk}/award/", {"candidate": "²"})]:
        response = c.post(url, body, content_type="application/json")
        assert response.status_code in (400, 403, 409), (url, response.status_code, response.content[:300])
        assert_error(response, response.status_code)


@pytest.mark.django_db
def test_unicode_digits_in_page_forms(world):
    c = client_for(world.staff)
    for url, data in [("/deposits/suspense/", {"item": "²", "account": "²", "action": "assign", "note": "x"}),
                      ("/deposits/refunds/", {"order": "²"}), ("/deposits/forfeits/", {"forfeit": "²"}),
                      ("/deposits/forfeits/", {"account": "²"})]:
        response = c.post(url, data)
        assert response.status_code in (302, 400, 404), (url, response.status_code)  # 302: the page shows the message
    assert c.get("/deposits/refunds/?batch=²").status_code == 200
    assert c.get("/audit/checkpoints/?first=²&second=²").status_code == 200


# ---------------------------------------------------------------------------- NUL, controls, bidi

@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/?q=%00", "/?q=%E2%80%AE", "/notices/?q=%00", "/projects/%00/", "/?q%00=1"])
def test_forbidden_text_in_a_page_request_is_a_400(url):
    response = client_for().get(url)
    assert response.status_code == 400, (url, response.status_code)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/projects/?q=%00", "/api/notices/?q=%E2%80%AE", "/api/projects/%00/"])
def test_forbidden_text_in_an_api_request_is_a_400(url):
    assert_error(client_for().get(url), 400, "bad_text")


@pytest.mark.django_db
def test_nul_in_the_session_cookie_or_token_is_a_400():
    c = client_for()
    c.cookies["sessionid"] = "abcdefghij\x00"
    assert c.get("/").status_code == 400
    assert_error(client_for().get("/api/projects/", HTTP_AUTHORIZATION="Token abc\x00def"), 400, "bad_text")


BIDI = ["\u202e", "\u202d", "\u202a", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.django_db
@pytest.mark.parametrize("char", BIDI + ["\x00", "\x07", "\x1b", "\x85", "\ud800"])
def test_forbidden_text_in_a_name_is_refused(world, char):
    before = Organisation.objects.count()
    payload = json.dumps({"name": f"华信{char}有限公司", "name_en": "", "credit_code": factories.new_credit_code(),
                          "kind": "bidder", "region": "市本级", "bank_account": ""})
    response = client_for(world.staff).post("/api/organisations/", payload, content_type="application/json")
    body = assert_error(response, 400, "bad_text")
    assert "name" in body["fields"]
    assert Organisation.objects.count() == before


@pytest.mark.django_db
def test_bidi_override_in_a_project_title_is_refused(world):
    before = (Project.objects.count(), Event.objects.count())
    response = client_for(world.staff).post("/api/projects/", {"title": "道路\u202e程工"}, content_type="application/json")
    assert_error(response, 400, "bad_text")
    response = client_for(world.staff).post("/staff/projects/new/", {"title": "道路\u202e程工"})
    assert response.status_code == 400
    assert (Project.objects.count(), Event.objects.count()) == before


@pytest.mark.django_db
def test_ordinary_multiline_text_is_fine(world):
    payload = {"name": "华信 Construction\tCo.\r\n有限公司", "name_en": "Huaxin\u200fCo.", "credit_code": factories.new_credit_code(),
               "kind": "bidder", "region": "市本级", "bank_account": "6222020000000001"}
    response = client_for(world.staff).post("/api/organisations/", payload, content_type="application/json")
    assert response.status_code == 201, response.content


# ------------------------------------------------------------------------------- deep / large / not-an-object JSON

DEEP = "[" * 5000 + "]" * 5000
JSON_POST_URLS = ["/api/organisations/", "/api/projects/", "/api/auth/token/", "/api/envelopes/custody-keys/",
                  "/api/evaluation/experts/"]
BIDDER_JSON_POST_URLS = ["/api/bidding/registrations/", "/api/bidding/keys/", "/api/cases/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", JSON_POST_URLS + BIDDER_JSON_POST_URLS)
def test_json_nested_5000_deep_is_a_400(world, url):
    user = world.bidders[0] if url in BIDDER_JSON_POST_URLS else world.staff
    response = client_for(user).post(url, DEEP, content_type="application/json")
    assert_error(response, 400, "too_deep")


@pytest.mark.django_db
def test_json_nested_just_past_the_limit_is_a_400_and_within_it_is_parsed(world, settings):
    settings.SUNLIGHT_JSON_MAX_DEPTH = 8
    c = client_for(world.staff)
    deep = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}
    assert_error(c.post("/api/projects/", deep, content_type="application/json"), 400, "too_deep")
    shallow = {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}
    assert_error(c.post("/api/projects/", shallow, content_type="application/json"), 400, "invalid")


@pytest.mark.django_db
def test_json_larger_than_the_limit_is_a_413(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    body = json.dumps({"title": "x" * 5000})
    assert_error(client_for(world.staff).post("/api/projects/", body, content_type="application/json"), 413, "too_large")


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["null", "[]", "[1, 2]", '"text"', "42", "true"])
def test_a_json_body_that_is_not_an_object_is_a_400(world, body):
    for url in JSON_POST_URLS + BIDDER_JSON_POST_URLS:
        user = world.bidders[0] if url in BIDDER_JSON_POST_URLS else world.staff
        assert_error(client_for(user).post(url, body, content_type="application/json"), 400, "not_an_object")


# the evaluation write endpoints that read a body (draw/reveal, start, report and quote-round take none)
EVALUATION_WRITES = ["plan", "draw/commit", "conflict", "sheet", "review", "quotes", "candidates",
                     "withdraw", "award", "refusal", "contract"]


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["null", "[1]", '"x"'])
def test_evaluation_write_endpoints_refuse_a_body_that_is_not_an_object(world, body):
    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    before = Event.objects.count()
    for user in (world.staff, world.expert, world.bidders[0]):
        c = client_for(user)
        for name in EVALUATION_WRITES:
            method = c.put if name == "plan" else c.post
            response = method(f"/api/evaluation/lots/{lot.pk}/{name}/", body, content_type="application/json")
            assert_error(response, 400, "not_an_object")
    assert Event.objects.count() == before


@pytest.mark.django_db
def test_malformed_json_is_a_400(world):
    for body in ['{"a": ', "{'a': 1}", '{"a": NaN}', '{"a": Infinity}', b"\xff\xfe{}"]:
        response = client_for(world.staff).post("/api/projects/", body, content_type="application/json")
        assert_error(response, 400, "parse_error")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["staff", "admin", "bidder"])
def test_every_write_operation_survives_hostile_bodies(world, role):
    """Every POST/PUT/PATCH/DELETE of the schema (today's and tomorrow's, e.g. an admin objections endpoint),
    sent `null`, a list, 5,000-deep JSON and a NUL: a 4xx in the one error shape, never a 5xx, nothing written."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    user = {"staff": world.staff, "admin": world.admin, "bidder": world.bidders[0]}[role]
    c = client_for(user)
    before = Event.objects.count()
    checked = 0
    for path, item in schema["paths"].items():
        real_id = str(project.code if path.startswith("/api/projects/") else lot.pk)
        url = re.sub(r"\{(\w+)\}", real_id, path)
        for method in ("post", "put", "patch", "delete"):
            if method not in item or path == "/api/auth/token/":
                continue
            for body in ("null", "[1]", DEEP, '{"name": "a\\u0000b"}'):
                response = getattr(c, method)(url, body, content_type="application/json")
                assert response.status_code < 500, (method, url, body[:20], response.content[:300])
                if response.status_code >= 400:
                    assert_error(response, response.status_code)
                checked += 1
    assert checked > 100
    assert Event.objects.count() == before
