"""Each role's home: where login lands, the bidder's next steps with their links, the staff dashboard, the
supervisor's alerts / cases / projects — and no home links a page its viewer cannot open."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from bidding import services as bidding_services
from deposits.bank.fake import BANK
from deposits.models import Account
from tests import factories
from tests.envelopes.conftest import make_tender

pytestmark = pytest.mark.django_db

LINK = re.compile(rb'<a [^>]*href="(/[^"#]*)')
NOT_PAGES = ("/logout/", "/lang/", "/static/", "/feeds/", "/api/")


def client_for(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def links(html: bytes) -> set[str]:
    return {u.decode().replace("&amp;", "&") for u in LINK.findall(html) if not u.decode().startswith(NOT_PAGES)}


def assert_every_link_opens(c: Client, url: str) -> set[str]:
    page = c.get(url)
    assert page.status_code == 200, url
    found = links(page.content)
    broken = sorted(f"{u} -> {c.get(u).status_code}" for u in found if c.get(u).status_code not in (200, 302))
    assert broken == [], f"links on {url} that its viewer cannot open: {broken}"
    return found


def table(html: str, table_id: str) -> str:
    m = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert m, table_id
    return m.group(1)


def row_of(html: str, lot_id: int) -> str:
    m = re.search(rf'<tr data-lot="{lot_id}" data-step="(\w+)">(.*?)</tr>', html, re.S)
    assert m, html
    return m.group(1) + "|" + m.group(2)


def test_bidder_registers_pays_seals_and_sees_each_next_step(world, clock):
    BANK.reset()
    bidder = world.bidders[1]
    tender = make_tender(world, bidders=[world.bidders[0]], security_fen=100_00)
    lot = tender.lot
    c = client_for(bidder)
    # register: the flash says what is next and leads to the payment instructions, not just "registered"
    r = c.post(f"/me/register/{lot.pk}/", {f"met_{i}": "on" for i, _ in enumerate(lot.eligibility)}, follow=True)
    acc = Account.objects.get(lot=lot, bidder=bidder.organisation)
    assert r.redirect_chain[-1][0] == f"/deposits/accounts/{acc.pk}/"
    body = r.content.decode()
    assert "Next: pay the bid security" in body and str(acc.number) in body and "back-to-workspace" in body
    home = c.get("/me/").content.decode()
    row = row_of(home, lot.pk)
    assert row.startswith("pay|") and f'href="/deposits/accounts/{acc.pk}/"' in row
    assert "security not paid" in row and "left" in row  # no "active" while nothing is paid; a countdown
    # the bank credits the sub-account: the next step is the sealing page
    BANK.pay_in(sub_account=str(acc.number), amount_fen=acc.required_fen, payer_name=bidder.organisation.name,
                payer_account=bidder.organisation.bank_account)
    row = row_of(c.get("/me/").content.decode(), lot.pk)
    assert row.startswith("seal|") and f'href="/envelopes/lots/{lot.pk}/submit/"' in row
    assert_every_link_opens(c, "/me/")
    # sealed: the receipt is on the home, the step is waiting for the opening
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bidding.envelopes import envelope as E

    key = Ed25519PrivateKey.generate()
    bidding_services.register_bidder_key(actor=bidder, public_key_hex=E.ed25519_public_bytes(key).hex())
    tender.keys[bidder.pk] = key
    env = tender.submit(bidder, 1_234_500)
    row = row_of(c.get("/me/").content.decode(), lot.pk)
    assert row.startswith("wait_opening|") and f'href="/envelopes/receipt/{env.digest}/"' in row
    assert_every_link_opens(c, "/me/")
    # after the deadline: the opening's follow page instead of the sealing page
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=1))
    c.force_login(bidder)  # weeks later: a new session
    row = row_of(c.get("/me/").content.decode(), lot.pk)
    assert f"/envelopes/lots/{lot.pk}/submit/" not in row and f"/envelopes/lots/{lot.pk}/follow/" in row
    assert_every_link_opens(c, "/me/")


def test_auction_bidder_is_led_to_the_room(world, clock):
    project = factories.make_project(world, "asset", "auction", publish=True, security_fen=0)
    lot = project.lots.get()
    bidding_services.register(actor=world.bidders[0], lot=lot, declaration=[{"condition": c, "met": True}
                                                                              for c in lot.eligibility])
    c = client_for(world.bidders[0])
    row = row_of(c.get("/me/").content.decode(), lot.pk)
    assert row.startswith("wait_auction|")
    assert_every_link_opens(c, "/me/")


def test_staff_dashboard_shows_todays_opening_and_links_only_pages_staff_open(world, clock):
    tender = make_tender(world, bidders=world.bidders[:2], security_fen=100_00)
    lot = tender.lot
    c = client_for(world.staff)
    html = c.get("/staff/").content.decode()
    assert f'href="/envelopes/lots/{lot.pk}/ceremony/"' not in html  # weeks away: not this week's work
    clock.move_to(lot.bid_deadline - dt.timedelta(hours=2))  # the opening is today
    c.force_login(world.staff)  # weeks later: a new session
    html = c.get("/staff/").content.decode()
    opening = table(html, "dash-openings")
    assert f'href="/envelopes/lots/{lot.pk}/ceremony/"' in opening and "today" in opening
    found = assert_every_link_opens(c, "/staff/")
    assert f"/staff/projects/{lot.project.code}/" in found
    # the project page: no POST-only auction link, no audit console (supervisors'), no sealed deposit overview
    page = assert_every_link_opens(c, f"/staff/projects/{lot.project.code}/")
    assert f"/deposits/lots/{lot.pk}/" not in page and not any(u.startswith("/supervise/") for u in page)
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=1))
    c.force_login(world.staff)
    assert f"/deposits/lots/{lot.pk}/" in assert_every_link_opens(c, f"/staff/projects/{lot.project.code}/")
    # the registrations themselves never show before the deadline: nothing on the dashboard counts them
    assert_every_link_opens(c, "/deposits/")
    sale = factories.make_project(world, "asset", "auction", publish=True)
    assert "/staff/auctions/schedule/" not in c.get(f"/staff/projects/{sale.code}/").content.decode()
    assert_every_link_opens(c, f"/staff/projects/{sale.code}/")


def test_supervisor_home_shows_alerts_cases_and_projects_needing_attention(world, clock):
    from supervision import services as supervision_services
    from trading.challenges import services as cases

    project = factories.make_project(world, publish=True, title="需要关注的项目")
    quiet = factories.make_project(world, publish=True, title="安静的项目")
    supervision_services.raise_alert(key="test:home", kind="review", rule="terminated", severity="info",
                                     title="测试预警", basis="basis", evidence={}, project_id=project.pk)
    case = cases.file_case(actor=None, kind="disclosure_request", project=project, subject="申请公开", text="t",
                           name="n", contact="c@example.com")
    c = client_for(world.supervisor)
    html = c.get("/supervise/").content.decode()
    alerts = table(html, "home-alerts")
    assert "测试预警" in alerts
    assert case.number in table(html, "home-cases")
    attention = table(html, "home-attention")
    assert project.code in attention and quiet.code not in attention
    assert f'href="/supervise/audit/{project.code}/"' in attention
    assert_every_link_opens(c, "/supervise/")


@pytest.mark.parametrize("role", ["bidder", "staff", "supervisor", "expert", "admin"])
def test_login_lands_on_the_roles_home_and_it_opens(world, role):
    user = {"bidder": world.bidders[0], "staff": world.staff, "supervisor": world.supervisor,
            "expert": world.expert, "admin": world.admin}[role]
    c = client_for(user)
    r = c.get("/home/")
    assert r.status_code == 302 and r["Location"] == {"bidder": "/me/", "staff": "/staff/", "supervisor": "/supervise/",
                                                      "expert": "/evaluation/", "admin": "/supervise/audit/"}[role]
    assert_every_link_opens(c, r["Location"])
    assert Client().get("/home/")["Location"] == "/"
