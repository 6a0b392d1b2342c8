"""Read replicas against a real streaming standby: queries are served by it (proved by what
it does not show while its replay is paused), their audit rows are written to the primary
(and an answer whose audit row cannot be written is withheld), a mutation's commit position
makes the next query see the write, a lagging or stopped standby sends queries to the
primary, and two app instances share subscriptions whose payloads wait for the replica."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from models.db import database_name
from models.replicas import Databases, Replica
from ops.metrics import REGISTRY
from schema.http import build_app
from schema.websocket import Live
from tests.live.support import SUBMIT, LiveCity, category_id, connected, gid, move, submit
from tests.replicas.conftest import Standby
from tests.server import serving

#: Short, so that the tests about lag do not wait for the default (5 s).
MAX_LAG = 1.5
NAME = """query UnitName($id: ID!) { node(id: $id) { ... on OrgUnit { name } } }"""
PETITION = """query Petition($id: ID!) { node(id: $id) { ... on Petition { id status } } }"""
PHONES = """query HeadReadsPhones($id: ID!) {
  node(id: $id) { ... on Building { residents(first: 100) { nodes { id phone } } } }
}"""
EVENTS = """subscription($u: ID!) {
  petitionEvents(under: $u) { id event { action } petition { id status } } }"""


def served(database: str) -> float:
    found = REGISTRY.get_sample_value("graphql_requests_by_database_total", {"database": database})
    return found or 0.0


def skipped(reason: str) -> float:
    return REGISTRY.get_sample_value("db_replica_skipped_total", {"reason": reason}) or 0.0


def primary_sql(uri: str, statement: str, *params: Any) -> Any:
    with psycopg.connect(uri, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


@pytest.fixture
def fresh(standby: Standby, replica_uri: str) -> Iterator[Standby]:
    """The standby streaming, replaying, caught up with the primary; left so afterwards."""
    standby.ensure_running()
    standby.resume()
    standby.caught_up(replica_uri)
    yield standby
    standby.ensure_running()
    standby.resume()


@contextmanager
def instance(
    replica_uri: str, standby: Standby, compiled: str | None = None
) -> Iterator[tuple[str, FastAPI]]:
    """An app instance on the primary and the standby, served by uvicorn (`compiled`: the
    GRAPHQL_COMPILED mode, default the environment's)."""
    app = build_app(
        replica_uri,
        replicas=(standby.uri(database_name(replica_uri)),),
        replica_max_lag=MAX_LAG,
        compiled=compiled,
    )
    with serving(app) as base:
        yield base, app


@pytest.fixture
async def one(replica_uri: str, fresh: Standby) -> AsyncIterator[httpx.AsyncClient]:
    with instance(replica_uri, fresh) as (base, _):
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            yield http


async def post(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    token: str,
    **extra: Any,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **extra.pop("headers", {})}
    body = {"query": query, "variables": variables, **extra}
    return await http.post("/graphql", json=body, headers=headers)


async def unit_name(http: httpx.AsyncClient, city: LiveCity, **extra: Any) -> str:
    unit = gid("OrgUnit", city.demo.renheyuan.id)
    response = await post(http, NAME, {"id": unit}, city.token("city-admin"), **extra)
    body = response.json()
    assert not body.get("errors"), body
    return str(body["data"]["node"]["name"])


@contextmanager
def renamed(replica_uri: str, city: LiveCity, suffix: str) -> Iterator[str]:
    """The community renamed on the primary (committed), its old name restored afterwards."""
    unit = city.demo.renheyuan.id
    old = primary_sql(replica_uri, "SELECT name FROM org_unit WHERE id = %s", unit)
    new = f"{old}{suffix}"
    primary_sql(replica_uri, "UPDATE org_unit SET name = %s WHERE id = %s RETURNING 1", new, unit)
    try:
        yield new
    finally:
        primary_sql(
            replica_uri, "UPDATE org_unit SET name = %s WHERE id = %s RETURNING 1", old, unit
        )


async def test_a_query_is_served_by_the_replica(
    one: httpx.AsyncClient, fresh: Standby, replica_uri: str, replica_city: LiveCity
) -> None:
    """With its replay paused, the standby does not show a committed rename: the query that
    does not see it was answered there; once replay resumes, it sees it."""
    old = await unit_name(one, replica_city)
    fresh.pause()
    with renamed(replica_uri, replica_city, "·改") as new:
        before = served("replica")
        assert await unit_name(one, replica_city) == old
        assert served("replica") == before + 1
        fresh.resume()
        fresh.caught_up(replica_uri)
        assert await unit_name(one, replica_city) == new
        assert served("replica") == before + 2


async def test_a_lagging_replica_is_skipped(
    one: httpx.AsyncClient, fresh: Standby, replica_uri: str, replica_city: LiveCity
) -> None:
    """Replay paused past REPLICA_MAX_LAG_SECONDS: the primary answers (and sees the write),
    `/readyz` says the replica lags, and the app stays ready."""
    await unit_name(one, replica_city)
    fresh.pause()
    with renamed(replica_uri, replica_city, "·迟") as new:
        deadline = time.monotonic() + 10 * MAX_LAG
        while True:
            ready = (await one.get("/readyz")).json()
            if ready["replicas"][0]["status"] == "lagging":
                break
            assert time.monotonic() < deadline, ready
            await asyncio.sleep(0.2)
        assert ready["status"] == "ready"
        assert ready["replicas"][0]["lagSeconds"] > MAX_LAG
        unfit = skipped("unfit")
        assert await unit_name(one, replica_city) == new
        assert skipped("unfit") == unfit + 1
        metrics = (await one.get("/metrics")).text
        assert 'db_replica_up{replica="0"} 1.0' in metrics
        assert "db_replica_lag_seconds" in metrics


async def test_audit_rows_of_a_replica_served_query_are_on_the_primary(
    one: httpx.AsyncClient, fresh: Standby, replica_uri: str, replica_city: LiveCity
) -> None:
    building = gid("Building", replica_city.demo.building.id)
    head = replica_city.token("building-head")
    before = served("replica")
    response = await post(
        one, PHONES, {"id": building}, head, headers={"X-Request-ID": "replica-audit-1"}
    )
    assert response.status_code == 200, response.text
    nodes = response.json()["data"]["node"]["residents"]["nodes"]
    assert any(n["phone"] and "*" not in n["phone"] for n in nodes)  # read in full
    assert served("replica") == before + 1
    rows = primary_sql(
        replica_uri,
        "SELECT array_agg(action || ':' || object_type || ':' || array_to_string(fields, ','))"
        " FROM audit_log WHERE request_id = %s",
        "replica-audit-1",
    )
    assert rows == ["READ:Person:phone"]


async def test_compiled_queries_on_a_replica_leave_their_audit_rows_on_the_primary(
    fresh: Standby, replica_uri: str, replica_city: LiveCity, caplog: pytest.LogCaptureFixture
) -> None:
    """With the compiled path on (as served in production), a query reading phone numbers in
    full is answered on the replica by the resolvers (its compiled statement would insert
    the audit rows on a standby), and its audit row is on the primary; a query reading no
    personal data is answered by the compiled statement on the replica."""
    caplog.set_level(logging.DEBUG, logger="schema.compiled")
    building = gid("Building", replica_city.demo.building.id)
    with instance(replica_uri, fresh, compiled="on") as (base, _):
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            before = served("replica")
            response = await post(
                http,
                PHONES,
                {"id": building},
                replica_city.token("building-head"),
                headers={"X-Request-ID": "replica-audit-on"},
            )
            assert response.status_code == 200, response.text
            assert served("replica") == before + 1
            named = await post(
                http,
                NAME,
                {"id": gid("OrgUnit", replica_city.demo.renheyuan.id)},
                replica_city.token("city-admin"),
            )
            assert named.status_code == 200, named.text
            assert b'" : "' in named.content, "PostgreSQL's JSON spacing: the compiled path"
            assert served("replica") == before + 2
    rows = primary_sql(
        replica_uri,
        "SELECT array_agg(action || ':' || object_type || ':' || array_to_string(fields, ','))"
        " FROM audit_log WHERE request_id = %s",
        "replica-audit-on",
    )
    assert rows == ["READ:Person:phone"]
    said = [r.getMessage() for r in caplog.records if r.name == "schema.compiled"]
    assert not [m for m in said if "failed" in m], said  # never tried on the standby


async def test_an_answer_whose_audit_row_cannot_be_written_is_withheld(
    one: httpx.AsyncClient, fresh: Standby, replica_uri: str, replica_city: LiveCity
) -> None:
    """The primary refuses the audit row (a trigger stands in for an outage): no phone
    number leaves, the request fails with AUDIT_UNAVAILABLE (503, Retry-After)."""
    building = gid("Building", replica_city.demo.building.id)
    head = replica_city.token("building-head")
    primary_sql(
        replica_uri,
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'no audit today'; END $$;"
        " CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit()",
    )
    try:
        fresh.caught_up(replica_uri)
        before = served("replica")
        response = await post(
            one, PHONES, {"id": building}, head, headers={"X-Request-ID": "replica-audit-2"}
        )
        assert served("replica") == before + 1
    finally:
        primary_sql(replica_uri, "DROP FUNCTION refuse_audit() CASCADE")
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"]
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["AUDIT_UNAVAILABLE"]
    assert "phone" not in response.text.replace("Phones", "")
    count = "SELECT count(*) FROM audit_log WHERE request_id = %s"
    assert primary_sql(replica_uri, count, "replica-audit-2") == 0


async def test_a_query_with_a_mutations_position_sees_its_write(
    one: httpx.AsyncClient, fresh: Standby, replica_uri: str, replica_city: LiveCity
) -> None:
    """Replay paused: the petition just submitted is not on the replica. Sent back, the
    mutation's `extensions.consistency.lsn` (header or extension) sends the query to the
    primary, which shows it; once the replica has replayed it, the replica serves it."""
    building = gid("Building", replica_city.demo.building.id)
    resident = replica_city.token("resident")
    category = await category_id(one, resident)
    fresh.pause()
    petition, lsn = await submitted(one, resident, building, category)
    plain = await post(one, PETITION, {"id": petition}, resident)
    assert plain.json()["data"]["node"] is None  # the replica has not replayed it
    assert "consistency" not in plain.json()["extensions"]  # a query's answer carries none
    lsn_skips = skipped("lsn")
    by_header = await post(
        one, PETITION, {"id": petition}, resident, headers={"X-Consistency-LSN": lsn}
    )
    assert by_header.json()["data"]["node"]["id"] == petition
    by_extension = await post(
        one, PETITION, {"id": petition}, resident, extensions={"consistency": {"lsn": lsn}}
    )
    assert by_extension.json()["data"]["node"]["id"] == petition
    assert skipped("lsn") == lsn_skips + 2
    fresh.resume()
    fresh.caught_up(replica_uri)
    before = served("replica")
    again = await post(
        one, PETITION, {"id": petition}, resident, headers={"X-Consistency-LSN": lsn}
    )
    assert again.json()["data"]["node"]["id"] == petition
    assert served("replica") == before + 1


async def submitted(
    http: httpx.AsyncClient, token: str, building: str, category: str
) -> tuple[str, str]:
    """Submit a petition: its id, and the commit position its answer carries (in the body
    and the header alike)."""
    response = await post(
        http,
        SUBMIT,
        {
            "input": {
                "idempotencyKey": f"replica-{time.monotonic_ns()}",
                "channel": "ONLINE",
                "categoryId": category,
                "buildingId": building,
                "title": "楼道灯不亮",
                "description": "2单元三楼的灯坏了",
                "anonymous": False,
            }
        },
        token,
    )
    body = response.json()
    assert body["data"]["submitPetition"]["errors"] == [], body
    lsn = body["extensions"]["consistency"]["lsn"]
    assert response.headers["X-Consistency-LSN"] == lsn
    return str(body["data"]["submitPetition"]["petition"]["id"]), str(lsn)


async def test_a_malformed_position_is_refused(
    one: httpx.AsyncClient, replica_city: LiveCity
) -> None:
    for given in ("yesterday", "0/XYZ", "1/2/3"):
        response = await post(
            one, NAME, {"id": "x"}, replica_city.token("resident"),
            headers={"X-Consistency-LSN": given},
        )  # fmt: skip
        assert response.status_code == 400
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert error["extensions"]["field"] == "extensions.consistency.lsn"


async def test_a_stopped_replica_sends_queries_to_the_primary(
    one: httpx.AsyncClient, fresh: Standby, replica_city: LiveCity
) -> None:
    old = await unit_name(one, replica_city)
    fresh.stop()
    before = served("primary")
    assert await unit_name(one, replica_city) == old
    assert served("primary") == before + 1
    deadline = time.monotonic() + 10
    while (ready := (await one.get("/readyz")).json())["replicas"][0]["status"] != "down":
        assert time.monotonic() < deadline, ready
        await asyncio.sleep(0.2)
    assert ready["status"] == "ready"
    assert ready["replicas"][0]["error"]
    fresh.ensure_running()
    deadline = time.monotonic() + 10
    while (ready := (await one.get("/readyz")).json())["replicas"][0]["status"] != "up":
        assert time.monotonic() < deadline, ready
        await asyncio.sleep(0.2)
    before = served("replica")
    assert await unit_name(one, replica_city) == old
    assert served("replica") == before + 1


async def test_two_instances_share_subscriptions_resolved_on_the_replica(
    fresh: Standby, replica_uri: str, replica_city: LiveCity
) -> None:
    """A subscriber of instance A gets the steps made through instance B; the payloads are
    resolved on the replica once it shows the event, and on the primary when it does not
    replay it in time (its replay paused)."""
    admin = replica_city.token("community-admin")
    under = gid("OrgUnit", replica_city.demo.renheyuan.id)
    building = gid("Building", replica_city.demo.building.id)
    with instance(replica_uri, fresh) as (a, app_a), instance(replica_uri, fresh) as (b, _):
        live: Live = app_a.state.live
        socket = await connected(a, admin)
        await socket.subscribe("events", EVENTS, {"u": under})
        await socket.send({"type": "ping"})
        while (await socket.receive())["type"] != "pong":
            pass
        async with httpx.AsyncClient(base_url=b, timeout=30) as http:
            petition = await submit(http, replica_city.token("resident"), building)
            first = (await socket.next("events"))["data"]["petitionEvents"]
            assert first["event"]["action"] == "SUBMIT"
            assert first["petition"]["id"] == petition["id"]
            assert live.stats.on_replica == 1
            fresh.pause()
            accepted = await move(http, admin, petition, "ACCEPT")
            second = (await socket.next("events", within=10 * MAX_LAG))["data"]
            assert second["petitionEvents"]["event"]["action"] == "ACCEPT"
            assert second["petitionEvents"]["petition"]["status"] == accepted["status"]
            assert live.stats.on_replica == 1  # waited, then the primary resolved it
        await socket.close()


def test_lag_is_measured_against_the_primarys_positions() -> None:
    """A replica's lag is the age of the oldest position of the primary it has not replayed,
    0 when it has them all, unknown before any probe of the primary."""
    now = [100.0]
    databases = Databases(primary=None, replicas=[], clock=lambda: now[0])  # type: ignore[arg-type]
    assert databases.lag_of(5) is None
    databases._marks.extend([(97.0, 10), (98.0, 20), (99.5, 30)])
    assert databases.lag_of(30) == 0.0
    assert databases.lag_of(25) == pytest.approx(0.5)
    assert databases.lag_of(10) == pytest.approx(2.0)
    assert databases.lag_of(0) == pytest.approx(3.0)
    replica = Replica(0, "postgresql://u:secret@db.example:6432/x", None, None, up=True, lag=2.0)  # type: ignore[arg-type]
    databases.replicas.append(replica)
    databases.max_lag = 1.5
    [state] = databases.readiness()
    assert state == {"replica": 0, "at": "db.example:6432", "status": "lagging", "lagSeconds": 2.0}
