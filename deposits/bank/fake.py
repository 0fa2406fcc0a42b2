"""A small simulated bank holding the centre's unified account (demo and tests).

It keeps its own book of the account (what a real bank would), sends HMAC-signed notifications for
incoming money, accepts refund orders (deduplicated by our order reference, with switchable
failures), confirms them with a signed debit notification, and produces statements (CSV in GBK as
Chinese banks export, or camt.053) from its own book -- so reconciliation compares two independent
records. State lives in the process (one FakeBank per process; tests reset it).
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from dataclasses import dataclass, field

from django.utils import timezone

from deposits import conf
from deposits import statements as S
from deposits.bank import BankUnavailable, RefundReceipt, signing


@dataclass
class FakeBank:
    account: str = ""
    lines: list[S.StatementLine] = field(default_factory=list)
    refunds: dict[str, str] = field(default_factory=dict)  # order_ref -> bank txn id
    fail_next: int = 0  # the next N refund submissions raise BankUnavailable
    reject_next: int = 0  # the next N refund submissions are refused (retryable)
    confirm_sync: bool = False  # confirm in the submit answer instead of by notification
    deliver: bool = True  # send notifications (False: lost notifications, only the statement knows)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def next_id(self, prefix: str = "FB") -> str:
        with self._lock:
            return f"{prefix}{int(time.time()) % 100000:05d}{next(self._seq):08d}"

    # --- money in -----------------------------------------------------------------------------
    def pay_in(self, *, sub_account: str, amount_fen: int, payer_name: str, payer_account: str, remark: str = "",
               booked_at: dt.datetime | None = None, txn_id: str | None = None) -> dict:
        """Someone pays into the unified account (to a virtual sub-account). Returns the endpoint's answer."""
        booked_at = booked_at or timezone.now()
        txn_id = txn_id or self.next_id()
        line = S.StatementLine(line_no=0, bank_txn_id=txn_id, direction=S.CREDIT, amount_fen=amount_fen,
                               booked_on=timezone.localtime(booked_at).date(),
                               booked_at=timezone.localtime(booked_at).replace(tzinfo=None), sub_account=sub_account,
                               counterparty_account=payer_account, counterparty_name=payer_name, remark=remark)
        with self._lock:
            self.lines.append(line)
        body = {"type": "payment", "txn_id": txn_id, "amount": S.fen_text(amount_fen), "currency": "CNY",
                "sub_account": sub_account, "payer_name": payer_name, "payer_account": payer_account,
                "remark": remark, "booked_at": booked_at.isoformat()}
        return self.notify(body) if self.deliver else {"status": "not_delivered", "txn_id": txn_id}

    def pay_interest(self, amount_fen: int) -> dict:
        txn_id = self.next_id("IN")
        now = timezone.now()
        self.lines.append(S.StatementLine(line_no=0, bank_txn_id=txn_id, direction=S.CREDIT, amount_fen=amount_fen,
                                          booked_on=timezone.localdate(now), remark="结息"))
        return self.notify({"type": "interest", "txn_id": txn_id, "amount": S.fen_text(amount_fen),
                            "booked_at": now.isoformat()})

    # --- notifications --------------------------------------------------------------------------
    def signed(self, body: dict | bytes, *, secret: bytes | None = None, timestamp: int | None = None) -> tuple[bytes, dict]:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
        ts = int(time.time()) if timestamp is None else timestamp
        sig = signing.sign(secret if secret is not None else conf.bank_secret(), ts, raw)
        return raw, {"HTTP_X_BANK_TIMESTAMP": str(ts), "HTTP_X_BANK_SIGNATURE": sig}

    def notify(self, body: dict) -> dict:
        """Deliver a signed notification to the platform (in-process, through the endpoint's logic)."""
        from deposits.services import receive_notification

        raw, headers = self.signed(body)
        return receive_notification(body=raw, timestamp=headers["HTTP_X_BANK_TIMESTAMP"],
                                    signature=headers["HTTP_X_BANK_SIGNATURE"])

    # --- money out ------------------------------------------------------------------------------
    def submit_refund(self, *, order_ref: str, amount_fen: int, payee_name: str, payee_account: str,
                      memo: str) -> RefundReceipt:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                raise BankUnavailable("simulated bank: service temporarily unavailable")
            if self.reject_next > 0:
                self.reject_next -= 1
                return RefundReceipt(accepted=False, message="simulated bank: payee account frozen", retryable=True)
            duplicate = order_ref in self.refunds
            if not duplicate:
                self.refunds[order_ref] = self.next_id("RT")
            txn_id = self.refunds[order_ref]
        now = timezone.now()
        if not duplicate:
            self.lines.append(S.StatementLine(line_no=0, bank_txn_id=txn_id, direction=S.DEBIT, amount_fen=amount_fen,
                                              booked_on=timezone.localdate(now),
                                              booked_at=timezone.localtime(now).replace(tzinfo=None),
                                              counterparty_name=payee_name, counterparty_account=payee_account,
                                              remark=f"{order_ref} {memo}"))
        if self.confirm_sync:
            return RefundReceipt(accepted=True, bank_txn_id=txn_id, booked_at=now)
        if self.deliver:
            from django.db import transaction

            body = {"type": "refund", "txn_id": txn_id, "order_ref": order_ref, "amount": S.fen_text(amount_fen),
                    "payer_name": payee_name, "payer_account": payee_account, "remark": f"{order_ref} {memo}",
                    "booked_at": now.isoformat()}
            transaction.on_commit(lambda: self._safe_notify(body))  # immediately when not in a transaction
        return RefundReceipt(accepted=True)

    def _safe_notify(self, body: dict) -> None:
        from trading.errors import DomainError

        try:
            self.notify(body)
        except DomainError:
            pass  # already confirmed (duplicate) -- the statement will show any real problem

    # --- statements -------------------------------------------------------------------------------
    def balance(self) -> int:
        return sum(ln.signed_fen for ln in self.lines)

    def statement(self, *, fmt: str = "csv", encoding: str = "gbk") -> bytes:
        stmt = S.Statement(format=fmt, account=self.account or conf.unified_account()["number"],
                           statement_id=self.next_id("ST"), opening_balance_fen=0, closing_balance_fen=self.balance(),
                           lines=tuple(self.lines))
        return S.write_camt053(stmt) if fmt == "camt053" else S.write_csv(stmt, encoding=encoding)

    def reset(self) -> None:
        with self._lock:
            self.lines.clear()
            self.refunds.clear()
            self.fail_next = self.reject_next = 0
            self.confirm_sync = False
            self.deliver = True


BANK = FakeBank()


class FakeBankAdapter:
    """The BankAdapter backed by the process's FakeBank."""

    def submit_refund(self, **kwargs) -> RefundReceipt:
        return BANK.submit_refund(**kwargs)
