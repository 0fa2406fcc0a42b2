"""Helpers shared by the benchmarks: a scratch PostgreSQL database, a server process, a load generator."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(name: str) -> str:
    """Drop and create the scratch database `name` on the server of DATABASE_URL; return its URL.

    BENCH_DB_SUFFIX (environment) is appended to the name, so that engineers sharing one PostgreSQL
    server each run in their own scratch database."""
    import psycopg2
    from urllib.parse import urlparse, urlunparse

    name += os.environ.get("BENCH_DB_SUFFIX", "")

    base = urlparse(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    if base.scheme not in ("postgres", "postgresql"):
        base = urlparse("postgres://postgres@127.0.0.1:5432/postgres")
    conn = psycopg2.connect(urlunparse(base._replace(path="/postgres")))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return urlunparse(base._replace(path="/" + name))


def setup_django_on(name: str) -> str:
    """In this process: a fresh scratch database, Django set up on it and migrated; returns its URL."""
    url = fresh_database(name)
    os.environ["DATABASE_URL"] = url
    setup_migrated(url)
    return url


def _admin(url: str):
    import psycopg2
    from urllib.parse import urlparse, urlunparse

    conn = psycopg2.connect(urlunparse(urlparse(url)._replace(path="/postgres")))
    conn.autocommit = True
    return conn


def _migrations_key() -> str:
    """What the migrated schema depends on (Django's version and every migration file): the test suite's key."""
    from tests.template_db import migrations_key

    return migrations_key()


def database_exists(url: str, name: str) -> bool:
    admin = _admin(url)
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cur.fetchone() is not None
    finally:
        admin.close()


def snapshot_database(url: str, snapshot: str) -> None:
    """Keep the database of ``url`` as ``snapshot`` (a template database; an older one of that name is
    replaced, and so are older snapshots of the same database: names ``<name>_setup_*``)."""
    from urllib.parse import urlparse

    name = urlparse(url).path.lstrip("/")
    prefix = snapshot.rsplit("_setup_", 1)[0] + "_setup_"
    admin = _admin(url)
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix.replace("_", r"\_") + "%"])
            for (old,) in cur.fetchall():
                cur.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{snapshot}" TEMPLATE "{name}"')
    finally:
        admin.close()


def clone_database(url: str, snapshot: str) -> None:
    """The database of ``url`` made afresh as a copy of ``snapshot``, and Django set up on it."""
    from urllib.parse import urlparse

    name = urlparse(url).path.lstrip("/")
    admin = _admin(url)
    try:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{snapshot}"')
    finally:
        admin.close()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def setup_migrated(url: str) -> None:
    """Django set up on the database of ``url``, dropped and made afresh, migrated. Migrating from nothing
    takes tens of seconds on a busy machine, so the first run keeps a migrated copy as a template database
    (``<name>_tpl_<key>``, the key a hash of every migration file) and later runs clone it with
    ``CREATE DATABASE … TEMPLATE``; a changed migration makes a new key (older templates are dropped).
    The schema is the same either way: only ``migrate``'s work is skipped, never a service's."""
    from urllib.parse import urlparse

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    name = urlparse(url).path.lstrip("/")
    prefix = f"{name}_tpl_"[:50]
    template = prefix + _migrations_key()
    admin = _admin(url)
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix.replace("_", r"\_") + "%"])
            existing = {r[0] for r in cur.fetchall()}
            for old in existing - {template}:
                cur.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if template in existing:
                cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return
            cur.execute(f'CREATE DATABASE "{name}"')
        call_command("migrate", verbosity=0)
        connections.close_all()
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{template}" TEMPLATE "{name}"')
    finally:
        admin.close()


def start_server(env: dict, port: int, workers: int = 2) -> subprocess.Popen:
    proc = subprocess.Popen(
        [PY, "-m", "uvicorn", "bench.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/hello/", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start")


def load(url: str, seconds: int, connections: int = 16) -> dict:
    """Requests per second against url: wrk if installed, else a Python keep-alive client."""
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                             capture_output=True, text=True, check=True).stdout
        found = re.search(r"Requests/sec:\s+([\d.]+)", out)
        assert found is not None, out
        rps = float(found.group(1))
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
        scale = {"us": 0.001, "ms": 1, "s": 1000}
        return {"rps": rps, "errors": int(non2xx.group(1)) if non2xx else 0,
                "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None, "tool": "wrk"}
    return _python_load(url, seconds, connections)


def _python_load(url: str, seconds: int, connections: int) -> dict:
    import http.client
    import threading
    from urllib.parse import urlparse

    u = urlparse(url)
    host = u.hostname
    assert host is not None, url
    counts, errors = [0] * connections, [0] * connections
    stop = time.time() + seconds

    def worker(i):
        conn = http.client.HTTPConnection(host, u.port, timeout=10)
        target = u.path + (f"?{u.query}" if u.query else "")
        while time.time() < stop:
            conn.request("GET", target)
            resp = conn.getresponse()
            resp.read()
            counts[i] += 1
            errors[i] += resp.status >= 400

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"rps": sum(counts) / seconds, "errors": sum(errors), "p99_ms": None, "tool": "python"}


def emit(result: dict) -> None:
    print(json.dumps(result, ensure_ascii=False))
