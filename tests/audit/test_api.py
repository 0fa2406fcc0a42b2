"""The audit API: proofs that verify offline, checkpoints, visibility, and clear 4xx for bad input."""
from __future__ import annotations

import hashlib
import json

import base64

import pytest
from django.db import transaction
from rest_framework.test import APIClient

import audit
import sunlight_verify as sv
from audit import sequencer


def b(x):
    return base64.b64decode(x)


@pytest.fixture
def logged(db, clock):
    with transaction.atomic():
        evs = [
            audit.record(action="t.public", subject="s:1", payload={"n": 1}, project_id=7),
            audit.record(action="t.sup", subject="s:2", payload={"who": "secret-ish"}, project_id=7, visibility="supervisors"),
            audit.record(action="t.sealed", subject="s:3", payload={"reserve_fen": 123}, project_id=7, visibility="sealed"),
        ] + [audit.record(action="t.more", subject=f"s:{i}", payload={"i": i}) for i in range(10)]
    sequencer.integrate_all(now=clock.now)
    return evs


def test_public_key_and_checkpoints(logged):
    c = APIClient()
    key = c.get("/api/audit/public-key/").json()["verifier_key"]
    latest = c.get("/api/audit/checkpoints/latest/").json()
    origin, size, root, _ = sv.open_checkpoint(latest["note"], key)
    assert (origin, size, root) == ("sunlight.example/log", latest["size"], b(latest["root"]))
    listed = c.get("/api/audit/checkpoints/").json()["results"]
    assert listed[0]["size"] == size
    assert c.get(f"/api/audit/checkpoints/{size}/").json()["root"] == latest["root"]
    assert c.get("/api/audit/checkpoints/999999/").status_code == 404


def test_inclusion_and_consistency_verify_offline(logged):
    c = APIClient()
    key = c.get("/api/audit/public-key/").json()["verifier_key"]
    cp = c.get("/api/audit/checkpoints/latest/").json()
    _, size, root, _ = sv.open_checkpoint(cp["note"], key)
    for ev in logged:
        r = c.get(f"/api/audit/proofs/inclusion/?event={ev.pk}").json()
        assert r["tree_size"] == size
        # the leaf is the event's header, which commits to the event's exact bytes
        assert json.loads(r["header"])["body"] == hashlib.sha256(sv.canonical_bytes(ev.body)).hexdigest()
        leaf = sv.leaf_hash(r["header"].encode())
        sv.verify_inclusion(r["index"], size, leaf, [b(h) for h in r["proof"]], root)
        by_index = c.get(f"/api/audit/proofs/inclusion/?index={r['index']}&size={size}").json()
        assert by_index["proof"] == r["proof"] and by_index["event"] == ev.pk
    r = c.get(f"/api/audit/proofs/consistency/?first=3&second={size}").json()
    from audit import proofs
    sv.verify_consistency(3, size, [b(h) for h in r["proof"]], proofs.root_at(3), root)


@pytest.mark.parametrize("url,status", [
    ("/api/audit/proofs/inclusion/?index=0&size=0", 400),
    ("/api/audit/proofs/inclusion/?index=99&size=5", 404),
    ("/api/audit/proofs/inclusion/?index=0&size=99999", 404),
    ("/api/audit/proofs/inclusion/?index=-1&size=5", 400),
    ("/api/audit/proofs/inclusion/?index=abc&size=5", 400),
    ("/api/audit/proofs/inclusion/?size=5", 400),
    ("/api/audit/proofs/inclusion/?event=99999999", 404),
    ("/api/audit/proofs/inclusion/?event=1&size=424242", 404),
    ("/api/audit/proofs/consistency/?first=5&second=3", 400),
    ("/api/audit/proofs/consistency/?first=0&second=3", 400),
    ("/api/audit/proofs/consistency/?first=1&second=99999", 404),
    ("/api/audit/proofs/consistency/?first=1&second=999999999999999999", 404),
    ("/api/audit/proofs/inclusion/?index=3&size=999999999999999999", 404),
    ("/api/audit/proofs/consistency/?first=1&second=99999999999999999999999", 400),
    ("/api/audit/events/?limit=0", 400),
])
def test_bad_requests_are_clear_4xx(logged, url, status):
    r = APIClient().get(url)
    assert r.status_code == status, r.content
    assert r.json()["detail"]


def test_event_visibility(logged, world):
    """The whole log lists every event (the non-public ones by leaf hash only, without their project);
    a project's listing holds the events the caller may know of (audit/visibility.py): these are no
    bidder activity, so everybody may know they exist; only supervisors read the supervisors' one, and
    the sealed one stays sealed until the result. Bidder activity: tests/audit/test_visibility.py."""
    c = APIClient()
    rows = {r["id"]: r for r in c.get("/api/audit/events/").json()["results"]}
    pub, sup, sealed = (rows[e.pk] for e in logged[:3])
    assert pub["event"]["payload"] == {"n": 1}
    assert "event" not in sup and "event" not in sealed
    assert b(sup["leaf_hash"]) == logged[1].leaf_hash and sup["index"] is not None
    assert b(sealed["leaf_hash"]) == logged[2].leaf_hash
    by_project = {r["id"]: r for r in c.get("/api/audit/events/?project=7").json()["results"]}
    assert list(by_project) == [e.pk for e in logged[:3]]
    assert [("event" in r) for r in by_project.values()] == [True, False, False]
    c.force_authenticate(world.supervisor)
    rows = {r["id"]: r for r in c.get("/api/audit/events/?project=7").json()["results"]}
    assert rows[logged[1].pk]["event"]["payload"] == {"who": "secret-ish"}
    assert "event" not in rows[logged[2].pk]  # sealed stays sealed until the result, even for supervisors
    c.force_authenticate(world.bidders[0])
    rows = {r["id"]: r for r in c.get("/api/audit/events/?project=7").json()["results"]}
    assert [("event" in r) for r in rows.values()] == [True, False, False]
