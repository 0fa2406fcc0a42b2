"""The audit log's proof refusals and the tile server's 404s in the request's language (issue 13): merkle.py and
proofs.py refuse with a stable code and the values as data; the API answers with audit/messages.py's message in
zh-hans or English, `code` the same in both."""
from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from audit import sequencer

CHINESE = re.compile(r"[\u4e00-\u9fff]")
pytestmark = pytest.mark.django_db


def _both(path: str) -> tuple[int, dict, dict]:
    client = APIClient()
    zh, en = (client.get(path, HTTP_ACCEPT_LANGUAGE=language) for language in ("zh-hans", "en"))
    assert zh.status_code == en.status_code, (zh.content, en.content)
    assert zh.json()["code"] == en.json()["code"]
    return zh.status_code, zh.json(), en.json()


def test_proof_refusals_in_the_request_language(world):
    sequencer.integrate_all()
    size = sequencer.tree_size()
    assert size > 0
    cases = [  # (path, status, code, Chinese, English)
        (f"/api/audit/proofs/inclusion/?index={size + 5}&size={size}", 404, "not_found",
         f"叶索引 {size + 5} 不在大小为 {size} 的树中", f"leaf index {size + 5} is not in a tree of size {size}"),
        (f"/api/audit/proofs/inclusion/?index=0&size={size + 1000}", 404, "not_found",
         f"未知的树大小 {size + 1000}：日志共有 {size} 条记录",
         f"tree size {size + 1000} is unknown: the log holds {size} entries"),
        (f"/api/audit/proofs/consistency/?first={size}&second=1", 400, "invalid",
         f"第一个大小 {size} 大于第二个大小 1", f"first size {size} is larger than second size 1"),
        ("/api/audit/proofs/inclusion/?event=1&size=999999", 404, "not_found",
         "没有树大小为 999999 的签名检查点", "no signed checkpoint has tree size 999999"),
        ("/api/audit/tlog/tile/0/x999", 404, "not_found", "瓦片索引有误", "bad tile index"),
        ("/api/audit/tlog/nothing-here", 404, "not_found", "不是 tlog-tiles 路径", "not a tlog-tiles path"),
    ]
    for path, status, code, chinese, english in cases:
        got, zh, en = _both(path)
        assert (got, zh["code"]) == (status, code), (path, zh)
        assert zh["detail"] == chinese, (path, zh)
        assert en["detail"] == english and not CHINESE.search(en["detail"]), (path, en)


def test_the_checkpoints_page_names_a_missing_size_in_the_page_language(world, client):
    sequencer.integrate_all()
    for language, expected in (("zh-hans", "没有树大小为 999998 的签名检查点"), ("en", "no signed checkpoint has tree size 999998")):
        client.cookies["django_language"] = language
        html = client.get("/audit/checkpoints/?first=999998&second=999999").content.decode()
        assert expected in html, language
