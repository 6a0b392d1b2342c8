"""`python -m bench.inprocess`: latency of front-end queries against the application database.

Runs in-process through the ASGI app (no network), after warm-up, as an INTEGRATOR
token of the whole city (every row, personal data masked), and prints median and
95th percentile per query plus SQL statements per request and the estimated cost. The
queries run with the request limits lifted (the tree query is deeper and costlier than
they allow: it measures execution); the attacks of issue 7 then run against the default
limits, to show what a refusal costs. Point it at the city-scale data with
`python app.py seed --scale city` on an empty database.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx
from sqlalchemy import event

from models.db import libpq_url, make_engine, make_sessionmaker
from models.migrate import upgrade
from permissions.limits import Limits
from schema.http import build_app
from seeds.tokens import issue_token

QUERIES: dict[str, str] = {
    "district tree to building heads": """
    query($code: String!) { orgUnit(code: $code) { name
      children(first: 100) { nodes { name
        children(first: 100) { nodes { name
          children(first: 100) { nodes { name
            buildings(first: 100) { totalCount nodes { name head { name phone } } } } } } } } } } }
    """,
    "district grids to building heads, flat": """
    query($code: String!) { orgUnit(code: $code) { name
      descendants(kind: GRID, first: 100) { nodes { name
        buildings(first: 20) { totalCount nodes { name head { name phone } } } } } } }
    """,
    "dashboard stats of the city": """
    { city { stats { grids buildings households residents partyMembers buildingHeads
      partyGroups centralHouseholds secondedCadres registeredPartyMembers pairedWorkUnits } } }
    """,
    "Party members, first page": """
    { people(filter: { isPartyMember: true }, first: 50) {
        totalCount nodes { name phone household { room building { name } } } } }
    """,
    "petitions of a district, first page": """
    query($unit: ID!) { petitions(under: $unit, first: 50) { totalCount
        nodes { title status dueAt category { name } building { name } timeline { action at } } } }
    """,
    "petition metrics of a district, a year": """
    query($unit: ID!) { petitionMetrics(orgUnitId: $unit, since: "2025-11-01T00:00:00Z",
        until: "2026-11-01T00:00:00Z") { totals { submitted responseRate onTimeRate
        satisfactionRate } timeToResolution { medianHours p90Hours } } }
    """,
}

_IDS = ", ".join(f'"T3JnVW5pdDo{i}"' for i in range(100))
#: The attacks of issue 7, sent to the default limits: each must be refused at once.
ATTACKS: dict[str, str] = {
    "refused: 200 aliased introspections": "{ "
    + " ".join(f"i{i}: __schema {{ types {{ name fields {{ name }} }} }}" for i in range(200))
    + " }",
    "refused: 60 aliases of nodes(ids: 100)": "{ "
    + " ".join(f"n{i}: nodes(ids: [{_IDS}]) {{ id }}" for i in range(60))
    + " }",
    "refused: depth 23 through parent": "{ city { " + "parent { " * 21 + "id" + " }" * 22 + " }",
}


async def run(iterations: int, district: str, city: str, token: str | None) -> None:
    uri = libpq_url()
    upgrade(uri)
    if token is None:  # an integrator of the whole city: reads everything, masked
        token = await issue_token(uri, city, "INTEGRATOR", "bench", 1)
    headers = {"Authorization": f"Bearer {token}"}
    engine = make_engine(uri, pool_size=2)
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    sessions = make_sessionmaker(engine)
    app = build_app(uri, sessionmaker=sessions, limits=Limits.lifted())
    transport = httpx.ASGITransport(app=app)
    guarded = httpx.ASGITransport(app=build_app(uri, sessionmaker=sessions))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        httpx.AsyncClient(transport=guarded, base_url="http://bench") as defaults,
    ):
        found = await client.post(
            "/graphql",
            json={
                "query": "query($c: String!) { orgUnit(code: $c) { id } }",
                "variables": {"c": district},
            },
            headers=headers,
        )
        unit = found.json()["data"]["orgUnit"]["id"]
        for name, query in QUERIES.items():
            wanted = {"code": district} if "$code" in query else {"unit": unit}
            body = {"query": query, "variables": wanted if "$" in query else {}}
            for _ in range(3):
                (await client.post("/graphql", json=body, headers=headers)).raise_for_status()
            statements = 0
            timings = []
            size = 0
            for _ in range(iterations):
                started = time.perf_counter()
                response = await client.post("/graphql", json=body, headers=headers)
                timings.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                answer = response.json()
                assert "errors" not in answer, answer
                size = len(response.content)
            timings.sort()
            p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
            print(
                f"{name:40} median {statistics.median(timings):8.1f} ms  p95 {p95:8.1f} ms"
                f"  {statements / iterations:4.1f} SQL/request  {size / 1024:8.1f} KiB"
                f"  cost {answer['extensions']['cost']['requested']:>12,}"
            )
        for name, query in ATTACKS.items():
            statements = 0
            timings = []
            for _ in range(iterations):
                started = time.perf_counter()
                response = await defaults.post("/graphql", json={"query": query}, headers=headers)
                timings.append((time.perf_counter() - started) * 1000)
                codes = sorted({e["extensions"]["code"] for e in response.json()["errors"]})
                size = len(response.content)
            print(
                f"{name:40} median {statistics.median(timings):8.1f} ms"
                f"  {statements / iterations:4.1f} SQL/request  {size:6} B  {', '.join(codes)}"
            )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--district", default="520303", help="org unit code of the tree query")
    parser.add_argument("--city", default="520300", help="code of the node the token reads")
    parser.add_argument("--token", help="bearer to use (default: a new 1-day INTEGRATOR token)")
    args = parser.parse_args()
    asyncio.run(run(args.iterations, args.district, args.city, args.token))


if __name__ == "__main__":
    main()
