"""Server-rendered pages: portal search and filters, notice and project pages, five openness, Atom feed,
English, and the staff create-project form with the legal-period error in plain words."""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from tests import factories
from tests.trading.conftest import snapshot
from trading import services
from trading.money import format_yuan_display
from trading.rules import rule_for

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


@pytest.fixture
def portal(world, clock):
    road = factories.make_project(world, "engineering", "open_tender", publish=True, title="城南快速路改造工程")
    services.attach_document(actor=world.staff, notice=road.notices.get(), name="招标文件.pdf", content=b"%PDF-1.4 doc")
    clock.advance(days=1)
    pcs = factories.make_project(world, "procurement", "inquiry", publish=True, title="办公电脑询价采购")
    clock.advance(days=1)
    land = services.create_project(
        actor=world.staff, kind="land", method="listing", title="东区R2地块挂牌出让", owner=world.tenderee,
        supervisor=world.supervisor_org, region="高新区", budget_fen=500_000_000,
        lots=[factories.lot_spec("land", "listing", estimate_fen=500_000_000)])
    services.publish_project(actor=world.staff, project=land)
    car = factories.make_project(world, "asset", "auction", publish=True, title="公务车辆拍卖")
    services.terminate_project(actor=world.staff, project=car, reason="资产划转")
    clock.advance(days=6)
    amendment = services.publish_amendment(actor=world.staff, notice=road.notices.get(kind="tender"),
                                           title="城南快速路改造工程变更公告", body="调整工期")
    draft = factories.make_project(world, title="秘密草稿项目")
    return {"road": road, "pcs": pcs, "land": land, "car": car, "draft": draft, "amendment": amendment}


def titles(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    body = html.split('id="notice-list"', 1)[1]
    return re.findall(r'<a href="/notices/[^"]+/">([^<]+)</a>', body)


def test_home_and_every_filter(client, portal):
    all_titles = titles(client.get("/"))
    assert len(all_titles) == 6 and "秘密草稿项目" not in "".join(all_titles)
    assert all_titles[0] == "城南快速路改造工程变更公告"  # newest first
    assert titles(client.get("/?q=快速路")) == ["城南快速路改造工程变更公告", "城南快速路改造工程 工程建设招投标 · 公开招标公告"]
    assert titles(client.get("/?q=" + portal["pcs"].code)) == [portal["pcs"].notices.get().title]
    assert titles(client.get("/?kind=amendment")) == ["城南快速路改造工程变更公告"]
    assert titles(client.get("/?kind=termination")) == ["公务车辆拍卖 终止公告"]
    assert len(titles(client.get("/?project_kind=engineering"))) == 2
    assert titles(client.get("/?project_kind=land")) == [portal["land"].notices.get().title]
    assert titles(client.get("/?method=inquiry")) == [portal["pcs"].notices.get().title]
    assert titles(client.get("/?region=高新")) == [portal["land"].notices.get().title]
    assert len(titles(client.get("/?status=terminated"))) == 2  # the car's tender and termination notices
    day3 = (portal["road"].created_at + 2 * DAY).astimezone(timezone.get_current_timezone()).date()
    assert len(titles(client.get(f"/?date_from={day3}"))) == 4  # land, car (2), amendment
    assert len(titles(client.get(f"/?date_to={day3 - DAY}"))) == 2
    assert titles(client.get("/?q=没有这样的公告")) == []


def test_bad_dates_are_a_400_with_a_message(client, portal):
    for bad in ("yesterday", "2026-02-30", "2026-13-01"):
        response = client.get(f"/?date_from={bad}", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400
        assert "Dates must look like 2026-03-01" in response.content.decode()


def test_pagination_keeps_the_filters(client, world, clock, portal):
    for i in range(26):
        services.publish_notice(actor=world.staff, project=portal["pcs"], kind="clarification",
                                title=f"答疑 & 澄清 {i}", body="b")
    response = client.get("/?q=答疑 %26 澄清")
    html = response.content.decode()
    assert len(titles(response)) == 25
    found = re.search(r'href="\?([^"]+page=2)"', html)
    assert found is not None
    link = found.group(1).replace("&amp;", "&")
    assert "q=%E7%AD%94%E7%96%91+%26+%E6%BE%84%E6%B8%85" in link
    assert len(titles(client.get("/?" + link))) == 1


def test_notice_page(client, portal):
    notice = portal["road"].notices.get(kind="tender")
    html = client.get(f"/notices/{notice.number}/").content.decode()
    doc = notice.documents.get()
    assert notice.title in html and doc.sha256 in html and f"/documents/{doc.pk}/download/" in html
    assert portal["amendment"].title in html  # its amendment is linked
    html = client.get(f"/notices/{portal['amendment'].number}/").content.decode()
    assert notice.number in html  # and the amendment links back
    assert client.get("/notices/NO-SUCH/").status_code == 404


def test_project_page(client, portal):
    project = portal["road"]
    lot = project.lots.get()
    html = client.get(f"/projects/{project.code}/").content.decode()
    assert project.title in html and lot.title in html
    assert all(n.title in html for n in project.notices.all())
    assert client.get(f"/projects/{portal['draft'].code}/").status_code == 404


def test_five_openness_page(client, portal):
    project = portal["road"]
    rule = rule_for(project.kind, project.method)
    lot = project.lots.get()
    response = client.get(f"/projects/{project.code}/disclosure/")
    assert response.status_code == 200
    html = response.content.decode()
    sections = {}
    for name in ("policy", "notices", "procedure", "fees", "supervision"):
        match = re.search(rf'<section class="card" id="{name}">(.*?)</section>', html, re.S)
        assert match, f"section {name} missing"
        sections[name] = match.group(1)
    assert "政策标准" in sections["policy"] and "信息发布" in sections["notices"] and "操作流程" in sections["procedure"]
    assert "收费标准" in sections["fees"] and "监督管理" in sections["supervision"]
    # 1. the rules that apply, with their legal basis
    assert rule.basis["min_notice_days"] in sections["policy"]
    assert rule.basis["amendment_min_days"] in sections["policy"]
    assert f"<td>{rule.min_notice_days}</td>" in sections["policy"]
    # 2. its notices
    for notice in project.notices.all():
        assert notice.title in sections["notices"]
    # 3. the timeline with every step and time
    assert world_staff_name(project) in sections["procedure"]
    assert "草稿 → 已发布" in sections["procedure"]
    assert timezone.localtime(lot.bid_deadline).strftime("%Y-%m-%d %H:%M") in sections["procedure"]
    # 4. fees, including this lot's security
    for (zh_name, _en_name), _text in rule.fees:
        assert zh_name in sections["fees"]  # (中文, English): the page is in zh-hans
    assert format_yuan_display(lot.security_fen) in sections["fees"]
    # 5. who supervises it, the complaint channel and the audit trail
    assert project.supervisor.name in sections["supervision"] and "投诉" in sections["supervision"]
    assert re.search(r"\d+ 条公开记录", sections["supervision"])  # the page is in zh-hans by default


def world_staff_name(project) -> str:
    return project.created_by.get_username()


def test_five_openness_for_every_kind(client, portal, subtests):
    for name in ("pcs", "land", "car"):
        with subtests.test(msg=name):
            project = portal[name]
            html = client.get(f"/projects/{project.code}/disclosure/").content.decode()
            assert project.rule.basis["min_notice_days"] in html
            assert project.supervisor.name in html
    html = client.get(f"/projects/{portal['car'].code}/disclosure/").content.decode()
    assert "资产划转" in html  # the termination reason is in the timeline


def test_atom_feed(client, portal):
    response = client.get("/feeds/notices.atom")
    assert response.status_code == 200 and "atom" in response["Content-Type"]
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(response.content)
    entries = root.findall("a:entry", ns)
    assert len(entries) == 6
    first = entries[0]
    title, link, updated = first.find("a:title", ns), first.find("a:link", ns), first.find("a:updated", ns)
    assert title is not None and link is not None and updated is not None
    assert title.text is not None and "城南快速路改造工程变更公告" in title.text
    assert f"/notices/{portal['amendment'].number}/" in link.get("href", "")
    assert updated.text is not None and updated.text.startswith(str(portal["amendment"].published_at.year))
    assert "秘密草稿项目" not in response.content.decode()


def test_english(client, portal):
    zh = client.get("/").content.decode()
    assert 'lang="zh-hans"' in zh and "工程建设招投标" in zh
    response = client.post("/lang/", {"language": "en", "next": "/projects/"})
    assert response.status_code == 302 and response.cookies["django_language"].value == "en"
    assert response["Location"] == "/projects/" and response.cookies["django_language"]["max-age"] == 365 * 24 * 3600
    en = client.get("/").content.decode()
    assert 'lang="en"' in en and "Engineering construction tendering" in en
    assert "Notices" in en
    assert client.post("/lang/", {"language": "en", "next": "https://evil.example/"})["Location"] == "/"
    client.cookies["django_language"] = "zh-hans"
    assert 'lang="zh-hans"' in client.get("/").content.decode()
    # Django's own set_language view works too
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert 'lang="en"' in client.get(f"/projects/{portal['road'].code}/disclosure/").content.decode()


def staff_form(world, **over):
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    data = {
        "title": "页面创建的道路工程", "kind": "engineering", "method": "open_tender", "owner": world.tenderee.pk,
        "agent": world.agent.pk, "supervisor": world.supervisor_org.pk, "region": "市本级", "budget": "2000000.00",
        "state_funded": "on", "description": "",
        "lots-TOTAL_FORMS": "2", "lots-INITIAL_FORMS": "0", "lots-MIN_NUM_FORMS": "0", "lots-MAX_NUM_FORMS": "10",
        "lots-0-title": "第1标段", "lots-0-estimate": "2000000.00", "lots-0-security": "20000.00",
        "lots-0-bid_deadline": (now + 25 * DAY).strftime(fmt), "lots-0-doc_start": (now + DAY).strftime(fmt),
        "lots-0-doc_end": (now + 8 * DAY).strftime(fmt), "lots-0-evaluation_method": "comprehensive",
        "lots-0-eligibility": "具有有效的营业执照\n具有施工总承包资质",
    }
    data.update(over)
    return data


def test_staff_form_shows_the_legal_period_error_in_plain_words(client, world, clock):
    client.force_login(world.staff)
    assert client.get("/staff/projects/new/").status_code == 200
    soon = (timezone.localtime() + 12 * DAY).strftime("%Y-%m-%dT%H:%M")
    before = snapshot()
    response = client.post("/staff/projects/new/", staff_form(world, **{"lots-0-bid_deadline": soon}))
    assert response.status_code == 400
    html = response.content.decode()
    assert "自招标文件开始发出之日起至投标截止时间止不得少于 20 日" in html  # the page's language (zh-hans)
    assert "《招标投标法》第二十四条" in html
    assert snapshot() == before


# the services' refusals, in the page's language (zh-hans by default)
@pytest.mark.parametrize("over, words", [
    ({"budget": "-1"}, "不能为负"),
    ({"budget": "1.234"}, "最多两位小数"),
    ({"lots-0-security": "900000.00"}, "超过上限"),
    ({"method": "auction"}, "不适用于 engineering 项目"),
    ({"lots-0-bid_deadline": ""}, "the bid deadline is required"),
    ({"lots-0-evaluation_method": ""}, "评标办法必须为以下之一"),
])
def test_staff_form_other_errors(client, world, clock, over, words):
    client.force_login(world.staff)
    before = snapshot()
    response = client.post("/staff/projects/new/", staff_form(world, **over))
    assert response.status_code == 400
    assert words in response.content.decode()
    assert snapshot() == before


def test_staff_form_creates_a_draft_and_publishes(client, world, clock):
    client.force_login(world.staff)
    response = client.post("/staff/projects/new/", staff_form(world))
    assert response.status_code == 302, response.content.decode()[-3000:]
    code = response["Location"].rstrip("/").split("/")[-1]
    project = world.centre.centre_projects.get(code=code)
    lot = project.lots.get()
    assert lot.security_fen == 2_000_000 and lot.eligibility == ["具有有效的营业执照", "具有施工总承包资质"]
    assert lot.objection_deadline == lot.bid_deadline - 10 * DAY
    assert client.post(f"/staff/projects/{code}/publish/").status_code == 302
    lot.refresh_from_db()
    assert lot.status == "published"
    client.force_login(world.other_staff)
    assert client.get(f"/staff/projects/{code}/").status_code == 403
    before = snapshot()
    client.post(f"/staff/projects/{code}/terminate/", {"reason": "x"})
    assert snapshot() == before


def test_staff_console_amend_and_attach(client, world, clock):
    project = factories.make_project(world, publish=True)
    notice = project.notices.get()
    client.force_login(world.staff)
    html = client.get(f"/staff/projects/{project.code}/").content.decode()
    assert notice.number in html and project.title in html
    assert client.get("/staff/").status_code == 200
    clock.advance(days=10)
    response = client.post(f"/staff/notices/{notice.number}/amend/", {"kind": "amendment", "title": "变更公告", "body": "调整"})
    assert response.status_code == 302
    lot = project.lots.get()
    assert lot.bid_deadline == clock.now + 15 * DAY
    assert project.notices.filter(kind="amendment", amends=notice).count() == 1
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(f"/staff/notices/{notice.number}/documents/",
                           {"file": SimpleUploadedFile("招标文件.pdf", b"%PDF-1.4 x"), "access": "public"})
    assert response.status_code == 302 and notice.documents.count() == 1
    before = snapshot()
    response = client.post(f"/staff/notices/{notice.number}/documents/",
                           {"file": SimpleUploadedFile("macro.exe", b"MZ"), "access": "public"}, follow=True)
    assert "不接受文件类型" in response.content.decode()  # the service's refusal, in the page's language
    assert snapshot() == before


def test_supervisor_console_reads_every_centre(client, world, clock):
    own = factories.make_project(world, title="本中心项目")
    other = services.create_project(
        actor=world.other_staff, kind="asset", method="auction", title="邻市资产拍卖", owner=world.tenderee,
        supervisor=world.supervisor_org, region="邻市", budget_fen=100_000_000, lots=[factories.lot_spec("asset", "auction")])
    client.force_login(world.supervisor)
    html = client.get("/supervise/").content.decode()
    assert own.code in html and other.code in html
    client.force_login(world.staff)
    assert client.get("/supervise/").status_code == 403
    assert other.code not in client.get("/staff/").content.decode()
