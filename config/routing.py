"""Websocket routes of every app (each app adds its own list here)."""
websocket_urlpatterns: list = []

try:
    from bidding.auction.routing import websocket_urlpatterns as auction_ws
except ImportError:  # the auction app may not define routes yet
    auction_ws = []
websocket_urlpatterns += auction_ws

from supervision.routing import websocket_urlpatterns as supervision_ws  # noqa: E402

websocket_urlpatterns += supervision_ws
