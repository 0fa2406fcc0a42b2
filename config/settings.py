"""Sunlight settings: everything comes from environment variables with safe demo defaults.

Demo defaults (no variable set): SQLite, in-memory channel layer, eager Celery, the deadline clock
running inside the web process. Production (SUNLIGHT_PRODUCTION=1): PostgreSQL (DATABASE_URL),
Redis (REDIS_URL) channel layer, Celery worker + exactly one beat (CELERY_BROKER_URL).
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_ints, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SUNLIGHT_VAR_DIR", str(BASE_DIR / "var")))

DEMO_SECRET_KEY = "sunlight-demo-secret-key-never-use-in-production"
PRODUCTION = env_bool("SUNLIGHT_PRODUCTION", False)
SECRET_KEY = env_str("SECRET_KEY", DEMO_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == DEMO_SECRET_KEY or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "SUNLIGHT_PRODUCTION=1 refuses to start with the demo SECRET_KEY (or one shorter than 32 characters): "
        "set SECRET_KEY to a long random value."
    )
DEBUG = env_bool("DEBUG", False)  # never on by default, not even in the demo (no debug pages); DEBUG=1 for development
ADMIN_ENABLED = env_bool("SUNLIGHT_ADMIN_ENABLED", not PRODUCTION)  # Django's /admin/: off in production unless enabled
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("SUNLIGHT_PRODUCTION=1 needs ALLOWED_HOSTS (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "csp",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from the platform (no CDN)
    "django_htmx",
    "channels",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "audit",
    "trading",
    "trading.challenges",
    "deposits",
    "bidding",
    "bidding.envelopes",
    "bidding.evaluation",
    "bidding.auction",
    "supervision",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy on every answer (CONTENT_SECURITY_POLICY below)
    "config.headers.PermissionsPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "trading.inputs.HostileInputMiddleware",  # NUL/control/bidi text refused before anything reads it
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "config.dbrouter.ReplicaReadsMiddleware",  # anonymous safe reads from the replica, if there is one
    "django_otp.middleware.OTPMiddleware",
    "trading.second_factor.AdminGateMiddleware",  # /admin/: 404 unless is_staff and verified
    "trading.second_factor.SecondFactorMiddleware",  # privileged sessions: the second step before anything else
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "frontend.middleware.DomainErrorMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers a throttled login with trading.auth.lockout_response
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "frontend.context.roles",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}", schemes={"sqlite", "postgres", "postgresql", "pgsql"}
)
# Persistent connections (seconds; 0 = closed after each request): safe under ASGI because each process has a
# fixed pool of threads (config/bounded.py); production keeps them (PgBouncer in front or not).
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 300 if PRODUCTION else 0, minimum=0)
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE)}
except Exception as exc:  # dj_database_url raises several kinds
    raise ImproperlyConfigured(f"Environment variable DATABASE_URL is malformed: {exc}") from None
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
# A PostgreSQL streaming replica for public reads (config/dbrouter.py): anonymous GETs read from it.
DATABASE_REPLICA_URL = env_url("DATABASE_REPLICA_URL", "", schemes={"postgres", "postgresql", "pgsql"})
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=DB_CONN_MAX_AGE)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.dbrouter.PrimaryReplicaRouter"]
# HTTP requests one ASGI process runs in Django at once (config/bounded.py): its threads, and so its database
# connections, for HTTP; SUNLIGHT_WS_DB_THREADS: the threads of its websockets' database work (auction rooms).
SUNLIGHT_HTTP_CONCURRENCY = env_int("SUNLIGHT_HTTP_CONCURRENCY", 8, minimum=1)
SUNLIGHT_WS_DB_THREADS = env_int("SUNLIGHT_WS_DB_THREADS", 4, minimum=1)
# The ASGI process's cyclic garbage collector (config/asgi.py): the thresholds of its three generations, raised
# from CPython's 700,10,10 for a process holding thousands of websockets (docs/benchmarks.md).
SUNLIGHT_WEB_GC_THRESHOLD = env_ints("SUNLIGHT_WEB_GC_THRESHOLD", (50_000, 20, 10), minimum=1)
# Each PostgreSQL connection is named "<this>:<pid>" in pg_stat_activity (config/pgbackend): web, worker, beat, …
SUNLIGHT_DB_APPLICATION_NAME = env_str("SUNLIGHT_DB_APPLICATION_NAME", "sunlight")
for _alias in DATABASES.values():
    if _alias["ENGINE"] == "django.db.backends.postgresql":
        _alias["ENGINE"] = "config.pgbackend"
# Behind PgBouncer in transaction pooling mode a server-side cursor cannot outlive its transaction, and a
# statement PREPAREd in one transaction may be missing from the server connection the next one gets: hot paths
# then send their statements as plain text (audit.sql).
DB_PGBOUNCER = env_bool("DB_PGBOUNCER", False)
if DB_PGBOUNCER:
    for _alias in DATABASES.values():
        _alias["DISABLE_SERVER_SIDE_CURSORS"] = True
SUNLIGHT_DB_PREPARED_STATEMENTS = not DB_PGBOUNCER
SUNLIGHT_REPLICA_PIN_SECONDS = env_int("SUNLIGHT_REPLICA_PIN_SECONDS", 10, minimum=1)  # reads on the primary after a write
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis, channels, celery ----------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", "", schemes={"redis", "rediss", "unix"})
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 5000, "expiry": 30},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# live auctions fan out through Redis pub/sub (one PUBLISH per event, relayed by each ASGI process)
CHANNEL_LAYERS["auction"] = (
    # pub/sub channels are server-wide (not per Redis database): the prefix names the database, or is set
    # (SUNLIGHT_CHANNEL_PREFIX) where several platforms share one Redis database — the test workers do
    {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
     "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str(
         "SUNLIGHT_CHANNEL_PREFIX", "asgi" + (REDIS_URL.rsplit("/", 1)[-1] if REDIS_URL.count("/") > 2 else ""))}}
    if REDIS_URL else CHANNEL_LAYERS["default"]
)

CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", "", schemes={"redis", "rediss", "amqp", "memory"})
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "clock-tick": {"task": "trading.tasks.clock_tick", "schedule": 1.0},
}

# --- auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "trading.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# axes checks the throttle first; the model backend checks the password.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "/login/"
# E-mail (bidder self-registration confirmations): the console in the demo, SMTP in production.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "sunlight@localhost")
SUNLIGHT_SIGNUP_MAX_AGE = env_int("SUNLIGHT_SIGNUP_MAX_AGE", 3 * 86400, minimum=60)  # confirmation link, seconds
LOGIN_REDIRECT_URL = "/"
# Login throttle (trading/login_throttle.py): per (account, address) the first LOGIN_FAILS_PER_ACCOUNT failures
# are free, then each further attempt waits LOGIN_DELAY_SECONDS · 2^k after the last failure (up to
# LOGIN_MAX_DELAY_SECONDS); one address failing LOGIN_FAILS_PER_ADDRESS times within LOGIN_FAIL_WINDOW seconds
# (any accounts) waits until its failures age out. Failures from one address never slow another address down.
LOGIN_RATE_LIMIT = {
    "per_account": env_int("LOGIN_FAILS_PER_ACCOUNT", 5, minimum=1),
    "delay_seconds": env_int("LOGIN_DELAY_SECONDS", 60, minimum=1),
    "max_delay_seconds": env_int("LOGIN_MAX_DELAY_SECONDS", 3600, minimum=1),
    "per_address": env_int("LOGIN_FAILS_PER_ADDRESS", 50, minimum=1),
    "window_seconds": env_int("LOGIN_FAIL_WINDOW", 900, minimum=1),
}
# Second factor (trading/second_factor.py): staff, supervisors, admins sign in with a TOTP code or a recovery code.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Sunlight")
# Security keys and passkeys (WebAuthn, trading/security_keys.py) as a second factor beside TOTP. The relying
# party id is the site's host name (no scheme, no port; an IP address is not allowed by browsers), the origins
# the exact scheme://host[:port] the pages are served from; both default to SUNLIGHT_PUBLIC_URL's.
# A challenge is valid for SUNLIGHT_WEBAUTHN_CHALLENGE_SECONDS, once, in the session that asked for it.
AXES_HANDLER = "trading.auth.ThrottleHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # what a successful login resets: its own pair only
AXES_LOCK_OUT_AT_FAILURE = False  # a wrong password answers "wrong password"; the throttle judges the next try
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # refused attempts are not counted
AXES_RESET_ON_SUCCESS = True
AXES_COOLOFF_TIME = datetime.timedelta(hours=24)  # failures are forgotten after a quiet day
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # one row per failure: the per-address ceiling counts them
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not kept by axes
AXES_USERNAME_CALLABLE = "trading.auth.username_key"
AXES_CLIENT_IP_CALLABLE = "trading.auth.client_address"
AXES_LOCKOUT_CALLABLE = "trading.auth.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "otp", "token"]
AXES_VERBOSE = False

# --- security (production) ------------------------------------------------------------------
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Everything from the site itself only: no inline script, no on*= handler, no inline style, no eval (the pages'
# behaviour lives in frontend/static/frontend/*.js); websockets of the auction room are same-origin ('self').
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Browser features no page uses are off (config/headers.py writes the header).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: [] for feature in ("accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope",
                                "magnetometer", "microphone", "midi", "payment", "usb", "xr-spatial-tracking")
}

# --- i18n / time ----------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # the header's language switch is remembered for a year
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"  # display; datetimes are stored in UTC
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 20 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- DRF ------------------------------------------------------------------------------------
CSRF_FAILURE_VIEW = "trading.api_errors.csrf_failure"  # JSON in the error shape under /api/
SUNLIGHT_JSON_MAX_DEPTH = env_int("SUNLIGHT_JSON_MAX_DEPTH", 32, minimum=4)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [  # token first: a bad token answers 401 with its WWW-Authenticate
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # JSON only: the API is read by programs (its documentation is /api/docs/ and /api/redoc/); DRF's
    # browsable HTML pages would be a second, unstyled, untranslated interface outside the page policy.
    # (trading.renderers: DRF's JSON renderer writing every moment in UTC with Z, audit.timestamps)
    "DEFAULT_RENDERER_CLASSES": ["trading.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.BoundedLimitOffsetPagination",  # at most 200 a page
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "trading.schema.SunlightAutoSchema",  # + the Error shape on every operation
    "EXCEPTION_HANDLER": "trading.api_errors.exception_handler",
    # JSON bodies: size, depth, text rules, an object at the top (trading/inputs.py)
    "DEFAULT_PARSER_CLASSES": [
        "trading.inputs.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {"login": "30/min", "signup": "30/hour"},
    # times: serializers pass datetimes on, the renderer writes them in UTC with Z (audit.timestamps)
    "DATETIME_FORMAT": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sunlight public-resource trading API",
    "DESCRIPTION": "Projects, lots, notices, deposits, sealed bids, evaluation, auctions and the audit log.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"ErrorCodeEnum": "trading.api_errors.ERROR_CODE_LIST"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# --- Sunlight -------------------------------------------------------------------------------
SUNLIGHT_SITE_NAME = env_str("SUNLIGHT_SITE_NAME", "Sunlight 公共资源交易平台")
SUNLIGHT_LOG_ORIGIN = env_str("SUNLIGHT_LOG_ORIGIN", "sunlight.example/log")
if PRODUCTION and SUNLIGHT_LOG_ORIGIN == "sunlight.example/log":
    raise ImproperlyConfigured("SUNLIGHT_PRODUCTION=1 refuses to start with the example log origin: set "
                               "SUNLIGHT_LOG_ORIGIN to the log's own name (e.g. ggzy.example-city.gov.cn/sunlight/log).")
# Witnesses (C2SP tlog-witness), e.g. run by the supervising department: a JSON list of
# {"name": ..., "url": "https://…" (submission prefix), "vkey": "<cosigner vkey>"}; a checkpoint is
# published only with SUNLIGHT_WITNESS_QUORUM of their cosignatures (default: all of them).
SUNLIGHT_WITNESSES = json.loads(env_str("SUNLIGHT_WITNESSES", "[]"))
SUNLIGHT_WITNESS_QUORUM = env_int("SUNLIGHT_WITNESS_QUORUM", 0, minimum=0)
SUNLIGHT_WITNESS_TIMEOUT = env_int("SUNLIGHT_WITNESS_TIMEOUT_MS", 3000, minimum=10) / 1000
SUNLIGHT_AUDIT_KEY_FILE = env_str("SUNLIGHT_AUDIT_KEY_FILE", str(VAR_DIR / "audit-log-ed25519.pem"))  # created on first use
# who may know of which audit event depends on the lots' deadlines: the provider of those facts (audit/visibility.py)
SUNLIGHT_AUDIT_HORIZONS = "trading.selectors.audit_horizons"
SUNLIGHT_AUDIT_CHECKPOINT_SECONDS = env_int("SUNLIGHT_AUDIT_CHECKPOINT_SECONDS", 2, minimum=1)
SUNLIGHT_PUBLIC_URL = env_str("SUNLIGHT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
SUNLIGHT_WEBAUTHN_RP_ID = env_str("SUNLIGHT_WEBAUTHN_RP_ID", urlsplit(SUNLIGHT_PUBLIC_URL).hostname or "localhost")
SUNLIGHT_WEBAUTHN_ORIGINS = env_list("SUNLIGHT_WEBAUTHN_ORIGINS", [SUNLIGHT_PUBLIC_URL])
SUNLIGHT_WEBAUTHN_RP_NAME = env_str("SUNLIGHT_WEBAUTHN_RP_NAME", "Sunlight")
SUNLIGHT_WEBAUTHN_CHALLENGE_SECONDS = env_int("SUNLIGHT_WEBAUTHN_CHALLENGE_SECONDS", 120, minimum=10)
# Refused security-key answers slow the account's next ones down (trading.security_keys, django-otp's shape): after n
# refusals in a row at a step (registering a key, or signing in with one), the next waits FACTOR · 2^(n−1) seconds
# after the last refusal (1 s, 2 s, 4 s … with the default factor, as django-otp's OTP_TOTP_THROTTLE_FACTOR), at most
# MAX seconds; a success resets it. A factor of 0 turns the delays off (the refusals are still counted and recorded).
SUNLIGHT_SECURITY_KEY_THROTTLE_FACTOR = env_int("SUNLIGHT_SECURITY_KEY_THROTTLE_FACTOR", 1, minimum=0)
SUNLIGHT_SECURITY_KEY_THROTTLE_MAX_SECONDS = env_int("SUNLIGHT_SECURITY_KEY_THROTTLE_MAX_SECONDS", 3600, minimum=1)
SUNLIGHT_OCID_PREFIX = env_str("SUNLIGHT_OCID_PREFIX", "ocds-sunlit")
# A contracted lot completes when every check says its part is finished (trading.clock.complete_contracted).
SUNLIGHT_COMPLETION_CHECKS: list[str] = [
    "deposits.selectors.lot_settled",
]
# OCDS contributors: dotted paths, each contribute(*, project, release, notice) adding awards/contracts.
SUNLIGHT_OCDS_CONTRIBUTORS: list[str] = [
    "bidding.evaluation.ocds.contribute",
    "bidding.auction.ocds.contribute",
]
SUNLIGHT_HOLIDAYS = env_list("SUNLIGHT_HOLIDAYS", [])  # ISO dates of public holidays (non-working days)
SUNLIGHT_WORKDAYS = env_list("SUNLIGHT_WORKDAYS", [])  # ISO dates of weekend days worked (调休)
SUNLIGHT_PORTAL_CACHE_SECONDS = env_int("SUNLIGHT_PORTAL_CACHE_SECONDS", 1, minimum=0)
SUNLIGHT_DOCUMENT_MAX_BYTES = env_int("SUNLIGHT_DOCUMENT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
SUNLIGHT_DOCUMENT_TYPES = env_list(
    "SUNLIGHT_DOCUMENT_TYPES", [".pdf", ".zip", ".docx", ".xlsx", ".txt", ".ofd"]
)

# Cases (objections, challenges, complaints, disclosure requests): attachments, and what other apps provide.
SUNLIGHT_CASE_ATTACHMENTS_MAX = env_int("SUNLIGHT_CASE_ATTACHMENTS_MAX", 5, minimum=0)
SUNLIGHT_CASE_ATTACHMENT_MAX_BYTES = env_int("SUNLIGHT_CASE_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
SUNLIGHT_CHALLENGE_WINDOWS = {"during_publicity": "bidding.evaluation.services.publicity_window"}
SUNLIGHT_CHALLENGE_STANDING = "bidding.evaluation.services.lot_bidder_ids"  # (lot) -> set of bidder org ids
# The remedies of an upheld case, per lot path: remedy -> (*, lot, reason), called inside the decision's
# transaction by the app that owns the path. A remedy missing for a lot's path does not fit it (a 409 naming
# the ones that do). Auctions and listings have no evaluation to repeat (docs/challenges.md).
_SALE_REMEDIES = {
    "cancel_award": "bidding.auction.services.remedy_cancel_deal",
    "retender": "bidding.auction.services.remedy_reoffer",
}
SUNLIGHT_CHALLENGE_REMEDIES: dict[str, dict[str, str]] = {
    "tender": {
        "reevaluate": "bidding.evaluation.services.remedy_reevaluate",
        "cancel_award": "bidding.evaluation.services.remedy_cancel_award",
        "retender": "trading.challenges.services.remedy_retender",
    },
    "auction": _SALE_REMEDIES,
    "listing": _SALE_REMEDIES,
}
# (*, project_id, after, delta): each app moves its own clocks still to come after a suspension is lifted
SUNLIGHT_RESUME_HOOKS = ["bidding.evaluation.services.on_resume", "bidding.auction.services.on_resume"]
# (*, project_id, now, reason) inside the suspension's transaction: each app stops its own running clocks
SUNLIGHT_SUSPEND_HOOKS = ["bidding.auction.services.on_suspend"]

# Deadline clock: idempotent tick(now) functions; Celery beat runs them in production, a thread in the demo.
SUNLIGHT_CLOCK_TICKS = [
    "trading.clock.tick",
    "trading.clock.complete_contracted",
    "deposits.services.tick",
    "bidding.auction.services.tick",
    "bidding.evaluation.services.tick",
    "trading.challenges.services.tick",
    "audit.sequencer.tick",
    "supervision.services.tick",
]

# Electronic supervision: modules whose CLOCKS list the watched clocks (yellow / red cards); callables
# (now) -> project ids suspended at that moment (their clocks stop). See supervision/clocks.py.
SUNLIGHT_WATCHED_CLOCKS = ["supervision.watches.CLOCKS", "supervision.case_clocks.CLOCKS"]
SUNLIGHT_SUSPENDED_PROJECTS: list[str] = ["trading.challenges.selectors.suspended_project_ids"]

# Lifecycle hooks: lot action -> dotted paths called as hook(*, lot, action, actor, now) inside the
# transition's transaction, after the state change and its audit event.
SUNLIGHT_LIFECYCLE_HOOKS: dict[str, list[str]] = {
    "publish": ["bidding.envelopes.services.on_publish"],
    "close_bidding": ["bidding.envelopes.services.on_close_bidding", "deposits.hooks.on_close_bidding"],
    "close_registration": ["deposits.hooks.on_close_bidding"],
    "open": [],
    "fail": ["deposits.hooks.on_fail"],
    "award": ["deposits.hooks.on_result"],
    "sign_contract": ["deposits.hooks.on_contract"],
    "terminate": ["deposits.hooks.on_fail"],
    "start_auction": [],
    "close_auction": [],
}
