from django.urls import path

from supervision.consumers import AlertConsumer

websocket_urlpatterns = [path("ws/supervision/alerts/", AlertConsumer.as_asgi())]
