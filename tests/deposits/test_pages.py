"""Deposit pages render for the right roles and refuse the others; sealed before the deadline."""
from __future__ import annotations


import pytest

from deposits.models import SuspenseItem
from deposits.posting import bank

from .test_services import acc_of, pay, freeze

pytestmark = pytest.mark.django_db


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_bidder_workspace(world, tender, regs, fake_bank, client):
    acc = acc_of(regs[0])
    r = get(client, world.bidders[0], "/me/deposits/")
    assert r.status_code == 200
    html = r.content.decode()
    assert acc.deposit_number[:4] in html and "虚拟子账号" in html and "到账截止" in html
    assert get(client, world.bidders[0], f"/deposits/accounts/{acc.pk}/").status_code == 200
    assert get(client, world.bidders[1], f"/deposits/accounts/{acc.pk}/").status_code == 404
    assert get(client, world.bidders[0], "/deposits/").status_code == 403
    assert get(client, world.staff, "/me/deposits/").status_code == 403


def test_console_pages(world, tender, regs, fake_bank, client, clock, django_capture_on_commit_callbacks):
    a0, a1 = acc_of(regs[0]), acc_of(regs[1])
    pay(fake_bank, a0, world, 0)
    pay(fake_bank, a1, world, 1, amount=3)
    for user in (world.staff, world.supervisor):
        for url in ("/deposits/", "/deposits/suspense/", "/deposits/refunds/", "/deposits/forfeits/",
                    "/deposits/statements/"):
            assert get(client, user, url).status_code == 200, url
        r = get(client, user, f"/deposits/lots/{tender.pk}/")
        assert r.status_code == 403 and "截止前保密" in r.content.decode()
    assert "截止前保密" in get(client, world.staff, "/deposits/suspense/").content.decode()
    freeze(clock, tender)
    r = get(client, world.supervisor, f"/deposits/lots/{tender.pk}/")
    assert r.status_code == 200 and world.bidder_orgs[0].name in r.content.decode()
    # supervisor pages are read-only: no resolve form
    assert "<form" not in get(client, world.supervisor, "/deposits/suspense/").content.decode().split("suspense")[-1]
    # staff resolve a suspense item through the page: money goes back
    item = SuspenseItem.objects.get()
    client.force_login(world.staff)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/deposits/suspense/", {"item": item.pk, "action": "return", "note": "金额错误"})
    assert r.status_code == 302
    item.refresh_from_db()
    assert item.status == "returned"
    # a bad submission shows the message, changes nothing
    r = client.post("/deposits/suspense/", {"item": item.pk, "action": "return", "note": "again"})
    assert r.status_code == 400 and "已经" in r.content.decode()
    # statement upload through the page
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = client.post("/deposits/statements/", {"file": SimpleUploadedFile("day.csv", fake_bank.statement())})
    assert r.status_code == 302
    r = client.get(r["Location"])
    assert r.status_code == 200 and "已平" in r.content.decode()
    r = client.post("/deposits/statements/", {"file": SimpleUploadedFile("bad.csv", b"junk")})
    assert r.status_code == 400
    assert bank().pk
