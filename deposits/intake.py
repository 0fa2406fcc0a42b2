"""The hot path of bank intake on PostgreSQL: a matched payment booked in one round trip.

``credit_in_one`` calls the ``deposits_credit`` database function (migration 0004) inside the service's
transaction. The function locks, checks idempotency, and -- for the plain case only -- writes the transfer,
its postings, the bank transaction and the audit event in one go; every other case comes back to Python
(``slow``) with the sub-account row locked, and the service applies the full rules as before.

The audit event is the one ``audit.record`` would write, byte for byte: the body is encoded here by
``audit.canonical.canonical_bytes`` with placeholders where the database supplies a value (transfer,
account, bidder, lot, project ids, the sub-account number, the visibility); the text around them is sent
as ``parts`` and the database splices the values in. A placeholder is a JSON string holding a NUL and a
per-process random token, so no payer-supplied text can be mistaken for one (and if a placeholder does not
occur exactly once the fast path is not used at all).
"""
from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

from django.db import connection

from audit.canonical import canonical_bytes
from audit.services import _iso

_TOKEN = secrets.token_hex(8)
SLOTS = ("transfer", "bank", "account", "bidder", "lot", "project", "number", "visibility", "subject")
_SLOT_RE = re.compile(r'"\\u0000' + _TOKEN + r':([a-z]+)"')
MEMO = "security received"


def slot(name: str) -> str:
    assert name in SLOTS
    return f"\x00{_TOKEN}:{name}"


def credit_body(*, uid: str, now, code: str, amount_fen: int, bank_info: dict) -> dict:
    """The audit body of a matched credit, as ``audit.record`` builds it (system actor), with placeholders.
    Keep in step with ``deposits.posting._record`` + ``audit.services.record_event``."""
    return {
        "v": 1,
        "uid": uid,
        "at": _iso(now),
        "action": "deposit.credit",
        "subject": slot("subject"),
        "project": slot("project"),
        "actor": {"id": None, "label": "system", "role": "system", "org": None},
        "visibility": slot("visibility"),
        "payload": {
            "transfer": slot("transfer"), "code": code, "phase": "posted", "purpose": "credit", "pending": None,
            "amount_fen": amount_fen, "lot": slot("lot"), "memo": MEMO,
            "legs": [{"account": slot("bank"), "kind": "bank", "number": None, "effect": "posted",
                      "amount": amount_fen},
                     {"account": slot("account"), "kind": "deposit", "number": slot("number"), "effect": "posted",
                      "amount": -amount_fen}],
            "bank": bank_info, "account": slot("account"), "bidder": slot("bidder"),
        },
    }


def split_template(body: dict) -> tuple[list[str], list[str]] | None:
    """(parts, slots): the canonical text of ``body`` cut at its placeholders; None if a placeholder is
    ambiguous (the caller then takes the ordinary path)."""
    text = canonical_bytes(body).decode("utf-8")
    pieces = _SLOT_RE.split(text)
    parts, names = pieces[0::2], pieces[1::2]
    if any(n not in SLOTS for n in names) or text.count("\\u0000" + _TOKEN) != len(names):
        return None
    return parts, names


def lock_key(bank_txn_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"banktxn:{bank_txn_id}".encode()).digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class Result:
    outcome: str  # credited | exists | slow
    existing_id: int | None
    transfer_id: int | None
    txn_id: int | None
    account_id: int | None
    account: tuple | None  # slow: the locked sub-account row (services._account_from_row) or None


def norm_name(name: str) -> str:
    from deposits.rules import _norm_name

    return _norm_name(name)


_SQL = "SELECT * FROM deposits_credit(" + ", ".join(["%s"] * 17) + ")"


def credit_in_one(*, bank_txn_id: str, number: str | None, amount_fen: int, booked_at, now, payer_name: str,
                  payer_account: str, digest: str, source: str, sub_account: str, remark: str,
                  bank_info: dict) -> Result:
    """One round trip: lock + idempotency lookup + sub-account lock, and the whole booking in the plain case."""
    code = f"in:{bank_txn_id}"
    uid = uuid.uuid4().hex
    template = split_template(credit_body(uid=uid, now=now, code=code, amount_fen=amount_fen,
                                          bank_info=bank_info)) if number is not None else None
    parts, names = template if template is not None else (None, None)
    with connection.cursor() as cur:
        cur.execute(_SQL, [lock_key(bank_txn_id), bank_txn_id, number, amount_fen, booked_at, now,
                           norm_name(payer_name), payer_account.replace(" ", ""), digest, source,
                           sub_account[:40], payer_name[:200], payer_account[:40], remark[:300], uid if parts else None, parts, names])
        row = cur.fetchone()
    outcome, existing, transfer_id, txn_id, account_id = row[:5]
    account = row[4:23] if outcome == "slow" and account_id is not None else None
    return Result(outcome, existing, transfer_id, txn_id, account_id, account)
