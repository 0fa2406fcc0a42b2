from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trading.errors import Invalid
from trading.models import Document, Lot, Notice, Organisation, Project
from trading.money import EXPECTED, MONEY_PATTERN, decimal_keys, format_fen, parse_money


@extend_schema_field({
    "type": "string", "pattern": MONEY_PATTERN, "example": "1234.56",
    "description": "amount in yuan as a decimal string, two decimals in answers, at most two in requests "
                   "(integer fen inside)",
})
class MoneyField(serializers.Field):
    """Money as a decimal string ("1234.56") outside, integer fen inside."""

    default_error_messages = {"invalid": f"expected {EXPECTED}"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            kind = "a number" if isinstance(data, (int, float)) else f"a {type(data).__name__}"
            raise serializers.ValidationError(f"expected {EXPECTED}, not {kind}")
        field = self.field_name or "amount"
        try:
            return parse_money(data, field=field)
        except Invalid as exc:  # the error is reported under the field's name already: no second prefix
            raise serializers.ValidationError(exc.message.removeprefix(f"{field}: ")) from None

    def to_representation(self, value):
        return format_fen(value)


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "name_en", "credit_code", "kind", "region"]
        read_only_fields = ["id"]


class OrganisationCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200, required=False, default="")
    credit_code = serializers.CharField(max_length=40)
    kind = serializers.CharField(max_length=20)
    region = serializers.CharField(max_length=100, required=False, default="")
    bank_account = serializers.CharField(max_length=40, required=False, default="")


class LotSerializer(serializers.ModelSerializer):
    estimate = MoneyField(source="estimate_fen")
    security = MoneyField(source="security_fen")
    increment = MoneyField(source="increment_fen")
    project = serializers.CharField(source="project.code")

    class Meta:
        model = Lot
        fields = ["id", "project", "number", "title", "estimate", "security", "increment", "closing_rule",
                  "evaluation_method", "tie_break", "eligibility", "status", "notice_at", "doc_start", "doc_end",
                  "objection_deadline", "bid_deadline", "auction_start", "listing_start", "listing_end"]


class ProjectSerializer(serializers.ModelSerializer):
    budget = MoneyField(source="budget_fen")
    owner = OrganisationSerializer()
    agent = OrganisationSerializer(allow_null=True)
    centre = OrganisationSerializer()
    supervisor = OrganisationSerializer()
    lots = LotSerializer(many=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "code", "title", "kind", "method", "status", "owner", "agent", "centre", "supervisor",
                  "region", "budget", "state_funded", "description", "created_at", "lots"]

    def get_status(self, project) -> str:
        from trading.selectors import project_status

        return project_status(project)


class LotInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    estimate = MoneyField()
    security = MoneyField(required=False, default="0")
    increment = MoneyField(required=False, default="0")
    bid_deadline = serializers.DateTimeField()
    doc_start = serializers.DateTimeField(required=False, allow_null=True, default=None)
    doc_end = serializers.DateTimeField(required=False, allow_null=True, default=None)
    objection_deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)
    auction_start = serializers.DateTimeField(required=False, allow_null=True, default=None)
    listing_start = serializers.DateTimeField(required=False, allow_null=True, default=None)
    listing_end = serializers.DateTimeField(required=False, allow_null=True, default=None)
    closing_rule = serializers.CharField(required=False, default="", allow_blank=True)
    evaluation_method = serializers.CharField(required=False, default="", allow_blank=True)
    tie_break = serializers.CharField(required=False, default="lower_price_then_earlier")
    eligibility = serializers.ListField(child=serializers.CharField(max_length=300), required=False, default=list)

    def validate(self, attrs):
        for key in ("security", "increment"):
            if isinstance(attrs.get(key), str):
                attrs[key] = parse_money(attrs[key])
        return attrs


class ProjectCreateSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=20)
    method = serializers.CharField(max_length=30)
    title = serializers.CharField(max_length=300)
    owner = serializers.IntegerField()
    agent = serializers.IntegerField(required=False, allow_null=True, default=None)
    supervisor = serializers.IntegerField()
    region = serializers.CharField(max_length=100)
    budget = MoneyField()
    state_funded = serializers.BooleanField(required=False, default=True)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    lots = LotInputSerializer(many=True)


class DocumentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = ["id", "name", "content_type", "size", "sha256", "access", "uploaded_at", "url"]

    def get_url(self, doc) -> str:
        return f"/documents/{doc.pk}/download/"


class NoticeSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.code")
    project_id = serializers.IntegerField()
    documents = DocumentSerializer(many=True, read_only=True)

    class Meta:
        model = Notice
        fields = ["id", "number", "kind", "title", "body", "data", "project", "project_id", "lot", "amends",
                  "published_at", "documents"]

    def to_representation(self, instance):
        out = super().to_representation(instance)
        out["data"] = decimal_keys(out["data"])  # stored in fen; amounts as decimal strings at the edge
        return out


class AmendmentSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["amendment", "clarification"], default="amendment")
    title = serializers.CharField(max_length=300)
    body = serializers.CharField()
    new_bid_deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    access = serializers.ChoiceField(choices=["public", "registered"], default="public")


class ChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField(source="created_at")
    action = serializers.CharField()
    subject = serializers.CharField()
    project_id = serializers.IntegerField(allow_null=True)
    payload = serializers.JSONField()


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})
    otp = serializers.CharField(required=False, max_length=32, help_text=(
        "staff, supervisor and admin accounts: the current code of the account's authenticator (or a recovery code)"))


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    role = serializers.CharField(read_only=True)
    organisation = serializers.IntegerField(source="organisation_id", read_only=True, allow_null=True)
    email = serializers.CharField(read_only=True, help_text="e-mail address, empty when none is on file")  # "" is not format: email
    display_name = serializers.CharField(source="first_name", read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(style={"input_type": "password"}, write_only=True)
    role = serializers.ChoiceField(choices=["bidder", "staff", "supervisor", "expert", "admin"])
    organisation = serializers.IntegerField(required=False, allow_null=True, default=None,
                                            help_text="the organisation's id (every role but admin)")
    email = serializers.EmailField(required=False, default="")
    display_name = serializers.CharField(max_length=150, required=False, default="")


class BidderSignupSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, help_text="the company's registered name")
    credit_code = serializers.CharField(max_length=40, help_text="统一社会信用代码 (18 characters, check character verified)")
    region = serializers.CharField(max_length=100, required=False, default="")
    contact = serializers.CharField(max_length=200, required=False, default="")
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, write_only=True)


class SignupConfirmSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=1000)
