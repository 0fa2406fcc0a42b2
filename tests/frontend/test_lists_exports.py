"""The shared list helper (search, filters, paging) and the CSV exports (BOM, Beijing time, decimal money, and
the confidentiality rule of the pages they come from)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.test import Client, RequestFactory

from deposits.bank.fake import BANK
from deposits.models import Account
from frontend.csv_export import cell
from frontend.lists import Filter, list_page
from tests import factories
from tests.envelopes.conftest import make_tender

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        c.force_login(user)
    return c


def table(page, table_id: str) -> str:
    html = page if isinstance(page, str) else page.content.decode()
    m = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert m, table_id
    return m.group(1)


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    raw = response.content
    assert raw.startswith("\ufeff".encode())  # Excel reads the Chinese as UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_list_helper_on_lists_and_querysets():
    rows = [{"name": f"项目{i}", "kind": "land" if i % 2 else "asset", "at": dt.datetime(2026, 3, 1 + i, 20, tzinfo=dt.UTC)}
            for i in range(30)]
    filters = [Filter("kind", "kind", "kind", choices=[("land", "L"), ("asset", "A")]),
               Filter("from", "from", "at", kind="from")]
    rf = RequestFactory()
    lst = list_page(rf.get("/", {"kind": "land"}), rows, search=("name",), filters=filters, per_page=10)
    assert lst.page.paginator.count == 15 and len(lst.page) == 10 and lst.query == "kind=land" and lst.status == 200
    lst = list_page(rf.get("/", {"q": "项目1"}), rows, search=("name",), filters=filters)
    assert {r["name"] for r in lst.page} == {"项目1"} | {f"项目{i}" for i in range(10, 20)}
    # 20:00 UTC is the next day in Beijing: the date filter counts Beijing days
    lst = list_page(rf.get("/", {"from": "2026-03-30"}), rows, search=("name",), filters=filters)
    assert [r["name"] for r in lst.page] == ["项目28", "项目29"]
    for bad in ({"kind": "spaceship"}, {"from": "2026-02-30"}, {"from": "yesterday"}):
        lst = list_page(rf.get("/", bad), rows, search=("name",), filters=filters)
        assert lst.status == 400 and lst.page.paginator.count == 0
    lst = list_page(rf.get("/", {"page": "999"}), rows, per_page=10)
    assert lst.page.number == 3  # out of range: the last page, never an error


def test_staff_project_list_searches_filters_and_pages(world, clock):
    for i in range(27):
        factories.make_project(world, title=f"道路工程 {i:02d}")
    factories.make_project(world, "land", "listing", title="地块挂牌")
    c = client_for(world.staff)
    html = c.get("/staff/").content.decode()
    assert "1 / 2 (28)" in html and 'rel="next"' in html
    html = table(c.get("/staff/", {"q": "地块"}), "staff-projects")
    assert "地块挂牌" in html and "道路工程" not in html
    html = c.get("/staff/", {"kind": "land"}).content.decode()
    assert "地块挂牌" in table(html, "staff-projects") and "1 / 1 (1)" in html
    assert c.get("/staff/", {"status": "nonsense"}).status_code == 400
    page2 = c.get("/staff/", {"q": "道路", "page": "2"}).content.decode()
    assert "2 / 2 (27)" in page2 and 'href="?q=%E9%81%93%E8%B7%AF&amp;page=1"' in page2
    sup = client_for(world.supervisor)
    found = sup.get("/supervise/", {"q": "地块", "centre": str(world.centre.pk)})
    assert "地块挂牌" in table(found, "supervised-projects")
    assert sup.get("/supervise/audit/", {"q": "地块"}).status_code == 200
    assert "地块挂牌" not in client_for(None).get("/auctions/", {"q": "地块"}).content.decode()  # no auction yet


def test_deposit_exports_follow_the_deadline_rule(world, clock):
    BANK.reset()
    tender = make_tender(world, bidders=world.bidders[:2], security_fen=123_45)
    lot = tender.lot
    acc = Account.objects.get(lot=lot, bidder=world.bidder_orgs[0])
    BANK.pay_in(sub_account=str(acc.number), amount_fen=acc.required_fen, payer_name=world.bidder_orgs[0].name,
                payer_account=world.bidder_orgs[0].bank_account)
    url = f"/deposits/lots/{lot.pk}/deposits.csv"
    before = {who: client_for(u).get(url) for who, u in (("staff", world.staff), ("supervisor", world.supervisor),
                                                          ("other", world.other_staff), ("bidder", world.bidders[0]))}
    assert {who: r.status_code for who, r in before.items()} == {"staff": 403, "supervisor": 403, "other": 403,
                                                                 "bidder": 403}
    assert all(world.bidder_orgs[0].name.encode() not in r.content for r in before.values())
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=1))
    rows = rows_of(client_for(world.staff).get(url))
    assert rows[0][:3] == ["Project", "Lot", "Bidder"] and len(rows) == 3
    paid = next(r for r in rows if r[2] == world.bidder_orgs[0].name)
    assert paid[4] == "123.45" and paid[5] == "123.45"  # money as decimal strings
    assert paid[6] == "2026-03-02 09:00:00"  # booked at 01:00 UTC: Beijing time
    assert client_for(world.other_staff).get(url).status_code == 403
    assert rows_of(client_for(world.supervisor).get(url)) == rows
    refunds = client_for(world.staff).get("/deposits/refunds.csv")
    assert rows_of(refunds)[0][0] == "Order"
    assert client_for(world.bidders[0]).get("/deposits/refunds.csv").status_code == 403


def test_opening_record_and_results_exports_are_the_published_notices(world, clock):
    from trading.models import Notice
    from trading.services import publish_notice

    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    with pytest.raises(AssertionError):
        rows_of(Client().get(f"/notices/{project.notices.get().number}/record.csv"))
    assert Client().get(f"/notices/{project.notices.get().number}/record.csv").status_code == 404
    record = publish_notice(actor=None, project=project, lot=lot, kind="opening_record", title="开标记录", body="b",
                            data={"columns": ["bidder 投标人", "price 投标报价 (元)"], "rows": [["=甲公司", "100.00"]]})
    result = publish_notice(actor=None, project=project, lot=lot, kind="result", title="中标结果公告", body="b",
                            data={"name": "乙公司", "price": "99.50", "bidder": world.bidder_orgs[1].pk})
    assert rows_of(Client().get(f"/notices/{record.number}/record.csv")) == [
        ["bidder 投标人", "price 投标报价 (元)"], ["'=甲公司", "100.00"]]  # a formula stays text
    rows = rows_of(Client().get("/results.csv", {"project": project.code}))
    assert rows[1][0] == result.number and rows[1][-2:] == ["乙公司", "99.50"]
    assert len(rows_of(Client().get("/results.csv", {"project": "nope"}))) == 1
    html = Client().get(f"/notices/{result.number}/").content.decode()
    assert "data-print" in html and f"/results.csv?project={project.code}" in html
    assert Notice.objects.filter(project=project).count() == 3


def test_cells_and_favicon(client):
    assert cell(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)) == "2026-03-02 00:30:00"
    assert cell("-12.50") == "-12.50" and cell("-x") == "'-x" and cell("@SUM(A1)") == "'@SUM(A1)" and cell(None) == ""
    r = client.get("/favicon.ico")
    assert r.status_code == 301
    icon = client.get(r["Location"])
    assert icon.status_code == 200 and b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"
