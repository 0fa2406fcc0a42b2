"""Every user's path in the browser, by clicking only (issue 19), in real Chromium against the live server:

- a new bidder logs in, lands on its workspace, finds a notice, registers, is led to the payment
  instructions; once the bank credits the sub-account the workspace offers the sealing page; once the bid is
  sealed the receipt is on the workspace; an auction lot's room is linked from it;
- staff log in (second step included), land on the dashboard, follow today's opening and open the bids;
- a supervisor logs in, lands on the supervision home, acknowledges an alert, then opens a project's audit trail.

The test itself does only what is not a click on this platform: the bank's credit (through the fake bank, as
the bank's notification would), sealing (tested in test_sealing.py; here submitted through the service), the
custodians' shares and the clock.
"""
from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _async_unsafe(monkeypatch, settings):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop shares this thread
    settings.SUNLIGHT_PORTAL_CACHE_SECONDS = 0
    # the server's clock is the test's (2026); a dated session cookie would already be expired for Chromium,
    # which lives in today's time
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True


def _page(chromium):
    context = chromium.new_context(locale="en-US")
    return context, context.new_page()


def test_new_bidder_registers_pays_seals_and_finds_the_room(chromium, live_server, world, clock, screenshot_dir):
    from bidding.auction import services as auction_services
    from deposits.bank.fake import BANK
    from deposits.models import Account
    from tests import factories
    from tests.envelopes.conftest import make_tender

    BANK.reset()
    bidder = world.bidders[3]
    tender = make_tender(world, bidders=[world.bidders[0]], security_fen=500_00)
    lot = tender.lot
    sale = factories.make_project(world, "asset", "auction", publish=True, security_fen=0, title="闲置设备拍卖")
    sale_lot = sale.lots.get()
    context, page = _page(chromium)
    login(page, live_server.url, bidder.username)
    assert page.url == f"{live_server.url}/me/"  # its own home, not the notice list
    page.click("text=Browse the notices")
    page.fill("input[name=q]", lot.project.code)
    page.click("#notice-search button[type=submit]")
    page.locator("#notice-list tbody tr a").first.click()
    page.locator(f"a[href='/projects/{lot.project.code}/']").first.click()
    page.locator(f"#lot-{lot.pk} a[href='/me/register/{lot.pk}/']").click()
    page.wait_for_url(f"**/me/register/{lot.pk}/")  # the form's own checkboxes, not the page before's
    for box in page.locator("input[type=checkbox]").all():
        box.check()
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    acc = Account.objects.get(lot=lot, bidder=bidder.organisation)
    assert page.url == f"{live_server.url}/deposits/accounts/{acc.pk}/"  # the payment instructions
    messages = page.locator(".messages").inner_text()
    assert "Next: pay the bid security" in messages and str(acc.number) in messages
    page.click("#back-to-workspace")
    row = page.locator(f"#my-registrations tr[data-lot='{lot.pk}']")
    assert row.get_attribute("data-step") == "pay" and "left" in row.locator(".countdown").inner_text()
    # the bank credits the sub-account (what its notification does)
    BANK.pay_in(sub_account=str(acc.number), amount_fen=acc.required_fen, payer_name=bidder.organisation.name,
                payer_account=bidder.organisation.bank_account)
    page.reload()
    assert row.get_attribute("data-step") == "seal"
    row.locator("td.next-step a.button").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/envelopes/lots/{lot.pk}/submit/"
    assert page.locator("#seal-submit").count() == 1
    # sealed (the page's own sealing is tested in test_sealing.py): the receipt is on the workspace
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bidding import services as bidding_services
    from bidding.envelopes import envelope as E

    key = Ed25519PrivateKey.generate()
    bidding_services.register_bidder_key(actor=bidder, public_key_hex=E.ed25519_public_bytes(key).hex())
    tender.keys[bidder.pk] = key
    env = tender.submit(bidder, 987_650)
    page.click("a[href='/me/']")
    assert row.get_attribute("data-step") == "wait_opening"
    row.locator("a.link-receipt").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/envelopes/receipt/{env.digest}/"
    assert page.locator("#receipt-signature").get_attribute("data-verified") == "true"
    # an auction lot: register by clicking; once staff schedule the auction the room is linked
    page.goto(f"{live_server.url}/projects/{sale.code}/")
    page.locator(f"#lot-{sale_lot.pk} a[href='/me/register/{sale_lot.pk}/']").click()
    page.wait_for_url(f"**/me/register/{sale_lot.pk}/")  # the form's own checkboxes, not the page before's
    for box in page.locator("input[type=checkbox]").all():
        box.check()
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/me/"
    auction = auction_services.schedule_auction(lot=sale_lot, actor=world.staff)
    page.reload()
    sale_row = page.locator(f"#my-registrations tr[data-lot='{sale_lot.pk}']")
    assert sale_row.get_attribute("data-step") == "wait_auction"
    page.screenshot(path=str(screenshot_dir / "bidder-home.png"), full_page=True)
    sale_row.locator("a.link-room").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/auctions/{auction.pk}/"
    assert sale_lot.title in page.locator("h1").inner_text()
    context.close()


def test_staff_dashboard_to_todays_opening(chromium, live_server, world, clock, screenshot_dir):
    from bidding.envelopes import services as envelope_services
    from tests.envelopes.conftest import PASS, make_tender
    from trading.services import transition_lot

    tender = make_tender(world, bidders=world.bidders[:3])
    for i, bidder in enumerate(world.bidders[:3]):
        tender.submit(bidder, 1_000_000 + i)
    lot = tender.lot
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=5))  # the opening is today
    transition_lot(lot=lot, action="close_bidding")
    for name in ("staff", "supervisor"):  # the custodians present their shares at the ceremony
        envelope_services.present_share(actor=tender.custodians[name], lot=lot, passphrase=PASS[name])
    context, page = _page(chromium)
    login(page, live_server.url, world.staff.username)
    assert page.url == f"{live_server.url}/staff/"
    opening = page.locator("#dash-openings tr.today")
    assert lot.title in opening.inner_text()
    page.screenshot(path=str(screenshot_dir / "staff-dashboard.png"), full_page=True)
    opening.locator("a.open-opening").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/envelopes/lots/{lot.pk}/ceremony/"
    page.click("#open-bids")
    page.wait_for_load_state()
    assert page.locator("#opened tr").count() == 4  # the header and three bids
    lot.refresh_from_db()
    assert lot.status == "opened"
    context.close()


def test_supervisor_home_alert_then_project_audit(chromium, live_server, world, clock):
    from supervision import services as supervision_services
    from supervision.models import Alert
    from tests import factories

    project = factories.make_project(world, publish=True, title="监督旅程项目")
    assert supervision_services.raise_alert(key="journey:1", kind="review", rule="terminated", severity="yellow",
                                            title="旅程测试预警", basis="依据", evidence={"x": 1},
                                            project_id=project.pk) is not None
    context, page = _page(chromium)
    login(page, live_server.url, world.supervisor.username)
    assert page.url == f"{live_server.url}/supervise/"
    page.locator("#home-alerts a.alert-link", has_text="旅程测试预警").click()
    page.wait_for_load_state()
    page.click("#ack")
    page.wait_for_load_state()
    assert Alert.objects.get(key="journey:1").status == "acknowledged"
    page.click("a[href='/supervise/']")
    row = page.locator("#home-attention tr", has_text=project.code)
    row.locator("a.audit-link").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/supervise/audit/{project.code}/"
    assert page.locator("#timeline tr[data-action='project.create']").count() == 1
    context.close()
