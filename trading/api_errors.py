"""DRF exception handler: domain errors become 4xx answers with their message, never a 500."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from trading.errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": "; ".join(exc.messages), "code": "invalid"}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        return Response({"detail": str(exc) or "permission denied", "code": "forbidden"}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DataError):  # e.g. a value longer than its column: bad input, never a 500
        return Response({"detail": "a value is too long or out of range", "code": "invalid"},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        return Response({"detail": "the request conflicts with existing data", "code": "conflict"},
                        status=status.HTTP_409_CONFLICT)
    response = drf_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": _flatten(response.data), "code": "invalid", "errors": response.data}
    return response


def _flatten(data, prefix: str = "") -> str:
    """DRF's nested error structure as one readable line: "lots.0.bid_deadline: …; budget: …"."""
    if isinstance(data, dict):
        parts = []
        for key, value in data.items():
            name = "" if key == "non_field_errors" else str(key)
            parts.append(_flatten(value, f"{prefix}.{name}" if prefix and name else (prefix or name)))
        return "; ".join(p for p in parts if p)
    if isinstance(data, list):
        if all(not isinstance(v, (dict, list)) for v in data):
            text = " ".join(str(v) for v in data)
            return f"{prefix}: {text}" if prefix and text else text
        return "; ".join(p for p in (_flatten(v, f"{prefix}.{i}" if prefix else str(i)) for i, v in enumerate(data)) if p)
    return f"{prefix}: {data}" if prefix else str(data)
