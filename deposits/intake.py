"""The hot path of bank intake on PostgreSQL: a matched payment booked in one statement.

``credit_in_one`` calls the ``deposits_credit`` database function (migration 0004). The function locks,
checks idempotency and -- for the plain case only -- writes the transfer, its postings, the bank
transaction and the audit event in one go; every other case comes back as ``slow`` (or ``exists``) having
written nothing, and ``deposits.services.receive`` books it with the full rules in its own transaction.

The audit event is the one ``audit.record`` would write, byte for byte. Its canonical JSON has the same
layout every time (keys are sorted, so the layout does not depend on the values): the skeleton is made once
per process by audit's own encoder (``audit.canonical.canonical_bytes``) from ``credit_body`` with
placeholders; per call Python fills in its values (uid, time, code, amount, the bank's data -- the latter
checked and encoded by ``canonical_bytes`` too) and leaves ``format()`` specifiers where the database
supplies a value (transfer, account, bidder, lot, project ids, the sub-account number, the visibility).
A placeholder is a JSON string holding a NUL and a per-process random token, so no payer-supplied text can
be mistaken for one (and a value containing the token disables the fast path).
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass

from django.db import connection

from audit.canonical import canonical_bytes
from audit.services import event_time
from deposits.rules import _norm_name

_TOKEN = secrets.token_hex(8)
SLOTS = ("transfer", "bank", "account", "bidder", "lot", "project", "number", "visibility", "subject")  # %1$s..%9$s
_DYNAMIC = ("uid", "at", "code", "amount", "negative", "bank_info")  # filled in Python per call
_SLOT_RE = re.compile(r'"\\u0000' + _TOKEN + r':([a-z_]+)"')
MEMO = "security received"


def slot(name: str) -> str:
    assert name in SLOTS or name in _DYNAMIC
    return f"\x00{_TOKEN}:{name}"


def credit_body(*, uid, at, code, amount, negative, bank_info) -> dict:
    """The audit body of a matched credit as ``audit.record`` builds it (system actor), the values the
    database supplies as placeholders. Keep in step with ``deposits.posting._record`` +
    ``audit.services.record_event`` (tests/deposits/test_fast_credit.py compares the two paths)."""
    return {
        "v": 1,
        "uid": uid,
        "at": at,
        "action": "deposit.credit",
        "subject": slot("subject"),
        "project": slot("project"),
        "actor": {"id": None, "label": "system", "role": "system", "org": None},
        "visibility": slot("visibility"),
        "payload": {
            "transfer": slot("transfer"), "code": code, "phase": "posted", "purpose": "credit", "pending": None,
            "amount_fen": amount, "lot": slot("lot"), "memo": MEMO,
            "legs": [{"account": slot("bank"), "kind": "bank", "number": None, "effect": "posted", "amount": amount},
                     {"account": slot("account"), "kind": "deposit", "number": slot("number"), "effect": "posted",
                      "amount": negative}],
            "bank": bank_info, "account": slot("account"), "bidder": slot("bidder"),
        },
    }


def _skeleton() -> tuple[list[str], list[str]]:
    text = canonical_bytes(credit_body(**{name: slot(name) for name in _DYNAMIC})).decode("utf-8")
    pieces = _SLOT_RE.split(text)
    names = pieces[1::2]
    assert sorted(set(names)) == sorted(SLOTS + _DYNAMIC) and len(names) == len(SLOTS) + len(_DYNAMIC) + 2, names
    return [p.replace("%", "%%") for p in pieces[0::2]], names


_PIECES, _NAMES = _skeleton()
_SPEC = {name: f"%{i}$s" for i, name in enumerate(SLOTS, start=1)}


def format_template(*, uid: str, now, code: str, amount_fen: int, bank_info: dict) -> str | None:
    """The canonical text of this credit's audit body as a PostgreSQL ``format()`` string: each database
    value is ``%N$s`` (N = its position in SLOTS, the argument order of deposits_credit), literal ``%``
    doubled. None if a value contains the placeholder token (the caller then takes the ordinary path)."""
    values = {"uid": json.dumps(uid, ensure_ascii=False), "at": json.dumps(event_time(now)),
              "code": json.dumps(code, ensure_ascii=False), "amount": str(int(amount_fen)),
              "negative": str(-int(amount_fen)),
              "bank_info": canonical_bytes(bank_info).decode("utf-8")}  # checked + encoded by audit's rules
    if any(_TOKEN in v for v in values.values()):
        return None
    out = [_PIECES[0]]
    for name, piece in zip(_NAMES, _PIECES[1:]):
        out.append(_SPEC.get(name) or values[name].replace("%", "%%"))
        out.append(piece)
    return "".join(out)


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
    uid = uuid.uuid4().hex
    template = format_template(uid=uid, now=now, code=f"in:{bank_txn_id}", amount_fen=amount_fen,
                               bank_info=bank_info) if number is not None else None
    with connection.cursor() as cur:
        cur.execute(_SQL, [lock_key(bank_txn_id), bank_txn_id, number, amount_fen, booked_at, now,
                           _norm_name(payer_name), payer_account.replace(" ", ""), digest, source,
                           sub_account[:40], payer_name[:200], payer_account[:40], remark[:300],
                           uid, template])
        row = cur.fetchone()
    return Result(*row)
