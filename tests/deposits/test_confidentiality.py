"""Before the bid deadline nobody -- staff and supervisors included -- sees who paid or how many paid;
bidders see only their own; after it the lot's centre staff and supervisors see all (read-only)."""
from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from deposits import selectors
from trading.errors import Forbidden, NotFound

from .test_services import acc_of, pay

pytestmark = pytest.mark.django_db


def client_for(user):
    c = APIClient()
    if user is not None:
        c.force_authenticate(user)
    return c


def test_before_and_after_deadline_every_role(world, tender, regs, fake_bank, clock):
    a0, a1 = acc_of(regs[0]), acc_of(regs[1])
    pay(fake_bank, a0, world, 0)
    pay(fake_bank, a1, world, 1, amount=1)  # wrong amount: a suspense item aimed at this lot
    lot_url = f"/api/deposits/lots/{tender.pk}/"
    everyone = {"staff": world.staff, "other_staff": world.other_staff, "supervisor": world.supervisor,
                "expert": world.expert, "admin": world.admin, "bidder1": world.bidders[1], "bidder3": world.bidders[3]}
    for name, user in everyone.items():
        r = client_for(user).get(lot_url)
        assert r.status_code in (403, 404), (name, r.status_code)
        assert client_for(user).get(f"/api/deposits/accounts/{a0.pk}/").status_code == 404, name
        with pytest.raises((Forbidden, NotFound)):
            selectors.lot_overview(user, tender)
    assert client_for(None).get(lot_url).status_code in (401, 403)
    # the owner sees its own, with payment instructions
    r = client_for(world.bidders[0]).get("/api/deposits/mine/")
    assert r.status_code == 200
    (mine,) = r.json()["results"]
    assert mine["number"] == a0.number and mine["status"] == "paid" and mine["instructions"]["sub_account"] == a0.number
    assert client_for(world.bidders[0]).get(f"/api/deposits/accounts/{a0.pk}/").status_code == 200
    # bidder 3 did not register: sees nothing
    assert client_for(world.bidders[3]).get("/api/deposits/mine/").json()["results"] == []
    # the suspense queue masks the lot before the deadline
    r = client_for(world.staff).get("/api/deposits/suspense/")
    (item,) = r.json()["results"]
    assert item["sealed"] and item["lot"] is None and item["account"] is None
    # refund list and ledger summary reveal nothing per lot
    assert client_for(world.staff).get("/api/deposits/refunds/").json()["results"] == []
    # after the deadline
    clock.move_to(tender.bid_deadline + dt.timedelta(seconds=1))
    for name in ("staff", "supervisor"):
        r = client_for(everyone[name]).get(lot_url)
        assert r.status_code == 200, name
        assert r.json()["paid"] == 1 and len(r.json()["accounts"]) == 3
    assert client_for(world.staff).get(f"/api/deposits/accounts/{a0.pk}/").status_code == 200
    for name in ("other_staff", "expert", "bidder1", "bidder3"):
        assert client_for(everyone[name]).get(lot_url).status_code in (403, 404), name
    r = client_for(world.staff).get("/api/deposits/suspense/")
    (item,) = r.json()["results"]
    assert not item["sealed"] and item["lot"] == tender.pk


def test_supervisor_cannot_write(world, tender, regs, fake_bank, clock):
    a0 = acc_of(regs[0])
    pay(fake_bank, a0, world, 0)
    clock.move_to(tender.bid_deadline + dt.timedelta(seconds=1))
    c = client_for(world.supervisor)
    r = c.post("/api/deposits/forfeits/", {"account": a0.pk, "grounds": "collusion", "reason": "x"}, format="json")
    assert r.status_code == 403
    assert c.post("/api/deposits/suspense/1/resolve/", {"action": "return", "note": "x"}, format="json").status_code == 403
    r = client_for(world.staff).post("/api/deposits/forfeits/", {"account": a0.pk, "grounds": "collusion",
                                                                 "reason": "串标"}, format="json")
    assert r.status_code == 201
    fid = r.json()["id"]
    assert client_for(world.staff).post(f"/api/deposits/forfeits/{fid}/countersign/", {"approve": True},
                                        format="json").status_code == 403
    r = c.post(f"/api/deposits/forfeits/{fid}/countersign/", {"approve": True, "note": "同意"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "countersigned"


def _answer(r):
    return r.status_code, r.json()


def test_probing_ids_answers_like_missing(world, tender, regs, fake_bank, clock, django_capture_on_commit_callbacks):
    """Staff probing sub-account, refund and suspense ids learn nothing before the deadline, and staff
    of another centre nothing ever: an object they may not know of answers like a missing one."""
    from deposits import services
    from deposits.models import RefundOrder, SuspenseItem

    a0, a1, a2 = (acc_of(r) for r in regs)
    pay(fake_bank, a0, world, 0)
    pay(fake_bank, a1, world, 1)
    pay(fake_bank, a2, world, 2, amount=1)  # a suspense item aimed at a2
    with django_capture_on_commit_callbacks(execute=True):
        services.registration_withdrawn(registration_id=regs[1].pk)  # a refund order to a withdrawn registrant
    order = RefundOrder.objects.get()
    item = SuspenseItem.objects.get()
    missing = a2.pk + 1000
    staff = client_for(world.staff)

    def probes(c):
        return {
            "forfeit": [_answer(c.post("/api/deposits/forfeits/", {"account": pk, "grounds": "collusion", "reason": "x"},
                                       format="json")) for pk in (a0.pk, a1.pk, missing)],
            "assign": [_answer(c.post(f"/api/deposits/suspense/{item.pk}/resolve/",
                                      {"action": "assign", "account": pk, "note": "x"}, format="json"))
                       for pk in (a0.pk, a1.pk, missing)],
            "retry": [_answer(c.post(f"/api/deposits/refunds/{pk}/retry/", {}, format="json"))
                      for pk in (order.pk, order.pk + 1000)],
            "ledger": _answer(c.get("/api/deposits/ledger/")),
        }

    before = probes(staff)
    for kind in ("forfeit", "assign", "retry"):
        assert len(set(map(str, before[kind]))) == 1, (kind, before[kind])
        assert before[kind][0][0] == 404
    assert "fen" not in str(before["assign"]) and str(a0.number) not in str(before)
    # the ledger summary does not move with a new registration and payment before the deadline
    from .conftest import register

    pay(fake_bank, acc_of(register(world, tender, 3)), world, 3)
    assert probes(staff)["ledger"] == before["ledger"]
    # after the deadline: the lot's staff find them; another centre's staff still get "missing"
    clock.move_to(tender.bid_deadline + dt.timedelta(seconds=1))
    other = probes(client_for(world.other_staff))
    for kind in ("forfeit", "assign", "retry"):
        assert len(set(map(str, other[kind]))) == 1, (kind, other[kind])
    after = probes(staff)
    assert after["forfeit"][0][0] == 201 and after["forfeit"][2][0] == 404
    assert after["ledger"] != before["ledger"]
