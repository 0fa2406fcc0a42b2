"""Bidder workspace: my registrations; register for a lot against its eligibility conditions."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from bidding import selectors as bidding_selectors
from bidding.auction import selectors as auction_selectors
from bidding import services as bidding_services
from deposits.selectors import my_deposits
from frontend.homes import bidder_rows
from trading.money import format_yuan_display
from trading.errors import DomainError
from trading.models import Lot
from trading.permissions import require_bidder
from trading.lifecycle import LotStatus


def _home_context(user) -> dict:
    return {"rows": bidder_rows(user), "key": bidding_selectors.active_key(user.organisation_id),
            "confirmations": auction_selectors.confirmations_won(user.organisation_id)}


@login_required
def home(request):
    require_bidder(request.user)
    return render(request, "frontend/bidder/home.html", _home_context(request.user))


@login_required
def register(request, lot_id):
    require_bidder(request.user)
    lot = get_object_or_404(Lot.objects.select_related("project").exclude(status=LotStatus.DRAFT), pk=lot_id)
    error = None
    if request.method == "POST":
        declaration = [{"condition": c, "met": request.POST.get(f"met_{i}") == "on", "note": request.POST.get(f"note_{i}", "")}
                       for i, c in enumerate(lot.eligibility)]
        try:
            bidding_services.register(actor=request.user, lot=lot, declaration=declaration)
        except DomainError as exc:
            error = exc.message
        else:
            return _registered(request, lot)
    return render(request, "frontend/bidder/register.html", {"lot": lot, "error": error,
                  "conditions": list(enumerate(lot.eligibility))}, status=400 if error else 200)


def _registered(request, lot: Lot):
    """Say what the registration means and lead to the next step: the payment instructions when a security
    is due, else the workspace (where the sealing page or the room is linked)."""
    from frontend.homes import STEP_LABELS

    account = my_deposits(request.user).filter(lot=lot).first()
    if account is not None:
        messages.success(request, _("Registered for lot %(lot)s. Next: pay the bid security of %(amount)s to your "
                                    "sub-account %(account)s; it must be booked before the deadline.") % {
            "lot": lot.number, "amount": format_yuan_display(account.required_fen), "account": account.number})
        return redirect("deposits-account-page", pk=account.pk)
    step = "seal" if lot.path == "tender" else "wait_auction"
    messages.success(request, _("Registered for lot %(lot)s. Next: %(step)s.") % {"lot": lot.number,
                                                                                   "step": STEP_LABELS[step]})
    return redirect("bidder-home")


@login_required
def register_key(request):
    require_bidder(request.user)
    if request.method == "POST":
        try:
            bidding_services.register_bidder_key(actor=request.user, public_key_hex=request.POST.get("public_key", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
            return render(request, "frontend/bidder/home.html", {**_home_context(request.user), "key_error": exc.message},
                          status=400)
        messages.success(request, _("Signing key registered."))
    return redirect("bidder-home")


urlpatterns = [
    path("me/keys/", register_key, name="bidder-register-key"),
    path("me/", home, name="bidder-home"),
    path("me/register/<int:lot_id>/", register, name="bidder-register"),
]
