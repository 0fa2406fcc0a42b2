"""The centre's numbers: public statistics page (supervisors get the fuller version), CSV download,
per-lot price distribution and per-auction price over time. Thin: data from supervision.statistics,
charts drawn by static JS (Chart.js served from the platform) from a JSON script element."""
from __future__ import annotations

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from supervision import statistics
from trading.errors import NotFound
from trading.permissions import is_supervisor


def _lot_and_auction(request) -> dict:
    from bidding.auction.models import Auction
    from trading.models import Lot

    extra: dict = {}
    lot_id, auction_id = request.GET.get("lot", ""), request.GET.get("auction", "")
    if lot_id:
        lot = Lot.objects.filter(pk=int(lot_id) if lot_id.isdigit() and len(lot_id) < 18 else 0).select_related("project").first()
        prices = statistics.lot_prices(lot) if lot is not None else None
        if lot is None or prices is None:
            raise NotFound(_("no such opened lot"))
        extra["lot"] = {"id": lot.pk, "label": f"{lot.project.code} / {lot.number}", "prices_yuan": [p / 100 for p in prices]}
    if auction_id:
        auction = Auction.objects.filter(pk=int(auction_id) if auction_id.isdigit() and len(auction_id) < 18 else 0) \
            .select_related("lot__project").first()
        series = statistics.auction_series(auction) if auction is not None else None
        if auction is None or series is None:
            raise NotFound(_("no such closed auction"))
        extra["auction"] = {"id": auction.pk, "label": f"{auction.lot.project.code} / {auction.lot.number}",
                            "series": [[at, amount / 100] for at, amount in series]}
    return extra


def page(request):
    full = is_supervisor(request.user) and request.GET.get("public") != "1"
    data = statistics.statistics(full=full)
    chart = {**data, **_lot_and_auction(request)}
    return render(request, "frontend/supervision/statistics.html", {"data": data, "chart": chart, "full": full,
                                                                    "lot": chart.get("lot"), "auction": chart.get("auction")})


def download(request):
    full = is_supervisor(request.user) and request.GET.get("public") != "1"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sunlight-statistics{"-full" if full else ""}.csv"'
    response.write("\ufeff")  # so spreadsheet programs read UTF-8 (Chinese labels)
    csv.writer(response).writerows(statistics.csv_rows(statistics.statistics(full=full)))
    return response


urlpatterns = [
    path("statistics/", page, name="statistics-page"),
    path("statistics.csv", download, name="statistics-csv"),
]
