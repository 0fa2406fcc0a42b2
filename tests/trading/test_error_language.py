"""Service refusals through the API answer in the request's language: `detail` in Chinese with
`Accept-Language: zh-hans`, in English with `en`; `code` and status the same in both (issue 13). The
catalogue side (every message translatable and translated) is tests/trading/test_error_messages.py."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db  # the database outlives the replay check of tests/trading/conftest.py


# --- (b) real refusals through the API, in both languages ------------------------------------------------

def _client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def _both(client, method: str, path: str, body=None) -> tuple[dict, dict, int, int]:
    answers = []
    for language in ("zh-hans", "en"):
        response = getattr(client, method)(path, body, format="json", HTTP_ACCEPT_LANGUAGE=language)
        answers.append(response)
    zh, en = answers
    return zh.json(), en.json(), zh.status_code, en.status_code


def test_service_refusals_answer_in_the_request_language(world, clock):
    from bidding.models import Registration
    from tests import factories

    lot = factories.make_project(world, publish=True, security_fen=0).lots.get()
    bidder, staff = _client(world.bidders[0]), _client(world.staff)
    declaration = [{"condition": c, "met": True} for c in lot.eligibility]
    reg = bidder.post("/api/bidding/registrations/", {"lot": lot.pk, "declaration": declaration}, format="json").json()
    assert bidder.post(f"/api/bidding/registrations/{reg['id']}/withdraw/").status_code == 200
    before = Registration.objects.count()
    cases = [  # (client, method, path, body, status, code, Chinese, English)
        (bidder, "post", f"/api/bidding/registrations/{reg['id']}/withdraw/", None, 409, "conflict",
         "该报名已经撤回", "the registration is already withdrawn"),
        (staff, "post", "/api/deposits/refunds/999999999/retry/", {}, 404, "not_found",
         "没有该退款指令", "no such refund order"),
        (bidder, "get", f"/api/envelopes/lots/{lot.pk}/envelope/", None, 404, "not_found",
         "您在该标段没有投标文件", "you have no envelope for this lot"),
        (staff, "post", f"/api/evaluation/lots/{lot.pk}/start/", {}, 409, "conflict",
         "评标在开标后开始（标段当前状态 published）", "evaluation starts after the opening (lot is published)"),
        (bidder, "post", "/api/auctions/999999999/bids/", {"amount": "1.00", "ref": "r1"}, 404, "not_found",
         "没有该拍卖", "no such auction"),
        (bidder, "post", "/api/cases/NO-SUCH-CASE/answer/", {"text": "x"}, 404, "not_found", "没有该案件", "no such case"),
    ]
    for client, method, path, body, status, code, chinese, english in cases:
        zh, en, zh_status, en_status = _both(client, method, path, body)
        assert (zh_status, en_status) == (status, status), (path, zh, en)
        assert zh["code"] == en["code"] == code, (path, zh, en)
        assert chinese in zh["detail"] and not re.search(r"[A-Za-z]{4}", zh["detail"].replace("published", "")), (path, zh)
        assert english in en["detail"] and not re.search(r"[\u4e00-\u9fff]", en["detail"]), (path, en)
    assert Registration.objects.count() == before  # the refusals changed nothing
