"""Sealed envelopes API (mounted at /api/envelopes/). Thin: parse, authorise, call a service, render.

POST   lots/<lot>/envelope/      submit a sealed envelope (JSON from `sunlight-bid seal` or seal.js)
PUT    lots/<lot>/envelope/      replace it (before the deadline)
DELETE lots/<lot>/envelope/      withdraw it (before the deadline)
GET    lots/<lot>/envelope/      your current envelope and its receipt
GET    lots/<lot>/               the lot's opening key, custody set, seal and opening state
POST   lots/<lot>/opening-key/   staff: set up the opening key {custodians: [user ids], k}
POST   lots/<lot>/shares/        custodian: present a share {share} (or, demo only, {passphrase})
GET    lots/<lot>/shares/mine/   custodian: its sealed share, to decrypt off-platform (after the deadline)
POST   lots/<lot>/open/          staff: open the bids
GET    lots/<lot>/opened/        opened bids (after the opening: staff, supervisors, experts)
POST   custody-keys/             staff/supervisor: {public_key} (hex, off-platform) or, demo only, {passphrase}
Keys and signatures are lowercase hex everywhere (trading.keys; base64 is refused naming the form).
GET    platform-key/             the platform's Ed25519 key that signs receipts
GET    receipts/<digest>/proof/  your receipt with its audit-log inclusion proof (once integrated;
                                 409 until then), ?size= for a given signed checkpoint; check it
                                 offline: `sunlight-bid verify-receipt --receipt <this JSON> --platform-key …`
"""
from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from trading.ids import query_int
from trading.inputs import SafeJSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from bidding.envelopes import envelope as E
from bidding.envelopes import selectors, services
from bidding.envelopes.models import Envelope
from trading.errors import Forbidden, Invalid, NotFound
from trading.models import Lot
from trading.permissions import require_login, require_read_project
from trading import keys
from trading.money import decimal_keys
from trading.schema import anything, boolean, integer, money, shape, text
from django.utils.translation import gettext_lazy as _


# -- OpenAPI description (documentation only: the views build their answers themselves) -----------------

HEX_KEY = r"^[0-9a-f]{64}$"  # trading.keys: a public key
HEX_SIGNATURE = r"^[0-9a-f]{128}$"  # trading.keys: a signature


class _Doc(serializers.Serializer):
    """Describes a JSON shape for drf-spectacular; never used to parse or render."""


class EnvelopeTransportSerializer(_Doc):
    format = serializers.ChoiceField(choices=[E.FORMAT], required=False, help_text="envelope format")
    project = serializers.CharField(required=False, help_text="binding: the project it is sealed for")
    lot = serializers.CharField(required=False, help_text="binding: the lot it is sealed for")
    bidder = serializers.CharField(required=False, help_text="binding: the bidder it is sealed for")
    envelope = serializers.CharField(help_text="the HPKE envelope, base64")
    digest = serializers.CharField(required=False, help_text="SHA-256 of the envelope, hex (checked if given)")
    signature = serializers.RegexField(HEX_SIGNATURE, help_text="the bidder's Ed25519 signature, hex (64 bytes: 128 "
                                                                "lowercase hexadecimal characters)")
    public_key = serializers.RegexField(HEX_KEY, required=False, allow_blank=True,
                                        help_text="the signer's Ed25519 public key, hex (must be the registered one)")


class EnvelopeReceiptBodySerializer(_Doc):
    v = serializers.IntegerField()
    project = serializers.IntegerField()
    lot = serializers.IntegerField()
    bidder = serializers.IntegerField(help_text="the bidder organisation's id")
    digest = serializers.CharField(help_text="SHA-256 of the envelope, hex")
    size = serializers.IntegerField(help_text="envelope size in bytes")
    received_at = serializers.DateTimeField()
    event = serializers.CharField(help_text="uid of the submission's audit event")
    event_id = serializers.IntegerField(help_text="id of the submission's audit event")


class EnvelopeReceiptSerializer(_Doc):
    receipt = EnvelopeReceiptBodySerializer()
    signature = serializers.CharField(help_text="the platform's Ed25519 signature of the receipt, hex (128 characters)")
    status = serializers.CharField(help_text="active | replaced | withdrawn")
    digest = serializers.CharField()
    platform_key = serializers.CharField(help_text="the platform's Ed25519 public key, hex (64 characters)")
    receipt_url = serializers.CharField(help_text="the receipt page")
    proof_url = serializers.CharField(help_text="this receipt with its audit-log inclusion proof")


class EnvelopeWithdrawnSerializer(_Doc):
    status = serializers.CharField(help_text="active | replaced | withdrawn")
    digest = serializers.CharField()


class OpeningCustodianSerializer(_Doc):
    id = serializers.IntegerField(help_text="the custodian's user id")
    name = serializers.CharField()
    role = serializers.CharField()
    x = serializers.IntegerField(help_text="the share's x coordinate")
    digest = serializers.CharField(help_text="digest of the sealed share (recorded in the audit log)")
    presented = serializers.BooleanField()


class OpeningBidSerializer(_Doc):
    id = serializers.IntegerField(help_text="the opened bid's id")
    bidder = serializers.CharField(help_text="the bidder's name")
    price = money(allow_null=True, help_text="the bid price (null if not valid)")
    terms = serializers.DictField()
    outcome = serializers.ChoiceField(choices=["valid", "revoked", "withdrawn"])
    failure_reason = serializers.CharField(allow_blank=True)


class EnvelopeBindingSerializer(_Doc):
    project = serializers.CharField()
    lot = serializers.CharField()
    bidder = serializers.CharField()


class OpeningStateSerializer(_Doc):
    lot = serializers.IntegerField()
    status = serializers.CharField(help_text="the lot's lifecycle status")
    has_key = serializers.BooleanField(help_text="whether the opening key is set up")
    deadline_passed = serializers.BooleanField()
    public_key = serializers.CharField(required=False, help_text="the opening key (X25519), hex; with has_key")
    k = serializers.IntegerField(required=False, help_text="shares needed to open")
    n = serializers.IntegerField(required=False, help_text="shares issued")
    custodians = OpeningCustodianSerializer(many=True, required=False)
    presented = serializers.IntegerField(required=False, help_text="shares presented so far")
    opened = serializers.BooleanField(required=False)
    envelope_count = serializers.IntegerField(required=False, help_text="after the deadline (seal) only")
    merkle_root = serializers.CharField(required=False, help_text="Merkle root of the envelope digests, after the seal")
    bids = OpeningBidSerializer(many=True, required=False, help_text="after the opening only")
    valid = serializers.IntegerField(required=False, help_text="valid bids, after the opening only")
    binding = EnvelopeBindingSerializer(required=False, help_text="for bidders: what to seal the envelope for")


class OpeningKeySetupSerializer(_Doc):
    custodians = serializers.ListField(child=serializers.IntegerField(), help_text="custodians' user ids")
    k = serializers.IntegerField(help_text="shares needed to open")


class OpeningKeySerializer(_Doc):
    public_key = serializers.CharField(help_text="X25519 public key, hex")
    k = serializers.IntegerField()
    n = serializers.IntegerField()


class SharePresentationSerializer(_Doc):
    passphrase = serializers.CharField(required=False, help_text="unlocks the custody key held by the platform")
    share = serializers.CharField(required=False, help_text="the share itself, opened off-platform")


class SharePresentedSerializer(_Doc):
    presented = serializers.BooleanField()
    x = serializers.IntegerField()


class OpeningResultSerializer(_Doc):
    opened = serializers.IntegerField(help_text="envelopes opened")
    valid = serializers.IntegerField(help_text="valid bids among them")


class OpenedBidDocumentSerializer(_Doc):
    id = serializers.IntegerField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    content_type = serializers.CharField()


class OpenedBidSerializer(_Doc):
    id = serializers.IntegerField(help_text="the opened bid's id")
    bidder_org_id = serializers.IntegerField()
    bidder_name = serializers.CharField()
    price = money(allow_null=True, help_text="the bid price (null if not valid)")
    terms = serializers.DictField()
    valid = serializers.BooleanField()
    outcome = serializers.ChoiceField(choices=["valid", "revoked", "withdrawn"])
    failure_reason = serializers.CharField(allow_blank=True)
    envelope_digest = serializers.CharField()
    documents = OpenedBidDocumentSerializer(many=True)


class CustodyKeyCreateSerializer(_Doc):
    passphrase = serializers.CharField(required=False, help_text="the platform keeps the key wrapped with it")
    public_key = serializers.CharField(required=False, help_text="X25519 public key, hex (private key off-platform)")


class CustodyKeySerializer(_Doc):
    public_key = serializers.CharField(help_text="X25519 public key, hex")


class ReceiptInclusionSerializer(_Doc):
    event = serializers.IntegerField(help_text="the audit event's id")
    index = serializers.IntegerField(help_text="leaf index")
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField(help_text="base64")
    proof = serializers.ListField(child=serializers.CharField(), help_text="RFC 6962 audit path, base64 hashes")
    # a declared field: SerializerMetaclass pops it from the class, Field.root stays (the stubs cannot tell)
    root = serializers.CharField(help_text="tree root, base64")  # type: ignore[assignment]
    checkpoint = serializers.CharField(help_text="the signed checkpoint (C2SP signed note)")


class AuditLogIdentitySerializer(_Doc):
    origin = serializers.CharField()
    verifier_key = serializers.CharField(help_text="name+keyid+base64 (signed-note verifier key)")


class ReceiptProofSerializer(_Doc):
    receipt = EnvelopeReceiptBodySerializer()
    signature = serializers.CharField(help_text="the platform's Ed25519 signature of the receipt, hex (128 characters)")
    event = serializers.CharField(help_text="the submission event's canonical JSON (the Merkle leaf's bytes)")
    inclusion = ReceiptInclusionSerializer()
    log = AuditLogIdentitySerializer()
    platform_key = serializers.CharField(help_text="the platform's Ed25519 public key, hex (64 characters)")


class PlatformKeySerializer(_Doc):
    ed25519 = serializers.CharField(help_text="Ed25519 public key, hex (64 characters)")


class EnvelopeErrorSerializer(_Doc):
    detail = serializers.CharField()
    code = serializers.CharField()
    field = serializers.CharField(required=False)


def _errors(*codes: int) -> dict:
    return {code: EnvelopeErrorSerializer for code in codes}


def _lot(lot_id: int) -> Lot:
    try:
        return Lot.objects.select_related("project").get(pk=lot_id)
    except Lot.DoesNotExist:
        raise NotFound(_("no such lot")) from None


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise Invalid(_("expected a JSON object"))
    return request.data


def receipt_json(env: Envelope) -> dict:
    return {"receipt": env.receipt, "signature": selectors.receipt_signature(env), "status": env.status,
            "digest": env.digest, "platform_key": keys.encode(services.platform_public_key()),
            "receipt_url": f"/envelopes/receipt/{env.digest}/",
            "proof_url": f"/api/envelopes/receipts/{env.digest}/proof/"}


class EnvelopeView(APIView):
    parser_classes = [SafeJSONParser]

    @extend_schema(operation_id="envelopes_envelope_retrieve", responses={200: EnvelopeReceiptSerializer, **_errors(403, 404)},
                   description="Your organisation's current envelope for the lot and its signed receipt.")
    def get(self, request, lot_id: int):
        require_login(request.user)
        env = selectors.my_envelope(request.user, _lot(lot_id))
        if env is None:
            raise NotFound(_("you have no envelope for this lot"))
        return Response(receipt_json(env))

    @extend_schema(operation_id="envelopes_envelope_submit", request=EnvelopeTransportSerializer,
                   responses={201: EnvelopeReceiptSerializer, **_errors(400, 403, 404, 409)},
                   description="Submit a sealed, signed envelope (the JSON of `sunlight-bid seal` or seal.js) "
                               "before the deadline; answers the platform-signed receipt.")
    def post(self, request, lot_id: int):
        require_login(request.user)
        env = services.submit_envelope(actor=request.user, lot=lot_id, data=_body(request))
        return Response(receipt_json(env), status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="envelopes_envelope_replace", request=EnvelopeTransportSerializer,
                   responses={201: EnvelopeReceiptSerializer, **_errors(400, 403, 404, 409)},
                   description="Replace your envelope before the deadline (art. 29); answers the new receipt.")
    def put(self, request, lot_id: int):
        require_login(request.user)
        env = services.replace_envelope(actor=request.user, lot=lot_id, data=_body(request))
        return Response(receipt_json(env), status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="envelopes_envelope_withdraw", responses={200: EnvelopeWithdrawnSerializer,
                                                                          **_errors(403, 404, 409)},
                   description="Withdraw your envelope before the deadline (art. 29).")
    def delete(self, request, lot_id: int):
        require_login(request.user)
        env = services.withdraw_envelope(actor=request.user, lot=lot_id)
        return Response({"status": env.status, "digest": env.digest})


class LotStateView(APIView):
    @extend_schema(operation_id="envelopes_lot_state", responses={200: OpeningStateSerializer, **_errors(403, 404)},
                   description="The lot's opening key, custody set, seal and opening state (no envelope count "
                               "before the deadline); bidders also get the binding to seal for.")
    def get(self, request, lot_id: int):
        lot = _lot(lot_id)
        require_read_project(request.user, lot.project)
        state = selectors.ceremony_state(lot, request.user)
        if getattr(request.user, "role", None) == "bidder":
            state["binding"] = dict(zip(("project", "lot", "bidder"),
                                        services.binding(lot, request.user.organisation_id)))
        return Response(state)


class OpeningKeyView(APIView):
    @extend_schema(operation_id="envelopes_opening_key_setup", request=OpeningKeySetupSerializer,
                   responses={201: OpeningKeySerializer, **_errors(400, 403, 404, 409)},
                   description="Staff: set up the lot's opening key, split k-of-n among the custodians.")
    def post(self, request, lot_id: int):
        require_login(request.user)
        data = _body(request)
        key = services.setup_opening_key(actor=request.user, lot=lot_id, custodian_ids=data.get("custodians"),
                                         k=data.get("k"))
        return Response({"public_key": bytes(key.public_key).hex(), "k": key.k, "n": key.n},
                        status=status.HTTP_201_CREATED)


class ShareView(APIView):
    @extend_schema(operation_id="envelopes_share_present", request=SharePresentationSerializer,
                   responses={201: SharePresentedSerializer, **_errors(400, 403, 404, 409)},
                   description="Custodian: present your share, with the custody key's passphrase or the share "
                               "itself (opened off-platform).")
    def post(self, request, lot_id: int):
        require_login(request.user)
        data = _body(request)
        row = services.present_share(actor=request.user, lot=lot_id, passphrase=data.get("passphrase"),
                                     share=data.get("share"))
        return Response({"presented": True, "x": row.x}, status=status.HTTP_201_CREATED)


MY_SEALED_SHARE = shape("SealedShare", {
    "lot": integer(), "context": anything(help_text="the opening key's context"), "custodian": integer(),
    "x": integer(help_text="the Shamir share's x coordinate"), "digest": text(),
    "sealed_share": text(help_text="HPKE-sealed share to the custody key, base64"),
    "custodian_public_key": text(help_text="hex"), "presented": boolean()})


class MyShareView(APIView):
    @extend_schema(operation_id="envelopes_my_sealed_share", responses={200: MY_SEALED_SHARE, **_errors(403, 404, 409)},
                   description="Custodian: your sealed share (HPKE to your custody key), to decrypt in your browser "
                               "or with `sunlight-custody open-share` and present; only after the deadline.")
    def get(self, request, lot_id: int):
        require_login(request.user)
        return Response(services.my_sealed_share(actor=request.user, lot=lot_id))


class OpenView(APIView):
    @extend_schema(operation_id="envelopes_open", request=None,
                   responses={200: OpeningResultSerializer, **_errors(400, 403, 404, 409)},
                   description="Staff: open the bids once k shares are presented.")
    def post(self, request, lot_id: int):
        require_login(request.user)
        bids = services.open_bids(actor=request.user, lot=lot_id)
        return Response({"opened": len(bids), "valid": sum(1 for b in bids if b.valid)})


class OpenedView(APIView):
    @extend_schema(operation_id="envelopes_opened_list", responses={200: OpenedBidSerializer(many=True),
                                                                    **_errors(403, 404)},
                   description="The opened bids (empty before the opening): the centre's staff, supervisors "
                               "and admins.")
    def get(self, request, lot_id: int):
        lot = _lot(lot_id)
        if not selectors.can_read_opened(request.user, lot):
            raise Forbidden(_("opened bids are for the centre's staff, supervisors and the evaluation"))
        return Response([decimal_keys(b.__dict__) for b in selectors.opened_bids(lot)])


class CustodyKeyView(APIView):
    @extend_schema(operation_id="envelopes_custody_key_register", request=CustodyKeyCreateSerializer,
                   responses={201: CustodyKeySerializer, **_errors(400, 403)},
                   description="Staff/supervisor: register your custody key, from a passphrase (kept wrapped by "
                               "the platform) or as an X25519 public key (hex) whose private key stays off-platform.")
    def post(self, request):
        require_login(request.user)
        data = _body(request)
        if data.get("public_key"):
            key = services.register_custodian_public_key(actor=request.user, public_key_hex=data["public_key"])
        else:
            key = services.register_custodian_key(actor=request.user, passphrase=data.get("passphrase") or "")
        return Response({"public_key": bytes(key.public_key).hex()}, status=status.HTTP_201_CREATED)


class ReceiptProofView(APIView):
    @extend_schema(
        operation_id="envelopes_receipt_proof",
        parameters=[
            OpenApiParameter("digest", OpenApiTypes.STR, OpenApiParameter.PATH,
                             description="the envelope's SHA-256 digest (64 hex characters)"),
            OpenApiParameter("size", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False,
                             description="prove against the signed checkpoint of this tree size (default: latest)"),
        ],
        responses={200: ReceiptProofSerializer, **_errors(400, 403, 404, 409)},
        description="Your receipt with its audit-log inclusion proof (409 until the submission event is "
                    "integrated under a signed checkpoint). Check it offline: "
                    "`sunlight-bid verify-receipt --receipt <this JSON> --platform-key <platform_key>`.")
    def get(self, request, digest: str):
        require_login(request.user)
        size = query_int(request.query_params, "size")
        bundle = selectors.receipt_proof(request.user, digest, size=size)
        return Response({**bundle, "platform_key": keys.encode(services.platform_public_key())})


class PlatformKeyView(APIView):
    @extend_schema(operation_id="envelopes_platform_key", responses={200: PlatformKeySerializer},
                   description="The platform's Ed25519 public key that signs receipts.")
    def get(self, request):
        return Response({"ed25519": keys.encode(services.platform_public_key())})


urlpatterns = [
    path("lots/<int:lot_id>/", LotStateView.as_view(), name="envelopes-lot"),
    path("lots/<int:lot_id>/envelope/", EnvelopeView.as_view(), name="envelopes-envelope"),
    path("lots/<int:lot_id>/opening-key/", OpeningKeyView.as_view(), name="envelopes-opening-key"),
    path("lots/<int:lot_id>/shares/", ShareView.as_view(), name="envelopes-shares"),
    path("lots/<int:lot_id>/shares/mine/", MyShareView.as_view(), name="envelopes-my-share"),
    path("lots/<int:lot_id>/open/", OpenView.as_view(), name="envelopes-open"),
    path("lots/<int:lot_id>/opened/", OpenedView.as_view(), name="envelopes-opened"),
    path("custody-keys/", CustodyKeyView.as_view(), name="envelopes-custody-keys"),
    path("platform-key/", PlatformKeyView.as_view(), name="envelopes-platform-key"),
    path("receipts/<str:digest>/proof/", ReceiptProofView.as_view(), name="envelopes-receipt-proof"),
]
