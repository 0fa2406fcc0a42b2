"""The test database of each pytest-xdist worker, cloned from a migrated template instead of migrated afresh.

Migrating from nothing takes tens of seconds per worker on a busy machine. The first run keeps a migrated copy
as a template database (``<test database>_tpl_<key>``, the key a hash of Django's version and every installed
app's migration files) and later runs clone it with ``CREATE DATABASE … TEMPLATE``; a changed migration makes a
new key (older templates are dropped when the new one is kept). The worker's database is always dropped first,
so nothing a previous (interrupted) run left behind is reused: only ``migrate``'s work is skipped. Django's
``setup_databases(keepdb=True)`` then runs ``migrate`` on the clone (nothing to apply) and its post-migrate steps,
as it would on a fresh database. bench/common.py does the same for the benchmarks' scratch databases.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg2
from psycopg2 import errors

TEMPLATE_MARK = "_tpl_"


def migrations_key() -> str:
    import django
    from django.apps import apps

    h = hashlib.sha256(django.get_version().encode())
    for app in sorted(apps.get_app_configs(), key=lambda a: a.label):
        for path in sorted(Path(app.path).glob("migrations/*.py")):
            h.update(f"{app.label}/{path.name}".encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _postgresql() -> bool:
    from django.db import connections

    return connections["default"].vendor == "postgresql"


def _admin(settings_dict: dict):
    conn = psycopg2.connect(dbname="postgres", user=settings_dict.get("USER") or None,
                            password=settings_dict.get("PASSWORD") or None,
                            host=settings_dict.get("HOST") or None, port=settings_dict.get("PORT") or None)
    conn.autocommit = True
    return conn


def names(settings_dict: dict) -> tuple[str, str, str]:
    """(the worker's test database, the template's name prefix, the template for the current migrations), from
    the settings as they are before ``setup_databases`` (which renames the database to the test one)."""
    test_name = settings_dict["TEST"].get("NAME") or "test_" + settings_dict["NAME"]  # test_<name>_gwN under xdist
    base = test_name.rsplit("_gw", 1)[0] if "_gw" in test_name else test_name
    prefix = (base + TEMPLATE_MARK)[:50]
    return test_name, prefix, prefix + migrations_key()


def clone_if_possible(settings_dict: dict, names: tuple[str, str, str]) -> bool:
    """Drop the worker's test database and, if a template for the current migrations exists, clone it.
    Returns whether it cloned (else Django creates and migrates the database as usual)."""
    if not _postgresql():
        return False
    name, _prefix, template = names
    admin = _admin(settings_dict)
    try:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template])
            if cur.fetchone() is None:
                return False
            try:
                cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            except (errors.ObjectInUse, errors.InvalidCatalogName):  # being made or dropped right now: migrate
                return False
            return True
    finally:
        admin.close()


def keep_as_template(settings_dict: dict, names: tuple[str, str, str]) -> None:
    """After a fresh migrate: keep the worker's database as the template (another worker may do it first)."""
    from django.db import connections

    if not _postgresql():
        return
    name, prefix, template = names
    connections.close_all()  # a template must have no sessions while it is copied
    admin = _admin(settings_dict)
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                        [prefix.replace("_", r"\_") + "%"])
            existing = {r[0] for r in cur.fetchall()}
            if template in existing:
                return
            try:
                cur.execute(f'CREATE DATABASE "{template}" TEMPLATE "{name}"')
            except (errors.DuplicateDatabase, errors.ObjectInUse, errors.UniqueViolation):
                return  # another worker kept it first, or our database was busy: next run tries again
            for old in existing - {template}:
                cur.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
    finally:
        admin.close()


