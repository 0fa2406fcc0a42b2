"""HTTP API of live auctions (mounted at /api/auctions/): the same services as the websocket,
for clients without websockets. Thin: parse, authorise, call a service, answer."""
from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bidding.auction import selectors, services
from trading.api_errors import error_body
from trading.errors import Invalid, NotFound
from trading.ids import query_int
from trading.models import Lot
from trading.serializers import MoneyField
from trading.permissions import require_login
from trading.money import format_fen
from trading.schema import money


class AuctionBidSerializer(serializers.Serializer):
    amount = MoneyField(help_text='decimal yuan string, e.g. "1234.56"')
    ref = serializers.RegexField(r"^[A-Za-z0-9_.:-]{1,64}$", help_text="a unique id per bid (replays are refused)")


class PauseReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True)


class AuctionScheduleSerializer(serializers.Serializer):
    lot = serializers.IntegerField()
    reserve = MoneyField(required=False)
    closing_rule = serializers.ChoiceField(choices=["countdown", "soft_close"], required=False)
    live_duration_s = serializers.IntegerField(min_value=1, required=False)
    countdown_s = serializers.IntegerField(min_value=1, required=False)
    window_s = serializers.IntegerField(min_value=0, required=False)
    max_jump = serializers.IntegerField(min_value=1, required=False)


# -- response shapes (for the OpenAPI description) ------------------------------------------------

class AuctionErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="what was wrong, in words")
    code = serializers.CharField(help_text="invalid | forbidden | not_found | conflict")
    field = serializers.CharField(required=False)


class AuctionStateSerializer(serializers.Serializer):
    """The public state of an auction (the reserve only once closed)."""

    auction = serializers.IntegerField()
    lot = serializers.IntegerField()
    seq = serializers.IntegerField(help_text="the last event's sequence number")
    mode = serializers.CharField(help_text="one of: auction, listing")
    phase = serializers.CharField(help_text="one of: scheduled, listing, live, paused, closed")
    paused_phase = serializers.CharField(allow_null=True)
    pause_reason = serializers.CharField(required=False)
    start_at = serializers.DateTimeField()
    end_at = serializers.DateTimeField(help_text="the server's end time (moves with bids and pauses)")
    price = money(help_text='highest accepted price ("0.00": none yet)')
    leader = serializers.CharField(allow_null=True, help_text="bidder number (竞买号) of the highest price")
    bid_count = serializers.IntegerField()
    minimum = money(help_text="the lowest acceptable amount now")
    maximum = money(allow_null=True, help_text="the highest acceptable amount (max jump)")
    increment = money()
    starting_price = money()
    max_jump = serializers.IntegerField()
    closing_rule = serializers.CharField(help_text="one of: countdown, soft_close")
    countdown_s = serializers.IntegerField()
    continuing = serializers.IntegerField(help_text="listing: how many bidders asked for live bidding")
    eligible = serializers.ListField(child=serializers.CharField(), allow_null=True)
    outcome = serializers.CharField(help_text="one of: deal, failed", allow_null=True)
    outcome_reason = serializers.CharField(allow_blank=True)
    has_reserve = serializers.BooleanField()
    reserve_commitment = serializers.CharField(help_text="hex sha256 of '<reserve in fen, digits>:<salt>' (reserve "
                                                         "\"1234.56\" → \"123456:salt\"), published at scheduling")
    reserve = money(required=False, help_text="only once the auction is closed")
    reserve_salt = serializers.CharField(required=False, help_text="only once the auction is closed")


class AuctionDetailSerializer(AuctionStateSerializer):
    my_number = serializers.CharField(allow_null=True, help_text="your bidder number, if you have one")
    server_time = serializers.DateTimeField()


class AuctionBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lot = serializers.IntegerField()
    project = serializers.CharField()
    title = serializers.CharField()
    mode = serializers.CharField()
    phase = serializers.CharField()
    start_at = serializers.DateTimeField()
    end_at = serializers.DateTimeField()
    price = money()
    bid_count = serializers.IntegerField()
    outcome = serializers.CharField(allow_null=True)


class AuctionEventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.CharField(help_text="one of: opened, bid, posted, continue, live, paused, resumed, closed")
    # a declared field: SerializerMetaclass pops it from the class, Serializer.data stays (the stubs cannot tell)
    data = serializers.DictField(help_text="the event's public data (bidder numbers, amounts as decimal strings, "
                                           "times in UTC with Z)")  # type: ignore[assignment]
    at = serializers.DateTimeField()


class AuctionResyncSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="one of: snapshot, events — a snapshot when after is 0 or too old")
    seq = serializers.IntegerField()
    server_time = serializers.DateTimeField()
    state = AuctionStateSerializer()
    events = AuctionEventSerializer(many=True)
    me = serializers.DictField(required=False)


class AuctionBidReceiptSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    code = serializers.CharField()
    message = serializers.CharField()
    seq = serializers.IntegerField(help_text="the accepted bid's sequence number")
    amount = money()
    number = serializers.CharField(help_text="your bidder number (竞买号)")
    state = AuctionStateSerializer()
    replayed = serializers.BooleanField(help_text="true: this reference was used before; the original bid's receipt")
    server_time = serializers.DateTimeField()


class AuctionContinueReceiptSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    message = serializers.CharField()
    seq = serializers.IntegerField()
    number = serializers.CharField()


ERRORS = {400: AuctionErrorSerializer, 403: AuctionErrorSerializer, 404: AuctionErrorSerializer, 409: AuctionErrorSerializer}


def _valid(serializer_class, data):
    s = serializer_class(data=data)
    if not s.is_valid():
        first_field, errors = next(iter(s.errors.items()))
        raise Invalid(_("%(name)s: %(errors)s"), name=first_field, errors=" ".join(str(e) for e in errors), field=first_field)
    return s.validated_data


def _brief(a) -> dict:
    return {"id": a.pk, "lot": a.lot_id, "project": a.lot.project.code, "title": a.lot.title, "mode": a.mode,
            "phase": a.phase, "start_at": a.start_at, "end_at": a.end_at, "price": _money(a.price_fen), "bid_count": a.bid_count, "outcome": a.outcome or None}


_money = format_fen


class SaleContractInSerializer(serializers.Serializer):
    signed_on = serializers.DateField(help_text="the date the contract was signed, e.g. 2026-04-01")
    amount = MoneyField(help_text='the contract amount: the confirmed price, decimal yuan string')
    documents = serializers.ListField(child=serializers.DictField(), min_length=1,
                                      help_text="[{name, sha256}] of the signed contract documents")


class DocumentHashSerializer(serializers.Serializer):
    name = serializers.CharField()
    sha256 = serializers.CharField(help_text="64 hex digits")


class SaleContractSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="the contract record's id")
    signed_on = serializers.DateField()
    amount = money(help_text="the contract amount")
    documents = DocumentHashSerializer(many=True)
    recorded_at = serializers.DateTimeField()
    notice = serializers.CharField(help_text="the contract notice's number")


class ConfirmationVoidSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    reason = serializers.CharField(help_text="the decision that cancelled the deal")


class ConfirmationSerializer(serializers.Serializer):
    """成交确认书: the document as the centre signed it (its SHA-256 is committed by an audit event)."""

    id = serializers.IntegerField(help_text="the confirmation's id")
    auction = serializers.IntegerField()
    lot = serializers.IntegerField()
    winner = serializers.CharField(help_text="the winner's name (public with the result)")
    number = serializers.CharField(help_text="the winner's bidder number (竞买号)")
    price = money(help_text="the confirmed price")
    issued_at = serializers.DateTimeField()
    contract_due = serializers.DateTimeField(help_text="the contract is signed by then (24:00 Beijing of the last day)")
    sha256 = serializers.CharField(help_text="SHA-256 of the document's canonical JSON (audit event auction.confirmation)")
    notice = serializers.CharField(help_text="the confirmation notice's number")
    document = serializers.DictField(help_text="the confirmation's content, exactly as hashed (evidence: amounts in "
                                               "it stay as signed, docs/api-formats.md)")
    contract = SaleContractSerializer(allow_null=True)
    voided = ConfirmationVoidSerializer(allow_null=True, help_text="set once the deal is cancelled (成交无效: a "
                                                                   "complaint upheld); the document stays as signed")


class AuctionList(APIView):
    @extend_schema(operation_id="auctions_list", responses={200: AuctionBriefSerializer(many=True)},
                   summary="Auctions and listings (public)")
    def get(self, request):
        return Response([_brief(a) for a in selectors.auctions_for_listing()[:200]])

    @extend_schema(operation_id="auctions_schedule", request=AuctionScheduleSerializer,
                   responses={201: AuctionStateSerializer, **ERRORS},
                   summary="Schedule the auction / listing of a sale lot (staff of its centre; reserve sealed)")
    def post(self, request):
        require_login(request.user)
        d = _valid(AuctionScheduleSerializer, request.data)
        try:
            lot = Lot.objects.select_related("project").get(pk=d.pop("lot"))
        except Lot.DoesNotExist:
            raise NotFound(_("no such lot")) from None
        reserve = d.pop("reserve", 0)
        auction = services.schedule_auction(lot=lot, actor=request.user, reserve_fen=reserve, **d)
        return Response(services.public_state(auction), status=status.HTTP_201_CREATED)


class AuctionDetail(APIView):
    @extend_schema(operation_id="auctions_retrieve", responses={200: AuctionDetailSerializer, 404: AuctionErrorSerializer},
                   summary="The public state of an auction, with your bidder number and the server time")
    def get(self, request, auction_id: int):
        auction = selectors.get_auction(auction_id)
        data = services.public_state(auction)
        data["my_number"] = selectors.number_of(auction, request.user)
        data["server_time"] = selectors.server_time()
        return Response(data)


class AuctionEvents(APIView):
    @extend_schema(operation_id="auctions_events", responses={200: AuctionResyncSerializer, 400: AuctionErrorSerializer,
                                                              404: AuctionErrorSerializer},
                   parameters=[OpenApiParameter("after", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False,
                                                description="the last seq you saw (0 or absent: a snapshot)")],
                   summary="Events after a sequence number (what a client missed), or a snapshot")
    def get(self, request, auction_id: int):
        auction = selectors.get_auction(auction_id)
        after = query_int(request.query_params, "after", default=0)
        return Response(selectors.resync(auction, after or None, request.user))


class PlaceBid(APIView):
    @extend_schema(operation_id="auctions_bid", request=AuctionBidSerializer,
                   responses={201: AuctionBidReceiptSerializer, 200: AuctionBidReceiptSerializer, **ERRORS},
                   summary="Place a bid (the same service as the websocket); refused bids change nothing. "
                           "A refusal's code is the engine's reason (too_low, not_multiple, closed…); its fields "
                           "carry the lowest acceptable amount now: {\"minimum\": [\"1234.56\"]}. Re-sending a "
                           "reference already used answers 200 with the original receipt (code \"replayed\"), "
                           "never a new judgement.")
    def post(self, request, auction_id: int):
        require_login(request.user)
        d = _valid(AuctionBidSerializer, request.data)
        try:
            receipt = services.place_bid(auction=auction_id, user=request.user, amount_fen=d["amount"],
                                         client_ref=d["ref"], via="http")
        except services.BidRefused as exc:
            # the one error shape; the lowest acceptable amount now, as the socket's answer has it
            fields = {} if exc.minimum_fen is None else {"minimum": [_money(exc.minimum_fen)]}
            return Response(error_body(exc.reason, exc.message, fields), status=exc.status_code)
        return Response({"accepted": True, "code": receipt.code, "message": receipt.message, "seq": receipt.seq,
                         "amount": _money(receipt.amount_fen), "number": receipt.number, "state": receipt.state,
                         "replayed": receipt.replayed, "server_time": selectors.server_time()},
                        status=status.HTTP_200_OK if receipt.replayed else status.HTTP_201_CREATED)


class RequestLive(APIView):
    @extend_schema(operation_id="auctions_continue", request=None,
                   responses={201: AuctionContinueReceiptSerializer, **ERRORS},
                   summary="Listing: ask to go on to live bidding at the end of the listing (要求现场竞价)")
    def post(self, request, auction_id: int):
        require_login(request.user)
        receipt = services.request_live_bidding(auction=auction_id, user=request.user)
        return Response({"accepted": True, "message": receipt.message, "seq": receipt.seq, "number": receipt.number},
                        status=status.HTTP_201_CREATED)


class Pause(APIView):
    @extend_schema(operation_id="auctions_pause", request=PauseReasonSerializer,
                   responses={200: AuctionStateSerializer, **ERRORS},
                   summary="Suspend trading with a reason (staff); the end moves by the paused time")
    def post(self, request, auction_id: int):
        require_login(request.user)
        d = _valid(PauseReasonSerializer, request.data)
        auction = services.pause_auction(auction=auction_id, actor=request.user, reason=d["reason"])
        return Response(services.public_state(auction))


class Resume(APIView):
    @extend_schema(operation_id="auctions_resume", request=None, responses={200: AuctionStateSerializer, **ERRORS},
                   summary="Resume a paused auction (staff)")
    def post(self, request, auction_id: int):
        require_login(request.user)
        auction = services.resume_auction(auction=auction_id, actor=request.user)
        return Response(services.public_state(auction))


class ConfirmationView(APIView):
    @extend_schema(operation_id="auctions_confirmation_retrieve", responses={200: ConfirmationSerializer, **ERRORS},
                   summary="The transaction confirmation (成交确认书) of a dealt auction, with its contract once "
                           "recorded (public with the result)")
    def get(self, request, auction_id: int):
        auction = selectors.get_auction(auction_id)
        return Response(selectors.confirmation_json(selectors.confirmation_of(auction)))

    @extend_schema(operation_id="auctions_confirmation_issue", request=None,
                   responses={201: ConfirmationSerializer, **ERRORS},
                   summary="Issue the transaction confirmation (成交确认书) of an awarded lot (staff of its centre, "
                           "once): generated from the auction record, its SHA-256 committed in the audit log")
    def post(self, request, auction_id: int):
        require_login(request.user)
        conf = services.issue_confirmation(actor=request.user, auction=auction_id)
        return Response(selectors.confirmation_json(conf), status=status.HTTP_201_CREATED)


class SaleContractView(APIView):
    @extend_schema(operation_id="auctions_contract", request=SaleContractInSerializer,
                   responses={201: ConfirmationSerializer, **ERRORS},
                   summary="Record the signed contract of a confirmed deal (staff of its centre) within the period "
                           "the confirmation fixed; the lot becomes contracted")
    def post(self, request, auction_id: int):
        require_login(request.user)
        d = _valid(SaleContractInSerializer, request.data)
        contract = services.record_sale_contract(actor=request.user, auction=auction_id, signed_on=d["signed_on"],
                                                 amount_fen=d["amount"], documents=d["documents"])
        return Response(selectors.confirmation_json(contract.confirmation), status=status.HTTP_201_CREATED)


urlpatterns = [
    path("", AuctionList.as_view(), name="auction-list"),
    path("<int:auction_id>/", AuctionDetail.as_view(), name="auction-detail"),
    path("<int:auction_id>/events/", AuctionEvents.as_view(), name="auction-events"),
    path("<int:auction_id>/bids/", PlaceBid.as_view(), name="auction-bid"),
    path("<int:auction_id>/continue/", RequestLive.as_view(), name="auction-continue"),
    path("<int:auction_id>/pause/", Pause.as_view(), name="auction-pause"),
    path("<int:auction_id>/resume/", Resume.as_view(), name="auction-resume"),
    path("<int:auction_id>/confirmation/", ConfirmationView.as_view(), name="auction-confirmation"),
    path("<int:auction_id>/contract/", SaleContractView.as_view(), name="auction-contract"),
]
