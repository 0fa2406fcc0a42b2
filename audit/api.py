"""Audit log API (mounted at /api/audit/): checkpoints, public key, proofs, events by visibility.

Anyone may read it: public events in full, every other event only as its leaf hash (so proofs
still verify for everyone); supervisors read the others as `audit.visibility` allows (bidder
activity only after its lot's deadline).
"""
from __future__ import annotations

from typing import Any, Literal, overload

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound as ApiNotFound
from rest_framework.response import Response

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit import merkle, proofs, sequencer, tiles, visibility, witnessing
from audit.checkpoint import parse_checkpoint
from audit.log_models import Checkpoint, Leaf
from audit.models import Event
from audit.visibility import Disclosure
from audit import messages as AM
from trading.errors import DomainError, Invalid, NotFound, translated
from trading.ids import query_int
from trading.schema import anything, boolean, integer, listof, shape, text
from audit import timestamps

MAX_PAGE = 500



# OpenAPI response shapes (documentation only: the views build their answers)
def _checkpoint_shape():
    return shape("Checkpoint", {"size": integer(), "root": text(help_text="base64"), "time": text(help_text="UTC, Z"),
                                "origin": text(), "note": text(help_text="the C2SP signed note, with witness cosignatures"),
                                "witnessed": boolean(help_text="cosigned by the witness quorum of /api/audit/policy/")})


PUBLIC_KEY = shape("AuditPublicKey", {"origin": text(), "verifier_key": text(), "algorithm": text(), "format": text()})
CHECKPOINTS = shape("CheckpointPage", {"results": listof(_checkpoint_shape()),
                                       "next_before": integer(allow_null=True, help_text="pass as ?before= for more")})
INCLUSION = shape("InclusionProof", {
    "event": integer(allow_null=True), "index": integer(), "tree_size": integer(), "leaf_hash": text(),
    "header": text(allow_null=True, help_text="the leaf header the leaf hash is over (audit.leaf)"),
    "proof": listof(text()), "root": text(required=False), "checkpoint": text(required=False)})
CONSISTENCY = shape("ConsistencyProof", {"first": integer(), "second": integer(), "proof": listof(text())})
EVENTS = shape("AuditEventPage", {
    "results": listof(shape("AuditEvent", {"id": integer(), "index": integer(allow_null=True),
                                            "leaf_hash": text(allow_null=True), "header": text(allow_null=True),
                                            "visibility": text(), "event": anything(required=False)})),
    "next_after": integer(allow_null=True, help_text="pass as ?after= for more")})

@overload
def _int(request: Any, name: str, *, required: Literal[True] = True, default: int | None = None, minimum: int = 0) -> int: ...
@overload
def _int(request: Any, name: str, *, required: Literal[False], default: int, minimum: int = 0) -> int: ...
@overload
def _int(request: Any, name: str, *, required: Literal[False], default: None = None, minimum: int = 0) -> int | None: ...
def _int(request: Any, name: str, *, required: bool = True, default: int | None = None, minimum: int = 0) -> int | None:
    return query_int(request.query_params, name, required=required, default=default, minimum=minimum)


def _proof_error(exc: merkle.ProofError) -> DomainError:
    """A proof refused, in the request's language (audit/messages.py by the error's code)."""
    return translated(NotFound if isinstance(exc, proofs.NotFoundError) else Invalid, exc, AM.PROOFS)


def checkpoint_json(cp: Checkpoint) -> dict:
    body = parse_checkpoint(cp.note.split("\n\n")[0] + "\n")
    return {"size": cp.size, "root": cp.root_b64, "time": timestamps.iso(cp.created_at),
            "origin": body.origin, "note": witnessing.published_note(cp), "witnessed": witnessing.witnessed(cp)}


def event_json(event: Event, index: int | None, seen: Disclosure) -> dict:
    leaf_hash = event.leaf_hash
    out: dict[str, Any] = {"id": event.pk, "index": index, "leaf_hash": proofs.b64(leaf_hash) if leaf_hash else None,
           "header": event.leaf.header if leaf_hash else None, "visibility": event.visibility}
    if seen is Disclosure.FULL:
        out["event"] = event.body
    return out


@extend_schema(operation_id="audit_public_key", description="The platform's log public key (C2SP signed-note verifier key).", responses={200: PUBLIC_KEY}, parameters=[])
@api_view(["GET"])
def public_key(request):
    return Response({"origin": sequencer.origin(), "verifier_key": sequencer.verifier_key(), "algorithm": "Ed25519",
                     "format": "C2SP signed-note verifier key; checkpoints are C2SP tlog-checkpoint"})


@extend_schema(operation_id="audit_checkpoints_list", description="Signed checkpoints, newest first.", responses={200: CHECKPOINTS}, parameters=[OpenApiParameter("limit", OpenApiTypes.INT, required=False, description="at most this many"), OpenApiParameter("before", OpenApiTypes.INT, required=False, description="only checkpoints of a smaller size")])
@api_view(["GET"])
def checkpoints(request):
    limit = min(_int(request, "limit", required=False, default=50, minimum=1), MAX_PAGE)
    before = _int(request, "before", required=False)
    qs = Checkpoint.objects.order_by("-size")
    if before is not None:
        qs = qs.filter(size__lt=before)
    rows = list(qs[:limit])
    return Response({"results": [checkpoint_json(cp) for cp in rows],
                     "next_before": rows[-1].size if len(rows) == limit else None})


@extend_schema(operation_id="audit_checkpoint_latest", description="The latest signed checkpoint.", responses={200: _checkpoint_shape()}, parameters=[])
@api_view(["GET"])
def checkpoint_latest(request):
    """The latest checkpoint with the witness quorum the policy names (/api/audit/policy/)."""
    cp = witnessing.latest_published()
    if cp is None:
        raise ApiNotFound(_("no checkpoint has been signed (and cosigned by the witness quorum) yet"))
    return Response(checkpoint_json(cp))


@extend_schema(operation_id="audit_policy", description="The C2SP tlog-policy (log key, witnesses, quorum) a verifier should use.", responses={(200, "text/plain"): OpenApiTypes.STR}, parameters=[])
@api_view(["GET"])
def policy(request):
    return HttpResponse(witnessing.policy_text(), content_type="text/plain; charset=utf-8")


@extend_schema(operation_id="audit_checkpoint_of_size", description="The signed checkpoint of a given tree size.", responses={200: _checkpoint_shape()}, parameters=[])
@api_view(["GET"])
def checkpoint_at(request, size: int):
    cp = Checkpoint.objects.filter(size=size).first()
    if cp is None:
        raise ApiNotFound(_("no signed checkpoint has tree size %(size)s") % {"size": size})
    return Response(checkpoint_json(cp))


@extend_schema(operation_id="audit_inclusion_proof", description="RFC 6962 inclusion proof of a leaf (by index and tree size, or by event id).", responses={200: INCLUSION}, parameters=[OpenApiParameter("index", OpenApiTypes.INT, required=False, description="leaf index"), OpenApiParameter("size", OpenApiTypes.INT, required=False, description="tree size (a checkpoint's)"), OpenApiParameter("event", OpenApiTypes.INT, required=False, description="event id instead of index")])
@api_view(["GET"])
def inclusion(request):
    event_id = _int(request, "event", required=False)
    try:
        if event_id is not None:
            size = _int(request, "size", required=False)
            cp = proofs.checkpoint_of_size(size) if size is not None else None
            return Response(proofs.event_proof(event_id, cp).as_json())
        index, size = _int(request, "index"), _int(request, "size", minimum=1)
        proof = proofs.inclusion_proof(index, size)
    except merkle.ProofError as exc:
        raise _proof_error(exc) from None
    from audit.log_models import Leaf

    leaf = Leaf.objects.get(index=index)
    return Response({"index": index, "tree_size": size, "event": leaf.event_id, "leaf_hash": proofs.b64(leaf.hash),
                     "header": leaf.header, "proof": [proofs.b64(h) for h in proof]})


@extend_schema(operation_id="audit_consistency_proof", description="RFC 6962 consistency proof between two tree sizes.", responses={200: CONSISTENCY}, parameters=[OpenApiParameter("first", OpenApiTypes.INT, required=True, description="the smaller tree size"), OpenApiParameter("second", OpenApiTypes.INT, required=True, description="the larger tree size")])
@api_view(["GET"])
def consistency(request):
    first, second = _int(request, "first", minimum=1), _int(request, "second", minimum=1)
    try:
        proof = proofs.consistency_proof(first, second)
    except merkle.ProofError as exc:
        raise _proof_error(exc) from None
    return Response({"first": first, "second": second, "proof": [proofs.b64(h) for h in proof]})


@extend_schema(operation_id="audit_events_list", description="Events in log order; public events in full, others by leaf hash only.", responses={200: EVENTS}, parameters=[OpenApiParameter("project", OpenApiTypes.INT, required=False, description="a project's readable events"), OpenApiParameter("after", OpenApiTypes.INT, required=False, description="events after this id"), OpenApiParameter("limit", OpenApiTypes.INT, required=False, description="at most this many")])
@api_view(["GET"])
def events(request):
    """Events in log order; ?project=<id>, ?after=<event id>, ?limit=.

    What the caller may see of each event is decided by `audit.visibility` (the one rule). The whole
    log lists every event (the ones the caller may not read by leaf hash only), so proofs verify for
    everyone. A project's listing holds only the events the caller may know exist: before a lot's
    deadline, nobody learns there that anyone registered, paid or submitted, nor how many."""
    project = _int(request, "project", required=False)
    after = _int(request, "after", required=False)
    limit = min(_int(request, "limit", required=False, default=100, minimum=1), MAX_PAGE)
    now = timezone.now()
    if project is not None:
        pairs, next_after = visibility.project_events(project, user=request.user, now=now, after=after, limit=limit)
    else:
        qs = Event.objects.order_by("id")
        if after is not None:
            qs = qs.filter(id__gt=after)
        rows = list(qs[:limit])
        facts = visibility.facts_for(rows)
        supervisor = visibility.is_supervisor(request.user)
        pairs = [(e, visibility.of_event(e, supervisor=supervisor, facts=facts, now=now)) for e in rows]
        next_after = rows[-1].pk if len(rows) == limit else None
    index = dict(Leaf.objects.filter(event_id__in=[e.pk for e, _ in pairs]).values_list("event_id", "index"))
    data = []
    for e, seen in pairs:
        data.append(event_json(e, index.get(e.pk), seen if project is not None or seen is Disclosure.FULL
                               else Disclosure.HASH))
    return Response({"results": data, "next_after": next_after})


urlpatterns = [
    path("public-key/", public_key, name="audit-public-key"),
    path("policy/", policy, name="audit-policy"),
    path("tlog/<path:rest>", tiles.serve, name="audit-tlog"),
    path("checkpoints/", checkpoints, name="audit-checkpoints"),
    path("checkpoints/latest/", checkpoint_latest, name="audit-checkpoint-latest"),
    path("checkpoints/<int:size>/", checkpoint_at, name="audit-checkpoint"),
    path("proofs/inclusion/", inclusion, name="audit-inclusion"),
    path("proofs/consistency/", consistency, name="audit-consistency"),
    path("events/", events, name="audit-events"),
]
