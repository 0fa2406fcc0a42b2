"""Audit log benchmark. Each figure is printed beside a baseline measured in the same run.

    .venv/bin/python bench/audit.py [--quick] [--events N] [--archive-events N]

Uses its own PostgreSQL database (``sunlight_audit_bench`` on the DATABASE_URL server, dropped and
migrated afresh: events are append-only, so the bench can't clean up after itself otherwise).

(a) a real business service (publish_notice) with its audit append vs with audit.record stubbed — goal: the append adds <= 20 %;
(b) integrating N events (1,000,000) into the tree — goal <= 60 s; baseline: hashing the same
    leaves in memory with no database;
(c) inclusion and consistency proof latency from the database at N events — goal <= 5 ms each;
    baseline: one primary-key lookup;
(d) export of a closed project of 1,000 events (signed manifest, proofs, public archive) — goal <= 1 s;
    sunlight-verify of it — goal <= 1 s; baseline: just reading and parsing the archive;
(e) two witnesses (sunlight-witness processes on 127.0.0.1) cosigning a new checkpoint — goal
    <= 100 ms after it is signed; baseline: one HTTP round trip to a witness.
Last line: one JSON object. The machine is shared: run with --quick and read figures beside their baselines.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH_DB = "sunlight_audit_bench"


def setup_django() -> None:
    from bench.common import setup_django_on

    setup_django_on(BENCH_DB)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


# ------------------------------------------------------------------------------ (a)

def bench_business(rounds: int) -> dict:
    """A real business service (publish a clarification notice: lock the project, number the notice,
    insert it) run as is, and with ``audit.record`` replaced by a stub — same code otherwise."""
    import types

    import audit
    from tests import factories
    from trading import services

    world = factories.make_world(bidders=1)
    project = factories.make_project(world, publish=True)
    real = audit.record
    fake = types.SimpleNamespace(pk=0)

    def business(with_audit: bool) -> None:
        audit.record = real if with_audit else (lambda **kw: fake)
        try:
            services.publish_notice(actor=world.staff, project=project, kind="clarification", title="澄清",
                                    body="bench clarification")
        finally:
            audit.record = real

    for flag in (False, True) * 20:  # warm up
        business(flag)
    plain: list[float] = []
    audited: list[float] = []
    for i in range(rounds):  # interleaved so both see the same machine state
        for flag, bucket in ((False, plain), (True, audited)) if i % 2 else ((True, audited), (False, plain)):
            t = time.perf_counter()
            business(flag)
            bucket.append(time.perf_counter() - t)
    p, a = statistics.median(plain), statistics.median(audited)
    return {"business_tx_ms": ms(p), "business_tx_with_audit_ms": ms(a), "audit_overhead_pct": round((a - p) / p * 100, 1)}


# ------------------------------------------------------------------------------ (b)

def insert_events(n: int, project_every: int, project_id: int) -> float:
    """Load n events straight into audit_event (what audit.record would have written), by COPY."""
    from django.db import connection

    from audit import sequencer
    from audit.canonical import canonical_bytes

    t = time.perf_counter()
    chunk = 100_000
    for start in range(0, n, chunk):
        lines = []
        for i in range(start, min(n, start + chunk)):
            uid = uuid.uuid4().hex
            proj = project_id if i % project_every == 0 else None
            at = f"2026-03-02T01:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d}.{i % 1000:03d}000Z"
            action, payload = "bench.thing", {"i": i, "note": "招标 bench event"}
            if proj is not None:  # a project's events are notices (replay claims every event of a project)
                action, payload = "notice.publish", {"number": f"SL-BENCH-1-CQ{i}", "kind": "clarification",
                                                     "title": "澄清", "body": "bench", "lot": None, "amends": None,
                                                     "data": {}, "published_at": at}
            if proj is not None and i == 0:  # the project's first event names it
                action, payload = "project.create", {"id": proj, "code": "SL-BENCH-1", "title": "基准项目", "lots": []}
            elif proj is not None and i + project_every >= n:  # and its last one closes it
                action, payload = "project.close", {"project": proj, "lots": {},
                                                    "tag_key": sequencer.project_tag_key(proj).hex()}
            body = {"v": 1, "uid": uid, "at": at, "action": action, "subject": f"thing:{i}", "project": proj,
                    "actor": {"id": None, "label": "system", "role": "system", "org": None}, "visibility": "public",
                    "payload": payload}
            text = canonical_bytes(body).decode().replace("\\", "\\\\")
            lines.append(f"{uid}\t{at}\t{action}\tthing:{i}\t{proj if proj is not None else chr(92) + 'N'}\t\\N\tsystem\tsystem\tpublic\t{text}\n")
        with connection.cursor() as cur:
            cur.copy_expert("COPY audit_event (uid, created_at, action, subject, project_id, actor_id, actor_label, "
                            "actor_role, visibility, canonical) FROM STDIN", io.StringIO("".join(lines)))
    return time.perf_counter() - t


def bench_integrate(n: int) -> dict:
    from django.db import connection

    from audit import merkle, sequencer

    from audit import leaf as lf

    with connection.cursor() as cur:
        cur.execute("SELECT canonical, project_id, visibility, action FROM audit_event ORDER BY id")
        texts = cur.fetchall()
    t = time.perf_counter()
    cr = merkle.CompactRange()
    seq: dict[int, int] = {}
    keys: dict[int, bytes] = {}
    for text, project, vis, action in texts:  # the same leaf headers, computed in memory only
        tag = None
        if project is not None:
            seq[project] = n = seq.get(project, 0) + 1
            key = keys.get(project) or keys.setdefault(project, sequencer.project_tag_key(project))
            tag = lf.tag(key, n)
        head = lf.header(canonical=text.encode(), visibility=vis, tag_hex=tag,
                         count=seq.get(project) if action == lf.CLOSE_ACTION else None)
        cr.append(merkle.leaf_hash(head))
    baseline = time.perf_counter() - t
    memory_root = cr.root()
    del texts
    t = time.perf_counter()
    res = sequencer.integrate_all(limit=100_000)
    took = time.perf_counter() - t
    assert res.checkpoint is not None, "integrating the events signs a checkpoint"
    assert res.size == cr.size and bytes(res.checkpoint.root) == memory_root, "database tree differs from memory tree"
    return {"integrate_s": round(took, 2), "integrate_memory_only_s": round(baseline, 2),
            "integrate_events_per_s": round(res.size / took)}


# ------------------------------------------------------------------------------ (c)

def bench_proofs(n: int, samples: int) -> dict:
    from django.db import connection

    from audit import proofs

    rnd = random.Random(7)
    incl, cons, base = [], [], []
    latest = proofs.latest_checkpoint()
    assert latest is not None, "the events were integrated and signed"
    size = latest.size
    for _ in range(samples):
        i = rnd.randrange(size)
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute('SELECT hash FROM audit_leaf WHERE "index" = %s', [i])
            cur.fetchone()
        base.append(time.perf_counter() - t)
        t = time.perf_counter()
        proofs.inclusion_proof(i, size)
        incl.append(time.perf_counter() - t)
        first = rnd.randrange(1, size + 1)
        t = time.perf_counter()
        proofs.consistency_proof(first, size)
        cons.append(time.perf_counter() - t)

    def p95(xs):
        return sorted(xs)[int(len(xs) * 0.95) - 1]

    return {"inclusion_proof_ms_median": ms(statistics.median(incl)), "inclusion_proof_ms_p95": ms(p95(incl)),
            "consistency_proof_ms_median": ms(statistics.median(cons)), "consistency_proof_ms_p95": ms(p95(cons)),
            "pk_lookup_ms_median": ms(statistics.median(base))}


# ------------------------------------------------------------------------------ (d)

def bench_archive(project_id: int) -> dict:
    import zipfile

    import sunlight_verify as sv
    from audit import archive, sequencer

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "archive.zip"
        archive.build(project_id, out, integrate=False)  # warm: the first export loads the replay areas
        t, c = time.perf_counter(), time.process_time()
        manifest = archive.build(project_id, out, integrate=False)
        export_s, export_cpu = time.perf_counter() - t, time.process_time() - c
        t = time.perf_counter()
        with zipfile.ZipFile(out) as zf:
            for line in zf.read("events.jsonl").splitlines():
                json.loads(line)
        parse_s = time.perf_counter() - t
        t, c = time.perf_counter(), time.process_time()
        verdict = sv.verify_archive(str(out), sequencer.verifier_key(), log=lambda *a: None)["verdict"]
        verify_s, verify_cpu = time.perf_counter() - t, time.process_time() - c
        assert verdict.startswith("closed project SL-BENCH-1"), verdict
        size_mb = out.stat().st_size / 1e6
    return {"archive_events": len(manifest["events"]), "archive_mb": round(size_mb, 1), "archive_export_s": round(export_s, 3),
            "archive_verify_s": round(verify_s, 3), "archive_parse_only_s": round(parse_s, 3),
            # this process's own CPU time: on a shared machine the wall clock mostly measures waiting
            "archive_export_cpu_s": round(export_cpu, 3), "archive_verify_cpu_s": round(verify_cpu, 3)}


# ------------------------------------------------------------------------------ (e)

def bench_witnesses(rounds: int) -> dict:
    """Two sunlight-witness processes; after each signed checkpoint, the time until both cosigned it."""
    import subprocess
    import urllib.request

    from django.conf import settings
    from django.db import transaction

    import audit
    import sunlight_witness
    from audit import proofs, sequencer, witnessing

    procs, configured = [], []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for i in (1, 2):
                pem = f"{tmp}/w{i}.pem"
                old_stdout, sys.stdout = sys.stdout, io.StringIO()
                try:
                    sunlight_witness.main(["keygen", "--name", f"bench.example/w{i}", "--key", pem])
                finally:
                    sys.stdout = old_stdout
                proc = subprocess.Popen([sys.executable, str(ROOT / "sunlight_witness.py"), "serve", "--name",
                                         f"bench.example/w{i}", "--key", pem, "--state", f"{tmp}/w{i}.json",
                                         "--log-key", sequencer.verifier_key(), "--listen", "127.0.0.1:0"],
                                        stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
                procs.append(proc)
                assert proc.stdout is not None
                words = proc.stdout.readline().split()
                configured.append({"name": f"w{i}", "url": f"http://{words[2]}", "vkey": words[4]})
            settings.SUNLIGHT_WITNESSES, settings.SUNLIGHT_WITNESS_QUORUM = configured, 2
            witnessing.cosign_latest()  # each witness learns the log (old size 0)
            lat, base = [], []
            for r in range(rounds):
                with transaction.atomic():
                    for i in range(10):
                        audit.record(action="bench.witnessed", subject=f"w:{r}:{i}", payload={"r": r, "i": i})
                sequencer.integrate_all()  # signs the checkpoint
                cp = proofs.latest_checkpoint()
                assert cp is not None
                t = time.perf_counter()
                assert witnessing.cosign(cp) == 2
                lat.append(time.perf_counter() - t)
                t = time.perf_counter()
                with urllib.request.urlopen(configured[0]["url"] + "/", timeout=10) as resp:
                    resp.read()
                base.append(time.perf_counter() - t)
        finally:
            settings.SUNLIGHT_WITNESSES = []
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
    return {"cosign_two_witnesses_ms_median": ms(statistics.median(lat)),
            "cosign_two_witnesses_ms_p95": ms(sorted(lat)[max(0, int(len(lat) * 0.95) - 1)]),
            "witness_round_trip_ms_median": ms(statistics.median(base))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--events", type=int)
    ap.add_argument("--archive-events", type=int)
    args = ap.parse_args()
    n = args.events or (50_000 if args.quick else 1_000_000)
    archive_n = args.archive_events or 1_000
    setup_django()
    out = {"bench": "audit", "quick": args.quick, "events": n}
    print("(a) business transaction with/without audit append …", flush=True)
    out.update(bench_business(100 if args.quick else 400))
    print(f"    {out}", flush=True)
    project_id = 990_001
    print(f"(b) loading {n} events …", flush=True)
    out["load_events_s"] = round(insert_events(n, max(1, n // archive_n), project_id), 2)
    print("    integrating …", flush=True)
    out.update(bench_integrate(n))
    print(f"    {out}", flush=True)
    print("(c) proofs …", flush=True)
    out.update(bench_proofs(n, 200 if args.quick else 1000))
    print("(d) archive …", flush=True)
    out.update(bench_archive(project_id))
    print("(e) witnesses …", flush=True)
    out.update(bench_witnesses(20 if args.quick else 100))
    out["goals"] = [
        {"name": "audit append overhead on a business transaction", "value": out["audit_overhead_pct"], "target": 20, "better": "lower"},
        {"name": f"integrate {n} events (s)", "value": out["integrate_s"], "target": 60 * n / 1_000_000, "better": "lower"},
        {"name": "inclusion proof p95 (ms)", "value": out["inclusion_proof_ms_p95"], "target": 5, "better": "lower"},
        {"name": "consistency proof p95 (ms)", "value": out["consistency_proof_ms_p95"], "target": 5, "better": "lower"},
        {"name": f"export of a project of {out['archive_events']} events (s)", "value": out["archive_export_s"],
         "target": 1, "better": "lower"},
        {"name": f"sunlight-verify of {out['archive_events']} events (s)", "value": out["archive_verify_s"],
         "target": 1, "better": "lower"},
        {"name": "checkpoint cosigned by two witnesses after signing (ms, median)",
         "value": out["cosign_two_witnesses_ms_median"], "target": 100, "better": "lower"},
    ]
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
