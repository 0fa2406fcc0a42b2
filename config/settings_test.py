"""Test settings: PostgreSQL and Redis by default (DATABASE_URL / REDIS_URL override)."""
import os
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sunlight")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("SUNLIGHT_VAR_DIR", "/tmp/sunlight-test-var")
# ... and its own files (demo key files, media, the audit key): two workers seeding the demo at once must not
# overwrite each other's. The servers its tests start inherit the worker's directory (no second suffix).
_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.path.basename(os.environ["SUNLIGHT_VAR_DIR"].rstrip("/")) != _worker:
    os.environ["SUNLIGHT_VAR_DIR"] = os.path.join(os.environ["SUNLIGHT_VAR_DIR"], _worker)
# Each pytest-xdist worker has its own test database, and so its own auction ids starting at 1: its live
# auctions' pub/sub channels get their own prefix, inherited by the servers its tests start, so two workers'
# auction rooms never hear each other.
os.environ.setdefault("SUNLIGHT_CHANNEL_PREFIX", "asgi-test-" + os.environ.get("PYTEST_XDIST_WORKER", "main"))

from config.settings import *  # noqa: E402,F401,F403
from config.settings import BASE_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; production uses Argon2
MEDIA_ROOT = Path(os.environ["SUNLIGHT_VAR_DIR"]) / "media"  # a Path, as in config/settings.py
TEST_OUTPUT_DIR = BASE_DIR / "test-output"
SUNLIGHT_PORTAL_CACHE_SECONDS = 0  # tests see every change at once
SUNLIGHT_STATS_MAX_AGE = 0  # the statistics page is computed afresh in the tests
