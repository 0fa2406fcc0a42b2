"""Project archives and `sunlight-verify`, tried as an operator covering something up would.

The operator holds the log key, so most forgeries below are re-signed with the *real* key: what must
still give them away is the log itself (inclusion proofs, leaf headers, the project's sequence tags,
the closing event's count) and the replay of the result. Every tamper class of issue 14 is here and
must be refused with a clear reason; both untouched archives (public and full) verify.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.utils import timezone

import sunlight_verify as sv
from audit import sequencer
from audit import checkpoint as ck
from audit.canonical import canonical_bytes
from audit.models import Event
from bidding.auction import services as S
from tests import factories
from tests.auction.helpers import later, make_auction
from tests.evaluation.conftest import ew  # noqa: F401 (the evaluation world fixture)
from trading import services
from trading.models import Notice

def quiet(*args) -> None:
    pass


def key():
    return sequencer.verifier_key()


@pytest.fixture
def sold(world, clock):
    """A land auction sold to the third bidder and completed, then closed; plus another, terminated project."""
    a = make_auction(world, clock, open_now=True, reserve_fen=100_000_000)
    sequencer.integrate_all()  # an older checkpoint, from before the bids
    notice = Notice.objects.filter(project=a.lot.project).order_by("id")[0]
    services.attach_document(actor=world.staff, notice=notice, name="出让文件.pdf", content=b"%PDF-1.4 land")
    services.attach_document(actor=world.staff, notice=notice, name="底价说明.pdf", content=b"%PDF-1.4 internal",
                             access="registered")
    for i, user in enumerate(world.bidders[:3]):
        clock.advance(seconds=10)
        S.place_bid(auction=a, user=user, amount_fen=a.starting_price_fen + i * a.increment_fen, client_ref=f"r{i}")
    a.refresh_from_db()
    clock.move_to(a.end_at + later(30))
    S.tick()
    lot = a.lot
    lot.refresh_from_db()
    assert lot.status == "awarded"
    services.transition_lot(lot=lot, action="sign_contract", actor=world.staff)
    services.transition_lot(lot=lot, action="complete", actor=world.staff)
    from trading.clock import tick

    tick()  # the clock closes the finished project
    other = factories.make_project(world, lots=1)
    services.publish_project(actor=world.staff, project=other)
    clock.advance(days=1)
    services.terminate_project(actor=world.staff, project=other, reason="测试终止")
    return a.lot.project, other, a


def export(project, tmp_path, kind="public", name=None):
    out = tmp_path / (name or f"{kind}-{project.pk}.zip")
    call_command("audit_export", project.code, "--out", str(out), "--kind", kind, stdout=io.StringIO())
    return out


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write(path, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def forge(src, dst, *, manifest=None, lines=None, files=None, signer="log"):
    """Rewrite an archive: change the manifest and/or the event lines, then re-sign the manifest
    (with the real log key: the operator; with another key; or not at all)."""
    f = members(src)
    m = json.loads(f["manifest.json"])
    recs = [json.loads(x) for x in f["events.jsonl"].decode().splitlines()]
    if lines is not None:
        recs = lines(recs)
        m["events"] = [r["index"] for r in recs]
    if manifest is not None:
        manifest(m)
    raw = canonical_bytes(m)
    f["manifest.json"] = raw
    f["events.jsonl"] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs).encode()
    text = f"{sv.FORMAT}\n{m['origin']}\n{hashlib.sha256(raw).hexdigest()}\n"
    if signer == "log":
        f["manifest.sig"] = ck.sign_note(text, m["origin"], sequencer.signing_key()).encode()
    elif signer == "attacker":
        f["manifest.sig"] = ck.sign_note(text, m["origin"], Ed25519PrivateKey.generate()).encode()
    if files:
        f.update(files)
    return write(dst, f)


def refused(path, match, trusted: str | None = "", **kw):
    with pytest.raises(sv.VerifyError, match=match):
        sv.verify_archive(str(path), key() if trusted == "" else trusted, **kw, log=quiet)


# ------------------------------------------------------------------------------- untouched

def test_both_untouched_archives_verify_and_the_public_one_hides_secret_bodies(sold, world, tmp_path):
    project, _, auction = sold
    pub, full = export(project, tmp_path), export(project, tmp_path, "full")
    m = sv.verify_archive(str(pub), key(), log=quiet)
    assert m["verdict"].startswith(f"closed project {project.code}: all ")
    lot = m["result"]["lots"][str(auction.lot_id)]
    assert lot["status"] == "complete" and lot["auction"]["outcome"] == "deal"
    assert lot["auction"]["price_fen"] == auction.starting_price_fen + 2 * auction.increment_fen
    assert lot["award"] == {"bidder": world.bidder_orgs[2].pk, "price_fen": lot["auction"]["price_fen"]}
    mf = sv.verify_archive(str(full), key(), log=quiet)
    assert mf["result"] == m["result"] and mf["withheld"] == []
    sealed = set(Event.objects.filter(project_id=project.pk).exclude(visibility="public").values_list("uid", flat=True))
    assert sealed and len(m["withheld"]) == len(sealed)
    text = members(pub)["events.jsonl"].decode()
    assert not any(uid in text for uid in sealed)  # no sealed body, not even its id, in the public archive
    assert all(uid in members(full)["events.jsonl"].decode() for uid in sealed)
    # the public archive ships public documents only, the full one all of them, each matching its hash
    assert sum(n.startswith("documents/") for n in members(pub)) == 1
    assert sum(n.startswith("documents/") for n in members(full)) == 2
    # the fingerprint route, and the console script as its own process without Django
    assert sv.verify_archive(str(pub), None, key_fingerprint=sv.fingerprint(key()), log=quiet)
    proc = subprocess.run([sys.executable, "-c", "import sys, sunlight_verify; sys.exit(sunlight_verify.main())",
                           str(pub), "--key", key()], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(sv.__file__).rsplit("/", 1)[0]})
    assert proc.returncode == 0, proc.stderr
    assert "VERIFIED: closed project" in proc.stdout
    assert "django" not in open(sv.__file__).read().lower()


def test_the_closing_event_commits_to_the_count_and_reveals_the_key(sold):
    project, _, _ = sold
    sequencer.integrate_all()
    bodies = [e.body for e in Event.objects.filter(project_id=project.pk).order_by("leaf__index")]
    close = [b for b in bodies if b["action"] == "project.close"]
    assert len(close) == 1 and bodies[-1]["action"] == "project.close"
    key_hex = close[0]["payload"]["tag_key"]
    from audit.log_models import Leaf

    headers = [json.loads(h or "") for h in Leaf.objects.filter(event__project_id=project.pk).order_by("index")
               .values_list("header", flat=True)]
    assert [h["tag"] for h in headers] == [sv.project_tag(bytes.fromhex(key_hex), n) for n in range(1, len(bodies) + 1)]
    assert headers[-1]["count"] == len(bodies) and all("count" not in h for h in headers[:-1])


# ------------------------------------------------------------------------------ the drill

def _drop(pred):
    return lambda recs: [r for r in recs if not pred(r)]


def _action(r):
    return (r.get("event") or {}).get("action")


CASES: dict[str, tuple[dict, str]] = {
    # the manifest is signed: changing anything in it without the key is refused
    "count fixed after deleting an event (no key)": (
        dict(lines=lambda r: r[:3] + r[4:], signer=None), "changed after the log key signed it"),
    "title changed (no key)": (
        dict(manifest=lambda m: m["project"].update(title="别的项目"), signer=None), "changed after"),
    "manifest re-signed by another key": (
        dict(manifest=lambda m: m["project"].update(title="别的项目"), signer="attacker"), "manifest signature"),
    # the operator re-signs: the log itself must give it away
    "title changed (operator)": (dict(manifest=lambda m: m["project"].update(title="别的项目")), "project .id, code, title"),
    "project id changed (operator)": (dict(manifest=lambda m: m["project"].update(id=m["project"]["id"] + 1)), "belongs to project"),
    "an event deleted from the middle (operator)": (dict(lines=lambda r: r[:5] + r[6:]), "is not event 6 of project"),
    "the winning bid deleted (operator)": (
        dict(lines=lambda r: [x for x in r if not (_action(x) == "auction.bid" and x["event"]["payload"]["n"] == 3)]),
        "is not event"),
    "the closing events cut, claiming an earlier result (operator)": (
        dict(lines=lambda r: [x for x in r if _action(x) not in ("project.close",) and not
                              (_action(x) == "lot.transition" and x["event"]["payload"]["to"] in ("contracted", "complete"))],
             manifest=lambda m: m.update(final_count=None)),
        "is not event|closing event is missing"),
    "cut before the end and called in progress (operator)": (
        dict(lines=lambda r: r[:-1], manifest=lambda m: m.update(status="in-progress", final_count=None, result=None)),
        "NOT closed"),
    "events reordered (operator)": (dict(lines=lambda r: [r[1], r[0], *r[2:]]), "is not event 1"),
    "events reordered in the file only": (dict(lines=lambda r: [r[1], r[0], *r[2:]], signer=None), "changed after"),
    "another key revealed (operator)": (dict(manifest=lambda m: m.update(tag_key="00" * 32)), "is not event 1"),
    "forged result (operator)": (
        dict(manifest=lambda m: [lot.update(status="failed") for lot in m["result"]["lots"].values()]), "replaying"),
    "forged auction price (operator)": (
        dict(manifest=lambda m: [lot["auction"].update(price_fen=1) for lot in m["result"]["lots"].values()
                                 if lot["auction"]]), "replaying"),
    "a public body withheld (operator)": (
        dict(lines=lambda r: [{k: v for k, v in x.items() if k != "event"} if _action(x) == "auction.bid" else x
                              for x in r],
             manifest=lambda m: None), "public but its body is withheld"),
    "documents list changed (operator)": (
        dict(manifest=lambda m: m["documents"][0].update(sha256="0" * 64)), "documents are not those"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tamper_drill_is_refused(sold, tmp_path, case):
    project, _, _ = sold
    pub = export(project, tmp_path)
    how, match = CASES[case]
    bad = forge(pub, tmp_path / "bad.zip", **how)
    refused(bad, match)


def test_another_projects_events_swapped_in_with_their_real_proofs(sold, tmp_path):
    project, other, _ = sold
    pub, theirs = export(project, tmp_path), export(other, tmp_path)
    foreign = [json.loads(x) for x in members(theirs)["events.jsonl"].decode().splitlines()]
    # their events are really in the log (same checkpoint), and the operator signs a manifest listing them
    bad = forge(pub, tmp_path / "swap.zip",
                lines=lambda r: sorted([*r[:-3], *foreign[:3]], key=lambda x: x["index"]))
    refused(bad, "is not event|belongs to project")


def test_changed_bytes_documents_headers_and_checkpoints(sold, tmp_path):
    project, other, _ = sold
    pub = export(project, tmp_path)
    f = members(pub)
    doc = next(n for n in f if n.startswith("documents/"))
    refused(write(tmp_path / "doc.zip", {**f, doc: b"%PDF-1.4 changed"}), "does not match the hash")
    nodoc = {k: v for k, v in f.items() if k != doc}
    refused(write(tmp_path / "nodoc.zip", nodoc), "has no documents/")

    def body_changed(recs):
        recs[2]["event"]["subject"] += "x"
        return recs

    refused(forge(pub, tmp_path / "body.zip", lines=body_changed), "body does not match its hash")

    def header_changed(recs):
        recs[2]["header"] = recs[2]["header"].replace('"vis":"public"', '"vis":"sealed"')
        return recs

    refused(forge(pub, tmp_path / "header.zip", lines=header_changed), "NOT in the signed log")
    # a rollback: an older signed checkpoint put in the archive
    from audit.log_models import Checkpoint

    older = Checkpoint.objects.order_by("size")[0]
    refused(write(tmp_path / "old.zip", {**f, "checkpoint.txt": older.note.encode()}), "another checkpoint")
    # a forged tree signed by an attacker's key claiming the platform's name
    text = ck.Checkpoint(sequencer.origin(), 10**6, bytes(32)).body()
    fake = ck.sign_note(text, sequencer.origin(), Ed25519PrivateKey.generate())
    refused(write(tmp_path / "fake.zip", {**f, "checkpoint.txt": fake.encode()}), "not signed by the trusted key")
    for pos in (0.1, 0.5, 0.9):
        data = bytearray(f["events.jsonl"])
        data[int(len(data) * pos)] ^= 0x01
        with pytest.raises(sv.VerifyError):
            sv.verify_archive(str(write(tmp_path / "flip.zip", {**f, "events.jsonl": bytes(data)})), key(), log=quiet)


def test_no_trusted_key_wrong_key_or_fingerprint_is_refused(sold, tmp_path):
    project, _, _ = sold
    pub = export(project, tmp_path)
    refused(pub, "give the log key you trust", trusted=None)
    other = ck.verifier_key(sequencer.origin(), Ed25519PrivateKey.generate())
    refused(pub, "not signed by the trusted key", trusted=other)
    refused(pub, "fingerprint", trusted=None, key_fingerprint="ab" * 32)
    # the archive's own key swapped for an attacker's, with its fingerprint: still not the one you trust
    f = members(pub)
    refused(write(tmp_path / "k.zip", {**f, "public_key.txt": other.encode()}), "fingerprint", trusted=None,
            key_fingerprint=sv.fingerprint(key()))
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    for path in (junk, tmp_path / "missing.zip"):
        refused(path, "cannot open")
    assert sv.main([str(junk), "--quiet", "--key", key()]) == 1
    assert sv.main([str(pub), "--quiet"]) == 1


def test_a_running_project_verifies_only_in_progress_and_claims_no_result(world, clock, tmp_path):
    project = factories.make_project(world, lots=1)
    services.publish_project(actor=world.staff, project=project)
    lot = project.lots.get()
    sequencer.integrate_all()
    before = members(export(project, tmp_path, name="before.zip"))
    from bidding import services as registration

    registration.register(actor=world.bidders[0], lot=lot, declaration=[{"condition": c, "met": True}
                                                                        for c in lot.eligibility])
    assert Event.objects.filter(project_id=project.pk).exclude(visibility="public").exists()
    pub = export(project, tmp_path)
    # before the deadline a registration changes nothing in the public archive but the checkpoint
    assert json.loads(members(pub)["manifest.json"])["events"] == json.loads(before["manifest.json"])["events"]
    def facts(files):
        return [{k: v for k, v in json.loads(x).items() if k != "proof"} for x in files["events.jsonl"].splitlines()]

    assert facts(members(pub)) == facts(before)
    with pytest.raises(CommandError, match="full archive exists only once the deadlines have passed"):
        export(project, tmp_path, "full")
    refused(pub, "not revealed yet")  # before the deadline: nobody may learn how many events it has
    m = sv.verify_archive(str(pub), key(), in_progress=True, log=quiet)
    assert "in progress as of" in m["verdict"] and m["result"] is None and m["tag_key"] is None
    clock.move_to(project.lots.get().bid_deadline + later(60))
    after = export(project, tmp_path, name="after.zip")
    refused(after, "NOT closed")
    m = sv.verify_archive(str(after), key(), in_progress=True, log=quiet)
    assert m["tag_key"] and "in progress as of" in m["verdict"] and m["withheld"]  # the registration, as a hash
    assert sv.verify_archive(str(export(project, tmp_path, "full")), key(), in_progress=True, log=quiet)["withheld"] == []
    # the operator claiming a result for a running project
    refused(forge(after, tmp_path / "r.zip", manifest=lambda m: m.update(result={"lots": {}})), "claims a result",
            in_progress=True)


def test_export_refuses_unknown_projects(db, tmp_path):
    with pytest.raises(CommandError, match="no project"):
        call_command("audit_export", "SL-NOPE", "--out", str(tmp_path / "x.zip"))
    with pytest.raises(CommandError, match="no audit events"):
        call_command("audit_export", "987654", "--out", str(tmp_path / "x.zip"))
    with pytest.raises(CommandError):
        call_command("audit_export", "987654", "--out", str(tmp_path / "x.zip"), "--kind", "secret")
    assert timezone.now()


def test_public_archive_from_the_five_openness_page_and_full_archive_for_supervisors(sold, world, tmp_path):
    from django.test import Client

    project, _, _ = sold
    anon = Client()
    page = anon.get(f"/projects/{project.code}/disclosure/")
    assert page.status_code == 200 and f"/projects/{project.code}/archive.zip" in page.content.decode()
    got = anon.get(f"/projects/{project.code}/archive.zip")
    assert got.status_code == 200 and got["Content-Type"] == "application/zip"
    path = tmp_path / "downloaded.zip"
    path.write_bytes(got.content)
    assert sv.verify_archive(str(path), key(), log=quiet)["kind"] == "public"
    assert sv.fingerprint(key()) in anon.get("/audit/public-key/").content.decode()
    assert anon.get(f"/supervise/audit/{project.code}/archive.zip").status_code in (302, 403)
    bidder = Client()
    bidder.force_login(world.bidders[0])
    assert bidder.get(f"/supervise/audit/{project.code}/archive.zip").status_code in (403, 404)
    sup = Client()
    sup.force_login(world.supervisor)
    full = sup.get(f"/supervise/audit/{project.code}/archive.zip")
    assert full.status_code == 200
    path.write_bytes(full.content)
    assert sv.verify_archive(str(path), key(), log=quiet)["kind"] == "full"
    assert anon.get("/projects/SL-NOPE/archive.zip").status_code == 404


def test_a_tender_with_candidates_an_objection_and_an_award(ew, clock, tmp_path):  # noqa: F811
    """A tender through sealed bids, evaluation, candidates publicised, an objection answered and the
    award, then terminated (closed): the verifier replays candidates and award from the public events;
    an archive with the objection deleted is refused."""
    from bidding.evaluation import services as ev
    from tests.evaluation.test_award import to_publicity
    from trading.challenges import services as cases

    world = ew.world
    lot = to_publicity(ew, clock, [1_000_000, 900_000, 950_000])
    obj = cases.file_case(actor=world.bidders[0], kind="candidate_objection", lot=lot, subject="资格证书",
                          text="资格证书已过期 certificate expired")
    clock.advance(days=1)
    cases.answer_case(actor=world.staff, case=obj, outcome="dismissed", answer="证书有效 valid until 2027")
    clock.advance(days=3, minutes=1)
    award = ev.award_lot(actor=world.staff, lot=lot)
    services.terminate_project(actor=world.staff, project=lot.project, reason="测试终止")
    pub = export(lot.project, tmp_path)
    m = sv.verify_archive(str(pub), key(), log=quiet)
    entry = m["result"]["lots"][str(lot.pk)]
    assert entry["status"] == "terminated"
    assert entry["award"] == {"bidder": award.bidder_id, "price_fen": award.candidate.price_fen}
    assert [c[1] for c in entry["candidates"]] == [world.bidder_orgs[1].pk, world.bidder_orgs[2].pk,
                                                   world.bidder_orgs[0].pk][:len(entry["candidates"])]
    full = export(lot.project, tmp_path, "full")
    assert sv.verify_archive(str(full), key(), log=quiet)["result"] == m["result"]
    # the objection deleted from the history (the operator re-signs): refused
    bad = forge(full, tmp_path / "noobj.zip",
                lines=lambda r: [x for x in r if (x.get("event") or {}).get("action") != "case.file"])
    assert len(json.loads(members(bad)["manifest.json"])["events"]) < len(m["events"])
    refused(bad, "is not event")


@pytest.mark.django_db(transaction=True)
def test_against_the_current_log_it_reports_staleness_and_catches_a_rewrite(live_server, tmp_path):
    world = factories.make_world(bidders=1)
    project = factories.make_project(world, lots=1)
    services.publish_project(actor=world.staff, project=project)
    services.terminate_project(actor=world.staff, project=project, reason="测试终止")
    pub = export(project, tmp_path)
    services.publish_project(actor=world.staff, project=factories.make_project(world, lots=1))  # the log grows
    sequencer.integrate_all()
    said: list[str] = []
    sv.verify_archive(str(pub), key(), log_url=live_server.url, log=lambda *a: said.append(" ".join(map(str, a))))
    assert any("consistent with the current log" in s and "entries behind" in s for s in said), said
    # an archive whose checkpoint the current log does not extend (a rewritten history, re-signed)
    f = members(pub)
    m = json.loads(f["manifest.json"])
    fake = ck.sign_checkpoint(ck.Checkpoint(sequencer.origin(), m["checkpoint"]["size"], bytes(32)),
                              sequencer.signing_key())
    m["checkpoint"]["root"] = base64.b64encode(bytes(32)).decode()
    from audit.archive import sign_manifest

    raw = canonical_bytes(m)
    bad = write(tmp_path / "rewritten.zip", {**f, "manifest.json": raw, "manifest.sig": sign_manifest(raw).encode(),
                                             "checkpoint.txt": fake.encode()})
    with pytest.raises(sv.VerifyError, match="NOT in the signed log|NOT consistent"):
        sv.verify_archive(str(bad), key(), log_url=live_server.url, log=quiet)
