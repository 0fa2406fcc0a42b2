"""Registration (报名): sealed until the bid deadline, on time only, a full declaration."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.test import APIClient

from audit.models import Event
from bidding import selectors, services
from bidding.models import Registration
from tests import factories
from tests.trading.conftest import snapshot
from trading.errors import Conflict, Forbidden, Invalid, NotFound

pytestmark = pytest.mark.django_db
SECOND = dt.timedelta(seconds=1)
CONDITIONS = ["具有有效的营业执照", "具有市政公用工程施工总承包二级及以上资质", "近三年无重大违法记录"]


def declare(lot, **overrides):
    return [{"condition": c, "met": True, "note": overrides.get(c, "")} for c in lot.eligibility]


@pytest.fixture
def lot(world, clock):
    return factories.make_project(world, publish=True, eligibility=CONDITIONS).lots.get()


@pytest.fixture
def registered(world, lot):
    services.register(actor=world.bidders[0], lot=lot, declaration=declare(lot))
    services.register(actor=world.bidders[1], lot=lot, declaration=declare(lot))
    return lot


def viewers(world):
    return {"anonymous": AnonymousUser(), "bidder0": world.bidders[0], "bidder1": world.bidders[1],
            "bidder2": world.bidders[2], "staff": world.staff, "other_staff": world.other_staff,
            "supervisor": world.supervisor, "expert": world.expert, "admin": world.admin}


def test_sealed_before_the_deadline(world, registered, clock, subtests):
    clock.move_to(registered.bid_deadline - SECOND)
    expected = {"anonymous": set(), "bidder0": {world.bidder_orgs[0].pk}, "bidder1": {world.bidder_orgs[1].pk},
                "bidder2": set(), "staff": set(), "other_staff": set(), "supervisor": set(), "expert": set(),
                "admin": set()}
    for name, user in viewers(world).items():
        with subtests.test(msg=name):
            seen = set(selectors.registrations_visible_to(user, registered).values_list("bidder_id", flat=True))
            assert seen == expected[name]
    assert selectors.registered_count_after_deadline(registered) is None


def test_open_after_the_deadline_to_staff_and_supervisors(world, registered, clock, subtests):
    clock.move_to(registered.bid_deadline)
    both = {world.bidder_orgs[0].pk, world.bidder_orgs[1].pk}
    expected = {"anonymous": set(), "bidder0": {world.bidder_orgs[0].pk}, "bidder1": {world.bidder_orgs[1].pk},
                "bidder2": set(), "staff": both, "supervisor": both, "expert": set(), "admin": both}
    for name, want in expected.items():
        with subtests.test(msg=name):
            user = viewers(world)[name]
            seen = set(selectors.registrations_visible_to(user, registered).values_list("bidder_id", flat=True))
            assert seen == want
    assert selectors.registered_count_after_deadline(registered) == 2


def test_registration_events_are_sealed_and_not_public(world, lot, clock):
    public_before = Event.objects.filter(project_id=lot.project_id).exclude(visibility="sealed").count()
    services.register(actor=world.bidders[0], lot=lot, declaration=declare(lot))
    events = Event.objects.filter(project_id=lot.project_id, action__startswith="registration.")
    assert [e.visibility for e in events] == ["sealed"]
    assert Event.objects.filter(project_id=lot.project_id).exclude(visibility="sealed").count() == public_before
    feed = APIClient().get("/api/changes/?limit=500").json()["results"]
    assert not [c for c in feed if "registration" in c["action"] or "deposit" in c["action"]]


def test_pages_do_not_show_registrations_before_the_deadline(world, registered, client, clock):
    name0 = world.bidder_orgs[0].name
    code = registered.project.code
    for user in (None, world.bidders[2], world.staff, world.supervisor):
        client.logout()
        if user is not None:
            client.force_login(user)
        for url in (f"/projects/{code}/", f"/projects/{code}/disclosure/", "/"):
            page = client.get(url).content.decode()
            assert name0 not in page, (user, url)
    client.force_login(world.bidders[0])
    page = client.get("/me/").content.decode()
    assert code in page
    client.force_login(world.bidders[2])
    assert code not in client.get("/me/").content.decode()


def test_audit_event_list_does_not_reveal_the_registration_count(world, lot, clock):
    client = APIClient()

    def sealed_count():
        rows = client.get(f"/api/audit/events/?project={lot.project_id}&limit=1000").json()["results"]
        return len(rows)

    before = sealed_count()
    services.register(actor=world.bidders[0], lot=lot, declaration=declare(lot))
    services.register(actor=world.bidders[1], lot=lot, declaration=declare(lot))
    assert sealed_count() == before


def test_late_registration_refused(world, lot, clock):
    clock.move_to(lot.bid_deadline - SECOND)
    services.register(actor=world.bidders[0], lot=lot, declaration=declare(lot))
    for moment in (lot.bid_deadline, lot.bid_deadline + SECOND):
        clock.move_to(moment)
        before = snapshot()
        with pytest.raises(Conflict, match="closed at the deadline"):
            services.register(actor=world.bidders[1], lot=lot, declaration=declare(lot))
        assert snapshot() == before


def test_withdrawal_only_before_the_deadline(world, lot, clock):
    registration = services.register(actor=world.bidders[0], lot=lot, declaration=declare(lot))
    clock.move_to(lot.bid_deadline + SECOND)
    before = snapshot()
    with pytest.raises(Conflict, match="after the deadline"):
        services.withdraw_registration(actor=world.bidders[0], registration=registration)
    assert snapshot() == before


BAD_DECLARATIONS = {
    "missing a condition": (lambda d: d[:-1], "does not answer"),
    "a condition not met": (lambda d: [{**d[0], "met": False}] + d[1:], "not meeting"),
    "met as a string": (lambda d: [{**d[0], "met": "true"}] + d[1:], "not meeting"),
    "an unknown condition": (lambda d: d + [{"condition": "我们很优秀", "met": True}], "unknown conditions"),
    "not a list": (lambda d: {"all": True}, "list of answers"),
    "answer without condition": (lambda d: d + [{"met": True}], "needs a condition"),
    "empty": (lambda d: [], "does not answer"),
}


@pytest.mark.parametrize("case", list(BAD_DECLARATIONS))
def test_declaration_must_answer_every_condition(world, lot, case):
    mutate, message = BAD_DECLARATIONS[case]
    before = snapshot()
    with pytest.raises(Invalid, match=message):
        services.register(actor=world.bidders[0], lot=lot, declaration=mutate(declare(lot)))
    assert snapshot() == before


def test_registration_records_the_answers(world, lot):
    registration = services.register(actor=world.bidders[0], lot=lot,
                                     declaration=declare(lot, **{CONDITIONS[0]: "营业执照号 123"}))
    assert [a["condition"] for a in registration.declaration] == CONDITIONS
    assert registration.declaration[0]["note"] == "营业执照号 123"
    before = snapshot()
    with pytest.raises(Conflict, match="already registered"):
        services.register(actor=world.bidders[0], lot=lot, declaration=declare(lot))
    assert snapshot() == before


def test_registration_refused_for_drafts_unknown_lots_and_non_bidders(world, clock):
    draft = factories.make_project(world).lots.get()
    before = snapshot()
    with pytest.raises(Conflict, match="not open"):
        services.register(actor=world.bidders[0], lot=draft, declaration=declare(draft))
    with pytest.raises(NotFound):
        services.register(actor=world.bidders[0], lot=10**9, declaration=[])
    with pytest.raises(Forbidden):
        services.register(actor=world.staff, lot=draft, declaration=declare(draft))
    assert snapshot() == before


def test_register_page(world, lot, client):
    client.force_login(world.bidders[0])
    url = f"/me/register/{lot.pk}/"
    assert client.get(url).status_code == 200
    before = snapshot()
    response = client.post(url, {"met_0": "on", "met_1": "on"})  # the third condition left unanswered
    assert response.status_code == 400 and CONDITIONS[2] in response.content.decode()
    assert snapshot() == before
    response = client.post(url, {"met_0": "on", "met_1": "on", "met_2": "on"})
    assert response.status_code == 302
    assert Registration.objects.filter(lot=lot, bidder=world.bidder_orgs[0]).count() == 1
    draft = factories.make_project(world).lots.get()
    assert client.get(f"/me/register/{draft.pk}/").status_code == 404
    client.force_login(world.staff)
    assert client.get(url).status_code == 403
