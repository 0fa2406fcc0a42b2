"""The centre's numbers (statistics page): aggregates in SQL over facts that are public once they
exist — opened bids (the opening record is public), results, awards, refunds, closed auctions —
so no figure counts a registration, payment or bid before its deadline. The supervisors' version
adds the alerts by rule and outcome.

Computed at most every SUNLIGHT_STATS_MAX_AGE seconds (30 by default) per process and cache, so the
page costs one cache read at any size of the market.
"""
from __future__ import annotations

from audit import timestamps

import datetime as dt
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import TruncMonth

from trading.rules import KINDS
from trading.lifecycle import RESULT_STATUSES, LotStatus

RESULT_STATES = RESULT_STATUSES
OPENED_STATES = (LotStatus.OPENED, LotStatus.EVALUATED, LotStatus.PUBLICITY) + RESULT_STATES


def _month(value: dt.datetime | dt.date | None) -> str:
    return value.strftime("%Y-%m") if value else ""


def compute(*, full: bool) -> dict[str, Any]:
    from bidding.evaluation.models import Award
    from deposits.models import RefundOrder
    from trading.models import Lot

    lots = Lot.objects.exclude(status=LotStatus.DRAFT)
    # projects and value by kind and month (month of the notice; value = awarded prices by award month)
    by_kind_month: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: {"lots": 0, "value_fen": 0}))
    for row in lots.annotate(m=TruncMonth("notice_at")).values("project__kind", "m").annotate(n=Count("id")):
        by_kind_month[row["project__kind"]][_month(row["m"])]["lots"] += row["n"]
    live_awards = Award.objects.exclude(status__in=["withdrawn", "disqualified", "refused"])
    for kind, month, value in live_awards.annotate(m=TruncMonth("awarded_at")).values("lot__project__kind", "m") \
            .annotate(v=Sum("price_fen")).values_list("lot__project__kind", "m", "v"):
        by_kind_month[kind][_month(month)]["value_fen"] += value or 0
    months = sorted({m for k in by_kind_month.values() for m in k if m})
    # bids per opened lot
    opened = lots.filter(status__in=OPENED_STATES)
    per_lot = opened.annotate(valid=Count("opened_bids", filter=Q(opened_bids__outcome="valid")))
    agg = per_lot.aggregate(lots=Count("id"), avg=Avg("valid"), single=Count("id", filter=Q(valid=1)))
    finished = lots.filter(status__in=RESULT_STATES).aggregate(n=Count("id"), failed=Count("id", filter=Q(status=LotStatus.FAILED)))
    savings = live_awards.aggregate(price=Sum("price_fen"), estimate=Sum("lot__estimate_fen"))
    days = live_awards.filter(lot__notice_at__isnull=False).aggregate(d=Avg(F("awarded_at") - F("lot__notice_at")))
    refunds = RefundOrder.objects.filter(status="confirmed", due_on__isnull=False).aggregate(
        n=Count("id"), on_time=Count("id", filter=Q(confirmed_at__date__lte=F("due_on"))))
    out: dict[str, Any] = {
        "months": months,
        "kinds": {k: {"label": KINDS[k][0], "label_en": KINDS[k][1],
                      "lots": [by_kind_month[k][m]["lots"] for m in months],
                      "value_yuan": [by_kind_month[k][m]["value_fen"] // 100 for m in months]} for k in KINDS},
        "totals": {
            "lots_published": lots.count(),
            "lots_opened": agg["lots"] or 0,
            "avg_valid_bids": round(float(agg["avg"] or 0), 2),
            "single_bid_share": round((agg["single"] or 0) / agg["lots"], 3) if agg["lots"] else None,
            "failed_rate": round(finished["failed"] / finished["n"], 3) if finished["n"] else None,
            "savings_rate": round(1 - savings["price"] / savings["estimate"], 3) if savings["estimate"] else None,
            "days_notice_to_award": round(days["d"].total_seconds() / 86400, 1) if days["d"] else None,
            "refunds_on_time": round(refunds["on_time"] / refunds["n"], 3) if refunds["n"] else None,
            "refunds_confirmed": refunds["n"],
        },
    }
    if full:
        from supervision.models import Alert

        now = dt.datetime.now(dt.timezone.utc)
        rows = Alert.objects.filter(visible_from__lte=now).values("rule", "status").annotate(n=Count("id"))
        table: dict[str, dict[str, int]] = defaultdict(dict)
        for r in rows:
            table[r["rule"]][r["status"]] = r["n"]
        out["alerts"] = {rule: dict(v) for rule, v in sorted(table.items())}
    return out


def statistics(*, full: bool) -> dict[str, Any]:
    max_age = getattr(settings, "SUNLIGHT_STATS_MAX_AGE", 30)
    key = f"sunlight:stats:{'full' if full else 'public'}"
    if max_age:
        hit = cache.get(key)
        if hit is not None:
            return hit
    data = compute(full=full)
    data["computed_at"] = timestamps.iso_z(dt.datetime.now(dt.timezone.utc))
    if max_age:
        cache.set(key, data, max_age)
    return data


def lot_prices(lot) -> list[int] | None:
    """The opened valid prices of one lot (public once opened), or None before."""
    from bidding.envelopes.models import OpenedBid

    if lot.status not in OPENED_STATES:
        return None
    return sorted(p or 0 for p in OpenedBid.objects.filter(lot=lot, outcome="valid", price_fen__isnull=False)
                  .values_list("price_fen", flat=True))


def auction_series(auction) -> list[tuple[str, int]] | None:
    """The price over time of a closed auction (its bids are public in the room), or None while running."""
    if auction.phase != "closed":
        return None
    return [(at.isoformat(), amount) for at, amount in
            auction.bids.order_by("seq").values_list("placed_at", "amount_fen")]


def csv_rows(data: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [["kind", "kind_zh", "month", "lots", "awarded_value_yuan"]]
    for k, v in data["kinds"].items():
        for i, m in enumerate(data["months"]):
            rows.append([k, v["label"], m, v["lots"][i], v["value_yuan"][i]])
    rows.append([])
    rows.append(["indicator", "value"])
    rows += [[k, "" if v is None else v] for k, v in data["totals"].items()]
    if "alerts" in data:
        rows.append([])
        rows.append(["alert_rule", "status", "count"])
        for rule, by in data["alerts"].items():
            rows += [[rule, s, n] for s, n in sorted(by.items())]
    return rows

