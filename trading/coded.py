"""A pure module's refusal with a stable code and its parameters as data. Pure (no Django).

Pure modules (the envelope crypto, the scoring rules, the auction engine's configuration, the statement
parser…) say in English what is wrong — for logs and the English command-line tools — and give each refusal
a stable ``code`` with the values it names as ``params``:

    raise ScoringError("weights must sum to 100 points (they sum to %(total)s)", code="weights_sum", total="90")

``str(exc)`` is the English sentence. The edge (a service, an API view, a consumer) never passes that
sentence on to a user: it looks the code up in the owning app's catalogue of translatable messages
(``<app>/messages.py``: code → ``gettext_lazy`` text with the same placeholders) and raises the DomainError
through ``trading.errors.translated``, so the answer's ``detail`` is in the request's language.
tests/trading/test_error_messages.py checks that every code raised in a pure module has its catalogue entry,
with the same English text and placeholders, and a zh-hans translation.
"""
from __future__ import annotations

from typing import Any


class CodedError(ValueError):
    """Base of the pure modules' refusals: ``code`` (stable), ``params`` (data), ``field`` (the input at fault,
    if any); ``template`` is the English text with named ``%(…)s`` placeholders."""

    code = "invalid"
    field: str | None = None

    def __init__(self, template: str = "", *, code: str | None = None, field: str | None = None, **params: Any):
        self.template = template
        self.params = params
        if code is not None:
            self.code = code
        if field is not None:
            self.field = field
        super().__init__(template % params if params else template)

    @property
    def english(self) -> str:
        return str(self)
