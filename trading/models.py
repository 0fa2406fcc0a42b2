"""Parties, projects, lots, their recorded transitions, notices and documents."""
from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.db.models import F, Q
from django_otp.models import Device, TimestampMixin

from trading import credit_code, lifecycle
from trading.managers import UserManager
from trading.rules import KINDS, METHODS, rule_for


class Organisation(models.Model):
    class Kind(models.TextChoices):
        CENTRE = "centre", _("trading centre")
        SUPERVISOR = "supervisor", _("supervising department")
        TENDEREE = "tenderee", _("tenderee / purchaser / transferor")
        AGENT = "agent", _("agent")
        BIDDER = "bidder", _("bidder")

    name = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200, blank=True)
    credit_code = models.CharField(max_length=18, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    region = models.CharField(max_length=100, blank=True)
    bank_account = models.CharField(max_length=40, blank=True, help_text="the organisation's own bank account number")
    contact = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["centre", "supervisor", "tenderee", "agent", "bidder"]), name="org_kind_valid"),
            models.CheckConstraint(condition=Q(credit_code__regex=r"^[0-9A-HJ-NPQRTUWXY]{18}$"), name="org_credit_code_shape"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        reason = credit_code.validate(self.credit_code)
        if reason:
            raise ValidationError({"credit_code": reason})


class User(AbstractUser):  # type: ignore[django-manager-missing]  # SecurityKey (a django-otp Device: an untyped base)
    class Role(models.TextChoices):
        BIDDER = "bidder", _("bidder")
        STAFF = "staff", _("centre staff")
        SUPERVISOR = "supervisor", _("supervisor")
        EXPERT = "expert", _("expert")
        ADMIN = "admin", _("admin")

    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.BIDDER)

    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(role__in=["bidder", "staff", "supervisor", "expert", "admin"]), name="user_role_valid"),
            models.CheckConstraint(condition=Q(role="admin") | Q(organisation__isnull=False), name="user_has_organisation"),
        ]

    # Every account but an admin's belongs to an organisation (CHECK user_has_organisation). For code that
    # already knows the role (a bidder, staff, a supervisor, an expert): says so to the type checker, and
    # fails loudly when asked of an admin without one.
    @property
    def member_of(self) -> Organisation:
        if self.organisation is None:
            raise ValueError(f"user {self.pk} ({self.role}) belongs to no organisation")
        return self.organisation

    @property
    def member_of_id(self) -> int:
        if self.organisation_id is None:
            raise ValueError(f"user {self.pk} ({self.role}) belongs to no organisation")
        return self.organisation_id


class Project(models.Model):
    code = models.CharField(max_length=40, unique=True)
    title = models.CharField(max_length=300)
    kind = models.CharField(max_length=12, choices=[(k, v[1]) for k, v in KINDS.items()])
    method = models.CharField(max_length=24, choices=[(k, v[1]) for k, v in METHODS.items()])
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="owned_projects")
    agent = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="agented_projects")
    centre = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="centre_projects")
    supervisor = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="supervised_projects")
    region = models.CharField(max_length=100)
    budget_fen = models.BigIntegerField(help_text="budget (tenders) or starting price (auctions), in fen")
    state_funded = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(budget_fen__gte=0), name="project_budget_not_negative"),
            models.CheckConstraint(condition=Q(kind__in=list(KINDS)), name="project_kind_valid"),
            models.CheckConstraint(condition=Q(method__in=list(METHODS)), name="project_method_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def rule(self):
        return rule_for(self.kind, self.method)


class Lot(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="lots")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    estimate_fen = models.BigIntegerField(help_text="estimated price (tenders) or starting / listed price (sales)")
    security_fen = models.BigIntegerField(default=0, help_text="bid security (保证金) required, 0 = none")
    increment_fen = models.BigIntegerField(default=0, help_text="auction / listing increment (加价幅度)")
    closing_rule = models.CharField(max_length=12, blank=True, help_text="countdown | soft_close (auctions)")
    evaluation_method = models.CharField(max_length=30, blank=True)
    tie_break = models.CharField(max_length=30, default="lower_price_then_earlier")
    eligibility = models.JSONField(default=list, blank=True, help_text="eligibility conditions bidders declare against")
    status = models.CharField(max_length=20, default=lifecycle.LotStatus.DRAFT, db_index=True)
    notice_at = models.DateTimeField(null=True, blank=True)
    doc_start = models.DateTimeField(null=True, blank=True)
    doc_end = models.DateTimeField(null=True, blank=True)
    objection_deadline = models.DateTimeField(null=True, blank=True)
    bid_deadline = models.DateTimeField(help_text="bid deadline = opening time (tenders); registration/deposit deadline (sales)")
    auction_start = models.DateTimeField(null=True, blank=True)
    listing_start = models.DateTimeField(null=True, blank=True)
    listing_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="lot_number_unique"),
            models.CheckConstraint(condition=Q(estimate_fen__gte=0), name="lot_estimate_not_negative"),
            models.CheckConstraint(condition=Q(security_fen__gte=0) & Q(security_fen__lte=F("estimate_fen")), name="lot_security_range"),
            models.CheckConstraint(condition=Q(increment_fen__gte=0), name="lot_increment_not_negative"),
            models.CheckConstraint(condition=Q(status__in=list(lifecycle.STATUSES)), name="lot_status_valid"),
            models.CheckConstraint(condition=Q(notice_at__isnull=True) | Q(bid_deadline__gt=F("notice_at")), name="lot_deadline_after_notice"),
            models.CheckConstraint(condition=Q(listing_end__isnull=True) | Q(listing_end__gt=F("listing_start")), name="lot_listing_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.project.code} / {self.number} {self.title}"

    @property
    def rule(self):
        return self.project.rule

    @property
    def path(self) -> str:
        return self.rule.path

    @property
    def requires_security(self) -> bool:
        return self.security_fen > 0

    @property
    def status_label(self) -> str:
        return lifecycle.STATUSES[self.status][0]


class LotTransition(models.Model):
    """Every lifecycle transition leaves a row (and an audit event)."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="transitions")
    source = models.CharField(max_length=20)
    action = models.CharField(max_length=30)
    target = models.CharField(max_length=20)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    at = models.DateTimeField()
    event_id = models.BigIntegerField()

    class Meta:
        ordering = ["at", "id"]


class Notice(models.Model):
    """A published notice. Never edited: a change is a new amendment notice linked to it."""

    class Kind(models.TextChoices):
        TENDER = "tender", _("tender / transfer notice")
        AMENDMENT = "amendment", _("amendment")
        CLARIFICATION = "clarification", _("clarification")
        OPENING_RECORD = "opening_record", _("opening record")
        CANDIDATES = "candidates", _("candidate publicity")
        RESULT = "result", _("result")
        TERMINATION = "termination", _("termination")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="notices")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    number = models.CharField(max_length=60, unique=True)
    title = models.CharField(max_length=300)
    body = models.TextField()
    data = models.JSONField(default=dict, blank=True, help_text="structured content (opening record rows, candidates…)")
    amends = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="amendments")
    published_at = models.DateTimeField(db_index=True)
    published_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    event_id = models.BigIntegerField()

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["kind", "published_at"])]
        constraints = [models.CheckConstraint(condition=Q(kind__in=["tender", "amendment", "clarification", "opening_record", "candidates", "result", "termination"]), name="notice_kind_valid")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class Document(models.Model):
    """A tender document attached to a notice, stored with its SHA-256. Never replaced."""

    class Access(models.TextChoices):
        PUBLIC = "public", _("anyone")
        REGISTERED = "registered", _("registered bidders during the document period")

    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="documents")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to="documents/%Y/%m/")
    access = models.CharField(max_length=12, choices=Access.choices, default=Access.PUBLIC)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="document_sha256_hex"),
            models.CheckConstraint(condition=Q(access__in=["public", "registered"]), name="document_access_valid"),
        ]


class CalendarYear(models.Model):
    """A year of the official calendar loaded by an administrator (the State Council's arrangement of
    public holidays and make-up working days), replacing the library's days for that year."""

    year = models.PositiveSmallIntegerField(unique=True)
    source = models.CharField(max_length=300, help_text="the notice it comes from, e.g. 国办发明电〔2026〕N号")
    loaded_at = models.DateTimeField()
    loaded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["year"]
        constraints = [models.CheckConstraint(condition=Q(year__gte=2000) & Q(year__lte=2200), name="calendar_year_range")]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A special day of a loaded year: a public holiday (working=False) or a make-up working day (working=True)."""

    calendar = models.ForeignKey(CalendarYear, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(unique=True)
    working = models.BooleanField()
    name = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["date"]


class SecurityKey(TimestampMixin, Device):
    """A WebAuthn credential (security key or passkey) registered as a second factor (trading.security_keys).

    A django-otp device, so that "has a second factor", "passed the second step" (the session's verified
    device, OTPMiddleware) and the websocket check apply to it unchanged. It never accepts a typed code
    (`verify_token` is False): it answers a challenge the server issued with a signature, a round trip of its
    own (trading.security_keys.authentication_options / authenticate). `name` is the user's label for it;
    `created_at` / `last_used_at` come from django-otp's TimestampMixin."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="security_keys",
                             help_text="The user that this device belongs to.")
    credential_id = models.CharField(max_length=1400, unique=True)  # base64url of the credential's raw id
    public_key = models.BinaryField()  # its COSE public key, as registered
    sign_count = models.BigIntegerField(default=0)  # the authenticator's signature counter, last seen
    transports = models.JSONField(default=list, blank=True)  # hints for the browser: usb, nfc, ble, internal, hybrid
    aaguid = models.CharField(max_length=36, blank=True, default="")  # the authenticator's model, if it says

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(sign_count__gte=0), name="security_key_sign_count_non_negative"),
        ]

    def verify_token(self, token) -> bool:
        return False  # no typed codes: a key signs a challenge (trading.security_keys)


class SecurityKeyThrottle(models.Model):
    """One account's consecutive refused security-key answers at one step (trading.security_keys: registering a
    key, or the second step of a sign-in with one), the shape of django-otp's device throttle: after `failures`
    refusals in a row, the next answer is refused unread until `last_failure_at` + factor · 2^(failures − 1)
    seconds (capped); a success of the step resets it. In the database so that every process, and a restart,
    sees the same count."""

    STEPS = ("register", "sign_in")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="security_key_throttles")
    step = models.CharField(max_length=16)
    failures = models.IntegerField(default=0)  # consecutive refusals of the step since its last success
    last_failure_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "step"], name="security_key_throttle_one_per_step"),
            models.CheckConstraint(condition=Q(step__in=["register", "sign_in"]), name="security_key_throttle_step"),
            models.CheckConstraint(condition=Q(failures__gte=0), name="security_key_throttle_failures_non_negative"),
            models.CheckConstraint(condition=Q(failures=0, last_failure_at__isnull=True)
                                   | Q(failures__gt=0, last_failure_at__isnull=False),
                                   name="security_key_throttle_failure_has_time"),
        ]
