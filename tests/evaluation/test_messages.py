"""The scoring rules' and the committee draw's refusals through the API in the request's language (issue 13):
the pure modules (scoring.py, draw.py) refuse with a stable code and English for logs; the answer's `detail`
is bidding/evaluation/messages.py's message in zh-hans or English, `code` the same in both."""
from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from audit.models import Event
from bidding.evaluation.models import Committee, EvaluationPlan
from tests import factories

CHINESE = re.compile(r"[\u4e00-\u9fff]")
pytestmark = pytest.mark.django_db


def _both(client, path: str, body, method: str = "post") -> tuple[dict, dict]:
    zh = getattr(client, method)(path, body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    en = getattr(client, method)(path, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.status_code == en.status_code == 400, (zh.content, en.content)
    assert zh.json()["code"] == en.json()["code"] == "invalid"
    return zh.json(), en.json()


def test_scoring_and_draw_refusals_in_the_request_language(world, clock):
    lot = factories.make_project(world, publish=True).lots.get()
    staff = APIClient()
    staff.force_authenticate(world.staff)
    criteria = [{"code": "price", "kind": "price", "weight": "50"}, {"code": "tech", "kind": "score", "weight": "40"}]
    method = {"kind": "comprehensive", "criteria": criteria}
    before = EvaluationPlan.objects.count(), Committee.objects.count(), Event.objects.count()
    zh, en = _both(staff, f"/api/evaluation/lots/{lot.pk}/plan/", {"method": method}, "put")
    assert "各项分值之和必须为 100 分（当前合计 90" in zh["detail"], zh
    assert en["detail"].startswith("weights must sum to 100 points (they sum to 90"), en
    criteria[0]["weight"] = "1.5x"
    zh, en = _both(staff, f"/api/evaluation/lots/{lot.pk}/plan/", {"method": method}, "put")
    assert "criteria[price].weight：'1.5x' 不是数字" in zh["detail"], zh  # the field by its path, in any language
    assert "criteria[price].weight: '1.5x' is not a number" in en["detail"] and not CHINESE.search(en["detail"]), en
    zh, en = _both(staff, f"/api/evaluation/lots/{lot.pk}/draw/commit/", {"size": 4})
    assert zh["detail"] == "评标委员会成员须为单数，至少 5 人（实际 4 人）" and list(zh["fields"]) == ["size"], zh
    assert en["detail"] == "the committee must have an odd number of members, at least 5 (got 4)", en
    assert (EvaluationPlan.objects.count(), Committee.objects.count(), Event.objects.count()) == before


def test_an_incomplete_report_in_the_request_language(ew, clock):
    from tests.evaluation.conftest import draw_committee, open_lot
    from tests.evaluation.test_services import COMPREHENSIVE_PLAN
    from bidding.evaluation import services as ev

    world = ew.world
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000], method="comprehensive", plan=COMPREHENSIVE_PLAN)
    draw_committee(ew, lot)
    ev.start_evaluation(actor=world.staff, lot=lot)
    staff = APIClient()
    staff.force_authenticate(world.staff)
    before = Event.objects.count()
    zh, en = (staff.post(f"/api/evaluation/lots/{lot.pk}/report/", {}, format="json", HTTP_ACCEPT_LANGUAGE=language)
              for language in ("zh-hans", "en"))
    assert zh.status_code == en.status_code == 409 and zh.json()["code"] == en.json()["code"] == "conflict"
    assert re.search(r"尚缺 \d+ 项专家评审，例如专家 \d+ 对投标人 \d+ 的 \w+ 的(表决|评分)$", zh.json()["detail"]), zh.json()
    assert re.search(r"^\d+ expert input\(s\) missing, e\.g\. expert \d+ (vote|score) on \w+ for bidder \d+$",
                     en.json()["detail"]), en.json()
    assert Event.objects.count() == before
