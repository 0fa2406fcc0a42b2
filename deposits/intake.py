"""The hot path of bank intake on PostgreSQL: a matched payment booked in one statement.

``credit_in_one`` calls the ``deposits_credit`` database function (migration 0004). The function locks,
checks idempotency and -- for the plain case only -- writes the transfer, its postings, the bank
transaction and the audit event in one go; every other case comes back as ``slow`` having written nothing,
and ``deposits.services.receive`` books it with the full rules in its own transaction.

The audit event is the one ``audit.record`` would write, byte for byte: the body is encoded here by
``audit.canonical.canonical_bytes`` with placeholders where the database supplies a value (transfer,
account, bidder, lot, project ids, the sub-account number, the visibility); the text around them is sent
as a ``format()`` string (literal ``%`` doubled) and the database fills the values in. A placeholder is a
JSON string holding a NUL and a per-process random token, so no payer-supplied text can be mistaken for one
(and if placeholders do not occur exactly as ``credit_body`` puts them, the fast path is not used at all).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

from django.db import connection

from audit.canonical import canonical_bytes
from audit.services import _iso
from deposits.rules import _norm_name

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


def format_template(body: dict) -> str | None:
    """The canonical text of ``body`` as a PostgreSQL ``format()`` string: each placeholder becomes
    ``%N$s`` (N = its position in SLOTS, the argument order of deposits_credit) and every literal ``%`` is
    doubled. None if a placeholder does not occur exactly where expected (the caller then takes the
    ordinary path)."""
    text = canonical_bytes(body).decode("utf-8")
    pieces = _SLOT_RE.split(text)
    names = pieces[1::2]
    if sorted(names) != _EXPECTED or text.count("\\u0000" + _TOKEN) != len(names):
        return None
    out = [pieces[0].replace("%", "%%")]
    for name, after in zip(names, pieces[2::2]):
        out.append(f"%{SLOTS.index(name) + 1}$s")
        out.append(after.replace("%", "%%"))
    return "".join(out)


_EXPECTED = sorted(_SLOT_RE.findall(canonical_bytes(
    credit_body(uid="", now=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), code="", amount_fen=1, bank_info={}))
    .decode("utf-8")))  # each placeholder as often as credit_body itself puts it (account: twice)


def lock_key(bank_txn_id: str) -> int:
    """The advisory lock serialising everything done with one bank transaction id (every path uses it)."""
    return int.from_bytes(hashlib.sha256(f"banktxn:{bank_txn_id}".encode()).digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class Result:
    outcome: str  # credited | exists | slow
    existing_id: int | None
    transfer_id: int | None
    txn_id: int | None
    account_id: int | None


_SQL = "SELECT * FROM deposits_credit(" + ", ".join(["%s"] * 16) + ")"


def credit_in_one(*, bank_txn_id: str, number: str | None, amount_fen: int, booked_at, now, payer_name: str,
                  payer_account: str, digest: str, source: str, sub_account: str, remark: str,
                  bank_info: dict) -> Result:
    """One statement: lock + idempotency lookup, and in the plain case the whole booking. Runs in the caller's
    transaction if there is one, otherwise as a transaction of its own (autocommit)."""
    code = f"in:{bank_txn_id}"
    uid = uuid.uuid4().hex
    template = format_template(credit_body(uid=uid, now=now, code=code, amount_fen=amount_fen,
                                           bank_info=bank_info)) if number is not None else None
    with connection.cursor() as cur:
        cur.execute(_SQL, [lock_key(bank_txn_id), bank_txn_id, number, amount_fen, booked_at, now,
                           _norm_name(payer_name), payer_account.replace(" ", ""), digest, source,
                           sub_account[:40], payer_name[:200], payer_account[:40], remark[:300],
                           uid, template])
        row = cur.fetchone()
    return Result(*row)
