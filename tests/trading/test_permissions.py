"""Permissions matrix: role × action, enforced in the services (and the API for reads).
A refused action raises Forbidden/NotFound and changes nothing."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.test import APIClient

from bidding import services as bidding
from bidding.models import Registration
from tests import factories
from tests.trading.conftest import snapshot
from trading import services
from trading.errors import Conflict, Forbidden, NotFound

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "bidder", "staff", "other_staff", "supervisor", "expert", "admin")
REFUSED = (Forbidden, NotFound)


def user_for(world, role):
    return {
        "anonymous": AnonymousUser(), "bidder": world.bidders[0], "staff": world.staff,
        "other_staff": world.other_staff, "supervisor": world.supervisor, "expert": world.expert,
        "admin": world.admin,
    }[role]


def _create(world, user, ctx):
    spec = factories.lot_spec("engineering", "open_tender")
    return services.create_project(actor=user, kind="engineering", method="open_tender", title="权限测试",
                                   owner=world.tenderee, supervisor=world.supervisor_org, region="市本级",
                                   budget_fen=spec.estimate_fen, lots=[spec])


def _publish(world, user, ctx):
    return services.publish_project(actor=user, project=ctx["draft"])


def _amend(world, user, ctx):
    return services.publish_amendment(actor=user, notice=ctx["notice"], title="变更", body="变更内容")


def _attach(world, user, ctx):
    return services.attach_document(actor=user, notice=ctx["notice"], name="招标文件.pdf", content=b"%PDF-1.4 test")


def _terminate(world, user, ctx):
    return services.terminate_project(actor=user, project=ctx["published"], reason="资金未落实")


def _register(world, user, ctx):
    lot = ctx["published"].lots.get()
    return bidding.register(actor=user, lot=lot, declaration=[{"condition": c, "met": True} for c in lot.eligibility])


def _withdraw(world, user, ctx):
    return bidding.withdraw_registration(actor=user, registration=ctx["registration"])


ACTIONS = {
    # action: (callable, roles allowed)
    "create_project": (_create, {"staff", "other_staff"}),  # other_staff creates in its own centre
    "publish_project": (_publish, {"staff"}),
    "publish_amendment": (_amend, {"staff"}),
    "attach_document": (_attach, {"staff"}),
    "terminate_project": (_terminate, {"staff"}),
    "register": (_register, {"bidder"}),
    "withdraw_registration": (_withdraw, {"bidder"}),
}


@pytest.fixture
def ctx(world, clock):
    draft = factories.make_project(world)
    published = factories.make_project(world, publish=True)
    notice = published.notices.get(kind="tender")
    other = factories.make_project(world, publish=True)
    lot = other.lots.get()
    registration = bidding.register(actor=world.bidders[0], lot=lot,
                                    declaration=[{"condition": c, "met": True} for c in lot.eligibility])
    return {"draft": draft, "published": published, "notice": notice, "registration": registration}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_matrix(world, ctx, subtests, action):
    fn, allowed = ACTIONS[action]
    # refused roles first (nothing may change), then the allowed ones
    for role in sorted(ROLES, key=lambda r: r in allowed):
        with subtests.test(msg=f"{role} {action}"):
            user = user_for(world, role)
            if role in allowed:
                before = snapshot()
                assert fn(world, user, ctx) is not None
                assert snapshot()["events"] > before["events"], "an allowed action is audited"
            else:
                before = snapshot()
                with pytest.raises(REFUSED) as info:
                    fn(world, user, ctx)
                assert info.value.message
                assert snapshot() == before


def test_staff_of_another_centre_is_told_why(world, ctx):
    with pytest.raises(Forbidden, match="another trading centre"):
        services.publish_project(actor=world.other_staff, project=ctx["draft"])


def test_another_bidder_cannot_withdraw_or_see_a_registration(world, ctx):
    before = snapshot()
    with pytest.raises(NotFound):
        bidding.withdraw_registration(actor=world.bidders[1], registration=ctx["registration"])
    assert snapshot() == before
    assert Registration.objects.get(pk=ctx["registration"].pk).status == "active"


def test_allowed_actions_cannot_be_repeated(world, ctx):
    services.publish_project(actor=world.staff, project=ctx["draft"])
    before = snapshot()
    with pytest.raises(Conflict, match="already published"):
        services.publish_project(actor=world.staff, project=ctx["draft"])
    bidding.withdraw_registration(actor=world.bidders[0], registration=ctx["registration"])
    before = snapshot()
    with pytest.raises(Conflict, match="already withdrawn"):
        bidding.withdraw_registration(actor=world.bidders[0], registration=ctx["registration"])
    assert snapshot() == before


READ_DRAFT = {"anonymous": 404, "bidder": 404, "staff": 200, "other_staff": 404, "supervisor": 200, "expert": 404,
              "admin": 200}


def test_read_draft_project_via_api(world, ctx, subtests):
    code = ctx["draft"].code
    for role, expected in READ_DRAFT.items():
        with subtests.test(msg=role):
            client = APIClient()
            user = user_for(world, role)
            if role != "anonymous":
                client.force_authenticate(user)
            response = client.get(f"/api/projects/{code}/")
            assert response.status_code == expected, response.content
            listed = [p["code"] for p in client.get("/api/projects/?limit=500").json()["results"]]
            assert (code in listed) == (expected == 200)
            lots = client.get(f"/api/lots/?project={ctx['draft'].pk}").json()["results"]
            assert bool(lots) == (expected == 200)
            if expected == 404:
                assert response.json()["detail"] == "no such project"
            # the published project is public to everyone
            assert client.get(f"/api/projects/{ctx['published'].code}/").status_code == 200


def test_draft_project_pages_hidden(world, ctx, client, subtests):
    code = ctx["draft"].code
    for role, expected in READ_DRAFT.items():
        with subtests.test(msg=role):
            client.logout()
            if role != "anonymous":
                client.force_login(user_for(world, role))
            assert client.get(f"/projects/{code}/").status_code == expected
            assert client.get(f"/projects/{code}/disclosure/").status_code == expected
