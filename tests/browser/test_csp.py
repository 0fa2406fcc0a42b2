"""The Content-Security-Policy in real Chromium: every role's main pages load with no violation reported
(scripts only from the site's own files, no inline script, no on*= handler, no inline style), the pages'
scripts still run (the replay slider, the live opening page), and the opening ceremony runs end to end
through its forms under the policy. The sealing page and the auction room have their own browser tests,
which check the same (tests/browser/test_sealing.py, test_auction.py)."""
from __future__ import annotations

import pytest

from tests import factories
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at " + e.documentURI);
});
"""


class Watched:
    """A browser context whose pages report every CSP violation (DOM events and console messages)."""

    def __init__(self, chromium):
        self.context = chromium.new_context(locale="zh-CN")
        self.context.add_init_script(WATCH)
        self.console: list[str] = []
        self.page = self.new_page()

    def new_page(self):
        page = self.context.new_page()
        page.on("console", lambda m: self.console.append(m.text)
                if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)
        return page

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status < 400, (url, response and response.status)
        headers = response.headers
        assert "script-src 'self'" in headers["content-security-policy"], url
        assert "permissions-policy" in headers and "referrer-policy" in headers, url
        self.page.wait_for_load_state("load")
        self.check(url)

    def check(self, where: str = "") -> None:
        events = self.page.evaluate("window.__csp || []")
        assert not events and not self.console, (where, events, self.console)

    def close(self):
        self.context.close()


def test_every_role_main_pages_under_the_policy(chromium, live_server, clock):
    from tests.envelopes.conftest import make_tender

    world = factories.make_world(bidders=2)
    world.admin.is_staff = world.admin.is_superuser = True
    world.admin.save(update_fields=["is_staff", "is_superuser"])
    tender = make_tender(world, bidders=world.bidders[:1])
    lot, project = tender.lot, tender.lot.project
    notice = project.notices.first()
    assert notice is not None
    base = live_server.url
    public = ["/", f"/projects/{project.code}/", f"/projects/{project.code}/disclosure/", f"/notices/{notice.number}/",
              "/audit/checkpoints/", "/auctions/", "/login/", f"/envelopes/lots/{lot.pk}/follow/", "/statistics/",
              "/accounts/signup/", "/api/docs/", "/api/redoc/"]
    pages = {
        None: public,
        world.bidders[0]: ["/me/", "/me/deposits/", f"/envelopes/lots/{lot.pk}/submit/", "/account/security/"],
        world.staff: ["/staff/", f"/staff/projects/{project.code}/", "/deposits/", "/staff/auctions/",
                      "/evaluation/", "/envelopes/custody/", f"/envelopes/lots/{lot.pk}/ceremony/", "/account/security/"],
        world.supervisor: ["/supervise/", f"/supervise/audit/{project.code}/", "/deposits/", "/evaluation/",
                           "/statistics/"],
        world.expert: ["/evaluation/"],
        world.admin: ["/admin/", "/admin/axes/accessattempt/", "/account/security/"],
    }
    for user, urls in pages.items():
        browser = Watched(chromium)
        try:
            if user is not None:
                login(browser.page, base, user.username)
                browser.check(f"login of {user.username}")
            for url in urls:
                browser.visit(base + url)
        finally:
            browser.close()


def test_scripts_still_run_under_the_policy(chromium, live_server, clock):
    """The supervisor's replay slider (audit console) and the 404 page's back link are driven by site.js."""
    from tests.envelopes.conftest import make_tender

    world = factories.make_world(bidders=1)
    tender = make_tender(world, bidders=world.bidders[:1])
    project = tender.lot.project
    browser = Watched(chromium)
    try:
        login(browser.page, live_server.url, world.supervisor.username)
        browser.visit(f"{live_server.url}/supervise/audit/{project.code}/")
        slider = browser.page.locator("#slider")
        slider.fill("0")  # fires input and change: the label shows the first event, then the page replays it
        browser.page.wait_for_url("**?at=*")
        assert "at=" in browser.page.url
        browser.check("replay slider")
        page = browser.page
        page.goto(f"{live_server.url}/no/such/page/")
        assert page.locator("header.top .brand").count() == 1  # the site's own 404 page
        assert page.locator("a[data-back]").count() == 1
        browser.check("404 page")
    finally:
        browser.close()


def test_the_opening_ceremony_under_the_policy(chromium, live_server, clock):
    """Custodians present their shares through the ceremony page's form, staff open the bids, and the public
    "opening, live" page (follow.js, polling) shows the opened bids — all with no CSP violation."""
    from bidding.envelopes.models import OpeningKey
    from tests.envelopes.conftest import PASS, make_tender
    from trading.services import transition_lot

    world = factories.make_world(bidders=2)
    tender = make_tender(world, bidders=world.bidders[:2])
    lot = tender.lot
    tender.submit(world.bidders[0], 812_345_600)
    tender.submit(world.bidders[1], 798_000_000)
    clock.move_to(lot.bid_deadline)
    transition_lot(lot=lot, action="close_bidding")
    base = live_server.url
    watcher = Watched(chromium)
    watcher.visit(f"{base}/envelopes/lots/{lot.pk}/follow/")
    for name in ("supervisor", "staff"):
        browser = Watched(chromium)
        try:
            login(browser.page, base, tender.custodians[name].username)
            browser.visit(f"{base}/envelopes/lots/{lot.pk}/ceremony/")
            browser.page.fill("#present-passphrase", PASS[name])
            browser.page.click("#present-form button[type=submit]")
            browser.page.wait_for_load_state()
            browser.check(f"{name} presents")
            if name == "staff":
                browser.page.click("#open-bids")
                browser.page.wait_for_selector("#opened")
                assert "¥7,980,000.00" in browser.page.inner_text("#opened")
                browser.check("staff opens")
        finally:
            browser.close()
    assert OpeningKey.objects.get(lot=lot).opened_at is not None
    # the public page polls every 2 s and fills in the opened bids
    watcher.page.wait_for_function("() => document.querySelectorAll('#f-bids tr').length === 3", timeout=20000)
    assert "¥8,123,456.00" in watcher.page.inner_text("#f-bids")
    watcher.check("follow page")
    watcher.close()
