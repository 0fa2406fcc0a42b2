from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

DOCS_CSP = csp_update({"style-src": ["'unsafe-inline'"]})

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI (its script served separately: no inline script) and Redoc, from drf-spectacular-sidecar
    # (their third-party UIs write <style> elements: inline styles allowed there only; scripts stay 'self')
    path("api/docs/", DOCS_CSP(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/redoc/", DOCS_CSP(SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html")),
         name="api-redoc"),
    path("api/audit/", include("audit.api")),
    path("api/deposits/", include("deposits.api")),
    path("api/bidding/", include("bidding.api")),
    path("api/envelopes/", include("bidding.envelopes.api")),
    path("api/evaluation/", include("bidding.evaluation.api")),
    path("api/auctions/", include("bidding.auction.api")),
    path("api/supervision/", include("supervision.api")),
    path("api/cases/", include("trading.challenges.api")),
    path("api/", include("trading.api")),
    path("", include("frontend.urls")),
]

if settings.ADMIN_ENABLED:  # only for is_staff accounts past the second step (trading.second_factor.AdminGateMiddleware)
    urlpatterns.insert(0, path("admin/", admin.site.urls))

if not settings.PRODUCTION:
    # the demo and the tests serve the static files themselves (DEBUG is off there too); production serves
    # `collectstatic`'s output from the web server in front
    from django.contrib.staticfiles.views import serve
    from django.urls import re_path

    urlpatterns += [re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True})]

# Under /api/ every error is JSON in the one error shape (trading/api_errors.py); pages keep Django's.
handler400 = "trading.api_errors.handler400"
handler403 = "trading.api_errors.handler403"
handler404 = "trading.api_errors.handler404"
handler500 = "trading.api_errors.handler500"
