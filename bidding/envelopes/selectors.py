"""Reads shared by the API, the pages and the next capability (evaluation)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bidding.envelopes.models import CustodyShare, Envelope, OpenedBid, OpeningKey
from trading.models import Lot
from trading.permissions import is_staff_of, is_supervisor, role_of
from audit import timestamps
from trading import keys
from trading.money import format_fen


@dataclass(frozen=True)
class OpenedBidView:
    id: int  # the opened bid's id
    bidder_org_id: int
    bidder_name: str
    price_fen: int | None
    terms: dict
    valid: bool
    outcome: str
    failure_reason: str  # the record's own text, as written at the opening (English, with the article)
    failure_code: str  # its stable code: pages say it by bidding.envelopes.messages.opening_failure
    envelope_digest: str
    documents: list = field(default_factory=list)  # [{"id", "name", "size", "sha256", "content_type"}]


def opened_bids(lot: Lot) -> list[OpenedBidView]:
    """The opened bids of a lot once it is opened (empty before): for evaluation and supervisors."""
    key = OpeningKey.objects.filter(lot=lot).first()
    if key is None or key.opened_at is None:
        return []
    out = []
    for bid in OpenedBid.objects.filter(lot=lot).select_related("bidder", "envelope").prefetch_related("documents"):
        out.append(OpenedBidView(
            id=bid.pk, bidder_org_id=bid.bidder_id, bidder_name=bid.bidder.name, price_fen=bid.price_fen, terms=bid.terms,
            valid=bid.valid, outcome=bid.outcome, failure_reason=bid.failure_reason, failure_code=bid.failure_code,
            envelope_digest=bid.envelope.digest,
            documents=[{"id": d.pk, "name": d.name, "size": d.size, "sha256": d.sha256,
                        "content_type": d.content_type} for d in bid.documents.all()]))
    return out


def receipt_signature(env: Envelope) -> str:
    """The receipt's platform signature in the one form (hex); receipts signed before the hex rule keep their
    base64 in the (append-only) row and are given out in hex too."""
    return keys.encode(keys.legacy(env.receipt_signature, size=keys.SIGNATURE_BYTES))


def opening_key_of(lot: Lot) -> OpeningKey | None:
    return OpeningKey.objects.filter(lot=lot).first()


def my_envelope(user, lot: Lot) -> Envelope | None:
    if role_of(user) != "bidder":
        return None
    return Envelope.objects.filter(lot=lot, bidder_id=user.organisation_id, status="active").first()


def my_envelope_history(user, lot: Lot):
    if role_of(user) != "bidder":
        return Envelope.objects.none()
    return Envelope.objects.filter(lot=lot, bidder_id=user.organisation_id).order_by("-id")


def ceremony_state(lot: Lot, user=None) -> dict:
    """Public-safe state of the opening (no counts of envelopes before the deadline)."""
    key = OpeningKey.objects.filter(lot=lot).first()
    state: dict[str, Any] = {"lot": lot.pk, "status": lot.status, "has_key": key is not None,
             "deadline_passed": timezone.now() >= lot.bid_deadline}
    if key is None:
        return state
    state.update(public_key=bytes(key.public_key).hex(), k=key.k, n=key.n,
                 custodians=[{"id": s.custodian_id, "name": s.custodian.get_full_name() or s.custodian.username,
                              "role": s.custodian.role, "x": s.x, "digest": s.digest,
                              "presented": s.presented_at is not None}
                             for s in CustodyShare.objects.filter(opening_key=key).select_related("custodian")])
    if key.sealed_at is not None:
        state.update(envelope_count=key.envelope_count, merkle_root=key.merkle_root)
    state["presented"] = sum(1 for c in state["custodians"] if c["presented"])
    state["opened"] = key.opened_at is not None
    if key.opened_at is not None:
        state["bids"] = [{"id": b.id, "bidder": b.bidder_name, "price": format_fen(b.price_fen), "terms": b.terms,
                          "outcome": b.outcome, "failure_reason": b.failure_reason} for b in opened_bids(lot)]
        state["valid"] = sum(1 for b in opened_bids(lot) if b.valid)
    return state


def can_read_opened(user, lot: Lot) -> bool:
    """Staff of the centre, supervisors and admins. Experts read opened bids only in their own
    evaluation workspace, for the lots they sit on (bidding.evaluation), never through this view."""
    return is_staff_of(user, lot.project) or is_supervisor(user) or role_of(user) == "admin"


def live_envelopes(project, now) -> dict | None:
    """The live counterpart of bidding/envelopes/replay.py (same shape)."""
    from bidding.envelopes.models import CustodyShare as _Share

    lots: dict[str, dict[str, Any]] = {}
    for lot in project.lots.order_by("number"):
        key = OpeningKey.objects.filter(lot=lot).first()
        envs = {e.digest: {"bidder": e.bidder_id, "status": e.status, "at": _iso(e.submitted_at)}
                for e in Envelope.objects.filter(lot=lot).order_by("id")}
        if key is None and not envs:
            continue
        row: dict[str, Any] = {"opening_key": None, "envelopes": envs, "seal": None, "presented": [], "opening": None}
        if key is not None:
            shares = list(_Share.objects.filter(opening_key=key).order_by("x"))
            row["opening_key"] = {"public_key": bytes(key.public_key).hex(), "k": key.k, "n": key.n,
                                  "custody": [{"custodian": s.custodian_id, "x": s.x, "digest": s.digest}
                                              for s in shares]}
            row["presented"] = sorted(s.custodian_id for s in shares if s.presented_at is not None)
            if key.sealed_at is not None:
                row["seal"] = {"count": key.envelope_count, "merkle_root": key.merkle_root}
            if key.opened_at is not None:
                bids = OpenedBid.objects.filter(lot=lot).select_related("envelope")
                row["opening"] = {
                    "valid": sum(1 for b in bids if b.valid),
                    "bids": sorted(({"bidder": b.bidder_id, "digest": b.envelope.digest, "outcome": b.outcome,
                                     "price_fen": b.price_fen, "terms": b.terms, "failure_code": b.failure_code}
                                    for b in bids), key=lambda b: b["digest"]),
                }
        lots[str(lot.pk)] = row
    return {"lots": lots} if lots else None


_iso = timestamps.iso


def document_content(document) -> bytes:
    """The bytes of an opened bid document, read from the stored envelope with the bid's content key."""
    from bidding.envelopes import envelope as E

    bid = document.bid
    if bid.content_key is None:
        raise ValueError("this bid was not opened")
    content = E.decrypt_with_content_key(bytes(bid.envelope.ciphertext), bytes(bid.content_key))
    return content.documents[document.position].content


def own_envelope_by_digest(user, digest: str) -> Envelope:
    """One of the user's organisation's envelopes (any status), by digest; others' are 'not found'."""
    from trading.errors import NotFound

    if role_of(user) != "bidder" or not isinstance(digest, str) or len(digest) != 64:
        raise NotFound(_("no such receipt"))
    env = Envelope.objects.filter(digest=digest.lower(), bidder_id=user.organisation_id).first()
    if env is None:
        raise NotFound(_("no such receipt"))
    return env


def receipt_proof(user, digest: str, *, size: int | None = None) -> dict:
    """For the bidder's receipt: the submission event (its exact leaf bytes) and its inclusion proof
    against the latest signed checkpoint (or the one of `size`), from the audit app's own proofs.
    Verify offline with `sunlight-bid verify-receipt` (bidding/envelopes/receipts.py)."""
    from audit import merkle, proofs, sequencer
    from audit import messages as AM
    from audit.models import Event
    from trading.errors import Conflict, NotFound, translated

    env = own_envelope_by_digest(user, digest)
    try:
        checkpoint = proofs.checkpoint_of_size(size) if size is not None else None
    except proofs.NotFoundError as exc:
        raise translated(NotFound, exc, AM.PROOFS) from None
    try:
        proof = proofs.event_proof(env.event_id, checkpoint)
    except merkle.ProofError as exc:  # NotFoundError: not integrated / not under a signed checkpoint yet
        raise Conflict(_("the submission event is not provable in the audit log yet: %(exc)s"),
                       exc=translated(Conflict, exc, AM.PROOFS)) from None
    event = Event.objects.get(pk=env.event_id)
    return {"receipt": env.receipt, "signature": receipt_signature(env), "event": event.canonical,
            "inclusion": proof.as_json(),
            "log": {"origin": sequencer.origin(), "verifier_key": sequencer.verifier_key()}}
