import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from django.conf import settings  # noqa: E402

from config.bounded import BoundedHTTP  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from config.ws_auth import TokenAuthMiddleware, websocket_guard  # noqa: E402
from trading.second_factor import WebsocketSecondFactor  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BoundedHTTP(django_asgi_app, limit=settings.SUNLIGHT_HTTP_CONCURRENCY, ws_threads=settings.SUNLIGHT_WS_DB_THREADS),
        # the Origin rule and token authentication for programs: config/ws_auth.py
        "websocket": websocket_guard(AuthMiddlewareStack(WebsocketSecondFactor(TokenAuthMiddleware(URLRouter(websocket_urlpatterns))))),
    }
)
