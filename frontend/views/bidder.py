"""Bidder workspace: my registrations; register for a lot against its eligibility conditions."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from bidding import selectors as bidding_selectors
from bidding import services as bidding_services
from trading.errors import DomainError
from trading.models import Lot
from trading.permissions import require_bidder


@login_required
def home(request):
    require_bidder(request.user)
    return render(request, "frontend/bidder/home.html", {
        "registrations": bidding_selectors.my_registrations(request.user).order_by("-created_at"),
        "key": bidding_selectors.active_key(request.user.organisation_id),
    })


@login_required
def register(request, lot_id):
    require_bidder(request.user)
    lot = get_object_or_404(Lot.objects.select_related("project").exclude(status="draft"), pk=lot_id)
    error = None
    if request.method == "POST":
        declaration = [{"condition": c, "met": request.POST.get(f"met_{i}") == "on", "note": request.POST.get(f"note_{i}", "")}
                       for i, c in enumerate(lot.eligibility)]
        try:
            bidding_services.register(actor=request.user, lot=lot, declaration=declaration)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, "registered")
            return redirect("bidder-home")
    return render(request, "frontend/bidder/register.html", {"lot": lot, "error": error,
                  "conditions": list(enumerate(lot.eligibility))}, status=400 if error else 200)


@login_required
def register_key(request):
    require_bidder(request.user)
    if request.method == "POST":
        try:
            bidding_services.register_bidder_key(actor=request.user, public_key_hex=request.POST.get("public_key", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
            return render(request, "frontend/bidder/home.html", {
                "registrations": bidding_selectors.my_registrations(request.user).order_by("-created_at"),
                "key": bidding_selectors.active_key(request.user.organisation_id), "key_error": exc.message,
            }, status=400)
        messages.success(request, "signing key registered")
    return redirect("bidder-home")


urlpatterns = [
    path("me/keys/", register_key, name="bidder-register-key"),
    path("me/", home, name="bidder-home"),
    path("me/register/<int:lot_id>/", register, name="bidder-register"),
]
