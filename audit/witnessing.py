"""Witness cosignatures of the platform's checkpoints (C2SP tlog-witness, tlog-cosignature, tlog-policy).

After the sequencer signs a checkpoint, ``cosign`` sends it to every configured witness
(``settings.SUNLIGHT_WITNESSES``) in parallel with the consistency proof from the size that witness
last cosigned, keeps each valid cosignature line, and the checkpoint is *published* (API, archives)
only once a quorum (``SUNLIGHT_WITNESS_QUORUM`` of them, default all) has cosigned it. A witness
refuses a second tree of a size it has seen, so the platform cannot show two logs to two people.
"""
from __future__ import annotations

import logging
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

import sunlight_verify as sv
from audit import proofs, sequencer
from audit.log_models import Checkpoint, Cosignature

log = logging.getLogger(__name__)


def witnesses() -> list[dict]:
    return list(getattr(settings, "SUNLIGHT_WITNESSES", []) or [])


def quorum() -> int:
    n = len(witnesses())
    k = int(getattr(settings, "SUNLIGHT_WITNESS_QUORUM", 0) or 0)
    return min(k, n) if k else n


def policy_text() -> str:
    """The C2SP tlog-policy a verifier should use (published at /api/audit/policy/)."""
    lines = [f"log {sequencer.verifier_key()}"]
    ws = witnesses()
    for i, w in enumerate(ws, 1):
        lines.append(f"witness w{i} {w['vkey']} {w.get('url', '')}".rstrip())
    if ws:
        lines.append(f"group platform-witnesses {quorum()} " + " ".join(f"w{i}" for i in range(1, len(ws) + 1)))
        lines.append("quorum platform-witnesses")
    else:
        lines.append("quorum none")
    return "\n".join(lines) + "\n"


def published_note(cp: Checkpoint) -> str:
    """The checkpoint note as published: the log's signature and the witnesses' cosignature lines."""
    lines = sorted(Cosignature.objects.filter(checkpoint=cp).values_list("line", flat=True))
    return cp.note + "".join(lines)


def witnessed(cp: Checkpoint) -> bool:
    if not witnesses():
        return True
    keys = {w["vkey"] for w in witnesses()}
    return Cosignature.objects.filter(checkpoint=cp, witness__in=keys).count() >= quorum()


def latest_published() -> Checkpoint | None:
    """The newest checkpoint with the witness quorum (the newest checkpoint when there are no witnesses)."""
    if not witnesses():
        return proofs.latest_checkpoint()
    for cp in Checkpoint.objects.order_by("-size")[:50]:
        if witnessed(cp):
            return cp
    return None


def _old_size(vkey: str) -> int:
    return (Cosignature.objects.filter(witness=vkey).order_by("-checkpoint__size")
            .values_list("checkpoint__size", flat=True).first() or 0)


def _post(url: str, body: str, timeout: float) -> tuple[int, str]:
    req = urllib.request.Request(url.rstrip("/") + "/add-checkpoint", data=body.encode(), method="POST",
                                 headers={"Content-Type": "text/plain; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (configured witness URL)
            return resp.status, resp.read(1 << 16).decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read(1 << 16).decode("utf-8", "replace")


def _request_body(old: int, cp: Checkpoint) -> str:
    proof = [] if old in (0, cp.size) else proofs.consistency_proof(old, cp.size)
    return f"old {old}\n" + "".join(proofs.b64(h) + "\n" for h in proof) + "\n" + cp.note


def cosign(cp: Checkpoint) -> int:
    """Ask every witness to cosign ``cp``; store the valid cosignatures; return how many it has."""
    ws = [w for w in witnesses() if not Cosignature.objects.filter(checkpoint=cp, witness=w["vkey"]).exists()]
    if not ws:
        return Cosignature.objects.filter(checkpoint=cp).count()
    timeout = float(getattr(settings, "SUNLIGHT_WITNESS_TIMEOUT", 3.0))
    bodies = {w["vkey"]: _request_body(_old_size(w["vkey"]), cp) for w in ws}

    def ask(w: dict) -> tuple[dict, int, str]:
        try:
            status, text = _post(w["url"], bodies[w["vkey"]], timeout)
            if status == 409 and text.strip().isdigit():  # it holds another size: prove from there
                held = int(text.strip())
                if held <= cp.size and (held == 0 or Checkpoint.objects.filter(size=held).exists()):
                    status, text = _post(w["url"], _request_body(held, cp), timeout)
            return w, status, text
        except OSError as exc:
            return w, 0, str(exc)

    with ThreadPoolExecutor(max_workers=len(ws)) as pool:
        answers = list(pool.map(ask, ws))
    for w, status, text in answers:
        if status != 200:
            log.warning("witness %s refused checkpoint %s: %s %s", w.get("name"), cp.size, status, text[:200])
            continue
        for line in text.splitlines(keepends=True):
            when = sv.cosignature_time(cp.note + line, w["vkey"]) if line.startswith("\u2014 ") else None
            if when is not None:
                Cosignature.objects.get_or_create(checkpoint=cp, witness=w["vkey"],
                                                  defaults={"line": line, "timestamp": when})
                break
        else:
            log.warning("witness %s answered without a valid cosignature", w.get("name"))
    return Cosignature.objects.filter(checkpoint=cp).count()


def cosign_latest() -> int:
    cp = proofs.latest_checkpoint()
    return cosign(cp) if cp is not None and witnesses() else 0
