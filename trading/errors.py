"""Domain errors raised by services; the API and the pages turn them into 4xx answers with the message."""
from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    status_code = 400
    code = "invalid"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotAuthenticated(Forbidden):
    """Refused because nobody is signed in (the API answers 401; a Forbidden for every other purpose)."""

    status_code = 401
    code = "not_authenticated"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The action is not possible in the current state (wrong status, too late, already done)."""

    status_code = 409
    code = "conflict"
