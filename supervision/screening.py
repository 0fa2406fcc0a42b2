"""The lot screens against the database: gather one lot's facts (reads bidding, deposits, audit),
run the pure screens (supervision.screens) and raise an alert per finding (idempotent by key).

Every finding rests on who registered, paid or bid — secret before the bid deadline — so its alert
is computed at once but shown from the lot's bid deadline on (``visible_from``)."""
from __future__ import annotations

import datetime as dt

from supervision import screens

SHOWN_SCREENS = tuple(screens.BASIS)


def lot_facts(lot) -> list[screens.BidFacts]:
    from bidding.envelopes.models import Envelope, OpenedBid, OpenedDocument
    from bidding.models import Registration
    from deposits.models import Account, BankTxn

    bidders: dict[int, dict] = {}

    def of(org) -> dict:
        return bidders.setdefault(org.pk, {"name": org.name, "contacts": set(), "payers": set(), "keys": set(),
                                           "files": set(), "price": None, "addresses": set(), "devices": set(),
                                           "users": set()})

    for reg in Registration.objects.filter(lot=lot, status="active").select_related("bidder"):
        row = of(reg.bidder)
        row["users"].add(reg.registered_by_id)
        if reg.bidder.contact.strip():
            row["contacts"].add("contact:" + " ".join(reg.bidder.contact.split()).lower())
    for env in Envelope.objects.filter(lot=lot, status="active").select_related("bidder", "bidder_key"):
        row = of(env.bidder)
        row["keys"].add(env.bidder_key.public_key_hex)
        row["users"].add(env.submitted_by_id)
    # deposits paid into the lot's virtual sub-accounts (matched or held in suspense alike)
    accounts = {a.number: a.bidder for a in Account.objects.filter(lot=lot, kind="deposit", bidder__isnull=False)
                .select_related("bidder") if a.number}
    for number, payer in BankTxn.objects.filter(direction="credit", sub_account__in=list(accounts)) \
            .exclude(payer_account="").values_list("sub_account", "payer_account"):
        of(accounts[number])["payers"].add("".join(payer.split()))
    opened = {b.pk: b for b in OpenedBid.objects.filter(lot=lot).select_related("bidder")}
    for bid in opened.values():
        row = of(bid.bidder)
        if bid.outcome == "valid" and bid.price_fen:
            row["price"] = bid.price_fen
    for doc in OpenedDocument.objects.filter(bid_id__in=list(opened)):
        of(opened[doc.bid_id].bidder)["files"].add(doc.sha256)
    for org_id, address, client in _contexts(lot, list(bidders)):
        if address:
            bidders[org_id]["addresses"].add(address)
        if client:
            bidders[org_id]["devices"].add(client)
    out = []
    for org_id, row in sorted(bidders.items()):
        contacts = row["contacts"] | {f"user:{u}" for u in row["users"]}
        out.append(screens.BidFacts(
            bidder=str(org_id), name=row["name"], price_fen=row["price"], file_hashes=frozenset(row["files"]),
            contacts=frozenset(contacts), payers=frozenset(row["payers"]), keys=frozenset(row["keys"]),
            addresses=frozenset(row["addresses"]), devices=frozenset(row["devices"])))
    return out


def _contexts(lot, org_ids: list[int]) -> list[tuple[int, str, str]]:
    """(organisation, network address, client) of the bidders' actions on this lot, from the audit
    app's private request records (empty where none were recorded)."""
    try:
        from audit.context import contexts_of_project
    except ImportError:
        return []
    return [(org, addr, client) for org, addr, client in contexts_of_project(lot.project_id, org_ids)]


def screen_lot(lot, *, now: dt.datetime) -> int:
    from supervision.services import raise_alert

    facts = lot_facts(lot)
    names = {b.bidder: b.name for b in facts}
    raised = 0
    for f in screens.screen_lot(facts):
        group = ",".join(f.bidders)
        evidence = {"bidders": [{"id": int(b), "name": names.get(b, "")} for b in f.bidders], **f.evidence}
        alert = raise_alert(
            key=f"screen:{f.screen}:lot:{lot.pk}:{group}"[:200], kind="screen", rule=f.screen, severity=f.severity,
            title=f"疑似串通投标：{screens.TITLES[f.screen][0]}（{lot.project.code} 第{lot.number}标段）",
            title_en=f"Possible collusion: {screens.TITLES[f.screen][1]}", basis=screens.BASIS[f.screen],
            evidence=evidence, project_id=lot.project_id, lot_id=lot.pk, visible_from=lot.bid_deadline, now=now)
        raised += alert is not None
    return raised


def screen_project(project_id: int, *, now: dt.datetime) -> int:
    from trading.models import Lot

    raised = 0
    for lot in Lot.objects.filter(project_id=project_id).exclude(status="draft").select_related("project"):
        raised += screen_lot(lot, now=now)
    return raised

