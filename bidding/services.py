"""Registration (报名) and bidder signing keys. Registrations are sealed until the bid deadline."""
from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone

import audit
from bidding.models import BidderKey, Registration
from trading import keys
from trading.challenges.services import check_running
from trading.errors import Conflict, Invalid, NotFound
from trading.models import Lot, User
from trading.permissions import require_bidder
from trading.services import iso
from trading.lifecycle import LotStatus
from django.utils.translation import gettext_lazy as _


def _open_deposit_sub_account(*, lot: Lot, registration: Registration) -> None:
    """The one place registration hooks into the deposits capability."""
    from deposits import services as deposit_services

    deposit_services.open_sub_account(lot=lot, bidder_org=registration.bidder, registration_id=registration.pk)


def register(*, actor: User, lot: Lot | int, declaration: list[dict]) -> Registration:
    """A bidder registers for a lot, declaring against each eligibility condition."""
    require_bidder(actor)
    with transaction.atomic():
        try:
            lot = Lot.objects.select_for_update().select_related("project").get(pk=getattr(lot, "pk", lot))
        except Lot.DoesNotExist:
            raise NotFound(_("no such lot")) from None
        now = timezone.now()
        if lot.status not in (LotStatus.PUBLISHED, LotStatus.LISTING):
            raise Conflict(_("registration is not open: the lot is %(status)s"), status=lot.status)
        check_running(project_id=lot.project_id)  # a suspended project takes no registration
        if now >= lot.bid_deadline:
            raise Conflict(_("registration closed at the deadline"))
        answers = _check_declaration(lot, declaration)
        if Registration.objects.filter(lot=lot, bidder=actor.member_of).exists():
            raise Conflict(_("your organisation is already registered for this lot"))
        registration = Registration.objects.create(lot=lot, bidder=actor.member_of, registered_by=actor,
                                                   declaration=answers, created_at=now)
        # Sealed: who registered, and how many, stays hidden until the bid deadline.
        audit.record(action="registration.create", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="sealed",
                     payload={"registration": registration.pk, "lot": lot.pk, "bidder": actor.organisation_id,
                              "bidder_name": actor.member_of.name, "declaration": answers, "at": iso(now)})
        if lot.requires_security:
            _open_deposit_sub_account(lot=lot, registration=registration)
    return registration


def _check_declaration(lot: Lot, declaration: list[dict]) -> list[dict]:
    if not isinstance(declaration, list):
        raise Invalid(_("the declaration is a list of answers, one per eligibility condition"), field="declaration")
    by_condition = {}
    for item in declaration:
        if not isinstance(item, dict) or not isinstance(item.get("condition"), str):
            raise Invalid(_("each declaration answer needs a condition"), field="declaration")
        by_condition[item["condition"]] = item
    answers = []
    for condition in lot.eligibility:
        answer = by_condition.get(condition)
        if answer is None:
            raise Invalid(_("the declaration does not answer the condition: %(condition)s"), condition=condition, field="declaration")
        if answer.get("met") is not True:
            raise Invalid(_("you declare not meeting the condition: %(condition)s — registration is not possible"), condition=condition,
                          field="declaration")
        answers.append({"condition": condition, "met": True, "note": str(answer.get("note", ""))[:500]})
    extra = set(by_condition) - set(lot.eligibility)
    if extra:
        raise Invalid(_("the declaration answers unknown conditions: %(choices)s"), choices=', '.join(sorted(extra)), field="declaration")
    return answers


def withdraw_registration(*, actor: User, registration: Registration) -> Registration:
    require_bidder(actor)
    if registration.bidder_id != actor.organisation_id:
        raise NotFound(_("no such registration"))
    with transaction.atomic():
        registration = Registration.objects.select_for_update().select_related("lot").get(pk=registration.pk)
        now = timezone.now()
        if registration.status != "active":
            raise Conflict(_("the registration is already withdrawn"))
        check_running(project_id=registration.lot.project_id)
        if now >= registration.lot.bid_deadline:
            raise Conflict(_("a registration cannot be withdrawn after the deadline"))
        registration.status = "withdrawn"
        registration.save(update_fields=["status"])
        if registration.lot.requires_security:  # refund within 5 days (实施条例 art. 35)
            from deposits import services as deposit_services

            deposit_services.registration_withdrawn(registration_id=registration.pk, actor=actor)
        audit.record(action="registration.withdraw", subject=f"lot:{registration.lot_id}", actor=actor,
                     project_id=registration.lot.project_id, visibility="sealed",
                     payload={"registration": registration.pk, "lot": registration.lot_id,
                              "bidder": registration.bidder_id, "at": iso(now)})
    return registration


_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def register_bidder_key(*, actor: User, public_key_hex: str) -> BidderKey:
    """Register the organisation's Ed25519 public key (raw 32 bytes, hex)."""
    require_bidder(actor)
    raw = keys.decode(public_key_hex.strip() if isinstance(public_key_hex, str) else public_key_hex,
                      field="public_key", size=keys.PUBLIC_KEY_BYTES)
    key = keys.encode(raw)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise Invalid(_("that is not a valid Ed25519 public key"), field="public_key") from None
    with transaction.atomic():
        if BidderKey.objects.filter(public_key_hex=key).exists():
            raise Conflict(_("this key is already registered"))
        now = timezone.now()
        record = BidderKey.objects.create(organisation=actor.member_of, public_key_hex=key, registered_by=actor,
                                          created_at=now)
        audit.record(action="bidder_key.register", subject=f"organisation:{actor.organisation_id}", actor=actor,
                     payload={"key": record.pk, "organisation": actor.organisation_id, "public_key": key})
    return record
