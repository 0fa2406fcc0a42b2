"""Reads shared by the consumer, the API and the pages."""
from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bidding.auction import engine as E
from bidding.auction.models import Auction, AuctionEvent, BidderNumber, Confirmation, ConfirmationVoid, SaleContract
from audit import timestamps
from bidding.auction.services import public_state
from trading.money import decimal_keys
from trading.errors import NotFound

RESYNC_LIMIT = 2000  # beyond this many missed events a client gets a snapshot instead


def server_time() -> str:
    return timestamps.iso_z(timezone.now())


def get_auction(auction_id: int | str) -> Auction:
    try:
        return Auction.objects.select_related("lot__project").get(pk=int(auction_id))
    except (Auction.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("no such auction")) from None


def frame_of(ev: AuctionEvent) -> dict[str, Any]:
    return {"seq": ev.seq, "kind": ev.kind, "data": decimal_keys(ev.data), "at": timestamps.iso_z(ev.at)}


def events_after(auction: Auction, last_seq: int, *, upto: int | None = None,
                 limit: int | None = None) -> list[dict[str, Any]]:
    qs = AuctionEvent.objects.filter(auction=auction, seq__gt=last_seq).order_by("seq")
    if upto is not None:
        qs = qs.filter(seq__lte=upto)
    if limit is not None:
        qs = qs[:limit]
    return [frame_of(e) for e in qs]


def number_of(auction: Auction, user) -> str | None:
    org_id = getattr(user, "organisation_id", None)
    if not getattr(user, "is_authenticated", False) or getattr(user, "role", "") != "bidder" or org_id is None:
        return None
    return BidderNumber.objects.filter(auction=auction, organisation_id=org_id).values_list("number", flat=True).first()


def snapshot(auction: Auction, user=None) -> dict[str, Any]:
    """The whole public state and history (one consistent read: state first, then events up to it)."""
    auction = Auction.objects.select_related("lot__project").get(pk=auction.pk)
    state = public_state(auction)
    return {
        "type": "snapshot", "seq": auction.last_seq, "server_time": server_time(), "state": state,
        "events": [frame_of(e) for e in AuctionEvent.objects.filter(auction=auction, seq__lte=auction.last_seq)
                   .order_by("seq")],
        "me": {"number": number_of(auction, user)},
    }


def resync(auction: Auction, last_seq: int | None, user=None) -> dict[str, Any]:
    """What a (re)connecting client needs after ``last_seq``: the missed events, or a snapshot."""
    if last_seq is None or last_seq <= 0:
        return snapshot(auction, user)
    auction = Auction.objects.select_related("lot__project").get(pk=auction.pk)
    if last_seq > auction.last_seq or auction.last_seq - last_seq > RESYNC_LIMIT:
        return snapshot(auction, user)
    return {"type": "events", "seq": auction.last_seq, "server_time": server_time(),
            "events": events_after(auction, last_seq, upto=auction.last_seq),
            "state": public_state(auction)}


def auctions_for_listing(now=None):
    return Auction.objects.select_related("lot__project").order_by("-start_at")


def live_auctions():
    return Auction.objects.filter(Q(phase__in=[E.PHASE_LIVE, E.PHASE_LISTING, E.PHASE_PAUSED])).select_related("lot__project")


def live_auction_state(project, now=None) -> dict | None:
    """The live counterpart of ``bidding/auction/replay.py`` (same shape, from the tables)."""
    from audit.replay import iso
    from bidding.auction.models import AuctionBid

    out = {}
    for a in Auction.objects.filter(lot__project=project).order_by("id"):
        winner_org = None
        if a.phase == E.PHASE_CLOSED and a.outcome == E.OUTCOME_DEAL:
            winner_org = BidderNumber.objects.get(auction=a, number=a.leader).organisation_id
        out[str(a.pk)] = {
            "lot": a.lot_id, "mode": a.mode, "starting_price_fen": a.starting_price_fen,
            "increment_fen": a.increment_fen, "max_jump": a.max_jump, "closing_rule": a.closing_rule,
            "live_duration_s": a.live_duration_s, "countdown_s": a.countdown_s, "window_s": a.window_s,
            "has_reserve": a.reserve_fen > 0, "reserve_commitment": a.reserve_commitment,
            "phase": a.phase, "start_at": iso(a.start_at), "end_at": iso(a.end_at), "price_fen": a.price_fen,
            "leader": a.leader or None, "bid_count": a.bid_count, "last_seq": a.last_seq,
            "continuing": sorted(a.continuing or []), "pause_reason": a.pause_reason,
            "outcome": a.outcome or None, "outcome_reason": a.outcome_reason,
            # a sale cancelled before its close had no result: its reserve stays secret
            "reserve_fen": a.reserve_fen if a.phase == E.PHASE_CLOSED and a.result_applied else None,
            "winner_organisation": winner_org,
            "bids": [[b.seq, b.bidder.number, b.amount_fen]
                     for b in AuctionBid.objects.filter(auction=a).select_related("bidder").order_by("seq")],
            "confirmation": None, "contract": None,
        }
        conf = Confirmation.objects.filter(auction=a).first()
        if conf is not None:
            out[str(a.pk)]["confirmation"] = {
                "sha256": conf.sha256, "winner_organisation": conf.winner_id, "number": conf.number,
                "price_fen": conf.price_fen, "issued_at": iso(conf.issued_at), "contract_due": iso(conf.contract_due),
                "voided_at": iso(ConfirmationVoid.objects.filter(confirmation=conf).values_list("voided_at", flat=True)
                                 .first())}
            contract = SaleContract.objects.filter(confirmation=conf).first()
            if contract is not None:
                out[str(a.pk)]["contract"] = {
                    "signed_on": contract.signed_on.isoformat(), "amount_fen": contract.amount_fen,
                    "documents": contract.documents, "recorded_at": iso(contract.recorded_at)}
        if a.phase == E.PHASE_PAUSED:
            out[str(a.pk)]["paused_phase"] = a.paused_phase
    return {"auctions": out} if out else None


def confirmation_of(auction: Auction) -> Confirmation:
    """The transaction confirmation of an auction. It exists only once the lot is awarded and is published with
    the result (成交公示: the law makes the deal public), so the winner, staff, supervisors and the public read
    the same document; before it is issued every caller gets the same 404."""
    conf = Confirmation.objects.select_related("winner", "notice").filter(auction=auction).first()
    if conf is None:
        raise NotFound(_("no transaction confirmation (成交确认书) has been issued for this auction"))
    return conf


def confirmation_json(conf: Confirmation) -> dict[str, Any]:
    from trading.money import format_fen

    contract = SaleContract.objects.filter(confirmation=conf).select_related("notice").first()
    void = ConfirmationVoid.objects.filter(confirmation=conf).first()
    return {
        "id": conf.pk, "auction": conf.auction_id, "lot": conf.lot_id, "winner": conf.winner.name, "number": conf.number,
        "price": format_fen(conf.price_fen), "issued_at": conf.issued_at, "contract_due": conf.contract_due,
        "sha256": conf.sha256, "notice": conf.notice.number, "document": conf.document,
        "contract": None if contract is None else {
            "id": contract.pk, "signed_on": contract.signed_on.isoformat(), "amount": format_fen(contract.amount_fen),
            "documents": contract.documents, "recorded_at": contract.recorded_at, "notice": contract.notice.number},
        "voided": None if void is None else {"at": void.voided_at, "reason": void.reason},
    }


def confirmations_won(organisation_id: int | None) -> list[Confirmation]:
    """The bidder's own confirmations (its workspace)."""
    if organisation_id is None:
        return []
    return list(Confirmation.objects.filter(winner_id=organisation_id).select_related("lot__project")
                .order_by("-issued_at"))


def confirmations_of_project(project) -> list[Confirmation]:
    """A project's confirmations with their contract's signing date (``signed_on``, None until signed): public
    with the result, shown on the five-openness page."""
    out = list(Confirmation.objects.filter(lot__project=project).select_related("lot", "winner").order_by("lot__number"))
    signed = dict(SaleContract.objects.filter(confirmation__in=out).values_list("confirmation_id", "signed_on"))
    for conf in out:
        conf.signed_on = signed.get(conf.pk)  # type: ignore[attr-defined]
    return out
