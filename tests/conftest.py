"""Shared fixtures: the clock, organisations and users of every role, and project factories."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone, translation

from tests import factories

# Browser tests call the ORM between Playwright steps, in the thread where Playwright runs its loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)  # a Monday, 09:00 in Shanghai


class Clock:
    """Moves the server's time. Tests never sleep."""

    def __init__(self, traveller):
        self._traveller = traveller

    @property
    def now(self) -> dt.datetime:
        return timezone.now()

    def move_to(self, when: dt.datetime) -> None:
        self._traveller.move_to(when)

    def advance(self, **kwargs) -> dt.datetime:
        self._traveller.move_to(timezone.now() + dt.timedelta(**kwargs))
        return timezone.now()


@pytest.fixture(autouse=True)
def english_outside_requests(monkeypatch):
    """Service errors render in the active language (trading.errors): a test that calls a service directly
    reads its message in English, and a test client calling /api/ without saying which language it wants
    asks for English (`Accept-Language: en`), as a script would. Pages, and any request that names its
    language, get what LocaleMiddleware gives them (zh-hans by default)."""
    from django.test.client import RequestFactory

    base = getattr(RequestFactory, "_base_environ")  # noqa: B009 - a private method

    def environ(self, **request):
        env = base(self, **request)
        if env.get("PATH_INFO", "").startswith("/api/") and "HTTP_ACCEPT_LANGUAGE" not in env:
            env["HTTP_ACCEPT_LANGUAGE"] = "en"
        return env

    monkeypatch.setattr(RequestFactory, "_base_environ", environ)
    with translation.override("en"):
        yield


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield Clock(traveller)


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_use_migrations, django_db_keepdb,
                    django_db_createdb, django_db_modify_db_settings):
    """pytest-django's, except that the worker's test database is cloned from a migrated template when one
    exists for the current migrations (tests/template_db.py), and kept as that template after a fresh migrate."""
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _disable_migrations, _get_databases_for_setup

    from tests import template_db

    if not django_db_use_migrations:
        _disable_migrations()
    reuse = django_db_keepdb and not django_db_createdb  # --reuse-db: pytest-django's own behaviour
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    settings_dict = connections["default"].settings_dict
    names = template_db.names(settings_dict)
    with django_db_blocker.unblock():
        cloned = not reuse and django_db_use_migrations and template_db.clone_if_possible(settings_dict, names)
        db_cfg = setup_databases(verbosity=request.config.option.verbose, interactive=False, aliases=aliases,  # type: ignore[arg-type]
                                 serialized_aliases=serialized_aliases, keepdb=reuse or cloned)
        if not reuse and not cloned and django_db_use_migrations:
            template_db.keep_as_template(settings_dict, names)
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            try:
                _end_other_sessions(connections["default"])
                teardown_databases(db_cfg, verbosity=request.config.option.verbose)
            except Exception as exc:  # noqa: BLE001 - as pytest-django: a warning, not an error
                request.node.warn(pytest.PytestWarning(f"Error when trying to teardown test databases: {exc!r}"))


def _end_other_sessions(conn) -> None:
    """Connections that worker threads of async tests (Channels' database_sync_to_async) still hold on the test
    database would make dropping it fail ("being accessed by other users"): end them first, the session is over."""
    if conn.vendor != "postgresql":
        return
    with conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def pytest_configure(config):
    _allow_test_flush()


def _allow_test_flush():
    """Transactional tests empty the tables with TRUNCATE between tests; the append-only triggers refuse
    that (as they must in production). The test database's superuser bypasses triggers for the flush only."""
    from django.core.management.commands import flush

    original = flush.Command.handle
    if getattr(original, "_sunlight_patched", False):
        return

    def handle(self, **options):
        from django.db import connections

        conn = connections[options.get("database", "default")]
        if conn.vendor != "postgresql":
            return original(self, **options)
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
        try:
            return original(self, **options)
        finally:
            with conn.cursor() as cur:
                cur.execute("SET session_replication_role = origin")

    handle._sunlight_patched = True
    flush.Command.handle = handle


@pytest.fixture
def fake_bank():
    """The simulated bank (deposits.bank.fake.BANK), empty when the test starts and again when it ends. Modules
    and folders whose every test pays through it use it automatically (``usefixtures`` / their conftest)."""
    from deposits.bank.fake import BANK

    BANK.reset()
    yield BANK
    BANK.reset()


@pytest.fixture
def world(db):
    """A trading centre, a supervising department, a tenderee, an agent, four bidders, users of every role."""
    return factories.make_world()


@pytest.fixture
def staff(world):
    return world.staff


@pytest.fixture
def supervisor(world):
    return world.supervisor


@pytest.fixture(autouse=True)
def second_factor_on_force_login(monkeypatch):
    """`client.force_login(user)` stands for a whole login: for staff, supervisors and admins that includes the
    second step (tests/otp.py gives the user a known authenticator and the session its verified device).
    Tests of the second step itself drive the login form with real codes."""
    from django.test import Client

    from tests.otp import verify_session
    from trading.second_factor import needs_second_factor

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if needs_second_factor(user):
            verify_session(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True)
def replay_equals_live(request):
    """After every database test: each project's replay from its audit events equals its live state
    (frontend.selectors.LIVE_SECTIONS). Set SUNLIGHT_REPLAY_CHECK=0 to switch off while debugging."""
    from tests.audit.replay_check import check_replay_equals_live, database_fixture

    db_fixture = database_fixture(request)
    if db_fixture:
        request.getfixturevalue(db_fixture)  # so the database outlives this check
    yield
    import os

    if db_fixture and os.environ.get("SUNLIGHT_REPLAY_CHECK", "1") != "0":
        check_replay_equals_live(request)


# --- real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright -----------------
CHROMIUM = os.environ.get("SUNLIGHT_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"


@pytest.fixture(scope="module")
def chromium():
    """Playwright's sync API keeps an asyncio loop running in the test thread while it is alive; module
    scope ends it with the browser tests' module, so the other tests never run inside that loop."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: scripts/test installs it (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def screenshot_dir():
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


