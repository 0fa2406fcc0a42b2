"""Deposit API (mounted at /api/deposits/). Thin: parse, authorise (in selectors/services), call, render."""
from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from deposits import selectors, services
from deposits.models import Account, Forfeit, RefundOrder
from trading.errors import Invalid
from trading.ids import query_int
from trading.inputs import SafeJSONParser
from trading.models import Lot
from trading.money import decimal_keys, format_fen
from trading.permissions import require_login
from trading.schema import anything, boolean, day, integer, listof, mapping, money, moment, shape, text
from audit import timestamps


_iso = timestamps.iso


def account_json(acc: Account, *, with_instructions: bool = True) -> dict:
    data = {
        "id": acc.pk, "number": acc.number, "lot": acc.lot_id, "project": acc.deposit_lot.project.code,
        "lot_title": acc.deposit_lot.title, "bidder": acc.bidder_id, "bidder_name": acc.deposit_bidder.name,
        "required": format_fen(acc.required_fen), "balance": format_fen(acc.balance_fen),
        "available": format_fen(acc.available_fen), "status": selectors.status_of(acc), "paid_at": _iso(acc.paid_at),
        "refunds": [refund_json(o) for o in acc.refunds.order_by("id")],
    }
    if with_instructions:
        ins = decimal_keys(selectors.instructions(acc))
        ins["deadline"] = _iso(ins["deadline"])
        data["instructions"] = ins
    return data


def refund_json(o: RefundOrder) -> dict:
    return {"id": o.pk, "ref": services.order_ref(o), "reason": o.reason, "amount": format_fen(o.amount_fen),
            "status": o.status, "due_on": o.due_on.isoformat() if o.due_on else None, "attempts": o.attempts, "last_error": o.last_error,
            "bank_ref": o.bank_ref, "confirmed_at": _iso(o.confirmed_at), "payee_account": o.payee_account}



# -- OpenAPI response shapes (documentation only: the views build their answers) --------------------------

def _refund_shape(name: str = "RefundOrder", extra: dict | None = None):
    return shape(name, {"id": integer(), "ref": text(), "reason": text(), "amount": money(),
                        "status": text(),
                        "due_on": day(allow_null=True, help_text="null until the official calendar reaches the due day"),
                        "attempts": integer(), "last_error": text(allow_blank=True),
                        "bank_ref": text(allow_blank=True), "confirmed_at": moment(allow_null=True),
                        "payee_account": text(allow_blank=True), **(extra or {})})


def _account_shape():
    return shape("DepositAccount", {
        "id": integer(), "number": text(), "lot": integer(), "project": text(), "lot_title": text(), "bidder": integer(),
        "bidder_name": text(), "required": money(), "balance": money(), "available": money(), "status": text(),
        "paid_at": moment(allow_null=True), "refunds": listof(_refund_shape()),
        "instructions": anything(required=False, help_text="how to pay (the account's own bidder only)")})


def _forfeit_shape():
    return shape("Forfeit", {"id": integer(), "account": integer(), "grounds": text(), "reason": text(), "status": text(),
                             "amount": money(), "requested_by": integer(allow_null=True),
                             "countersigned_by": integer(allow_null=True), "note": text(allow_blank=True)})


BANK_RECEIPT = shape("BankNotificationResult", {
    "status": text(help_text="the booking's outcome (credited, suspense, duplicate, refund_failed, …)"),
    "txn_id": text(required=False), "order": text(required=False), "retry_at": moment(required=False, allow_null=True)})
ACCOUNT_LIST = shape("DepositAccountList", {"results": listof(_account_shape())})
LOT_OVERVIEW = shape("DepositLotOverview", {"lot": integer(), "paid": integer(), "unpaid": integer(), "held": money(),
                                            "accounts": listof(_account_shape())})
SUSPENSE_LIST = shape("SuspenseList", {"results": listof(shape("SuspenseItem", {
    "id": integer(), "amount": money(), "reason": text(), "detail": text(allow_blank=True), "status": text(),
    "payer_name": text(allow_blank=True), "payer_account": text(allow_blank=True), "bank_txn_id": text(),
    "booked_at": moment(allow_null=True), "lot": integer(allow_null=True), "sealed": boolean(),
    "account": integer(allow_null=True)}))})
SUSPENSE_RESOLVED = shape("SuspenseResolved", {"id": integer(), "status": text()})
REFUND_LIST = shape("RefundOrderList", {"results": listof(_refund_shape("RefundOrderRow", {"account": integer()}))})
FORFEIT_LIST = shape("ForfeitList", {"results": listof(_forfeit_shape())})
STATEMENT_LIST = shape("StatementImportList", {"results": listof(shape("StatementImport", {
    "id": integer(), "filename": text(), "format": text(), "lines": integer(), "closing": money(), "ledger": money(),
    "reconciled": boolean(), "report": anything()}))})
STATEMENT_IMPORTED = shape("StatementImported", {"id": integer(), "reconciled": boolean(), "report": anything()})
LEDGER = shape("LedgerSummary", {
    "by_kind": mapping(child=money(), help_text="balance by account kind"), "liabilities": money(), "bank": money(),
    "bank_from_bank_txns": money(), "refunds_in_flight": money(), "balanced": boolean(),
    "open_suspense": integer(help_text="how many suspense items are open (a count, not money)"),
    "sealed_excluded": text(required=False)})

BANK_NOTIFICATION_DOC = """The bank adapter's signed notification of a booked payment, interest, refund or failed refund.

**Signature (HMAC-SHA256).** The bank adapter and the platform share a secret (`SUNLIGHT_BANK_SECRET`; without it,
one derived from `SECRET_KEY`). For each notification the adapter takes the current Unix time in seconds `t` and
the exact raw request body `b` and sends

    X-Bank-Timestamp: t
    X-Bank-Signature: v1=<hex(HMAC-SHA256(secret, "<t>." + b))>

(several comma-separated `v1=` values are accepted, for rotating secrets). The platform refuses (403, code
`forbidden`) a missing or wrong signature and a timestamp more than 300 seconds away from its clock; a replay
inside the window is harmless, the bank's `txn_id` being the idempotency key (`status: duplicate`).

**Worked example.** secret `demo-bank-secret`, t = `1767225600`, body
`{"type":"payment","txn_id":"T20260101-0001","amount":"5000.00","currency":"CNY","booked_at":"2026-01-01T00:00:00Z","sub_account":"8801234567890"}`:
the MAC of the bytes `1767225600.` followed by the body is
`018bbe78defce957c60c056603a330dc9fc04d8c27489362086b8a32ad929d77`, so the header is
`X-Bank-Signature: v1=018bbe78…9d77` (README, "Bank notifications", has it as a runnable shell example).

**Body** (JSON object): `type` (payment | interest | refund | refund_failed; default payment), `txn_id` (the bank's
transaction id), `amount` (decimal yuan string), `currency` (CNY), `booked_at` (ISO 8601 with zone),
`sub_account`, `payer_name`, `payer_account`, `remark`; for refund_failed `order_ref` and `message`."""

@extend_schema(
    request={"application/json": {"type": "object", "properties": {
        "type": {"type": "string", "enum": ["payment", "interest", "refund", "refund_failed"]},
        "txn_id": {"type": "string"}, "amount": {"type": "string", "example": "5000.00"},
        "currency": {"type": "string", "example": "CNY"}, "booked_at": {"type": "string", "format": "date-time"},
        "sub_account": {"type": "string"}, "payer_name": {"type": "string"}, "payer_account": {"type": "string"},
        "remark": {"type": "string"}, "order_ref": {"type": "string"}, "message": {"type": "string"}}}},
    responses={200: BANK_RECEIPT}, description=BANK_NOTIFICATION_DOC, auth=[],
    parameters=[
        OpenApiParameter("X-Bank-Timestamp", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                         description="Unix time in seconds when the adapter signed (±300 s of the platform's clock)"),
        OpenApiParameter("X-Bank-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                         description='"v1=" + hex HMAC-SHA256(secret, "<timestamp>." + raw body)'),
    ])
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def bank_notification(request):
    """The bank adapter's signed notification (HMAC-SHA256 over "<timestamp>.<body>")."""
    result = services.receive_notification(body=request.body, timestamp=request.headers.get("X-Bank-Timestamp"),
                                           signature=request.headers.get("X-Bank-Signature"))
    return Response(result)


@extend_schema(request=None, responses={200: ACCOUNT_LIST})
@api_view(["GET"])
def my_deposits(request):
    require_login(request.user)
    return Response({"results": [account_json(a) for a in selectors.my_deposits(request.user)]})


@extend_schema(request=None, responses={200: _account_shape()})
@api_view(["GET"])
def account_detail(request, pk: int):
    require_login(request.user)
    acc = selectors.account_for(request.user, pk)
    return Response(account_json(acc, with_instructions=acc.bidder_id == getattr(request.user, "organisation_id", None)))


@extend_schema(request=None, responses={200: LOT_OVERVIEW})
@api_view(["GET"])
def lot_overview(request, lot_id: int):
    require_login(request.user)
    lot = get_object_or_404(Lot.objects.select_related("project"), pk=lot_id)
    ov = selectors.lot_overview(request.user, lot)
    return Response({
        "lot": lot.pk, "paid": ov.paid, "unpaid": ov.unpaid, "held": format_fen(ov.held_fen),
        "accounts": [account_json(r["account"], with_instructions=False) for r in ov.accounts],
    })


class ResolveSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["return", "assign"])
    account = serializers.IntegerField(required=False)
    note = serializers.CharField(max_length=500)


@extend_schema(request=None, responses={200: SUSPENSE_LIST})
@api_view(["GET"])
def suspense_list(request):
    require_login(request.user)
    items = selectors.suspense_queue(request.user, status=request.query_params.get("status", "open") or None)
    return Response({"results": [{
        "id": r["item"].pk, "amount": format_fen(r["item"].amount_fen), "reason": r["reason"],
        "detail": "" if r["sealed"] else r["item"].detail, "status": r["item"].status,
        "payer_name": r["item"].bank_txn.payer_name, "payer_account": r["item"].bank_txn.payer_account,
        "bank_txn_id": r["item"].bank_txn.bank_txn_id, "booked_at": _iso(r["item"].bank_txn.booked_at),
        "lot": r["lot"].pk if r["lot"] else None, "sealed": r["sealed"],
        "account": r["account"].pk if r["account"] else None,
    } for r in items]})


@extend_schema(request=ResolveSerializer, responses={200: SUSPENSE_RESOLVED})
@api_view(["POST"])
def suspense_resolve(request, pk: int):
    require_login(request.user)
    s = ResolveSerializer(data=request.data)
    s.is_valid(raise_exception=True)
    item = services.resolve_suspense(actor=request.user, item=pk, action=s.validated_data["action"],
                                     account=s.validated_data.get("account"), note=s.validated_data["note"])
    return Response({"id": item.pk, "status": item.status})


@extend_schema(request=None, responses={200: REFUND_LIST})
@api_view(["GET"])
def refund_list(request):
    require_login(request.user)
    orders = selectors.refund_orders(request.user, status=request.query_params.get("status") or None,
                                     batch=query_int(request.query_params, "batch"))
    return Response({"results": [{**refund_json(o), "account": o.account_id} for o in orders]})


@extend_schema(request=None, responses={200: _refund_shape()})
@api_view(["POST"])
def refund_retry(request, pk: int):
    require_login(request.user)
    order = services.retry_refund(actor=request.user, order=pk)
    return Response(refund_json(order))


class ForfeitSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    grounds = serializers.ChoiceField(choices=Forfeit.Grounds.values)
    reason = serializers.CharField(max_length=5000)


class CountersignSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


@extend_schema(request=ForfeitSerializer, responses={200: FORFEIT_LIST, 201: _forfeit_shape()})
@api_view(["GET", "POST"])
def forfeit_list(request):
    require_login(request.user)
    if request.method == "POST":
        s = ForfeitSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        f = services.request_forfeit(actor=request.user, **s.validated_data)
        return Response(forfeit_json(f), status=201)
    return Response({"results": [forfeit_json(f) for f in selectors.forfeits(request.user)]})


def forfeit_json(f: Forfeit) -> dict:
    return {"id": f.pk, "account": f.account_id, "grounds": f.grounds, "reason": f.reason, "status": f.status,
            "amount": format_fen(f.pending_transfer.amount_fen), "requested_by": f.requested_by_id,
            "countersigned_by": f.countersigned_by_id, "note": f.countersign_note}


@extend_schema(request=CountersignSerializer, responses={200: _forfeit_shape()})
@api_view(["POST"])
def forfeit_countersign(request, pk: int):
    require_login(request.user)
    s = CountersignSerializer(data=request.data)
    s.is_valid(raise_exception=True)
    f = services.countersign_forfeit(actor=request.user, forfeit=pk, **s.validated_data)
    return Response(forfeit_json(f))


class StatementView(APIView):
    parser_classes = [MultiPartParser, SafeJSONParser]

    @extend_schema(responses={200: STATEMENT_LIST})
    def get(self, request):
        require_login(request.user)
        return Response({"results": [{"id": i.pk, "filename": i.filename, "format": i.format, "lines": i.lines,
                                      "closing": format_fen(i.closing_fen), "ledger": format_fen(i.ledger_fen),
                                      "reconciled": i.reconciled, "report": i.report}
                                     for i in selectors.statement_imports(request.user)]})

    @extend_schema(request={"multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
                   responses={201: STATEMENT_IMPORTED})
    def post(self, request):
        require_login(request.user)
        upload = request.FILES.get("file")
        if upload is None:
            raise Invalid(_("upload the statement as the multipart field 'file'"), field="file")
        from deposits import conf

        if upload.size > conf.statement_max_bytes():
            raise Invalid(_("statement is too large"), field="file")
        imp = services.import_statement(data=upload.read(), filename=upload.name, actor=request.user)
        return Response({"id": imp.pk, "reconciled": imp.reconciled, "report": imp.report}, status=201)


@extend_schema(request=None, responses={200: LEDGER})
@api_view(["GET"])
def ledger_summary(request):
    require_login(request.user)
    data = decimal_keys(selectors.ledger_summary(request.user))
    data["by_kind"] = {kind: format_fen(v) for kind, v in data["by_kind"].items()}
    return Response(data)


urlpatterns = [
    path("bank/notifications/", bank_notification, name="deposits-bank-notification"),
    path("mine/", my_deposits, name="deposits-mine"),
    path("accounts/<int:pk>/", account_detail, name="deposits-account"),
    path("lots/<int:lot_id>/", lot_overview, name="deposits-lot"),
    path("suspense/", suspense_list, name="deposits-suspense"),
    path("suspense/<int:pk>/resolve/", suspense_resolve, name="deposits-suspense-resolve"),
    path("refunds/", refund_list, name="deposits-refunds"),
    path("refunds/<int:pk>/retry/", refund_retry, name="deposits-refund-retry"),
    path("forfeits/", forfeit_list, name="deposits-forfeits"),
    path("forfeits/<int:pk>/countersign/", forfeit_countersign, name="deposits-forfeit-countersign"),
    path("statements/", StatementView.as_view(), name="deposits-statements"),
    path("ledger/", ledger_summary, name="deposits-ledger"),
]
