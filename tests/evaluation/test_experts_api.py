"""The expert pool through the API (issue 18 item 2): staff list it (with ids, and only what the draw and the
exclusion rules need of a person), supervisors read it; bidders, experts and the public may not; only staff
(and admins) add to it, and a refused addition changes nothing."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from bidding.evaluation.models import Expert
from tests import factories
from tests.evaluation.conftest import make_experts

pytestmark = pytest.mark.django_db
URL = "/api/evaluation/experts/"
FIELDS = {"id", "name", "organisation", "specialities", "region", "available", "pool"}


def client_for(user=None) -> APIClient:
    c = APIClient()
    if user is not None:
        c.force_authenticate(user)
    return c


@pytest.mark.parametrize("who, status", [("staff", 200), ("other_staff", 200), ("supervisor", 200), ("admin", 200),
                                         ("bidder", 403), ("expert", 403), ("public", 401)])
def test_who_lists_the_pool(world, who, status):
    experts, _ = make_experts(world, 3)
    user = {"bidder": world.bidders[0], "public": None}.get(who, getattr(world, who, None))
    r = client_for(user).get(URL)
    assert r.status_code == status, r.content
    if status == 200:
        rows = r.json()
        assert [row["id"] for row in rows] == [e.pk for e in experts]
        assert all(set(row) == FIELDS for row in rows)  # no user account, e-mail, phone or address
    else:
        assert set(r.json()) == {"code", "detail", "fields"}


@pytest.mark.parametrize("who, status", [("staff", 201), ("admin", 201), ("supervisor", 403), ("bidder", 403),
                                         ("expert", 403), ("public", 401)])
def test_who_adds_to_the_pool(world, who, status):
    org = factories.make_org("tenderee", "新专家单位")
    account = factories.make_user("expert", org)
    user = {"bidder": world.bidders[0], "public": None}.get(who, getattr(world, who, None))
    before = Expert.objects.count()
    r = client_for(user).post(URL, {"user": account.pk, "organisation": org.pk, "name": "新专家",
                                    "specialities": ["civil"], "region": "市本级"}, format="json")
    assert r.status_code == status, r.content
    if status == 201:
        assert r.json() == {"id": Expert.objects.get(user=account).pk, "name": "新专家"}
    else:
        assert Expert.objects.count() == before
