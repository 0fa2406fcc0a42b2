"""Template helpers of the shared list (frontend/lists.py) and of the homes' countdowns."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    return mapping.get(key, "") if hasattr(mapping, "get") else ""


@register.filter
def countdown(due: dt.datetime | None) -> str:
    """Time left until ``due`` ("3 d 4 h left", "25 min left"), or how long ago it passed."""
    if not due:
        return ""
    seconds = int((due - timezone.now()).total_seconds())
    late = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        span = _("%(d)s d %(h)s h") % {"d": days, "h": hours}
    elif hours:
        span = _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    else:
        span = _("%(m)s min") % {"m": minutes}
    return (_("%(span)s ago") if late else _("%(span)s left")) % {"span": span}
