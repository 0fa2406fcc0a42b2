"""Key custody (issue 13): in production no custodian private key reaches the platform; the command-line
tool (a real subprocess) keeps it and decrypts the share at the ceremony; shares are refused before the
deadline; every share presented is an audit event."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from audit.models import Event
from bidding import services as bidding_services
from bidding.envelopes import envelope as E
from bidding.envelopes import services
from bidding.envelopes.models import CustodianKey, CustodyShare, OpeningKey
from tests import factories
from trading.errors import Conflict, Forbidden
from trading.services import transition_lot

pytestmark = pytest.mark.django_db

TOOL = shutil.which("sunlight-custody", path=str(Path(sys.executable).parent)) or "sunlight-custody"


def _tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=120)


def _api(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_production_refuses_passphrase_wrapped_keys(world, settings):
    settings.PRODUCTION = True
    with pytest.raises(Forbidden, match="never holds"):
        services.register_custodian_key(actor=world.staff, passphrase="a long passphrase")
    r = _api(world.staff).post("/api/envelopes/custody-keys/", {"passphrase": "a long passphrase"}, format="json")
    assert r.status_code == 403
    assert not CustodianKey.objects.exists() and not Event.objects.filter(action="custody.key_register").exists()
    # the page offers no passphrase form, only the browser and the command-line tool
    from django.test import Client

    c = Client()
    c.force_login(world.staff)
    html = c.get("/envelopes/custody/").content.decode()
    assert 'name="passphrase"' not in html and "custody-create-browser" in html and "sunlight-custody keygen" in html


def test_demo_wrapped_key_uses_a_memory_hard_kdf():
    # scrypt with N=2^14, r=8: 16 MiB of memory per guess
    assert E._SCRYPT_N * E._SCRYPT_R * 128 >= 16 * 1024 * 1024


def test_ceremony_with_the_command_line_tool(world, clock, settings, tmp_path):
    settings.PRODUCTION = True
    staff2 = factories.make_user("staff", world.centre)
    custodians = {"staff": world.staff, "supervisor": world.supervisor, "staff2": staff2}
    files = {}
    for name, user in custodians.items():
        files[name] = tmp_path / f"{name}.json"
        out = _tool("keygen", "--out", str(files[name]))
        assert out.returncode == 0, out.stderr
        public = out.stdout.strip()
        assert (files[name].stat().st_mode & 0o777) == 0o600
        r = _api(user).post("/api/envelopes/custody-keys/", {"public_key": public}, format="json")
        assert r.status_code == 201, r.content
    assert not CustodianKey.objects.exclude(wrapped_private_key=None).exists()
    project = factories.make_project(world, "engineering", "open_tender", publish=True, security_fen=0)
    lot = project.lots.get()
    key = OpeningKey.objects.get(lot=lot)
    assert key.n == 3
    # a bidder seals and submits
    bidder = world.bidders[0]
    bidding_services.register(actor=bidder, lot=lot, declaration=[{"condition": c, "met": True} for c in lot.eligibility])
    sk = Ed25519PrivateKey.generate()
    bidding_services.register_bidder_key(actor=bidder, public_key_hex=E.ed25519_public_bytes(sk).hex())
    p, lref, org = services.binding(lot, bidder.organisation_id)
    services.submit_envelope(actor=bidder, lot=lot, data=E.seal(
        lot_public_key=bytes(key.public_key), project=p, lot=lref, bidder=org, price_fen=12_345_600,
        terms={"工期": "200天"}, documents=[], signing_key=sk).to_json())
    # before the deadline: the sealed share is not handed out and no share is accepted
    last = Event.objects.order_by("-id")[0].pk
    c = _api(world.staff)
    assert c.get(f"/api/envelopes/lots/{lot.pk}/shares/mine/").status_code == 409
    with pytest.raises(Conflict):
        services.present_share(actor=world.staff, lot=lot, share="early-share-text")
    # the refused presentation is itself an audit event (and carries no share)
    [refused] = Event.objects.filter(id__gt=last)
    assert refused.action == "custody.share_refused" and refused.payload["custodian"] == world.staff.pk
    assert "early-share-text" not in refused.canonical
    assert not CustodyShare.objects.filter(presented_at__isnull=False).exists()
    # after the deadline: each custodian decrypts on its own machine and presents the share
    clock.move_to(lot.bid_deadline)
    transition_lot(lot=lot, action="close_bidding")
    for name in ("staff", "supervisor"):
        user = custodians[name]
        c = _api(user)
        sealed = c.get(f"/api/envelopes/lots/{lot.pk}/shares/mine/")
        assert sealed.status_code == 200, sealed.content
        sealed_file = tmp_path / f"{name}-sealed.json"
        sealed_file.write_text(json.dumps(sealed.json()))
        # someone else's key cannot open it
        other = "staff2" if name != "staff2" else "staff"
        wrong = _tool("open-share", "--key", str(files[other]), "--sealed", str(sealed_file))
        assert wrong.returncode != 0
        out = _tool("open-share", "--key", str(files[name]), "--sealed", str(sealed_file))
        assert out.returncode == 0, out.stderr
        share = out.stdout.strip()
        # the passphrase path does not exist in production
        assert c.post(f"/api/envelopes/lots/{lot.pk}/shares/", {"passphrase": "whatever-pass"},
                      format="json").status_code in (400, 403)
        r = c.post(f"/api/envelopes/lots/{lot.pk}/shares/", {"share": share}, format="json")
        assert r.status_code == 201, r.content
    presented = Event.objects.filter(action="custody.share_present", project_id=project.pk)
    assert sorted(e.payload["custodian"] for e in presented) == sorted([world.staff.pk, world.supervisor.pk])
    assert CustodyShare.objects.filter(opening_key=key, presented_at__isnull=False).count() == 2
    bids = services.open_bids(actor=world.staff, lot=lot)
    assert [b.price_fen for b in bids] == [12_345_600]
