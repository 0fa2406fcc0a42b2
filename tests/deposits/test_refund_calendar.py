"""A refund ordered late in the year, when its working-day count reaches a year the official calendar does not
know yet (before the State Council's arrangement is loaded), is ordered and sent all the same: only its due day
stays open, and the clock fills it in once an administrator loads the year. Nothing waits on the calendar, and
nothing is guessed. The dates are relative to the last year the pinned calendar library knows, so the test does
not depend on the day it runs."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.test import Client

from audit.models import Event
from deposits import hooks, services
from deposits.api import refund_json
from deposits.models import RefundOrder
from trading import workdays
from trading.services import load_calendar_year

from .conftest import register
from .test_services import acc_of, freeze, pay

pytestmark = pytest.mark.django_db
BEIJING = dt.timezone(dt.timedelta(hours=8))


def test_a_refund_past_the_known_calendar_goes_out_and_gets_its_due_day_once_the_year_is_loaded(
        world, clock, fake_bank, django_capture_on_commit_callbacks):
    from tests import factories

    _, _, last = workdays.library_days()
    clock.move_to(dt.datetime(last, 12, 1, 9, tzinfo=BEIJING))
    lot = factories.make_project(world, "engineering", "open_tender", publish=True).lots.get()
    regs = [register(world, lot, i) for i in range(2)]
    a0, a1 = (acc_of(r) for r in regs)
    pay(fake_bank, a0, world, 0)
    pay(fake_bank, a1, world, 1)
    freeze(clock, lot)
    ordered_on = dt.date(last, 12, 29)
    clock.move_to(dt.datetime(last, 12, 29, 10, tzinfo=BEIJING))
    with pytest.raises(workdays.CalendarUnknown):  # five working days from here reach the unknown year
        workdays.add_working_days(ordered_on, 5)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            services.mark_winner(lot=lot, bidder_org=world.bidder_orgs[0])
            hooks.on_result(lot=lot, action="award", actor=None, now=clock.now)
    order = RefundOrder.objects.get(account=a1)
    assert order.status == "confirmed" and len(fake_bank.refunds) == 1  # the money went back regardless
    assert order.due_on is None and order.due_working_days == lot.rule.refund_working_days
    ordered = Event.objects.get(action="deposit.refund_order", subject=f"refund:{order.pk}")
    assert ordered.payload["due_on"] is None and ordered.payload["due_working_days"] == order.due_working_days
    assert refund_json(order)["due_on"] is None
    bidder, staff = Client(), Client()
    bidder.force_login(world.bidders[1])
    staff.force_login(world.staff)
    mine = bidder.get("/api/deposits/mine/")
    assert mine.status_code == 200 and [r["due_on"] for a in mine.json()["results"] for r in a["refunds"]] == [None]
    for page in (f"/deposits/accounts/{a1.pk}/", "/deposits/refunds/"):
        assert staff.get(page).status_code == 200, page
    # the clock cannot fill it in yet, and says nothing
    assert services.fill_refund_due_dates() == 0
    services.tick()
    order.refresh_from_db()
    assert order.due_on is None and not Event.objects.filter(action="deposit.refund_due").exists()
    # an administrator loads the next year (here a test fixture, not the State Council's arrangement)
    load_calendar_year(actor=None, year=last + 1, source="test fixture: 1 January only",
                       days={dt.date(last + 1, 1, 1): (False, "元旦")})
    assert services.fill_refund_due_dates() == 1
    order.refresh_from_db()
    n = lot.rule.refund_working_days
    due_on = workdays.add_working_days(ordered_on, n)
    assert order.due_on == due_on and due_on.year == last + 1 and due_on != dt.date(last + 1, 1, 1)
    filled = Event.objects.get(action="deposit.refund_due")
    assert filled.payload == {"order": order.pk, "due_on": due_on.isoformat(), "due_working_days": n,
                              "ordered_on": ordered_on.isoformat()}
    assert services.fill_refund_due_dates() == 0  # once
