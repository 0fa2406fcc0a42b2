"""Behind a real PgBouncer in transaction pooling (deploy/pgbouncer.ini; DB_PGBOUNCER=1) the hot paths' statements
(audit.sql) run as plain text: a statement PREPAREd by one transaction lives on the server connection that
transaction happened to get, and the next transaction of the same client may get another one. The scenario
below makes that happen deterministically (PgBouncer hands out the most recently released server connection
first): with prepared statements on, the second run of a statement fails with "prepared statement ... does not
exist"; with DB_PGBOUNCER=1 it runs. A PgBouncer process is started on 127.0.0.1 and stopped by its PID."""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True)]

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

# One client (Django's connection A) and a second client (B, plain psycopg2) through PgBouncer.
SCENARIO = textwrap.dedent('''
    import os, psycopg2, django
    django.setup()
    from django.db import connection, transaction
    from audit import sql
    b = psycopg2.connect(os.environ["DATABASE_URL"])
    statement = sql.Statement("SELECT count(*) FROM trading_organisation WHERE id > %s", (0,))
    # two server connections: A and B each inside a transaction at once; A releases X, then B releases Y
    with transaction.atomic():
        connection.cursor().execute("SELECT 1")
        b.cursor().execute("SELECT 1")
    b.commit()
    first = sql.fetch_one(statement)      # A gets Y (released last), prepares there if preparing
    b.cursor().execute("SELECT 1")        # B opens a transaction: it gets Y ...
    try:
        second = sql.fetch_one(statement)  # ... so A's next transaction gets X
        print("RAN", first[0] == second[0])
    except Exception as exc:
        print("FAILED", type(exc).__name__, str(exc).splitlines()[0])
    b.rollback()
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pgbouncer():
    if connection.vendor != "postgresql":
        pytest.skip("PgBouncer in front of PostgreSQL")
    if not os.path.exists(PGBOUNCER):
        pytest.fail("pgbouncer is not installed (scripts/test installs Debian's package)")
    params = connection.settings_dict
    port = _free_port()
    tmp_path = Path(tempfile.mkdtemp(prefix="sl-pgbouncer-"))
    command = [PGBOUNCER]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root: it switches to the database's system user
        owner = pwd.getpwnam("postgres")
        os.chown(tmp_path, owner.pw_uid, owner.pw_gid)
        command += ["-u", "postgres"]
    (tmp_path / "users.txt").write_text(f'"{params["USER"]}" ""\n')
    ini = tmp_path / "pgbouncer.ini"
    ini.write_text(textwrap.dedent(f"""
        [databases]
        {params["NAME"]} = host={params["HOST"] or "127.0.0.1"} port={params["PORT"] or 5432} dbname={params["NAME"]}
        [pgbouncer]
        listen_addr = 127.0.0.1
        listen_port = {port}
        unix_socket_dir =
        auth_type = trust
        auth_file = {tmp_path / "users.txt"}
        pool_mode = transaction
        default_pool_size = 2
        server_round_robin = 0
        ignore_startup_parameters = extra_float_digits,options
        logfile = {tmp_path / "pgbouncer.log"}
        pidfile = {tmp_path / "pgbouncer.pid"}
    """))
    proc = subprocess.Popen([*command, str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:  # wait for the port: polling a starting process, not waiting for business time
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (tmp_path / "pgbouncer.log").read_text()[-2000:] if (tmp_path / "pgbouncer.log").exists() else ""
                    raise RuntimeError(f"pgbouncer did not start: {log}") from None
                time.sleep(0.05)
        yield f"postgres://{params['USER']}@127.0.0.1:{port}/{params['NAME']}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        shutil.rmtree(tmp_path, ignore_errors=True)


def _run(url: str, **env: str) -> str:
    environment = {**os.environ, "DATABASE_URL": url, **env}
    environment.pop("DATABASE_REPLICA_URL", None)
    result = subprocess.run([sys.executable, "-c", SCENARIO], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def test_behind_pgbouncer_hot_path_statements_run_as_plain_text(pgbouncer):
    # the failure the setting prevents, made to happen: prepared on one server connection, run on the other
    outcome = _run(pgbouncer, DB_PGBOUNCER="0")
    assert outcome.startswith("FAILED") and "does not exist" in outcome, outcome
    # with DB_PGBOUNCER=1 the same sequence runs and gives the same answer twice
    assert _run(pgbouncer, DB_PGBOUNCER="1") == "RAN True"
