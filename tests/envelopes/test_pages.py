"""The envelope pages render for the right people and refuse the others."""
import pytest
from django.test import Client

from bidding.envelopes import services
from trading.services import transition_lot

from .conftest import PASS

pytestmark = pytest.mark.django_db


def get(user, url):
    c = Client()
    if user is not None:
        c.force_login(user)
    return c.get(url)


def test_pages(tender, world, clock):
    bidder = world.bidders[0]
    lot = tender.lot
    page = get(bidder, f"/envelopes/lots/{lot.pk}/submit/")
    assert page.status_code == 200 and b'id="seal-form"' in page.content
    assert b'name="price' not in page.content  # the price field is never posted
    env = tender.submit(bidder, 100_00)
    assert get(bidder, f"/envelopes/receipt/{env.digest}/").status_code == 200
    assert get(world.bidders[1], f"/envelopes/receipt/{env.digest}/").status_code == 404
    assert get(world.staff, f"/envelopes/lots/{lot.pk}/submit/").status_code == 403
    assert get(world.staff, "/envelopes/custody/").status_code == 200
    assert get(world.other_staff, f"/envelopes/lots/{lot.pk}/ceremony/").status_code == 404
    clock.move_to(lot.bid_deadline)
    transition_lot(lot=lot, action="close_bidding")
    c = Client()
    c.force_login(world.supervisor)
    resp = c.post(f"/envelopes/lots/{lot.pk}/ceremony/share/", {"passphrase": "wrong-passphrase"})
    assert resp.status_code == 400 and b"wrong custody passphrase" in resp.content
    assert c.post(f"/envelopes/lots/{lot.pk}/ceremony/share/", {"passphrase": PASS["supervisor"]}).status_code == 302
    services.present_share(actor=tender.custodians["staff"], lot=lot, passphrase=PASS["staff"])
    c.force_login(world.staff)
    assert c.post(f"/envelopes/lots/{lot.pk}/ceremony/open/").status_code == 302
    page = get(world.staff, f"/envelopes/lots/{lot.pk}/ceremony/")
    assert page.status_code == 200 and b"Opening record" in page.content
    assert get(bidder, f"/envelopes/lots/{lot.pk}/follow/").status_code == 200
    api = get(bidder, f"/api/envelopes/lots/{lot.pk}/").json()
    assert api["opened"] is True and api["bids"][0]["price_fen"] == 100_00
    assert get(None, f"/api/envelopes/lots/{lot.pk}/opened/").status_code == 403
    assert get(world.supervisor, f"/api/envelopes/lots/{lot.pk}/opened/").json()[0]["price_fen"] == 100_00


def test_api_errors_are_clear(tender, world, clock):
    c = Client()
    c.force_login(world.bidders[0])
    resp = c.post(f"/api/envelopes/lots/{tender.lot.pk}/envelope/", data={"envelope": "x"},
                  content_type="application/json")
    assert resp.status_code == 400 and "base64" in resp.json()["detail"]
    resp = c.delete(f"/api/envelopes/lots/{tender.lot.pk}/envelope/")
    assert resp.status_code == 404
    # before the deadline nobody else learns whether envelopes exist
    tender.submit(world.bidders[0], 100)
    state = get(world.staff, f"/api/envelopes/lots/{tender.lot.pk}/").json()
    assert "envelope_count" not in state and "bids" not in state
