"""Alerts end to end through the real services and the real clock tick: cards, screens, review list,
the lifecycle, and confidentiality before the deadline."""
from __future__ import annotations

import datetime as dt

import pytest

from audit.models import Event
from bidding.evaluation import services as ev
from deposits.bank.fake import BANK
from deposits.models import Account
from supervision import services
from supervision.models import Alert, AlertStep
from tests import factories
from tests.evaluation.conftest import draw_committee, open_lot, pass_all
from trading import services as trading_services
from trading.clock import run_all_ticks
from trading.errors import Conflict, Forbidden, Invalid, NotFound

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def reported(ew, clock, prices=(1_000_000, 900_000, 950_000)):
    lot = open_lot(ew, clock, list(prices))
    draw_committee(ew, lot)
    ev.start_evaluation(actor=ew.world.staff, lot=lot)
    pass_all(ew, lot)
    ev.report_evaluation(actor=ew.world.staff, lot=lot)
    return lot


def cards(lot, rule):
    return sorted(Alert.objects.filter(lot=lot, kind="card", rule=rule).values_list("severity", flat=True))


def test_late_publicity_raises_a_yellow_then_a_red_card_once(ew, clock):
    lot = reported(ew, clock)
    run_all_ticks()
    assert cards(lot, "publicity_start") == []
    clock.advance(days=2, hours=1)
    run_all_ticks()
    assert cards(lot, "publicity_start") == ["yellow"]
    clock.advance(days=1)
    services.tick()
    services.tick()  # idempotent
    assert cards(lot, "publicity_start") == ["red", "yellow"]
    red = Alert.objects.get(lot=lot, rule="publicity_start", severity="red")
    assert "第五十四条" in red.basis and red.status == "new" and red.visible_from <= clock.now
    event = Event.objects.get(pk=red.event_id)
    assert event.action == "supervision.alert_raise" and event.visibility == "supervisors"
    # publicising now stops the clock: no further card on it
    ev.publish_candidates(actor=ew.world.staff, lot=lot)
    clock.advance(days=1)
    services.tick()
    assert cards(lot, "publicity_start") == ["red", "yellow"]


def test_supervisor_acts_on_an_alert_every_step_recorded(ew, clock):
    lot = reported(ew, clock)
    clock.advance(days=3, hours=1)
    services.tick()
    alert = Alert.objects.get(lot=lot, rule="publicity_start", severity="red")
    sup, staff = ew.world.supervisor, ew.world.staff
    before = Event.objects.order_by("-id").values_list("id", flat=True).first()
    with pytest.raises(Forbidden):
        services.act_on_alert(actor=staff, alert=alert, action="acknowledge")
    with pytest.raises(Invalid):
        services.act_on_alert(actor=sup, alert=alert, action="dismiss", reason=" ")
    with pytest.raises(Invalid):
        services.act_on_alert(actor=sup, alert=alert, action="escalate", reason="late", escalation="jail")
    alert.refresh_from_db()
    assert alert.status == "new" and not Event.objects.filter(pk__gt=before).exists() and not AlertStep.objects.exists()
    services.act_on_alert(actor=sup, alert=alert, action="acknowledge")
    services.act_on_alert(actor=sup, alert=alert, action="escalate", reason="公示迟延三日以上",
                          escalation="investigation")
    alert.refresh_from_db()
    assert (alert.status, alert.escalation) == ("escalated", "investigation")
    with pytest.raises(Conflict):
        services.act_on_alert(actor=sup, alert=alert, action="dismiss", reason="x")
    steps = list(AlertStep.objects.filter(alert=alert).values_list("source", "target", "actor_id"))
    assert steps == [("new", "acknowledged", sup.pk), ("acknowledged", "escalated", sup.pk)]
    actions = list(Event.objects.filter(pk__gt=before).values_list("action", flat=True))
    assert actions == ["supervision.alert_acknowledge", "supervision.alert_escalate"]


def test_same_payer_is_flagged_at_once_but_shown_only_after_the_deadline(world, clock, client):
    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    from bidding import services as bidding_services

    for user, org in zip(world.bidders[:2], world.bidder_orgs[:2]):
        bidding_services.register(actor=user, lot=lot, declaration=[{"condition": c, "met": True} for c in lot.eligibility])
        acc = Account.objects.get(lot=lot, bidder=org, kind="deposit")
        BANK.pay_in(sub_account=acc.number or "", amount_fen=acc.required_fen, payer_name="某某个人",
                    payer_account="6222 0000 1111 2222")
    services.tick()
    alert = Alert.objects.get(lot=lot, rule="same_payer")
    assert alert.visible_from == lot.bid_deadline and not alert.pushed
    event = Event.objects.get(pk=alert.event_id)
    assert event.action == "supervision.embargoed_alert"
    # nobody may know of it before the deadline: not even supervisors, in the audit listing
    from audit.visibility import project_events

    assert event.pk not in [e.pk for e, _ in project_events(project.pk, user=world.supervisor)[0]]
    # a supervisor sees nothing of it before the deadline: not on the console, the API, nor by id
    client.force_login(world.supervisor)
    assert client.get("/api/supervision/alerts/").json() == {"alerts": []}
    page = client.get("/supervise/alerts/")
    assert page.status_code == 200 and "同一账户" not in page.content.decode()
    assert client.get(f"/supervise/alerts/{alert.ref}/").status_code == 404
    response = client.post(f"/api/supervision/alerts/{alert.ref}/actions/", {"action": "acknowledge"},
                           content_type="application/json")
    assert response.status_code == 404
    with pytest.raises(NotFound):
        services.act_on_alert(actor=world.supervisor, alert=alert, action="acknowledge")
    clock.move_to(lot.bid_deadline + dt.timedelta(seconds=1))
    run_all_ticks()
    alert.refresh_from_db()
    assert alert.pushed
    client.force_login(world.supervisor)  # three weeks later: a new session
    assert event.pk in [e.pk for e, _ in project_events(project.pk, user=world.supervisor)[0]]
    rows = client.get("/api/supervision/alerts/").json()["alerts"]
    assert [r["rule"] for r in rows if r["rule"] == "same_payer"] == ["same_payer"]
    assert sorted(b["id"] for b in rows[[r["rule"] for r in rows].index("same_payer")]["evidence"]["bidders"]) == \
        sorted(o.pk for o in world.bidder_orgs[:2])
    assert "保证金同一账户转出" in client.get("/supervise/alerts/").content.decode()
    response = client.post(f"/api/supervision/alerts/{alert.ref}/actions/",
                           {"action": "dismiss", "reason": "同一集团财务代付，已核实"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["alert"]["status"] == "dismissed"


def test_patterned_prices_are_screened_after_opening(ew, clock):
    lot = open_lot(ew, clock, [1_000_000_00, 1_020_000_00, 1_040_000_00, 1_060_000_00])
    services.tick()
    rules = set(Alert.objects.filter(lot=lot, kind="screen").values_list("rule", flat=True))
    assert "constant_gaps" in rules
    alert = Alert.objects.get(lot=lot, rule="constant_gaps")
    assert alert.evidence["gap_fen"] == 20_000_00 and "第四十条" in alert.basis


def test_staff_actions_outside_the_normal_path_are_listed(world, clock):
    project = factories.make_project(world, publish=True)
    clock.advance(days=1)
    trading_services.terminate_project(actor=world.staff, project=project, reason="需求变更") \
        if hasattr(trading_services, "terminate_project") else \
        trading_services.transition_lot(lot=project.lots.get(), action="terminate", actor=world.staff, reason="需求变更")
    services.tick()
    alert = Alert.objects.get(project=project, kind="review", rule="terminated")
    assert alert.severity == "info" and alert.evidence["actor"] == world.staff.username


def test_bad_api_input_is_a_clear_4xx(world, client):
    client.force_login(world.supervisor)
    assert client.post("/api/supervision/alerts/abc/actions/", {}, content_type="application/json").status_code == 404
    assert client.get("/api/supervision/alerts/?status=nope").status_code == 400
    client.force_login(world.bidders[0])
    assert client.get("/api/supervision/alerts/").status_code == 403


def test_market_outcomes_read_the_finished_lots(ew, clock):
    from supervision.screening import market_outcomes, screen_market

    lot = reported(ew, clock)
    ev.publish_candidates(actor=ew.world.staff, lot=lot)
    clock.advance(days=3, minutes=1)
    award = ev.award_lot(actor=ew.world.staff, lot=lot)
    [o] = market_outcomes()
    assert o.lot == str(lot.pk) and o.winner == str(award.bidder_id) and sorted(o.prices.values()) == [900_000, 950_000, 1_000_000]
    services.tick()  # the award's transition folds the lot into the market: nothing to flag in one honest lot
    assert screen_market(now=clock.now) == 0
    # the state is kept between ticks and only changed lots are folded in; it always equals a full recompute
    from supervision import market, screening
    from supervision.models import MarketState
    from tests.supervision.test_market import _state

    def full():
        m = market.Market()
        for o in market_outcomes():
            m.add(o)
        return m

    kept = screening._KEPT.market
    assert kept is not None and _state(kept) == _state(full()) and MarketState.objects.get().lots == 1
    version = MarketState.objects.get().version
    ev.refuse_to_sign(actor=ew.world.staff, lot=lot, reason="中标人放弃", forfeit=False)  # the next candidate wins
    services.tick()
    assert screening._KEPT.market is kept and MarketState.objects.get().version != version  # folded in, not rebuilt
    [o] = market_outcomes()
    assert kept.outcomes[str(lot.pk)].winner == o.winner != str(award.bidder_id)
    assert _state(kept) == _state(full())
    screening._KEPT.market = None  # another process: rebuilds once, to the same state
    assert screen_market(now=clock.now, changed={lot.pk}) == 0 and _state(screening._KEPT.market) == _state(full())


def test_same_network_address_behind_two_bidders(world, clock):
    """Two bidders register from one address: the screen reads the audit app's private context."""
    from rest_framework.test import APIClient

    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    for user in world.bidders[:3]:
        api = APIClient()
        api.force_authenticate(user)
        address = "198.51.100.9" if user in world.bidders[:2] else "192.0.2.44"
        response = api.post("/api/bidding/registrations/", {
            "lot": lot.pk, "declaration": [{"condition": c, "met": True} for c in lot.eligibility]},
            format="json", REMOTE_ADDR=address, HTTP_USER_AGENT=f"Client-{user.pk}")
        assert response.status_code == 201, response.content
    services.tick()
    alert = Alert.objects.get(lot=lot, rule="same_address")
    assert alert.evidence["shared"] == ["198.51.100.9"]
    assert sorted(b["id"] for b in alert.evidence["bidders"]) == sorted(o.pk for o in world.bidder_orgs[:2])
    assert alert.visible_from == lot.bid_deadline
    for e in Event.objects.filter(project_id=project.pk):
        assert "198.51.100.9" not in e.canonical  # never in an event body, only its salted hash
