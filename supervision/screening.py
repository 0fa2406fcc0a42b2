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



# --- market-level indicators --------------------------------------------------------------------

RESULT_STATES = ("awarded", "contracted", "complete", "failed")


def market_outcomes(lot_ids: list[int] | None = None) -> list:
    """Finished tender lots as market.LotOutcome (valid opened prices, the awarded bidder)."""
    from bidding.envelopes.models import OpenedBid
    from bidding.evaluation.models import Award
    from supervision import market
    from trading.models import Lot

    qs = Lot.objects.filter(status__in=RESULT_STATES, opened_bids__isnull=False).distinct().select_related("project")
    if lot_ids is not None:
        qs = qs.filter(pk__in=lot_ids)
    lots = list(qs)
    prices: dict[int, dict[str, int]] = {lot.pk: {} for lot in lots}
    for lot_id, bidder, price in OpenedBid.objects.filter(lot__in=lots, outcome="valid", price_fen__isnull=False) \
            .values_list("lot_id", "bidder_id", "price_fen"):
        prices[lot_id][str(bidder)] = price or 0
    winners = dict(Award.objects.filter(lot__in=lots).exclude(status__in=["withdrawn", "disqualified", "refused"])
                   .values_list("lot_id", "bidder_id"))
    return [market.LotOutcome(lot=str(lot.pk), estimate_fen=lot.estimate_fen, prices=prices[lot.pk],
                              winner=str(winners[lot.pk]) if lot.pk in winners else None, notice_at=lot.notice_at,
                              deadline=lot.bid_deadline, min_notice_days=lot.rule.min_notice_days) for lot in lots]


def screen_market(*, now: dt.datetime) -> int:
    """Every market-level indicator over every finished lot; an alert per finding (idempotent)."""
    import hashlib

    from supervision import market
    from supervision.services import raise_alert
    from trading.models import Lot

    raised = 0
    for f in market.indicators(market_outcomes()):
        digest = hashlib.sha256(("|".join(f.lots) + "/" + "|".join(f.bidders)).encode()).hexdigest()[:20]
        project_id = None
        if len(f.lots) == 1:
            project_id = Lot.objects.filter(pk=int(f.lots[0])).values_list("project_id", flat=True).first()
        zh, en = market.TITLES[f.indicator]
        alert = raise_alert(
            key=f"market:{f.indicator}:{digest}", kind="market", rule=f.indicator,
            severity="high" if f.indicator in ("bid_rotation", "same_winner") else "medium",
            title=f"市场层面指标：{zh}", title_en=f"Market red flag: {en}", basis=market.BASIS[f.indicator],
            evidence={"lots": [int(x) for x in f.lots], "bidders": [int(x) for x in f.bidders], **f.evidence},
            project_id=project_id, lot_id=int(f.lots[0]) if project_id else None, now=now)
        raised += alert is not None
    return raised
