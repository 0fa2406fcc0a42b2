"""DRF exception handler: domain errors become 4xx answers with their message, never a 500."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
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
    if isinstance(exc, IntegrityError):
        return Response({"detail": "the request conflicts with existing data", "code": "conflict"},
                        status=status.HTTP_409_CONFLICT)
    response = drf_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": _flatten(response.data), "code": "invalid", "errors": response.data}
    return response


def _flatten(data) -> str:
    parts = []
    for key, value in data.items():
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        parts.append(f"{key}: {value}")
    return "; ".join(parts)
