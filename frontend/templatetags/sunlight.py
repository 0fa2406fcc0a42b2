"""Template filters every page uses: money, labels for codes, Beijing time.

One language per page: a code (a lot status, a deposit account's state, an auction phase…) is never shown
raw; ``status_label`` finds its label in the one place that defines the code — the lifecycle tables, which
carry (Chinese, English) pairs, or the models' TextChoices, whose labels go through gettext — and gives it in
the request's language. Times are shown by ``local``: Beijing time, one format, everywhere.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language

from trading.money import format_yuan_display, parse_money
from trading.rules import KINDS, METHODS

register = template.Library()

TIME_FORMAT = "%Y-%m-%d %H:%M"  # the one format of a time on every page (Beijing time); site.js uses the same


def english() -> bool:
    return (get_language() or "").startswith("en")


@register.filter
def in_language(pair: Any) -> str:
    """A (Chinese, English) pair, as the lifecycle and rule tables keep their labels, in the page's language."""
    if isinstance(pair, (tuple, list)) and len(pair) == 2:
        return str(pair[1] if english() else pair[0])
    return "" if pair is None else str(pair)


@cache
def _families() -> dict[str, Mapping[str, Any]]:
    """family → {code: label}; a label is a (zh, en) pair or a lazily translated string."""
    from bidding.auction import models as auction
    from bidding.envelopes.models import Envelope, OpenedBid
    from bidding.evaluation.models import Award, Candidate, CommitteeMember, Evaluation
    from bidding.models import Registration
    from deposits.models import Account, BankTxn, Forfeit, RefundOrder, SuspenseItem
    from deposits.selectors import LEDGER_KINDS, STATEMENT_COUNTS, SUSPENSE_REASONS
    from supervision import lifecycle as alerts
    from supervision.models import KINDS as ALERT_KINDS
    from supervision.models import SEVERITIES
    from trading import lifecycle as lots
    from trading.challenges import lifecycle as cases
    from trading.models import Document, Notice, User
    from audit.models import Visibility
    from frontend.event_labels import EVENT_AREAS, EVENT_LABELS, SYSTEM_ACTOR

    def choices(cls) -> dict[str, Any]:
        return dict(cls.choices)

    return {
        "lot": lots.STATUSES,
        "alert": alerts.STATUSES,
        "alert_kind": ALERT_KINDS,
        "severity": SEVERITIES,
        "escalation": alerts.ESCALATIONS,
        "case": cases.STATUSES,
        "registration": choices(Registration.Status),
        "envelope": choices(Envelope.Status),
        "opened": choices(OpenedBid.Outcome),
        "deposit": choices(Account.Status),
        "bank_direction": choices(BankTxn.Direction),
        "bank_outcome": choices(BankTxn.Outcome),
        "suspense": choices(SuspenseItem.Status),
        "suspense_reason": SUSPENSE_REASONS,
        "ledger_kind": LEDGER_KINDS,
        "statement_count": STATEMENT_COUNTS,
        "refund": choices(RefundOrder.Status),
        "refund_reason": choices(RefundOrder.Reason),
        "forfeit": choices(Forfeit.Status),
        "forfeit_grounds": choices(Forfeit.Grounds),
        "evaluation": choices(Evaluation.Status),
        "candidate": choices(Candidate.Status),
        "award": choices(Award.Status),
        "member": choices(CommitteeMember.Kind),
        "auction_mode": auction.MODE_LABELS,
        "auction": auction.PHASE_LABELS,
        "auction_outcome": auction.OUTCOME_LABELS,
        "auction_reason": auction.OUTCOME_REASON_LABELS,
        "closing_rule": auction.CLOSING_RULE_LABELS,
        "notice": choices(Notice.Kind),
        "access": choices(Document.Access),
        "role": choices(User.Role),
        "visibility": choices(Visibility),
        "event": EVENT_LABELS,
        "event_area": EVENT_AREAS,
        "actor_role": {**choices(User.Role), **SYSTEM_ACTOR},
    }


def label_of(code: Any, family: str = "lot") -> str:
    """The label of a code of one family in the request's language ("" for no code; the code itself only if
    no table knows it — the browser test of every page then finds it)."""
    if code in (None, ""):
        return ""
    table = _families()[family]
    label = table.get(str(code))
    if label is None:
        return str(code)
    return in_language(label) if isinstance(label, (tuple, list)) else str(label)


@register.filter
def status_label(code: Any, family: str = "lot") -> str:
    """``{{ lot.status|status_label }}``, ``{{ env.status|status_label:"envelope" }}``…"""
    return label_of(code, family)


@register.simple_tag
def status_labels(*families: str) -> dict[str, dict[str, str]]:
    """``{% status_labels "lot" "opened" as labels %}{{ labels|json_script:"status-labels" }}``: the labels a
    page's script shows for codes it receives (site.js: ``sunlight.statusLabel(family, code)``)."""
    return {family: {code: label_of(code, family) for code in _families()[family]} for family in families}


@register.filter
def kind_label(kind):
    return in_language(KINDS.get(kind, (kind, kind)))


@register.filter
def method_label(method):
    return in_language(METHODS.get(method, (method, method)))


@register.filter
def yuan(fen):
    """Integer fen, or an amount already in the edge form ("1234.56"), as ¥1,234.56."""
    if isinstance(fen, str):
        fen = parse_money(fen)
    return format_yuan_display(fen)


def to_local(value: Any) -> dt.datetime | None:
    """An aware datetime, or an ISO 8601 text (``…Z`` from an API or a replayed state), in Beijing time."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, dt.UTC)
        return timezone.localtime(value)
    return None


@register.filter
def local(value: Any):
    """A time on a page: Beijing time, ``2026-12-07 23:30``, never broken across lines."""
    moment = to_local(value)
    if moment is None:
        return "—" if not value else str(value)
    return format_html('<time datetime="{}">{}</time>', moment.isoformat(timespec="seconds"),
                       moment.strftime(TIME_FORMAT))


@register.filter
def local_text(value: Any) -> str:
    """The same time as plain text (for an attribute or an <option>)."""
    moment = to_local(value)
    return "—" if moment is None else moment.strftime(TIME_FORMAT)


@register.filter
def opening_failure(code: str) -> str:
    """Why an envelope could not be opened (its failure code), with art. 31's consequence, in the page's language."""
    from bidding.envelopes.messages import opening_failure as say

    return say(code) if code else ""
