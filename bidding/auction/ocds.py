"""OCDS 1.1 awards and contracts of auctions and listings (a contributor in settings.SUNLIGHT_OCDS_CONTRIBUTORS;
called by trading.ocds.release_for). Everything is read from the published notices — the public record: the
result notice (成交结果公告: winner and price) gives the award, the transaction confirmation's notice (成交确认书)
adds its document to the award, the contract notice gives the contract — so each release carries the awards and
contracts as of its own notice. Tags: the deal's result is the ``award`` release, the confirmation an
``awardUpdate``, the contract a ``contract`` release, a failed auction (流拍) a ``tenderUpdate``."""
from __future__ import annotations

from django.conf import settings

from trading.models import Organisation


def _value(fen: int) -> dict:
    from trading.ocds import value

    return value(fen)


def _confirmation_document(lot_number: int, n) -> dict:
    from trading.ocds import iso

    return {"id": f"{lot_number}-confirmation-{n.data['auction']}", "documentType": "awardNotice",
            "title": "成交确认书", "description": f"SHA-256 {n.data['confirmation_sha256']}",
            "url": f"{settings.SUNLIGHT_PUBLIC_URL}/api/auctions/{n.data['auction']}/confirmation/",
            "datePublished": iso(n.published_at), "format": "application/json", "language": "zh"}


def _tag(release: dict, notice) -> None:
    data = notice.data or {}
    if notice.kind != "result" or not data.get("auction"):
        return
    if data.get("deal_cancelled"):
        release["tag"] = ["awardUpdate"]
    elif data.get("sale_contract"):
        release["tag"] = ["contract"]
    elif data.get("confirmation_sha256"):
        release["tag"] = ["awardUpdate"]
    elif data.get("outcome") == "deal":
        release["tag"] = ["award"]
    elif data.get("outcome") == "failed":
        release["tag"] = ["tenderUpdate"]


def contribute(*, project, release: dict, notice, notices=None) -> None:
    from trading.ocds import add_supplier, iso

    if project.method not in ("auction", "listing"):
        return
    _tag(release, notice)
    mine = [n for n in (notices if notices is not None else project.notices.order_by("published_at", "id"))
            if n.kind == "result" and (n.data or {}).get("auction") and n.published_at <= notice.published_at
            and (n.published_at < notice.published_at or n.pk <= notice.pk)]
    deals = [n for n in mine if n.data.get("outcome") == "deal" and n.data.get("winner_organisation")]
    if not deals:
        return
    confirmations = {n.data["auction"]: n for n in mine if n.data.get("confirmation_sha256")
                     and not n.data.get("sale_contract")}
    contracts = {n.data["auction"]: n for n in mine if n.data.get("sale_contract")}
    cancelled = {n.data["auction"] for n in mine if n.data.get("deal_cancelled")}  # 成交无效: an upheld complaint
    winners = Organisation.objects.in_bulk([n.data["winner_organisation"] for n in deals])
    awards = release.setdefault("awards", [])
    for n in deals:
        org = winners[n.data["winner_organisation"]]
        lot_number = n.lot.number if n.lot_id else 1
        auction_id = n.data["auction"]
        award = {
            "id": f"{lot_number}-auction-{auction_id}", "title": f"第{lot_number}标的 成交",
            "status": "cancelled" if auction_id in cancelled else "active", "date": iso(n.published_at),
            "value": _value(n.data["price_fen"]),
            "suppliers": [{"id": f"CN-USCC-{org.credit_code}", "name": org.name}],
            "relatedLots": [str(lot_number)],
        }
        conf = confirmations.get(auction_id)
        if conf is not None:
            award["documents"] = [_confirmation_document(lot_number, conf)]
        awards.append(award)
        add_supplier(release, org)
        signed = contracts.get(auction_id)
        if signed is None:
            continue
        d = signed.data
        documents = [{"id": f"{lot_number}-contract-doc-{i}", "documentType": "contractSigned", "title": doc["name"],
                      "description": f"SHA-256 {doc['sha256']}"} for i, doc in enumerate(d["documents"], start=1)]
        if conf is not None:
            documents.append(_confirmation_document(lot_number, conf))
        release.setdefault("contracts", []).append({
            "id": f"{lot_number}-contract-{auction_id}", "awardID": award["id"], "title": f"第{lot_number}标的 合同",
            "status": "active", "value": _value(d["amount_fen"]), "dateSigned": f"{d['signed_on']}T00:00:00Z",
            "documents": documents,
        })
