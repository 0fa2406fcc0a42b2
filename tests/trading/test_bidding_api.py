"""The bidder API: registrations and signing keys, only one's own, bad input refused with nothing changed."""
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rest_framework.test import APIClient

from audit.models import Event
from bidding.models import BidderKey, Registration
from tests import factories

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def counts():
    return Registration.objects.count(), BidderKey.objects.count(), Event.objects.count()


def test_register_list_withdraw(world, clock):
    lot = factories.make_project(world, publish=True, security_fen=0).lots.get()
    bidder = client_for(world.bidders[0])
    body = {"lot": lot.pk, "declaration": [{"condition": c, "met": True} for c in lot.eligibility]}
    response = bidder.post("/api/bidding/registrations/", body, format="json")
    assert response.status_code == 201, response.json()
    assert [r["lot"] for r in bidder.get("/api/bidding/registrations/").json()] == [lot.pk]
    assert client_for(world.bidders[1]).get("/api/bidding/registrations/").json() == []  # only one's own
    other = client_for(world.bidders[1]).post(f"/api/bidding/registrations/{response.json()['id']}/withdraw/")
    assert other.status_code == 404
    done = bidder.post(f"/api/bidding/registrations/{response.json()['id']}/withdraw/")
    assert done.status_code == 200 and done.json()["status"] == "withdrawn"


@pytest.mark.parametrize("body, status", [
    ({"lot": 999999, "declaration": []}, 404),
    ({"lot": "x", "declaration": []}, 400),
    ({"declaration": []}, 400),
    ("LOT", 400),
])
def test_bad_registrations_change_nothing(world, clock, body, status):
    factories.make_project(world, publish=True, security_fen=0)
    before = counts()
    response = client_for(world.bidders[0]).post("/api/bidding/registrations/", body, format="json")
    assert response.status_code == status and response.json()["detail"]
    assert counts() == before


def test_staff_cannot_register(world, clock):
    lot = factories.make_project(world, publish=True, security_fen=0).lots.get()
    before = counts()
    response = client_for(world.staff).post("/api/bidding/registrations/", {"lot": lot.pk, "declaration": []}, format="json")
    assert response.status_code == 403 and counts() == before


def test_signing_keys(world, clock):
    key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    bidder = client_for(world.bidders[0])
    assert bidder.post("/api/bidding/keys/", {"public_key": key}, format="json").status_code == 201
    assert [k["public_key"] for k in bidder.get("/api/bidding/keys/").json()] == [key]
    before = counts()
    for bad in ("zz" * 32, "ab", key):
        response = bidder.post("/api/bidding/keys/", {"public_key": bad}, format="json")
        assert response.status_code in (400, 409) and response.json()["detail"]
    assert counts() == before
