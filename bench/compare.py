"""`make bench`: ours against PostGraphile v5 on the city-scale database, shape by shape.

For each shape: both answers are reduced and compared (a shape whose answers differ is
refused, not reported), SQL statements per request are counted from pg_stat_statements
over a few sequential requests, then wrk loads each server in turn (alternating which goes
first each round), a warm-up run before every measured run. Prints a table and prepends
it, dated and with the machine, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.database import BenchDatabase, bench_database
from bench.fixtures import Credentials, prepare
from bench.load import Run, drive
from bench.servers import BENCH, NODE, Server, post
from bench.servers import ours as ours_server
from bench.servers import postgraphile as postgraphile_server
from bench.shapes import SHAPES, Fixtures, Shape, first_difference

ROOT = BENCH.parent
RESULTS = BENCH / "RESULTS.md"
SERVERS = ("ours", "postgraphile")
SIGN_IN = """
mutation SignIn($phone: String!, $password: String!) {
  signIn(input: {phone: $phone, password: $password}) { accessToken errors { code message } }
}"""


def say(message: str) -> None:
    sys.stdout.write(f"[bench] {message}\n")
    sys.stdout.flush()


@dataclass
class Outcome:
    shape: Shape
    workers: int
    difference: str | None = None
    sql: dict[str, tuple[float, float]] = field(default_factory=dict)  # (queries, tx) / request
    size: dict[str, int] = field(default_factory=dict)  # response bytes
    runs: dict[str, list[Run]] = field(default_factory=lambda: {s: [] for s in SERVERS})

    def rps(self, server: str) -> float:
        return statistics.mean(r.rps for r in self.runs[server]) if self.runs[server] else 0.0

    @property
    def ratio(self) -> float | None:
        theirs = self.rps("postgraphile")
        return self.rps("ours") / theirs if theirs else None

    def peak_mib(self, server: str) -> float:
        return max((r.peak_rss_kib for r in self.runs[server]), default=0) / 1024

    def errors(self) -> int:
        return sum(r.errors for runs in self.runs.values() for r in runs)


class AnswerError(Exception):
    """A server answered with errors or without the expected data."""


def bearer_for(shape: Shape, server: Server, creds: Credentials) -> str:
    """A fresh credential for ours (access tokens last 15 minutes: sign in per shape)."""
    if shape.actor == "DISPLAY":
        return creds.display_token
    phone, password = creds.logins[shape.actor]
    answer = post(
        server.url, {"query": SIGN_IN, "variables": {"phone": phone, "password": password}}
    )
    token = (answer.get("data") or {}).get("signIn", {}).get("accessToken")
    if not token:
        raise SystemExit(f"signing in as the {shape.actor} failed: {json.dumps(answer)[:500]}")
    return str(token)


def bodies(shape: Shape, fixtures: Fixtures) -> dict[str, dict[str, Any]]:
    return {
        "ours": {"query": shape.ours, "variables": shape.ours_variables(fixtures)},
        "postgraphile": {
            "query": shape.postgraphile,
            "variables": shape.postgraphile_variables(fixtures),
        },
    }


def answer(server: Server, body: dict[str, Any], bearer: str | None) -> tuple[Any, int]:
    """The `data` of one request and the size of the response."""
    raw = post(server.url, body, bearer)
    if raw.get("errors") or not raw.get("data"):
        raise AnswerError(f"{server.name} answered {json.dumps(raw, ensure_ascii=False)[:500]}")
    return raw["data"], len(json.dumps(raw, ensure_ascii=False).encode())


def compare(
    shape: Shape, servers: dict[str, Server], body: dict[str, dict[str, Any]], bearer: str
) -> tuple[str | None, dict[str, int]]:
    """The first difference between the reduced answers (None when equal), and the sizes."""
    try:
        ours, ours_size = answer(servers["ours"], body["ours"], bearer)
        theirs, their_size = answer(servers["postgraphile"], body["postgraphile"], None)
        reduced = (shape.reduce_ours(ours), shape.reduce_postgraphile(theirs))
    except (AnswerError, KeyError, TypeError, ValueError) as error:
        return f"{type(error).__name__}: {error}", {}
    return first_difference(*reduced), {"ours": ours_size, "postgraphile": their_size}


def statements_per_request(
    db: BenchDatabase, server: Server, body: dict[str, Any], bearer: str | None, n: int
) -> tuple[float, float]:
    """(queries, transaction control) per request over `n` sequential requests."""
    before = db.statements(server.name)
    for _ in range(n):
        post(server.url, body, bearer)
    after = db.statements(server.name)
    return (after[0] - before[0]) / n, (after[1] - before[1]) / n


def settle(server: Server, db: BenchDatabase, timeout: float = 120) -> None:
    """Wait until the requests wrk gave up on at the end of a run are done, so that they
    do not run into the next run (a slow page can have 8 in flight for seconds)."""
    deadline = time.monotonic() + timeout
    used = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = server.cpu_seconds()
        if now - used < 0.02 and not db.busy_backends(server.name):
            return
        used = now
    say(f"  {server.name} still busy {timeout:.0f}s after the run")


def measure(
    shape: Shape,
    servers: dict[str, Server],
    db: BenchDatabase,
    fixtures: Fixtures,
    creds: Credentials,
    args: argparse.Namespace,
    workers: int,
) -> Outcome:
    outcome = Outcome(shape, workers)
    body = bodies(shape, fixtures)
    bearer = bearer_for(shape, servers["ours"], creds)
    bearers = {"ours": bearer, "postgraphile": None}
    outcome.difference, outcome.size = compare(shape, servers, body, bearer)
    if outcome.difference:
        say(f"  REFUSED: the answers differ: {outcome.difference}")
        return outcome
    for name in SERVERS:
        for _ in range(2 * workers):  # every worker past its first request (type lookups ...)
            post(servers[name].url, body[name], bearers[name])
        outcome.sql[name] = statements_per_request(
            db, servers[name], body[name], bearers[name], args.sql_requests
        )
    load = {"connections": args.connections, "threads": args.threads}
    for round_ in range(args.rounds):
        order = SERVERS if round_ % 2 == 0 else tuple(reversed(SERVERS))
        for name in order:
            drive(servers[name], body[name], bearers[name], seconds=args.warmup, **load)
            settle(servers[name], db)
            run = drive(servers[name], body[name], bearers[name], seconds=args.duration, **load)
            settle(servers[name], db)
            outcome.runs[name].append(run)
            say(
                f"  round {round_ + 1} {name:12} {run.rps:9.1f} req/s  p50 {run.p50_ms:8.1f} ms"
                f"  p99 {run.p99_ms:8.1f} ms  {run.requests} requests, {run.errors} errors,"
                f" peak RSS {run.peak_rss_kib / 1024:.0f} MiB"
            )
    # the same answers after the load (a token that expired would show here)
    after, _ = compare(shape, servers, body, bearer)
    if after:
        outcome.difference = f"after the load: {after}"
        say(f"  REFUSED: {outcome.difference}")
    return outcome


# --- formatting ------------------------------------------------------------------------


def fmt_rps(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def fmt_ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def spread(values: list[float], fmt: Any) -> str:
    if not values:
        return "–"
    low, high = fmt(min(values)), fmt(max(values))
    return low if low == high else f"{low} – {high}"


def fmt_sql(sql: tuple[float, float] | None) -> str:
    if sql is None:
        return "–"
    queries, tx = sql
    return f"{queries:g}" + (f" (+{tx:g} tx)" if tx else "")


HEADER = (
    "| shape | workers | ours req/s | ours p50 | ours p99 | PostGraphile req/s | PG p50 | PG p99"
    " | ours / PG | SQL/req ours | SQL/req PG | peak RSS ours | peak RSS PG | response ours / PG |"
)


COLUMNS = HEADER.count("|") - 1


def table(outcomes: list[Outcome]) -> list[str]:
    lines = [HEADER, "|" + "---|" * COLUMNS]
    for o in outcomes:
        if o.difference:
            cells = [o.shape.key, str(o.workers), "not reported: the answers differ"]
            lines.append("| " + " | ".join(cells + [""] * (COLUMNS - len(cells))) + " |")
            continue
        cells = [o.shape.key, str(o.workers)]
        for name in SERVERS:
            runs = o.runs[name]
            answered = [r for r in runs if r.requests]  # wrk has no latency for none
            slower = f"> {max(r.seconds for r in runs):.0f} s" if runs else "–"
            cells += [
                spread([r.rps for r in runs], fmt_rps),
                spread([r.p50_ms for r in answered], fmt_ms) if answered else slower,
                spread([r.p99_ms for r in answered], fmt_ms) if answered else slower,
            ]
        ratio = o.ratio
        cells.append(f"{ratio:.2f}x" if ratio is not None else "–")
        cells += [fmt_sql(o.sql.get(name)) for name in SERVERS]
        cells += [f"{o.peak_mib(name):.0f} MiB" for name in SERVERS]
        sizes = [f"{o.size[n] / 1024:.1f}" for n in SERVERS]
        cells.append(f"{sizes[0]} / {sizes[1]} KiB")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def machine(db: BenchDatabase) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read(Path("/proc/cpuinfo")).splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    mem_kib = next(
        (int(x.split()[1]) for x in _read(Path("/proc/meminfo")).splitlines() if "MemTotal" in x),
        0,
    )
    node = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    package = BENCH / "postgraphile" / "node_modules" / "postgraphile" / "package.json"
    pgl = json.loads(package.read_text())["version"] if package.exists() else "?"
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kib / 1024 / 1024:.1f} GiB, {platform.system()}"
        f" {platform.release()}; PostgreSQL {db.version} (embedded, pg_stat_statements);"
        f" Python {platform.python_version()}; Node.js {node.stdout.strip()};"
        f" PostGraphile {pgl} (amber preset)"
    )


def commit() -> str:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603, S607
        return done.stdout.strip()

    dirty = [line for line in git("status", "--porcelain").splitlines() if "RESULTS.md" not in line]
    return git("rev-parse", "--short", "HEAD") + (" with uncommitted changes" if dirty else "")


def report(
    outcomes: list[Outcome], db: BenchDatabase, fixtures: Fixtures, args: argparse.Namespace
) -> list[str]:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"## {now}, commit {commit()}" + (f" ({args.note})" if args.note else "")
    lines = [
        title,
        "",
        f"Machine: {machine(db)}.",
        f"Load: wrk, {args.threads} thread, {args.connections} connections; per run"
        f" {args.warmup:g} s warm-up then {args.duration:g} s measured; rounds: {args.rounds},"
        " alternating which server goes first; ranges are over rounds, the ratio is of the"
        " mean req/s. SQL/req from pg_stat_statements over"
        f" {args.sql_requests} sequential requests (tx: BEGIN/COMMIT/SAVEPOINT ...).",
        f"Rows read: building {fixtures.building_id}, district {fixtures.district_code},"
        f" petition {fixtures.petition_id}, name prefix {fixtures.name_prefix}.",
        "",
        *table(outcomes),
        "",
    ]
    for shape in dict.fromkeys(o.shape for o in outcomes):
        lines.append(f"- {shape.key}: {shape.title}.")
        for o in (o for o in outcomes if o.shape is shape):
            if o.difference:
                lines.append(f"  {o.workers} worker(s): not reported, the answers differ:")
                lines.append(f"  {o.difference}")
            elif o.errors():
                lines.append(
                    f"  {o.workers} worker(s): {o.errors()} failed requests"
                    " (socket errors, timeouts, non-2xx)."
                )
    lines.append("")
    return lines


def write_results(lines: list[str]) -> None:
    intro = (
        "# Bench results: ours against PostGraphile v5\n\n"
        "Written by `make bench` (see README.md beside this file), newest first.\n"
    )
    old = _read(RESULTS)
    history = old.split("\n## ", 1)[1] if "\n## " in old else ""
    text = intro + "\n" + "\n".join(lines) + ("\n## " + history if history else "")
    RESULTS.write_text(text.rstrip() + "\n", encoding="utf-8")


# --- command line ----------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir).resolve()
    os.environ["DATA_DIR"] = str(data_dir)  # the seed's secrets: encrypted ID numbers, JWTs
    shapes = [s for s in SHAPES if not args.shapes or s.key in args.shapes]
    outcomes: list[Outcome] = []
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with bench_database(data_dir, ROOT) as db:
        os.environ["DATABASE_URL"] = db.uri
        fixtures, creds = prepare(db)
        for workers in args.workers:
            servers = {
                "ours": ours_server(ROOT, db.uri_for("ours"), data_dir, workers, logs / "ours.log"),
                "postgraphile": postgraphile_server(
                    db.uri_for("postgraphile"),
                    "public,bench_postgraphile",
                    workers,
                    logs / "postgraphile.log",
                ),
            }
            try:
                for server in servers.values():
                    server.start()
                    say(f"{server.name} ({workers} worker(s)) on {server.url}")
                for shape in shapes:
                    say(f"{shape.key}: {shape.title}")
                    outcomes.append(measure(shape, servers, db, fixtures, creds, args, workers))
            finally:
                for server in servers.values():
                    server.stop()
        lines = report(outcomes, db, fixtures, args)
    sys.stdout.write("\n" + "\n".join(lines) + "\n")
    if args.write:
        write_results(lines)
        say(f"prepended to {RESULTS.relative_to(ROOT)}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--data-dir", default=str(ROOT / ".data-bench"), help="bench database home")
    p.add_argument("--duration", type=float, default=10, help="seconds per measured run")
    p.add_argument("--warmup", type=float, default=3, help="seconds of warm-up before each run")
    p.add_argument("--rounds", type=int, default=2, help="measured runs per server and shape")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--workers",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1],
        help="processes per server, e.g. 1,2 (PostGraphile gets a cluster of the same size)",
    )
    p.add_argument("--sql-requests", type=int, default=5, help="requests counted for SQL/req")
    p.add_argument("--shapes", nargs="*", choices=[s.key for s in SHAPES], help="default: all")
    p.add_argument("--note", help="said beside the date in RESULTS.md (e.g. provisional)")
    p.add_argument("--no-write", dest="write", action="store_false", help="do not touch RESULTS.md")
    return p


def main(argv: list[str] | None = None) -> None:
    run(parser().parse_args(argv))
