"""The sequencer: integrates committed events into the Merkle tree in batches and signs checkpoints.

Business transactions only INSERT an event row (audit.record). Independently, ``integrate()``
takes the events that are not in the tree yet, gives them the next contiguous leaf indices,
stores their leaf hashes and every perfect subtree they complete, and signs a checkpoint of
the new tree head — all in one transaction of its own, guarded by an advisory lock on
PostgreSQL so that only one sequencer writes at a time (Trillian/Tessera style).
"""
from __future__ import annotations

import datetime as dt
import functools
import io
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from audit import checkpoint as ck
from audit import leaf as lf
from audit import merkle
from audit.log_models import Checkpoint, Leaf, ProjectSequence, TreeNode, node_key
from audit.models import Event

ADVISORY_LOCK_ID = 0x53554E4C  # "SUNL"
LOOKBACK = dt.timedelta(minutes=10)  # longer than any business transaction


# ------------------------------------------------------------------ configuration + key

EXAMPLE_ORIGIN = "sunlight.example/log"


def origin() -> str:
    value = getattr(settings, "SUNLIGHT_LOG_ORIGIN", "") or EXAMPLE_ORIGIN
    if value == EXAMPLE_ORIGIN and getattr(settings, "PRODUCTION", False):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SUNLIGHT_LOG_ORIGIN is the example name: production needs the log's own origin "
                                   "(e.g. ggzy.example-city.gov.cn/sunlight/log)")
    return value


def key_file() -> Path:
    default = Path(getattr(settings, "VAR_DIR", Path.cwd() / "var")) / "audit-log-ed25519.pem"
    return Path(getattr(settings, "SUNLIGHT_AUDIT_KEY_FILE", "") or default)


def checkpoint_interval() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "SUNLIGHT_AUDIT_CHECKPOINT_SECONDS", 2)))


@functools.lru_cache(maxsize=4)
def _key(path: str):
    if getattr(settings, "PRODUCTION", False) and not Path(path).exists():
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"the audit signing key {path} does not exist: set SUNLIGHT_AUDIT_KEY_FILE to the "
                                   "platform's Ed25519 key (PEM, PKCS#8); production never generates one silently")
    return ck.load_or_create_private_key(path)


def signing_key():
    return _key(str(key_file()))


@functools.lru_cache(maxsize=4)
def _tag_master(path: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    raw = _key(path).private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption())
    return lf.master_from_private(raw)


def project_tag_key(project_id: int) -> bytes:
    """The key of a project's completeness tags (secret until revealed; see audit.leaf)."""
    return lf.project_key(_tag_master(str(key_file())), project_id)


def verifier_key() -> str:
    """The public key string published on the portal (``name+keyid+base64``)."""
    return ck.verifier_key(origin(), signing_key())


# ------------------------------------------------------------------------- reads

def tree_size() -> int:
    top = Leaf.objects.aggregate(m=Max("index"))["m"]
    return 0 if top is None else top + 1


def fetch_nodes(nodes, *, also_leaf: int | None = None) -> dict[merkle.Node, bytes]:
    """Hashes of perfect nodes in one query: level 0 from the leaves, the rest from TreeNode.

    ``also_leaf`` adds one more leaf to the same query (proofs use it to check the tree size)."""
    leaves = sorted({i for lvl, i in nodes if lvl == 0} | ({also_leaf} if also_leaf is not None else set()))
    keys = sorted({node_key(lvl, i) for lvl, i in nodes if lvl > 0})
    parts, params = [], []
    if leaves:
        parts.append(f'SELECT 0, "index", hash FROM {Leaf._meta.db_table} WHERE "index" IN ({", ".join(["%s"] * len(leaves))})')
        params += leaves
    if keys:
        parts.append(f"SELECT 1, key, hash FROM {TreeNode._meta.db_table} WHERE key IN ({', '.join(['%s'] * len(keys))})")
        params += keys
    out: dict[merkle.Node, bytes] = {}
    if parts:
        with connection.cursor() as cur:
            cur.execute(" UNION ALL ".join(parts), params)
            for kind, key, h in cur.fetchall():
                out[(0, key) if kind == 0 else (key >> 48, key & ((1 << 48) - 1))] = bytes(h)
    missing = (set(nodes) | ({(0, also_leaf)} if also_leaf is not None else set())) - out.keys()
    if missing:
        raise merkle.ProofError(f"tree nodes missing from storage: {sorted(missing)[:5]}")
    return out


# ------------------------------------------------------------------------ writes

@dataclass(frozen=True)
class Integrated:
    added: int
    size: int
    checkpoint: Checkpoint | None


def _lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite serialises writers itself
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK_ID])
        return bool(cur.fetchone()[0])


def _event_floor(now: dt.datetime) -> int:
    """Events with id <= this are all integrated (any transaction ends within LOOKBACK)."""
    old = (
        Checkpoint.objects.filter(created_at__lte=now - LOOKBACK)
        .order_by("-created_at", "-size")
        .values_list("max_event_id", flat=True)
        .first()
    )
    return old or 0


def pending_events(now: dt.datetime, limit: int):
    return (
        Event.objects.filter(id__gt=_event_floor(now))
        .filter(~Exists(Leaf.objects.filter(event_id=OuterRef("pk"))))
        .order_by("id")
        .values_list("id", "canonical", "project_id", "visibility", "action")[:limit]
    )


def _copy_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _insert(leaves: list[tuple[int, int, bytes, str]], nodes: list[tuple[int, bytes]]) -> None:
    if connection.vendor == "postgresql":  # COPY: the fastest way in; the triggers only refuse changes
        with connection.cursor() as cur:
            if leaves:
                buf = io.StringIO("".join(f"{i}\t{e}\t\\\\x{h.hex()}\t{_copy_text(t)}\n" for i, e, h, t in leaves))
                cur.copy_expert(f'COPY {Leaf._meta.db_table} ("index", event_id, hash, header) FROM STDIN', buf)
            if nodes:
                buf = io.StringIO("".join(f"{k}\t\\\\x{h.hex()}\n" for k, h in nodes))
                cur.copy_expert(f"COPY {TreeNode._meta.db_table} (key, hash) FROM STDIN", buf)
        return
    Leaf.objects.bulk_create([Leaf(index=i, event_id=e, hash=h, header=t) for i, e, h, t in leaves], batch_size=500)
    TreeNode.objects.bulk_create([TreeNode(key=k, hash=h) for k, h in nodes], batch_size=500)


def _tags(rows) -> dict[int, tuple[str, int]]:
    """event id -> (tag, n) for the batch's project events; advances each project's counter."""
    projects = sorted({r[2] for r in rows if r[2] is not None})
    if not projects:
        return {}
    counts = dict(ProjectSequence.objects.filter(project_id__in=projects).values_list("project_id", "count"))
    start = {p: counts.get(p, 0) for p in projects}
    keys = {p: project_tag_key(p) for p in projects}
    out, seen = {}, dict(start)
    for event_id, _canonical, project_id, _vis, _action in rows:
        if project_id is not None:
            seen[project_id] += 1
            out[event_id] = (lf.tag(keys[project_id], seen[project_id]), seen[project_id])
    new = [ProjectSequence(project_id=p, count=seen[p]) for p in projects]
    ProjectSequence.objects.bulk_create(new, update_conflicts=True, unique_fields=["project_id"],
                                        update_fields=["count"])
    return out


def _sign(size: int, root: bytes, now: dt.datetime, max_event_id: int) -> Checkpoint:
    cp = ck.Checkpoint(origin(), size, root)
    note = ck.sign_checkpoint(cp, signing_key())
    return Checkpoint.objects.create(size=size, root=root, created_at=now, note=note, max_event_id=max_event_id)


def integrate(*, now: dt.datetime | None = None, limit: int = 10_000, sign: bool = True) -> Integrated:
    """Integrate up to ``limit`` pending events and sign a checkpoint of the new head."""
    now = now or timezone.now()
    with transaction.atomic():
        if not _lock():
            return Integrated(0, -1, None)
        size = tree_size()
        rows = list(pending_events(now, limit))
        last_cp = Checkpoint.objects.order_by("-size").first()
        if not rows:
            if sign and size and (last_cp is None or last_cp.size < size):
                root = merkle.CompactRange(size, fetch_nodes(merkle.CompactRange.border_nodes(size))).root()
                return Integrated(0, size, _sign(size, root, now, last_cp.max_event_id if last_cp else 0))
            return Integrated(0, size, None)
        cr = merkle.CompactRange(size, fetch_nodes(merkle.CompactRange.border_nodes(size)))
        leaves: list[tuple[int, int, bytes, str]] = []
        nodes: list[tuple[int, bytes]] = []
        tags = _tags(rows)
        for event_id, canonical, _project, visibility, action in rows:
            tag, n = tags.get(event_id, (None, None))
            head = lf.header(canonical=canonical.encode("utf-8"), visibility=visibility, tag_hex=tag,
                             count=n if action == lf.CLOSE_ACTION else None)
            h = merkle.leaf_hash(head)
            leaves.append((cr.size, event_id, h, head.decode("utf-8")))
            nodes.extend((node_key(lvl, i), nh) for (lvl, i), nh in cr.append(h))
        _insert(leaves, nodes)
        cp = None
        if sign:
            max_id = max(rows[-1][0], last_cp.max_event_id if last_cp else 0)
            cp = _sign(cr.size, cr.root(), now, max_id)
        return Integrated(len(rows), cr.size, cp)


def integrate_all(*, now: dt.datetime | None = None, limit: int = 10_000) -> Integrated:
    """Integrate until nothing is pending (tests, commands, receipts)."""
    total, last = 0, Integrated(0, tree_size(), None)
    while True:
        res = integrate(now=now, limit=limit)
        if res.size < 0:
            return last
        total += res.added
        last = Integrated(total, res.size, res.checkpoint or last.checkpoint)
        if res.added < limit:
            return last


def tick(now: dt.datetime | None = None) -> int:
    """Clock hook (SUNLIGHT_CLOCK_TICKS / beat): integrate and sign, at most every few seconds."""
    now = now or timezone.now()
    latest = Checkpoint.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    if latest is not None and dt.timedelta(0) <= now - latest < checkpoint_interval():
        return 0
    added = integrate_all(now=now).added
    from audit import witnessing

    witnessing.cosign_latest()
    return added
