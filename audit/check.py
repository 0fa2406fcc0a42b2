"""Plain-words checks for the supervisor console and the public checkpoints page.

Each check recomputes from the event bytes and verifies with the standalone verifier's code
(``sunlight_verify``), so the console says "verified" only when an outsider's tool would too.
Verdicts are read by people: in the request's language; the checkpoint's time is given as ``signed_at``
for the page to show in its one time format (the verifier's own technical text stays as it is, as a detail).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

import sunlight_verify as sv
from audit import archive, merkle, proofs, sequencer
from audit import messages as AM
from audit.leaf import leaf_input
from audit.log_models import Checkpoint, Leaf
from audit.models import Event


@dataclass
class Check:
    ok: bool
    headline: str
    details: list[str] = field(default_factory=list)
    signed_at: dt.datetime | None = None  # the checkpoint checked against, when there is one


def _open(cp: Checkpoint):
    return sv.open_checkpoint(cp.note, sequencer.verifier_key())


def check_project(project_id: int, *, event_ids: list[int] | None = None) -> Check:
    """Are this project's events (or those of `event_ids`, the ones the viewer may know of) in the
    signed log, unchanged?"""
    cp = proofs.latest_checkpoint()
    if cp is None:
        return Check(False, _("Nothing to check against yet: the platform has not signed a checkpoint."))
    try:
        _origin, size, root, _rest = _open(cp)
    except sv.VerifyError as exc:
        return Check(False, _("The latest checkpoint is NOT validly signed by the platform key."), [str(exc)],
                     signed_at=cp.created_at)
    if size != cp.size or root != bytes(cp.root):
        return Check(False, _("The latest checkpoint's stored size or root differ from what was signed."),
                     signed_at=cp.created_at)
    qs = Event.objects.filter(project_id=project_id)
    if event_ids is not None:
        qs = qs.filter(id__in=event_ids)
    events = list(qs.order_by("id").values_list("id", "canonical"))
    leaves = {e: (i, h) for e, i, h in Leaf.objects.filter(event_id__in=[e for e, _ in events])
              .values_list("event_id", "index", "header")}
    covered = [(eid, text, leaves[eid][0], leaves[eid][1]) for eid, text in events
               if eid in leaves and leaves[eid][0] < size]
    pending = len(events) - len(covered)
    proof_map = archive.inclusion_proofs([i for _e, _t, i, _h in covered], size)
    for eid, text, index, header in covered:
        try:
            if header is not None and json.loads(header)["body"] != hashlib.sha256(text.encode("utf-8")).hexdigest():
                raise sv.VerifyError("body changed")
            sv.verify_inclusion(index, size, sv.leaf_hash(leaf_input(text.encode("utf-8"), header)),
                                proof_map[index], root)
        except sv.VerifyError:
            return Check(False, _("Event #%(event)s (log position %(index)s) does NOT match the signed log: "
                                  "it was changed after it was recorded.") % {"event": eid, "index": index},
                         [_("checked against the checkpoint of size %(size)s") % {"size": size}], signed_at=cp.created_at)
    head = ngettext("Verified: the %(count)s recorded event of this project is in the signed log, unchanged since it "
                    "was recorded (checkpoint of %(size)s entries).",
                    "Verified: all %(count)s recorded events of this project are in the signed log, unchanged since "
                    "they were recorded (checkpoint of %(size)s entries).", len(covered)) % {"count": len(covered), "size": size}
    details = [_("root hash %(hash)s") % {"hash": root.hex()}, _("platform key %(key)s") % {"key": sequencer.verifier_key()}]
    if pending:
        details.insert(0, ngettext("%(count)s newer event is not yet covered by a signed checkpoint (it will be within seconds).",
                                   "%(count)s newer events are not yet covered by a signed checkpoint (they will be within seconds).",
                                   pending) % {"count": pending})
    return Check(True, head, details, signed_at=cp.created_at)


def check_consistency(first: int, second: int) -> Check:
    """Does the checkpoint of size ``second`` extend the one of size ``first`` (append-only)?"""
    if first > second:
        return Check(False, _("The first size (%(first)s) must not be larger than the second (%(second)s).")
                     % {"first": first, "second": second})
    try:
        a, b = proofs.checkpoint_of_size(first), proofs.checkpoint_of_size(second)
    except merkle.ProofError as exc:
        return Check(False, _("No signed checkpoint has one of these sizes; pick two from the list below."),
                     [AM.proof_detail(exc)])
    try:
        _o1, s1, r1, _n1 = _open(a)
        _o2, s2, r2, _n2 = _open(b)
        sv.verify_consistency(s1, s2, proofs.consistency_proof(s1, s2) if s1 != s2 else [], r1, r2)
    except merkle.ProofError as exc:
        return Check(False, _("NOT consistent: the log was rewritten between these checkpoints."),
                     [AM.proof_detail(exc)])
    except sv.VerifyError as exc:  # the standalone verifier's own technical text (English by design), as a detail
        return Check(False, _("NOT consistent: the log was rewritten between these checkpoints."), [str(exc)])
    return Check(True, _("Consistent: the log of %(second)s entries contains the earlier log of %(first)s entries "
                         "unchanged; nothing was removed or rewritten in between.") % {"first": s1, "second": s2})
