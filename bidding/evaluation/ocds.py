"""OCDS 1.1 awards and contracts for a project's releases (contributor listed in
settings.SUNLIGHT_OCDS_CONTRIBUTORS; called by trading.ocds.release_for).

Each release is the state as of its notice: during the candidate publicity the first-ranked
candidate's award is ``pending``; after the award it is ``active`` (``cancelled`` once the winner
withdrew, was disqualified or refused to sign); a signed contract is ``active``.
"""
from __future__ import annotations

import datetime as dt

from bidding.evaluation.models import Award, Contract, Publicity
from audit import timestamps


_iso = timestamps.iso_seconds


def _value(fen: int) -> dict:
    return {"amount": fen // 100 if fen % 100 == 0 else fen / 100, "currency": "CNY"}


def _supplier(org) -> dict:
    return {"id": f"CN-USCC-{org.credit_code}", "name": org.name}


def _ended_at(award: Award) -> dt.datetime:
    """When an ended award ended (evaluation.services sets it with the status)."""
    if award.ended_at is None:
        raise ValueError(f"award {award.pk} is {award.status} but has no end time")
    return award.ended_at


def awards_and_contracts(project, as_of: dt.datetime | None = None) -> tuple[list[dict], list[dict], list]:
    """(awards, contracts, supplier organisations) of the project as of a moment (default: now)."""
    awards, contracts, suppliers = [], [], []
    for lot in project.lots.order_by("number"):
        lot_awards = [a for a in Award.objects.filter(lot=lot).select_related("bidder", "candidate")
                      .order_by("awarded_at", "id") if as_of is None or a.awarded_at <= as_of]
        for a in lot_awards:
            ended = a.status in ("withdrawn", "disqualified", "refused") and (as_of is None or _ended_at(a) <= as_of)
            awards.append({
                "id": f"{lot.number}-award-{a.pk}", "title": f"第{lot.number}标段 中标", "status": "cancelled" if ended else "active",
                "date": _iso(a.awarded_at), "value": _value(a.price_fen), "suppliers": [_supplier(a.bidder)],
                "relatedLots": [str(lot.number)],
                "contractPeriod": {"startDate": _iso(a.awarded_at), "endDate": _iso(a.contract_due)},
            })
            suppliers.append(a.bidder)
            contract = Contract.objects.filter(award=a).first()
            if contract is not None and (as_of is None or contract.recorded_at <= as_of):
                contracts.append({
                    "id": f"{lot.number}-contract-{contract.pk}", "awardID": f"{lot.number}-award-{a.pk}",
                    "title": f"第{lot.number}标段 合同", "status": "active", "value": _value(contract.amount_fen),
                    "dateSigned": f"{contract.signed_on.isoformat()}T00:00:00Z",
                    "documents": [{"id": f"{lot.number}-contract-doc-{i}", "documentType": "contractSigned",
                                   "title": d["name"], "description": f"SHA-256 {d['sha256']}"}
                                  for i, d in enumerate(contract.documents, start=1)],
                })
        if lot_awards:
            continue
        pub = (Publicity.objects.filter(lot=lot, cancelled=False).select_related("evaluation")
               .order_by("-starts_at").first())
        if pub is None or (as_of is not None and pub.starts_at > as_of):
            continue
        first = pub.evaluation.candidates.filter(status="ranked").select_related("bidder").order_by("rank").first()
        if first is None:
            continue
        awards.append({
            "id": f"{lot.number}-candidates-{pub.evaluation_id}", "title": f"第{lot.number}标段 第一中标候选人",
            "status": "pending", "date": _iso(pub.starts_at), "value": _value(first.price_fen),
            "suppliers": [_supplier(first.bidder)], "relatedLots": [str(lot.number)],
        })
        suppliers.append(first.bidder)
    return awards, contracts, suppliers


def contribute(*, project, release: dict, notice) -> None:
    """Add awards, contracts and supplier parties to one release (state as of its notice)."""
    from trading.ocds import add_supplier

    awards, contracts, suppliers = awards_and_contracts(project, notice.published_at)
    if awards:
        release["awards"] = awards
    if contracts:
        release["contracts"] = contracts
        if (notice.data or {}).get("contract") and "contract" not in release["tag"]:
            release["tag"].append("contract")
    for org in suppliers:
        add_supplier(release, org)
