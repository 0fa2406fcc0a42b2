"""The bank statement parser's and the bank signature's refusals through the API in the request's language
(issue 13): the pure modules (deposits/statements.py, deposits/bank/signing.py) refuse with a stable code and the
values as data; the answer's `detail` is deposits/messages.py's message in zh-hans or English, amounts by the one
money formatter, `code` the same in both; a refusal changes nothing."""
from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from deposits.models import StatementImport
from tests.deposits.test_services import snapshot

CHINESE = re.compile(r"[\u4e00-\u9fff]")
pytestmark = pytest.mark.django_db

HEADER = "交易日期,交易流水号,对方账号,对方户名,贷方发生额,借方发生额,余额\n"


def _upload(client, content: bytes, language: str):
    return client.post("/api/deposits/statements/", {"file": SimpleUploadedFile("day.csv", content)},
                       format="multipart", HTTP_ACCEPT_LANGUAGE=language)


def test_statement_refusals_in_the_request_language(world, fake_bank):
    staff = APIClient()
    staff.force_authenticate(world.staff)
    cases = [  # (file, Chinese, English)
        (b"", "对账单为空", "statement is empty"),
        ("日期,摘要\n2026-03-02,x\n".encode("gbk"), "未找到表头行", "no header row found"),
        ((HEADER + "2026-03-02,T1,6222,张三,12.345,,\n").encode("gbk"),
         "第 2 行：金额 '12.345' 含有不足一分的部分", "line 2: amount '12.345' has a fraction of a fen"),
        ((HEADER + "2026-03-02,T1,6222,张三,10.00,,10.00\n2026-03-02,T1,6222,张三,5.00,,15.00\n").encode("gbk"),
         "第 3 行：交易流水号 T1 出现了两次", "line 3: transaction number T1 appears twice"),
        (("期初余额,100.00\n" + HEADER + "2026-03-02,T1,6222,张三,10.00,,\n期末余额,120.00\n").encode("gbk"),
         "期初余额 100.00 元加各笔发生额不等于期末余额 120.00 元",
         "opening 100.00 + lines != closing 120.00"),
    ]
    before = snapshot(), StatementImport.objects.count()
    for content, chinese, english in cases:
        zh, en = _upload(staff, content, "zh-hans"), _upload(staff, content, "en")
        assert zh.status_code == en.status_code == 400, (zh.content, en.content)
        assert zh.json()["code"] == en.json()["code"] == "invalid" and list(zh.json()["fields"]) == ["file"]
        assert chinese in zh.json()["detail"] and zh.json()["detail"].startswith("对账单被拒绝"), zh.json()
        en_words = en.json()["detail"].split("expected columns like")[0]  # (the bank's own column names)
        assert english in en.json()["detail"] and not CHINESE.search(en_words), en.json()
    assert (snapshot(), StatementImport.objects.count()) == before


def test_bank_signature_refusals_in_the_request_language(world, fake_bank, client):
    raw, headers = fake_bank.signed({"type": "payment", "txn_id": "S-1", "amount": "1.00", "sub_account": "1"})
    _, forged = fake_bank.signed({"type": "payment"}, secret=b"not-the-secret")
    raw_old, old = fake_bank.signed({"type": "payment", "txn_id": "S-2"}, timestamp=1)
    before = snapshot()
    for body, given, chinese, english in ((raw, forged, "签名不符", "signature does not match"),
                                          (raw_old, old, "时间戳超出允许的时间窗口", "timestamp outside the allowed window"),
                                          (raw, {}, "缺少签名头", "missing signature headers")):
        answers = [client.post("/api/deposits/bank/notifications/", body, content_type="application/json",
                               HTTP_ACCEPT_LANGUAGE=language, **given).json() for language in ("zh-hans", "en")]
        assert answers[0]["code"] == answers[1]["code"] == "forbidden", answers
        assert chinese in answers[0]["detail"] and english in answers[1]["detail"], answers
        assert not CHINESE.search(answers[1]["detail"]), answers
    assert snapshot() == before
