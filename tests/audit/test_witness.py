"""Two witnesses as real processes (sunlight-witness, C2SP tlog-witness): they cosign each new
checkpoint, refuse a split view, and the verifier and the checkpoint endpoint accept a checkpoint
only with the policy's quorum of cosignatures."""
from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import transaction
from rest_framework.test import APIClient

import audit
import sunlight_verify as sv
import sunlight_witness
from audit import checkpoint as ck
from audit import proofs, sequencer, witnessing
from audit.log_models import Cosignature
from tests import factories
from trading import services

ROOT = sv.__file__.rsplit("/", 1)[0]


@pytest.fixture
def witness_procs(tmp_path, settings, db):
    """Two witness processes on free ports of 127.0.0.1, each with its own key and state; stopped by PID."""
    procs, configured = [], []
    try:
        for i in (1, 2):
            pem = tmp_path / f"w{i}.pem"
            out = io.StringIO()
            sys_stdout, sys.stdout = sys.stdout, out
            try:
                sunlight_witness.main(["keygen", "--name", f"supervision.example/w{i}", "--key", str(pem)])
            finally:
                sys.stdout = sys_stdout
            proc = subprocess.Popen(
                [sys.executable, "-c", "import sys, sunlight_witness; sys.exit(sunlight_witness.main())", "serve",
                 "--name", f"supervision.example/w{i}", "--key", str(pem), "--state", str(tmp_path / f"w{i}.json"),
                 "--log-key", sequencer.verifier_key(), "--listen", "127.0.0.1:0"],
                stdout=subprocess.PIPE, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ROOT})
            procs.append(proc)
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("listening on "), line
            address, vkey = line.split()[2], line.split()[4]
            assert vkey == out.getvalue().strip()
            configured.append({"name": f"w{i}", "url": f"http://{address}", "vkey": vkey})
        settings.SUNLIGHT_WITNESSES = configured
        settings.SUNLIGHT_WITNESS_QUORUM = 2
        yield configured
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def post(w, body: str):
    req = urllib.request.Request(w["url"] + "/add-checkpoint", data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode(), resp.headers.get("Content-Type")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), err.headers.get("Content-Type")


def latest():
    cp = proofs.latest_checkpoint()
    assert cp is not None
    return cp


def first_cosignature(cp) -> str:
    c = Cosignature.objects.filter(checkpoint=cp).order_by("id").first()
    assert c is not None
    return c.line


def record(n, start=0):
    with transaction.atomic():
        for i in range(start, start + n):
            audit.record(action="test.thing", subject=f"thing:{i}", payload={"i": i})


GONOTE = ROOT + "/tests/audit/gonote"
GOPATH = "/usr/share/gocode"  # Debian's golang-golang-x-mod-dev (the Go module proxy is not reachable here)


def go_verify(tmp_path, note: str, keys: list[str]) -> subprocess.CompletedProcess:
    """Verify a note with Go's golang.org/x/mod/sumdb/note (tests/audit/gonote)."""
    import os
    import shutil

    if shutil.which("go") is None or not os.path.isdir(f"{GOPATH}/src/golang.org/x/mod/sumdb/note"):
        missing = "Go or golang.org/x/mod (Debian golang + golang-golang-x-mod-dev) is not installed"
        if os.environ.get("SUNLIGHT_REQUIRE_GO"):  # scripts/test installs both: CI never skips this check
            pytest.fail(missing)
        pytest.skip(missing)
    binary = tmp_path / "gonote"
    if not binary.exists():
        env = {"PATH": os.environ["PATH"], "GO111MODULE": "off", "GOPATH": GOPATH, "HOME": str(tmp_path),
               "GOCACHE": str(tmp_path / "gocache")}
        subprocess.run(["go", "build", "-o", str(binary), "."], cwd=GONOTE, env=env, check=True, timeout=600)
    return subprocess.run([str(binary), *keys], input=note, capture_output=True, text=True, timeout=60)


def test_cosignatures_verify_with_gos_sumdb_note(witness_procs, clock, tmp_path):
    record(3)
    sequencer.integrate_all()
    assert witnessing.cosign_latest() == 2
    note = witnessing.published_note(latest())
    keys = [sequencer.verifier_key(), *(w["vkey"] for w in witness_procs)]
    ok = go_verify(tmp_path, note, keys)
    assert ok.returncode == 0 and ok.stdout.split() == ["ok", "3", "2"], ok.stdout + ok.stderr
    # one flipped bit in a cosignature: Go refuses it too
    lines = note.split("\n")
    raw = bytearray(base64.b64decode(lines[-2].split()[-1]))
    raw[-1] ^= 1
    lines[-2] = " ".join(lines[-2].split()[:-1] + [base64.b64encode(bytes(raw)).decode()])
    bad = go_verify(tmp_path, "\n".join(lines), keys)
    assert bad.returncode == 1, bad.stdout


def test_two_witnesses_cosign_and_refuse_a_split_view(witness_procs, clock):
    w1, w2 = witness_procs
    policy = sv.parse_policy(witnessing.policy_text())
    record(5)
    sequencer.integrate_all()
    assert witnessing.latest_published() is None  # signed, not yet cosigned: not published
    assert APIClient().get("/api/audit/checkpoints/latest/").status_code == 404
    assert witnessing.cosign_latest() == 2
    cp = latest()
    note = witnessing.published_note(cp)
    assert sv.check_quorum(note, policy) is not None
    record(7, 5)
    sequencer.integrate_all()
    assert witnessing.cosign_latest() == 2  # the second time with a consistency proof from the old size
    cp2 = latest()
    assert cp2.size == 12 and Cosignature.objects.filter(checkpoint=cp2).count() == 2
    got = APIClient().get("/api/audit/checkpoints/latest/").json()
    assert got["size"] == 12 and got["witnessed"] and sv.check_quorum(got["note"], policy)
    assert APIClient().get("/api/audit/policy/").content.decode() == witnessing.policy_text()

    # a split view: another tree of the same size, signed by the real log key, shown to a witness
    forged = ck.sign_checkpoint(ck.Checkpoint(sequencer.origin(), 12, bytes(32)), sequencer.signing_key())
    status, body, ctype = post(w1, f"old 12\n\n{forged}")
    assert (status, body, ctype) == (409, "12\n", "text/x.tlog.size")
    # a bigger forged tree with a proof that does not hold
    bigger = ck.sign_checkpoint(ck.Checkpoint(sequencer.origin(), 20, bytes(32)), sequencer.signing_key())
    proof = proofs.consistency_proof(5, 12)
    status, _, _ = post(w1, "old 12\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + f"\n{bigger}")
    assert status == 422
    # rolling a witness back to an older size, an unknown log, a bad signature, a malformed request
    assert post(w2, f"old 5\n\n{cp.note}")[:2] == (409, "12\n")
    other = ck.sign_checkpoint(ck.Checkpoint("elsewhere.example/log", 3, bytes(32)), Ed25519PrivateKey.generate())
    assert post(w1, f"old 0\n\n{other}")[0] == 404
    stranger = ck.sign_checkpoint(ck.Checkpoint(sequencer.origin(), 30, bytes(32)), Ed25519PrivateKey.generate())
    assert post(w1, f"old 12\n\n{stranger}")[0] == 403
    assert post(w1, f"old 40\n\n{cp2.note}")[0] == 400
    assert post(w1, "nonsense")[0] == 400
    # the witnesses still hold the honest tree and keep cosigning it
    record(2, 12)
    sequencer.integrate_all()
    assert witnessing.cosign_latest() == 2

    # the verifier: the forged checkpoint has no quorum, however well the log key signed it
    with pytest.raises(sv.VerifyError, match="witness quorum"):
        sv.check_quorum(forged, policy)
    one = cp2.note + first_cosignature(cp2)
    with pytest.raises(sv.VerifyError, match="1 of 2 witnesses"):
        sv.check_quorum(one, policy)
    # a cosignature on another tree does not carry over
    moved = forged + first_cosignature(cp2)
    with pytest.raises(sv.VerifyError, match="witness quorum"):
        sv.check_quorum(moved, policy)


def test_archives_verify_with_the_policy_and_a_split_view_archive_is_refused(witness_procs, world, clock, tmp_path):
    project = factories.make_project(world, lots=1)
    services.publish_project(actor=world.staff, project=project)
    clock.advance(days=1)
    services.terminate_project(actor=world.staff, project=project, reason="测试终止")
    out = tmp_path / "a.zip"
    call_command("audit_export", project.code, "--out", str(out), stdout=io.StringIO())
    policy = witnessing.policy_text()
    m = sv.verify_archive(str(out), sequencer.verifier_key(), policy=policy, log=lambda *a: None)
    assert m["verdict"].startswith("closed project")
    assert sv.main([str(out), "--key", sequencer.verifier_key(), "--quiet"]) == 0
    pol = tmp_path / "policy.txt"
    pol.write_text(policy)
    assert sv.main([str(out), "--key", sequencer.verifier_key(), "--policy", str(pol), "--quiet"]) == 0

    # the operator shows this person another tree (a split view): a checkpoint the log key signed,
    # that the witnesses never cosigned (they refuse it), with a manifest re-signed to match
    with zipfile.ZipFile(out) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(files["manifest.json"])
    fake = ck.sign_checkpoint(ck.Checkpoint(sequencer.origin(), manifest["checkpoint"]["size"], bytes(32)),
                              sequencer.signing_key())
    manifest["checkpoint"]["root"] = base64.b64encode(bytes(32)).decode()
    from audit.archive import sign_manifest
    from audit.canonical import canonical_bytes

    raw = canonical_bytes(manifest)
    files.update({"manifest.json": raw, "manifest.sig": sign_manifest(raw).encode(), "checkpoint.txt": fake.encode()})
    bad = tmp_path / "split.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    with pytest.raises(sv.VerifyError, match="witness quorum"):
        sv.verify_archive(str(bad), sequencer.verifier_key(), policy=policy, log=lambda *a: None)
    status, _, _ = post(witness_procs[0], f"old {manifest['checkpoint']['size']}\n\n{fake}")
    assert status == 409  # and the witness refuses to cosign it
