"""Bidder API: registrations (报名) and the organisation's Ed25519 signing keys. Bidders see only their own."""
from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from bidding import selectors, services
from bidding.models import BidderKey, Registration
from bidding.serializers import (
    BidderKeyCreateSerializer, BidderKeySerializer, RegistrationCreateSerializer, RegistrationSerializer,
)
from trading.errors import NotFound
from trading.permissions import require_bidder


class RegistrationsView(APIView):
    @extend_schema(responses=RegistrationSerializer(many=True), description="My organisation's registrations.")
    def get(self, request):
        require_bidder(request.user)
        return Response(RegistrationSerializer(selectors.my_registrations(request.user).order_by("id"), many=True).data)

    @extend_schema(request=RegistrationCreateSerializer, responses={201: RegistrationSerializer},
                   description="Register for a lot, declaring against each of its eligibility conditions.")
    def post(self, request):
        require_bidder(request.user)
        data = RegistrationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        registration = services.register(actor=request.user, lot=data.validated_data["lot"],
                                         declaration=data.validated_data["declaration"])
        return Response(RegistrationSerializer(registration).data, status=status.HTTP_201_CREATED)


class RegistrationWithdrawView(APIView):
    @extend_schema(request=None, responses=RegistrationSerializer, description="Withdraw before the deadline.")
    def post(self, request, pk: int):
        require_bidder(request.user)
        registration = Registration.objects.filter(pk=pk, bidder_id=request.user.organisation_id).first()
        if registration is None:
            raise NotFound(_("no such registration"))
        registration = services.withdraw_registration(actor=request.user, registration=registration)
        return Response(RegistrationSerializer(registration).data)


class KeysView(APIView):
    @extend_schema(responses=BidderKeySerializer(many=True), description="My organisation's signing keys.")
    def get(self, request):
        require_bidder(request.user)
        keys = BidderKey.objects.filter(organisation_id=request.user.organisation_id).order_by("id")
        return Response(BidderKeySerializer(keys, many=True).data)

    @extend_schema(request=BidderKeyCreateSerializer, responses={201: BidderKeySerializer},
                   description="Register the organisation's Ed25519 public key (it verifies envelope signatures).")
    def post(self, request):
        require_bidder(request.user)
        data = BidderKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = services.register_bidder_key(actor=request.user, public_key_hex=data.validated_data["public_key"])
        return Response(BidderKeySerializer(key).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("registrations/", RegistrationsView.as_view(), name="api-registrations"),
    path("registrations/<int:pk>/withdraw/", RegistrationWithdrawView.as_view(), name="api-registration-withdraw"),
    path("keys/", KeysView.as_view(), name="api-bidder-keys"),
]
