"""Puts the request's network address and client into the audit context (audit.context) for every
action the request performs; nothing of it reaches a public page, log line or event body."""
from __future__ import annotations

from audit import context


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = context.begin(address=request.META.get("REMOTE_ADDR"), client=request.META.get("HTTP_USER_AGENT"))
        try:
            return self.get_response(request)
        finally:
            context.end(token)
