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


def on_contract(*, lot, action, actor, now) -> None:
    """Contract signed: the winner's security (see services.mark_winner) is refunded on the tender path
    (within the rule's working days) or kept toward the price on auctions and listings."""
    from deposits.models import Account

    mode = "refund" if lot.path == "tender" else "convert"
    for acc in Account.objects.filter(lot=lot, kind="deposit", winner=True):
        if acc.available_fen > 0:
            services.settle_winner(lot=lot, bidder_org=acc.deposit_bidder, mode=mode)
