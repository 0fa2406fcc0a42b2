"""The log served as C2SP tlog-tiles (mounted at /api/audit/tlog/), so off-the-shelf monitors follow it.

* ``<prefix>/checkpoint``: the latest published checkpoint (cosigned by the witness quorum);
* ``<prefix>/tile/<L>/<N>[.p/<W>]``: 256 (or W) consecutive Merkle hashes at tree level 8·L,
  read from the stored tree (``Leaf`` for level 0, ``TreeNode`` above);
* ``<prefix>/tile/entries/<N>[.p/<W>]``: the entries, each a big-endian uint16 length and the
  leaf's bytes — the event's public leaf header (``audit.leaf``), never a sealed body.
"""
from __future__ import annotations

import re

from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _

from audit import witnessing
from audit.log_models import Leaf, TreeNode, node_key
from audit.sequencer import tree_size

WIDTH = 256
_ELEM = re.compile(r"x\d{3}")


def parse_index(parts: list[str]) -> int:
    """``x001/x234/067`` -> 1234067 (all but the last element start with x, each 3 digits)."""
    if not parts or len(parts) > 7 or not re.fullmatch(r"\d{3}", parts[-1]) \
            or not all(_ELEM.fullmatch(p) for p in parts[:-1]):
        raise Http404(_("bad tile index"))
    return int("".join(p.lstrip("x") for p in parts))


def parse_path(rest: str) -> tuple[str, int, int]:
    """(level or "entries", tile index, width) from ``<L or entries>/<N>[.p/<W>]``."""
    parts = rest.split("/")
    width = WIDTH
    if len(parts) >= 3 and parts[-2].endswith(".p"):
        w = parts[-1]
        if not re.fullmatch(r"[1-9]\d{0,2}", w) or int(w) >= WIDTH:
            raise Http404(_("bad partial tile width"))
        width = int(w)
        parts = parts[:-2] + [parts[-2][:-2]]
    level = parts[0]
    if level != "entries" and not re.fullmatch(r"0|[1-9]\d?", level):
        raise Http404(_("bad tile level"))
    if level != "entries" and int(level) > 63:
        raise Http404(_("bad tile level"))
    return level, parse_index(parts[1:]), width


def _available(level: int, size: int) -> int:
    """How many hashes exist at tree level ``8*level`` for a tree of ``size`` leaves."""
    return size >> (8 * level)


def tile(level: int, index: int, width: int) -> bytes:
    size = tree_size()
    first, last = index * WIDTH, index * WIDTH + width
    if last > _available(level, size):
        raise Http404(_("tile beyond the tree"))
    if level == 0:
        rows = Leaf.objects.filter(index__gte=first, index__lt=last).order_by("index").values_list("hash", flat=True)
        hashes = [bytes(h) for h in rows]
    else:
        keys = [node_key(8 * level, i) for i in range(first, last)]
        found = dict(TreeNode.objects.filter(key__in=keys).values_list("key", "hash"))
        hashes = [bytes(found[k]) for k in keys if k in found]
    if len(hashes) != width:
        raise Http404(_("tile not stored"))
    return b"".join(hashes)


def entries(index: int, width: int) -> bytes:
    size = tree_size()
    first, last = index * WIDTH, index * WIDTH + width
    if last > size:
        raise Http404(_("entry bundle beyond the tree"))
    with connection.cursor() as cur:
        cur.execute(f'SELECT "index", header FROM {Leaf._meta.db_table} WHERE "index" >= %s AND "index" < %s '
                    'ORDER BY "index"', [first, last])
        rows = cur.fetchall()
    if len(rows) != width or any(h is None for _index, h in rows):
        raise Http404(_("entries of the first leaf format are not served (their leaf is the whole event)"))
    out = bytearray()
    for _index, header in rows:
        data = header.encode("utf-8")
        out += len(data).to_bytes(2, "big") + data
    return bytes(out)


def serve(request, rest: str) -> HttpResponse:
    try:
        return _serve(rest)
    except Http404 as exc:
        # the refusals above are translatable literals: the detail in the request's language
        return JsonResponse({"code": "not_found", "detail": str(exc), "fields": {}}, status=404)


def _serve(rest: str) -> HttpResponse:
    if rest == "checkpoint":
        cp = witnessing.latest_published()
        if cp is None:
            raise Http404(_("no published checkpoint yet"))
        response = HttpResponse(witnessing.published_note(cp), content_type="text/plain; charset=utf-8")
        response["Cache-Control"] = "no-cache, max-age=2"
        return response
    if not rest.startswith("tile/"):
        raise Http404(_("not a tlog-tiles path"))
    level, index, width = parse_path(rest[len("tile/"):])
    body = entries(index, width) if level == "entries" else tile(int(level), index, width)
    response = HttpResponse(body, content_type="application/octet-stream")
    response["Cache-Control"] = "public, max-age=31536000, immutable" if width == WIDTH else "public, max-age=60"
    return response
