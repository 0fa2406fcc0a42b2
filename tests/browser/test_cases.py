"""The case pages in real Chromium: a member of the public files a complaint and follows it with the follow-up
code, a bidder files a disclosure request, staff answer it, the supervisor accepts and decides the complaint;
and the annual openness report printed to PDF (print media): its section headings, nothing wider than the page,
a sane page count."""
from __future__ import annotations

import io
import re

import pytest
from django.utils import timezone

from tests import factories
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 500 else None)
    return errors


def test_filing_following_answering_deciding(chromium, live_server, screenshot_dir):
    world = factories.make_world(bidders=2)
    project = factories.make_project(world, "engineering", "open_tender", publish=True, title="人民路改造工程施工")
    base = live_server.url

    # a member of the public files a complaint (no account) and keeps the follow-up code
    public = chromium.new_context(locale="zh-CN")
    page = public.new_page()
    errors = watch(page)
    page.goto(f"{base}/cases/new/?project={project.code}")
    page.select_option("#id_kind", "engineering_complaint")
    page.fill("#id_subject", "资格条件排斥潜在投标人")
    page.fill("#id_text", "招标文件设定的业绩要求与项目无关，排斥潜在投标人。")
    page.fill("#id_known_on", timezone.localdate().isoformat())
    page.fill("#id_name", "孙八")
    page.fill("#id_contact", "sun8@example.com")
    page.click("#case-form button[type=submit]")
    page.wait_for_selector("#follow-code")
    number, token = page.inner_text("#case-number").strip(), page.inner_text("#case-token").strip()
    assert "TS" in number and len(token) >= 16
    page.goto(f"{base}/cases/follow/")
    page.fill("#id_number", number)
    page.fill("#id_token", token)
    page.click("#follow-form button[type=submit]")
    page.wait_for_selector("#case-status")
    assert "资格条件排斥潜在投标人" in page.content()
    page.screenshot(path=str(screenshot_dir / "case-public-follow.png"), full_page=True)
    follow_url = page.url

    # a bidder files a disclosure request from its account
    bidder = chromium.new_context(locale="zh-CN").new_page()
    errors += watch(bidder)
    login(bidder, base, world.bidders[0].username)
    bidder.goto(f"{base}/cases/new/?project={project.code}")
    bidder.select_option("#id_kind", "disclosure_request")
    bidder.fill("#id_subject", "申请公开评标委员会组建情况")
    bidder.fill("#id_text", "请公开本项目评标委员会的组建方式。")
    bidder.click("#case-form button[type=submit]")
    bidder.wait_for_selector("#case-status")
    found = re.search(r"/cases/([^/]+)/$", bidder.url)
    assert found is not None, bidder.url
    request_number = found.group(1)

    # staff answer it (refused, with its legal ground)
    staff = chromium.new_context(locale="zh-CN").new_page()
    errors += watch(staff)
    login(staff, base, world.staff.username)
    staff.goto(f"{base}/cases/{request_number}/")
    staff.select_option("#id_outcome", "refused")
    staff.select_option("#id_ground", index=1)
    staff.fill("#id_answer", "所申请信息属于过程性信息，依法不予公开。")
    staff.click("#answer-form button[type=submit]")
    staff.wait_for_selector("#case-answer")
    assert "过程性信息" in staff.inner_text("#case-answer")
    bidder.reload()
    assert "过程性信息" in bidder.inner_text("#case-answer")

    # the supervisor accepts the complaint, then decides it
    sup = chromium.new_context(locale="zh-CN").new_page()
    errors += watch(sup)
    login(sup, base, world.supervisor.username)
    sup.goto(f"{base}/cases/{number}/")
    sup.click("#accept-forms form:first-of-type button")
    sup.wait_for_selector("#decide-form")
    sup.select_option("#id_doutcome", "dismissed")
    sup.fill("#id_decision", "经查，业绩要求与项目规模相适应，投诉缺乏事实根据，予以驳回。")
    sup.click("#decide-form button[type=submit]")
    sup.wait_for_selector("#case-answer")
    assert "予以驳回" in sup.inner_text("#case-answer")
    sup.screenshot(path=str(screenshot_dir / "case-supervisor-decided.png"), full_page=True)

    # the public filer sees the decision with the follow-up code; its name and contact are never shown
    page.goto(follow_url)
    assert "予以驳回" in page.inner_text("#case-answer")
    assert "sun8@example.com" not in page.content()
    assert not errors, errors


def test_annual_report_prints_to_a_clean_pdf(chromium, live_server, screenshot_dir):
    from pypdf import PdfReader

    world = factories.make_world(bidders=2)
    factories.make_project(world, "engineering", "open_tender", publish=True, title="人民路改造工程施工")
    year = timezone.localdate().year
    # laid out at the printable width of A4 (210 mm less the @page margins of 2 × 18 mm, at 96 dpi)
    printable = round((210 - 36) / 25.4 * 96)
    page = chromium.new_page(locale="zh-CN", viewport={"width": printable, "height": 1000})
    errors = watch(page)
    page.goto(f"{live_server.url}/openness-report/{year}/")
    page.emulate_media(media="print")
    # nothing wider than the page, nothing running past its right edge
    wide = page.evaluate("""(limit) => [...document.querySelectorAll('body *')]
        .filter(e => getComputedStyle(e).display !== 'none')
        .map(e => { const r = e.getBoundingClientRect();
                    return [e.tagName + (e.id ? '#' + e.id : ''), Math.ceil(r.width), Math.ceil(r.right)]; })
        .filter(([_, w, right]) => w > limit || right > limit)""", printable)
    assert wide == [], wide
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    # a tagged PDF with its outline built from the headings: pypdf reads the headings back from the outline
    # (its text extraction cannot map Chromium's CJK glyphs: they come out as NULs, the digits and Latin text not)
    pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=False, outline=True, tagged=True)
    (screenshot_dir / "openness-report.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    assert 1 <= len(reader.pages) <= 8

    def titles(items) -> list[str]:
        return [t for item in items for t in (titles(item) if isinstance(item, list) else [item.title])]

    headings = [re.sub(r"\s+", "", t) for t in titles(reader.outline)]
    for heading in ("一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
                    "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况"):
        assert heading in headings, headings
    assert any(h.startswith("六、其他需要报告的事项") for h in headings), headings
    assert any(f"{year}年政府信息公开工作年度报告" in h for h in headings), headings
    text = "".join(p.extract_text() for p in reader.pages)
    assert str(year) in text and "CSV" not in text  # the screen-only tools are not printed
    assert not errors, errors
