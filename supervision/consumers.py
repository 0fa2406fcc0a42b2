"""The supervisors' console websocket: thin. A supervisor joins the group of their department and the
group of alerts for every department; services push each alert after commit once it may be shown."""
from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from supervision.services import GROUP_ALL, group_for


class AlertConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or getattr(user, "role", None) != "supervisor":
            await self.close(code=4403)
            return
        self.groups_joined = [GROUP_ALL, group_for(user.organisation_id)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        pass  # the console only listens; actions go through the pages / API (one path)

    async def alert_update(self, message):
        await self.send_json({"type": "alert", "alert": message["alert"]})
