"""Deposit pages: the bidder's deposits (instructions, status, refunds), the staff console (per-lot
overview after the deadline, suspense queue, refunds and batches, forfeits, statements and
reconciliation), supervisors read-only (and countersign forfeits). Thin: selectors and services decide."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from deposits import conf, selectors, services
from frontend.lists import Filter, list_page
from trading.errors import DomainError, Invalid, NotFound
from trading.ids import is_ascii_int, optional_int, parse_int
from trading.models import Lot
from trading.permissions import require_bidder, role_of


@login_required
def mine(request):
    require_bidder(request.user)
    rows = [{"acc": a, "status": selectors.status_of(a), "ins": selectors.instructions(a),
             "status_text": selectors.status_text(selectors.status_of(a)),
             "refunds": list(a.refunds.order_by("id"))} for a in selectors.my_deposits(request.user)]
    return render(request, "frontend/deposits/mine.html", {"rows": rows, "unified": conf.unified_account()})


@login_required
def account(request, pk: int):
    acc = selectors.account_for(request.user, pk)
    own = role_of(request.user) == "bidder"
    return render(request, "frontend/deposits/account.html", {
        "acc": acc, "status": selectors.status_text(selectors.status_of(acc)), "ins": selectors.instructions(acc) if own else None,
        "refunds": list(acc.refunds.order_by("id")), "forfeits": list(acc.forfeits.order_by("id")),
        "txns": list(acc.bank_txns.order_by("id")), "own": own,
        "can_forfeit": role_of(request.user) == "staff" and acc.available_fen > 0,
    })


@login_required
def console(request):
    selectors.require_console(request.user)
    lots = Lot.objects.select_related("project").filter(security_fen__gt=0).order_by("-bid_deadline")
    if role_of(request.user) == "staff":
        lots = lots.filter(project__centre_id=request.user.organisation_id)
    lst = list_page(request, lots.order_by("-bid_deadline", "-id"), search=("project__code", "project__title", "title"))
    return render(request, "frontend/deposits/console.html", {
        "summary": selectors.ledger_summary(request.user), "lst": lst, "lots": lst.page,
        "viewable": {lot.pk for lot in lst.page if selectors.can_view_lot(request.user, lot)},
        "suspense": selectors.suspense_queue(request.user)[:10], "batches": selectors.refund_batches(request.user)[:10],
        "forfeits": selectors.forfeits(request.user, status="requested"), "imports": selectors.statement_imports(request.user)[:5],
        "writable": role_of(request.user) == "staff",
    })


@login_required
def lot(request, lot_id: int):
    lot = get_object_or_404(Lot.objects.select_related("project"), pk=lot_id)
    overview = selectors.lot_overview(request.user, lot)
    return render(request, "frontend/deposits/lot.html", {"ov": overview, "lot": lot,
                                                          "writable": role_of(request.user) == "staff"})


def suspense_list(request):
    """The suspense queue as a list: search and filters only on what the page shows — a sealed item's lot is
    neither shown nor matched, nor its masked reason."""
    from deposits.models import SuspenseItem

    qs = selectors.suspense_items(request.user)
    lst = list_page(request, qs, per_page=50, search=(
        "bank_txn__payer_name", "bank_txn__payer_account",
        lambda w: ~selectors.sealed_q() & (Q(account__lot__project__code__icontains=w)
                                           | Q(account__lot__project__title__icontains=w))),
        search_label=_("Payer, account or project"),
        filters=[Filter("status", _("Status"), "status", choices=SuspenseItem.Status.choices, default="open"),
                 Filter("reason", _("Reason"), "reason", choices=list(selectors.SUSPENSE_REASONS.items()),
                        where=selectors.suspense_reason_q),
                 Filter("from", _("Booked from"), "bank_txn__booked_at", kind="from"),
                 Filter("to", _("Booked until"), "bank_txn__booked_at", kind="to")])
    return lst, [selectors.suspense_row(it) for it in lst.page]


@login_required
def suspense(request):
    lst, items = suspense_list(request)
    error = None
    if request.method == "POST":
        try:
            account_id = optional_int(request.POST.get("account"), field="account")
            services.resolve_suspense(actor=request.user, item=optional_int(request.POST.get("item"), field="item", default=0),
                                      action=request.POST.get("action", ""), account=account_id,
                                      note=request.POST.get("note", ""))
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("The suspense item is resolved."))
            return redirect("deposits-suspense-page")
    return render(request, "frontend/deposits/suspense.html", {"items": items, "error": error, "lst": lst,
                  "writable": role_of(request.user) == "staff"}, status=400 if error else lst.status)


@login_required
def refunds(request):
    if request.method == "POST":
        order = request.POST.get("order", "")
        try:
            if not is_ascii_int(order):
                raise NotFound(services.NO_SUCH_REFUND)
            order = int(order)
            if request.POST.get("action") == "cancel":
                services.cancel_refund(actor=request.user, order=order, reason=request.POST.get("reason", ""))
            else:
                services.retry_refund(actor=request.user, order=order)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("deposits-refunds-page")
    batch = request.GET.get("batch")
    orders = selectors.refund_orders(request.user, batch=int(batch) if is_ascii_int(batch) else None)
    from deposits.models import RefundOrder

    lst = list_page(request, orders, search=("payee_name", "account__lot__project__code", "bank_ref"), per_page=50,
                    filters=[Filter("status", _("Status"), "status", choices=RefundOrder.Status.choices)])
    return render(request, "frontend/deposits/refunds.html", {
        "orders": lst.page, "lst": lst, "batch": batch if is_ascii_int(batch) else "",
        "batches": selectors.refund_batches(request.user), "writable": role_of(request.user) == "staff",
        "ref": services.order_ref,
    }, status=lst.status)


@login_required
def forfeits(request):
    if request.method == "POST":
        try:
            if request.POST.get("forfeit"):
                services.countersign_forfeit(actor=request.user, forfeit=parse_int(request.POST["forfeit"], field="forfeit"),
                                             approve=request.POST.get("approve") == "yes",
                                             note=request.POST.get("note", ""))
            else:
                acc = request.POST.get("account", "")
                if not is_ascii_int(acc):  # answered like any sub-account one may not know of
                    raise NotFound(services.NO_SUCH_ACCOUNT)
                services.request_forfeit(actor=request.user, account=int(acc), grounds=request.POST.get("grounds", ""),
                                         reason=request.POST.get("reason", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Recorded."))
        return redirect("deposits-forfeits-page")
    lst = forfeit_list(request)
    return render(request, "frontend/deposits/forfeits.html", {
        "forfeits": lst.page, "lst": lst, "supervisor": role_of(request.user) == "supervisor"}, status=lst.status)


def forfeit_list(request):
    from deposits.models import Forfeit

    return list_page(request, selectors.forfeit_items(request.user), per_page=50,
                     search=("account__number", "account__bidder__name", "account__lot__project__code",
                             "account__lot__project__title", "reason"),
                     search_label=_("Bidder, sub-account or project"),
                     filters=[Filter("status", _("Status"), "status", choices=Forfeit.Status.choices),
                              Filter("grounds", _("Grounds"), "grounds", choices=Forfeit.Grounds.choices),
                              Filter("from", _("Requested from"), "requested_at", kind="from"),
                              Filter("to", _("Requested until"), "requested_at", kind="to")])


@login_required
def statements(request):
    selectors.require_console(request.user)
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise Invalid(_("choose a statement file (CSV or camt.053 XML)"), field="file")
            if upload.size > conf.statement_max_bytes():
                raise Invalid(_("statement is too large"), field="file")
            imp = services.import_statement(data=upload.read(), filename=upload.name, actor=request.user)
        except DomainError as exc:
            error = exc.message
        else:
            return redirect("deposits-statement-page", pk=imp.pk)
    lst = list_page(request, selectors.statement_import_items(request.user), per_page=50,
                    search=("filename", "statement_id", "account"), search_label=_("File, statement or account"),
                    filters=[Filter("result", _("Result"), "reconciled",
                                    choices=[("True", _("reconciled")), ("False", _("differences"))]),
                             Filter("from", _("Imported from"), "imported_at", kind="from"),
                             Filter("to", _("Imported until"), "imported_at", kind="to")])
    return render(request, "frontend/deposits/statements.html", {
        "imports": lst.page, "lst": lst, "error": error,
        "writable": role_of(request.user) == "staff"}, status=400 if error else lst.status)


@login_required
def statement(request, pk: int):
    imp = selectors.statement_import_items(request.user).filter(pk=pk).first()
    if imp is None:
        from trading.errors import NotFound

        raise NotFound(_("no such statement import"))
    return render(request, "frontend/deposits/statement.html", {"imp": imp, "r": imp.report})


urlpatterns = [
    path("me/deposits/", mine, name="deposits-mine-page"),
    path("deposits/accounts/<int:pk>/", account, name="deposits-account-page"),
    path("deposits/", console, name="deposits-console"),
    path("deposits/lots/<int:lot_id>/", lot, name="deposits-lot-page"),
    path("deposits/suspense/", suspense, name="deposits-suspense-page"),
    path("deposits/refunds/", refunds, name="deposits-refunds-page"),
    path("deposits/forfeits/", forfeits, name="deposits-forfeits-page"),
    path("deposits/statements/", statements, name="deposits-statements-page"),
    path("deposits/statements/<int:pk>/", statement, name="deposits-statement-page"),
]
