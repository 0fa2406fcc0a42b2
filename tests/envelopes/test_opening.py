"""The opening ceremony: k shares open, k-1 refused, wrong share named, art. 31, failed tender."""
import html

import pytest
from django.test import Client
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from django.db import connection

from audit.models import Event
from bidding.envelopes import envelope as E
from bidding.envelopes import selectors, services, shamir
from bidding.envelopes.models import CustodyShare, OpenedBid
from trading.errors import Conflict, Forbidden, Invalid
from trading.models import Notice
from trading.services import transition_lot

from .conftest import PASS, make_tender

pytestmark = pytest.mark.django_db


def close(tender, clock):
    clock.move_to(tender.lot.bid_deadline)
    transition_lot(lot=tender.lot, action="close_bidding")
    tender.lot.refresh_from_db()


def state():
    """Everything a presentation may change (refused presentations are audited apart: custody.share_refused)."""
    return (Event.objects.exclude(action="custody.share_refused").count(), OpenedBid.objects.count(), Notice.objects.count(),
            tuple(CustodyShare.objects.order_by("id").values_list("presented_at", "presented_share")))


def share_text(tender, name):
    """What a custodian's share is (as its own custodian would unwrap it)."""
    user = tender.custodians[name]
    row = CustodyShare.objects.select_related("custodian_key").get(opening_key=tender.opening_key, custodian=user)
    priv = E.unwrap_private_key(bytes(row.custodian_key.wrapped_private_key), PASS[name], label=str(user.pk).encode())
    return E.open_share(bytes(row.sealed_share), priv, context=tender.opening_key.context, custodian=user.pk)


def test_opening_with_k_shares_refused_with_k_minus_one(tender, clock):
    prices = [101_000_00, 99_500_00, 120_000_01, 98_000_00]
    docs = [E.Document(name="技术标.txt", content="施工组织设计".encode(), type="text/plain")]
    for bidder, price in zip(tender.world.bidders, prices):
        tender.submit(bidder, price, documents=docs)
    with pytest.raises(Conflict, match="after the deadline"):
        services.present_share(actor=tender.custodians["staff"], lot=tender.lot, passphrase=PASS["staff"])
    close(tender, clock)
    services.present_share(actor=tender.custodians["staff"], lot=tender.lot, passphrase=PASS["staff"])
    before = state()
    with pytest.raises(Conflict, match="1 of 2 custody shares"):
        services.open_bids(actor=tender.world.staff, lot=tender.lot)
    assert state() == before and tender.lot.status == "bidding_closed"
    assert selectors.opened_bids(tender.lot) == []
    services.present_share(actor=tender.custodians["supervisor"], lot=tender.lot, passphrase=PASS["supervisor"])
    with pytest.raises(Forbidden):
        services.open_bids(actor=tender.world.other_staff, lot=tender.lot)
    bids = services.open_bids(actor=tender.world.staff, lot=tender.lot)
    tender.lot.refresh_from_db()
    assert tender.lot.status == "opened"
    assert sorted(b.price_fen for b in bids) == sorted(prices) and all(b.valid for b in bids)
    # what open_bids returns are the stored rows (bulk-written), usable as saved instances
    stored = {b.pk: b for b in OpenedBid.objects.filter(lot=tender.lot)}
    assert {b.pk for b in bids} == set(stored) and not any(b._state.adding for b in bids)
    for b in bids:
        s = stored[b.pk]
        assert (b, b.price_fen, b.terms, b.bidder_id, bytes(b.content_key)) == \
            (s, s.price_fen, s.terms, s.bidder_id, bytes(s.content_key))
        assert b.envelope.digest == s.envelope.digest and b.documents.count() == 1
    opened = {b.bidder_org_id: b for b in selectors.opened_bids(tender.lot)}
    assert opened[tender.world.bidders[2].organisation_id].price_fen == 120_000_01
    assert opened[tender.world.bidders[0].organisation_id].terms == {"工期": "180天"}
    assert opened[tender.world.bidders[0].organisation_id].documents[0]["name"] == "技术标.txt"
    from bidding.envelopes.models import OpenedDocument
    doc = OpenedDocument.objects.filter(bid__bidder=tender.world.bidder_orgs[1]).get()
    assert selectors.document_content(doc) == "施工组织设计".encode()
    # the shares presented in clear are wiped; the record names who opened it
    assert set(CustodyShare.objects.values_list("presented_share", flat=True)) == {""}
    notice = Notice.objects.get(lot=tender.lot, kind="opening_record")
    assert "120000.01" in notice.body and tender.world.bidder_orgs[2].name in notice.body
    assert len(notice.data["rows"]) == 4
    event = Event.objects.get(action="envelope.open")
    assert event.visibility == "public" and '"valid":4' in event.canonical
    with pytest.raises(Conflict):
        services.open_bids(actor=tender.world.staff, lot=tender.lot)
    assert_replay_equals_live(tender)


def assert_replay_equals_live(tender):
    from frontend.selectors import replay_differences, replayed_state

    assert replayed_state(tender.lot.project)["envelopes"]["lots"][str(tender.lot.pk)]["opening"]
    diffs = [d for d in replay_differences(tender.lot.project) if d.startswith("/envelopes")]
    assert diffs == []


def test_wrong_share_is_named_and_nothing_changes(world, clock):
    tender = make_tender(world)
    other = make_tender(world, custody=False, bidders=[])  # a second lot: keyed at publish, same custodians
    other_key = other.opening_key
    tender.submit(world.bidders[0], 100)
    close(tender, clock)
    clock.move_to(other.lot.bid_deadline)
    transition_lot(lot=other.lot, action="close_bidding")
    staff2 = tender.custodians["staff2"]
    before = state()
    # another custodian's share
    with pytest.raises(Invalid, match=f"wrong share: the share presented by {staff2.username}"):
        services.present_share(actor=staff2, lot=tender.lot, share=share_text(tender, "supervisor"))
    # a corrupted share
    good = shamir.decode_share(share_text(tender, "staff2"))
    bad = shamir.Share(x=good.x, y=good.y ^ 1, k=good.k, context=good.context).encode()
    with pytest.raises(Invalid, match=f"wrong share: the share presented by {staff2.username}"):
        services.present_share(actor=staff2, lot=tender.lot, share=bad)
    # a share for the wrong lot
    other.custodians = tender.custodians
    with pytest.raises(Invalid, match=f"belongs to lot-{other.lot.pk}, not lot-{tender.lot.pk}"):
        services.present_share(actor=staff2, lot=tender.lot, share=share_text(other, "staff2"))
    with pytest.raises(Invalid, match="wrong custody passphrase"):
        services.present_share(actor=staff2, lot=tender.lot, passphrase="not-my-passphrase")
    with pytest.raises(Invalid, match="malformed"):
        services.present_share(actor=staff2, lot=tender.lot, share="hello")
    with pytest.raises(Forbidden, match="not an opening custodian"):
        services.present_share(actor=world.other_staff, lot=tender.lot, passphrase="whatever-pass")
    assert state() == before
    # every refused presentation by a custodian is an audit event of its own, without the share
    refused = list(Event.objects.filter(action="custody.share_refused").order_by("id"))
    assert [e.payload["custodian"] for e in refused] == [staff2.pk] * 5
    assert all(share_text(tender, "supervisor") not in e.canonical and "not-my-passphrase" not in e.canonical
               for e in refused)
    services.present_share(actor=staff2, lot=tender.lot, share=share_text(tender, "staff2"))
    mid = state()
    with pytest.raises(Conflict, match="already presented"):
        services.present_share(actor=staff2, lot=tender.lot, passphrase=PASS["staff2"])
    assert state() == mid
    assert other_key.k == 2


def test_art31_outcomes_and_failed_tender(tender, world, clock):
    a, b, c, d = world.bidders
    tender.submit(a, 100_00)
    tender.submit(b, 200_00)
    # c seals to a wrong key (its own mistake), signed correctly: accepted, cannot be opened -> revoked
    tender.submit(c, 300_00, lot_public_key=E.x25519_public_bytes(X25519PrivateKey.generate()))
    # d's stored envelope is damaged on the platform's side (a DBA bypassing the trigger) -> withdrawn
    env_d = tender.submit(d, 400_00)
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("UPDATE envelopes_envelope SET ciphertext = %s WHERE id = %s",
                    [bytes(env_d.ciphertext)[:-1] + bytes([env_d.ciphertext[-1] ^ 1]), env_d.pk])  # always a change
        cur.execute("SET session_replication_role = origin")
    close(tender, clock)
    for name in ("staff", "staff2"):
        services.present_share(actor=tender.custodians[name], lot=tender.lot, passphrase=PASS[name])
    services.open_bids(actor=world.staff, lot=tender.lot)
    outcome = {bid.bidder_id: bid for bid in OpenedBid.objects.filter(lot=tender.lot)}
    assert outcome[a.organisation_id].outcome == "valid"
    assert outcome[c.organisation_id].outcome == "revoked"
    assert outcome[c.organisation_id].failure_code == "decryption_failed"
    assert "视为撤销" in outcome[c.organisation_id].failure_reason
    assert outcome[d.organisation_id].outcome == "withdrawn"
    assert outcome[d.organisation_id].failure_code == "stored_digest_mismatch"
    assert outcome[c.organisation_id].price_fen is None
    # 2 valid < 3 for an open tender: failed tender (流标) with its notice
    tender.lot.refresh_from_db()
    assert tender.lot.status == "failed"
    assert tender.lot.transitions.filter(action="fail").get().reason.startswith("流标")
    assert Notice.objects.filter(lot=tender.lot, kind="result", data__failed=True).exists()
    record = Notice.objects.get(lot=tender.lot, kind="opening_record")
    assert "revoked" in record.body and "withdrawn" in record.body
    assert [b.valid for b in selectors.opened_bids(tender.lot)].count(True) == 2
    # the ceremony page says each reason by its code, in the page's language (the record's own text stays)
    page = Client()
    page.force_login(world.staff)
    url = f"/envelopes/lots/{tender.lot.pk}/ceremony/"
    zh = page.get(url).content.decode().split('id="opened"', 1)[1]
    assert "投标文件无法用本标段的开标密钥解密" in zh and "视为撤销其投标文件（第三十一条：因投标人原因）" in zh
    assert "存储的投标文件与递交时受理的摘要不再一致" in zh and "视为撤回其投标文件" in zh
    assert "does not decrypt" not in zh and "no longer matches" not in zh
    en = html.unescape(page.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()).split('id="opened"', 1)[1]
    assert "does not decrypt with the lot's opening key" in en and "treated as revoked (art. 31" in en
    assert "treated as withdrawn (art. 31: not the bidder's fault)" in en and "视为" not in en
    assert_replay_equals_live(tender)


def test_every_opening_failure_code_has_its_translated_reason():
    from django.utils import translation

    from bidding.envelopes import messages, outcomes

    faults = {**outcomes.BIDDER_FAULT, **outcomes.PLATFORM_FAULT}
    assert set(messages.OPENING_FAILURE) == set(faults)
    for code, english in faults.items():
        assert str(messages.OPENING_FAILURE[code]) == english  # the record's text and the page's say the same
        with translation.override("zh-hans"):
            said = messages.opening_failure(code)
        assert said != english and "art." not in said and "视为" in said


def test_an_error_midway_through_the_stream_changes_nothing(tender, world, clock, monkeypatch):
    """An unexpected error while the envelopes stream in (COPY in progress) is raised once the
    stream has drained: the opening rolls back whole, the connection stays usable, and the
    opening can be run again."""
    for bidder, price in zip(world.bidders, (100_00, 200_00, 300_00, 400_00)):
        tender.submit(bidder, price)
    close(tender, clock)
    for name in ("staff", "supervisor"):
        services.present_share(actor=tender.custodians[name], lot=tender.lot, passphrase=PASS[name])
    real, calls = services._open_one, []

    def flaky(opener, row, lot):
        calls.append(row[0])
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(opener, row, lot)

    monkeypatch.setattr(services, "_open_one", flaky)
    before = state()
    with pytest.raises(RuntimeError, match="disk on fire"):
        services.open_bids(actor=world.staff, lot=tender.lot)
    assert state() == before and len(calls) == 2  # the rest of the stream was drained, not opened
    tender.lot.refresh_from_db()
    assert tender.lot.status == "bidding_closed"
    monkeypatch.setattr(services, "_open_one", real)
    bids = services.open_bids(actor=world.staff, lot=tender.lot)
    assert sorted(b.price_fen for b in bids) == [100_00, 200_00, 300_00, 400_00]
    assert_replay_equals_live(tender)
