"""Django's PostgreSQL backend, naming each connection after its process: ``application_name`` is
``<SUNLIGHT_DB_APPLICATION_NAME>:<pid>`` (e.g. ``sunlight-web:4711``), taken when the connection opens, so
forked workers (uvicorn --workers, Celery prefork) each carry their own pid. ``pg_stat_activity`` then
shows which process holds which connections (the connection budget in deploy/README.md; bench/load.py
counts them per process). An ``application_name`` given in the database's OPTIONS wins."""
from __future__ import annotations

import os

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params.setdefault("application_name", f"{settings.SUNLIGHT_DB_APPLICATION_NAME}:{os.getpid()}"[:63])
        return params
