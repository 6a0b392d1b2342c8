"""`python -m bench.services`: the 15-minute service circle and the service counts at city scale.

Against a database holding the city-scale data set (`python app.py seed --scale city`: 519
stations, ~13,000 buildings), it measures in SQL:

- the stations within 1,000 m of a building (`earth_box(ll_to_earth(...), r) @>
  ll_to_earth(latitude, longitude)` on the GiST index `ix_service_station_location`, then the
  exact `earth_distance`), one building at a time, for 500 random buildings: median and 95th
  percentile, and the same with index scans turned off (what the index saves);
- the same for 100 buildings in one statement, as `Building.nearbyStations` batches them;
- the plan (index scan or not), and how many stations a building has within reach;
- the service counts of the city and of 灵犀社区 (`serviceStats`: one statement), as a
  city admin counts them;

then in-process through the ASGI app (no network), as a city admin: a building page with its
nearby stations, and the city's `serviceStats`. Speed targets live here, never in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from models.db import libpq_url
from schema.http import build_app

NEARBY = """SELECT s.id, earth_distance(ll_to_earth(%(lat)s, %(lon)s),
                                        ll_to_earth(s.latitude, s.longitude)) AS metres
              FROM service_station s
             WHERE earth_box(ll_to_earth(%(lat)s, %(lon)s), %(r)s)
                   @> ll_to_earth(s.latitude, s.longitude)
               AND earth_distance(ll_to_earth(%(lat)s, %(lon)s),
                                  ll_to_earth(s.latitude, s.longitude)) <= %(r)s
             ORDER BY metres"""
BATCH = """SELECT b.id, s.id FROM building b
             JOIN service_station s
               ON earth_box(ll_to_earth(b.latitude, b.longitude), %(r)s)
                  @> ll_to_earth(s.latitude, s.longitude)
              AND earth_distance(ll_to_earth(b.latitude, b.longitude),
                                 ll_to_earth(s.latitude, s.longitude)) <= %(r)s
            WHERE b.id = ANY(%(ids)s)"""
RADIUS = 1000.0


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds."""
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        found.append((time.perf_counter() - started) * 1000)
    found.sort()
    return statistics.median(found), found[int(len(found) * 0.95) - 1]


def sql_figures(uri: str, sample: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with psycopg.connect(uri, autocommit=True) as conn:
        stations = conn.execute("SELECT count(*) FROM service_station").fetchone()
        buildings = conn.execute(
            "SELECT id, latitude, longitude FROM building WHERE latitude IS NOT NULL ORDER BY id"
        ).fetchall()
        rows.append(
            ("stations, buildings", f"{stations[0] if stations else 0:,}, {len(buildings):,}")
        )
        rng = random.Random(15)
        chosen = rng.sample(buildings, min(sample, len(buildings)))
        it = iter(chosen * 10)

        def one() -> None:
            _, lat, lon = next(it)
            conn.execute(NEARBY, {"lat": lat, "lon": lon, "r": RADIUS}).fetchall()

        reached = [
            len(conn.execute(NEARBY, {"lat": lat, "lon": lon, "r": RADIUS}).fetchall())
            for _, lat, lon in chosen
        ]
        rows.append(
            (
                "stations within 15 minutes (1,000 m) of a building",
                f"mean {statistics.mean(reached):.2f}, "
                f"{sum(1 for n in reached if n) / len(reached):.0%} of buildings reach one",
            )
        )
        median, p95 = timed(one, len(chosen))
        rows.append(("one building, GiST index: median / p95", f"{median:.2f} / {p95:.2f} ms"))
        _, lat, lon = chosen[0]
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN (ANALYZE, COSTS OFF) " + NEARBY, {"lat": lat, "lon": lon, "r": RADIUS}
            )
        )
        rows.append(
            ("plan uses ix_service_station_location", str("ix_service_station_location" in plan))
        )
        conn.execute("SET enable_indexscan = off")
        conn.execute("SET enable_bitmapscan = off")
        median_off, p95_off = timed(one, len(chosen))
        rows.append(
            ("one building, sequential scan: median / p95", f"{median_off:.2f} / {p95_off:.2f} ms")
        )
        conn.execute("RESET enable_indexscan")
        conn.execute("RESET enable_bitmapscan")
        ids = [b[0] for b in chosen[:100]]
        batch_median, _ = timed(
            lambda: conn.execute(BATCH, {"ids": ids, "r": RADIUS}).fetchall(), 20
        )
        rows.append(
            ("100 buildings in one statement (the loader's batch)", f"{batch_median:.2f} ms")
        )
        rows += _at_scale(conn, chosen)
    return rows


def _at_scale(conn: psycopg.Connection[Any], chosen: list[Any]) -> list[tuple[str, str]]:
    """The same circle over the 12,946 buildings' points, as if every building were a
    station: what the index is worth when the points are many."""
    conn.execute(
        "CREATE TEMPORARY TABLE point AS SELECT id, latitude, longitude FROM building"
        " WHERE latitude IS NOT NULL"
    )
    conn.execute("CREATE INDEX ON point USING gist (ll_to_earth(latitude, longitude))")
    conn.execute("ANALYZE point")
    query = NEARBY.replace("service_station", "point")
    it = iter(chosen * 10)

    def one() -> None:
        _, lat, lon = next(it)
        conn.execute(query, {"lat": lat, "lon": lon, "r": RADIUS}).fetchall()

    found: list[tuple[str, str]] = []
    median, p95 = timed(one, len(chosen))
    found.append(("12,946 points, GiST index: median / p95", f"{median:.2f} / {p95:.2f} ms"))
    conn.execute("SET enable_indexscan = off")
    conn.execute("SET enable_bitmapscan = off")
    median, p95 = timed(one, len(chosen))
    found.append(("12,946 points, sequential scan: median / p95", f"{median:.2f} / {p95:.2f} ms"))
    conn.execute("RESET enable_indexscan")
    conn.execute("RESET enable_bitmapscan")
    conn.execute("DROP TABLE point")
    return found


PAGE = """query($id: ID!) { node(id: $id) { ... on Building { name estate { name
  withoutPropertyManagement } nearbyStations { distanceMetres walkMinutes station { name
  openNow hotline facilities } } servingStations { name } partyPosts { kind title } } } }"""
STATS = """query($code: String!) { orgUnit(code: $code) { name serviceStats { stations teams
  estates unmanagedEstates partyPropertyCompanies activities orders ordersDone
  volunteerServices goodDeeds cadreServices cadreGoodDeeds volunteerHours volunteers
  doorVisits householdsVisited disputes disputesResolved } } }"""


async def graphql_figures(uri: str, repeat: int) -> list[tuple[str, str]]:
    from models.db import make_engine, make_sessionmaker
    from permissions.limits import Limits
    from seeds.tokens import issue_token

    rows: list[tuple[str, str]] = []
    engine = make_engine(uri, pool_size=2)
    sessions = make_sessionmaker(engine)
    with psycopg.connect(uri) as conn:
        building = conn.execute(
            "SELECT id FROM building WHERE latitude IS NOT NULL ORDER BY id LIMIT 1 OFFSET 5000"
        ).fetchone()
        lingxi = conn.execute("SELECT code FROM org_unit WHERE name = '灵犀社区'").fetchone()
    token = await issue_token(uri, "520300", "INTEGRATOR", "bench.services", 1)
    app = build_app(uri, sessionmaker=sessions, limits=Limits.lifted())
    headers = {"Authorization": f"Bearer {token}"}
    from schema.relay import to_global_id

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        for name, query, variables in (
            (
                "building page with its 15-minute circle",
                PAGE,
                {"id": to_global_id("Building", building[0] if building else 1)},
            ),
            ("serviceStats of the city", STATS, {"code": "520300"}),
            ("serviceStats of 灵犀社区", STATS, {"code": lingxi[0] if lingxi else "520391001001"}),
        ):
            body = {"query": query, "variables": variables}
            answer = (await client.post("/graphql", json=body, headers=headers)).json()
            assert not answer.get("errors"), answer
            found = []
            for _ in range(repeat):
                started = time.perf_counter()
                await client.post("/graphql", json=body, headers=headers)
                found.append((time.perf_counter() - started) * 1000)
            rows.append((f"GraphQL: {name} (median)", f"{statistics.median(found):.1f} ms"))
            if "serviceStats" in query:
                stats = answer["data"]["orgUnit"]["serviceStats"]
                rows.append(
                    (
                        f"  {answer['data']['orgUnit']['name']}",
                        ", ".join(f"{k} {v}" for k, v in stats.items()),
                    )
                )
    await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default=None, help="libpq URI (default: the app's database)")
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    uri = args.uri or libpq_url()
    rows = sql_figures(uri, args.sample)
    rows += asyncio.run(graphql_figures(uri, args.repeat))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
