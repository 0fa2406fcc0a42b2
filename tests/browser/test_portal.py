"""The public portal in real Chromium: open the portal, search, open a notice, its project and the
five-openness page (a screenshot is saved under test-output/)."""
import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_and_five_openness(chromium, live_server, screenshot_dir):
    world = factories.make_world(bidders=2)
    road = factories.make_project(world, "engineering", "open_tender", publish=True, title="人民路改造工程施工")
    factories.make_project(world, "land", "listing", publish=True, title="2026-07号地块挂牌出让")
    factories.make_project(world, "procurement", "open_tender", publish=True, title="教学设备采购")

    page = chromium.new_page(locale="zh-CN")
    page.goto(live_server.url + "/")
    assert page.locator("#notice-list tbody tr").count() == 3
    page.fill("input[name=q]", "人民路")
    with page.expect_navigation():
        page.click("#notice-search button[type=submit]")
    rows = page.locator("#notice-list tbody tr")
    expect(rows).to_have_count(1)  # waits for the answer's list, never counts the page being left
    assert "人民路改造工程施工" in rows.first.inner_text()

    rows.first.locator("a").first.click()
    page.wait_for_load_state()
    assert "人民路改造工程施工" in page.locator("h1").inner_text()
    page.locator(f"a[href='/projects/{road.code}/disclosure/']").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/projects/{road.code}/disclosure/")
    for section in ("#policy", "#notices", "#procedure", "#fees", "#supervision"):
        assert page.locator(section).is_visible()
    body = page.locator("main").inner_text()
    assert "招标投标法" in body  # the legal basis of the rules that apply
    assert world.supervisor_org.name in body  # who supervises it
    assert road.notices.get().title in page.locator("#notices").inner_text()
    page.screenshot(path=str(screenshot_dir / "portal-five-openness.png"), full_page=True)
    page.close()
