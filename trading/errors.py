"""Domain errors raised by services; the API and the pages turn them into 4xx answers with the message.

A message is written once, translatable, with named placeholders filled at render time:

    raise Conflict(_("lot %(lot_id)s is %(status)s"), lot_id=lot.pk, status=lot.status)

(`_` is `gettext_lazy`). `exc.message` renders it in the active language — the request's, which
`LocaleMiddleware` activates — so the API's `detail` and the pages' flash messages come in the caller's
language; `exc.untranslated` is the English text, for logs and audit payloads (never language-dependent).
tests/trading/test_error_messages.py refuses a literal message without a zh-hans translation.
"""
from __future__ import annotations

from typing import Any

from django.utils import translation


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: Any, *, field: str | None = None, **params: Any):
        super().__init__(message)
        self.template = message  # a (lazy) translatable string, or an already rendered one passed through
        self.params = params
        self.field = field

    @property
    def message(self) -> str:
        """The message in the active language."""
        text = str(self.template)
        return text % self.params if self.params else text

    @property
    def untranslated(self) -> str:
        with translation.override(None):
            return self.message

    def __str__(self) -> str:
        return self.message


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
