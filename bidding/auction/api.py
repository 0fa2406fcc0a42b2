"""HTTP API of live auctions (mounted at /api/auctions/): the same services as the websocket,
for clients without websockets. Thin: parse, authorise, call a service, answer."""
from __future__ import annotations

from django.urls import path
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bidding.auction import selectors, services
from trading.errors import Invalid, NotFound
from trading.models import Lot
from trading.serializers import MoneyField
from trading.permissions import require_login


class BidSerializer(serializers.Serializer):
    amount = MoneyField(help_text='decimal yuan string, e.g. "1234.56"')
    ref = serializers.RegexField(r"^[A-Za-z0-9_.:-]{1,64}$", help_text="a unique id per bid (replays are refused)")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True)


class ScheduleSerializer(serializers.Serializer):
    lot = serializers.IntegerField()
    reserve = MoneyField(required=False)
    closing_rule = serializers.ChoiceField(choices=["countdown", "soft_close"], required=False)
    live_duration_s = serializers.IntegerField(min_value=1, required=False)
    countdown_s = serializers.IntegerField(min_value=1, required=False)
    window_s = serializers.IntegerField(min_value=0, required=False)
    max_jump = serializers.IntegerField(min_value=1, required=False)


def _valid(serializer_class, data):
    s = serializer_class(data=data)
    if not s.is_valid():
        first_field, errors = next(iter(s.errors.items()))
        raise Invalid(f"{first_field}: {' '.join(str(e) for e in errors)}", field=first_field)
    return s.validated_data


def _brief(a) -> dict:
    return {"id": a.pk, "lot": a.lot_id, "project": a.lot.project.code, "title": a.lot.title, "mode": a.mode,
            "phase": a.phase, "start_at": a.start_at, "end_at": a.end_at, "price": _money(a.price_fen), "bid_count": a.bid_count, "outcome": a.outcome or None}


def _money(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class AuctionList(APIView):
    def get(self, request):
        return Response([_brief(a) for a in selectors.auctions_for_listing()[:200]])

    def post(self, request):
        require_login(request.user)
        d = _valid(ScheduleSerializer, request.data)
        try:
            lot = Lot.objects.select_related("project").get(pk=d.pop("lot"))
        except Lot.DoesNotExist:
            raise NotFound("no such lot") from None
        reserve = d.pop("reserve", 0)
        auction = services.schedule_auction(lot=lot, actor=request.user, reserve_fen=reserve, **d)
        return Response(services.public_state(auction), status=status.HTTP_201_CREATED)


class AuctionDetail(APIView):
    def get(self, request, auction_id: int):
        auction = selectors.get_auction(auction_id)
        data = services.public_state(auction)
        data["my_number"] = selectors.number_of(auction, request.user)
        data["server_time"] = selectors.server_time()
        return Response(data)


class AuctionEvents(APIView):
    def get(self, request, auction_id: int):
        auction = selectors.get_auction(auction_id)
        raw = request.query_params.get("after", "0")
        if not raw.isdigit():
            raise Invalid("after must be a non-negative integer (the last seq you saw)", field="after")
        return Response(selectors.resync(auction, int(raw) or None, request.user))


class PlaceBid(APIView):
    def post(self, request, auction_id: int):
        require_login(request.user)
        d = _valid(BidSerializer, request.data)
        amount = d["amount"]
        receipt = services.place_bid(auction=auction_id, user=request.user, amount_fen=amount, client_ref=d["ref"],
                                     via="http")
        return Response({"accepted": True, "code": receipt.code, "message": receipt.message, "seq": receipt.seq,
                         "amount": _money(receipt.amount_fen), "number": receipt.number, "state": receipt.state,
                         "server_time": selectors.server_time()}, status=status.HTTP_201_CREATED)


class RequestLive(APIView):
    def post(self, request, auction_id: int):
        require_login(request.user)
        receipt = services.request_live_bidding(auction=auction_id, user=request.user)
        return Response({"accepted": True, "message": receipt.message, "seq": receipt.seq, "number": receipt.number},
                        status=status.HTTP_201_CREATED)


class Pause(APIView):
    def post(self, request, auction_id: int):
        require_login(request.user)
        d = _valid(ReasonSerializer, request.data)
        auction = services.pause_auction(auction=auction_id, actor=request.user, reason=d["reason"])
        return Response(services.public_state(auction))


class Resume(APIView):
    def post(self, request, auction_id: int):
        require_login(request.user)
        auction = services.resume_auction(auction=auction_id, actor=request.user)
        return Response(services.public_state(auction))


urlpatterns = [
    path("", AuctionList.as_view(), name="auction-list"),
    path("<int:auction_id>/", AuctionDetail.as_view(), name="auction-detail"),
    path("<int:auction_id>/events/", AuctionEvents.as_view(), name="auction-events"),
    path("<int:auction_id>/bids/", PlaceBid.as_view(), name="auction-bid"),
    path("<int:auction_id>/continue/", RequestLive.as_view(), name="auction-continue"),
    path("<int:auction_id>/pause/", Pause.as_view(), name="auction-pause"),
    path("<int:auction_id>/resume/", Resume.as_view(), name="auction-resume"),
]
