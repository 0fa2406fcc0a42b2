"""Reads of registrations, honouring confidentiality before the bid deadline."""
from __future__ import annotations

from django.utils import timezone

from bidding.models import BidderKey, Registration
from trading.models import Lot
from trading.permissions import role_of


def deadline_passed(lot: Lot) -> bool:
    return timezone.now() >= lot.bid_deadline


def registrations_visible_to(user, lot: Lot):
    """Bidders see only their own; staff and supervisors see all only after the bid deadline; the public never."""
    role = role_of(user)
    qs = Registration.objects.filter(lot=lot).select_related("bidder")
    if role == "bidder":
        return qs.filter(bidder_id=user.organisation_id)
    if role in ("staff", "supervisor", "admin") and deadline_passed(lot):
        return qs
    return qs.none()


def my_registrations(user):
    return Registration.objects.filter(bidder_id=user.organisation_id).select_related("lot", "lot__project")


def active_key(organisation_id: int) -> BidderKey | None:
    return BidderKey.objects.filter(organisation_id=organisation_id, revoked_at__isnull=True).order_by("-id").first()


def registered_count_after_deadline(lot: Lot) -> int | None:
    if not deadline_passed(lot):
        return None
    return Registration.objects.filter(lot=lot, status="active").count()


def live_registrations(project, now) -> dict | None:
    """The live counterpart of ``bidding/replay.py`` (section "registrations")."""
    from audit.replay import iso

    regs = {str(r.pk): {"lot": r.lot_id, "bidder": r.bidder_id, "declaration": r.declaration, "status": r.status,
                        "at": iso(r.created_at)}
            for r in Registration.objects.filter(lot__project=project, created_at__lte=now).order_by("id")}
    return regs or None  # like the replay: no section without registrations
