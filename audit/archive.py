"""Project archives (刻盘存档): one zip that ``sunlight-verify`` checks offline.

Contents: ``manifest.json`` (project, event count, the claimed result, document hashes),
``checkpoint.txt`` (a signed checkpoint), ``public_key.txt`` (the platform verifier key),
``events.jsonl`` (each event's canonical body, its leaf index and its inclusion proof against
the checkpoint) and ``README.txt``. Everything is taken from the audit log alone.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import BinaryIO

from audit import merkle, proofs, sequencer
from audit.canonical import canonical_bytes
from audit.log_models import Checkpoint, Leaf
from audit.models import Event
from audit.replay import Ev, replay

FORMAT = "sunlight-archive/1"
BATCH = 2000

README = """Sunlight project archive ({code})

Verify it offline with:  sunlight-verify {name} --key '{vkey}'
(compare that key with the one published on the platform's portal, /audit/public-key/).

events.jsonl   every audit event of the project, its leaf index and inclusion proof
checkpoint.txt the signed tree head (C2SP tlog-checkpoint, Ed25519 signed note) the proofs lead to
public_key.txt the platform's verifier key
manifest.json  the project, the number of events, the result the events replay to, document hashes
"""


class ArchiveError(ValueError):
    pass


def resolve_project(ref: str) -> int:
    """A project id, or a project code looked up in its project.create event."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit():
        if not Event.objects.filter(project_id=int(ref)).exists():
            raise ArchiveError(f"no audit events for project {ref}")
        return int(ref)
    needle = canonical_bytes({"code": ref}).decode()[1:-1]
    for event in Event.objects.filter(action="project.create", canonical__contains=needle):
        if event.payload.get("code") == ref:
            return event.project_id
    raise ArchiveError(f"no project with code {ref!r} in the audit log")


def inclusion_proofs(indices: list[int], size: int) -> dict[int, list[bytes]]:
    """Many inclusion proofs with one node query per batch."""
    out: dict[int, list[bytes]] = {}
    for start in range(0, len(indices), BATCH):
        chunk = indices[start : start + BATCH]
        ranges = {i: merkle.inclusion_ranges(i, size) for i in chunk}
        nodes = sequencer.fetch_nodes(merkle.nodes_for_ranges(r for rs in ranges.values() for r in rs))
        for i, rs in ranges.items():
            out[i] = merkle.hashes_for_ranges(rs, nodes)
    return out


def build(project_id: int, out: str | Path | BinaryIO, *, integrate: bool = True) -> dict:
    if integrate:
        sequencer.integrate_all()
    cp: Checkpoint | None = proofs.latest_checkpoint()
    if cp is None:
        raise ArchiveError("no signed checkpoint yet: run the sequencer first")
    rows = list(
        Leaf.objects.filter(event__project_id=project_id, index__lt=cp.size)
        .order_by("index")
        .values_list("index", "event__canonical")
    )
    total = Event.objects.filter(project_id=project_id).count()
    if not rows:
        raise ArchiveError(f"project {project_id} has no events in the log")
    if len(rows) != total:
        raise ArchiveError(f"{total - len(rows)} events of project {project_id} are not covered by a checkpoint yet")
    bodies = [json.loads(c) for _, c in rows]
    state = replay(Ev.from_body(b) for b in bodies)
    proof_map = inclusion_proofs([i for i, _ in rows], cp.size)
    info = next((b["payload"] for b in bodies if b["action"] == "project.create"), {})
    documents = [
        {"name": b["payload"]["name"], "sha256": b["payload"]["sha256"], "size": b["payload"]["size"]}
        for b in bodies if b["action"] == "document.attach"
    ]
    manifest = {
        "format": FORMAT,
        "origin": sequencer.origin(),
        "project": {"id": project_id, "code": info.get("code"), "title": info.get("title")},
        "checkpoint_size": cp.size,
        "event_count": len(rows),
        "result": state.get("outcome", {"lots": {}}),
        "documents": documents,
    }
    vkey = sequencer.verifier_key()
    lines = io.StringIO()
    for (index, _canonical), body in zip(rows, bodies):
        rec = {"index": index, "event": body, "proof": [proofs.b64(h) for h in proof_map[index]]}
        lines.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
    name = Path(out).name if isinstance(out, (str, Path)) else "archive.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
        zf.writestr("checkpoint.txt", cp.note)
        zf.writestr("public_key.txt", vkey + "\n")
        zf.writestr("events.jsonl", lines.getvalue())
        zf.writestr("README.txt", README.format(code=info.get("code") or project_id, name=name, vkey=vkey))
    return manifest
