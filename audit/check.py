"""Plain-words checks for the supervisor console and the public checkpoints page.

Each check recomputes from the event bytes and verifies with the standalone verifier's code
(``sunlight_verify``), so the console says "verified" only when an outsider's tool would too.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import sunlight_verify as sv
from audit import archive, merkle, proofs, sequencer
from audit.leaf import leaf_input
from audit.log_models import Checkpoint, Leaf
from audit.models import Event


@dataclass
class Check:
    ok: bool
    headline: str
    details: list[str] = field(default_factory=list)


def _open(cp: Checkpoint):
    return sv.open_checkpoint(cp.note, sequencer.verifier_key())


def check_project(project_id: int, *, event_ids: list[int] | None = None) -> Check:
    """Are this project's events (or those of `event_ids`, the ones the viewer may know of) in the
    signed log, unchanged?"""
    cp = proofs.latest_checkpoint()
    if cp is None:
        return Check(False, "Nothing to check against yet: the platform has not signed a checkpoint.")
    try:
        _, size, root, _ = _open(cp)
    except sv.VerifyError as exc:
        return Check(False, f"The latest checkpoint is NOT validly signed by the platform key: {exc}")
    if size != cp.size or root != bytes(cp.root):
        return Check(False, "The latest checkpoint's stored size or root differ from what was signed.")
    qs = Event.objects.filter(project_id=project_id)
    if event_ids is not None:
        qs = qs.filter(id__in=event_ids)
    events = list(qs.order_by("id").values_list("id", "canonical"))
    leaves = {e: (i, h) for e, i, h in Leaf.objects.filter(event_id__in=[e for e, _ in events])
              .values_list("event_id", "index", "header")}
    covered = [(eid, text, leaves[eid][0], leaves[eid][1]) for eid, text in events
               if eid in leaves and leaves[eid][0] < size]
    pending = len(events) - len(covered)
    proof_map = archive.inclusion_proofs([i for _, _, i, _ in covered], size)
    for eid, text, index, header in covered:
        try:
            if header is not None and json.loads(header)["body"] != hashlib.sha256(text.encode("utf-8")).hexdigest():
                raise sv.VerifyError("body changed")
            sv.verify_inclusion(index, size, sv.leaf_hash(leaf_input(text.encode("utf-8"), header)),
                                proof_map[index], root)
        except sv.VerifyError:
            return Check(False, f"Event #{eid} (log position {index}) does NOT match the signed log: "
                                "it was changed after it was recorded.",
                         [f"checked against the checkpoint of size {size} signed at {cp.created_at:%Y-%m-%d %H:%M:%S} UTC"])
    head = (f"Verified: all {len(covered)} recorded events of this project are in the signed log, unchanged since "
            f"they were recorded (checkpoint of {size} entries, signed {cp.created_at:%Y-%m-%d %H:%M:%S} UTC).")
    details = [f"root hash {root.hex()}", f"platform key {sequencer.verifier_key()}"]
    if pending:
        details.insert(0, f"{pending} newer events are not yet covered by a signed checkpoint (they will be within seconds).")
    return Check(True, head, details)


def check_consistency(first: int, second: int) -> Check:
    """Does the checkpoint of size ``second`` extend the one of size ``first`` (append-only)?"""
    if first > second:
        return Check(False, f"The first size ({first}) must not be larger than the second ({second}).")
    try:
        a, b = proofs.checkpoint_of_size(first), proofs.checkpoint_of_size(second)
    except merkle.ProofError as exc:
        return Check(False, str(exc))
    try:
        _, s1, r1, _ = _open(a)
        _, s2, r2, _ = _open(b)
        sv.verify_consistency(s1, s2, proofs.consistency_proof(s1, s2) if s1 != s2 else [], r1, r2)
    except (sv.VerifyError, merkle.ProofError) as exc:
        return Check(False, f"NOT consistent: {exc}. The log was rewritten between these checkpoints.")
    return Check(True, f"Consistent: the log of {s2} entries contains the earlier log of {s1} entries unchanged; "
                       "nothing was removed or rewritten in between.")
