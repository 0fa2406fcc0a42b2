"""The input rules, in one place: what text the platform takes from outside, and how deep and large JSON may be.

- Text (every string in a JSON body — keys too —, every query-string and form value, the URL path, the
  cookies and the Authorization header) may not hold NUL or other control characters (tab, line feed
  and carriage return are fine), lone UTF-16 surrogates, or the bidirectional embeddings, overrides and
  isolates (U+202A–U+202E, U+2066–U+2069) that make a name or title read differently from what it is
  ("Trojan source"). Refused with a 400, code `bad_text`.
- A JSON body is at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (413 `too_large`), nested at most
  SUNLIGHT_JSON_MAX_DEPTH deep (400 `too_deep`), and is an object (400 `not_an_object`): every JSON
  endpoint of the API takes an object.
- Integers and ids: `trading.ids.parse_int` (ASCII digits only).
- No key of a JSON body ends in ``_fen``: amounts are decimal strings under their plain name (400 `invalid`
  naming the field to use; docs/api-formats.md).

`SafeJSONParser` is DRF's default parser (settings.REST_FRAMEWORK); `HostileInputMiddleware` checks the
rest of the request before any view or session lookup runs.
"""
from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from rest_framework.parsers import JSONParser

from trading.api_errors import ApiError, error_response, is_api_request
from trading.money import FEN_SUFFIX, renamed

# C0 controls but TAB, LF, CR; DEL and C1 controls; lone surrogates; bidi embeddings/overrides/isolates.
BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
DEFAULT_MAX_DEPTH = 32


def bad_text(value: str) -> str | None:
    """The first forbidden character of `value` as U+XXXX, or None when the text is acceptable."""
    m = BAD_TEXT.search(value)
    return None if m is None else f"U+{ord(m.group()):04X}"


def check_text(value: str, *, field: str) -> str:
    """`value` if it is acceptable text, else ApiError 400 bad_text naming the field and the character."""
    found = bad_text(value)
    if found:
        raise ApiError("bad_text", _("%(field)s: character %(char)s is not allowed in text") % {"field": field, "char": found},
                       fields={field: [_("character %(char)s is not allowed") % {"char": found}]})
    return value


def text_field(data: Any, name: str, default: str = "") -> str:
    """A text field of a request body (absent or null → ``default``); anything but text is a 400."""
    value = data.get(name, default)
    if value is None:
        value = default
    if not isinstance(value, str):
        from trading.errors import Invalid

        raise Invalid(_("%(name)s must be text"), name=name, field=name)
    return value


def refuse_fen_key(key: str, *, field: str) -> None:
    """A ``*_fen`` field sent in: the old form of an amount (docs/api-formats.md). 400 naming the field to use."""
    message = _('amounts are given as "%(name)s", a decimal string like "1234.56" (yuan), not in fen') % {
        "name": renamed(key)}
    raise ApiError("invalid", f"{field}: {message}", fields={field: [message]})


def max_depth() -> int:
    return int(getattr(settings, "SUNLIGHT_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def max_bytes() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 20 * 1024 * 1024)


def check_json(data: Any, *, limit: int | None = None) -> Any:
    """Walks a parsed JSON value (without recursion): depth ≤ limit and every string (keys too) acceptable."""
    limit = max_depth() if limit is None else limit
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            check_text(value, field=path or "body")
        elif isinstance(value, (dict, list)):
            if depth > limit:
                raise ApiError("too_deep", _("The JSON body is nested deeper than %(limit)d levels.") % {"limit": limit})
            if isinstance(value, dict):
                for key, item in value.items():
                    name = f"{path}.{key}" if path else str(key)
                    check_text(key, field=name)
                    if isinstance(key, str) and key.endswith(FEN_SUFFIX):
                        refuse_fen_key(key, field=name)
                    stack.append((item, depth + 1, name))
            else:
                for i, item in enumerate(value):
                    stack.append((item, depth + 1, f"{path}.{i}" if path else str(i)))
    return data


class SafeJSONParser(JSONParser):
    """DRF's JSON parser with the input rules: size, depth, text, and an object at the top."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ApiError("too_large", _("The request body is larger than %(limit)d bytes.") % {"limit": limit})
        if not raw.strip():
            return {}
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_no_constant)
        except RecursionError:
            raise ApiError("too_deep") from None
        except json.JSONDecodeError as exc:  # where, in the request's language (the decoder's words are English)
            raise ApiError("parse_error", _("JSON parse error at line %(line)s, column %(column)s") % {
                "line": exc.lineno, "column": exc.colno}) from None
        except (ValueError, UnicodeDecodeError):  # not text in the charset, or NaN/Infinity
            raise ApiError("parse_error", _("The request body is not well-formed JSON (text in UTF-8, without NaN "
                                            "or Infinity).")) from None
        check_json(data)
        if not isinstance(data, dict):
            raise ApiError("not_an_object")
        return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


# ----------------------------------------------------------------------------------- the middleware

class HostileInputMiddleware:
    """Refuses, with a 400 before anything else runs, a request whose path, query string, form fields,
    cookies or Authorization header hold forbidden text (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = self._problem(request)
        if problem is not None:
            field, char = problem
            with translation.override(translation.get_language_from_request(request)):  # before LocaleMiddleware
                detail = _("%(field)s: character %(char)s is not allowed in text") % {"field": field, "char": char}
                message = _("character %(char)s is not allowed") % {"char": char}
            if is_api_request(request):
                return error_response(request, status=400, code="bad_text", detail=detail, fields={field: [message]})
            return HttpResponse(f"<!doctype html><title>400</title><h1>400</h1><p>{_escape(detail)}</p>",
                                status=400, content_type="text/html; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _problem(request) -> tuple[str, str] | None:
        found = bad_text(request.path_info)
        if found:
            return "path", found
        for name, values in request.GET.lists():
            for text in (name, *values):
                found = bad_text(text)
                if found:
                    return name, found
        for name, value in request.COOKIES.items():
            found = bad_text(name) or bad_text(value)
            if found:
                return "cookie", found
        found = bad_text(request.META.get("HTTP_AUTHORIZATION", ""))
        if found:
            return "Authorization", found
        content_type = request.META.get("CONTENT_TYPE", "")
        if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
            for name, values in request.POST.lists():
                for text in (name, *values):
                    found = bad_text(text)
                    if found:
                        return name, found
        return None


def _escape(text: str) -> str:
    from django.utils.html import escape

    return escape(text)


def document_hashes(value: Any, *, field: str = "documents", required: bool = False) -> list[dict[str, str]]:
    """A list of signed documents as ``[{name, sha256}]`` (the contract documents staff record: the file stays with
    the parties, its SHA-256 goes into the log). Refused with ``Invalid`` naming ``field``."""
    from trading.errors import Invalid

    if value in (None, "") and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
        raise Invalid(_("%(field_name)s must be a list of {name, sha256}"), field_name=field, field=field)
    docs = []
    for d in value:
        name, digest = str(d.get("name", "")).strip(), str(d.get("sha256", "")).strip().lower()
        if not name or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise Invalid(_("each contract document needs a name and its SHA-256 (64 hex digits)"), field=field)
        docs.append({"name": check_text(name, field=field), "sha256": digest})
    if required and not docs:
        raise Invalid(_("the signed contract's document (its name and SHA-256) is required"), field=field)
    return docs
