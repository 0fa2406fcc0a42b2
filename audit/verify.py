"""Full-log verification (``manage.py audit_verify``): trust nothing that is stored.

Recomputes every leaf hash from the events' canonical bytes, rebuilds the tree leaf by leaf,
compares every stored leaf and node hash, checks every checkpoint's signature and that its
signed root is the recomputed root at its size (so all checkpoints are mutually consistent),
and that every old-enough event is in the tree. Stops at the first problem and names the
leaf index (a superuser can bypass the append-only triggers; this is how that gets caught).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from audit import checkpoint as ck
from audit import leaf as lf
from audit import merkle
from audit.log_models import Checkpoint, Leaf, ProjectSequence, TreeNode, node_key
from audit.models import Event
from audit.sequencer import LOOKBACK, origin, project_tag_key, verifier_key

CHUNK = 5000


@dataclass
class Result:
    ok: bool
    leaves: int = 0
    nodes: int = 0
    checkpoints: int = 0
    bad_index: int | None = None
    message: str = ""

    def __str__(self) -> str:
        if self.ok:
            return (f"OK: {self.leaves} events, {self.nodes} tree nodes and {self.checkpoints} signed checkpoints "
                    "verified; every checkpoint is consistent with every other")
        where = f"index {self.bad_index}: " if self.bad_index is not None else ""
        return f"FAILED at {where}{self.message}"


class _Bad(Exception):
    def __init__(self, index: int | None, message: str):
        super().__init__(message)
        self.index, self.message = index, message


def _columns_match(row, body: dict) -> str | None:
    _, event_id, _, _, uid, action, subject, project_id, visibility, actor_id, _header = row
    expected = {"uid": uid, "action": action, "subject": subject, "project": project_id, "visibility": visibility}
    for key, value in expected.items():
        if body.get(key) != value:
            return key
    if (body.get("actor") or {}).get("id") != actor_id:
        return "actor"
    return None


def _leaf_rows(start: int, stop: int):
    le, ev = Leaf._meta.db_table, Event._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f'SELECT l."index", l.event_id, l.hash, e.canonical, e.uid, e.action, e.subject, e.project_id, '
            f"e.visibility, e.actor_id, l.header FROM {le} l LEFT JOIN {ev} e ON e.id = l.event_id "
            f'WHERE l."index" >= %s AND l."index" < %s ORDER BY l."index"',
            [start, stop],
        )
        return cur.fetchall()


def verify_log(*, now: dt.datetime | None = None, vkey: str | None = None) -> Result:
    now = now or timezone.now()
    vkey = vkey or verifier_key()
    res = Result(ok=True)
    try:
        _verify(res, now, vkey)
    except _Bad as bad:
        res.ok, res.bad_index, res.message = False, bad.index, bad.message
    return res


def _verify(res: Result, now: dt.datetime, vkey: str) -> None:
    checkpoints = list(Checkpoint.objects.order_by("size").values_list("size", "root", "note", "created_at"))
    # 1. signatures first: a checkpoint is only evidence if the platform key signed it
    for size, root, note, _ in checkpoints:
        try:
            cp = ck.open_checkpoint(note, vkey, origin=origin())
        except ck.CheckpointError as exc:
            raise _Bad(None, f"checkpoint of size {size}: {exc}") from None
        if cp.size != size or cp.root != bytes(root):
            raise _Bad(None, f"checkpoint of size {size}: its columns differ from its signed note")
    pending = [(size, bytes(root)) for size, root, _, _ in checkpoints]
    checkpoint_sizes = {size for size, _ in pending}
    max_index = Leaf.objects.order_by("-index").values_list("index", flat=True).first()
    total = 0 if max_index is None else max_index + 1

    # 2. leaves and nodes, chunk by chunk
    cr = merkle.CompactRange()
    seq: dict[int, int] = {}  # project -> events seen so far (each leaf header carries tag(n))
    keys: dict[int, bytes] = {}
    expected_nodes = 0
    for start in range(0, total, CHUNK):
        created: dict[int, tuple[int, bytes]] = {}
        roots: list[tuple[int, bytes]] = []  # recomputed roots at checkpoint sizes in this chunk
        for row in _leaf_rows(start, start + CHUNK):
            index, event_id, stored, canonical = row[0], row[1], bytes(row[2]), row[3]
            if index != cr.size:
                raise _Bad(cr.size, "leaf missing: the sequence of leaf indices has a gap (an event was removed)")
            if canonical is None:
                raise _Bad(index, f"event #{event_id} was removed from the events table")
            project_id, header = row[7], row[10]
            if header is not None:
                tag, n = None, None
                if project_id is not None:
                    n = seq[project_id] = seq.get(project_id, 0) + 1
                    if project_id not in keys:
                        keys[project_id] = project_tag_key(project_id)
                    tag = lf.tag(keys[project_id], n)
                want = lf.header(canonical=canonical.encode("utf-8"), visibility=row[8], tag_hex=tag,
                                 count=n if row[5] == lf.CLOSE_ACTION else None).decode("utf-8")
                if want != header:
                    raise _Bad(index, f"event #{event_id} was altered or reordered: its leaf header (body hash or "
                                      "project sequence tag) no longer matches the event")
            h = merkle.leaf_hash(lf.leaf_input(canonical.encode("utf-8"), header))
            if h != stored:
                raise _Bad(index, f"event #{event_id} was altered or reordered: its bytes no longer hash to the stored leaf")
            try:
                body = json.loads(canonical)
            except ValueError:
                raise _Bad(index, f"event #{event_id} is not valid JSON") from None
            column = _columns_match(row, body)
            if column:
                raise _Bad(index, f"event #{event_id}: column {column!r} differs from the signed event body")
            for (lvl, i), nh in cr.append(h):
                created[node_key(lvl, i)] = (i << lvl, nh)
            if cr.size in checkpoint_sizes:
                roots.append((cr.size, cr.root()))
        if cr.size != min(total, start + CHUNK):
            raise _Bad(cr.size, "leaf missing: the sequence of leaf indices has a gap (an event was removed)")
        stored_nodes = dict(TreeNode.objects.filter(key__in=list(created)).values_list("key", "hash"))
        for key, (first_leaf, nh) in sorted(created.items(), key=lambda kv: kv[1][0]):
            got = stored_nodes.get(key)
            if got is None or bytes(got) != nh:
                lvl = key >> 48
                raise _Bad(first_leaf, f"stored tree node at level {lvl} over leaves {first_leaf}..{first_leaf + (1 << lvl) - 1} "
                                       "is missing or altered")
        expected_nodes += len(created)
        for size, root in roots:
            while pending and pending[0][0] == size:
                if root != pending[0][1]:
                    raise _Bad(size - 1, f"the tree up to size {size} does not match its signed checkpoint "
                                         "(events before this index were rewritten)")
                pending.pop(0)
                res.checkpoints += 1
    res.leaves, res.nodes = cr.size, expected_nodes

    if pending:
        raise _Bad(cr.size, f"a checkpoint signed size {pending[0][0]} but the log holds only {cr.size} leaves "
                            "(events were removed from the end)")
    extra = TreeNode.objects.count() - expected_nodes
    if extra:
        raise _Bad(None, f"{extra} tree nodes are stored that the events do not produce")
    counts = dict(ProjectSequence.objects.values_list("project_id", "count"))
    for project_id, n in seq.items():
        if counts.get(project_id) != n:
            raise _Bad(None, f"project {project_id}: the sequencer's count {counts.get(project_id)} differs from "
                             f"its {n} tagged leaves")
    # 3. every event that had time to be integrated is in the tree
    missed = (
        Event.objects.filter(created_at__lt=now - LOOKBACK, leaf__isnull=True).order_by("id").values_list("id", flat=True).first()
    )
    if missed is not None:
        raise _Bad(None, f"event #{missed} is not in the tree although it is older than {LOOKBACK} "
                         "(is the sequencer running? it is the clock tick audit.sequencer.tick)")
