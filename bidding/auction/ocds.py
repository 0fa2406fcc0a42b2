"""OCDS 1.1 awards of auctions and listings (a contributor in settings.SUNLIGHT_OCDS_CONTRIBUTORS; called
by trading.ocds.release_for). The award is read from the published result notice (成交结果公告) — the
public record of the deal: winner and price — so each release carries the awards as of its own notice."""
from __future__ import annotations

from trading.models import Organisation


def _value(fen: int) -> dict:
    from trading.ocds import value

    return value(fen)


def contribute(*, project, release: dict, notice, notices=None) -> None:
    from trading.ocds import add_supplier, iso

    if project.method not in ("auction", "listing"):
        return
    results = [n for n in (notices if notices is not None else project.notices.order_by("published_at", "id"))
               if n.kind == "result" and (n.data or {}).get("auction") and n.published_at <= notice.published_at]
    deals = [n for n in results if n.data.get("outcome") == "deal" and n.data.get("winner_organisation")]
    if not deals:
        return
    winners = Organisation.objects.in_bulk([n.data["winner_organisation"] for n in deals])
    awards = release.setdefault("awards", [])
    for n in deals:
        org = winners[n.data["winner_organisation"]]
        lot_number = n.lot.number if n.lot_id else 1
        awards.append({
            "id": f"{lot_number}-auction-{n.data['auction']}", "title": f"第{lot_number}标的 成交",
            "status": "active", "date": iso(n.published_at), "value": _value(n.data["price_fen"]),
            "suppliers": [{"id": f"CN-USCC-{org.credit_code}", "name": org.name}],
            "relatedLots": [str(lot_number)],
        })
        add_supplier(release, org)
