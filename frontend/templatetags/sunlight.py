from django import template
from django.utils import timezone

from trading import lifecycle
from trading.money import format_yuan_display
from trading.rules import KINDS, METHODS

register = template.Library()


@register.filter
def yuan(fen):
    return format_yuan_display(fen)


@register.filter
def status_label(status):
    zh, en = lifecycle.STATUSES.get(status, (status, status))
    from django.utils.translation import get_language

    return en if (get_language() or "").startswith("en") else zh


@register.filter
def kind_label(kind):
    from django.utils.translation import get_language

    zh, en = KINDS.get(kind, (kind, kind))
    return en if (get_language() or "").startswith("en") else zh


@register.filter
def method_label(method):
    from django.utils.translation import get_language

    zh, en = METHODS.get(method, (method, method))
    return en if (get_language() or "").startswith("en") else zh


@register.filter
def local(value):
    if not value:
        return "—"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
