"""A real PostgreSQL streaming replica of the test cluster: pg_basebackup on another port, started and
stopped by PID. Needs the primary to accept local replication connections (scripts/test allows them for
127.0.0.1 on a local cluster) and the PostgreSQL server binaries (Debian's postgresql package)."""
from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

from tests.auction.live import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found[-1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """The server refuses to run as root: run it as the postgres system user when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Replica:
    def __init__(self, *, primary_host: str, primary_port: int, user: str):
        self.primary: dict[str, str] = {"host": primary_host, "port": str(primary_port), "user": user}
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sunlight-replica-"))
        self.data = self.dir / "data"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Replica:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        backup = subprocess.run(_as_postgres([
            _bin("pg_basebackup"), "-h", self.primary["host"], "-p", self.primary["port"],
            "-U", self.primary["user"], "-D", str(self.data), "-R", "-X", "stream", "-c", "fast"]),
            capture_output=True, text=True, timeout=300)
        if backup.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed: {backup.stderr.strip()} — the primary must allow "
                               "'host replication all 127.0.0.1/32 trust' (scripts/test adds it)")
        # Debian keeps the configuration outside the data directory: the copy gets a minimal one of its own.
        # A hot standby needs at least the primary's values of these (PostgreSQL refuses to recover otherwise).
        same = {name: self.query("postgres", f"SHOW {name}", primary=True) for name in (
            "max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
            "max_locks_per_transaction")}
        (self.data / "postgresql.conf").write_text(
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
            "hot_standby = on\nshared_buffers = 32MB\nfsync = off\n"
            + "".join(f"{name} = {value}\n" for name, value in same.items()))
        (self.data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        (self.data / "pg_ident.conf").write_text("")
        if os.geteuid() == 0:
            for path in (self.data / "postgresql.conf", self.data / "pg_hba.conf", self.data / "pg_ident.conf"):
                shutil.chown(path, "postgres", "postgres")
        self.log = open(self.dir / "replica.log", "ab")
        self.proc = subprocess.Popen(_as_postgres([_bin("postgres"), "-D", str(self.data)]),
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the replica exited: " + (self.dir / "replica.log").read_text()[-2000:])
            try:
                if self.query("postgres", "SELECT pg_is_in_recovery()"):
                    return self
            except psycopg2.OperationalError:
                pass
            time.sleep(0.1)  # waiting for a child process to accept connections, not business time
        raise RuntimeError("the replica did not start")

    def query(self, dbname: str, sql: str, params: tuple = (), *, primary: bool = False):
        """The first column of the first row of one statement, on the replica (or the primary)."""
        where = self.primary if primary else {"host": "127.0.0.1", "port": str(self.port), "user": self.primary["user"]}
        conn = psycopg2.connect(dbname=dbname, **where)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchone()[0] if cur.description else None
        finally:
            conn.close()

    def url(self, dbname: str) -> str:
        return f"postgres://{self.primary['user']}@127.0.0.1:{self.port}/{dbname}"

    def caught_up(self, dbname: str, timeout: float = 60.0) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        target = self.query(dbname, "SELECT pg_current_wal_lsn()::text", primary=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.query(dbname, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)):
                return
            time.sleep(0.05)  # replication is asynchronous: poll the replay position
        raise RuntimeError("the replica did not catch up")

    def pause(self, dbname: str) -> None:
        self.query(dbname, "SELECT pg_wal_replay_pause()")

    def resume(self, dbname: str) -> None:
        self.query(dbname, "SELECT pg_wal_replay_resume()")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # "smart" shutdown of the postmaster
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)
