"""Custody keys in real Chromium (issue 13): in production a custodian creates its X25519 key in the
browser (non-extractable WebCrypto key kept in IndexedDB); only the public key reaches the platform;
at the ceremony the share is decrypted in the browser and presented; the bids open."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding.envelopes import envelope as E

pytestmark = pytest.mark.browser


def _login(context, live_server, user) -> None:
    from django.test import Client

    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


def _context(browser, live_server, user):
    context = browser.new_context()
    _login(context, live_server, user)
    return context


@pytest.mark.django_db(transaction=True)
def test_custodian_key_lives_in_the_browser(chromium, live_server, world, clock, settings, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop shares this thread
    from audit.models import Event
    from bidding import services as bidding_services
    from bidding.envelopes import services
    from bidding.envelopes.models import CustodianKey, CustodyShare, OpeningKey
    from tests import factories
    from trading.services import transition_lot

    settings.PRODUCTION = True
    staff2 = factories.make_user("staff", world.centre)
    services.register_custodian_public_key(
        actor=staff2, public_key_hex=E.x25519_public_bytes(X25519PrivateKey.generate()).hex())
    pages = {}
    for user in (world.staff, world.supervisor):
        context = _context(chromium, live_server, user)
        page = context.new_page()
        page.goto(f"{live_server.url}/envelopes/custody/")
        assert page.locator("#custody-passphrase").count() == 0  # no passphrase-wrapped keys in production
        page.click("#custody-create-browser")
        page.wait_for_selector("#custody-public", timeout=20000)
        ck = CustodianKey.objects.get(user=user)
        assert ck.wrapped_private_key is None
        assert page.inner_text("#custody-public") == bytes(ck.public_key).hex()
        # the private key in IndexedDB is a CryptoKey the page itself cannot export
        exported = page.evaluate("""async (user) => {
            const rec = await window.SunlightCustody.loadKey(user);
            try { await crypto.subtle.exportKey("pkcs8", rec.privateKey); return "exported"; }
            catch (e) { return "refused:" + rec.privateKey.extractable; }
        }""", str(user.pk))
        assert exported == "refused:false"
        pages[user.pk] = (context, page)
    # the lot is published: its opening key is split among the three custodians
    project = factories.make_project(world, "engineering", "open_tender", publish=True, security_fen=0)
    lot = project.lots.get()
    key = OpeningKey.objects.get(lot=lot)
    assert key.n == 3
    bidder = world.bidders[0]
    bidding_services.register(actor=bidder, lot=lot, declaration=[{"condition": c, "met": True} for c in lot.eligibility])
    sk = Ed25519PrivateKey.generate()
    bidding_services.register_bidder_key(actor=bidder, public_key_hex=E.ed25519_public_bytes(sk).hex())
    p, lref, org = services.binding(lot, bidder.organisation_id)
    services.submit_envelope(actor=bidder, lot=lot, data=E.seal(
        lot_public_key=bytes(key.public_key), project=p, lot=lref, bidder=org, price_fen=7_654_321,
        terms={}, documents=[], signing_key=sk).to_json())
    # before the deadline the ceremony offers nothing to present
    context, page = pages[world.staff.pk]
    page.goto(f"{live_server.url}/envelopes/lots/{lot.pk}/ceremony/")
    assert page.locator("#custody-present-browser").count() == 0
    clock.move_to(lot.bid_deadline)
    transition_lot(lot=lot, action="close_bidding")
    for user in (world.staff, world.supervisor):
        context, page = pages[user.pk]
        _login(context, live_server, user)  # weeks later: a new session, the same browser (its key store)
        page.goto(f"{live_server.url}/envelopes/lots/{lot.pk}/ceremony/")
        page.click("#custody-present-browser")
        page.wait_for_function("() => document.getElementById('custody-present-browser') === null", timeout=20000)
        assert CustodyShare.objects.get(opening_key=key, custodian=user).presented_at is not None
        context.close()
    assert Event.objects.filter(action="custody.share_present", project_id=project.pk).count() == 2
    [bid] = services.open_bids(actor=world.staff, lot=lot)
    assert bid.price_fen == 7_654_321
