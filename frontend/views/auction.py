"""Auction pages: the room (bidders bid, everyone else watches), the list, the staff console
(schedule, pause with a reason, resume). Thin: every change goes through bidding.auction.services."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bidding.auction import selectors, services
from frontend.templatetags.sunlight import label_of
from bidding.auction.models import Auction
from frontend.lists import Filter, list_page
from trading.errors import DomainError, Invalid, NotFound
from trading.ids import parse_int
from trading.lifecycle import LotStatus
from trading.models import Lot
from trading.money import format_fen, parse_money
from trading.permissions import require_role, require_staff_of, role_of


def auction_list(request):
    from bidding.auction import engine

    lst = list_page(request, selectors.auctions_for_listing().order_by("-start_at", "-id"),
                    search=("lot__project__code", "lot__project__title", "lot__title"),
                    filters=[Filter("mode", _("Mode"), "mode", choices=[(m, label_of(m, "auction_mode")) for m in engine.MODES]),
                             Filter("phase", _("Phase"), "phase", choices=[(p, label_of(p, "auction")) for p in engine.PHASES])])
    return render(request, "frontend/auction/list.html", {"auctions": lst.page, "lst": lst}, status=lst.status)


def room(request, auction_id: int):
    auction = selectors.get_auction(auction_id)
    number = services.number_for(auction=auction, user=request.user)
    is_bidder = role_of(request.user) == "bidder"
    return render(request, "frontend/auction/room.html", {
        "auction": auction, "lot": auction.lot, "project": auction.lot.project,
        "number": number.number if number else "", "can_bid": bool(number),
        "is_bidder": is_bidder, "state": services.public_state(auction),
        "ws_path": f"/ws/auctions/{auction.pk}/", "steps": [1, 2, 3, 5],
        "is_staff_here": role_of(request.user) == "staff" and request.user.organisation_id == auction.lot.project.centre_id,
    })


@login_required
def console(request):
    require_role(request.user, "staff")
    lots = (Lot.objects.filter(project__centre_id=request.user.organisation_id,
                               project__method__in=["auction", "listing"])
            .select_related("project").order_by("-id"))
    scheduled = {a.lot_id: a for a in Auction.objects.filter(lot__in=lots)}
    rows = [(lot, scheduled.get(lot.pk)) for lot in lots[:200]]
    return render(request, "frontend/auction/console.html", {"rows": rows})


def _back(request, fallback="auction-console"):
    return redirect(request.POST.get("next") or fallback)


@login_required
@require_POST
def schedule(request, lot_id: int):
    lot = get_object_or_404(Lot.objects.select_related("project"), pk=lot_id)
    require_staff_of(request.user, lot.project)
    try:
        reserve = parse_money(request.POST.get("reserve") or "0", field="reserve")
        kw = {}
        for name in ("live_duration_s", "countdown_s", "window_s", "max_jump"):
            raw = (request.POST.get(name) or "").strip()
            if raw:
                kw[name] = parse_int(raw, field=name)
        auction = services.schedule_auction(lot=lot, actor=request.user, reserve_fen=reserve,
                                            closing_rule=request.POST.get("closing_rule", ""), **kw)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Auction %(auction)s scheduled for lot %(lot)s.") % {"auction": auction.pk, "lot": lot.number})
    return redirect("auction-console")


@login_required
@require_POST
def pause(request, auction_id: int):
    try:
        services.pause_auction(auction=auction_id, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The auction is paused."))
    return redirect("auction-console")


@login_required
@require_POST
def resume(request, auction_id: int):
    try:
        services.resume_auction(auction=auction_id, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The auction has resumed."))
    return redirect("auction-console")


def confirmation_page(request, auction_id: int):
    """The transaction confirmation (成交确认书) as issued, with its contract once recorded: public with the result.
    Staff of the lot's centre issue it and record the contract here."""
    from bidding.auction import confirmation as C
    from bidding.auction.models import Confirmation, ConfirmationVoid, SaleContract

    auction = selectors.get_auction(auction_id)
    lot = auction.lot
    staff_here = role_of(request.user) == "staff" and request.user.organisation_id == lot.project.centre_id
    conf = Confirmation.objects.select_related("winner", "notice").filter(auction=auction).first()
    if conf is None and not staff_here:
        raise NotFound(_("no transaction confirmation (成交确认书) has been issued for this auction"))
    contract = SaleContract.objects.filter(confirmation=conf).first() if conf else None
    void = ConfirmationVoid.objects.filter(confirmation=conf).first() if conf else None
    return render(request, "frontend/auction/confirmation.html", {
        "auction": auction, "lot": lot, "project": lot.project, "conf": conf, "contract": contract, "void": void,
        "lines": C.lines(conf.document) if conf else [], "staff_here": staff_here,
        "can_issue": staff_here and conf is None and lot.status == LotStatus.AWARDED,
        "can_contract": staff_here and conf is not None and contract is None and void is None
                        and lot.status == LotStatus.AWARDED,
        "today": timezone.localdate().isoformat(), "price": format_fen(conf.price_fen) if conf else "",
    })


@login_required
@require_POST
def issue_confirmation(request, auction_id: int):
    try:
        services.issue_confirmation(actor=request.user, auction=auction_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The transaction confirmation is issued and its hash recorded in the audit log."))
    return redirect("auction-confirmation-page", auction_id)


@login_required
@require_POST
def record_contract(request, auction_id: int):
    try:
        signed_on = _parse_date(request.POST.get("signed_on", ""), field="signed_on")
        services.record_sale_contract(
            actor=request.user, auction=auction_id, signed_on=signed_on,
            amount_fen=parse_money(request.POST.get("amount") or "", field="amount"),
            documents=[{"name": request.POST.get("document_name", ""), "sha256": request.POST.get("document_sha256", "")}])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The contract is recorded; the lot is contracted."))
    return redirect("auction-confirmation-page", auction_id)


def _parse_date(raw: str, *, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(_("%(field_name)s must be a date like 2026-04-01"), field_name=field, field=field) from None


urlpatterns = [
    path("auctions/", auction_list, name="auction-list-page"),
    path("auctions/<int:auction_id>/", room, name="auction-room"),
    path("staff/auctions/", console, name="auction-console"),
    path("staff/auctions/schedule/<int:lot_id>/", schedule, name="auction-schedule"),
    path("staff/auctions/<int:auction_id>/pause/", pause, name="auction-pause-page"),
    path("staff/auctions/<int:auction_id>/resume/", resume, name="auction-resume-page"),
    path("auctions/<int:auction_id>/confirmation/", confirmation_page, name="auction-confirmation-page"),
    path("staff/auctions/<int:auction_id>/confirmation/", issue_confirmation, name="auction-confirmation-issue"),
    path("staff/auctions/<int:auction_id>/contract/", record_contract, name="auction-contract-page"),
]
