"""The schedule validator's problems (trading/periods.py: a stable code, the values as data) through the API in the
request's language (issue 13): `detail` from trading/messages.py in zh-hans or English, `code` and field the same,
the legal basis named in both; nothing is created."""
from __future__ import annotations

import re

import pytest
from django.utils import timezone

from tests.trading.conftest import snapshot
from tests.trading.test_api import DAY, as_user, iso, project_body

CHINESE = re.compile(r"[\u4e00-\u9fff]")
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("change,field,chinese,english", [
    ({"bid_deadline": 19}, "bid_deadline", "自公告发布至投标截止时间不得少于 20 日（现仅",
     "at least 20 days must pass between the notice and the bid deadline (only"),
    ({"doc_end": 2}, "doc_end", "招标文件发售期不得少于 5 日", "the document period must last at least 5 days"),
    ({"doc_end": 22}, "doc_end", "招标文件发售期须在投标截止时间前结束", "the document period must end by the bid deadline"),
])
def test_schedule_problems_in_the_request_language(world, clock, change, field, chinese, english):
    body = project_body(world)
    for key, days in change.items():
        body["lots"][0][key] = iso(timezone.now() + days * DAY)
    staff = as_user(world.staff)
    before = snapshot()
    zh, en = (staff.post("/api/projects/", body, format="json", HTTP_ACCEPT_LANGUAGE=language)
              for language in ("zh-hans", "en"))
    assert zh.status_code == en.status_code == 400, (zh.content, en.content)
    assert zh.json()["code"] == en.json()["code"] == "invalid"
    assert list(zh.json()["fields"]) == list(en.json()["fields"]), (zh.json(), en.json())
    assert field in next(iter(zh.json()["fields"])), zh.json()
    assert chinese in zh.json()["detail"], zh.json()
    assert english in en.json()["detail"] and en.json()["detail"].startswith("lot 1: "), en.json()
    assert not CHINESE.search(en.json()["detail"].split(" — ")[0]), en.json()  # (the basis is the law's own words)
    assert snapshot() == before
