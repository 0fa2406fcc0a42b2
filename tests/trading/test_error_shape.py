"""Every /api/ answer that is not a success is {"code", "detail", "fields"} (trading/api_errors.py), JSON and
never an HTML page, with `detail` in the request's language and `code` one of the documented codes."""
from __future__ import annotations

import inspect
import json

import pytest
from django.test import Client, RequestFactory

from tests.trading.test_hostile_input import assert_error, client_for
from trading import api_errors, errors
from trading.api_errors import ERROR_CODES, error_response


@pytest.mark.django_db
def test_401_not_authenticated_and_bad_token():
    body = assert_error(client_for().post("/api/envelopes/custody-keys/", {}, content_type="application/json"), 401,
                        "not_authenticated")
    assert body["code"] in ERROR_CODES
    response = client_for().get("/api/projects/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.django_db
def test_403_forbidden(world):
    c = client_for(world.bidders[0])
    assert_error(c.post("/api/projects/", {}, content_type="application/json"), 403, "forbidden")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/nothing-here/", "/api/", "/api/projects/NO-SUCH/", "/api/audit/checkpoints/999999/",
                                 "/api/evaluation/lots/999999/plan/", "/api/deposits/accounts/999999/"])
def test_404_is_json_in_the_shape(world, url):
    c = client_for(world.staff)
    response = c.get(url)
    if url == "/api/":  # the API root lists the resources
        assert response.status_code == 200
        return
    assert_error(response, 404, "not_found")


@pytest.mark.django_db
def test_405_method_not_allowed():
    response = client_for().delete("/api/projects/")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.django_db
def test_409_conflict(world):
    from tests import factories

    project = factories.make_project(world, publish=False)
    c = client_for(world.staff)
    assert_error(c.get(f"/api/projects/{project.code}/ocds/"), 409, "conflict")


@pytest.mark.django_db
def test_415_unsupported_media_type(world):
    response = client_for(world.staff).post("/api/projects/", "title=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.django_db
def test_429_throttled_login(world, settings):
    c = client_for()
    codes = []
    for _ in range(40):
        response = c.post("/api/auth/token/", {"username": world.staff.username, "password": "wrong"},
                          content_type="application/json")
        codes.append(response.status_code)
        if response.status_code == 429:
            assert_error(response, 429, "throttled")
            break
        assert_error(response, 400, "invalid_login")
    assert codes[-1] == 429, codes


def test_500_under_api_is_json_in_the_shape():
    request = RequestFactory().get("/api/anything/", HTTP_ACCEPT_LANGUAGE="en")
    response = api_errors.handler500(request)
    assert response.status_code == 500
    assert json.loads(response.content) == {"code": "server_error", "fields": {},
                               "detail": "Server error: the request could not be completed and nothing was changed."}


def test_500_on_a_page_stays_a_page():
    request = RequestFactory().get("/projects/x/")
    response = api_errors.handler500(request)
    assert response.status_code == 500
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_413_from_django_on_an_oversized_form_body(settings, world):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    c = client_for(world.staff)
    response = c.post("/api/auth/token/", "username=" + "x" * 5000, content_type="application/x-www-form-urlencoded")
    assert_error(response, 413, "too_large")


@pytest.mark.django_db
def test_validation_errors_name_their_fields(world):
    response = client_for(world.staff).post("/api/organisations/", {"name": "x"}, content_type="application/json")
    body = assert_error(response, 400, "invalid")
    assert "credit_code" in body["fields"] and isinstance(body["fields"]["credit_code"], list)


@pytest.mark.django_db
def test_detail_is_in_the_requests_language():
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/api/nothing-here/").json()
    en = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/nothing-here/").json()
    assert zh["code"] == en["code"] == "not_found"
    assert en["detail"] == "Not found."
    assert zh["detail"] != en["detail"] and any("\u4e00" <= ch <= "\u9fff" for ch in zh["detail"])
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").delete("/api/projects/").json()
    en = Client(HTTP_ACCEPT_LANGUAGE="en").delete("/api/projects/").json()
    assert zh["code"] == en["code"] == "method_not_allowed" and zh["detail"] != en["detail"]


def test_error_response_for_other_code_outside_drf():
    request = RequestFactory().post("/api/auth/token/", HTTP_ACCEPT_LANGUAGE="en")
    response = error_response(request, status=429, code="throttled", headers={"Retry-After": "30"})
    assert response.status_code == 429 and response["Retry-After"] == "30"
    assert json.loads(response.content) == {"code": "throttled", "detail": "Too many requests; try again later.", "fields": {}}


def test_every_domain_error_code_is_documented():
    for _name, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.DomainError):
            assert cls.code in ERROR_CODES and ERROR_CODES[cls.code][0] == cls.status_code, cls


@pytest.mark.django_db
def test_input_rule_details_are_translated():
    url = "/api/projects/?q=%E2%80%AE"
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(url).json()
    en = Client(HTTP_ACCEPT_LANGUAGE="en").get(url).json()
    assert zh["code"] == en["code"] == "bad_text"
    assert en["detail"] == "q: character U+202E is not allowed in text"
    assert zh["detail"] == "q：文本中不允许出现字符 U+202E"
