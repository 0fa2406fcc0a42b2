"""Domain errors raised by services; the API and the pages turn them into 4xx answers with the message.

A message is written once, translatable, with named placeholders filled at render time:

    raise Conflict(_("lot %(lot_id)s is %(status)s"), lot_id=lot.pk, status=lot.status)

(`_` is `gettext_lazy`). `exc.message` renders it in the active language — the request's, which
`LocaleMiddleware` activates — so the API's `detail` and the pages' flash messages come in the caller's
language; `exc.untranslated` is the English text, for logs and audit payloads (never language-dependent).
tests/trading/test_error_messages.py refuses a literal message without a zh-hans translation.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _


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
        return render(self.template, self.params)

    @property
    def untranslated(self) -> str:
        with translation.override(None):
            return self.message

    def __str__(self) -> str:
        return self.message


def render(template: Any, params: Mapping[str, Any] | None = None) -> str:
    """A (lazy) translatable message in the active language with its named parameters. An amount given in fen
    (``minimum_fen``) is also given as ``minimum``, formatted by the one money formatter ("1234.56")."""
    from trading.coded import with_money

    text = str(template)
    return text % with_money(dict(params)) if params else text


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


def translated(error: type[DomainError], exc: Any, catalogue: Mapping[str, Any], *, field: str | None = None,
               **extra: Any) -> DomainError:
    """The DomainError of ``error``'s class for a pure module's coded refusal (``trading.coded.CodedError`` or
    anything with ``code`` and ``params``): the translatable message of its code in the owning app's
    ``catalogue`` (``<app>/messages.py``) with the refusal's parameters, so ``detail`` follows the request's
    language. The pure module's English sentence is never passed on; a code missing from the catalogue
    (tests/trading/test_error_messages.py forbids it) falls back to the catalogue's ``""`` entry or the
    generic message of the class."""
    if isinstance(getattr(exc, "cause", None), DomainError):
        return exc.cause
    params = {**getattr(exc, "params", {}), **extra}
    template = catalogue.get(getattr(exc, "key", None) or exc.code) or catalogue.get("")
    if template is None:
        template, params = _GENERIC.get(error.status_code, _GENERIC[400]), {}
    return error(template, field=field or getattr(exc, "field", None), **params)


_GENERIC = {
    400: _("The request is invalid."),
    403: _("You do not have permission to perform this action."),
    404: _("Not found."),
    409: _("The request conflicts with the current state."),
}
