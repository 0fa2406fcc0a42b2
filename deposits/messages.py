"""What the deposits' pure modules say to people, translatable: the bank statement parser (deposits/statements.py,
``StatementError.code``) and the bank notification signature (deposits/bank/signing.py, ``SignatureError.code``).
They keep their English for logs and the command line; the services answer with these (``trading.errors.translated``)
in the request's language. Amounts are named by the one money formatter (``opening_fen`` → ``%(opening)s``).
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# StatementError.code → message
STATEMENT: dict[str, Any] = {
    "camt_txn_missing": _("the bank's transaction reference (AcctSvcrRef) is missing"),
    "camt_txn_long": _("the transaction reference is longer than 64 characters"),
    "time": _("%(text)r is not a time"),
    "amount": _("%(text)r is not an amount"),
    "currency": _("currency %(currency)s is not accepted: the unified deposit account holds CNY only"),
    "date": _("%(text)r is not a date"),
    "datetime": _("%(text)r is not a date and time"),
    "bytes": _("a statement must be given as bytes (the file as the bank sent it)"),
    "too_large": _("statement is too large (%(size)s bytes, at most %(max_bytes)s)"),
    "empty": _("statement is empty"),
    "no_header": _("no header row found: expected columns like 交易日期, 交易流水号, 对方账号, 对方户名, 金额/贷方发生额"),
    "csv_sum": _("the statement does not add up: opening %(opening)s + lines != closing %(closing)s"),
    "txn_long": _("the transaction number is longer than 64 characters"),
    "xml_doctype": _("DOCTYPE and entity declarations are not allowed in a statement"),
    "xml_empty": _("empty XML document"),
    "amt_missing": _("amount (Amt) is missing"),
    "camt_sum": _("the statement does not add up: opening %(opening)s + entries != closing %(closing)s"),
    "camt_root": _("not an ISO 20022 document (root element %(tag)s)"),
    "camt_body": _("not a camt.053 statement: BkToCstmrStmt is missing"),
    "camt_stmts": _("expected exactly one Stmt, found %(count)s"),
    "zero": _("the amount is zero"),
    "camt_flag": _("CdtDbtInd must be CRDT or DBIT, not %(flag)r"),
    "camt_reversal": _("reversal entries (RvslInd) are not accepted; the bank must book a new entry"),
    "camt_date": _("booking date (BookgDt) is missing"),
    "camt_txn_twice": _("transaction reference %(txn)s appears twice"),
    "amount_fraction": _("amount %(text)r has a fraction of a fen"),
    "amount_large": _("amount %(text)r is too large"),
    "amount_negative": _("amount %(text)r is negative: use the debit/credit column instead"),
    "encoding": _("statement is neither UTF-8 nor GBK/GB18030 text"),
    "csv": _("malformed CSV (%(problem)s)"),
    "both_amounts": _("both debit and credit amounts are filled"),
    "amount_missing": _("the amount is missing"),
    "xml_elements": _("too many XML elements"),
    "xml_depth": _("XML nested too deeply"),
    "xml": _("malformed XML (%(problem)s)"),
    "too_many_entries": _("statement has more than %(max_lines)s entries"),
    "txn_missing": _("the transaction number (交易流水号) is missing"),
    "too_many_lines": _("statement has more than %(max_lines)s lines"),
    "txn_twice": _("transaction number %(txn)s appears twice"),
    "flag_missing": _("the debit/credit flag (借贷标志) is missing"),
    "flag": _("unknown debit/credit flag %(flag)r"),
}
# a statement refused at a line (or the element starting at it)
AT_LINE = _("line %(line)s: %(problem)s")

# SignatureError.code → message
SIGNATURE: dict[str, Any] = {
    "no_secret": _("the bank notification secret is not configured"),
    "headers": _("missing signature headers"),
    "timestamp": _("malformed timestamp"),
    "stale": _("timestamp outside the allowed window (stale or replayed notification)"),
    "mismatch": _("signature does not match"),
}
