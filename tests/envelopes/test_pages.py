"""The envelope pages render for the right people and refuse the others."""
import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from audit import sequencer
from bidding.envelopes import services
from tests import factories
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
    env = tender.submit(bidder, 831_200_000)
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
    assert resp.status_code == 400 and "保管口令错误".encode() in resp.content  # the page's language (zh-hans)
    assert c.post(f"/envelopes/lots/{lot.pk}/ceremony/share/", {"passphrase": PASS["supervisor"]}).status_code == 302
    services.present_share(actor=tender.custodians["staff"], lot=lot, passphrase=PASS["staff"])
    c.force_login(world.staff)
    assert c.post(f"/envelopes/lots/{lot.pk}/ceremony/open/").status_code == 302
    page = get(world.staff, f"/envelopes/lots/{lot.pk}/ceremony/")
    assert page.status_code == 200 and "开标记录" in page.content.decode()  # the page's language: zh-hans
    # prices in yuan (the `yuan` filter), never raw fen
    opened = page.content.decode().split('id="opened"', 1)[1]
    assert "¥8,312,000.00" in opened
    assert "831200000" not in opened and " fen" not in opened
    assert get(bidder, f"/envelopes/lots/{lot.pk}/follow/").status_code == 200
    api = get(bidder, f"/api/envelopes/lots/{lot.pk}/").json()
    assert api["opened"] is True and api["bids"][0]["price"] == "8312000.00"
    assert get(None, f"/api/envelopes/lots/{lot.pk}/opened/").status_code == 403
    assert get(world.supervisor, f"/api/envelopes/lots/{lot.pk}/opened/").json()[0]["price"] == "8312000.00"


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


class _FormLayout(HTMLParser):
    """The fields of one form (by id) and how they are laid out: for each <p> inside it, the ids of the
    fields in that paragraph and the `for` of its labels."""

    FIELDS = ("input", "textarea", "select")

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.depth, self.form_class = form_id, 0, None
        self.paragraphs, self.loose, self.current = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.depth, self.form_class = 1, attrs.get("class", "")
            return
        if not self.depth:
            return
        if tag == "form":
            self.depth += 1
        elif tag == "p":
            self.current = {"fields": [], "labels": []}
            self.paragraphs.append(self.current)
        elif tag == "label":
            (self.current or {"labels": self.loose})["labels"].append(attrs.get("for"))
        elif tag in self.FIELDS and attrs.get("type") != "hidden":
            (self.current["fields"] if self.current is not None else self.loose).append(attrs.get("id"))

    def handle_endtag(self, tag):
        if self.depth and tag == "form":
            self.depth -= 1
        elif self.depth and tag == "p":
            self.current = None


def _layout(html: bytes, form_id: str) -> _FormLayout:
    parser = _FormLayout(form_id)
    parser.feed(html.decode())
    assert parser.form_class is not None, f"no form #{form_id}"
    return parser


def test_submit_page_form_is_stacked(tender, world):
    """Each field of the sealing form sits in its own paragraph with its own label (form.stack: label above
    the field), instead of all the fields running together on one line."""
    page = get(world.bidders[0], f"/envelopes/lots/{tender.lot.pk}/submit/")
    layout = _layout(page.content, "seal-form")
    assert "stack" in layout.form_class.split()
    assert layout.loose == [], "every field and label belongs in a paragraph of its own"
    fields = [p for p in layout.paragraphs if p["fields"]]
    assert [p["fields"] for p in fields] == [["seal-price"], ["seal-term-duration"], ["seal-term-warranty"],
                                             ["seal-documents"], ["seal-key-file"], ["seal-key-text"]]
    for p in fields:
        assert p["labels"] == p["fields"], p
    # the bid's fields still carry no name: the browser could never post them in clear
    form = page.content.decode().split('id="seal-form"', 1)[1].split("</form>", 1)[0]
    assert re.findall(r'<(?:input|textarea)(?![^>]*type="hidden")[^>]*\sname=', form) == []
    assert 'data-term="工期"' in form and 'data-term="质保期"' in form


def test_custody_and_share_forms_are_stacked(tender, world, clock):
    fresh = factories.make_user("staff", world.centre)  # no custody key yet: the form is shown
    layout = _layout(get(fresh, "/envelopes/custody/").content, "custody-form")
    assert "stack" in layout.form_class.split() and layout.loose == []
    assert [p["fields"] for p in layout.paragraphs if p["fields"]] == [["custody-public-key"], ["custody-passphrase"]]
    clock.move_to(tender.lot.bid_deadline)
    transition_lot(lot=tender.lot, action="close_bidding")
    layout = _layout(get(world.supervisor, f"/envelopes/lots/{tender.lot.pk}/ceremony/").content, "present-form")
    assert "stack" in layout.form_class.split() and layout.loose == []
    assert [p["fields"] for p in layout.paragraphs if p["fields"]] == [["present-passphrase"], ["present-share"]]


def test_receipt_page_shows_audit_log_inclusion(tender, world, clock):
    bidder = world.bidders[0]
    env = tender.submit(bidder, 500_00)
    proof_url = f"/api/envelopes/receipts/{env.digest}/proof/"

    page = get(bidder, f"/envelopes/receipt/{env.digest}/").content.decode()
    assert 'id="receipt-log-status" data-included="false"' in page and "尚未收录" in page
    assert f'href="{proof_url}"' in page
    offline = page.split('id="receipt-verify-offline"', 1)[1].split("</p>", 1)[0]
    assert "sunlight-bid verify-receipt --receipt proof.json --platform-key" in offline
    assert get(bidder, proof_url).status_code == 409  # what the page says: not provable yet

    sequencer.integrate_all(now=clock.now)
    proof = get(bidder, proof_url)
    assert proof.status_code == 200
    inclusion = proof.json()["inclusion"]
    page = get(bidder, f"/envelopes/receipt/{env.digest}/").content.decode()
    assert 'id="receipt-log-status" data-included="true"' in page and "已收录" in page
    assert 'id="receipt-signature" data-verified="true"' in page
    assert f'id="receipt-leaf">{inclusion["index"]}<' in page
    assert f'id="receipt-tree-size">{inclusion["tree_size"]}<' in page
    assert f'href="{proof_url}"' in page
    # another bidder still learns nothing
    assert get(world.bidders[1], f"/envelopes/receipt/{env.digest}/").status_code == 404
