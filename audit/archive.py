"""Project archives (刻盘存档): one zip that ``sunlight-verify`` checks offline with the log key.

Members (format ``sunlight-archive/2``):

* ``manifest.json``: the project header, every event's leaf index, which bodies are withheld, the
  document hashes, the checkpoint, the project's status and (once closed) its result, and — once
  the project's deadlines have passed — the key of its sequence tags (``audit.leaf``);
* ``manifest.sig``: a signed note by the log key over ``sunlight-archive/2 / origin / sha256(manifest)``;
* ``checkpoint.txt``: the signed (and, with witnesses, cosigned) checkpoint the proofs lead to;
* ``events.jsonl``: per event its leaf index, leaf header, inclusion proof and — unless withheld — body;
* ``documents/<sha256>``: the documents' bytes; ``public_key.txt`` (only for ``--key-fingerprint``);
  ``README.txt``.

Two kinds: ``public`` (anyone may download it: bodies of sealed and supervisor-only events are
withheld, only their leaf headers — hashes — remain; only public documents) and ``full`` (for
supervisors). Everything is read from the audit log in a few queries.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO

from django.apps import apps
from django.db import connection
from django.utils import timezone

from audit import checkpoint as ck
from audit import merkle, sequencer, visibility
from audit.canonical import canonical_bytes
from audit.leaf import CLOSE_ACTION
from audit.log_models import Checkpoint, Leaf
from audit.models import Event
from audit.replay import Ev, replay

FORMAT = "sunlight-archive/2"
KINDS = ("public", "full")
BATCH = 4000

README = """Sunlight project archive ({code}, {kind})

Verify it offline with the log key the platform publishes (never a key you got with this archive):

    sunlight-verify {name} --key '<the key from the platform's /audit/public-key/ page>'
    sunlight-verify {name} --key-fingerprint <its fingerprint, as published>

A running project verifies only with --in-progress (and then shows no result).

manifest.json / .sig  the project, every event's leaf index, documents, result, signed by the log key
checkpoint.txt        the signed tree head (C2SP tlog-checkpoint) the inclusion proofs lead to
events.jsonl          each event's leaf header (its hash and its place in the project), proof, body
documents/            the documents, named by their SHA-256
"""


class ArchiveError(ValueError):
    """An archive that cannot be made (codes: audit/messages.py; the command line says the English)."""

    code = "archive"

    def __init__(self, template: str = "", *, code: str | None = None, **params: object) -> None:
        # a stable code and the values as data for the edge's translation (audit/messages.py; the convention of
        # trading.coded.CodedError, which audit may not import); ``str(exc)`` is the English sentence
        self.code = code or self.code
        self.params = params
        super().__init__(template % params if params else template)



def resolve_project(ref: str) -> int:
    """A project id, or a project code looked up in its project.create event."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit():
        if not Event.objects.filter(project_id=int(ref)).exists():
            raise ArchiveError("no audit events for project %(project)s", code="no_events", project=ref)
        return int(ref)
    needle = canonical_bytes({"code": ref}).decode()[1:-1]
    for event in Event.objects.filter(action="project.create", canonical__contains=needle):
        if event.payload.get("code") == ref:
            assert event.project_id is not None, "a project.create event belongs to its project"
            return event.project_id
    raise ArchiveError("no project with code %(ref)r in the audit log", code="no_project", ref=ref)


def inclusion_proofs(indices: list[int], size: int) -> dict[int, list[bytes]]:
    """Many inclusion proofs with one node query per batch; a range shared by several proofs (the
    right edge of the tree, the neighbours of consecutive events) is hashed once."""
    out: dict[int, list[bytes]] = {}
    for start in range(0, len(indices), BATCH):
        chunk = indices[start : start + BATCH]
        ranges = {i: merkle.inclusion_ranges(i, size) for i in chunk}
        unique = {r for rs in ranges.values() for r in rs}
        nodes = sequencer.fetch_nodes(merkle.nodes_for_ranges(unique))
        hashed = {r: merkle.hash_range(r[0], r[1], nodes.__getitem__) for r in unique}
        for i, rs in ranges.items():
            out[i] = [hashed[r] for r in rs]
    return out


def _rows(project_id: int, size: int) -> list[tuple]:
    """(index, header, canonical, visibility, action, actor_role, created_at) of the project's events
    in the tree, in log order."""
    le, ev = Leaf._meta.db_table, Event._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f'SELECT l."index", l.header, e.canonical, e.visibility, e.action, e.actor_role, e.created_at '
                    f'FROM {ev} e JOIN {le} l ON l.event_id = e.id '
                    f'WHERE e.project_id = %s AND l."index" < %s ORDER BY l."index"', [project_id, size])
        return cur.fetchall()


def _aware(value: dt.datetime | str) -> dt.datetime:
    """A timestamp read by a raw cursor as an aware UTC datetime (SQLite, the demo's database, gives naive
    datetimes or text; PostgreSQL aware ones)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def _disclosures(project_id: int, rows: list[tuple], bodies: list[dict], *, supervisor: bool,
                 now: dt.datetime) -> tuple[list[visibility.Disclosure], dt.datetime | None]:
    """What the archive's reader may know of each event (the one rule, audit.visibility), and the
    project's last bid deadline."""
    lots = {b["payload"].get("lot") for (_, _, _, vis, *_), b in zip(rows, bodies) if vis != "public"}
    lots = {lot for lot in lots if isinstance(lot, int) and not isinstance(lot, bool)}
    facts = visibility.facts_for(project_ids=[project_id])
    if lots:
        provider = visibility.facts_for([SimpleNamespace(visibility="sealed", project_id=None,
                                                         body={"payload": {"lot": lot}}) for lot in sorted(lots)])
        facts = visibility.Facts(projects=facts.projects, lots={**provider.lots, **facts.lots})
    out = []
    for (_, _, _, vis, action, role, created), body in zip(rows, bodies):
        created = _aware(created)
        lot = (body.get("payload") or {}).get("lot")
        out.append(visibility.disclosure(
            action=action, actor_role=role, visibility=vis, project_id=project_id,
            lot_id=lot if isinstance(lot, int) and not isinstance(lot, bool) else None, created_at=created,
            supervisor=supervisor, facts=facts, now=now))
    horizon = facts.projects.get(project_id)
    return out, horizon.last_deadline if horizon is not None else None


def published_result(state: dict) -> dict:
    """The result the platform publishes, from its own replay: each lot's status, the candidates
    publicised, the award, and the auction's outcome."""
    lots = {}
    evaluation = (state.get("evaluation") or {}).get("lots", {})
    for lot_id, lot in (state.get("trading") or {}).get("lots", {}).items():
        e = evaluation.get(lot_id) or {}
        publicised = e.get("publicity") is not None and e.get("evaluation")
        awards = [a for a in e.get("awards", []) if a["status"] in ("active", "contracted")]
        lots[lot_id] = {
            "status": lot.get("status"),
            "candidates": [[c["rank"], c["bidder"]] for c in e["evaluation"]["candidates"]] if publicised else [],
            "award": {"bidder": awards[-1]["bidder"], "price_fen": awards[-1]["price_fen"]} if awards else None,
            "auction": None,
        }
    for a in (state.get("auction") or {}).get("auctions", {}).values():
        if a.get("phase") != "closed":
            continue
        entry = lots.setdefault(str(a["lot"]), {"status": None, "candidates": [], "award": None, "auction": None})
        deal = a["outcome"] == "deal"
        entry["auction"] = {"outcome": a["outcome"], "price_fen": a["price_fen"],
                            "winner_number": a["leader"] if deal else None, "bids": a["bid_count"]}
        if deal:
            entry["award"] = {"bidder": a["winner_organisation"], "price_fen": a["price_fen"]}
    return {"lots": lots}


def _document_files(shas: set[str]) -> dict[str, bytes]:
    """The stored bytes of documents by hash (the trading app's Document model, looked up lazily)."""
    if not shas:
        return {}
    Document = apps.get_model("trading", "Document")
    out = {}
    for doc in Document.objects.filter(sha256__in=sorted(shas)):
        if doc.sha256 not in out:
            with doc.file.open("rb") as fh:
                out[doc.sha256] = fh.read()
    return out


def sign_manifest(raw: bytes) -> str:
    origin = sequencer.origin()
    return ck.sign_note(f"{FORMAT}\n{origin}\n{hashlib.sha256(raw).hexdigest()}\n", origin, sequencer.signing_key())


def checkpoint_note(cp: Checkpoint) -> str:
    """The checkpoint as published: cosigned by the witnesses when there are any."""
    from audit import witnessing

    return witnessing.published_note(cp)


def build(project_id: int, out: str | Path | BinaryIO, *, kind: str = "public", integrate: bool = True,
          now: dt.datetime | None = None) -> dict:
    if kind not in KINDS:
        raise ArchiveError("an archive is public or full, not %(kind)r", code="kind", kind=kind)
    now = now or timezone.now()
    from audit import witnessing

    if integrate:
        sequencer.integrate_all()
        witnessing.cosign_latest()
    cp: Checkpoint | None = witnessing.latest_published()
    if cp is None:
        raise ArchiveError("no signed (and, with witnesses, cosigned) checkpoint yet: run the sequencer first",
                           code="no_checkpoint")
    rows = _rows(project_id, cp.size)
    if not rows:
        raise ArchiveError("project %(project)s has no events in the log", code="no_events_in_log", project=project_id)
    total = Event.objects.filter(project_id=project_id).count()
    if len(rows) != total:
        raise ArchiveError("%(count)s events of project %(project)s are not covered by a checkpoint yet",
                           code="not_covered", count=total - len(rows), project=project_id)
    if any(row[1] is None for row in rows):
        raise ArchiveError("project %(project)s has events recorded before leaf headers (format 1)", code="format_1",
                           project=project_id)
    bodies = [json.loads(row[2]) for row in rows]
    state = replay(Ev.from_body(b) for b in bodies)
    closed = any(b["action"] == CLOSE_ACTION for b in bodies)
    seen, last_deadline = _disclosures(project_id, rows, bodies, supervisor=kind == "full", now=now)
    hidden_events = visibility.Disclosure.NONE in seen
    reveal = closed or (not hidden_events and last_deadline is not None and last_deadline <= now)
    if kind == "full" and not reveal:
        raise ArchiveError("before the project's deadlines nobody may see who registered or how many: "
                           "a full archive exists only once the deadlines have passed", code="before_deadline")
    if hidden_events:
        # before the deadlines even the number of bidders' events is secret (who and how many registered):
        # the archive leaves them out entirely, and claims no completeness (no tag key)
        keep = [k for k, d in enumerate(seen) if d is not visibility.Disclosure.NONE]
        rows, bodies, seen = [rows[k] for k in keep], [bodies[k] for k in keep], [seen[k] for k in keep]
    withheld = [row[0] for row, d in zip(rows, seen) if d is not visibility.Disclosure.FULL]
    info: dict[str, Any] = next((b["payload"] for b in reversed(bodies) if b["action"] in ("project.create", "project.publish")), {})
    attached = [b["payload"] for b in bodies if b["action"] == "document.attach"]
    shipped = {d["sha256"] for d in attached if kind == "full" or d["access"] == "public"}
    files = _document_files(shipped)
    documents = [{"name": d["name"], "sha256": d["sha256"], "size": d["size"], "access": d["access"],
                  "file": f"documents/{d['sha256']}" if d["sha256"] in files else None} for d in attached]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "kind": kind,
        "origin": sequencer.origin(),
        "project": {"id": project_id, "code": info.get("code"), "title": info.get("title")},
        "checkpoint": {"size": cp.size, "root": cp.root_b64},
        "events": [row[0] for row in rows],
        "withheld": withheld,
        "status": "closed" if closed else "in-progress",
        "final_count": next((n for n, b in enumerate(bodies, 1) if b["action"] == CLOSE_ACTION), None),
        "tag_key": sequencer.project_tag_key(project_id).hex() if reveal else None,
        "result": published_result(state) if closed else None,
        "documents": documents,
        "exported_at": now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    raw = canonical_bytes(manifest)
    proof_map = inclusion_proofs(manifest["events"], cp.size)
    hidden = set(withheld)
    lines = io.StringIO()
    encoded: dict[bytes, str] = {}
    for index, header, canonical, *_ in rows:
        proof = ",".join(encoded.get(h) or encoded.setdefault(h, f'"{base64.b64encode(h).decode()}"')
                         for h in proof_map[index])
        text = "" if index in hidden else f',"event":{canonical}'
        lines.write(f'{{"index":{index},"header":{json.dumps(header)},"proof":[{proof}]{text}}}\n')
    name = Path(out).name if isinstance(out, (str, Path)) else "archive.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("manifest.json", raw)
        zf.writestr("manifest.sig", sign_manifest(raw))
        zf.writestr("checkpoint.txt", checkpoint_note(cp))
        zf.writestr("public_key.txt", sequencer.verifier_key() + "\n")
        zf.writestr("events.jsonl", lines.getvalue())
        for sha, data in files.items():
            zf.writestr(f"documents/{sha}", data)
        zf.writestr("README.txt", README.format(code=info.get("code") or project_id, name=name, kind=kind))
    return manifest
