"""Benchmark settings: production-like (DEBUG off), PostgreSQL, plus a hello-world baseline view."""
import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sunlight_bench")
os.environ.setdefault("DEBUG", "0")

from config.settings import *  # noqa: E402,F401,F403

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["*"]
# CONN_MAX_AGE stays 0: under ASGI each request runs in its own thread, so persistent connections would pile up.
