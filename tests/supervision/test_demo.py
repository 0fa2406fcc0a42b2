"""The demo shows all three kinds of warning: a planted cartel the screens catch, late steps that raise
red cards, and staff actions outside the normal path listed for review; a supervisor acts on one."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_raises_cards_screens_and_reviews():
    from deposits.bank.fake import BANK
    from frontend.demo import SEEDERS, load_demo
    from supervision import services
    from supervision.models import Alert
    from trading.models import Lot

    assert "supervision.demo.seed" in SEEDERS
    BANK.reset()
    try:
        world = load_demo()
    finally:
        BANK.reset()
    cartel = Lot.objects.get(project__title__startswith="阳光市东湖公园")
    screens = set(Alert.objects.filter(lot=cartel, kind="screen").values_list("rule", flat=True))
    assert {"same_payer", "constant_gaps"} <= screens
    payer = Alert.objects.get(lot=cartel, rule="same_payer")
    assert sorted(b["id"] for b in payer.evidence["bidders"]) == sorted(world.bidder_orgs[i].pk for i in (1, 3, 5))
    assert Alert.objects.filter(lot=cartel, kind="card", rule="publicity_start", severity="red").exists()
    late = Lot.objects.get(project__title__startswith="阳光市图书馆")
    assert Alert.objects.filter(lot=late, kind="card", rule="opening", severity="red").exists()
    assert Alert.objects.filter(kind="review", rule="terminated").exists()
    # nothing before its deadline is shown: every alert on screens is past its lot's deadline
    assert not Alert.objects.filter(kind="screen", pushed=True, lot__bid_deadline__gt=payer.raised_at).exists()
    alert = services.act_on_alert(actor=world.supervisor, alert=payer, action="escalate",
                                  reason="三家投标人的保证金由同一账户转出，报价等差", escalation="investigation")
    assert alert.status == "escalated"
