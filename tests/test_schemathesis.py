"""schemathesis over the whole OpenAPI schema (issue 13), as each role, against the real WSGI app in-process on
the real PostgreSQL test database: no 5xx, no status code the operation does not document, no response that
breaks its schema, no undocumented content type.

Bounded for CI: SUNLIGHT_SCHEMATHESIS_EXAMPLES generated cases per operation and role (default 3), run twice —
once with generated path parameters (mostly unknown ids) and once with the ids of real objects — without
shrinking (a failure is recorded with its reproduction and the run goes on, so one test lists them all).
"""
from __future__ import annotations

import os
import re

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from schemathesis.checks import not_a_server_error
from tests import factories

EXAMPLES = int(os.environ.get("SUNLIGHT_SCHEMATHESIS_EXAMPLES", "3"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = ["anonymous", "bidder", "staff", "supervisor", "expert", "admin"]
# Operations left out, each with its reason.
SKIP = {
    ("POST", "/api/auth/token/"): "exchanges a password: random ones fill the login throttle (tested in test_error_shape)",
}


@pytest.fixture(scope="module")
def api_schema():
    """The OpenAPI schema, generated once for all roles (as /api/schema/ serves it)."""
    import json

    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    raw = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(raw))


@pytest.fixture
def wsgi_app():
    """The real WSGI app, in this thread, on the test's database connection (as Django's test client does,
    the connection is not closed at the end of each request)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _user_for(world, role):
    return {"anonymous": None, "bidder": world.bidders[0], "staff": world.staff, "supervisor": world.supervisor,
            "expert": world.expert, "admin": world.admin}[role]


def _real_ids(world) -> dict[str, object]:
    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    notice = project.notices.first()
    assert notice is not None
    return {"project": project.code, "lot": lot.pk, "notice": notice.pk, "organisation": world.bidder_orgs[0].pk}


def _fixed_path(path: str, names: list[str], ids: dict) -> dict:
    out = {}
    for name in names:
        if name == "lot_id":
            out[name] = ids["lot"]
        elif name in ("id", "pk"):
            for resource, key in (("projects", "project"), ("lots", "lot"), ("notices", "notice"),
                                  ("organisations", "organisation")):
                if re.search(rf"/{resource}/\{{{name}\}}/", path):
                    out[name] = ids[key]
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_whole_api(role, world, wsgi_app, api_schema):
    schema = schemathesis.openapi.from_dict(api_schema)
    user = _user_for(world, role)
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"} if user else {}
    ids = _real_ids(world)
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # a broken operation fails here
        key = (operation.method.upper(), operation.path)
        if key in SKIP:
            continue
        names = [p.name for p in operation.path_parameters]
        fixed = _fixed_path(operation.path, names, ids)
        for path_parameters in ([None, fixed] if fixed else [None]):
            strategy = operation.as_strategy(path_parameters=path_parameters) if path_parameters else operation.as_strategy()

            @given(case=strategy)
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def run(case):
                nonlocal calls
                calls += 1
                response = case.call(app=wsgi_app, headers=headers)
                try:
                    case.validate_response(response, checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:  # every failure is collected, none shrunk
                    inner = getattr(exc, "exceptions", None) or [exc]
                    for failure in inner:
                        text = str(failure).strip().splitlines()
                        failures.append(f"[{role}] {key[0]} {key[1]} -> {response.status_code}: "  # noqa: B023 (run now)
                                        + " | ".join(line.strip() for line in text[:3] if line.strip())
                                        + f" | body: {response.text[:200]}")

            run()
    assert calls > 0
    unique = sorted(set(failures))
    assert not unique, f"{len(unique)} failures in {calls} calls:\n" + "\n".join(unique[:300])
