"""The lot screens against the database: gather one lot's facts (reads bidding, deposits, audit),
run the pure screens (supervision.screens) and raise an alert per finding (idempotent by key).

Every finding rests on who registered, paid or bid — secret before the bid deadline — so its alert
is computed at once but shown from the lot's bid deadline on (``visible_from``)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from supervision import docmeta, screens
from trading.lifecycle import RESULT_STATUSES, LotStatus

SHOWN_SCREENS = tuple(screens.BASIS)


def lot_facts(lot) -> list[screens.BidFacts]:
    from bidding.envelopes.models import Envelope, OpenedBid, OpenedDocument
    from bidding.models import Registration
    from deposits.models import Account, BankTxn

    bidders: dict[int, dict] = {}

    def of(org) -> dict:
        return bidders.setdefault(org.pk, {"name": org.name, "contacts": set(), "payers": set(), "keys": set(),
                                           "files": set(), "meta": [], "price": None, "addresses": set(), "devices": set(),
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
    documents = list(OpenedDocument.objects.filter(bid_id__in=list(opened)))
    metas = document_metas(documents)
    for doc in documents:
        row = of(opened[doc.bid_id].bidder)
        row["files"].add(doc.sha256)
        row["meta"].append(metas.get(doc.sha256, {}))
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
            doc_meta=docmeta.facts(row["meta"]),
            contacts=frozenset(contacts), payers=frozenset(row["payers"]), keys=frozenset(row["keys"]),
            addresses=frozenset(row["addresses"]), devices=frozenset(row["devices"])))
    return out


def document_metas(documents: list) -> dict[str, dict[str, str]]:
    """Author, company, creating software and last saver of each opened document (by SHA-256), read once from
    its plaintext — the documents exist only after the opening, which is after the deadline — and kept in
    supervision's own cache (``DocumentMeta``)."""
    from django.utils import timezone

    from bidding.envelopes.selectors import document_content
    from supervision.models import DocumentMeta

    wanted = {d.sha256: d for d in documents}
    known = dict(DocumentMeta.objects.filter(sha256__in=list(wanted)).values_list("sha256", "meta"))
    new = []
    for sha, doc in wanted.items():
        if sha in known:
            continue
        try:
            content = document_content(doc)
        except Exception:  # noqa: BLE001 - an unreadable document has no metadata (the opening judged it)
            content = b""
        known[sha] = docmeta.extract(bytes(content))
        new.append(DocumentMeta(sha256=sha, meta=known[sha], read_at=timezone.now()))
    if new:
        DocumentMeta.objects.bulk_create(new, ignore_conflicts=True)
    return known


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
    for lot in Lot.objects.filter(project_id=project_id).exclude(status=LotStatus.DRAFT).select_related("project"):
        raised += screen_lot(lot, now=now)
    return raised



# --- market-level indicators --------------------------------------------------------------------

RESULT_STATES = RESULT_STATUSES


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


class _Kept:
    """This process's market state and the version it was saved as (supervision.models.MarketState)."""

    market: Any = None
    version: int | None = None


_KEPT = _Kept()


def market_state(changed: set[int] | None) -> Any:
    """The market folded up to now: this process's state when it is the one last saved (then only the lots in
    ``changed`` are folded in again: removed, and added back if they have a result), else rebuilt from every
    finished lot once. Inside the tick's transaction, the state row locked; a rollback drops the kept state."""
    import secrets

    from django.utils import timezone

    from supervision import market
    from supervision.models import MarketState

    row = MarketState.objects.select_for_update().filter(name="market").first()
    if row is None:
        row = MarketState(name="market", version=0, saved_at=timezone.now())
    warm = _KEPT.market is not None and _KEPT.version == row.version and row.pk is not None
    if warm and changed is not None:
        m = _KEPT.market
        for lot_id in changed:
            m.remove(str(lot_id))
        for o in market_outcomes(sorted(changed)):
            m.add(o)
    elif warm:
        m = _KEPT.market
    else:
        m = market.Market()
        for o in market_outcomes():
            m.add(o)
    row.version, row.lots, row.saved_at = secrets.randbits(62), m.count, timezone.now()
    row.save()
    # kept with the version just written: if this transaction rolls back, the row keeps its old version, which
    # no longer matches, and the next tick rebuilds (a random version never matches by accident)
    _KEPT.market, _KEPT.version = m, row.version
    return m


def screen_market(*, now: dt.datetime, changed: set[int] | None = None) -> int:
    """The market-level indicators after the lots in ``changed`` got (or lost) their result (None: every lot);
    an alert per finding (idempotent)."""
    import hashlib

    from supervision import market
    from supervision.services import raise_alert
    from trading.models import Lot

    try:
        findings = market_state(changed).findings()
    except BaseException:
        _KEPT.market = _KEPT.version = None
        raise
    raised = 0
    for f in findings:
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
