"""Lifecycle hooks (settings.SUNLIGHT_LIFECYCLE_HOOKS), run inside the lot transition's transaction."""
from __future__ import annotations

from deposits import services


def on_close_bidding(*, lot, action, actor, now) -> None:
    """Bid / registration deadline: freeze paid securities, close unpaid sub-accounts."""
    services.freeze_lot(lot=lot, now=now)


def on_result(*, lot, action, actor, now) -> None:
    """Result (award): every security except the winner's (see services.mark_winner) is refunded
    within the rule's working days."""
    services.refund_lot(lot=lot, reason="non_winner", now=now)


def on_fail(*, lot, action, actor, now) -> None:
    """Failed or terminated lot: every security is refunded, except a marked winner's (a winner who
    refused to sign may have to forfeit it: staff decide with request_forfeit or settle_winner)."""
    services.refund_lot(lot=lot, reason="failed_lot", now=now)
