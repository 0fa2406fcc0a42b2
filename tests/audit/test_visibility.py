"""The one visibility rule (audit/visibility.py): bidder activity before a lot's deadline is unknown to
everybody, supervisors included, on the audit API and the supervisors' console; at the deadline it
opens to supervisors and its existence (leaf hashes) to everybody, for completeness."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import Event
from audit.visibility import Disclosure, Facts, Horizon, disclosure
from bidding import services as bidding_services
from deposits.bank.fake import BANK
from deposits.models import Account
from tests.envelopes.conftest import make_tender

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
DEADLINE = T0 + dt.timedelta(days=20)
FACTS = Facts(projects={7: Horizon(lot_deadlines={70: DEADLINE, 71: DEADLINE + dt.timedelta(days=5)})},
              lots={70: DEADLINE, 71: DEADLINE + dt.timedelta(days=5)})


def _d(action, *, visibility="sealed", role="bidder", lot=70, project=7, at=T0, now, supervisor=True, facts=FACTS):
    return disclosure(action=action, actor_role=role, visibility=visibility, project_id=project, lot_id=lot,
                      created_at=at, supervisor=supervisor, facts=facts, now=now)


def test_rule_pure():
    before, after = DEADLINE - dt.timedelta(seconds=1), DEADLINE
    for action, vis, role in [("registration.create", "sealed", "bidder"), ("deposit.refund_order", "supervisors", "staff"),
                              ("deposit.transfer", "supervisors", "system"), ("envelope.submit", "sealed", "bidder"),
                              ("anything.else", "supervisors", "bidder")]:
        for sup in (True, False):
            assert _d(action, visibility=vis, role=role, now=before, supervisor=sup) is Disclosure.NONE
        assert _d(action, visibility=vis, role=role, now=after, supervisor=True) is Disclosure.FULL
        assert _d(action, visibility=vis, role=role, now=after, supervisor=False) is Disclosure.HASH
        # written after the deadline: not embargoed
        assert _d(action, visibility=vis, role=role, at=after, now=after) is Disclosure.FULL
    # a lot-less event of the project waits for the project's last deadline
    assert _d("deposit.x", lot=None, now=DEADLINE + dt.timedelta(days=1)) is Disclosure.NONE
    assert _d("deposit.x", lot=None, now=DEADLINE + dt.timedelta(days=5)) is Disclosure.FULL
    # an unknown project or lot: closed for ever
    assert _d("deposit.x", lot=None, project=8, now=T0 + dt.timedelta(days=999)) is Disclosure.NONE
    assert _d("deposit.x", lot=99, project=None, now=T0 + dt.timedelta(days=999)) is Disclosure.NONE
    # public events are public; non-bidder sealed ones stay sealed until the result, even to supervisors
    assert _d("registration.create", visibility="public", now=before, supervisor=False) is Disclosure.FULL
    assert _d("auction.reserve", role="staff", now=after) is Disclosure.HASH
    done = Facts(projects={7: Horizon(lot_deadlines={70: DEADLINE}, result_known=True)}, lots={70: DEADLINE})
    assert _d("auction.reserve", role="staff", now=after, facts=done) is Disclosure.FULL
    assert _d("project.create", visibility="supervisors", role="staff", now=before) is Disclosure.FULL
    assert _d("project.create", visibility="supervisors", role="staff", now=before, supervisor=False) is Disclosure.HASH


def _norm(text: str) -> str:
    return re.sub(r'(csrfmiddlewaretoken" value=|csrf-token" content=)"[^"]*"', r"\1''", text)


def _read(project_id, code, supervisor, bidder):
    """Every audit surface as the supervisor, the public and a non-participating bidder."""
    out = {}
    for name, user in (("supervisor", supervisor), ("public", None), ("bidder", bidder)):
        c = APIClient()
        if user is not None:
            c.force_authenticate(user)
        r = c.get(f"/api/audit/events/?project={project_id}&limit=500")
        out[f"api:{name}"] = (r.status_code, r.content)
    c = Client()
    c.force_login(supervisor)
    for url in (f"/supervise/audit/{code}/", f"/supervise/audit/{code}/?verify=1"):
        r = c.get(url)
        out[url] = (r.status_code, _norm(r.content.decode()))
    return out


@pytest.mark.django_db
def test_bidder_activity_is_unknown_until_the_deadline(world, clock):
    BANK.reset()
    tender = make_tender(world, bidders=world.bidders[:1], security_fen=100_00)
    lot, project = tender.lot, tender.lot.project
    before = _read(project.pk, project.code, world.supervisor, world.bidders[3])
    newest = Event.objects.order_by("-id").first()
    assert newest is not None
    first = newest.pk
    # bidder 1 registers, pays and withdraws (a refund order); bidder 0 pays and submits an envelope
    reg1 = bidding_services.register(actor=world.bidders[1], lot=lot,
                                     declaration=[{"condition": c, "met": True} for c in lot.eligibility])
    for reg_bidder in (world.bidders[0], world.bidders[1]):
        acc = Account.objects.get(lot=lot, bidder=reg_bidder.organisation)
        BANK.pay_in(sub_account=acc.deposit_number, amount_fen=acc.required_fen, payer_name=reg_bidder.organisation.name,
                    payer_account=reg_bidder.organisation.bank_account)
    bidding_services.withdraw_registration(actor=world.bidders[1], registration=reg1)
    tender.submit(world.bidders[0], 1_000_000)
    new = list(Event.objects.filter(id__gt=first, project_id=project.pk))
    actions = {e.action for e in new}
    assert {"registration.create", "registration.withdraw", "deposit.refund_order", "envelope.submit"} <= actions
    assert _read(project.pk, project.code, world.supervisor, world.bidders[3]) == before
    # the whole log lists them, by leaf hash only, even for supervisors
    c = APIClient()
    c.force_authenticate(world.supervisor)
    rows = {r["id"]: r for r in c.get(f"/api/audit/events/?after={first}&limit=500").json()["results"]}
    assert {e.pk for e in new} <= set(rows) and all("event" not in rows[e.pk] for e in new)
    # at the deadline: supervisors read all of it, the others know it exists
    clock.move_to(lot.bid_deadline)
    rows = {r["id"]: r for r in c.get(f"/api/audit/events/?project={project.pk}&limit=500").json()["results"]}
    refund = next(e for e in new if e.action == "deposit.refund_order")
    assert rows[refund.pk]["event"]["payload"]["payee_name"] == world.bidders[1].organisation.name
    assert {e.pk for e in new} <= set(rows) and all("event" in rows[e.pk] for e in new)
    public = {r["id"]: r for r in APIClient().get(f"/api/audit/events/?project={project.pk}&limit=500").json()["results"]}
    assert {e.pk for e in new} <= set(public) and all("event" not in public[e.pk] for e in new)
    page = Client()
    page.force_login(world.supervisor)
    html = page.get(f"/supervise/audit/{project.code}/").content.decode()
    assert "registration.withdraw" in html and "deposit.refund_order" in html
