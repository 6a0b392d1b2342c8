"""Load from wrk (1 thread, 8 connections by default), with the peak RSS of the server."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

from bench.servers import BENCH, Server

SCRIPT = BENCH / "post.lua"
MARKER = "WRK_JSON "


@dataclass(frozen=True)
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors, timeouts and non-2xx answers
    peak_rss_kib: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (make bench does it)")
    return found


class _RssSampler(threading.Thread):
    def __init__(self, server: Server, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.every = every
        self.peak = server.rss_kib()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            self.peak = max(self.peak, self.server.rss_kib())

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, self.server.rss_kib())


def drive(
    server: Server,
    body: dict[str, Any],
    bearer: str | None,
    *,
    seconds: float,
    connections: int,
    threads: int,
) -> Run:
    """One wrk run of `seconds` against `server` with one request body."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as file:
        json.dump(body, file, ensure_ascii=False)
        file.flush()
        sampler = _RssSampler(server)
        sampler.start()
        try:
            command = [wrk_path(), f"-t{threads}", f"-c{connections}"]
            command += [f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(SCRIPT)]
            command += [server.url, "--", file.name, bearer or ""]
            done = subprocess.run(  # noqa: S603
                command,
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            peak = sampler.stop()
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    s = json.loads(line[len(MARKER) :])
    errors = s["connect"] + s["read"] + s["write"] + s["status"] + s["timeout"]
    return Run(
        requests=s["requests"],
        seconds=s["duration_us"] / 1e6,
        p50_ms=s["p50_us"] / 1000,
        p99_ms=s["p99_us"] / 1000,
        errors=errors,
        peak_rss_kib=peak,
    )
