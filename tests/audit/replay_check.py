"""The replay-equals-live check, run after every database test (autouse fixture in tests/conftest.py)."""
from __future__ import annotations

from django.db import connection
from django.utils import timezone


def database_fixture(request) -> str | None:
    names = set(request.fixturenames)
    for name in ("transactional_db", "live_server", "db"):
        if name in names:
            return "transactional_db" if name == "live_server" else name
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        return "transactional_db" if marker.kwargs.get("transaction") else "db"
    return None


def check_replay_equals_live(request) -> None:
    if connection.connection is None or connection.needs_rollback:
        return
    from audit.models import Event
    from frontend.selectors import replay_differences
    from trading.models import Project

    last = Event.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    moment = max(timezone.now(), last) if last else timezone.now()
    problems = []
    for project in Project.objects.order_by("id"):
        diffs = replay_differences(project, moment)
        if diffs:
            problems.append(f"project {project.code}: " + "; ".join(diffs[:8]))
    assert not problems, "replay of the audit events differs from the live state:\n" + "\n".join(problems)
