"""Submission, replacement, withdrawal, the deadline boundary and bad input (PostgreSQL)."""
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.models import Event
from bidding.envelopes import envelope as E
from bidding.envelopes import services
from bidding.envelopes.models import CustodyShare, Envelope, OpeningKey
from trading.errors import Conflict, Forbidden, Invalid, NotFound
from trading.services import transition_lot

from .conftest import make_tender

pytestmark = pytest.mark.django_db


def counts():
    return (Envelope.objects.count(), Event.objects.count(),
            tuple(Envelope.objects.order_by("id").values_list("status", flat=True)))


def test_publish_creates_opening_key_split_among_custodians(tender):
    key = tender.opening_key
    assert (key.k, key.n) == (2, 3)
    shares = list(CustodyShare.objects.filter(opening_key=key))
    assert {s.custodian_id for s in shares} == {u.pk for u in tender.custodians.values()}
    event = Event.objects.get(action="opening_key.create")
    assert event.visibility == "public"
    assert bytes(key.public_key).hex() in event.canonical
    # the private key is nowhere: not in the event, not in the sealed shares
    assert all(len(bytes(s.sealed_share)) < 300 for s in shares)


def test_submit_returns_signed_receipt(tender, clock):
    bidder = tender.world.bidders[0]
    env = tender.submit(bidder, 123_456_00)
    assert env.status == "active" and env.digest == E.envelope_digest(bytes(env.ciphertext)).hex()
    assert env.receipt["digest"] == env.digest and env.receipt["received_at"].startswith("2026-03-02")
    assert E.verify_receipt(services.platform_public_key(), env.receipt, bytes.fromhex(env.receipt_signature))
    event = Event.objects.get(pk=env.event_id)
    assert event.action == "envelope.submit" and event.visibility == "sealed"


def test_late_submission_refused_at_the_deadline_boundary(tender, clock):
    bidder = tender.world.bidders[0]
    data = tender.seal(bidder, 100)
    clock.move_to(tender.lot.bid_deadline - dt.timedelta(seconds=1))
    env = services.submit_envelope(actor=bidder, lot=tender.lot, data=data)  # one second early: accepted
    assert env.submitted_at == tender.lot.bid_deadline - dt.timedelta(seconds=1)
    late = tender.world.bidders[1]
    data = tender.seal(late, 100)
    clock.move_to(tender.lot.bid_deadline)
    before = counts()
    with pytest.raises(Conflict, match="too late"):
        services.submit_envelope(actor=late, lot=tender.lot, data=data)
    with pytest.raises(Conflict, match="too late"):
        services.withdraw_envelope(actor=bidder, lot=tender.lot)
    with pytest.raises(Conflict, match="too late"):
        services.replace_envelope(actor=bidder, lot=tender.lot, data=tender.seal(bidder, 200))
    assert counts() == before


def test_replace_and_withdraw_before_deadline(tender, clock):
    bidder = tender.world.bidders[0]
    first = tender.submit(bidder, 100_00)
    with pytest.raises(Conflict, match="replace or withdraw"):
        tender.submit(bidder, 90_00)
    second = services.replace_envelope(actor=bidder, lot=tender.lot, data=tender.seal(bidder, 95_00))
    first.refresh_from_db()
    assert first.status == "replaced" and second.status == "active"
    withdrawn = services.withdraw_envelope(actor=bidder, lot=tender.lot)
    assert withdrawn.pk == second.pk and withdrawn.status == "withdrawn"
    before = counts()
    with pytest.raises(NotFound):
        services.withdraw_envelope(actor=bidder, lot=tender.lot)
    with pytest.raises(NotFound):
        services.replace_envelope(actor=bidder, lot=tender.lot, data=tender.seal(bidder, 1))
    assert counts() == before
    third = tender.submit(bidder, 80_00)  # may bid again before the deadline
    assert third.status == "active"
    assert [e.action for e in Event.objects.filter(action__startswith="envelope.").order_by("id")] == [
        "envelope.submit", "envelope.replace", "envelope.withdraw", "envelope.submit"]


def test_not_secured_bidder_refused(world, clock):
    pytest.importorskip("deposits.services", reason="registration with a security needs the deposits app")
    tender = make_tender(world, security_fen=1_000_00)
    bidder = world.bidders[0]
    data = tender.seal(bidder, 100)
    before = counts()
    with pytest.raises(Forbidden, match="security"):
        services.submit_envelope(actor=bidder, lot=tender.lot, data=data)
    assert counts() == before


def test_unregistered_and_non_bidders_refused(tender, world, clock):
    bidder = world.bidders[0]
    data = tender.seal(bidder, 100)
    from tests import factories
    outsider = factories.make_user("bidder", factories.make_org("bidder"))
    before = counts()
    with pytest.raises(Forbidden):
        services.submit_envelope(actor=world.staff, lot=tender.lot, data=data)
    with pytest.raises(Forbidden, match="not registered"):
        services.submit_envelope(actor=outsider, lot=tender.lot, data=data)
    with pytest.raises(NotFound):
        services.submit_envelope(actor=bidder, lot=999999, data=data)
    assert counts() == before


def _tampered(data):
    env = bytearray(E.b64d(data["envelope"]))
    env[50] ^= 1
    return {**data, "envelope": E.b64e(bytes(env)), "digest": E.envelope_digest(bytes(env)).hex()}


@pytest.mark.parametrize("mutate,match", [
    (lambda d, t, b: {**d, "envelope": "not base64!"}, "base64"),
    (lambda d, t, b: {**d, "envelope": E.b64e(b"garbage")}, "not a Sunlight envelope"),
    (lambda d, t, b: {**d, "signature": (b"\0" * 64).hex()}, "signature does not verify"),
    (lambda d, t, b: {**d, "signature": E.b64e(bytes.fromhex(d["signature"]))},
     "signature: base64 is not accepted; expected 128 lowercase hexadecimal characters"),
    (lambda d, t, b: {**d, "public_key": E.b64e(bytes.fromhex(d["public_key"]))},
     "public_key: base64 is not accepted; expected 64 lowercase hexadecimal characters"),
    (lambda d, t, b: _tampered(d), "signature does not verify"),
    (lambda d, t, b: {**d, "lot": "999"}, "sealed for lot 999"),
    (lambda d, t, b: {**d, "digest": "00" * 32}, "digest does not match"),
    (lambda d, t, b: t.seal(b, 100, signing_key=Ed25519PrivateKey.generate()), "not your registered signing key"),
    (lambda d, t, b: {k: v for k, v in t.seal(b, 100, signing_key=Ed25519PrivateKey.generate()).items()
                      if k != "public_key"}, "signature does not verify"),
    (lambda d, t, b: [1, 2], "JSON object"),
])
def test_bad_envelopes_refused_nothing_changes(tender, clock, mutate, match):
    bidder = tender.world.bidders[0]
    data = mutate(tender.seal(bidder, 100), tender, bidder)
    before = counts()
    with pytest.raises(Invalid, match=match):
        services.submit_envelope(actor=bidder, lot=tender.lot, data=data)
    assert counts() == before


def test_oversize_refused(tender, clock, settings):
    settings.SUNLIGHT_ENVELOPE_MAX_BYTES = 4096
    bidder = tender.world.bidders[0]
    data = tender.seal(bidder, 100, documents=[E.Document(name="big.bin", content=b"x" * 5000)])
    before = counts()
    with pytest.raises(Invalid, match="limit"):
        services.submit_envelope(actor=bidder, lot=tender.lot, data=data)
    assert counts() == before


def test_duplicate_submission_refused(tender, clock):
    a = tender.world.bidders[0]
    data = tender.seal(a, 100)
    services.submit_envelope(actor=a, lot=tender.lot, data=data)
    before = counts()
    with pytest.raises(Conflict, match="already"):
        services.submit_envelope(actor=a, lot=tender.lot, data=data)
    with pytest.raises(Conflict, match="already been submitted"):
        services.replace_envelope(actor=a, lot=tender.lot, data=data)
    assert counts() == before


def test_no_opening_key_without_custodians_then_setup(world, clock):
    tender = make_tender(world, custody=False, bidders=world.bidders[:1])
    assert not OpeningKey.objects.filter(lot=tender.lot).exists()
    with pytest.raises(Invalid, match="no custody key"):
        services.setup_opening_key(actor=world.staff, lot=tender.lot, custodian_ids=[world.staff.pk, world.supervisor.pk])
    services.register_custodian_key(actor=world.staff, passphrase="a-long-passphrase")
    with pytest.raises(Invalid, match="supervisor"):
        services.setup_opening_key(actor=world.staff, lot=tender.lot, custodian_ids=[world.staff.pk])
    services.register_custodian_key(actor=world.supervisor, passphrase="another-passphrase")
    with pytest.raises(Forbidden):
        services.setup_opening_key(actor=world.other_staff, lot=tender.lot)
    key = services.setup_opening_key(actor=world.staff, lot=tender.lot)
    assert (key.k, key.n) == (2, 2)
    with pytest.raises(Conflict, match="already"):
        services.setup_opening_key(actor=world.staff, lot=tender.lot)


def test_custodian_key_rules(world, clock):
    with pytest.raises(Invalid, match="8 characters"):
        services.register_custodian_key(actor=world.staff, passphrase="short")
    with pytest.raises(Forbidden):
        services.register_custodian_key(actor=world.bidders[0], passphrase="long enough pass")
    services.register_custodian_key(actor=world.staff, passphrase="long enough pass")
    with pytest.raises(Conflict):
        services.register_custodian_key(actor=world.staff, passphrase="long enough pass")


def test_merkle_root_recorded_at_deadline(tender, clock):
    envs = [tender.submit(b, 100_00 + i) for i, b in enumerate(tender.world.bidders[:3])]
    clock.move_to(tender.lot.bid_deadline)
    transition_lot(lot=tender.lot, action="close_bidding")
    key = tender.opening_key
    assert key.envelope_count == 3
    assert key.merkle_root == services.envelope_set_root([e.digest for e in envs])
    event = Event.objects.get(action="envelope.seal_set")
    assert event.visibility == "public" and key.merkle_root in event.canonical


def test_envelopes_immutable_in_database(tender, clock):
    from django.db import DatabaseError, transaction
    env = tender.submit(tender.world.bidders[0], 100)
    with pytest.raises(DatabaseError), transaction.atomic():
        Envelope.objects.filter(pk=env.pk).update(ciphertext=b"SLE1" + b"\0" * 100)
    with pytest.raises(DatabaseError), transaction.atomic():
        Envelope.objects.filter(pk=env.pk).delete()


def test_ciphertext_stored_out_of_line_without_compression(tender, clock):
    """Ciphertext does not compress: the column is STORAGE EXTERNAL (migration 0003), so PostgreSQL
    stores it out of line as is, without trying pglz on it."""
    from django.db import connection
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL storage setting")
    env = tender.submit(tender.world.bidders[0], 100, documents=[E.Document(name="a.bin", content=bytes(60_000))])
    with connection.cursor() as cur:
        cur.execute("SELECT attstorage FROM pg_attribute WHERE attrelid = 'envelopes_envelope'::regclass "
                    "AND attname = 'ciphertext'")
        assert cur.fetchone()[0] == "e"
        cur.execute("SELECT pg_column_size(ciphertext), octet_length(ciphertext) FROM envelopes_envelope "
                    "WHERE id = %s", [env.pk])
        stored, length = cur.fetchone()
    assert length == env.size > 60_000 and stored >= length
