"""The transaction confirmation (成交确认书) of an auction or listing (pure: no database).

The document is generated from the auction record — who won under which bidder number, at what price, for
which lot, when, the rule's legal basis and the date by which the contract is signed — as plain JSON. Its
SHA-256 over the canonical encoding (``audit.canonical``, the log's own) is what the centre signs: the
``auction.confirmation`` audit event commits it, so anyone holding the document can check it against the log.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo

from audit.canonical import canonical_bytes

TITLE = "成交确认书"
VERSION = 1
BEIJING = ZoneInfo("Asia/Shanghai")


def document(*, project: dict[str, str], lot: dict[str, Any], transferor: str, centre: str, winner: dict[str, str],
             price_fen: int, price: str, closed_at: str, issued_at: str, contract_due_on: str,
             security_converted_fen: int, security_converted: str, basis: dict[str, str]) -> dict[str, Any]:
    """The confirmation's content (every value a str or an int: canonical JSON)."""
    if price_fen <= 0:
        raise ValueError("a confirmation records a positive price")
    return {
        "title": TITLE, "version": VERSION,
        "project": project, "lot": lot, "transferor": transferor, "centre": centre, "winner": winner,
        "price_fen": price_fen, "price": price, "closed_at": closed_at, "issued_at": issued_at,
        "contract_due_on": contract_due_on, "security_converted_fen": security_converted_fen,
        "security_converted": security_converted, "basis": basis,
    }


def digest(doc: dict[str, Any]) -> str:
    """The SHA-256 the centre signs (hex)."""
    return hashlib.sha256(canonical_bytes(doc)).hexdigest()


def beijing(moment: str) -> str:
    """A moment of the document (UTC, ``…Z``) as people read it: Beijing time, the pages' one format."""
    try:
        value = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return str(moment)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return f"{value.astimezone(BEIJING):%Y-%m-%d %H:%M}（北京时间）"


def lines(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The document as labelled lines, for pages and the notice body (labels in Chinese, as issued; the
    document itself keeps its moments in UTC, exactly as hashed)."""
    return [
        ("项目", f"{doc['project']['code']} {doc['project']['title']}"),
        ("标的", f"第{doc['lot']['number']}标的 {doc['lot']['title']}"),
        ("出让人/转让方", doc["transferor"]),
        ("交易中心", doc["centre"]),
        ("竞得人/受让方", f"{doc['winner']['name']}（统一社会信用代码 {doc['winner']['credit_code']}，竞买号 {doc['winner']['number']}）"),
        ("成交价款", f"{doc['price']} 元"),
        ("成交时间", beijing(doc["closed_at"])),
        ("签订合同期限", f"{doc['contract_due_on']} 24:00（北京时间）前"),
        ("竞买保证金", f"{doc['security_converted']} 元转作价款"),
        ("依据", doc["basis"]["confirmation"]),
    ]


def body(doc: dict[str, Any], sha256: str) -> str:
    return "\n".join(f"{label}：{value}" for label, value in lines(doc)) + f"\nSHA-256：{sha256}"
