"""Benchmark: the opening ceremony over N envelopes of 64 KiB (default 10,000; --quick: 500).

Measures, in the same run:
  raw      — SHA-256 + Ed25519-verify + HPKE-decrypt of the same envelopes held in memory (the floor);
  opening  — bidding.envelopes.services.open_bids: read every envelope from PostgreSQL, check digest and
             signature, decrypt, parse and check every document's digest, apply art. 31, store the opened
             bids and documents, record the audit event, publish the opening record (one transaction).
load_average_1m: the machine's load when the run ended (other processes share the CPUs with the
opening's PostgreSQL backend but not with the single-threaded raw loop, so a busy machine raises the ratio).
Goal: opening <= 2x raw.  Needs DATABASE_URL (PostgreSQL); it creates and drops its own database
(test_<name>) with the real migrations (the envelopes' immutability trigger and the ciphertext's
STORAGE EXTERNAL as in production), so it never touches real data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sunlight_envelopes .venv/bin/python bench/opening.py --quick
The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="500 envelopes instead of 10,000")
    parser.add_argument("--envelopes", type=int)
    parser.add_argument("--size", type=int, default=64 * 1024, help="envelope size in bytes")
    args = parser.parse_args()
    n = args.envelopes or (500 if args.quick else 10_000)

    import django
    from django.conf import settings

    django.setup()
    settings.SUNLIGHT_ENVELOPE_MAX_BYTES = max(args.size * 2, 1 << 20)
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        result = run(n, args.size)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print(json.dumps(result))
    return 0


def run(n: int, size: int) -> dict:
    import time_machine
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.utils import timezone

    from bidding.envelopes import envelope as E
    from bidding.envelopes import services
    from bidding.envelopes.models import Envelope
    from bidding.models import BidderKey, Registration
    from tests import factories
    from trading.models import Organisation
    from trading.services import transition_lot

    start = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)
    with time_machine.travel(start, tick=False) as traveller:
        world = factories.make_world(bidders=1)
        for user, pw in ((world.staff, "bench-staff-pass"), (world.supervisor, "bench-super-pass")):
            services.register_custodian_key(actor=user, passphrase=pw)
        project = factories.make_project(world, "engineering", "open_tender", publish=True, security_fen=0)
        lot = project.lots.get()
        public = bytes(lot.opening_key.public_key)
        bidder_user = world.bidders[0]
        now = timezone.now()

        t0 = time.perf_counter()
        orgs = Organisation.objects.bulk_create([
            Organisation(name=f"bench bidder {i}", credit_code=factories.new_credit_code(10**9 + i), kind="bidder")
            for i in range(n)], batch_size=2000)
        keys = [Ed25519PrivateKey.generate() for _ in range(n)]
        Registration.objects.bulk_create([
            Registration(lot=lot, bidder=o, registered_by=bidder_user, declaration=[], created_at=now) for o in orgs],
            batch_size=2000)
        bkeys = BidderKey.objects.bulk_create([
            BidderKey(organisation=o, public_key_hex=E.ed25519_public_bytes(k).hex(), registered_by=bidder_user,
                      created_at=now) for o, k in zip(orgs, keys)], batch_size=2000)
        doc_len = size - 4 - 32 - 16 - 300  # envelope ≈ size bytes
        sealed = []
        batch = []
        for i, (org, key, bkey) in enumerate(zip(orgs, keys, bkeys)):
            p, l, b = services.binding(lot, org.pk)
            s = E.seal(lot_public_key=public, project=p, lot=l, bidder=b, price_fen=100_000 + i,
                       terms={"工期": "180天"}, documents=[E.Document(name="bid.bin", content=os.urandom(doc_len))],
                       signing_key=key)
            sealed.append((s, p, l, b))
            batch.append(Envelope(lot=lot, bidder=org, submitted_by=bidder_user, bidder_key=bkey,
                                  ciphertext=s.envelope, size=len(s.envelope), digest=s.digest.hex(),
                                  signature=s.signature, submitted_at=now, receipt={}, receipt_signature="-",
                                  event_id=0))
            if len(batch) == 500:
                Envelope.objects.bulk_create(batch)
                batch = []
        if batch:
            Envelope.objects.bulk_create(batch)
        setup_s = time.perf_counter() - t0
        envelope_bytes = len(sealed[0][0].envelope)

        traveller.move_to(lot.bid_deadline)
        transition_lot(lot=lot, action="close_bidding")
        services.present_share(actor=world.staff, lot=lot, passphrase="bench-staff-pass")
        services.present_share(actor=world.supervisor, lot=lot, passphrase="bench-super-pass")

        # raw floor: rebuild nothing, just the cryptography on the same envelopes held in memory
        from bidding.envelopes import shamir
        from bidding.envelopes.models import CustodyShare
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        raw_key = X25519PrivateKey.from_private_bytes(shamir.combine_bytes(
            [shamir.decode_share(s.presented_share) for s in CustodyShare.objects.filter(presented_at__isnull=False)]))
        t0 = time.perf_counter()
        for s, p, l, b in sealed:
            digest = E.envelope_digest(s.envelope)
            E.verify_signature(public_key=s.signer_public_key, info=E.binding_info(p, l, b), digest=digest,
                               signature=s.signature)
            E.SUITE.decrypt(s.envelope[4:], raw_key, info=E.binding_info(p, l, b))
        raw_s = time.perf_counter() - t0
        del raw_key, sealed

        t0 = time.perf_counter()
        bids = services.open_bids(actor=world.staff, lot=lot)
        open_s = time.perf_counter() - t0
        assert len(bids) == n and all(b.valid for b in bids)

    ratio = open_s / raw_s
    return {"bench": "opening", "envelopes": n, "envelope_bytes": envelope_bytes, "setup_s": round(setup_s, 2),
            "raw_s": round(raw_s, 3), "opening_s": round(open_s, 3),
            "raw_per_envelope_ms": round(raw_s / n * 1000, 3), "opening_per_envelope_ms": round(open_s / n * 1000, 3),
            "ratio": round(ratio, 2), "load_average_1m": round(os.getloadavg()[0], 2),
            "goals": [{"name": "opening time / raw decrypt+verify time", "value": round(ratio, 2), "target": 2.0,
                       "better": "lower"}]}


if __name__ == "__main__":
    sys.exit(main())
