"""The server never sees a bid in clear before the opening: dump the whole database (pg_dump) and
the server's logs (every SQL statement included) and look for the prices and the document text."""
import logging
import os
import re
import shutil
import subprocess

import pytest
from django.db import connection
from django.test import Client

from bidding.envelopes import envelope as E
from bidding.envelopes import services
from trading.services import transition_lot

from .conftest import PASS, make_tender

PRICES = [("987654.32", 98765432), ("123123.45", 12312345), ("555000.07", 55500007)]
SECRETS = ["CONFIDENTIAL-TECHNICAL-PROPOSAL-ZX81", "保密的施工方案XYZ", "WARRANTY-SEVEN-YEARS-QQ"]


def pg_dump() -> str:
    s = connection.settings_dict
    env = dict(os.environ, PGPASSWORD=s.get("PASSWORD") or "")
    out = subprocess.run([shutil.which("pg_dump") or "pg_dump", "-h", s.get("HOST") or "127.0.0.1", "-p",
                          str(s.get("PORT") or 5432), "-U", s.get("USER") or "postgres", "-d", s["NAME"]],
                         capture_output=True, env=env, check=True)
    return out.stdout.decode("utf-8", "replace")


def findings(text: str) -> list[str]:
    text_no_hex = re.sub(r"\\\\?x[0-9a-f]+", "", text)  # bytea hex could hold digits by chance
    found = [s for s in SECRETS if s in text]
    found += [p for p, fen in PRICES if p in text or str(fen) in text_no_hex]
    return found


@pytest.mark.django_db(transaction=True)
def test_database_dump_and_logs_hold_no_bid_before_the_opening(world, clock, caplog):
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump needs PostgreSQL")
    tender = make_tender(world, bidders=world.bidders[:3])
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.db.backends", "django.request", "bidding", "trading", "audit"):
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True  # log every SQL statement with its parameters
    try:
        client = Client()
        for bidder, (_price, fen), secret in zip(world.bidders, PRICES, SECRETS):
            data = tender.seal(bidder, fen, terms={"质保": secret},
                               documents=[E.Document(name="proposal.txt", content=(secret * 50).encode())])
            client.force_login(bidder)
            resp = client.post(f"/api/envelopes/lots/{tender.lot.pk}/envelope/", data=data,
                               content_type="application/json")
            assert resp.status_code == 201, resp.content
            assert not findings(resp.content.decode())
        clock.move_to(tender.lot.bid_deadline)
        transition_lot(lot=tender.lot, action="close_bidding")
        for name in ("staff", "supervisor"):
            services.present_share(actor=tender.custodians[name], lot=tender.lot, passphrase=PASS[name])
        logs_before = caplog.text
        assert "INSERT INTO" in logs_before and "envelopes_envelope" in logs_before  # the logs are real
        dump_before = pg_dump()
        assert "envelopes_envelope" in dump_before
        assert findings(dump_before) == []
        assert findings(logs_before) == []
        # the detector works: after the opening the same dump shows the prices and the texts
        services.open_bids(actor=world.staff, lot=tender.lot)
        assert sorted(findings(pg_dump())) == sorted(SECRETS + [p for p, _ in PRICES])
    finally:
        connection.force_debug_cursor = False
