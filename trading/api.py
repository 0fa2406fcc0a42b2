"""The trading API: organisations, projects, lots, notices, documents, a change feed, OCDS, tokens."""
from __future__ import annotations

from typing import Any, Literal, overload

from django.utils.translation import gettext_lazy as _
import django_filters
from django.contrib.auth import authenticate
from django.db.models import Q
from django.urls import include, path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from audit.models import Event
from trading import ocds, second_factor, selectors, services
from trading.api_cache import PublicListCache
from trading.api_errors import error_body
from trading.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound
from trading.ids import is_ascii_int, query_int
from trading.models import Lot, Notice, Organisation, Project, User
from trading.permissions import require_role
from trading.schema import listof, mapping, shape, text
from trading.serializers import (
    AmendmentSerializer, ChangeSerializer, DocumentSerializer, DocumentUploadSerializer, LotSerializer,
    NoticeSerializer, OrganisationCreateSerializer, OrganisationSerializer, ProjectCreateSerializer,
    ProjectSerializer, ReasonSerializer, TokenRequestSerializer,
)
from trading.serializers import BidderSignupSerializer, SignupConfirmSerializer, UserCreateSerializer, UserSerializer


@overload
def _org(pk: Any, field: str, *, required: Literal[True] = True) -> Organisation: ...
@overload
def _org(pk: Any, field: str, *, required: bool) -> Organisation | None: ...
def _org(pk: Any, field: str, *, required: bool = True) -> Organisation | None:
    if pk is None and not required:
        return None
    try:
        return Organisation.objects.get(pk=pk)
    except Organisation.DoesNotExist:
        raise Invalid(_("%(field_name)s: no organisation with id %(pk)s"), field_name=field, pk=pk, field=field) from None


class OrganisationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Organisation.objects.all()
    serializer_class = OrganisationSerializer
    filterset_fields = ["kind", "region", "credit_code"]

    @extend_schema(request=OrganisationCreateSerializer, responses={201: OrganisationSerializer})
    def create(self, request):
        data = OrganisationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        org = services.create_organisation(actor=request.user if request.user.is_authenticated else _anon(),
                                           name=d["name"], name_en=d["name_en"], credit_code_value=d["credit_code"],
                                           kind=d["kind"], region=d["region"], bank_account=d["bank_account"])
        return Response(OrganisationSerializer(org).data, status=status.HTTP_201_CREATED)


def _anon():
    raise NotAuthenticated(_("please log in first"))


class ProjectFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter()
    method = django_filters.CharFilter()
    region = django_filters.CharFilter(lookup_expr="icontains")
    status = django_filters.CharFilter(method="filter_status")
    q = django_filters.CharFilter(method="filter_q")

    class Meta:
        model = Project
        fields = ["kind", "method", "region"]

    def filter_status(self, qs, name, value):
        return qs.filter(lots__status=value).distinct()

    def filter_q(self, qs, name, value):
        return qs.filter(Q(title__icontains=value) | Q(code__icontains=value))


OCDS_PACKAGE = shape("OcdsReleasePackage", {
    "uri": text(), "version": text(), "extensions": listof(text()), "publishedDate": text(),
    "publisher": mapping(), "license": text(), "publicationPolicy": text(),
    "releases": listof(mapping(), help_text="OCDS 1.1 releases (see the OCDS release schema)")})


class ProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        return selectors.visible_projects(self.request.user).prefetch_related("lots")

    def get_object(self):
        key = self.kwargs["pk"]
        qs = self.get_queryset()
        project = qs.filter(code=key).first() or (qs.filter(pk=int(key)).first() if is_ascii_int(key) else None)
        if project is None:
            raise NotFound(_("no such project"))
        return project

    @extend_schema(request=ProjectCreateSerializer, responses={201: ProjectSerializer})
    def create(self, request):
        require_role(request.user, "staff")
        data = ProjectCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        lots = [
            services.LotSpec(
                title=l["title"], estimate_fen=l["estimate"], security_fen=l["security"], increment_fen=l["increment"],
                bid_deadline=l["bid_deadline"], doc_start=l["doc_start"], doc_end=l["doc_end"],
                objection_deadline=l["objection_deadline"], auction_start=l["auction_start"],
                listing_start=l["listing_start"], listing_end=l["listing_end"], closing_rule=l["closing_rule"],
                evaluation_method=l["evaluation_method"], tie_break=l["tie_break"], eligibility=l["eligibility"],
            )
            for l in d["lots"]
        ]
        project = services.create_project(
            actor=request.user, kind=d["kind"], method=d["method"], title=d["title"], owner=_org(d["owner"], "owner"),
            agent=_org(d["agent"], "agent", required=False), supervisor=_org(d["supervisor"], "supervisor"),
            region=d["region"], budget_fen=d["budget"], lots=lots, state_funded=d["state_funded"],
            description=d["description"],
        )
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: NoticeSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        notice = services.publish_project(actor=request.user, project=self.get_object())
        return Response(NoticeSerializer(notice).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={201: NoticeSerializer})
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None):
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        notice = services.terminate_project(actor=request.user, project=self.get_object(), reason=data.validated_data["reason"])
        return Response(NoticeSerializer(notice).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: OCDS_PACKAGE}, description="OCDS 1.1 release package for the project")
    @action(detail=True, methods=["get"])
    def ocds(self, request, pk=None):
        project = self.get_object()
        if not project.notices.exists():  # an OCDS package needs at least one release
            raise Conflict(_("project %(code)s has no published notice yet: nothing to export"), code=project.code)
        return Response(ocds.release_package(project))


class LotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = LotSerializer
    filterset_fields = ["status", "project"]

    def get_queryset(self):
        return Lot.objects.filter(project__in=selectors.visible_projects(self.request.user)).select_related("project")


class NoticeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q")
    kind = django_filters.CharFilter()
    project_kind = django_filters.CharFilter(field_name="project__kind")
    method = django_filters.CharFilter(field_name="project__method")
    region = django_filters.CharFilter(field_name="project__region", lookup_expr="icontains")
    status = django_filters.CharFilter(method="filter_status")
    published_from = django_filters.DateFilter(field_name="published_at", lookup_expr="date__gte")
    published_to = django_filters.DateFilter(field_name="published_at", lookup_expr="date__lte")

    class Meta:
        model = Notice
        fields = ["kind"]

    def filter_q(self, qs, name, value):
        return qs.filter(Q(title__icontains=value) | Q(project__title__icontains=value) | Q(number__icontains=value))

    def filter_status(self, qs, name, value):
        return qs.filter(project__lots__status=value).distinct()


class NoticeViewSet(PublicListCache, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = NoticeSerializer
    filterset_class = NoticeFilter
    queryset = Notice.objects.select_related("project").prefetch_related("documents").order_by("-published_at", "-id")

    @extend_schema(request=AmendmentSerializer, responses={201: NoticeSerializer})
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        data = AmendmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        notice = services.publish_amendment(actor=request.user, notice=self.get_object(), title=d["title"], body=d["body"],
                                            kind=d["kind"], new_bid_deadline=d["new_bid_deadline"])
        return Response(NoticeSerializer(notice).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DocumentUploadSerializer, responses={201: DocumentSerializer})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def documents(self, request, pk=None):
        data = DocumentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > services.settings.SUNLIGHT_DOCUMENT_MAX_BYTES:
            raise Invalid(_("the file is larger than the configured limit"), field="file")
        doc = services.attach_document(actor=request.user, notice=self.get_object(), name=upload.name,
                                       content=upload.read(), content_type=upload.content_type or "application/octet-stream",
                                       access=data.validated_data["access"])
        return Response(DocumentSerializer(doc).data, status=status.HTTP_201_CREATED)


TRADING_ACTIONS = ("project.publish", "lot.transition", "notice.publish", "document.attach")


class ChangeFeedView(APIView):
    """Public changes to projects, lots and notices, ordered by modification (audit event id)."""

    @extend_schema(
        parameters=[OpenApiParameter("after", int, description="return changes after this id"),
                    OpenApiParameter("limit", int, description="at most this many (≤ 500)")],
        responses={200: inline_serializer("ChangeFeed", {
            "results": ChangeSerializer(many=True),
            "next_after": serializers.IntegerField(help_text="pass as ?after= to get the next changes"),
        })},
    )
    def get(self, request):
        after = query_int(request.query_params, "after", default=0)
        limit = min(query_int(request.query_params, "limit", default=100, minimum=1), 500)
        events = list(Event.objects.filter(id__gt=after, visibility="public", action__in=TRADING_ACTIONS).order_by("id")[:limit])
        items = [{"id": e.id, "created_at": e.created_at, "action": e.action, "subject": e.subject,
                  "project_id": e.project_id, "payload": e.payload} for e in events]
        return Response({"results": ChangeSerializer(items, many=True).data,
                         "next_after": events[-1].id if events else after})


class TokenView(APIView):
    """Exchange a user name and password for an API token (throttled like the login page). Staff, supervisor
    and admin accounts also send `otp`, the current code of their authenticator (or a recovery code)."""

    @extend_schema(request=TokenRequestSerializer, responses={200: inline_serializer("TokenResponse", {
        "token": serializers.CharField(), "role": serializers.CharField()})})
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        # the Django request, so that the throttle's verdict (axes) is seen by its middleware, which answers 429
        user = authenticate(request._request, username=username, password=data.validated_data["password"])
        if getattr(request._request, "axes_locked_out", False):
            return Response(status=429)  # replaced by trading.auth.lockout_response
        if user is None:
            return Response(error_body("invalid_login", _("Wrong user name or password.")), status=400)
        if second_factor.needs_second_factor(user):  # privileged accounts: a token only with the second factor
            if not second_factor.has_second_factor(user):
                raise Forbidden(_("this account has no authenticator yet: enrol one on its account page (/account/security/) first"))
            code = data.validated_data.get("otp", "")
            if not code:
                raise Invalid(_("this account signs in with a second factor: send the current code of its authenticator (or a recovery code) as otp"), field="otp")
            try:
                device = second_factor.verify(user=user, code=code)
            except second_factor.CodeThrottled as throttled:  # refused unchecked: the device waits
                seconds = throttled.retry_after
                return Response(error_body("second_factor_throttled", second_factor.throttled_detail(seconds)),
                                status=429, headers={"Retry-After": str(seconds)})
            if device is None:
                raise Invalid(_("wrong or expired code"), field="otp")
        services.record_sign_in(user=user, method="token", second_factor_pending=False)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "role": user.role})


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Accounts: the administrator lists and creates them; staff see their own centre's colleagues."""

    serializer_class = UserSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["role", "organisation"]

    queryset = User.objects.none()  # the schema's model; get_queryset chooses the rows per caller

    def get_queryset(self):
        user = self.request.user
        if getattr(self, "swagger_fake_view", False) or not user.is_authenticated:
            return User.objects.none()
        if user.role == "admin":
            return User.objects.order_by("id")
        if user.role == "staff" and user.organisation_id is not None:
            return User.objects.filter(organisation_id=user.organisation_id).order_by("id")
        return User.objects.filter(pk=user.pk)

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer})
    def create(self, request):
        require_role(request.user, "admin")
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        org = _org(d["organisation"], "organisation", required=False)
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError

        try:
            validate_password(d["password"], user=User(username=d["username"], email=d["email"]))
        except ValidationError as exc:
            raise Invalid(" ".join(exc.messages), field="password") from None
        user = services.create_user(actor=request.user, username=d["username"], password=d["password"], role=d["role"],
                                    organisation=org, email=d["email"], display_name=d["display_name"])
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class SignupView(APIView):
    """Bidder self-registration: the company and its first user; the account works once its e-mail
    address is confirmed through the link mailed to it (``POST /api/auth/confirm/`` or the page)."""

    permission_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "signup"

    @extend_schema(request=BidderSignupSerializer, responses={201: UserSerializer})
    def post(self, request):
        data = BidderSignupSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        from django.conf import settings

        user = services.register_bidder(
            name=d["name"], credit_code_value=d["credit_code"], region=d["region"], contact=d["contact"],
            username=d["username"], email=d["email"], password=d["password"],
            confirm_url=settings.SUNLIGHT_PUBLIC_URL + "/accounts/confirm/{token}/")
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class SignupConfirmView(APIView):
    permission_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "signup"

    @extend_schema(request=SignupConfirmSerializer, responses={200: UserSerializer})
    def post(self, request):
        data = SignupConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.confirm_bidder(token=data.validated_data["token"])
        return Response(UserSerializer(user).data)


router = DefaultRouter()
router.register("users", UserViewSet, basename="user")
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("projects", ProjectViewSet, basename="project")
router.register("lots", LotViewSet, basename="lot")
router.register("notices", NoticeViewSet, basename="notice")

urlpatterns = [
    path("changes/", ChangeFeedView.as_view(), name="api-changes"),
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/signup/", SignupView.as_view(), name="api-signup"),
    path("auth/confirm/", SignupConfirmView.as_view(), name="api-signup-confirm"),
    path("", include(router.urls)),
]
