"""Pages: a DomainError raised by a service becomes a 4xx page with its message, never a 500."""
from __future__ import annotations

from django.shortcuts import render

from trading.errors import DomainError


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):
            return render(request, "frontend/error.html", {"message": exception.message, "status": exception.status_code},
                          status=exception.status_code)
        return None
