"""`python -m bench.live` (`make bench-live`): live data at city scale, on the bench database.

Measures, with one uvicorn process serving `app:create_app` as in production:

1. the maintained figures: the full recompute after a bulk load, and that they equal the
   dashboard counts computed from the rows (checked for the city, a district and a grid);
2. a figures query for the city (and a grid), over HTTP, p50 and p99, as a display and as a
   city admin, and the whole big-screen query (figures, petitions, trend, rankings) warm;
3. CPU of the server while 100 screens poll the big-screen query every 5 s and 1,000
   subscriptions stay open;
4. 1,000 subscribers of one node and one transition: the time from the transition's commit
   to each subscriber having it (p50, p99), repeated;
5. the server's memory per open subscribed connection.

Never part of `make test`. Prints a table and prepends it, dated, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench.database import bench_database
from bench.servers import Server, ours
from models.db import make_engine
from models.identity import Account, TokenRole
from models.org import OrgUnit
from resolvers.identity import create_api_token, hash_password, issue_access_token
from resolvers.org import org_stats_statement
from schema.relay import to_global_id

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
CITY = "520300"
SCREEN_QUERY = """query Screen($code: String!) {
  displayFigures(code: $code) {
    node { name }
    figures { key label value counted }
    petitions(period: { unit: YEAR, containing: "%(today)s" }) {
      totals { submitted closed responseRate onTimeRate satisfactionRate }
    }
    trend(unit: MONTH, count: 12) { start submitted closed }
    rankings(period: { unit: YEAR, containing: "%(today)s" }) {
      name rank rates { satisfactionRate }
    }
  }
}"""
FIGURES_QUERY = "query($code: String!) { displayFigures(code: $code) { figures { key value } } }"
#: What any request of a display costs before its fields: the token, the transaction.
BASELINE_QUERY = "{ me { kind } }"
FEED = "subscription($u: ID!) { displayFeed(under: $u) { id at action toStatus category grid } }"
STATS = [
    "grids",
    "buildings",
    "households",
    "residents",
    "party_members",
    "building_heads",
    "party_groups",
    "central_households",
    "seconded_cadres",
    "registered_party_members",
    "paired_work_units",
]


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def step(what: str) -> None:
    print(f"[bench.live] {what}", flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# --- setup -------------------------------------------------------------------------------


def recompute_and_check(uri: str) -> dict[str, Any]:
    """Time the full recompute; compare the counts of a few nodes with the rows."""
    with psycopg.connect(uri) as conn:
        started = time.perf_counter()
        conn.execute("SELECT figures_recompute()")
        recompute = time.perf_counter() - started
        conn.commit()
        picked = conn.execute(
            "(SELECT id, path::text FROM org_unit WHERE code = %s)"
            " UNION ALL (SELECT id, path::text FROM org_unit WHERE kind = 'DISTRICT' LIMIT 1)"
            " UNION ALL (SELECT id, path::text FROM org_unit WHERE kind = 'GRID' LIMIT 1)",
            (CITY,),
        ).fetchall()
        counts = {
            (str(p), str(f)): int(n)
            for p, f, n in conn.execute("SELECT node::text, figure, n FROM figure_count")
        }
    return {"recompute": recompute, "nodes": picked, "counts": counts}


async def check_against_rows(uri: str, picked: list[Any], counts: dict[Any, int]) -> float:
    engine = make_engine(uri, pool_size=1)
    async with engine.connect() as conn:
        started = time.perf_counter()
        rows = (await conn.execute(org_stats_statement([i for i, _ in picked], lambda _: []))).all()
        from_rows = time.perf_counter() - started
    await engine.dispose()
    paths = dict(picked)
    for row in rows:
        for key, value in zip(STATS, row[1:], strict=True):
            kept = counts.get((paths[row[0]], key), 0)
            if kept != int(value):
                raise SystemExit(f"figure {key} of {paths[row[0]]}: kept {kept}, rows {value}")
    return from_rows


async def credentials(uri: str) -> dict[str, Any]:
    """A DISPLAY token of the city, a city admin's access token, and a community to watch
    with an open petition in it."""
    engine = make_engine(uri, pool_size=1)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        city = (
            await session.execute(sa.select(OrgUnit).where(col(OrgUnit.code) == CITY))
        ).scalar_one()
        assert city.id is not None
        issued = await create_api_token(
            session, name="bench live", role=TokenRole.DISPLAY, org_unit_id=city.id, days=1,
            created_by=None,
        )  # fmt: skip
        admin_person = (
            await session.execute(
                sa.text(
                    "SELECT person_id FROM position WHERE role = 'CITY_ADMIN'"
                    " AND ended_at IS NULL ORDER BY id LIMIT 1"
                )
            )
        ).scalar_one()
        account = await session.scalar(
            sa.select(Account).where(col(Account.person_id) == admin_person)
        )
        if account is None:
            account = Account(person_id=admin_person, phone="19900000001",
                              password_hash=hash_password("bench-live-unused"))  # fmt: skip
            session.add(account)
            await session.flush()
        petition = (
            await session.execute(
                sa.text(
                    "SELECT p.id, p.version, p.status, subpath(p.path, 0, 4)::text"
                    " FROM petition p WHERE p.status = 'SUBMITTED' ORDER BY p.id DESC LIMIT 1"
                )
            )
        ).one()
        community = (
            await session.execute(
                sa.text("SELECT id FROM org_unit WHERE path = CAST(:p AS ltree)"),
                {"p": petition[3]},
            )
        ).scalar_one()
        await session.commit()
    await engine.dispose()
    assert account.id is not None
    return {
        "display": issued.secret,
        "admin": issue_access_token(account.id),
        "city": str(to_global_id("OrgUnit", city.id)),
        "community": str(to_global_id("OrgUnit", community)),
        "petition": (int(petition[0]), int(petition[1])),
        "assignee": str(to_global_id("Person", admin_person)),
    }


# --- measurements -------------------------------------------------------------------------


async def latencies(
    http: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any], n: int
) -> list[float]:
    found: list[float] = []
    body = {"query": query, "variables": variables}
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(n):
        started = time.perf_counter()
        response = await http.post("/graphql", json=body, headers=headers)
        found.append(time.perf_counter() - started)
        data = response.json()
        if data.get("errors"):
            raise SystemExit(f"the query failed: {data['errors']}")
    return found


async def open_subscriber(base: str, token: str, under: str) -> ClientConnection:
    ws = await connect(
        base.replace("http://", "ws://") + "/graphql",
        subprotocols=[Subprotocol("graphql-transport-ws")],
        ping_interval=None,
        max_queue=None,
    )
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await ws.recv())
    if ack.get("type") != "connection_ack":
        raise SystemExit(f"no connection_ack: {ack}")
    payload = {"query": FEED, "variables": {"u": under}}
    await ws.send(json.dumps({"id": "feed", "type": "subscribe", "payload": payload}))
    return ws


async def open_many(base: str, token: str, under: str, count: int) -> list[ClientConnection]:
    found: list[ClientConnection] = []
    for start in range(0, count, 50):
        found += await asyncio.gather(
            *(open_subscriber(base, token, under) for _ in range(min(50, count - start)))
        )
    return found


async def fan_out(
    base: str, http: httpx.AsyncClient, sockets: list[ClientConnection], creds: dict[str, Any],
    rounds: int,
) -> list[float]:  # fmt: skip
    """Time from a transition's commit (its mutation answered) to each subscriber having it."""
    petition_id, version = creds["petition"]
    gid = str(to_global_id("Petition", petition_id))
    delays: list[float] = []
    # ACCEPT, then ASSIGN again and again (a reassignment is a step of its own)
    for action in ["ACCEPT"] + ["ASSIGN"] * (rounds - 1):
        extra = {"assigneeId": creds["assignee"]} if action == "ASSIGN" else {}
        arrived: list[float] = []

        async def read(ws: ClientConnection, into: list[float] = arrived) -> None:
            await ws.recv()
            into.append(time.perf_counter())

        readers = [asyncio.create_task(read(ws)) for ws in sockets]
        await asyncio.sleep(0.2)
        response = await http.post(
            "/graphql",
            json={
                "query": "mutation($i: TransitionPetitionInput!) { transitionPetition(input: $i)"
                " { petition { version } errors { code message } } }",
                "variables": {
                    "i": {
                        "id": gid,
                        "action": action,
                        "expectedVersion": version,
                        "note": "bench",
                        **extra,
                    }
                },
            },
            headers={"Authorization": f"Bearer {creds['admin']}"},
        )
        committed = time.perf_counter()
        moved = response.json()["data"]["transitionPetition"]
        if moved["errors"]:
            raise SystemExit(f"the transition failed: {moved['errors']}")
        version = moved["petition"]["version"]
        await asyncio.wait_for(asyncio.gather(*readers), 60)
        delays += [t - committed for t in arrived]
    return delays


async def poll_and_hold(
    base: str, creds: dict[str, Any], server: Server, seconds: float, screens: int,
    query: str,
) -> dict[str, float]:  # fmt: skip
    """`screens` pollers of `query` every 5 s; server CPU over `seconds`."""
    body = {"query": query, "variables": {"code": CITY} if "$code" in query else {}}
    headers = {"Authorization": f"Bearer {creds['display']}"}
    stop = asyncio.Event()
    done = 0

    async def screen(http: httpx.AsyncClient, offset: float) -> None:
        nonlocal done
        await asyncio.sleep(offset)
        while not stop.is_set():
            response = await http.post("/graphql", json=body, headers=headers)
            if response.json().get("errors"):
                raise SystemExit(f"the screen query failed: {response.text[:300]}")
            done += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 5)

    # uvicorn closes a connection idle for 5 s: a screen polling every 5 s opens a new one
    limits = httpx.Limits(max_connections=screens, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        tasks = [asyncio.create_task(screen(http, 5 * i / screens)) for i in range(screens)]
        await asyncio.sleep(6)  # every screen has asked once: caches warm
        cpu0, pg0 = server.cpu_seconds(), postgres_cpu()
        wall0, done0 = time.perf_counter(), done
        await asyncio.sleep(seconds)
        cpu1, pg1 = server.cpu_seconds(), postgres_cpu()
        wall1, done1 = time.perf_counter(), done
        stop.set()
        await asyncio.gather(*tasks)
    return {
        "cpu": (cpu1 - cpu0) / (wall1 - wall0),
        "postgres_cpu": cpu_between(pg0, pg1) / (wall1 - wall0),
        "requests": (done1 - done0) / (wall1 - wall0),
    }


def postgres_cpu(data_dir: Path = ROOT / ".data-bench") -> dict[int, float]:
    """CPU time so far of each process of the bench PostgreSQL (postmaster and children)."""
    import psutil

    pid = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
    found: dict[int, float] = {}
    with contextlib.suppress(psutil.Error):
        postmaster = psutil.Process(pid)
        for process in [postmaster, *postmaster.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                found[process.pid] = times.user + times.system
    return found


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used in between by the processes alive at the end (new ones from their start)."""
    return sum(max(0.0, spent - before.get(pid, 0.0)) for pid, spent in after.items())


async def measure(
    server: Server, creds: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    base = server.url.removesuffix("/graphql")
    today = datetime.now(UTC).date().isoformat()
    screen_query = SCREEN_QUERY % {"today": today}
    found: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        city = {"code": CITY}
        step("figures queries over HTTP")
        await latencies(http, creds["display"], FIGURES_QUERY, city, 20)
        found["figures_display"] = await latencies(http, creds["display"], FIGURES_QUERY, city, 500)
        found["figures_admin"] = await latencies(http, creds["admin"], FIGURES_QUERY, city, 500)
        started = time.perf_counter()
        await latencies(http, creds["display"], screen_query, city, 1)
        found["screen_cold"] = time.perf_counter() - started
        found["screen_warm"] = await latencies(http, creds["display"], screen_query, city, 200)
    step(f"opening {args.subscribers} subscriptions")
    rss0 = server.rss_kib()
    sockets = await open_many(base, creds["display"], creds["city"], args.subscribers)
    await asyncio.sleep(2)
    found["rss_per_connection_kib"] = (server.rss_kib() - rss0) / len(sockets)
    step("the subscriptions alone, idle, for 20s")
    cpu0, wall0 = server.cpu_seconds(), time.perf_counter()
    await asyncio.sleep(20)
    found["idle_cpu"] = (server.cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
    step(f"{args.screens} screens polling the figures for {args.duration:.0f}s")
    found["load"] = await poll_and_hold(
        base, creds, server, args.duration, args.screens, FIGURES_QUERY
    )
    step(f"{args.screens} screens polling a trivial query for {args.duration:.0f}s")
    found["load_baseline"] = await poll_and_hold(
        base, creds, server, args.duration, args.screens, BASELINE_QUERY
    )
    step(f"{args.screens} screens polling the whole screen for {args.duration:.0f}s")
    found["load_screen"] = await poll_and_hold(
        base, creds, server, args.duration, args.screens, screen_query
    )
    step(f"fan-out of {args.rounds} transitions")
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        found["fan_out"] = await fan_out(base, http, sockets, creds, args.rounds)
    for ws in sockets:
        with contextlib.suppress(Exception):
            await ws.close()
    return found


def report(found: dict[str, Any], setup: dict[str, Any], args: argparse.Namespace) -> str:
    def dist(values: Sequence[float]) -> str:
        return f"p50 {ms(percentile(values, 0.5))}, p99 {ms(percentile(values, 0.99))}"

    load, whole = found["load"], found["load_screen"]
    subscribers, screens = args.subscribers, args.screens

    def cpu(measured: dict[str, float]) -> str:
        return (
            f"{measured['cpu'] * 100:.1f}% of one core ({measured['requests']:.1f} req/s;"
            f" PostgreSQL meanwhile {measured['postgres_cpu'] * 100:.1f}%)"
        )

    rows = [
        ("full recompute of every node's figures (after a bulk load)",
         f"{setup['recompute']:.1f} s"),
        ("the same city counts from the rows (`OrgStats`, one statement)",
         ms(setup["from_rows"])),
        ("figures query for the city, DISPLAY token (500 requests)",
         dist(found["figures_display"])),
        ("figures query for the city, city admin (500 requests)", dist(found["figures_admin"])),
        ("big-screen query (figures, year's petitions, 12-month trend, rankings), first",
         ms(found["screen_cold"])),
        ("big-screen query, warm (200 requests)", dist(found["screen_warm"])),
        (f"{subscribers} open subscriptions, idle: server CPU",
         f"{found['idle_cpu'] * 100:.1f}% of one core"),
        (f"{screens} screens polling the figures query every 5 s + {subscribers} open"
         " subscriptions: server CPU", cpu(load)),
        (f"{screens} screens polling the whole big-screen query every 5 s + the"
         " subscriptions: server CPU", cpu(whole)),
        (f"for comparison, {screens} screens polling `{{ me {{ kind }} }}` every 5 s + the"
         " subscriptions: server CPU", cpu(found["load_baseline"])),
        (f"{subscribers} subscribers of one node, one transition: time to have it"
         f" ({args.rounds} transitions)", dist(found["fan_out"])),
        ("server memory per open subscribed connection",
         f"{found['rss_per_connection_kib']:.1f} KiB"),
    ]  # fmt: skip
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores"
    lines = [
        f"## Live data at city scale ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine})",
        "",
        "`python -m bench.live` on the bench database (4,647 grids, 730,579 people, 100,000"
        " petitions); one uvicorn process"
        f" ({'with' if args.deflate else 'without'} WebSocket per-message compression);"
        " client and server on the same 2 cores.",
        "",
        "| what | measured |",
        "|---|---|",
        *(f"| {what} | {value} |" for what, value in rows),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data-bench")
    parser.add_argument("--subscribers", type=int, default=1_000)
    parser.add_argument("--screens", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    parser.add_argument(
        "--deflate", action="store_true", help="with WebSocket per-message compression"
    )
    args = parser.parse_args(argv)
    # the server's secrets (and so its access tokens) are those of the bench data directory
    os.environ["DATA_DIR"] = str(args.data_dir)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    logs = args.data_dir / "logs"
    with bench_database(args.data_dir, ROOT) as db:
        logs.mkdir(parents=True, exist_ok=True)
        step("recomputing every node's figures, checking them against the rows")
        setup = recompute_and_check(db.uri)
        setup["from_rows"] = asyncio.run(
            check_against_rows(db.uri, setup["nodes"], setup["counts"])
        )
        creds = asyncio.run(credentials(db.uri))
        server = ours(ROOT, db.uri, args.data_dir, 1, logs / "live-ours.log")
        if not args.deflate:  # as `app.py serve` runs it
            server.command += ["--ws-per-message-deflate", "false"]
        server.start()
        try:
            found = asyncio.run(measure(server, creds, args))
        finally:
            server.stop()
    table = report(found, setup, args)
    print(table)
    if not args.no_write:
        old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        head, _, rest = old.partition("\n## ")
        RESULTS.write_text(f"{head.rstrip()}\n\n{table}\n## {rest}" if rest else f"{old}\n{table}",
                           encoding="utf-8")  # fmt: skip


if __name__ == "__main__":
    main()
