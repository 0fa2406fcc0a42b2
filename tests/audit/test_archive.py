"""Archive round trip: export -> standalone verifier; any changed byte or wrong key is rejected."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

import sunlight_verify as sv
from audit import checkpoint as ck
from audit import sequencer
from tests import factories
from trading import services


@pytest.fixture
def project(world, clock, core_only):
    p = factories.make_project(world, lots=2)
    notice = services.publish_project(actor=world.staff, project=p)
    services.attach_document(actor=world.staff, notice=notice, name="招标文件.pdf", content=b"%PDF-1.4 archive")
    lot = p.lots.order_by("number").first()
    clock.move_to(lot.bid_deadline)
    services.transition_lot(lot=lot, action="close_bidding")
    services.terminate_project(actor=world.staff, project=p, reason="测试终止")
    return p


def export(project, tmp_path, name="a.zip"):
    out = tmp_path / name
    call_command("audit_export", project.code, "--out", str(out), stdout=io.StringIO())
    return out


def rewrite(src, dst, member, fn):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            zout.writestr(item.filename, fn(data) if item.filename == member else data)
    return dst


def test_round_trip_with_the_console_script(project, tmp_path):
    out = export(project, tmp_path)
    manifest = sv.verify_archive(str(out), sequencer.verifier_key(), log=lambda *a: None)
    assert manifest["project"]["code"] == project.code
    statuses = {v["status"] for v in manifest["result"]["lots"].values()}
    assert statuses == {"terminated"}
    assert manifest["documents"][0]["name"] == "招标文件.pdf"
    # the standalone verifier runs as its own process, without Django
    proc = subprocess.run([sys.executable, "-c", "import sys, sunlight_verify; sys.exit(sunlight_verify.main())",
                           str(out), "--key", sequencer.verifier_key()], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(sv.__file__).rsplit("/", 1)[0]})
    assert proc.returncode == 0, proc.stderr
    assert "VERIFIED" in proc.stdout
    assert "django" not in open(sv.__file__).read().lower()


def test_every_event_byte_change_is_rejected(project, tmp_path):
    out = export(project, tmp_path)
    with zipfile.ZipFile(out) as zf:
        lines = zf.read("events.jsonl").decode().splitlines()
    # change one value inside the event body of every line in turn
    for n, line in enumerate(lines):
        rec = json.loads(line)
        rec["event"]["subject"] += "x"

        def swap(data, n=n, rec=rec):
            ls = data.decode().splitlines()
            ls[n] = json.dumps(rec, ensure_ascii=False)
            return ("\n".join(ls) + "\n").encode()

        bad = rewrite(out, tmp_path / f"bad{n}.zip", "events.jsonl", swap)
        with pytest.raises(sv.VerifyError, match="NOT in the signed log"):
            sv.verify_archive(str(bad), sequencer.verifier_key(), log=lambda *a: None)


@pytest.mark.parametrize("pos", [0, 0.25, 0.5, 0.75, -2])
def test_raw_byte_flips_are_rejected(project, tmp_path, pos):
    out = export(project, tmp_path)
    with zipfile.ZipFile(out) as zf:
        size = len(zf.read("events.jsonl"))
    at = int(size * pos) if pos >= 0 else size + int(pos)

    def flip(data):
        b = bytearray(data)
        b[at] ^= 0x01
        return bytes(b)

    bad = rewrite(out, tmp_path / "flip.zip", "events.jsonl", flip)
    with pytest.raises(sv.VerifyError):
        sv.verify_archive(str(bad), sequencer.verifier_key(), log=lambda *a: None)


def test_reordered_dropped_or_forged_result_rejected(project, tmp_path):
    out = export(project, tmp_path)
    key = sequencer.verifier_key()
    swap = rewrite(out, tmp_path / "swap.zip", "events.jsonl",
                   lambda d: b"\n".join([d.splitlines()[1], d.splitlines()[0], *d.splitlines()[2:]]) + b"\n")
    drop = rewrite(out, tmp_path / "drop.zip", "events.jsonl", lambda d: b"\n".join(d.splitlines()[:-1]) + b"\n")

    def forge(data):
        m = json.loads(data)
        first = next(iter(m["result"]["lots"]))
        m["result"]["lots"][first]["status"] = "awarded"
        return json.dumps(m).encode()

    forged = rewrite(out, tmp_path / "forged.zip", "manifest.json", forge)
    for bad, msg in [(swap, "out of order"), (drop, "claims"), (forged, "replaying")]:
        with pytest.raises(sv.VerifyError, match=msg):
            sv.verify_archive(str(bad), key, log=lambda *a: None)


def test_wrong_key_and_malformed_archives(project, tmp_path):
    out = export(project, tmp_path)
    other = ck.verifier_key("sunlight.example/log", Ed25519PrivateKey.generate())
    with pytest.raises(sv.VerifyError, match="different key"):
        sv.verify_archive(str(out), other, log=lambda *a: None)
    # the archive's own key swapped for another: signature check fails even without --key
    swapped = rewrite(out, tmp_path / "k.zip", "public_key.txt", lambda d: other.encode())
    with pytest.raises(sv.VerifyError, match="not signed by"):
        sv.verify_archive(str(swapped), None, log=lambda *a: None)
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    for path in (junk, tmp_path / "missing.zip"):
        with pytest.raises(sv.VerifyError, match="cannot open"):
            sv.verify_archive(str(path), None, log=lambda *a: None)
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(sv.VerifyError, match="no manifest"):
        sv.verify_archive(str(empty), None, log=lambda *a: None)
    assert sv.main([str(junk), "--quiet"]) == 1


def test_export_bad_project(db, tmp_path):
    with pytest.raises(CommandError, match="no project"):
        call_command("audit_export", "SL-NOPE", "--out", str(tmp_path / "x.zip"))
    with pytest.raises(CommandError, match="no audit events"):
        call_command("audit_export", "987654", "--out", str(tmp_path / "x.zip"))
