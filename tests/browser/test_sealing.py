"""seal.js in real Chromium: RFC 9180 known answers, byte-identical with Python, opened by the server.

The page flow (a bidder seals and submits in the page, the server opens it) is in
test_sealing_page below; the pure checks need no database.
"""
import functools
import http.server
import json
import os
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding.envelopes import envelope as E

pytestmark = pytest.mark.browser
CHROMIUM = os.environ.get("SUNLIGHT_CHROMIUM", "/usr/bin/chromium")
STATIC = Path(__file__).resolve().parents[2] / "frontend" / "static" / "frontend"
LAUNCH_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def static_server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(STATIC))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(chromium):
    return chromium  # the one shared Playwright instance (tests/conftest.py)


@pytest.fixture
def js_page(browser, static_server):
    page = browser.new_page()
    page.goto(static_server + "/seal.js")  # a same-origin, secure-context (127.0.0.1) document
    page.add_script_tag(url=static_server + "/vendor/hpke.js")  # the maintained HPKE library seal.js uses
    page.add_script_tag(url=static_server + "/seal.js")
    yield page
    page.close()


def test_js_hpke_matches_rfc9180_a1(js_page):
    ct = js_page.evaluate("""async () => {
        const S = window.SunlightSeal;
        const out = await S.hpkeSealBase(S.hex("3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"),
            S.hex("4f6465206f6e2061204772656369616e2055726e"),
            S.hex("4265617574792069732074727574682c20747275746820626561757479"),
            S.hex("436f756e742d30"), S.AEAD_AES_128_GCM,
            S.hex("52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736"));
        return S.toHex(out);
    }""")
    assert ct == ("37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431"
                  "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a")


def test_js_hpke_opens_rfc9180_a1_with_a_non_extractable_key(js_page):
    """The recipient side (a custodian's share at the ceremony) with a key the page cannot export."""
    result = js_page.evaluate("""async () => {
        const S = window.SunlightSeal;
        const pkcs8 = S.hex("302e020100300506032b656e04220420" +
            "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8");
        const skR = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, false, ["deriveBits"]);
        const sealed = S.hex("37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431" +
            "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a");
        const args = [skR, S.hex("3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"),
            S.hex("4f6465206f6e2061204772656369616e2055726e"), sealed, S.hex("436f756e742d30"), S.AEAD_AES_128_GCM];
        const pt = new TextDecoder().decode(await S.hpkeOpenBase(...args));
        sealed[sealed.length - 1] ^= 1;
        let tampered = "opened";
        try { await S.hpkeOpenBase(...args); } catch (e) { tampered = "refused"; }
        return { pt, extractable: skR.extractable, tampered };
    }""")
    assert result == {"pt": "Beauty is truth, truth beauty", "extractable": False, "tampered": "refused"}


def test_js_envelope_is_byte_identical_to_python_and_opens(js_page):
    lot = X25519PrivateKey.generate()
    bidder = Ed25519PrivateKey.generate()
    eph = X25519PrivateKey.generate()
    docs = [E.Document(name="offer.txt", content="技术标 text".encode(), type="text/plain")]
    py = E.seal(lot_public_key=E.x25519_public_bytes(lot), project="P-1", lot="L-2", bidder="B-3",
                price_fen=12345678, terms={"工期": "180天", "b": "x\"y\n"}, documents=docs,
                signing_key=bidder, ephemeral_key=eph).to_json()
    key_file = {"kind": "sunlight-bidder-key/v1", "private": E.ed25519_private_bytes(bidder).hex(),
                "public": E.ed25519_public_bytes(bidder).hex()}
    js = js_page.evaluate("""async (a) => {
        const S = window.SunlightSeal;
        return await S.seal({lotPublicKey: a.lot, project: "P-1", lot: "L-2", bidder: "B-3",
            priceText: "123456.78", terms: {"工期": "180天", "b": "x\\"y\\n"},
            documents: [{name: "offer.txt", type: "text/plain", bytes: new TextEncoder().encode("技术标 text")}],
            signingKey: JSON.stringify(a.key), ephemeralPrivate: a.eph});
    }""", {"lot": E.x25519_public_bytes(lot).hex(), "key": key_file,
           "eph": E.x25519_private_bytes(eph).hex()})
    assert js == py
    # and a normally sealed (random ephemeral) browser envelope opens on the server side
    js2 = js_page.evaluate("""async (a) => window.SunlightSeal.seal({lotPublicKey: a.lot, project: "P-1",
        lot: "L-2", bidder: "B-3", priceText: "99.5", terms: {}, documents: [], signingKey: a.key})""",
                           {"lot": E.x25519_public_bytes(lot).hex(), "key": key_file})
    env, sig = E.parse_transport(js2)
    content = E.open_envelope(envelope=env, private_key=lot, project="P-1", lot="L-2", bidder="B-3",
                              signature=sig, signer_public_key=E.ed25519_public_bytes(bidder))
    assert content.price_fen == 9950


def test_js_refuses_bad_price_and_generates_usable_keys(js_page):
    err = js_page.evaluate("""async () => { try { window.SunlightSeal.parsePrice("1.234"); return "no error"; }
        catch (e) { return e.message; } }""")
    assert "price" in err
    key = js_page.evaluate("async () => window.SunlightSeal.generateKeyFile()")
    from bidding.envelopes.cli import KEY_KIND
    assert key["kind"] == KEY_KIND
    sk = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key["private"]))
    assert E.ed25519_public_bytes(sk).hex() == key["public"]


@pytest.mark.django_db(transaction=True)
def test_sealing_page_bidder_seals_and_submits_server_opens(browser, live_server, world, clock, tmp_path,
                                                            monkeypatch):
    """A bidder seals and submits in the page (real Chromium); the price never travels in clear;
    the server opens the envelope at the opening."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop shares this thread
    from django.test import Client

    from bidding.envelopes import selectors, services
    from bidding.envelopes.models import Envelope
    from tests.envelopes.conftest import PASS, make_tender
    from trading.services import transition_lot

    bidder = world.bidders[0]
    tender = make_tender(world, bidders=[bidder])
    key = tender.keys[bidder.pk]
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps({"kind": "sunlight-bidder-key/v1", "private": E.ed25519_private_bytes(key).hex(),
                                    "public": E.ed25519_public_bytes(key).hex()}))
    doc = tmp_path / "技术标.txt"
    doc.write_text("TECHNICAL-PROPOSAL-IN-THE-BROWSER")
    client = Client()
    client.force_login(bidder)
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    posted = []
    page.on("request", lambda r: posted.append(r.post_data or "") if r.method in ("POST", "PUT") else None)
    page.goto(f"{live_server.url}/envelopes/lots/{tender.lot.pk}/submit/")
    page.fill("#seal-price", "4321.09")
    page.fill("input[data-term='工期']", "90天")
    page.set_input_files("#seal-documents", str(doc))
    page.set_input_files("#seal-key-file", str(key_file))
    page.click("#seal-submit")
    page.wait_for_url("**/envelopes/receipt/**", timeout=20000)
    assert page.locator("#receipt-signature").get_attribute("data-verified") == "true"
    context.close()
    env = Envelope.objects.get(lot=tender.lot, bidder=bidder.organisation)
    assert posted and all("4321" not in p and "TECHNICAL-PROPOSAL" not in p for p in posted)
    clock.move_to(tender.lot.bid_deadline)
    transition_lot(lot=tender.lot, action="close_bidding")
    for name in ("staff", "supervisor"):
        services.present_share(actor=tender.custodians[name], lot=tender.lot, passphrase=PASS[name])
    services.open_bids(actor=world.staff, lot=tender.lot)
    [bid] = selectors.opened_bids(tender.lot)
    assert bid.valid and bid.price_fen == 432109 and bid.terms == {"工期": "90天"}
    assert bid.envelope_digest == env.digest
    assert bid.documents[0]["name"] == "技术标.txt"
