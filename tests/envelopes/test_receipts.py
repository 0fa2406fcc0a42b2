"""Receipts with the audit-log inclusion proof: fetched from the API once the sequencer has
integrated the submission event, verified offline by `sunlight-bid verify-receipt`."""
import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from audit import checkpoint as ck
from audit import sequencer
from audit.log_models import Checkpoint, Leaf
from bidding.envelopes import cli
from bidding.envelopes import receipts, services

pytestmark = pytest.mark.django_db


def api(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


def proof_url(env):
    return f"/api/envelopes/receipts/{env.digest}/proof/"


def run_cli(tmp_path, bundle, *extra, name="r.json"):
    path = tmp_path / name
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    return cli.main(["verify-receipt", "--receipt", str(path),
                     "--platform-key", services.platform_public_key().hex(), *extra])


def test_receipt_proof_after_integration_verifies_offline(tender, clock, tmp_path, capsys):
    bidder = tender.world.bidders[0]
    env = tender.submit(bidder, 123_456_00)
    client = api(bidder)
    assert client.get(f"/api/envelopes/lots/{tender.lot.pk}/envelope/").json()["proof_url"] == proof_url(env)
    # not integrated yet: a clear 409, and asking changes nothing in the log
    before = (Leaf.objects.count(), Checkpoint.objects.count())
    resp = client.get(proof_url(env))
    assert resp.status_code == 409 and "not provable in the audit log yet" in resp.json()["detail"]
    assert (Leaf.objects.count(), Checkpoint.objects.count()) == before

    sequencer.integrate_all(now=clock.now)
    resp = client.get(proof_url(env))
    assert resp.status_code == 200, resp.content
    bundle = resp.json()
    assert bundle["receipt"] == env.receipt and bundle["inclusion"]["event"] == env.event_id
    assert json.loads(bundle["event"])["payload"]["digest"] == env.digest

    # offline: the file as fetched, or the plain receipt plus a separate proof file
    assert run_cli(tmp_path, bundle) == 0
    out = capsys.readouterr().out
    assert "receipt verified" in out and f"leaf {bundle['inclusion']['index']}" in out
    plain = {"receipt": env.receipt, "signature": env.receipt_signature}
    (tmp_path / "p.json").write_text(json.dumps(bundle))
    assert run_cli(tmp_path, plain, "--proof", str(tmp_path / "p.json"), "--log-key", sequencer.verifier_key()) == 0
    result = receipts.verify(bundle, platform_key=services.platform_public_key())
    assert (result.digest, result.event_uid) == (env.digest, env.receipt["event"])

    # later events and checkpoints: the proof follows the latest checkpoint and still verifies;
    # ?size= asks for an earlier signed checkpoint
    first_size = bundle["inclusion"]["tree_size"]
    other = tender.submit(tender.world.bidders[1], 99_00)
    sequencer.integrate_all(now=clock.advance(seconds=5))
    later = client.get(proof_url(env)).json()
    assert later["inclusion"]["tree_size"] > first_size
    assert receipts.verify(later, platform_key=services.platform_public_key()).tree_size == later["inclusion"]["tree_size"]
    pinned = client.get(proof_url(env) + f"?size={first_size}").json()
    assert pinned["inclusion"]["tree_size"] == first_size and run_cli(tmp_path, pinned) == 0
    assert client.get(proof_url(env) + "?size=999999").status_code == 404
    assert client.get(proof_url(env) + "?size=-1").status_code == 400
    # only the bidder's own organisation gets its proof; others do not learn the envelope exists
    assert api(tender.world.bidders[1]).get(proof_url(env)).status_code == 404
    assert api(tender.world.staff).get(proof_url(env)).status_code == 404
    assert api(tender.world.bidders[1]).get(proof_url(other)).status_code == 200
    assert client.get("/api/envelopes/receipts/nothex/proof/").status_code == 404


def test_replaced_envelope_keeps_its_provable_receipt(tender, clock):
    bidder = tender.world.bidders[0]
    first = tender.submit(bidder, 100_00)
    second = services.replace_envelope(actor=bidder, lot=tender.lot, data=tender.seal(bidder, 90_00))
    sequencer.integrate_all(now=clock.now)
    for env in (first, second):
        bundle = api(bidder).get(proof_url(env)).json()
        assert receipts.verify(bundle, platform_key=services.platform_public_key()).digest == env.digest
    assert json.loads(api(bidder).get(proof_url(second)).json()["event"])["action"] == "envelope.replace"


def _tampered(bundle, how):
    b = json.loads(json.dumps(bundle))
    inc = b["inclusion"]
    if how == "event_digest":  # the event says another envelope than the receipt
        body = json.loads(b["event"])
        body["payload"]["digest"] = "0" * 64
        b["event"] = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    elif how == "event_bytes":  # same facts, different bytes: no longer the leaf the log holds
        b["event"] = b["event"] + " "
    elif how == "proof_hash":
        inc["proof"][0] = base64.b64encode(bytes(32)).decode()
    elif how == "index":
        inc["index"] = inc["index"] + 1
    elif how == "checkpoint_root":  # a root the log never signed
        text, sig = inc["checkpoint"].split("\n\n")
        lines = text.split("\n")
        lines[2] = base64.b64encode(bytes(32)).decode()
        inc["checkpoint"] = "\n".join(lines) + "\n\n" + sig
    elif how == "receipt":
        b["receipt"]["digest"] = "1" * 64
    elif how == "event_id":
        inc["event"] = inc["event"] + 1
    return b


@pytest.mark.parametrize("how,match", [
    ("event_digest", "digest"), ("event_bytes", "leaf hash"), ("proof_hash", "inclusion proof"),
    ("index", "inclusion proof"), ("checkpoint_root", "checkpoint"), ("receipt", "platform signature"),
    ("event_id", "event"),
])
def test_tampered_proofs_are_refused(tender, clock, tmp_path, capsys, how, match):
    bidder = tender.world.bidders[0]
    env = tender.submit(bidder, 100_00)
    for i in range(2, 4):  # a few more leaves so the proof has hashes in it
        tender.submit(tender.world.bidders[i - 1], 100_00 + i)
    sequencer.integrate_all(now=clock.now)
    bundle = api(bidder).get(proof_url(env)).json()
    assert bundle["inclusion"]["proof"]
    with pytest.raises(receipts.ReceiptError, match=match):
        receipts.verify(_tampered(bundle, how), platform_key=services.platform_public_key())
    assert run_cli(tmp_path, _tampered(bundle, how)) == 1
    assert "NOT verified" in capsys.readouterr().out


def test_checkpoint_must_be_signed_by_the_log_key(tender, clock, tmp_path):
    env = tender.submit(tender.world.bidders[0], 100_00)
    sequencer.integrate_all(now=clock.now)
    bundle = api(tender.world.bidders[0]).get(proof_url(env)).json()
    stranger = Ed25519PrivateKey.generate()
    wrong_vkey = ck.verifier_key(sequencer.origin(), stranger)
    with pytest.raises(receipts.ReceiptError, match="checkpoint"):
        receipts.verify(bundle, platform_key=services.platform_public_key(), log_key=wrong_vkey)
    assert run_cli(tmp_path, bundle, "--log-key", wrong_vkey) == 1
    # a checkpoint re-signed by a stranger (a forged log head) is refused even with the default key
    cp = ck.parse_checkpoint(bundle["inclusion"]["checkpoint"].split("\n\n")[0] + "\n")
    forged = json.loads(json.dumps(bundle))
    forged["inclusion"]["checkpoint"] = ck.sign_checkpoint(cp, stranger)
    with pytest.raises(receipts.ReceiptError, match="checkpoint"):
        receipts.verify(forged, platform_key=services.platform_public_key())
