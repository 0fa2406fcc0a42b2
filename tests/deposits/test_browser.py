"""Deposits in real Chromium: the bidder's payment instructions and status; the staff overview sealed
before the deadline and open after it; the supervisor countersigning a forfeit (screenshots in test-output/)."""
from __future__ import annotations

import datetime as dt

import pytest

from deposits.models import Account, Forfeit
from tests.browser.conftest import login
from trading import clock as trading_clock

from .conftest import register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_deposit_pages_in_chromium(chromium, live_server, screenshot_dir, world, tender, fake_bank, clock):  # noqa: F811
    regs = [register(world, tender, i) for i in range(2)]
    accs = [Account.objects.get(registration_id=r.pk) for r in regs]
    fake_bank.pay_in(sub_account=accs[0].number, amount_fen=accs[0].required_fen, payer_name=world.bidder_orgs[0].name,
                     payer_account=world.bidder_orgs[0].bank_account)

    page = chromium.new_page(locale="zh-CN")
    login(page, live_server.url, world.bidders[0].username)
    page.goto(live_server.url + "/me/deposits/")
    card = page.locator(f"#deposit-{accs[0].pk}")
    assert card.locator(".subaccount").inner_text().replace(" ", "") == accs[0].number
    assert "已缴" in card.locator(".badge").inner_text()  # the page's language: zh-hans
    page.screenshot(path=str(screenshot_dir / "deposits-bidder.png"), full_page=True)

    staff = chromium.new_page(locale="zh-CN")
    login(staff, live_server.url, world.staff.username)
    resp = staff.goto(f"{live_server.url}/deposits/lots/{tender.pk}/")
    assert resp.status == 403 and "截止前保密" in staff.locator("main").inner_text()
    clock.move_to(tender.bid_deadline + dt.timedelta(seconds=1))
    trading_clock.tick()
    login(staff, live_server.url, world.staff.username)  # three weeks later the old session has expired
    resp = staff.goto(f"{live_server.url}/deposits/lots/{tender.pk}/")
    assert resp.status == 200 and staff.locator("#paid-count").inner_text() == "1"
    assert world.bidder_orgs[0].name in staff.locator("#lot-deposits").inner_text()
    staff.goto(f"{live_server.url}/deposits/accounts/{accs[0].pk}/")
    staff.select_option("select[name=grounds]", "collusion")
    staff.fill("textarea[name=reason]", "监督部门通报串通投标")
    staff.click("form[action='/deposits/forfeits/'] button[type=submit]")
    staff.wait_for_load_state()
    assert Forfeit.objects.get().status == "requested"

    sup = chromium.new_page(locale="zh-CN")
    login(sup, live_server.url, world.supervisor.username)
    sup.goto(f"{live_server.url}/deposits/forfeits/")
    sup.fill("#forfeits input[name=note]", "同意没收")
    sup.click("#forfeits button[value=yes]")
    sup.wait_for_load_state()
    assert Forfeit.objects.get().status == "countersigned"
    assert Account.objects.get(pk=accs[0].pk).balance_fen == 0
    sup.screenshot(path=str(screenshot_dir / "deposits-forfeit-countersigned.png"), full_page=True)
    for p in (page, staff, sup):
        p.close()
