"""CSV exports: a lot's deposits, refunds, opening records and results (frontend/csv_export.py writes them).

Each export reads through the same selector as its page, so the confidentiality rule (docs/confidentiality.md)
holds here as there: a lot's deposits only for its centre's staff and supervisors and only after its bid
deadline; refunds that would reveal a registration only after the deadline; opening records and results only
from published notices. Also the favicon and ``/home/`` (the viewer's own home)."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.templatetags.static import static
from django.urls import path
from django.utils.translation import gettext as _

from deposits import selectors as deposit_selectors
from deposits.services import order_ref
from frontend.csv_export import csv_response
from frontend.homes import home_url
from frontend.templatetags.sunlight import label_of
from trading.models import Lot, Notice, Organisation
from trading.money import format_fen


@login_required
def lot_deposits(request, lot_id: int):
    lot = get_object_or_404(Lot.objects.select_related("project"), pk=lot_id)
    ov = deposit_selectors.lot_overview(request.user, lot)  # the page's rule: centre staff / supervisors, after the deadline
    header = [_("Project"), _("Lot"), _("Bidder"), _("Sub-account"), _("Required (yuan)"), _("Balance (yuan)"),
              _("Paid at (Beijing time)"), _("Status"), _("Refund")]
    rows = [[lot.project.code, lot.number, r["account"].bidder.name, r["account"].number,
             format_fen(r["account"].required_fen), format_fen(r["balance"]), r["paid_at"], r["status"],
             r["refund"].get_status_display() if r["refund"] else ""] for r in ov.accounts]
    return csv_response(f"deposits-{lot.project.code}-{lot.number}.csv", header, rows)


@login_required
def refunds(request):
    orders = deposit_selectors.refund_orders(request.user, status=request.GET.get("status") or None)
    header = [_("Order"), _("Project"), _("Lot"), _("Reason"), _("Amount (yuan)"), _("Payee"), _("Payee account"),
              _("Due on"), _("Status"), _("Attempts"), _("Bank reference"), _("Created at (Beijing time)")]
    rows = [[order_ref(o), o.account.lot.project.code if o.account.lot else "", o.account.lot.number if o.account.lot else "",
             o.get_reason_display(), format_fen(o.amount_fen), o.payee_name, o.payee_account, o.due_on,
             o.get_status_display(), o.attempts, o.bank_ref, o.created_at] for o in orders]
    return csv_response("refunds.csv", header, rows)


EXPORT_MAX = 10_000  # rows of one export (a narrower filter gives the rest)


@login_required
def suspense(request):
    """The suspense queue as filtered on its page, masked as there (a sealed item's lot and reason stay hidden)."""
    from frontend.views.deposits import suspense_list

    lst, _rows = suspense_list(request)
    header = [_("Item"), _("Amount (yuan)"), _("Reason"), _("Payer"), _("Payer's account"), _("Booked at (Beijing time)"),
              _("Project"), _("Lot"), _("Status"), _("Resolution note")]
    rows = []
    for it in lst.page.paginator.object_list[:EXPORT_MAX]:
        r = deposit_selectors.suspense_row(it)
        lot = r["lot"]
        rows.append([it.pk, format_fen(it.amount_fen), label_of(r["reason"], "suspense_reason"), it.bank_txn.payer_name,
                     it.bank_txn.payer_account, it.bank_txn.booked_at,
                     _("sealed before the deadline") if r["sealed"] else (lot.project.code if lot else ""),
                     lot.number if lot else "", it.get_status_display(), it.resolution_note])
    return csv_response("suspense.csv", header, rows, status=lst.status)


@login_required
def forfeits(request):
    """The forfeits as filtered on their page."""
    from frontend.views.deposits import forfeit_list

    lst = forfeit_list(request)
    header = [_("Forfeit"), _("Project"), _("Lot"), _("Sub-account"), _("Bidder"), _("Grounds"), _("Explanation"),
              _("Amount (yuan)"), _("Requested by"), _("Requested at (Beijing time)"), _("Status"),
              _("Countersigned by"), _("Countersigned at (Beijing time)"), _("Note")]
    rows = [[f.pk, f.account.lot.project.code, f.account.lot.number, f.account.number, f.account.bidder.name,
             f.get_grounds_display(), f.reason, format_fen(f.pending_transfer.amount_fen), f.requested_by.get_username(),
             f.requested_at, f.get_status_display(),
             f.countersigned_by.get_username() if f.countersigned_by else "", f.countersigned_at, f.countersign_note]
            for f in lst.page.paginator.object_list[:EXPORT_MAX]]
    return csv_response("forfeits.csv", header, rows, status=lst.status)


def notice_record(request, number: str):
    """The table of a published notice (the opening record's rows), as published."""
    notice = Notice.objects.filter(number=number).select_related("project").first()
    if notice is None or not (notice.data or {}).get("rows"):
        raise Http404("no such record")
    return csv_response(f"{notice.number}.csv", notice.data.get("columns", []), notice.data["rows"])


def results(request):
    """Every published result notice (optionally of one project): winner and price as published."""
    qs = Notice.objects.filter(kind="result").select_related("project", "lot").order_by("published_at", "id")
    code = request.GET.get("project", "").strip()
    if code:
        qs = qs.filter(project__code=code)
    notices = list(qs)
    orgs = dict(Organisation.objects.filter(pk__in=[
        (n.data or {}).get("winner_organisation") or (n.data or {}).get("bidder") for n in notices]).values_list("pk", "name"))
    header = [_("Notice"), _("Published at (Beijing time)"), _("Project"), _("Project title"), _("Lot"), _("Result"),
              _("Winner"), _("Price or amount (yuan)")]
    rows = []
    for n in notices:
        d = n.data or {}
        if d.get("failed") or d.get("outcome") == "failed":
            winner, price = "", ""
        elif "auction" in d:
            winner, price = orgs.get(d.get("winner_organisation") or 0, ""), format_fen(d["price_fen"]) if d.get("price_fen") else ""
        else:
            winner, price = d.get("name") or orgs.get(d.get("bidder") or 0, ""), d.get("amount") or d.get("price") or ""
        rows.append([n.number, n.published_at, n.project.code, n.project.title, n.lot.number if n.lot else "", n.title,
                     winner, price])
    return csv_response(f"results{'-' + code if code else ''}.csv", header, rows)


def favicon(request):
    return redirect(static("frontend/favicon.ico"), permanent=True)


def home(request):
    """The viewer's own home (the portal for the public)."""
    return redirect(home_url(request.user))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("home/", home, name="my-home"),
    path("deposits/lots/<int:lot_id>/deposits.csv", lot_deposits, name="export-lot-deposits"),
    path("deposits/refunds.csv", refunds, name="export-refunds"),
    path("deposits/suspense.csv", suspense, name="export-suspense"),
    path("deposits/forfeits.csv", forfeits, name="export-forfeits"),
    path("notices/<str:number>/record.csv", notice_record, name="export-notice-record"),
    path("results.csv", results, name="export-results"),
]
