"""Pages for sealed envelopes: the bidder's submit page and receipt, the opening ceremony console
(staff, custodians, supervisors), custody-key setup, and the live opening follow."""
from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from django.utils.translation import ngettext

from bidding.envelopes import envelope as E
from bidding.envelopes import selectors, services
from bidding.envelopes.models import CustodianKey, CustodyShare, Envelope
from trading import keys
from trading.errors import Conflict, NotFound
from trading.models import Lot
from trading.permissions import is_staff_of, is_supervisor, require_bidder, require_read_project, role_of
from django.utils.translation import gettext_lazy as _


def _lot(lot_id: int) -> Lot:
    try:
        return Lot.objects.select_related("project").get(pk=lot_id)
    except Lot.DoesNotExist:
        raise NotFound(_("no such lot")) from None


@login_required
def submit_page(request, lot_id: int):
    require_bidder(request.user)
    lot = _lot(lot_id)
    require_read_project(request.user, lot.project)
    key = selectors.opening_key_of(lot)
    project, lot_ref, bidder = services.binding(lot, request.user.organisation_id)
    mine = selectors.my_envelope(request.user, lot)
    return render(request, "frontend/envelopes/submit.html", {
        "lot": lot, "key": key, "public_key_hex": keys.encode(bytes(key.public_key)) if key else "",
        "binding": {"project": project, "lot": lot_ref, "bidder": bidder}, "mine": mine,
        "history": selectors.my_envelope_history(request.user, lot)[:10],
        "max_bytes": services.max_envelope_bytes(),
    })


@login_required
@require_POST
def withdraw(request, lot_id: int):
    env = services.withdraw_envelope(actor=request.user, lot=lot_id)
    messages.success(request, _("Envelope %(digest)s… withdrawn.") % {"digest": env.digest[:16]})
    return redirect("envelopes-submit", lot_id=lot_id)


@login_required
def receipt(request, digest: str):
    env = Envelope.objects.select_related("lot", "lot__project").filter(digest=digest).first()
    if env is None or env.bidder_id != getattr(request.user, "organisation_id", None) or role_of(request.user) != "bidder":
        raise NotFound(_("no such receipt"))
    data = {"receipt": env.receipt, "signature": selectors.receipt_signature(env)}
    try:  # is the submission event in the audit log yet (integrated under a signed checkpoint)?
        inclusion = selectors.receipt_proof(request.user, env.digest)["inclusion"]
    except Conflict:
        inclusion = None
    return render(request, "frontend/envelopes/receipt.html", {
        "env": env, "signature": data["signature"], "receipt_json": json.dumps(data, ensure_ascii=False, indent=2),
        "platform_key": keys.encode(services.platform_public_key()),
        "verified": E.verify_receipt(services.platform_public_key(), env.receipt, keys.legacy(env.receipt_signature, size=keys.SIGNATURE_BYTES)),
        "inclusion": inclusion, "proof_url": reverse("envelopes-receipt-proof", args=[env.digest]),
    })


@login_required
def ceremony(request, lot_id: int):
    lot = _lot(lot_id)
    if not (is_staff_of(request.user, lot.project) or is_supervisor(request.user)
            or CustodyShare.objects.filter(opening_key__lot=lot, custodian=request.user).exists()):
        raise NotFound(_("no such opening"))
    state = selectors.ceremony_state(lot, request.user)
    my_share = CustodyShare.objects.filter(opening_key__lot=lot, custodian=request.user).first()
    return render(request, "frontend/envelopes/ceremony.html", {
        "lot": lot, "state": state, "my_share": my_share,
        "can_open": is_staff_of(request.user, lot.project), "wrapped_allowed": services.custody_keys_wrapped_allowed(),
        "opened": selectors.opened_bids(lot) if state.get("opened") else [],
    })


@login_required
@require_POST
def present(request, lot_id: int):
    share = request.POST.get("share", "").strip() or None
    services.present_share(actor=request.user, lot=lot_id, passphrase=request.POST.get("passphrase") or None,
                           share=share)
    messages.success(request, _("Your custody share was accepted."))
    return redirect("envelopes-ceremony", lot_id=lot_id)


@login_required
@require_POST
def open_now(request, lot_id: int):
    bids = services.open_bids(actor=request.user, lot=lot_id)
    messages.success(request, ngettext("Opened %(n)d envelope; the opening record is published.", "Opened %(n)d envelopes; the opening record is published.", len(bids)) % {"n": len(bids)})
    return redirect("envelopes-ceremony", lot_id=lot_id)


@login_required
def custody(request):
    if role_of(request.user) not in ("staff", "supervisor"):
        raise NotFound(_("custody keys are for staff and supervisors"))
    if request.method == "POST":
        if request.POST.get("public_key"):
            services.register_custodian_public_key(actor=request.user, public_key_hex=request.POST["public_key"])
        else:
            services.register_custodian_key(actor=request.user, passphrase=request.POST.get("passphrase", ""))
        messages.success(request, _("Your custody key is registered."))
        return redirect("envelopes-custody")
    key = CustodianKey.objects.filter(user=request.user, revoked_at__isnull=True).first()
    shares = CustodyShare.objects.filter(custodian=request.user).select_related("opening_key__lot__project")
    return render(request, "frontend/envelopes/custody.html", {"key": key, "shares": shares,
                                                               "wrapped_allowed": services.custody_keys_wrapped_allowed()})


def follow(request, lot_id: int):
    lot = _lot(lot_id)
    require_read_project(request.user, lot.project)
    return render(request, "frontend/envelopes/follow.html", {"lot": lot, "state": selectors.ceremony_state(lot)})


urlpatterns = [
    path("envelopes/lots/<int:lot_id>/submit/", submit_page, name="envelopes-submit"),
    path("envelopes/lots/<int:lot_id>/withdraw/", withdraw, name="envelopes-withdraw"),
    path("envelopes/receipt/<str:digest>/", receipt, name="envelopes-receipt"),
    path("envelopes/lots/<int:lot_id>/ceremony/", ceremony, name="envelopes-ceremony"),
    path("envelopes/lots/<int:lot_id>/ceremony/share/", present, name="envelopes-present"),
    path("envelopes/lots/<int:lot_id>/ceremony/open/", open_now, name="envelopes-open"),
    path("envelopes/lots/<int:lot_id>/follow/", follow, name="envelopes-follow"),
    path("envelopes/custody/", custody, name="envelopes-custody"),
]
