"""Demo data for sealed envelopes and the opening ceremony (called from frontend.demo SEEDERS as
``seed(world)``, after the trading and deposits seeders).

Everything goes through the services with the clock moved (time_machine), so the audit trail is real
and each project's events are in time order:

- custody keys for the demo staff and supervisor (their passphrases are printed with the logins),
  a registered Ed25519 signing key for every demo bidder (the key files, in the format of
  ``sunlight-bid keygen``, are written to ``VAR_DIR/demo-keys/`` so a demo bidder can seal in the
  browser with them);
- an engineering open tender whose bids were sealed with the command-line tool (``sunlight-bid seal``),
  one replaced before the deadline (art. 29), securities paid through the simulated bank, the
  deadline sealed (Merkle root), and opened at the ceremony by two custodians, with its opening
  record notice (status: opened, waiting for the committee draw);
- an engineering open tender taking bids right now: bidder1 is registered with its security in
  place and has not sealed yet (it can seal and submit in the browser), two others have sealed;
- the opening key set up for any published tender lot of the trading demo that has none.

The helpers (`ensure_keys`, `tender`, `register_and_pay`, `submit`, `close_and_open`) are used by the
evaluation demo too.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import tempfile
from pathlib import Path

import time_machine
from django.conf import settings
from django.utils import timezone

from bidding import services as bidding_services
from bidding.envelopes import cli
from bidding.envelopes import envelope as E
from bidding.envelopes import services
from bidding.envelopes.models import CustodianKey, OpeningKey
from bidding.models import BidderKey
from trading import keys
from trading import services as trading
from trading.models import Lot
from trading.rules import rule_for
from trading.lifecycle import LotStatus

DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
KEYS_AGE = 90 * DAY  # custody and signing keys are registered this long before the demo's "now"
CUSTODY_PASSPHRASES = {"staff": "staff-custody-2026", "supervisor": "supervisor-custody-2026"}


# --- keys ------------------------------------------------------------------------------------------

def key_dir() -> Path:
    return Path(settings.VAR_DIR) / "demo-keys"


def key_file(username: str) -> Path:
    return key_dir() / f"{username}-signing-key.json"


def _write_key_file(path: Path, key) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    cli.write_key(path, key)  # the `sunlight-bid keygen` format, mode 0600


def _annotate_login(world, username: str, note: str) -> None:
    for i, (name, role, org) in enumerate(world.logins):
        if name == username and note not in org:
            world.logins[i] = (name, role, f"{org} · {note}")


def ensure_keys(world) -> None:
    """Custody keys (staff, supervisor) and bidder signing keys, registered KEYS_AGE before now.
    Idempotent: the evaluation demo calls it too."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    custodians = [world.staff, world.supervisor]
    missing_custody = [u for u in custodians
                       if not CustodianKey.objects.filter(user=u, revoked_at__isnull=True).exists()]
    missing_signing = [u for u in world.bidders if not key_file(u.username).exists()
                       or not BidderKey.objects.filter(organisation_id=u.organisation_id, revoked_at__isnull=True,
                                                       public_key_hex=_file_public_hex(u.username)).exists()]
    if missing_custody or missing_signing:
        with time_machine.travel(timezone.now() - KEYS_AGE, tick=False):
            for user in missing_custody:
                services.register_custodian_key(actor=user, passphrase=CUSTODY_PASSPHRASES[user.username])
            for user in missing_signing:
                key = Ed25519PrivateKey.generate()
                _write_key_file(key_file(user.username), key)
                bidding_services.register_bidder_key(actor=user, public_key_hex=E.ed25519_public_bytes(key).hex())
    for user in custodians:
        _annotate_login(world, user.username, f"custody passphrase: {CUSTODY_PASSPHRASES[user.username]}")
    for user in world.bidders:
        _annotate_login(world, user.username, f"signing key file: {key_file(user.username)}")


def _file_public_hex(username: str) -> str:
    try:
        return keys.encode(keys.legacy(json.loads(key_file(username).read_text())["public"],
                                       size=keys.PUBLIC_KEY_BYTES))
    except (OSError, ValueError, KeyError):
        return ""


# --- a tender, step by step ------------------------------------------------------------------------

def tender(world, *, kind: str = "engineering", title: str, lot_title: str, owner, estimate_fen: int,
           description: str, evaluation_method: str | None = None, security_bp: int = 100,
           notice_days: int | None = None, eligibility: list[str] | None = None) -> Lot:
    """Create and publish a one-lot open tender now (the travelled clock); the opening key is made on
    publication from the custodians' keys. Returns the lot."""
    rule = rule_for(kind, "open_tender")
    now = timezone.now()
    days = notice_days if notice_days is not None else rule.min_notice_days
    security = estimate_fen * security_bp // 10000
    if rule.security_cap_fen:
        security = min(security, rule.security_cap_fen)
    spec = trading.LotSpec(
        title=lot_title, estimate_fen=estimate_fen, bid_deadline=now + days * DAY + dt.timedelta(hours=6),
        security_fen=security, doc_start=now, doc_end=now + (rule.doc_period_min_days + 2) * DAY,
        evaluation_method=evaluation_method or rule.evaluation_methods[0],
        eligibility=eligibility or ["具有独立法人资格和有效的营业执照", "具备市政公用工程施工总承包二级及以上资质",
                                    "近三年内无重大违法记录"])
    project = trading.create_project(
        actor=world.staff, kind=kind, method="open_tender", title=title, owner=owner, agent=world.agent,
        supervisor=world.supervisor_org, region="阳光市", budget_fen=estimate_fen, lots=[spec],
        description=description)
    trading.publish_project(actor=world.staff, project=project)
    return project.lots.get()


def pay(lot: Lot, org) -> None:
    """The bidder pays its security through the simulated bank (a signed notification credits it)."""
    from deposits.bank.fake import BANK
    from deposits.models import Account

    acc = Account.objects.get(lot=lot, bidder=org, kind="deposit")
    BANK.pay_in(sub_account=acc.deposit_number, amount_fen=acc.required_fen, payer_name=org.name,
                payer_account=org.bank_account or f"6222{org.pk:012d}", remark="投标保证金 bid security")


def register_and_pay(world, lot: Lot, indexes, *, step: dt.timedelta = 2 * dt.timedelta(hours=1), traveller=None,
                     paid=True) -> None:
    for i in indexes:
        bidding_services.register(actor=world.bidders[i], lot=lot,
                                  declaration=[{"condition": c, "met": True} for c in lot.eligibility])
        if lot.security_fen and paid:
            pay(lot, world.bidder_orgs[i])
        if traveller is not None:
            traveller.move_to(timezone.now() + step)


def _bid_document(lot: Lot, org, price: str) -> tuple[str, bytes]:
    text = (f"%PDF-1.4\n% demo bid document\n投标函 Bid letter — {lot.project.code} lot {lot.number}\n"
            f"投标人 Bidder: {org.name}\n投标报价 Price: {price} 元\n").encode()
    return "投标文件-商务标.pdf", text


def submit(world, lot: Lot, i: int, price: str, *, terms: dict | None = None, replace: bool = False):
    """Bidder i seals its bid exactly as `sunlight-bid seal` does (its key file, the lot key from the
    submit page in hex, the price as text, a document file) and uploads the JSON it writes."""
    user, org = world.bidders[i], world.bidder_orgs[i]
    project_ref, lot_ref, bidder_ref = services.binding(lot, org.pk)
    lot_key = keys.encode(bytes(OpeningKey.objects.get(lot=lot).public_key))
    with tempfile.TemporaryDirectory(prefix="sunlight-demo-bid-") as tmp:
        doc_name, doc = _bid_document(lot, org, price)
        doc_path = Path(tmp) / doc_name
        doc_path.write_bytes(doc)
        out = Path(tmp) / "envelope.json"
        argv = ["seal", "--lot-key", lot_key, "--project", project_ref, "--lot", lot_ref, "--bidder", bidder_ref,
                "--price", price, "--doc", str(doc_path), "--key", str(key_file(user.username)), "--out", str(out)]
        for name, value in (terms or {"工期": "360日历天", "质保期": "2年"}).items():
            argv += ["--term", f"{name}={value}"]
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(argv)
        if code != 0:
            raise RuntimeError(f"sunlight-bid seal failed for {user.username} (exit {code})")
        data = json.loads(out.read_text())
    action = services.replace_envelope if replace else services.submit_envelope
    return action(actor=user, lot=lot, data=data)


def close(lot: Lot, traveller) -> Lot:
    """The deadline passes: the clock closes bidding (the envelope set's Merkle root, deposits frozen).
    Only this lot is transitioned, exactly as the clock tick does for it."""
    lot.refresh_from_db()
    traveller.move_to(lot.bid_deadline + MINUTE)
    trading.transition_lot(lot=lot, action="close_bidding", actor=None)
    lot.refresh_from_db()
    return lot


def close_and_open(world, lot: Lot, traveller) -> Lot:
    """Close at the deadline, then the opening ceremony half an hour later: the staff custodian and
    the supervisor present their shares, staff open, the opening record notice is published."""
    close(lot, traveller)
    traveller.move_to(timezone.now() + 29 * MINUTE)
    for custodian in (world.staff, world.supervisor):
        services.present_share(actor=custodian, lot=lot, passphrase=CUSTODY_PASSPHRASES[custodian.username])
        traveller.move_to(timezone.now() + MINUTE)
    services.open_bids(actor=world.staff, lot=lot)
    lot.refresh_from_db()
    return lot


# --- the seeder ------------------------------------------------------------------------------------

def seed(world) -> dict:
    ensure_keys(world)
    real_now = timezone.now()
    done: dict = {}
    owner = world.tenderees[0]

    # (a) opened at the ceremony, 12 days ago; waiting for the committee draw.
    with time_machine.travel(real_now - 33 * DAY, tick=False) as traveller:
        lot = tender(world, title="阳光市东湖大桥维修加固工程 Donghu Bridge repair and strengthening",
                     lot_title="施工 Construction", owner=owner, estimate_fen=860_000_000,
                     description="东湖大桥主梁加固、支座更换及桥面铺装。Girder strengthening, bearings and deck surfacing.")
        traveller.move_to(timezone.now() + DAY)
        register_and_pay(world, lot, [0, 1, 2, 3], traveller=traveller)
        prices = {0: "8312000.00", 1: "8190500.00", 2: "8455000.00", 3: "8266800.00"}
        for i, price in prices.items():
            traveller.move_to(timezone.now() + 3 * DAY)
            submit(world, lot, i, price)
        traveller.move_to(timezone.now() + DAY)
        submit(world, lot, 2, "8398000.00", replace=True, terms={"工期": "330日历天", "质保期": "3年"})  # art. 29
        close_and_open(world, lot, traveller)
        done["opened"] = lot.pk

    # (d) bidding open now: bidder1 is registered and secured, and can seal in the browser.
    with time_machine.travel(real_now - 6 * DAY, tick=False) as traveller:
        lot = tender(world, title="阳光市第二中学教学楼新建工程 No. 2 Middle School teaching building",
                     lot_title="施工总承包 General contract", owner=world.tenderees[1], estimate_fen=1_560_000_000,
                     eligibility=["具有独立法人资格和有效的营业执照", "具备建筑工程施工总承包二级及以上资质"],
                     description="新建教学楼一栋，地上五层，建筑面积12,800平方米。A five-storey building, 12,800 m².")
        traveller.move_to(timezone.now() + DAY)
        register_and_pay(world, lot, [0, 1, 2], traveller=traveller)
        traveller.move_to(timezone.now() + DAY)
        submit(world, lot, 1, "15120000.00")
        traveller.move_to(timezone.now() + 2 * DAY)
        submit(world, lot, 2, "15388000.00", terms={"工期": "540日历天", "质保期": "2年"})
        done["bidding"] = lot.pk

    # published tender lots of the other demo projects get their opening key now (set up by staff)
    for other in Lot.objects.filter(status=LotStatus.PUBLISHED, bid_deadline__gt=timezone.now(),
                                    project__method__in=["open_tender", "invited_tender"],
                                    opening_key__isnull=True).select_related("project").order_by("id"):
        if other.project.centre_id == world.centre.pk:
            services.setup_opening_key(actor=world.staff, lot=other)
    return done
