"""The OpenAPI contract's shared parts: the one error shape and the statuses every operation documents.

`SunlightAutoSchema` (settings.REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]) adds to every operation the error
answers it can give — 400, 401, 403, 404, 405, 413, 415, 429 and 500 everywhere (malformed input, missing
or wrong credentials, roles, unknown ids, wrong method, oversize or non-JSON bodies, throttling, a server
fault), 409 on writes — all with the `Error` component ({"code", "detail", "fields"}; `code` an enum of
trading.api_errors.ERROR_CODES, each explained in the component's description). A view's own annotation
of a status wins.
"""
from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

from trading.api_errors import ERROR_CODES

ERROR_COMPONENT = "Error"
READ_ERRORS = (400, 401, 403, 404, 405, 406, 413, 415, 429, 500)
WRITE_ERRORS = READ_ERRORS + (409,)
STATUS_TEXT = {400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
               406: "Not acceptable", 409: "Conflict with the current state", 413: "Body too large",
               415: "Unsupported media type", 429: "Too many requests", 500: "Server error"}


def error_schema() -> dict:
    codes = "\n".join(f"- `{code}` ({status}): {text}" for code, (status, text) in ERROR_CODES.items())
    return {
        "type": "object",
        "description": "The one error shape of every /api/ answer that is not a success. `detail` is one readable "
                       "line in the request's language (Accept-Language: zh-hans or en); `fields` maps a field "
                       "(dotted for nested ones) to its messages, empty when the error is not about a field.\n\n"
                       "Codes:\n" + codes,
        "properties": {
            "code": {"type": "string", "enum": list(ERROR_CODES), "description": "stable, machine-readable"},
            "detail": {"type": "string", "description": "for people, in the request's language"},
            "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        },
        "required": ["code", "detail", "fields"],
        "additionalProperties": False,
    }


class SunlightAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        self.registry.register_on_missing(_error_component())
        method = self.method.upper()
        wanted = READ_ERRORS if method in ("GET", "HEAD", "OPTIONS") else WRITE_ERRORS
        ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
        for status in wanted:
            key = str(status)
            if key in responses and "content" in responses[key]:
                # a view's own error annotation: make it the one shape
                for media in responses[key]["content"].values():
                    media["schema"] = ref
                continue
            responses[key] = {"content": {"application/json": {"schema": ref}},
                              "description": STATUS_TEXT.get(status, "Error")}
        return responses


def _error_component():
    from drf_spectacular.plumbing import ResolvedComponent

    return ResolvedComponent(name=ERROR_COMPONENT, type=ResolvedComponent.SCHEMA, object=ERROR_COMPONENT,
                             schema=error_schema())


# --------------------------------------------------------------------------- response shapes for views
# Views that build their answers by hand describe them with these (documentation only: never used to render).

_SHAPES: dict[str, type] = {}


def shape(name: str, fields: dict, *, many: bool = False, **kw):
    """A named response component from serializer fields (drf-spectacular's inline_serializer); one class
    per name, so a shape used in several places is one component."""
    from drf_spectacular.utils import inline_serializer

    cls = _SHAPES.get(name)
    if cls is None:
        cls = _SHAPES[name] = type(inline_serializer(name, fields))
    return cls(many=many, **kw)


def text(**kw):
    from rest_framework import serializers

    return serializers.CharField(**kw)


def money(**kw):
    """An amount: a decimal yuan string ("1234.56") with the one pattern (trading.money)."""
    from trading.serializers import MoneyField

    return MoneyField(**kw)


def moment(**kw):
    """A point in time: ISO 8601, UTC, ending in ``Z`` (audit.timestamps)."""
    from rest_framework import serializers

    return serializers.DateTimeField(**kw)


def day(**kw):
    """A calendar day: ISO 8601 date (``2026-04-01``), no time, no zone."""
    from rest_framework import serializers

    return serializers.DateField(**kw)


def integer(**kw):
    from rest_framework import serializers

    return serializers.IntegerField(**kw)


def boolean(**kw):
    from rest_framework import serializers

    return serializers.BooleanField(**kw)


def anything(**kw):
    """Any JSON value (a structure the platform passes through, e.g. an evaluation method or report)."""
    from rest_framework import serializers

    return serializers.JSONField(**kw)


def listof(child, **kw):
    from rest_framework import serializers

    return serializers.ListField(child=child, **kw)


def mapping(**kw):
    from rest_framework import serializers

    return serializers.DictField(**kw)
