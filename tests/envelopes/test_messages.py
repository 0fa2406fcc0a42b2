"""The envelope crypto's, the key formats' and the custody refusals through the API in the request's language
(issue 13): the pure modules refuse with a stable code and English for logs and the command-line tools; the
answer's `detail` is the catalogue's (bidding/envelopes/messages.py) in zh-hans or English, `code` the same; the
audit event of a refused share keeps the English text (never language-dependent)."""
from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from audit.models import Event
from bidding.envelopes import envelope as E
from bidding.envelopes.models import CustodyShare, Envelope
from trading.services import transition_lot

CHINESE = re.compile(r"[\u4e00-\u9fff]")
pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def _both(client, path: str, body) -> tuple[dict, dict]:
    zh = client.post(path, body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    en = client.post(path, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.status_code == en.status_code, (zh.content, en.content)
    assert zh.json()["code"] == en.json()["code"]
    return {**zh.json(), "status": zh.status_code}, {**en.json(), "status": en.status_code}


def _check(zh: dict, en: dict, status: int, code: str, field: str, chinese: str, english: str) -> None:
    assert (zh["status"], zh["code"]) == (status, code), zh
    assert chinese in zh["detail"] and CHINESE.search(zh["detail"]), zh
    assert english in en["detail"] and not CHINESE.search(en["detail"]), en
    assert list(zh["fields"]) == list(en["fields"]) == [field], (zh, en)


def test_envelope_refusals_in_the_request_language(tender, clock):
    bidder = tender.world.bidders[0]
    good = tender.seal(bidder, 100)
    path = f"/api/envelopes/lots/{tender.lot.pk}/envelope/"
    client = _client(bidder)
    cases = [  # (body, field, Chinese, English)
        ({**good, "envelope": "not base64!"}, "envelope", "envelope 不是有效的 base64", "envelope is not valid base64"),
        ({**good, "envelope": E.b64e(b"garbage")}, "envelope", "不是 Sunlight 投标文件（标识头错误或过短）",
         "not a Sunlight envelope (bad magic or too short)"),
        ({**good, "format": "other/v9"}, "envelope", "未知的投标文件格式 'other/v9'", "unknown envelope format 'other/v9'"),
        ({**good, "signature": (b"\0" * 64).hex()}, "signature", "投标文件的签名无法用投标人登记的密钥验证",
         "the envelope signature does not verify with the bidder's registered key"),
        ({**good, "signature": E.b64e(bytes.fromhex(good["signature"]))}, "signature",
         "signature：不接受 base64；应为 128 个小写十六进制字符（64 字节）",
         "signature: base64 is not accepted; expected 128 lowercase hexadecimal characters (64 bytes)"),
        ({**good, "digest": "00" * 32}, "envelope", "所述摘要与投标文件不符", "the stated digest does not match the envelope"),
    ]
    before = Envelope.objects.count(), Event.objects.count()
    for body, field, chinese, english in cases:
        zh, en = _both(client, path, body)
        _check(zh, en, 400, "invalid", field, chinese, english)
    assert (Envelope.objects.count(), Event.objects.count()) == before  # nothing changed


def test_custody_refusals_in_the_request_language(tender, clock, world):
    zh, en = _both(_client(world.other_staff), "/api/envelopes/custody-keys/", {"passphrase": "short"})
    _check(zh, en, 400, "invalid", "passphrase", "保管口令至少需要 8 个字符",
           "the custody passphrase must have at least 8 characters")
    # at the opening: a wrong passphrase and a malformed share, each a refused (audited) presentation
    tender.submit(world.bidders[0], 100)
    clock.move_to(tender.lot.bid_deadline)
    transition_lot(lot=tender.lot, action="close_bidding")
    staff = _client(tender.custodians["staff"])
    path = f"/api/envelopes/lots/{tender.lot.pk}/shares/"
    last = Event.objects.order_by("-id")[0].pk
    zh, en = _both(staff, path, {"passphrase": "not-the-passphrase"})
    _check(zh, en, 400, "invalid", "passphrase", "保管口令错误（", "wrong custody passphrase (")
    zh, en = _both(staff, path, {"share": "sunlight-share:v2:zzz"})
    _check(zh, en, 400, "invalid", "share", "出示的份额格式有误：不是 Sunlight 保管份额",
           "is malformed: not a Sunlight custody share (expected sunlight-share:v1:...)")
    refused = Event.objects.filter(id__gt=last, action="custody.share_refused").order_by("id")
    reasons = [e.payload["reason"] for e in refused]
    assert len(reasons) == 4 and all(not CHINESE.search(r.replace(tender.custodians["staff"].get_full_name(), ""))
                                     for r in reasons), reasons  # the record is in English, whatever was asked
    assert reasons[0].startswith("wrong custody passphrase (") and "not-the-passphrase" not in str(reasons)
    assert not CustodyShare.objects.filter(presented_at__isnull=False).exists()
