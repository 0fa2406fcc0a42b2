"""The unified deposit account (统一保证金账户): ledger, virtual sub-accounts, bank intake, refunds, forfeits."""


def is_secured(bidder_org, lot) -> bool:
    """The one question bidding asks before accepting an envelope or an auction bid: is this bidder's
    security for this lot paid in full and still held (not refunded, forfeited or being refunded)?"""
    from deposits.selectors import is_secured as _is_secured

    return _is_secured(bidder_org, lot)
