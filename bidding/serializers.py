from rest_framework import serializers

from bidding.models import BidderKey, Registration


class DeclarationItemSerializer(serializers.Serializer):
    condition = serializers.CharField(max_length=300)
    met = serializers.BooleanField()
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class RegistrationCreateSerializer(serializers.Serializer):
    lot = serializers.IntegerField()
    declaration = DeclarationItemSerializer(many=True)


class RegistrationSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="lot.project.code")
    bid_deadline = serializers.DateTimeField(source="lot.bid_deadline")

    class Meta:
        model = Registration
        fields = ["id", "lot", "project", "bidder", "declaration", "status", "created_at", "bid_deadline"]


class BidderKeySerializer(serializers.ModelSerializer):
    public_key = serializers.CharField(source="public_key_hex")

    class Meta:
        model = BidderKey
        fields = ["id", "organisation", "public_key", "created_at", "revoked_at"]
        read_only_fields = ["id", "organisation", "created_at", "revoked_at"]


class BidderKeyCreateSerializer(serializers.Serializer):
    public_key = serializers.CharField(max_length=128, help_text="raw Ed25519 public key, 64 hexadecimal characters")
