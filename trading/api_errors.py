"""The one error shape of the API: every /api/ answer that is not a success is

    {"code": "<stable code>", "detail": "<one readable line, in the request's language>", "fields": {...}}

`code` is one of ERROR_CODES (documented in the OpenAPI schema as the `Error` component); `fields` maps a
field (dotted for nested ones: "lots.0.bid_deadline") to its messages, empty when the error is not about a
field. The pieces:

- `exception_handler` — DRF's EXCEPTION_HANDLER: domain errors, DRF's own exceptions (401, 403, 404, 405,
  406, 415, 429, validation), Django's (PermissionDenied, ValidationError, oversized bodies) and database
  refusals of bad values become 4xx answers in the shape, never a 500.
- `error_response(request, status=..., code=..., detail=..., fields=..., headers=...)` — the same shape
  as a plain Django JsonResponse, for code outside DRF (middleware such as login throttling: 429).
- `handler400/403/404/500` and `csrf_failure` — Django's error views: JSON in the shape under /api/, the
  usual pages elsewhere (config/urls.py installs them).
"""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, JsonResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import exceptions as drf
from rest_framework.response import Response

from trading.errors import DomainError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

# Every code an error answer can carry, with its status and what it means (the OpenAPI `Error.code` enum).
ERROR_CODES: dict[str, tuple[int, str]] = {
    "invalid": (400, "the request is invalid: a parameter, field or body value is wrong (see fields)"),
    "parse_error": (400, "the body is not well-formed JSON (or form data)"),
    "bad_text": (400, "a text value holds a NUL or control character or a bidirectional override"),
    "too_deep": (400, "the JSON body is nested deeper than the limit"),
    "not_an_object": (400, "the body must be a JSON object"),
    "invalid_login": (400, "wrong user name or password"),
    "key_refused": (400, "security key: its answer did not verify (not one of the account's keys, a bad signature, "
                         "another site, a signature counter that did not move forward); nothing was changed"),
    "key_challenge_missing": (400, "security key: no request is pending in this session (its challenge was already "
                                   "answered, or never asked for): ask for new options"),
    "key_challenge_expired": (400, "security key: the request's challenge expired: ask for new options"),
    "not_authenticated": (401, "no credentials were given: log in or send `Authorization: Token <key>`"),
    "authentication_failed": (401, "the credentials given are wrong (unknown or revoked token)"),
    "forbidden": (403, "the caller's role or organisation may not do this"),
    "permission_denied": (403, "the caller may not do this (also a missing CSRF token on a session call)"),
    "not_found": (404, "no such object or URL (also an object the caller may not know exists)"),
    "method_not_allowed": (405, "the URL does not take this HTTP method"),
    "not_acceptable": (406, "no representation matches the Accept header"),
    "conflict": (409, "not possible in the current state (wrong status, too late, already done)"),
    "suspended": (409, "the project is suspended by its supervising department: no step until it is lifted"),
    "calendar_unknown": (409, "a working-day deadline runs past the years of the official calendar loaded"),
    "too_large": (413, "the body is larger than the limit"),
    "unsupported_media_type": (415, "the body's Content-Type is not accepted here"),
    "throttled": (429, "too many requests or failed logins; try again later (see Retry-After)"),
    "second_factor_throttled": (429, "second factor: too many refused security-key answers (for this account) or "
                                     "wrong codes (for the device they were meant for: authenticator or recovery "
                                     "codes) in a row; try again after the delay (see Retry-After), which doubles "
                                     "with each further refusal"),
    "server_error": (500, "an unexpected error on the platform's side; nothing was changed"),
    # a refused auction bid or command: the engine's reason (bidding.auction.services.STATUS_FOR_CODE); a
    # refused bid's answer also carries `minimum_fen` / `minimum`, the lowest acceptable amount now
    "too_low": (400, "auction: the bid is below the minimum (the price plus one increment)"),
    "not_multiple": (400, "auction: the bid is not the price plus a whole number of increments"),
    "too_high": (400, "auction: the bid raises the price by more than the maximum jump"),
    "invalid_amount": (400, "auction: the amount is not a positive number of fen"),
    "malformed": (400, "auction: the bid or its reference is malformed"),
    "reason_required": (400, "auction: a pause needs a reason"),
    "no_security": (403, "auction: the bidder was not admitted (registration or security not confirmed)"),
    "not_a_bidder": (403, "auction: only bidders may bid"),
    "not_eligible": (403, "auction: only the bidders who asked to go on to live bidding may bid"),
    "not_started": (409, "auction: the auction has not started"),
    "closed": (409, "auction: the auction is closed"),
    "paused": (409, "auction: the auction is paused"),
    "already_highest": (409, "auction: the bidder already holds the highest bid"),
    "wrong_phase": (409, "auction: not possible in the auction's current phase"),
    "nothing_to_do": (409, "auction: already done"),
}

ERROR_CODE_LIST = list(ERROR_CODES)  # the OpenAPI enum (ErrorCodeEnum)

# The detail of an error whose cause has nothing more specific to say (translated: zh-hans / en).
DEFAULT_DETAILS = {
    "invalid": _("The request is invalid."),
    "parse_error": _("The request body is not well-formed."),
    "bad_text": _("Text may not contain NUL or control characters or bidirectional overrides."),
    "too_deep": _("The JSON body is nested too deeply."),
    "not_an_object": _("The request body must be a JSON object."),
    "key_refused": _("The security key's answer was refused."),
    "key_challenge_missing": _("No security-key request is pending: start again."),
    "key_challenge_expired": _("The security-key request expired: start again."),
    "not_authenticated": _("Authentication credentials were not provided."),
    "authentication_failed": _("Incorrect authentication credentials."),
    "forbidden": _("You do not have permission to perform this action."),
    "permission_denied": _("You do not have permission to perform this action."),
    "not_found": _("Not found."),
    "method_not_allowed": _("This method is not allowed here."),
    "not_acceptable": _("Could not satisfy the request Accept header."),
    "conflict": _("The request conflicts with the current state."),
    "suspended": _("The project is suspended."),
    "calendar_unknown": _("The official working-day calendar for that date is not loaded."),
    "too_large": _("The request body is too large."),
    "unsupported_media_type": _("Unsupported media type in the request."),
    "throttled": _("Too many requests; try again later."),
    "second_factor_throttled": _("Too many refused security-key attempts: try again later."),
    "server_error": _("Server error: the request could not be completed and nothing was changed."),
}

# DRF's exception classes → our code (DRF's own codes are kept where they exist).
_DRF_CODES = {
    drf.ParseError: "parse_error",
    drf.AuthenticationFailed: "authentication_failed",
    drf.NotAuthenticated: "not_authenticated",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
    drf.ValidationError: "invalid",
}


class ApiError(drf.APIException):
    """An API error with one of our codes, raised by parsers and helpers (e.g. 413 too_large)."""

    def __init__(self, code: str, detail: Any = None, *, status: int | None = None, fields: dict | None = None):
        self.status_code = status or ERROR_CODES[code][0]
        self.error_code = code
        self.fields = fields or {}
        super().__init__(detail if detail is not None else DEFAULT_DETAILS[code], code)


def error_body(code: str, detail: Any = None, fields: dict | None = None) -> dict:
    """The error shape as a dict (detail rendered in the active language)."""
    if code not in ERROR_CODES:
        raise ValueError(f"undocumented error code {code!r}: add it to trading.api_errors.ERROR_CODES")
    return {"code": code, "detail": str(detail if detail not in (None, "") else DEFAULT_DETAILS[code]),
            "fields": {str(k): [str(m) for m in v] for k, v in (fields or {}).items()}}


def error_response(request, *, status: int, code: str, detail: Any = None, fields: dict | None = None,
                   headers: dict | None = None) -> JsonResponse:
    """The error shape as a plain Django response, in the request's language. For code outside DRF's views
    (middleware, Django's error handlers): e.g. login throttling answers
    `error_response(request, status=429, code="throttled", headers={"Retry-After": "60"})`."""
    language = translation.get_language_from_request(request) if request is not None else None
    with translation.override(language or translation.get_language()):
        body = error_body(code, detail, fields)
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


# ------------------------------------------------------------------------------------- DRF's handler

def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER. Anything it does not know becomes a 500 through Django (handler500)."""
    from rest_framework.views import set_rollback  # not at import: DRF's views read the parser setting

    response = _handle(exc, context)
    if response is not None:
        set_rollback()  # a failed action changes nothing
    return response


def _handle(exc, context):
    if isinstance(exc, DomainError):
        fields = {exc.field: [exc.message]} if exc.field else {}
        headers = {"WWW-Authenticate": 'Token realm="api"'} if exc.status_code == 401 else None
        return Response(error_body(exc.code, exc.message, fields), status=exc.status_code, headers=headers)
    if isinstance(exc, ApiError):
        return Response(error_body(exc.error_code, exc.detail, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = {k: v for k, v in exc.message_dict.items() if k != "__all__"} if hasattr(exc, "error_dict") else {}
        return Response(error_body("invalid", "; ".join(exc.messages), fields), status=400)
    if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        return Response(error_body("too_large", None), status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("invalid", None), status=400)
    if isinstance(exc, DataError):  # e.g. a value longer than its column: bad input, never a 500
        return Response(error_body("invalid", _("A value is too long or out of range.")), status=400)
    if isinstance(exc, IntegrityError):
        return Response(error_body("conflict", _("The request conflicts with existing data.")), status=409)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied(str(exc) or None)
    from rest_framework.views import exception_handler as drf_handler

    response = drf_handler(exc, context)  # sets WWW-Authenticate, Retry-After, Allow
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None) or _code_for_status(response.status_code)
    data = response.data
    if isinstance(exc, drf.ValidationError):
        fields = _fields(data) if isinstance(data, dict) else {}
        response.data = error_body("invalid", _flatten(data) or None, fields)
    else:
        detail = data.get("detail") if isinstance(data, dict) else _flatten(data)
        response.data = error_body(code, detail)
    return response


def _code_for_status(status: int) -> str:
    return next((code for code, (s, _d) in ERROR_CODES.items() if s == status), "invalid" if status < 500 else "server_error")


def _fields(data, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation errors as {"lots.0.bid_deadline": ["…"], …} (non-field errors left out)."""
    out: dict[str, list[str]] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("non_field_errors", "detail") and not prefix:
                continue
            out.update(_fields(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list):
        if all(not isinstance(v, (dict, list)) for v in data):
            if prefix:
                out[prefix] = [str(v) for v in data]
        else:
            for i, v in enumerate(data):
                out.update(_fields(v, f"{prefix}.{i}" if prefix else str(i)))
    elif prefix:
        out[prefix] = [str(data)]
    return out


def _flatten(data, prefix: str = "") -> str:
    """DRF's nested error structure as one readable line: "lots.0.bid_deadline: …; budget: …"."""
    if isinstance(data, dict):
        parts = []
        for key, value in data.items():
            name = "" if key in ("non_field_errors", "detail") else str(key)
            parts.append(_flatten(value, f"{prefix}.{name}" if prefix and name else (prefix or name)))
        return "; ".join(p for p in parts if p)
    if isinstance(data, list):
        if all(not isinstance(v, (dict, list)) for v in data):
            text = " ".join(str(v) for v in data)
            return f"{prefix}: {text}" if prefix and text else text
        return "; ".join(p for p in (_flatten(v, f"{prefix}.{i}" if prefix else str(i)) for i, v in enumerate(data)) if p)
    return f"{prefix}: {data}" if prefix else str(data)


# ------------------------------------------------------------------------------ Django's error views

def handler400(request, exception=None):
    if is_api_request(request):
        if isinstance(exception, (RequestDataTooBig, TooManyFieldsSent)):
            return error_response(request, status=413, code="too_large")
        return error_response(request, status=400, code="invalid")
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if is_api_request(request):
        return error_response(request, status=403, code="permission_denied",
                              detail=str(exception) if exception and str(exception) else None)
    return defaults.permission_denied(request, exception)


def handler404(request, exception=None):
    if is_api_request(request):
        return error_response(request, status=404, code="not_found")
    return defaults.page_not_found(request, exception)


def handler500(request):
    if is_api_request(request):
        return error_response(request, status=500, code="server_error")
    return defaults.server_error(request)


def csrf_failure(request, reason=""):
    if is_api_request(request):
        return error_response(request, status=403, code="permission_denied", detail=_("CSRF check failed."))
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason=reason)
