"""Search, filters and paging on the lists that grow beyond the shared helper's first users: the cases, the
supervisors' alerts, the deposit suspense queue, forfeits and statement imports (and their CSV exports). Real
requests over the test client on PostgreSQL. A bad filter value is the page's 400 with an empty list, a bad page
number the first or last page — never a 500. Search and filters never match what the page masks."""
from __future__ import annotations

import datetime as dt

import pytest

from bidding import services as bidding_services
from deposits import services as deposit_services
from deposits.bank.fake import BANK
from deposits.models import Account, Forfeit, SuspenseItem
from supervision import services as supervision_services
from tests import factories
from tests.frontend.test_lists_exports import client_for, rows_of
from trading.challenges import services as cases

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_bank")]

BAD_PAGES = ("0", "-1", "abc", "99999999999999999999", "２")



def table(page, table_id: str) -> str:
    html = page if isinstance(page, str) else page.content.decode()
    start = html.index(f'<table id="{table_id}"')
    return html[start:html.index("</table>", start)]


def assert_bad_inputs_are_not_errors(c, url: str, bad_filters: list[dict]):
    for page in BAD_PAGES:
        r = c.get(url, {"page": page})
        assert r.status_code == 200, (url, page)
    for bad in bad_filters:
        r = c.get(url, bad)
        assert r.status_code == 400, (url, bad)
        assert "1 / 1 (0)" in r.content.decode()  # the page, with an empty list and the reason shown
        assert 'class="error"' in r.content.decode()


def test_cases_list_searches_filters_and_pages(world, clock):
    project = factories.make_project(world, publish=True, title="河道整治工程")
    for i in range(26):
        cases.file_case(actor=None, kind="disclosure_request", project=project, subject=f"申请公开 第{i:02d}号",
                        text=f"请公开第{i}项信息", name="孙八", contact=f"p{i}@example.com")
    complaint = cases.file_case(actor=world.bidders[0], kind="engineering_complaint", project=project,
                                subject="评标委员会违规", text="t", known_on=clock.now.date())
    sup = client_for(world.supervisor)
    html = sup.get("/cases/").content.decode()
    assert "1 / 2 (27)" in html and 'rel="next"' in html and 'id="cases-search"' in html
    page2 = sup.get("/cases/", {"page": "2"}).content.decode()
    assert "2 / 2 (27)" in page2 and table(page2, "cases").count("<tr") == 1 + 2  # the head and 27 - 25 rows
    found = sup.get("/cases/", {"q": "违规"})
    assert complaint.number in table(found, "cases") and "申请公开" not in table(found, "cases")
    html = sup.get("/cases/", {"kind": "engineering_complaint"}).content.decode()
    assert "1 / 1 (1)" in html and complaint.number in table(html, "cases")
    html = sup.get("/cases/", {"status": "filed", "q": "第03号"}).content.decode()
    assert "1 / 1 (1)" in html and "申请公开 第03号" in html
    assert "1 / 1 (0)" in sup.get("/cases/", {"status": "decided"}).content.decode()
    today = clock.now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    assert "(27)" in sup.get("/cases/", {"from": today.isoformat(), "to": today.isoformat()}).content.decode()
    assert "(0)" in sup.get("/cases/", {"from": (today + dt.timedelta(days=1)).isoformat()}).content.decode()
    assert_bad_inputs_are_not_errors(sup, "/cases/", [{"kind": "spaceship"}, {"status": "x"}, {"from": "2026-02-30"}])
    # a bidder still sees only its own cases, filtered or not
    bidder = client_for(world.bidders[0])
    assert "1 / 1 (1)" in bidder.get("/cases/").content.decode()
    assert "1 / 1 (0)" in bidder.get("/cases/", {"q": "申请公开"}).content.decode()


def test_alert_console_searches_filters_and_pages(world, clock):
    project = factories.make_project(world, publish=True, title="告警测试项目")
    for i in range(51):
        supervision_services.raise_alert(key=f"test:list:{i}", kind="review", rule="terminated", severity="info",
                                         title=f"例行预警 {i:02d}", basis="basis", evidence={})
    supervision_services.raise_alert(key="test:list:red", kind="screen", rule="terminated", severity="red",
                                     title="围标嫌疑", title_en="Suspected ring", basis="basis", evidence={},
                                     project_id=project.pk)
    c = client_for(world.supervisor)
    html = c.get("/supervise/alerts/").content.decode()
    assert "1 / 2 (52)" in html and 'rel="next"' in html
    assert '<option value="open" selected>' in html  # open alerts unless asked otherwise
    assert "2 / 2 (52)" in c.get("/supervise/alerts/", {"page": "2"}).content.decode()
    html = c.get("/supervise/alerts/", {"severity": "red"}).content.decode()
    assert "1 / 1 (1)" in html and "Suspected ring" in table(html, "alerts")  # English page: the English title
    assert "Suspected ring" in table(c.get("/supervise/alerts/", {"q": project.code}), "alerts")
    assert "(1)" in c.get("/supervise/alerts/", {"q": "围标"}).content.decode()
    assert "(1)" in c.get("/supervise/alerts/", {"q": "ring", "kind": "screen"}).content.decode()
    assert "(0)" in c.get("/supervise/alerts/", {"status": "dismissed"}).content.decode()
    # "all" (and an explicit empty status) keeps itself in the pager's links
    html = c.get("/supervise/alerts/", {"status": "all"}).content.decode()
    assert "(52)" in html and 'href="?status=all&amp;page=2"' in html
    assert 'href="?status=&amp;page=2"' in c.get("/supervise/alerts/", {"status": ""}).content.decode()
    assert_bad_inputs_are_not_errors(c, "/supervise/alerts/", [{"severity": "purple"}, {"status": "bogus"},
                                                           {"to": "tomorrow"}])


def _tender_with_accounts(world, clock):
    project = factories.make_project(world, "engineering", "open_tender", publish=True, title="桥梁工程")
    lot = project.lots.get()
    for bidder in world.bidders[:2]:
        bidding_services.register(actor=bidder, lot=lot, declaration=[{"condition": c, "met": True}
                                                                      for c in lot.eligibility])
    accs = list(Account.objects.filter(lot=lot).order_by("id"))
    assert len(accs) == 2 and accs[0].required_fen > 0
    return lot, accs


def test_suspense_queue_pages_filters_and_never_matches_what_it_masks(world, clock):
    lot, (a0, a1) = _tender_with_accounts(world, clock)
    for i in range(50):
        BANK.pay_in(sub_account=f"999{i:05d}", amount_fen=100 + i, payer_name=f"无名公司{i:02d}", payer_account=f"62{i:04d}")
    # aimed at the lot before its deadline, wrong amount: its lot and reason are sealed on the page
    BANK.pay_in(sub_account=a1.number, amount_fen=1, payer_name="某某贸易有限公司", payer_account="777")
    assert SuspenseItem.objects.count() == 51
    masked = SuspenseItem.objects.get(account=a1).reason
    assert masked in ("wrong_amount", "wrong_payer")
    c = client_for(world.staff)
    html = c.get("/deposits/suspense/").content.decode()
    assert "1 / 2 (51)" in html and 'rel="next"' in html and 'href="?status=open&amp;page=2"' in html
    assert "2 / 2 (51)" in c.get("/deposits/suspense/", {"page": "2"}).content.decode()
    html = c.get("/deposits/suspense/", {"q": "某某贸易"}).content.decode()
    assert "1 / 1 (1)" in html and "sealed before the deadline" in table(html, "suspense")
    assert "(1)" in c.get("/deposits/suspense/", {"q": "620007"}).content.decode()
    # before the deadline neither the lot nor the masked reason finds the sealed item
    for probe in ({"q": lot.project.code}, {"q": "桥梁"}, {"reason": masked}):
        assert "1 / 1 (0)" in c.get("/deposits/suspense/", probe).content.decode(), probe
    assert "(1)" in c.get("/deposits/suspense/", {"reason": "sealed"}).content.decode()
    assert "(50)" in c.get("/deposits/suspense/", {"reason": "unknown_sub_account"}).content.decode()
    sealed_csv = rows_of(c.get("/deposits/suspense.csv", {"q": "某某贸易"}))
    assert len(sealed_csv) == 2 and sealed_csv[1][6] == "sealed before the deadline" and lot.project.code not in str(sealed_csv)
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=1))
    c = client_for(world.staff)  # a new session: the old one has expired meanwhile
    html = c.get("/deposits/suspense/", {"q": lot.project.code}).content.decode()
    assert "1 / 1 (1)" in html and f"{lot.project.code}/{lot.number}" in table(html, "suspense")
    assert "(1)" in c.get("/deposits/suspense/", {"reason": masked}).content.decode()
    assert "(0)" in c.get("/deposits/suspense/", {"reason": "sealed"}).content.decode()
    # resolved items leave the default view; "status=" lists them all
    item = SuspenseItem.objects.get(account=a1)
    deposit_services.resolve_suspense(actor=world.staff, item=item.pk, action="return", account=None, note="原路退回")
    assert "(50)" in c.get("/deposits/suspense/").content.decode()
    assert "(51)" in c.get("/deposits/suspense/", {"status": ""}).content.decode()
    assert "(1)" in c.get("/deposits/suspense/", {"status": "returning"}).content.decode()
    rows = rows_of(c.get("/deposits/suspense.csv", {"status": "", "reason": masked}))
    assert rows[0][0] == "Item" and len(rows) == 2 and rows[1][1] == "0.01" and rows[1][6] == lot.project.code
    assert len(rows_of(c.get("/deposits/suspense.csv"))) == 51  # the export is not paged
    assert c.get("/deposits/suspense.csv", {"reason": "nope"}).status_code == 400
    assert client_for(world.bidders[0]).get("/deposits/suspense/").status_code == 403
    assert client_for(world.bidders[0]).get("/deposits/suspense.csv").status_code == 403
    assert_bad_inputs_are_not_errors(c, "/deposits/suspense/", [{"reason": "nope"}, {"status": "x"}, {"from": "x"}])
    c.cookies["django_language"] = "zh-hans"
    html = c.get("/deposits/suspense/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "付款人、账号或项目" in html and "记账日期自" in html and "Booked from" not in html


def test_forfeits_and_statement_imports_filter_and_export(world, clock):
    lot, accs = _tender_with_accounts(world, clock)
    for i, acc in enumerate(accs):
        BANK.pay_in(sub_account=acc.number, amount_fen=acc.required_fen, payer_name=world.bidder_orgs[i].name,
                    payer_account=world.bidder_orgs[i].bank_account)
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=1))
    deposit_services.request_forfeit(actor=world.staff, account=accs[0].pk, grounds="collusion", reason="串通投标")
    second = deposit_services.request_forfeit(actor=world.staff, account=accs[1].pk, grounds="refused_to_sign",
                                              reason="拒签合同")
    deposit_services.countersign_forfeit(actor=world.supervisor, forfeit=second, approve=True, note="同意")
    sup = client_for(world.supervisor)
    html = sup.get("/deposits/forfeits/").content.decode()
    assert "1 / 1 (2)" in html and 'id="forfeits-search"' in html
    html = sup.get("/deposits/forfeits/", {"status": "requested"}).content.decode()
    assert "(1)" in html and "串通投标" in table(html, "forfeits") and "拒签合同" not in table(html, "forfeits")
    html = sup.get("/deposits/forfeits/", {"q": world.bidder_orgs[1].name}).content.decode()
    assert "(1)" in html and "拒签合同" in table(html, "forfeits")
    assert "(2)" in sup.get("/deposits/forfeits/", {"q": lot.project.code}).content.decode()
    assert "(1)" in sup.get("/deposits/forfeits/", {"grounds": "collusion"}).content.decode()
    rows = rows_of(sup.get("/deposits/forfeits.csv", {"grounds": "refused_to_sign"}))
    assert rows[0][0] == "Forfeit" and len(rows) == 2
    assert rows[1][4] == world.bidder_orgs[1].name and rows[1][7] == f"{accs[1].required_fen / 100:.2f}"
    assert rows[1][11] == world.supervisor.get_username()
    assert rows_of(client_for(world.staff).get("/deposits/forfeits.csv"))[1:] == rows_of(sup.get("/deposits/forfeits.csv"))[1:]
    assert client_for(world.other_staff).get("/deposits/forfeits/").content.decode().count("串通投标") == 0
    assert client_for(world.bidders[0]).get("/deposits/forfeits.csv").status_code == 403
    assert_bad_inputs_are_not_errors(sup, "/deposits/forfeits/", [{"grounds": "x"}, {"to": "2026-13-01"}])
    assert Forfeit.objects.count() == 2
    # statement imports: the list filters, and an import's page is found through the same query
    imp = deposit_services.import_statement(data=BANK.statement(fmt="csv"), filename="day-1.csv", actor=world.staff)
    html = sup.get("/deposits/statements/").content.decode()
    assert "1 / 1 (1)" in html and 'id="imports-search"' in html and "day-1.csv" in table(html, "imports")
    assert "(0)" in sup.get("/deposits/statements/", {"q": "day-2"}).content.decode()
    result = "True" if imp.reconciled else "False"
    assert "(1)" in sup.get("/deposits/statements/", {"result": result}).content.decode()
    assert "(0)" in sup.get("/deposits/statements/", {"result": "False" if imp.reconciled else "True"}).content.decode()
    assert sup.get(f"/deposits/statements/{imp.pk}/").status_code == 200
    assert sup.get(f"/deposits/statements/{imp.pk + 1}/").status_code == 404
    assert_bad_inputs_are_not_errors(sup, "/deposits/statements/", [{"result": "maybe"}, {"from": "01/02/2026"}])


def test_evaluation_homes_search_filter_and_page(world, clock):
    from trading import clock as trading_clock
    from trading.lifecycle import LotStatus

    project = factories.make_project(world, publish=True, lots=26, title="学校改扩建工程")
    other = factories.make_project(world, publish=True, title="污水处理厂")
    clock.move_to(max(lot.bid_deadline for lot in [*project.lots.all(), *other.lots.all()]) + dt.timedelta(minutes=1))
    trading_clock.tick()
    assert set(project.lots.values_list("status", flat=True)) == {LotStatus.BIDDING_CLOSED}
    c = client_for(world.staff)
    html = c.get("/evaluation/").content.decode()
    assert "1 / 2 (27)" in html and 'id="evaluation-lots-search"' in html
    assert "2 / 2 (27)" in c.get("/evaluation/", {"page": "2"}).content.decode()
    html = c.get("/evaluation/", {"q": "污水"}).content.decode()
    assert "1 / 1 (1)" in html and other.code in table(html, "evaluation-lots")
    assert "(27)" in c.get("/evaluation/", {"status": LotStatus.BIDDING_CLOSED}).content.decode()
    assert "(0)" in c.get("/evaluation/", {"status": LotStatus.AWARDED}).content.decode()
    assert "(0)" in client_for(world.other_staff).get("/evaluation/").content.decode()  # another centre's lots
    assert_bad_inputs_are_not_errors(c, "/evaluation/", [{"status": "published"}, {"status": "x"}])
    expert = client_for(world.expert)
    assert "1 / 1 (0)" in expert.get("/evaluation/", {"q": "学校"}).content.decode()  # sits on no committee
    assert_bad_inputs_are_not_errors(expert, "/evaluation/", [{"status": "x"}])
