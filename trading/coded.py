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

    def __init__(self, template: str = "", *, code: str | None = None, key: str | None = None,
                 field: str | None = None, cause: Any = None, **params: Any):
        self.template = template
        self.params = params
        if code is not None:
            self.code = code
        # the catalogue's key: the code, unless the class's code is a coarser record code (the envelope's
        # ``malformed_envelope`` kept in opening records) and the sentence is told apart by ``key``
        self.key = key or self.code
        if field is not None:
            self.field = field
        self.cause = cause  # a DomainError of the platform's own (already translatable) that this refusal wraps
        super().__init__(template % with_money(params) if params else template)

    @property
    def english(self) -> str:
        return str(self)


def with_money(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters, each amount given in fen (``minimum_fen``) also given as ``minimum`` in the one money
    format ("1234.56", ``trading.money.format_fen``) for the sentences to name."""
    if not any(key.endswith("_fen") for key in params):
        return params
    from trading.money import format_fen, renamed

    values = dict(params)
    for key, value in params.items():
        if key.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
            values[renamed(key)] = format_fen(value)
    return values
