"""Sealed envelopes: custody keys, the lot's opening key, submission, the deadline seal, the opening.

Every action: keyword-only, one transaction, its audit event in that transaction. Before the
deadline every envelope event is `sealed` (who bid, and how many, stays hidden).
"""
from __future__ import annotations

import logging
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

import audit
import deposits
from audit import context as audit_context
from bidding.envelopes import envelope as E
from bidding.envelopes import bulk, outcomes, shamir
from bidding.envelopes import messages as M
from bidding.envelopes.models import (CustodianKey, CustodyShare, Envelope, OpenedBid, OpeningKey)
from bidding.models import BidderKey, Registration
from trading import keys
from trading.errors import Conflict, Forbidden, Invalid, NotFound, translated
from trading.models import Lot, User
from trading.permissions import require_bidder, require_role, require_staff_of
from trading.services import iso
from trading.lifecycle import LotStatus
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)

TENDER = "tender"


# --- settings -----------------------------------------------------------------------------------

def custody_keys_wrapped_allowed() -> bool:
    """Passphrase-wrapped custody keys (the platform stores the private key, wrapped by scrypt from the
    custodian's passphrase) are for the demo only: in production (SUNLIGHT_PRODUCTION=1) a custodian's
    private key never reaches the platform (browser WebCrypto key, or `sunlight-custody`)."""
    return not getattr(settings, "PRODUCTION", False)


OFF_PLATFORM_ONLY = _("in production a custody key is created in your browser (custody page) or with "
                     "`sunlight-custody keygen`: the platform never holds a custodian's private key")


def max_envelope_bytes() -> int:
    return int(getattr(settings, "SUNLIGHT_ENVELOPE_MAX_BYTES", 12 * 1024 * 1024))


def custody_k() -> int:
    return int(getattr(settings, "SUNLIGHT_CUSTODY_K", 2))


def platform_signing_key():
    from audit import sequencer

    return sequencer.signing_key()


def platform_public_key() -> bytes:
    return E.ed25519_public_bytes(platform_signing_key())


# --- helpers ------------------------------------------------------------------------------------

def binding(lot: Lot, bidder_id: int) -> tuple[str, str, str]:
    """(project, lot, bidder) references bound into every envelope of this lot and bidder."""
    return str(lot.project_id), str(lot.pk), str(bidder_id)


def _locked_lot(lot: Lot | int) -> Lot:
    try:
        return Lot.objects.select_for_update().select_related("project").get(pk=getattr(lot, "pk", lot))
    except (Lot.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("no such lot")) from None


def _security_in_place(bidder_org, lot: Lot) -> bool:
    """The one question bidding asks deposits (deposits.is_secured)."""
    if lot.security_fen == 0:  # no security required: nothing to be in place
        return True
    return deposits.is_secured(bidder_org, lot)


def _wipe(buf: bytearray | None) -> None:
    if buf is not None:
        for i in range(len(buf)):
            buf[i] = 0


# --- custodian keys ----------------------------------------------------------------------------

def register_custodian_key(*, actor: User, passphrase: str) -> CustodianKey:
    """Demo only: create the custodian's X25519 key; its private half is kept only wrapped by the
    passphrase (scrypt, memory-hard). Refused in production."""
    require_role(actor, "staff", "supervisor")
    if not custody_keys_wrapped_allowed():
        raise Forbidden(OFF_PLATFORM_ONLY)
    try:
        private = X25519PrivateKey.generate()
        wrapped = E.wrap_private_key(private, passphrase, label=str(actor.pk).encode())
    except E.CustodyError as exc:
        raise translated(Invalid, exc, M.CUSTODY, field="passphrase") from None
    return _store_custodian_key(actor=actor, public=E.x25519_public_bytes(private), wrapped=wrapped)


def register_custodian_public_key(*, actor: User, public_key_hex: str) -> CustodianKey:
    """A custodian who keeps the private key off-platform (it then presents its share in clear)."""
    require_role(actor, "staff", "supervisor")
    raw = keys.decode(public_key_hex.strip() if isinstance(public_key_hex, str) else public_key_hex,
                      field="public_key", size=keys.PUBLIC_KEY_BYTES)
    try:
        E.load_x25519_public(raw)
    except ValueError:
        raise Invalid(_("that is not a valid X25519 public key"), field="public_key") from None
    return _store_custodian_key(actor=actor, public=raw, wrapped=None)


def _store_custodian_key(*, actor: User, public: bytes, wrapped: bytes | None) -> CustodianKey:
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=actor.pk).first()
        if CustodianKey.objects.filter(user=actor, revoked_at__isnull=True).exists():
            raise Conflict(_("you already have a custody key"))
        now = timezone.now()
        key = CustodianKey.objects.create(user=actor, public_key=public, wrapped_private_key=wrapped,
                                          created_at=now)
        audit.record(action="custody.key_register", subject=f"user:{actor.pk}", actor=actor,
                     payload={"key": key.pk, "user": actor.pk, "public_key": public.hex(),
                              "held": "wrapped" if wrapped else "off_platform", "at": iso(now)})
    return key


# --- the opening key ---------------------------------------------------------------------------

def default_custodians(lot: Lot) -> list[User]:
    """Staff of the project's centre and supervisors of its supervising department, with a custody key."""
    users = User.objects.filter(is_active=True, custody_keys__isnull=False,
                                custody_keys__revoked_at__isnull=True).filter(
        Q(role="staff", organisation_id=lot.project.centre_id)
        | Q(role="supervisor", organisation_id=lot.project.supervisor_id)
    ).distinct().order_by("id")
    return list(users)


def _check_custody_set(custodians: list[User], k: int) -> None:
    if len({u.pk for u in custodians}) != len(custodians):
        raise Invalid(_("a custodian is named twice"), field="custodians")
    if not any(u.role == "supervisor" for u in custodians):
        raise Invalid(_("the custody set needs at least one supervisor"), field="custodians")
    if any(u.role not in ("staff", "supervisor") for u in custodians):
        raise Invalid(_("custodians are staff or supervisors"), field="custodians")
    if not 2 <= k <= len(custodians) or len(custodians) > 32:
        raise Invalid(_("need 2 <= k <= n <= 32 (k=%(k)s, n=%(count)s)"), k=k, count=len(custodians), field="k")


def _create_opening_key(*, lot: Lot, custodians: list[User], k: int, actor: User | None, now) -> OpeningKey:
    _check_custody_set(custodians, k)
    keys = {ck.user_id: ck for ck in CustodianKey.objects.filter(user__in=custodians, revoked_at__isnull=True)}
    missing = [u.username for u in custodians if u.pk not in keys]
    if missing:
        raise Invalid(_("no custody key registered for: %(missing)s"), missing=', '.join(missing), field="custodians")
    private = X25519PrivateKey.generate()
    raw = bytearray(E.x25519_private_bytes(private))
    try:
        public = E.x25519_public_bytes(private)
        context = f"lot-{lot.pk}"
        shares = shamir.split_bytes(bytes(raw), k=k, n=len(custodians), context=context)
    finally:
        _wipe(raw)
        del private
    custody: list[dict[str, Any]] = [{"custodian": u.pk, "name": u.get_full_name() or u.username, "role": u.role,
                "x": s.x, "digest": shamir.share_digest(s)} for u, s in zip(custodians, shares)]
    event = audit.record(action="opening_key.create", subject=f"lot:{lot.pk}", actor=actor,
                         project_id=lot.project_id,
                         payload={"lot": lot.pk, "public_key": public.hex(), "suite": "X25519/HKDF-SHA256/AES-256-GCM",
                                  "k": k, "n": len(custodians), "custody": custody, "at": iso(now)})
    key = OpeningKey.objects.create(lot=lot, public_key=public, k=k, n=len(custodians), created_at=now,
                                    event_id=event.pk)
    for user, share, row in zip(custodians, shares, custody):
        ck = keys[user.pk]
        CustodyShare.objects.create(
            opening_key=key, custodian=user, custodian_key=ck, x=share.x, digest=row["digest"],
            sealed_share=E.seal_share(bytes(ck.public_key), share.encode(), context=context, custodian=user.pk))
    shares.clear()
    return key


def on_publish(*, lot: Lot, action: str, actor: User | None, now) -> None:
    """Lifecycle hook (publish): a tender lot gets its opening key when it opens for bids, if the
    default custody set (centre staff + supervisors holding custody keys) can be formed; otherwise
    staff set it up with `setup_opening_key` before bids can be taken."""
    if lot.path != TENDER or OpeningKey.objects.filter(lot=lot).exists():
        return
    custodians = default_custodians(lot)
    k = min(custody_k(), len(custodians))
    try:
        _check_custody_set(custodians, k)
    except Invalid:
        return
    _create_opening_key(lot=lot, custodians=custodians, k=k, actor=actor, now=now)


def setup_opening_key(*, actor: User, lot: Lot | int, custodian_ids: list[int] | None = None,
                      k: int | None = None) -> OpeningKey:
    with transaction.atomic():
        lot = _locked_lot(lot)
        require_staff_of(actor, lot.project)
        now = timezone.now()
        if lot.path != TENDER:
            raise Conflict(_("only tender lots take sealed envelopes"))
        if lot.status != LotStatus.PUBLISHED or now >= lot.bid_deadline:
            raise Conflict(_("the opening key is set up while the lot takes bids (the lot is %(status)s)"), status=lot.status)
        if OpeningKey.objects.filter(lot=lot).exists():
            raise Conflict(_("this lot already has its opening key"))
        if custodian_ids is None:
            custodians = default_custodians(lot)
        else:
            if not isinstance(custodian_ids, list) or not all(isinstance(i, int) for i in custodian_ids):
                raise Invalid(_("custodians must be a list of user ids"), field="custodians")
            found = {u.pk: u for u in User.objects.filter(pk__in=custodian_ids)}
            if len(found) != len(set(custodian_ids)):
                raise Invalid(_("unknown custodian"), field="custodians")
            custodians = [found[i] for i in custodian_ids]
        if k is None:
            k = min(custody_k(), len(custodians))
        if isinstance(k, bool) or not isinstance(k, int):
            raise Invalid(_("k must be an integer"), field="k")
        return _create_opening_key(lot=lot, custodians=custodians, k=k, actor=actor, now=now)


# --- submission ---------------------------------------------------------------------------------

def _check_can_bid(*, actor: User, lot: Lot, now) -> None:
    from trading.challenges.services import check_running

    if lot.path != TENDER:
        raise Conflict(_("this lot does not take sealed envelopes"))
    check_running(project_id=lot.project_id)  # a suspended project takes no envelope (409 suspended)
    if lot.status != LotStatus.PUBLISHED or now >= lot.bid_deadline:
        when = timezone.localtime(lot.bid_deadline).strftime("%Y-%m-%d %H:%M:%S")
        if now >= lot.bid_deadline:
            raise Conflict(_("too late: bids closed at the deadline %(when)s"), when=when)
        raise Conflict(_("the lot is not taking bids (it is %(status)s)"), status=lot.status)
    if not Registration.objects.filter(lot=lot, bidder_id=actor.organisation_id, status="active").exists():
        raise Forbidden(_("your organisation is not registered for this lot"))
    if not _security_in_place(actor.organisation, lot):
        raise Forbidden(_("your bid security (保证金) for this lot is not in place"))


def _accept(*, actor: User, lot: Lot, data: dict, now) -> tuple[bytes, bytes, BidderKey]:
    try:
        key_record = OpeningKey.objects.get(lot=lot)
    except OpeningKey.DoesNotExist:
        raise Conflict(_("this lot has no opening key yet; envelopes cannot be sealed to it")) from None
    try:
        envelope, signature = E.parse_transport(data, max_bytes=max_envelope_bytes())
    except E.EnvelopeTooLarge as exc:
        raise translated(Invalid, exc, M.ENVELOPE, field="envelope") from None
    except E.EnvelopeError as exc:
        raise translated(Invalid, exc, M.ENVELOPE) from None
    project, lot_ref, bidder = binding(lot, actor.member_of_id)
    for field, expected in (("project", project), ("lot", lot_ref), ("bidder", bidder)):
        if field in data and str(data[field]) != expected:
            raise Invalid(_("this envelope is sealed for %(field_name)s %(data)s, not %(expected)s"), field_name=field, data=data[field], expected=expected, field=field)
    bidder_key = BidderKey.objects.filter(organisation_id=actor.member_of_id,
                                          revoked_at__isnull=True).order_by("-id").first()
    if bidder_key is None:
        raise Conflict(_("register your organisation's signing key first"))
    registered = bytes.fromhex(bidder_key.public_key_hex)
    if data.get("public_key") not in (None, "") and keys.decode(
            data.get("public_key"), field="public_key", size=keys.PUBLIC_KEY_BYTES) != registered:
        raise Invalid(_("the envelope is signed with a key that is not your registered signing key"),
                      field="signature")
    try:
        E.verify_signature(public_key=registered, info=E.binding_info(project, lot_ref, bidder),
                           digest=E.envelope_digest(envelope), signature=signature)
    except E.BadSignature as exc:
        raise translated(Invalid, exc, M.ENVELOPE, field="signature") from None
    del key_record
    return envelope, signature, bidder_key


def _store(*, actor: User, lot: Lot, envelope: bytes, signature: bytes, bidder_key: BidderKey, now,
           action: str, replaced: Envelope | None) -> Envelope:
    digest = E.envelope_digest(envelope).hex()
    if Envelope.objects.filter(digest=digest).exists():
        raise Conflict(_("this envelope has already been submitted"))
    with audit_context.noting(signing_key=bidder_key.public_key_hex):  # private, committed by hash
        event = audit.record(action=action, subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                             visibility="sealed",
                             payload={"lot": lot.pk, "bidder": actor.organisation_id, "digest": digest,
                                      "size": len(envelope), "key": bidder_key.pk,
                                      "replaces": replaced.digest if replaced else None, "at": iso(now)})
    receipt = {"v": 1, "project": lot.project_id, "lot": lot.pk, "bidder": actor.organisation_id,
               "digest": digest, "size": len(envelope), "received_at": iso(now), "event": event.uid,
               "event_id": event.pk}
    sig = keys.encode(E.sign_receipt(platform_signing_key(), receipt))
    try:
        with transaction.atomic():
            return Envelope.objects.create(lot=lot, bidder_id=actor.member_of_id, submitted_by=actor,
                                           bidder_key=bidder_key, ciphertext=envelope, size=len(envelope),
                                           digest=digest, signature=signature, submitted_at=now,
                                           receipt=receipt, receipt_signature=sig, event_id=event.pk)
    except IntegrityError:
        raise Conflict(_("your organisation already has an envelope for this lot")) from None


def submit_envelope(*, actor: User, lot: Lot | int, data: dict) -> Envelope:
    """Accept a sealed, signed envelope before the deadline (server clock, inside the transaction)."""
    require_bidder(actor)
    with transaction.atomic():
        lot = _locked_lot(lot)
        now = timezone.now()
        _check_can_bid(actor=actor, lot=lot, now=now)
        envelope, signature, bidder_key = _accept(actor=actor, lot=lot, data=data, now=now)
        if Envelope.objects.filter(lot=lot, bidder_id=actor.organisation_id, status="active").exists():
            raise Conflict(_("your organisation already has an envelope for this lot: replace or withdraw it"))
        return _store(actor=actor, lot=lot, envelope=envelope, signature=signature, bidder_key=bidder_key,
                      now=now, action="envelope.submit", replaced=None)


def replace_envelope(*, actor: User, lot: Lot | int, data: dict) -> Envelope:
    """Art. 29: before the deadline a bidder may replace its envelope."""
    require_bidder(actor)
    with transaction.atomic():
        lot = _locked_lot(lot)
        now = timezone.now()
        _check_can_bid(actor=actor, lot=lot, now=now)
        envelope, signature, bidder_key = _accept(actor=actor, lot=lot, data=data, now=now)
        old = Envelope.objects.select_for_update().filter(lot=lot, bidder_id=actor.organisation_id,
                                                          status="active").first()
        if old is None:
            raise NotFound(_("you have no envelope to replace for this lot"))
        old.status, old.ended_at = Envelope.Status.REPLACED, now
        old.save(update_fields=["status", "ended_at"])
        return _store(actor=actor, lot=lot, envelope=envelope, signature=signature, bidder_key=bidder_key,
                      now=now, action="envelope.replace", replaced=old)


def withdraw_envelope(*, actor: User, lot: Lot | int) -> Envelope:
    """Art. 29: before the deadline a bidder may withdraw its envelope."""
    require_bidder(actor)
    with transaction.atomic():
        lot = _locked_lot(lot)
        now = timezone.now()
        _check_can_bid(actor=actor, lot=lot, now=now)
        old = Envelope.objects.select_for_update().filter(lot=lot, bidder_id=actor.organisation_id,
                                                          status="active").first()
        if old is None:
            raise NotFound(_("you have no envelope to withdraw for this lot"))
        old.status, old.ended_at = Envelope.Status.WITHDRAWN, now
        old.save(update_fields=["status", "ended_at"])
        audit.record(action="envelope.withdraw", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     visibility="sealed",
                     payload={"lot": lot.pk, "bidder": actor.organisation_id, "digest": old.digest, "at": iso(now)})
    return old


# --- the deadline ------------------------------------------------------------------------------

def active_digests(lot: Lot) -> list[str]:
    return sorted(Envelope.objects.filter(lot=lot, status="active").values_list("digest", flat=True))


def envelope_set_root(digests: list[str]) -> str:
    from audit import merkle

    return merkle.mth([bytes.fromhex(d) for d in sorted(digests)]).hex()


def on_close_bidding(*, lot: Lot, action: str, actor: User | None, now) -> None:
    """Lifecycle hook (close_bidding): record and publish the Merkle root of the envelope digests."""
    key = OpeningKey.objects.select_for_update().filter(lot=lot).first()
    if key is None or key.sealed_at is not None:
        return
    digests = active_digests(lot)
    key.sealed_at, key.envelope_count, key.merkle_root = now, len(digests), envelope_set_root(digests)
    key.save(update_fields=["sealed_at", "envelope_count", "merkle_root"])
    audit.record(action="envelope.seal_set", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                 payload={"lot": lot.pk, "count": len(digests), "merkle_root": key.merkle_root,
                          "digests": digests, "at": iso(now)})


# --- the opening ceremony ----------------------------------------------------------------------

def _ceremony_key(lot: Lot) -> OpeningKey:
    try:
        return OpeningKey.objects.select_for_update().get(lot=lot)
    except OpeningKey.DoesNotExist:
        raise Conflict(_("this lot has no opening key")) from None


def my_sealed_share(*, actor: User, lot: Lot | int) -> dict:
    """The custodian's own sealed share, to decrypt off-platform (browser or `sunlight-custody`) and
    present. Only at the ceremony, after the deadline, like the presentation itself."""
    require_role(actor, "staff", "supervisor")
    found = Lot.objects.filter(pk=getattr(lot, "pk", lot)).first()
    if found is None:
        raise NotFound(_("no such lot"))
    row = CustodyShare.objects.select_related("opening_key").filter(opening_key__lot=found, custodian=actor).first()
    if row is None:
        raise Forbidden(_("you are not an opening custodian of this lot"))
    if timezone.now() < found.bid_deadline or found.status != LotStatus.BIDDING_CLOSED:
        raise Conflict(_("shares are presented at the opening, after the deadline (the lot is %(status)s)"), status=found.status)
    return {"lot": found.pk, "context": row.opening_key.context, "custodian": actor.pk, "x": row.x,
            "digest": row.digest, "sealed_share": E.b64e(bytes(row.sealed_share)),
            "custodian_public_key": bytes(row.custodian_key.public_key).hex(),
            "presented": row.presented_at is not None}


def _record_refused_share(*, actor: User, lot_id, reason: str) -> None:
    """Every share presented is an audit event, the refused ones too (too early, wrong, malformed):
    recorded in a transaction of its own, after the refused presentation changed nothing. Only for a
    custodian of the lot; the share and any passphrase are never in the event."""
    row = CustodyShare.objects.select_related("opening_key__lot").filter(
        opening_key__lot_id=lot_id, custodian=actor).first() if isinstance(lot_id, int) else None
    if row is None:
        return
    with transaction.atomic():
        audit.record(action="custody.share_refused", subject=f"lot:{lot_id}", actor=actor,
                     project_id=row.opening_key.lot.project_id, visibility="supervisors",
                     payload={"lot": lot_id, "custodian": actor.pk, "x": row.x, "reason": reason[:300],
                              "at": iso(timezone.now())})


def present_share(*, actor: User, lot: Lot | int, passphrase: str | None = None,
                  share: str | None = None) -> CustodyShare:
    """A custodian presents its share at the opening: unwrapped with its passphrase, or in clear
    (off-platform keys). Checked against the digest recorded at the split."""
    require_role(actor, "staff", "supervisor")
    lot_id = getattr(lot, "pk", lot)
    try:
        with transaction.atomic():
            lot = _locked_lot(lot_id)
            now = timezone.now()
            if now < lot.bid_deadline or lot.status != LotStatus.BIDDING_CLOSED:
                raise Conflict(_("shares are presented at the opening, after the deadline (the lot is %(status)s)"), status=lot.status)
            key = _ceremony_key(lot)
            row = CustodyShare.objects.select_for_update().select_related("custodian_key").filter(
                opening_key=key, custodian=actor).first()
            if row is None:
                raise Forbidden(_("you are not an opening custodian of this lot"))
            if row.presented_at is not None:
                raise Conflict(_("you have already presented your share for this lot"))
            name = actor.get_full_name() or actor.username
            if share is None:
                if not passphrase:
                    raise Invalid(_("give your custody passphrase (or your share)"), field="passphrase")
                if not custody_keys_wrapped_allowed():
                    raise Forbidden(OFF_PLATFORM_ONLY)
                wrapped = row.custodian_key.wrapped_private_key
                if not wrapped:
                    raise Invalid(_("your custody key is held off-platform: present the share itself"), field="share")
                private: X25519PrivateKey | None  # dropped as soon as the share is open
                try:
                    private = E.unwrap_private_key(bytes(wrapped), passphrase, label=str(actor.pk).encode())
                    share = E.open_share(bytes(row.sealed_share), private, context=key.context, custodian=actor.pk)
                except E.CustodyError as exc:
                    raise Invalid(_("%(problem)s (%(name)s)"), problem=translated(Invalid, exc, M.CUSTODY), name=name,
                                  field="passphrase") from None
                finally:
                    private = None
            try:
                parsed = shamir.decode_share(share)
            except shamir.ShamirError as exc:
                raise Invalid(_("the share presented by %(name)s is malformed: %(problem)s"), name=name,
                              problem=translated(Invalid, exc, M.SHAMIR), field="share") from None
            if parsed.context != key.context:
                raise Invalid(_("the share presented by %(name)s belongs to %(context)s, not %(context2)s"), name=name, context=parsed.context, context2=key.context,
                              field="share")
            if parsed.x != row.x or parsed.k != key.k or not shamir.share_matches(parsed, row.digest):
                raise Invalid(_("wrong share: the share presented by %(name)s does not match the digest recorded when the key was split"), name=name, field="share")
            row.presented_at, row.presented_share = now, parsed.encode()
            row.save(update_fields=["presented_at", "presented_share"])
            audit.record(action="custody.share_present", subject=f"lot:{lot.pk}", actor=actor,
                         project_id=lot.project_id,
                         payload={"lot": lot.pk, "custodian": actor.pk, "x": row.x, "digest": row.digest,
                                  "at": iso(now)})
            count = CustodyShare.objects.filter(opening_key=key, presented_at__isnull=False).count()
            _broadcast(lot.pk, {"type": "share", "custodian": name, "presented": count, "k": key.k})
    except (Invalid, Conflict, Forbidden) as exc:
        _record_refused_share(actor=actor, lot_id=lot_id, reason=exc.untranslated)
        raise
    return row


def _open_one(opener: E.EnvelopeOpener, row: bulk.EnvelopeRow, lot: Lot):
    """Returns (outcome, content, content_key, failure_code, reason) for one stored envelope."""
    _id, bidder_id, digest, signature, key_hex, _name, ciphertext = row
    project, lot_ref, bidder = binding(lot, bidder_id)
    try:
        content, content_key = opener.open(
            envelope=ciphertext, project=project, lot=lot_ref, bidder=bidder, signature=signature,
            signer_public_key=bytes.fromhex(key_hex), expected_digest=digest, copy_documents=False)
    except E.EnvelopeError as exc:
        return outcomes.outcome_for(exc.code), None, None, exc.code, outcomes.explain(exc.code, str(exc))
    return outcomes.VALID, content, content_key, "", ""


def open_bids(*, actor: User, lot: Lot | int) -> list[OpenedBid]:
    """The opening: rebuild the key from k presented shares (in memory), check it against the
    published public key, open every envelope, apply art. 31, wipe, publish the opening record;
    too few valid bids → failed tender (流标)."""
    from trading import services as trading

    with transaction.atomic():
        lot = _locked_lot(lot)
        require_staff_of(actor, lot.project)
        now = timezone.now()
        if lot.status != LotStatus.BIDDING_CLOSED:
            raise Conflict(_("the opening happens once the lot has closed for bids (the lot is %(status)s)"), status=lot.status)
        key = _ceremony_key(lot)
        presented = list(CustodyShare.objects.select_for_update().filter(opening_key=key,
                                                                         presented_at__isnull=False))
        if len(presented) < key.k:
            raise Conflict(_("%(count)s of %(k)s custody shares presented: nothing can be opened yet"), count=len(presented), k=key.k)
        raw = None
        private: X25519PrivateKey | None  # dropped as soon as the opener holds it
        try:
            raw = bytearray(shamir.combine_bytes([shamir.decode_share(s.presented_share) for s in presented]))
            private = X25519PrivateKey.from_private_bytes(bytes(raw))
        except shamir.ShamirError as exc:
            raise Conflict(_("the presented shares do not rebuild a key: %(problem)s"),
                           problem=translated(Conflict, exc, M.SHAMIR)) from None
        finally:
            _wipe(raw)
        if E.x25519_public_bytes(private) != bytes(key.public_key):
            private = None
            raise Conflict(_("the rebuilt key does not match the published opening key"))
        rows, opened, documents, names = [], [], [], []
        # the stored size was checked on submission; a stored envelope is opened whatever its size
        opener: E.EnvelopeOpener | None = E.EnvelopeOpener(private, max_bytes=None)
        private = None

        def handle(row: bulk.EnvelopeRow) -> None:
            assert opener is not None, "the opener is dropped only after the last envelope"
            outcome, content, content_key, code, reason = _open_one(opener, row, lot)
            env_id, bidder_id, digest, _sig, _key, bidder_name, _ct = row
            price, terms = (content.price_fen, content.terms) if content else (None, {})
            docs = [{"position": i, "name": d.name, "content_type": d.type, "size": len(d.content),
                     "sha256": d.sha256} for i, d in enumerate(content.documents)] if content else []
            opened.append((env_id, bidder_id, outcome, price, terms, code, reason, content_key))
            documents.append(docs)
            # what replay needs (bidding/envelopes/replay.py) and the failure's recorded cause
            rows.append({"bidder": bidder_id, "digest": digest, "outcome": outcome, "price_fen": price,
                         "terms": terms, "failure_code": code, "failure_reason": reason})
            names.append(bidder_name)

        try:  # each envelope is opened as it streams in and dropped (never 10,000 in memory)
            bulk.for_each_envelope(lot, handle)
        finally:
            assert opener is not None  # set above; mypy forgets that in a finally that reassigns it
            opener.close()  # the rebuilt key leaves memory with the opener
            opener = None
        bids = bulk.store_opened(lot=lot, opened_at=now, bids=opened, documents=documents)
        CustodyShare.objects.filter(opening_key=key).update(presented_share="")
        key.opened_at, key.opened_by = now, actor
        key.save(update_fields=["opened_at", "opened_by"])
        custodians = [s.custodian_id for s in presented]
        valid = sum(1 for r in rows if r["outcome"] == outcomes.VALID)
        audit.record(action="envelope.open", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
                     payload={"lot": lot.pk, "public_key": bytes(key.public_key).hex(), "custodians": custodians,
                              "merkle_root": key.merkle_root, "bids": rows, "valid": valid, "at": iso(now)})
        trading.transition_lot(lot=lot, action="open", actor=actor, payload={"valid_bids": valid})
        notice = trading.publish_notice(
            actor=None, project=lot.project, lot=lot, kind="opening_record",
            title=f"{lot.project.code} 第{lot.number}标段 开标记录 opening record",
            body=_opening_body(lot, rows, names, key),
            data={"lot": lot.pk, "merkle_root": key.merkle_root, "envelopes": len(rows), "valid": valid,
                  "columns": OPENING_COLUMNS, "rows": _opening_table(rows, names, documents)})
        minimum = lot.rule.min_valid_bids
        if valid < minimum:
            reason = (f"流标 failed tender: {valid} valid bid(s), at least {minimum} required — "
                      f"{lot.rule.basis.get('min_valid_bids', '')}").strip(" —")
            trading.transition_lot(lot=lot, action="fail", actor=actor, reason=reason)
            trading.publish_notice(actor=None, project=lot.project, lot=lot, kind="result",
                                   title=f"{lot.project.code} 第{lot.number}标段 流标公告 failed tender",
                                   body=reason, data={"lot": lot.pk, "failed": True, "valid": valid,
                                                      "min_valid_bids": minimum})
        _broadcast(lot.pk, {"type": "opened", "notice": notice.number, "valid": valid, "envelopes": len(rows)})
    return bids


OPENING_COLUMNS = ["bidder 投标人", "price 投标报价 (元)", "declared terms 承诺", "outcome 结果",
                   "documents 投标文件 (SHA-256)", "envelope digest 信封摘要"]


def _terms_text(terms: dict) -> str:
    return "; ".join(f"{k}: {v}" for k, v in sorted(terms.items()))


def _opening_table(rows: list[dict], names: list[str], documents: list[list[dict]]) -> list[list[str]]:
    """The published opening record, one row of text cells per envelope (portal table)."""
    from trading.money import format_fen

    return [[name, format_fen(r["price_fen"]) if r["price_fen"] is not None else "", _terms_text(r["terms"]),
             r["outcome"] if r["outcome"] == outcomes.VALID else f"{r['outcome']}: {r['failure_reason']}",
             "; ".join(f"{d['name']} ({d['size']} B, {d['sha256']})" for d in docs), r["digest"]]
            for r, name, docs in zip(rows, names, documents)]


def _opening_body(lot: Lot, rows: list[dict], names: list[str], key: OpeningKey) -> str:
    from trading.money import format_fen

    lines = [f"开标记录 Opening record — lot {lot.number}: {lot.title}",
             f"envelopes at the deadline: {key.envelope_count}, Merkle root {key.merkle_root}", ""]
    for r, name in zip(rows, names):
        if r["outcome"] == outcomes.VALID:
            terms = _terms_text(r["terms"])
            lines.append(f"{name} — {format_fen(r['price_fen'])} 元" + (f" — {terms}" if terms else ""))
        else:
            lines.append(f"{name} — {r['outcome']}: {r['failure_reason']}")
    return "\n".join(lines)


def _broadcast(lot_id: int, message: dict) -> None:
    """Live follow of the opening: sent after commit to the lot's channel group."""
    def send():
        try:
            from asgiref.sync import async_to_sync
            from channels.layers import get_channel_layer

            layer = get_channel_layer()
            if layer is not None:
                async_to_sync(layer.group_send)(f"opening.{lot_id}", {"type": "opening.event", "event": message})
        except Exception:  # noqa: BLE001 — a broadcast failure must never undo the opening
            log.warning("opening broadcast failed for lot %s", lot_id, exc_info=True)

    transaction.on_commit(send)
