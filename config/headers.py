"""Response headers the security middleware of Django and django-csp do not set: Permissions-Policy.

With Django's SecurityMiddleware (Referrer-Policy, Cross-Origin-Opener-Policy, X-Content-Type-Options, HSTS in
production), XFrameOptionsMiddleware (X-Frame-Options) and django-csp (Content-Security-Policy, configured in
settings.CONTENT_SECURITY_POLICY) every answer carries the full set; tests/trading/test_security_headers.py
checks every page of every role."""
from __future__ import annotations

from django.conf import settings


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.value = ", ".join(f"{feature}=({' '.join(allow)})" for feature, allow in settings.PERMISSIONS_POLICY.items())

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.value)
        return response
