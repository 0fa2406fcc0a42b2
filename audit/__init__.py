"""Audit: the append-only, tamper-evident event log. Imports nothing of the other apps."""


def record(**kwargs):
    """Append an audit event in the caller's transaction (see audit.services.record_event)."""
    from audit.services import record_event

    return record_event(**kwargs)


def close_project(**kwargs):
    """Record a project's closing event once (see audit.services.close_project)."""
    from audit.services import close_project

    return close_project(**kwargs)
