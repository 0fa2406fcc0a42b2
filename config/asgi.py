import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from django.conf import settings  # noqa: E402

# One web process holds thousands of open websockets, each some hundreds of long-lived objects, and every
# event handed to a connection allocates short-lived ones (a task, futures, the message). With CPython's
# default thresholds (700, 10, 10) a young collection ran every few milliseconds of fan-out, and while
# connections came and went a full collection -- every object of every connection scanned, the event loop
# stopped -- every few seconds: 15 in a 200-room run of bench/auction.py, 0.4-1 s of CPU and up to 2 s of
# stopped loop each on a loaded machine. Cycles are still collected, less often (docs/benchmarks.md).
gc.set_threshold(*settings.SUNLIGHT_WEB_GC_THRESHOLD)

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
