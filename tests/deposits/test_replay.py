"""Replay equals live for the deposits section, at several moments of a lot's life."""
from __future__ import annotations

import pytest
from django.db import transaction

from audit.replay import diff
from deposits import hooks, services
from deposits.selectors import live_deposits
from deposits.models import SuspenseItem
from frontend.selectors import replayed_state

from .test_services import acc_of, freeze, pay

pytestmark = pytest.mark.django_db


def check(project):
    live = live_deposits(project)
    replayed = replayed_state(project)["deposits"]
    assert diff(replayed, live) == []
    return live


def test_replay_equals_live(world, tender, regs, fake_bank, clock, django_capture_on_commit_callbacks):
    project = tender.project
    a0, a1, a2 = (acc_of(r) for r in regs)
    check(project)
    pay(fake_bank, a0, world, 0)
    pay(fake_bank, a1, world, 1, payer_name="集团公司", payer_account="1")  # wrong payer -> suspense
    services.resolve_suspense(actor=world.staff, item=SuspenseItem.objects.get(), action="assign", account=a1,
                              note="集团代付")
    live = check(project)
    assert live["accounts"][str(a1.pk)]["balance_fen"] == a1.required_fen
    freeze(clock, tender)
    check(project)
    f = services.request_forfeit(actor=world.staff, account=a1, grounds="collusion", reason="串标")
    check(project)
    fake_bank.fail_next = 1
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            services.mark_winner(lot=tender, bidder_org=world.bidder_orgs[0])
            hooks.on_result(lot=tender, action="award", actor=None, now=clock.now)
    check(project)
    services.countersign_forfeit(actor=world.supervisor, forfeit=f, approve=True, note="同意")
    clock.advance(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        services.tick()
        services.settle_winner(lot=tender, bidder_org=world.bidder_orgs[0], mode="convert")
    live = check(project)
    assert {a["status"] for a in live["accounts"].values()} == {"settled", "closed"}
    assert live["forfeits"][str(f.pk)]["status"] == "countersigned"
