"""The API's JSON renderer: every moment written by the one formatter (audit.timestamps: UTC, ``Z``).

DRF's ``DATETIME_FORMAT`` is ``None`` (settings.REST_FRAMEWORK), so serializer fields hand their datetimes to
the renderer as they are; a view's hand-built dict may hold datetimes too. Both are written here, in UTC
with ``Z``, whatever the server's display time zone (Asia/Shanghai) — docs/api-formats.md.
"""
from __future__ import annotations

import datetime as dt

from rest_framework import renderers
from rest_framework.utils import encoders

from audit import timestamps


class JSONEncoder(encoders.JSONEncoder):
    def default(self, obj):
        if isinstance(obj, dt.datetime):
            if obj.tzinfo is None:  # never stored so (USE_TZ); refuse to guess a zone
                raise TypeError(f"naive datetime {obj!r} in an API answer: give it a time zone")
            return timestamps.iso_z(obj)
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    encoder_class = JSONEncoder
