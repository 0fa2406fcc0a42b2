"""Sealed envelopes API (mounted at /api/envelopes/). Thin: parse, authorise, call a service, render.

POST   lots/<lot>/envelope/      submit a sealed envelope (JSON from `sunlight-bid seal` or seal.js)
PUT    lots/<lot>/envelope/      replace it (before the deadline)
DELETE lots/<lot>/envelope/      withdraw it (before the deadline)
GET    lots/<lot>/envelope/      your current envelope and its receipt
GET    lots/<lot>/               the lot's opening key, custody set, seal and opening state
POST   lots/<lot>/opening-key/   staff: set up the opening key {custodians: [user ids], k}
POST   lots/<lot>/shares/        custodian: present a share {passphrase} or {share}
POST   lots/<lot>/open/          staff: open the bids
GET    lots/<lot>/opened/        opened bids (after the opening: staff, supervisors, experts)
POST   custody-keys/             staff/supervisor: {passphrase} or {public_key} (hex, off-platform)
GET    platform-key/             the platform's Ed25519 key that signs receipts
GET    receipts/<digest>/proof/  your receipt with its audit-log inclusion proof (once integrated;
                                 409 until then), ?size= for a given signed checkpoint; check it
                                 offline: `sunlight-bid verify-receipt --receipt <this JSON> --platform-key …`
"""
from __future__ import annotations

from django.urls import path
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from bidding.envelopes import envelope as E
from bidding.envelopes import selectors, services
from bidding.envelopes.models import Envelope
from trading.errors import Forbidden, Invalid, NotFound
from trading.models import Lot
from trading.permissions import require_login, require_read_project


def _lot(lot_id: int) -> Lot:
    try:
        return Lot.objects.select_related("project").get(pk=lot_id)
    except Lot.DoesNotExist:
        raise NotFound("no such lot") from None


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise Invalid("expected a JSON object")
    return request.data


def receipt_json(env: Envelope) -> dict:
    return {"receipt": env.receipt, "signature": env.receipt_signature, "status": env.status,
            "digest": env.digest, "platform_key": E.b64e(services.platform_public_key()),
            "receipt_url": f"/envelopes/receipt/{env.digest}/",
            "proof_url": f"/api/envelopes/receipts/{env.digest}/proof/"}


class EnvelopeView(APIView):
    parser_classes = [JSONParser]

    def get(self, request, lot_id: int):
        require_login(request.user)
        env = selectors.my_envelope(request.user, _lot(lot_id))
        if env is None:
            raise NotFound("you have no envelope for this lot")
        return Response(receipt_json(env))

    def post(self, request, lot_id: int):
        require_login(request.user)
        env = services.submit_envelope(actor=request.user, lot=lot_id, data=_body(request))
        return Response(receipt_json(env), status=status.HTTP_201_CREATED)

    def put(self, request, lot_id: int):
        require_login(request.user)
        env = services.replace_envelope(actor=request.user, lot=lot_id, data=_body(request))
        return Response(receipt_json(env), status=status.HTTP_201_CREATED)

    def delete(self, request, lot_id: int):
        require_login(request.user)
        env = services.withdraw_envelope(actor=request.user, lot=lot_id)
        return Response({"status": env.status, "digest": env.digest})


class LotStateView(APIView):
    def get(self, request, lot_id: int):
        lot = _lot(lot_id)
        require_read_project(request.user, lot.project)
        state = selectors.ceremony_state(lot, request.user)
        if getattr(request.user, "role", None) == "bidder":
            state["binding"] = dict(zip(("project", "lot", "bidder"),
                                        services.binding(lot, request.user.organisation_id)))
        return Response(state)


class OpeningKeyView(APIView):
    def post(self, request, lot_id: int):
        require_login(request.user)
        data = _body(request)
        key = services.setup_opening_key(actor=request.user, lot=lot_id, custodian_ids=data.get("custodians"),
                                         k=data.get("k"))
        return Response({"public_key": bytes(key.public_key).hex(), "k": key.k, "n": key.n},
                        status=status.HTTP_201_CREATED)


class ShareView(APIView):
    def post(self, request, lot_id: int):
        require_login(request.user)
        data = _body(request)
        row = services.present_share(actor=request.user, lot=lot_id, passphrase=data.get("passphrase"),
                                     share=data.get("share"))
        return Response({"presented": True, "x": row.x}, status=status.HTTP_201_CREATED)


class OpenView(APIView):
    def post(self, request, lot_id: int):
        require_login(request.user)
        bids = services.open_bids(actor=request.user, lot=lot_id)
        return Response({"opened": len(bids), "valid": sum(1 for b in bids if b.valid)})


class OpenedView(APIView):
    def get(self, request, lot_id: int):
        lot = _lot(lot_id)
        if not selectors.can_read_opened(request.user, lot):
            raise Forbidden("opened bids are for the centre's staff, supervisors and the evaluation")
        return Response([b.__dict__ for b in selectors.opened_bids(lot)])


class CustodyKeyView(APIView):
    def post(self, request):
        require_login(request.user)
        data = _body(request)
        if data.get("public_key"):
            key = services.register_custodian_public_key(actor=request.user, public_key_hex=data["public_key"])
        else:
            key = services.register_custodian_key(actor=request.user, passphrase=data.get("passphrase") or "")
        return Response({"public_key": bytes(key.public_key).hex()}, status=status.HTTP_201_CREATED)


class ReceiptProofView(APIView):
    def get(self, request, digest: str):
        require_login(request.user)
        size = request.query_params.get("size")
        if size is not None and (not size.isdigit() or len(size) > 19):
            raise Invalid("size must be a tree size (a non-negative integer)", field="size")
        bundle = selectors.receipt_proof(request.user, digest, size=int(size) if size is not None else None)
        return Response({**bundle, "platform_key": E.b64e(services.platform_public_key())})


class PlatformKeyView(APIView):
    def get(self, request):
        return Response({"ed25519": E.b64e(services.platform_public_key())})


urlpatterns = [
    path("lots/<int:lot_id>/", LotStateView.as_view(), name="envelopes-lot"),
    path("lots/<int:lot_id>/envelope/", EnvelopeView.as_view(), name="envelopes-envelope"),
    path("lots/<int:lot_id>/opening-key/", OpeningKeyView.as_view(), name="envelopes-opening-key"),
    path("lots/<int:lot_id>/shares/", ShareView.as_view(), name="envelopes-shares"),
    path("lots/<int:lot_id>/open/", OpenView.as_view(), name="envelopes-open"),
    path("lots/<int:lot_id>/opened/", OpenedView.as_view(), name="envelopes-opened"),
    path("custody-keys/", CustodyKeyView.as_view(), name="envelopes-custody-keys"),
    path("platform-key/", PlatformKeyView.as_view(), name="envelopes-platform-key"),
    path("receipts/<str:digest>/proof/", ReceiptProofView.as_view(), name="envelopes-receipt-proof"),
]
