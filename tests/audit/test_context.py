"""Every action records its network address and client privately, committed by a salted hash in the event."""
from __future__ import annotations

import pytest

from audit import context
from audit.models import Event, EventContext
from trading.models import Project

pytestmark = pytest.mark.django_db


def test_request_address_and_client_are_private_and_committed(world, clock):
    from rest_framework.test import APIClient

    from tests.trading.test_api import project_body

    api = APIClient()
    api.force_authenticate(world.staff)
    response = api.post("/api/projects/", project_body(world), format="json", REMOTE_ADDR="203.0.113.7",
                        HTTP_USER_AGENT="TestBrowser/1.0")
    assert response.status_code == 201, response.content
    project = Project.objects.get(code=response.json()["code"])
    event = Event.objects.get(action="project.create", project_id=project.pk)
    assert "203.0.113.7" not in event.canonical and "TestBrowser" not in event.canonical
    row = EventContext.objects.get(event_uid=event.uid)
    assert row.context == {"address": "203.0.113.7", "client": "TestBrowser/1.0"}
    assert event.body["ctx"] == context.commitment(row.context, bytes.fromhex(row.salt))
    assert context.verify_context(event)
    # a changed private record no longer matches the log
    EventContext.objects.filter(pk=row.pk).update(context={"address": "198.51.100.1", "client": "TestBrowser/1.0"})
    assert not context.verify_context(event)


def test_same_address_two_events_two_hashes(world):
    """Salted: the same address gives different hashes, so the public log does not link actions."""
    from django.db import transaction

    import audit

    token = context.begin(address="10.0.0.1", client="x")
    try:
        with transaction.atomic():
            a = audit.record(action="test.a", subject="t", payload={})
            b = audit.record(action="test.b", subject="t", payload={})
    finally:
        context.end(token)
    assert a.body["ctx"] != b.body["ctx"] and context.verify_context(a) and context.verify_context(b)


def test_no_context_no_hash(world):
    from django.db import transaction

    import audit

    with transaction.atomic():
        e = audit.record(action="test.c", subject="t", payload={})
    assert "ctx" not in e.body and not EventContext.objects.filter(event_uid=e.uid).exists()
    assert context.verify_context(e)
