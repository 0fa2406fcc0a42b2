"""The supervisor's timeline in real Chromium, under the page policy: events by readable name, the actor by
name and role, filters that narrow the list, and feedback while a long action (verify) runs."""
from __future__ import annotations

import pytest

from tests import factories
from tests.browser.conftest import login
from tests.browser.test_csp import Watched

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_timeline_names_filters_and_shows_progress(chromium, live_server, clock):
    from tests.envelopes.conftest import make_tender

    world = factories.make_world(bidders=1)
    project = make_tender(world, bidders=world.bidders[:1]).lot.project
    browser = Watched(chromium)
    page = browser.page
    try:
        login(page, live_server.url, world.supervisor.username)
        browser.visit(f"{live_server.url}/supervise/audit/{project.code}/")
        rows = page.locator("#timeline tbody tr[data-action]")
        total = rows.count()
        assert total > 3
        first = page.locator("#timeline tbody tr[data-action='project.create'] td").nth(4).inner_text()
        assert "创建项目" in first  # a readable name, the dotted code only in the title
        who = page.locator("#timeline tbody tr[data-action='project.create'] td").nth(3).inner_text()
        centre = world.staff.organisation
        assert centre is not None and centre.name in who and "staff" not in who.split("·")[-1]
        # filter by area: only the lots' events remain, and the count says how many of how many
        page.select_option("#timeline-search select[name=area]", "lot")
        page.click("#timeline-search button[type=submit]")
        page.wait_for_url("**area=lot*")
        browser.check("filtered timeline")
        actions = page.locator("#timeline tbody tr[data-action]").evaluate_all("rs => rs.map(r => r.dataset.action)")
        assert actions and all(a.startswith("lot.") for a in actions) and len(actions) < total
        # feedback while the check runs: hold the request and see the progress bar and the disabled button
        held = []
        page.route("**/*verify=1*", lambda route: held.append(route))  # the request waits until let go
        shown = page.evaluate("""() => {
            const button = document.querySelector("#verify button[type=submit]");
            button.click();  // the request is held: this page stays while the check "runs"
            return new Promise((done) => setTimeout(() => done({
                busy: document.querySelector("#verify .busy progress") !== null,
                text: (document.querySelector("#verify .busy") || {}).textContent || "",
                disabled: button.disabled }), 50));
        }""")
        assert shown["busy"] and shown["disabled"] and "核验" in shown["text"], shown
        page.unroute("**/*verify=1*")  # lets the held request go on
        page.wait_for_selector("#verdict")  # the check ran and answered
        browser.check("verified")
    finally:
        browser.close()
