"""The bank behind the unified account, as an interface a real bank integration implements.

A real adapter (银企直连) implements :class:`BankAdapter`: it submits refund orders (idempotent by our
order reference -- the bank dedupes a resend), and the bank side sends signed notifications
(``deposits.bank.signing``) to ``POST /api/deposits/bank/notifications/`` and daily statements
(CSV or camt.053) that staff import. ``deposits.bank.fake`` is the simulated bank used by the demo
and the tests.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


class BankUnavailable(Exception):
    """The bank could not be reached or answered with a temporary error: retry later."""


@dataclass(frozen=True)
class RefundReceipt:
    accepted: bool
    message: str = ""
    retryable: bool = True
    bank_txn_id: str = ""  # set when the bank confirms synchronously
    booked_at: dt.datetime | None = None


class BankAdapter(Protocol):
    def submit_refund(self, *, order_ref: str, amount_fen: int, payee_name: str, payee_account: str,
                      memo: str) -> RefundReceipt: ...


def get_adapter() -> BankAdapter:
    from django.utils.module_loading import import_string

    from deposits import conf

    return import_string(conf.bank_adapter_path())()
