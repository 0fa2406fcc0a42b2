"""In real Chromium: an expert scores the opened bids in the workspace (an out-of-range score is refused
with a message), the other experts finish, staff submit the report and publish the candidates."""
from decimal import Decimal

import pytest

from bidding.evaluation import services as ev
from bidding.evaluation.models import Score
from tests.browser.conftest import login
from tests.evaluation.conftest import EvalWorld, draw_committee, make_experts, members, open_lot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLAN = {
    "kind": "comprehensive",
    "criteria": [
        {"code": "qualification", "kind": "compliance", "ground": "unqualified", "name": "资格审查"},
        {"code": "price", "kind": "price", "weight": "70", "name": "价格"},
        {"code": "technical", "kind": "score", "weight": "30", "name": "技术"},
    ],
    "tie_break": ["price", "submitted"],
}


def test_expert_scores_and_staff_publish_candidates(chromium, live_server, world, clock, screenshot_dir):
    experts, users = make_experts(world, 6)
    ew = EvalWorld(world=world, experts=experts, expert_users=users)
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000], method="comprehensive", plan=PLAN)
    draw_committee(ew, lot)
    ev.start_evaluation(actor=world.staff, lot=lot)
    first, *others = members(ew, lot)
    orgs = world.bidder_orgs

    page = chromium.new_page(locale="zh-CN")
    login(page, live_server.url, first.username)
    page.goto(f"{live_server.url}/evaluation/")
    page.locator("#expert-lots a.button").first.click()
    page.wait_for_load_state()
    assert page.locator("section.bid").count() == 3
    # an out-of-range score is refused with the message; nothing is stored
    card = page.locator(f"#bid-{orgs[0].pk}")
    card.locator("select[name=vote_qualification]").select_option("pass")
    card.locator("input[name=score_technical]").fill("31")
    card.locator("form.sheet button[type=submit]").click()
    page.wait_for_load_state()
    assert "超出" in page.locator(".messages").inner_text()  # "outside the factor's range", in zh-hans
    assert Score.objects.count() == 0
    for org, points in ((orgs[0], "28"), (orgs[1], "20.5"), (orgs[2], "25")):
        card = page.locator(f"#bid-{org.pk}")
        card.locator("select[name=vote_qualification]").select_option("pass")
        card.locator("input[name=score_technical]").fill(points)
        card.locator("form.sheet button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator(f"#bid-{org.pk} input[name=score_technical]").input_value() == f"{Decimal(points):.2f}"
    page.screenshot(path=str(screenshot_dir / "evaluation-expert-workspace.png"), full_page=True)
    assert Score.objects.filter(criterion="technical").count() == 3
    for user in others:
        for org, points in ((orgs[0], "28"), (orgs[1], "20.5"), (orgs[2], "25")):
            ev.submit_sheet(actor=user, lot=lot, bidder=org.pk, votes={"qualification": True},
                            scores={"technical": points})

    staff_page = chromium.new_page(locale="zh-CN")
    login(staff_page, live_server.url, world.staff.username)
    staff_page.goto(f"{live_server.url}/evaluation/lots/{lot.pk}/")
    staff_page.click("#report-btn")
    staff_page.wait_for_load_state()
    report = staff_page.locator("#report").inner_text()
    # price 70 × 900000/p: 63.00 / 70.00 / 66.32; + technical 28 / 20.5 / 25
    assert "91.00" in report and "90.50" in report and "91.32" in report
    staff_page.click("#publicise")
    staff_page.wait_for_load_state()
    assert "公示" in staff_page.locator("#publicity").inner_text()
    rows = staff_page.locator("#candidates tbody tr")
    assert rows.count() == 3 and orgs[2].name in rows.nth(0).inner_text()
    staff_page.screenshot(path=str(screenshot_dir / "evaluation-staff-console.png"), full_page=True)
    lot.refresh_from_db()
    assert lot.status == "publicity"
    # the public notice carries the candidates
    public = chromium.new_page(locale="zh-CN")
    notice = lot.notices.get(kind="candidates")
    public.goto(f"{live_server.url}/notices/{notice.number}/")
    assert orgs[2].name in public.locator("main").inner_text()
    for p in (page, staff_page, public):
        p.close()
