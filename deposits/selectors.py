"""Reads shared by the API and the pages, with the confidentiality rules applied here, once.

Before a lot's bid deadline nobody -- staff and supervisors included -- can see who paid or how many
paid for it; bidders always see their own; after the deadline staff of the lot's centre and
supervisors see everything (supervisors read-only).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from deposits import conf, numbers
from deposits.models import Account, BankTxn, Forfeit, RefundBatch, RefundOrder, StatementImport, SuspenseItem
from trading.errors import Forbidden, NotFound
from trading.models import Lot
from trading.money import format_fen
from trading.permissions import is_staff_of, is_supervisor, role_of


def is_secured(bidder_org, lot) -> bool:
    acc = (Account.objects.filter(kind="deposit", lot_id=getattr(lot, "pk", lot),
                                  bidder_id=getattr(bidder_org, "pk", bidder_org), status__in=["open", "frozen"])
           .only("credits_posted", "debits_posted", "debits_pending", "required_fen").first())
    return acc is not None and acc.available_fen >= acc.required_fen > 0


def deadline_passed(lot: Lot) -> bool:
    return timezone.now() >= lot.bid_deadline


def instructions(acc: Account) -> dict:
    """What the bidder needs to pay: to which account, how much, by when."""
    unified = conf.unified_account()
    return {
        "payee_name": unified["name"], "bank": unified["bank"], "unified_account": unified["number"],
        "sub_account": acc.number, "sub_account_display": numbers.group(acc.deposit_number),
        "amount": format_fen(acc.required_fen), "amount_fen": acc.required_fen,
        "deadline": acc.deposit_lot.bid_deadline, "pay_from": acc.deposit_bidder.bank_account,
        "note": "请从贵单位基本账户汇入上述虚拟子账号；金额须与保证金一致，截止时间以银行到账时间为准。"
                "Pay from your company's own account to the virtual sub-account, the exact amount, "
                "booked by the bank before the deadline.",
    }


def status_of(acc: Account) -> str:
    if acc.status == "settled":
        if acc.forfeits.filter(status="countersigned").exists():
            return "forfeited"
        if acc.postings.filter(transfer__purpose="convert").exists():
            return "converted"
        return "refunded"
    refund = acc.refunds.exclude(status="cancelled").order_by("-id").first()
    if refund is not None:
        return "refund_" + refund.status
    if acc.forfeits.filter(status="requested").exists():
        return "forfeit_requested"
    if acc.available_fen >= acc.required_fen:
        return "frozen" if acc.status == "frozen" else "paid"
    if acc.status == Account.Status.CLOSED:
        return "closed"
    return "awaiting_payment"


STATUS_TEXT = {  # what a bidder and the console see for status_of(); labels through the catalogue
    "awaiting_payment": _("awaiting payment"), "paid": _("paid"), "frozen": _("held (frozen at the deadline)"),
    "closed": _("closed"), "refunded": _("refunded"), "forfeited": _("forfeited"),
    "converted": _("converted into the price or a performance security"),
    "forfeit_requested": _("forfeit awaiting countersignature"),
    "refund_pending": _("refund to send"), "refund_sent": _("refund sent"),
    "refund_failed": _("refund failed, retrying"), "refund_confirmed": _("refunded"),
}
SUSPENSE_REASONS = {  # why money went to suspense (deposits.rules.Reason), for the pages
    "unknown_sub_account": _("unknown sub-account number"), "wrong_amount": _("amount differs from the security"),
    "late": _("paid after the deadline"), "wrong_payer": _("paid by another company"),
    "already_paid": _("already paid"), "closed": _("sub-account closed"),
    "sealed": _("sealed until the lot's deadline"),
}
LEDGER_KINDS = {  # deposits.ledger.Kind, for the console's totals
    "bank": _("bank"), "deposit": _("deposit sub-accounts"), "suspense": _("suspense"), "forfeited": _("forfeited"),
    "converted": _("converted"), "interest": _("interest"),
}
STATEMENT_COUNTS = {  # the reconciliation report's counts (deposits.services)
    "lines": _("statement lines"), "matched": _("matched"), "booked_now": _("booked from the statement"),
    "mismatched": _("differing from the ledger"), "unmatched_lines": _("lines matching nothing"),
    "missing_from_statement": _("missing from the statement"),
}


def status_text(code: str) -> str:
    return str(STATUS_TEXT.get(code, code))


def my_deposits(user):
    if role_of(user) != "bidder":
        raise Forbidden(_("this list is for bidders"))
    return (Account.objects.filter(kind="deposit", bidder_id=user.organisation_id)
            .select_related("lot", "lot__project", "bidder").order_by("-id"))


def account_for(user, account_id: int) -> Account:
    acc = Account.objects.select_related("lot", "lot__project", "bidder").filter(pk=account_id, kind="deposit").first()
    if acc is None:
        raise NotFound(_("no such deposit sub-account"))
    role = role_of(user)
    if role == "bidder" and acc.bidder_id == user.organisation_id:
        return acc
    if (is_staff_of(user, acc.deposit_lot.project) or is_supervisor(user)) and deadline_passed(acc.deposit_lot):
        return acc
    raise NotFound(_("no such deposit sub-account"))  # 404: do not even confirm it exists


def require_lot_view(user, lot: Lot) -> None:
    if not (is_staff_of(user, lot.project) or is_supervisor(user)):
        raise Forbidden(_("the deposit overview is for the lot's centre staff and supervisors"))
    if not deadline_passed(lot):
        raise Forbidden(_("sealed until the bid deadline: nobody can see who paid or how many paid before it"))


def can_view_lot(user, lot: Lot) -> bool:
    """Whether ``require_lot_view`` lets the user see the lot's deposits now (pages link only then)."""
    try:
        require_lot_view(user, lot)
    except Forbidden:
        return False
    return True


@dataclass
class LotOverview:
    lot: Lot
    accounts: list
    paid: int
    unpaid: int
    held_fen: int
    suspense: list


def lot_overview(user, lot: Lot) -> LotOverview:
    require_lot_view(user, lot)
    accounts = list(Account.objects.filter(kind="deposit", lot=lot).select_related("bidder").order_by("id"))
    rows = []
    for acc in accounts:
        rows.append({"account": acc, "status": status_text(status_of(acc)), "balance": acc.balance_fen,
                     "paid_at": acc.paid_at, "refund": acc.refunds.order_by("-id").first(),
                     "forfeit": acc.forfeits.order_by("-id").first()})
    paid = sum(1 for a in accounts if a.paid_at is not None)
    return LotOverview(lot=lot, accounts=rows, paid=paid, unpaid=len(accounts) - paid,
                       held_fen=sum(a.balance_fen for a in accounts),
                       suspense=list(SuspenseItem.objects.filter(account__lot=lot).select_related("bank_txn")))


def require_console(user) -> None:
    if role_of(user) not in ("staff", "supervisor"):
        raise Forbidden(_("this is for centre staff and supervisors"))


def _sealed(acc: Account | None) -> bool:
    return acc is not None and not deadline_passed(acc.deposit_lot)


def suspense_items(user, *, status: str | None = None):
    """The suspense items a console user may list (a QuerySet, newest first); show each through
    ``suspense_row``, which masks what is sealed."""
    require_console(user)
    qs = SuspenseItem.objects.select_related("bank_txn", "account__lot__project", "resolved_by").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if role_of(user) == "staff":
        qs = qs.filter(Q(account__isnull=True) | Q(account__lot__project__centre_id=user.organisation_id))
    return qs


MASKED_REASONS = ("wrong_amount", "wrong_payer", "already_paid")  # shown as "sealed" before the lot's deadline


def sealed_q(now=None) -> Q:
    """Suspense items aimed at a lot still before its deadline (``_sealed`` as a condition)."""
    return Q(account__isnull=False, account__lot__bid_deadline__gt=now or timezone.now())


def suspense_reason_q(reason: str) -> Q:
    """Items whose reason *as shown* is ``reason``: a masked reason never matches a sealed item."""
    if reason == "sealed":
        return sealed_q() & Q(reason__in=MASKED_REASONS)
    if reason in MASKED_REASONS:
        return Q(reason=reason) & ~sealed_q()
    return Q(reason=reason)


def suspense_row(it: SuspenseItem) -> dict:
    """One suspense item for a page. For a payment aimed at a lot still before its deadline the lot and
    sub-account are masked (payer and amount are the bank's facts, needed to return the money)."""
    sealed = _sealed(it.account)
    return {"item": it, "sealed": sealed, "lot": None if sealed or it.account is None else it.account.lot,
            "account": None if sealed else it.account,
            "reason": "sealed" if sealed and it.reason in MASKED_REASONS else it.reason}


def suspense_queue(user, *, status: str | None = "open"):
    """Suspense items (the newest 500), masked as ``suspense_row`` does."""
    return [suspense_row(it) for it in suspense_items(user, status=status)[:500]]


def refund_orders(user, *, status: str | None = None, batch: int | None = None):
    require_console(user)
    qs = RefundOrder.objects.select_related("account__lot__project", "account__bidder", "batch", "suspense").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if batch:
        qs = qs.filter(batch_id=batch)
    if role_of(user) == "staff":
        qs = qs.filter(Q(account__lot__isnull=True) | Q(account__lot__project__centre_id=user.organisation_id))
    # a withdrawal refund before the deadline would reveal a registration: hide until the deadline
    now = timezone.now()
    return [o for o in qs[:1000] if o.account.lot is None or o.account.lot.bid_deadline <= now]


def refund_batches(user):
    require_console(user)
    qs = RefundBatch.objects.select_related("lot", "lot__project").annotate(
        n=Count("orders"), total=Sum("orders__amount_fen"),
        confirmed=Count("orders", filter=Q(orders__status="confirmed")),
        failed=Count("orders", filter=Q(orders__status=RefundOrder.Status.FAILED))).order_by("-id")
    if role_of(user) == "staff":
        qs = qs.filter(lot__project__centre_id=user.organisation_id)
    return list(qs[:200])


def forfeit_items(user, *, status: str | None = None):
    """The forfeits a console user may list (a QuerySet, newest first)."""
    require_console(user)
    qs = Forfeit.objects.select_related("account__lot__project", "account__bidder", "requested_by",
                                        "countersigned_by", "pending_transfer").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if role_of(user) == "staff":
        qs = qs.filter(account__lot__project__centre_id=user.organisation_id)
    return qs


def forfeits(user, *, status: str | None = None):
    return list(forfeit_items(user, status=status)[:500])


def statement_import_items(user):
    """Every statement import (a QuerySet, newest first)."""
    require_console(user)
    return StatementImport.objects.select_related("imported_by").order_by("-id")


def statement_imports(user):
    return list(statement_import_items(user)[:100])


def ledger_summary(user) -> dict:
    """Whole-account totals (no per-lot detail, so nothing sealed leaks): the invariant, live."""
    require_console(user)
    totals = dict(Account.objects.exclude(kind="bank").values_list("kind").annotate(
        s=Sum("credits_posted") - Sum("debits_posted")).values_list("kind", "s"))
    pending_out = Account.objects.exclude(kind="bank").aggregate(s=Sum("debits_pending"))["s"] or 0
    from deposits.posting import bank

    bank_postings = bank().postings.filter(effect="posted").aggregate(s=Sum("amount"))["s"] or 0
    from deposits.services import ledger_bank_balance

    liabilities = sum(v or 0 for v in totals.values())
    balanced = liabilities == bank_postings
    # money held for lots still before their deadline is left out of every figure shown (it is counted
    # in `balanced`): a total that moved with each payment would tell how many paid
    sealed = Account.objects.filter(kind="deposit", lot__bid_deadline__gt=timezone.now()).aggregate(
        s=Sum("credits_posted") - Sum("debits_posted"))["s"] or 0
    sealed_pending = Account.objects.filter(kind="deposit", lot__bid_deadline__gt=timezone.now()).aggregate(
        s=Sum("debits_pending"))["s"] or 0
    by_kind = {k: v or 0 for k, v in totals.items()}
    if "deposit" in by_kind:
        by_kind["deposit"] -= sealed
    return {"by_kind": by_kind, "liabilities_fen": liabilities - sealed,
            "bank_fen": bank_postings - sealed, "bank_from_bank_txns_fen": ledger_bank_balance() - sealed,
            "refunds_in_flight_fen": pending_out - sealed_pending, "balanced": balanced,
            "sealed_excluded": "money held for lots before their bid deadline is not shown",
            "open_suspense": SuspenseItem.objects.filter(status="open").count()}


def bank_txn_count() -> int:
    return BankTxn.objects.count()


def live_deposits(project, now=None) -> dict:
    """The live counterpart of the replayed ``deposits`` section (deposits/replay.py)."""
    from trading.services import iso

    accounts = Account.objects.filter(kind="deposit", lot__project=project).order_by("id")
    out: dict[str, dict[str, dict]] = {"accounts": {}, "forfeits": {}}
    for a in accounts:
        out["accounts"][str(a.pk)] = {
            "lot": a.lot_id, "bidder": a.bidder_id, "number": a.number, "required_fen": a.required_fen,
            "status": a.status, "balance_fen": a.balance_fen, "reserved_fen": a.debits_pending, "winner": a.winner,
            "paid_at": iso(a.paid_at),
        }
    for f in Forfeit.objects.filter(account__lot__project=project).select_related("pending_transfer").order_by("id"):
        out["forfeits"][str(f.pk)] = {"account": f.account_id, "grounds": f.grounds,
                                      "amount_fen": f.pending_transfer.amount_fen, "status": f.status}
    return out


def lot_settled(lot) -> bool:
    """Every bid security of the lot has gone its way — refunded (the bank confirmed it), converted into
    the price or forfeited — and no refund is still on its way (a completion check of the lot)."""
    if Account.objects.filter(lot=lot, kind="deposit", status__in=["open", "frozen"]).exists():
        return False
    return not RefundOrder.objects.filter(account__lot=lot, status__in=["pending", "sent", RefundOrder.Status.FAILED]).exists()

