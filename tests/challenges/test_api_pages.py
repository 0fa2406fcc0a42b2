"""Cases end to end through the API and the pages: filing, following, answering, complaints with a
suspension, the published decisions, the annual openness report (page, print stylesheet, CSV)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import Event
from tests import factories
from tests.evaluation.test_award import to_publicity
from trading.challenges.clocks import BEIJING
from trading.challenges.models import Case, Suspension
from trading.models import Lot

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    c = APIClient()
    if user is not None:
        c.force_authenticate(user)
    return c


def page(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def ok(response, code=200):
    assert response.status_code == code, (response.status_code, response.content[:500])
    return response.json()


def test_public_disclosure_request_through_the_api(world, clock):
    project = factories.make_project(world, publish=True)
    anon = api()
    before = (Event.objects.count(), Case.objects.count())
    # bad input: a 4xx with the field, nothing recorded
    bad = anon.post("/api/cases/", {"kind": "disclosure_request", "project": project.pk, "subject": "s", "text": "t"},
                    format="json")
    assert bad.status_code == 400 and "contact" in str(bad.json())
    assert anon.post("/api/cases/", {"kind": "nope", "subject": "s", "text": "t"}, format="json").status_code == 400
    assert anon.post("/api/cases/", {"kind": "document_objection", "lot": project.lots.get().pk, "subject": "s",
                                     "text": "t", "name": "x", "contact": "y"}, format="json").status_code == 403
    assert anon.post("/api/cases/", {"kind": "disclosure_request", "project": "1e9", "subject": "s", "text": "t"},
                     format="json").status_code == 400
    assert (Event.objects.count(), Case.objects.count()) == before
    filed = ok(anon.post("/api/cases/", {"kind": "disclosure_request", "project": project.pk, "subject": "专家名单",
                                         "text": "请公开评标委员会名单", "name": "赵六", "contact": "13900000000"},
                         format="json"), 201)
    token, number = filed["token"], filed["number"]
    assert filed["due_at"].endswith("Z") and filed["seconds_left"] > 0 and "第三十三条" in filed["basis"]
    # following: with the code only; without it the case answers as missing
    assert anon.get(f"/api/cases/{number}/").status_code == 404
    assert ok(anon.get(f"/api/cases/{number}/?token={token}"))["number"] == number
    assert "token" not in ok(api(world.staff).get(f"/api/cases/{number}/"))
    # the same request twice: 409 with nothing recorded
    again = anon.post("/api/cases/", {"kind": "disclosure_request", "project": project.pk, "subject": "专家名单",
                                      "text": "请公开评标委员会名单", "name": "赵六", "contact": "13900000000"}, format="json")
    assert again.status_code == 409
    staff = api(world.staff)
    ok(staff.post(f"/api/cases/{number}/extend/", {"reason": "需征求专家意见"}, format="json"))
    assert staff.post(f"/api/cases/{number}/extend/", {"reason": "again"}, format="json").status_code == 409
    ans = ok(staff.post(f"/api/cases/{number}/answer/", {"outcome": "refused", "ground": "trade_secret_privacy",
                                                         "answer": "涉及个人隐私，不予公开"}, format="json"))
    assert ans["status"] == "answered" and "第十五条" in ans["ground_text"]
    published = ok(anon.get(f"/api/cases/projects/{project.pk}/"))
    assert [c["number"] for c in published["cases"]] == [number]
    assert "text" not in published["cases"][0] and "赵六" not in str(published)


def test_bidder_workspace_and_complaint_with_suspension_through_the_api(ew, clock):
    world = ew.world
    lot = to_publicity(ew, clock, [1_000_000, 900_000, 950_000])
    bidder, staff, sup = api(world.bidders[0]), api(world.staff), api(world.supervisor)
    obj = ok(bidder.post("/api/cases/", {"kind": "candidate_objection", "lot": lot.pk, "subject": "第一名业绩",
                                         "text": "第一名业绩造假"}, format="json"), 201)
    assert "token" not in obj
    assert [c["number"] for c in ok(bidder.get("/api/cases/"))] == [obj["number"]]
    assert ok(api(world.bidders[1]).get("/api/cases/")) == []
    assert api(world.bidders[1]).get(f"/api/cases/{obj['number']}/").status_code == 404
    ok(staff.post(f"/api/cases/{obj['number']}/answer/", {"outcome": "dismissed", "answer": "业绩真实"}, format="json"))
    complaint = ok(bidder.post("/api/cases/", {
        "kind": "engineering_complaint", "lot": lot.pk, "subject": "异议答复不实", "text": "业绩造假证据见附件",
        "known_on": clock.now.astimezone(BEIJING).date().isoformat(), "follows": obj["number"]}, format="json"), 201)
    n = complaint["number"]
    assert staff.post(f"/api/cases/{n}/accept/").status_code == 403
    ok(sup.post(f"/api/cases/{n}/accept/"))
    s = ok(sup.post(f"/api/cases/projects/{lot.project_id}/suspend/", {"case": n, "reason": "调查业绩"}, format="json"), 201)
    assert s["case"] == n
    clock.advance(days=5)
    blocked = staff.post(f"/api/evaluation/lots/{lot.pk}/award/", format="json")
    assert blocked.status_code == 409 and blocked.json()["code"] == "suspended"
    decided = ok(sup.post(f"/api/cases/{n}/decide/", {"outcome": "upheld", "remedy": "reevaluate",
                                                      "decision": "业绩造假属实，责令重新评标"}, format="json"))
    assert decided["status"] == "decided"
    assert Suspension.objects.get().lifted_at is not None  # lifted by the decision
    assert Lot.objects.get(pk=lot.pk).status == "opened"
    published = ok(api().get(f"/api/cases/projects/{lot.project_id}/"))
    assert {c["number"] for c in published["cases"]} == {obj["number"], n}
    assert ok(api().get("/api/cases/rules/"))[0]["kind"] == "document_objection"


def test_pages_file_follow_answer_and_five_openness(world, clock):
    project = factories.make_project(world, publish=True)
    anon = page()
    d = anon.get(f"/projects/{project.code}/disclosure/").content.decode()
    assert 'id="file-case"' in d and 'id="published-cases"' in d
    form = anon.get(f"/cases/new/?project={project.code}").content.decode()
    assert 'value="disclosure_request"' in form and 'value="engineering_complaint"' in form
    assert 'value="document_objection"' not in form  # objections are filed by bidders from their workspace
    r = anon.post("/cases/new/", {"project": project.code, "kind": "disclosure_request", "subject": "中标价",
                                  "text": "请公开中标价", "name": "钱七", "contact": "qian@example.com"})
    assert r.status_code == 201
    case = Case.objects.get()
    html = r.content.decode()
    assert case.number in html and 'id="case-token"' in html
    token = html.split('id="case-token">')[1].split("<")[0]
    followed = anon.get(f"/cases/{case.number}/?token={token}")
    assert followed.status_code == 200 and "剩余" in followed.content.decode()
    assert anon.get(f"/cases/{case.number}/").status_code == 404
    late = anon.post("/cases/new/", {"project": project.code, "kind": "engineering_complaint", "subject": "s",
                                     "text": "t", "name": "钱七", "contact": "qian@example.com",
                                     "known_on": (clock.now - dt.timedelta(days=30)).date().isoformat()})
    assert late.status_code == 409 and "第六十条" in late.content.decode()
    # staff answer on the case page
    staff = page(world.staff)
    detail = staff.get(f"/cases/{case.number}/").content.decode()
    assert 'id="answer-form"' in detail and "qian@example.com" not in detail.split('id="case"')[0]
    staff.post(f"/cases/{case.number}/answer/", {"outcome": "refused", "ground": "already_public", "answer": "已在结果公告中公开，钱七请查阅"})
    case.refresh_from_db()
    assert case.status == "answered"
    d = page().get(f"/projects/{project.code}/disclosure/").content.decode()
    assert case.number in d and "钱七" not in d and "qian@example.com" not in d
    # a bidder's workspace lists its cases
    bidder = page(world.bidders[0])
    assert 'id="my-cases"' in bidder.get("/me/").content.decode()
    assert bidder.get("/cases/").status_code == 200


def test_annual_openness_report_page_and_csv(world, clock):
    project = factories.make_project(world, publish=True)
    from trading.challenges import services as cs
    c = cs.file_case(actor=None, kind="disclosure_request", project=project, subject="s", text="t", name="n",
                     contact="c@example.com")
    cs.answer_case(actor=world.staff, case=c, outcome="disclosed", answer="见附件",
                   attachments=[cs.Upload("a.pdf", b"%PDF-1.4 x", "application/pdf")])
    r = page().get("/openness-report/2026/")
    html = r.content.decode()
    assert r.status_code == 200
    for heading in ("一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
                    "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项"):
        assert heading in html
    assert "report.css" in html and "<script" not in html.split("<main>")[1]
    data = ok(api().get("/api/cases/report/2026/"))
    assert data["requests"]["received"] == 1 and data["requests"]["handled"]["予以公开"] == 1
    assert data["trading"]["projects"] == 1 and data["proactive"]["notices"]["招标/出让公告"] == 1
    csv = page().get("/openness-report/2026.csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    assert text.startswith("section,item,value") and "本年新收申请数量,1" in text
    assert page().get("/openness-report/1999/").status_code == 404
