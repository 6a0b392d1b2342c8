"""/metrics in the Prometheus text format, protected, and one JSON line per request in the
request log (never a personal value)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ops import metrics
from ops.metrics import REGISTRY, REQUEST_LOG
from resolvers.scheduler import run_scheduler
from schema.http import build_app
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, StatementCounter
from tests.permissions.support import gid

QUERY = "query CityName { city { name } }"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def scrape(http: httpx.AsyncClient, **headers: str) -> httpx.Response:
    return await http.get("/metrics", headers=headers)


@pytest.fixture
async def remote(
    database_uri: str, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling from a public address."""
    app = build_app(database_uri, sessionmaker=sessions)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_requests_are_counted_by_operation_and_outcome(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    ok = sample("graphql_requests_total", operation="CityName", outcome="ok")
    refused = sample("graphql_requests_total", operation="Broken", outcome="refused")
    timed = sample("http_request_duration_seconds_count", route="graphql", operation="CityName")
    await gql(QUERY)
    await gql.raw("query Broken { city { nosuch } }")
    response = await http.post(
        "/graphql", json={"query": QUERY}, headers={"Authorization": "Bearer nonsense"}
    )
    assert response.status_code == 401
    assert sample("graphql_requests_total", operation="CityName", outcome="ok") == ok + 1
    assert sample("graphql_requests_total", operation="Broken", outcome="refused") == refused + 1
    assert sample("graphql_requests_total", operation="CityName", outcome="unauthenticated") >= 1
    assert (
        sample("http_request_duration_seconds_count", route="graphql", operation="CityName")
        == timed + 2
    )
    page = await scrape(http)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(page.text)}
    assert {
        "graphql_requests",
        "http_request_duration_seconds",
        "sql_statements_per_request",
        "db_pool_size",
        "db_pool_checked_out",
        "db_pool_overflow",
        "graphql_subscriptions_open",
        "scheduler_runs",
        "scheduler_rows",
    } <= names


async def test_statements_per_request_are_counted(
    gql: GraphQLClient, sql_statements: StatementCounter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=REQUEST_LOG.name)
    before = sample("sql_statements_per_request_sum", route="graphql")
    sql_statements.reset()
    await gql(QUERY)
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == REQUEST_LOG.name]
    assert line["statements"] >= sql_statements.count >= 2  # the caller, then the city
    assert sample("sql_statements_per_request_sum", route="graphql") == before + line["statements"]


async def test_one_json_line_per_request_without_personal_values(
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=REQUEST_LOG.name)
    worker = as_account("grid-worker")
    query = "query Someone($id: ID!) { node(id: $id) { ... on Person { name phone } } }"
    data = await worker(query, {"id": gid("Person", demo.resident_alone.id)})
    person = data["node"]
    assert person["phone"]
    lines = [r.getMessage() for r in caplog.records if r.name == REQUEST_LOG.name]
    [line] = lines
    record = json.loads(line)
    assert set(record) == {
        "at",
        "requestId",
        "method",
        "path",
        "status",
        "actorKind",
        "operationName",
        "outcome",
        "durationMs",
        "statements",
    }
    assert record["actorKind"] == "PERSON"
    assert record["operationName"] == "Someone"
    assert record["outcome"] == "ok"
    assert record["status"] == 200
    assert record["durationMs"] > 0
    for value in (person["name"], person["phone"], gid("Person", demo.resident_alone.id)):
        assert value not in line


async def test_a_get_query_string_is_never_logged(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=REQUEST_LOG.name)
    secret = "13800001234"
    await gql.http.get(
        "/graphql",
        params={
            "query": "query Q($p: String) { city { name } }",
            "variables": json.dumps({"p": secret}),
        },
        headers=gql.headers,
    )
    [line] = [r.getMessage() for r in caplog.records if r.name == REQUEST_LOG.name]
    assert json.loads(line)["path"] == "/graphql"
    assert secret not in line


async def test_metrics_are_for_the_loopback_or_a_token(
    remote: httpx.AsyncClient, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await scrape(remote)).status_code == 403
    assert (await scrape(http, **{"X-Forwarded-For": "198.51.100.7"})).status_code == 403
    assert (await scrape(http, Forwarded="for=198.51.100.7")).status_code == 403
    monkeypatch.setenv("METRICS_TOKEN", "scrape-me-please")
    assert (await scrape(remote, Authorization="Bearer scrape-me-please")).status_code == 200
    assert (await scrape(remote, Authorization="Bearer wrong")).status_code == 403
    assert (await scrape(http, Authorization="Bearer wrong")).status_code == 403


async def test_scheduler_runs_and_escalations_are_counted(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    runs = sample("scheduler_runs_total", outcome="ok")
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(sessions, 60, stop))
    for _ in range(100):
        await asyncio.sleep(0.02)
        if sample("scheduler_runs_total", outcome="ok") > runs:
            break
    stop.set()
    await task
    assert sample("scheduler_runs_total", outcome="ok") == runs + 1
    page = "\n".join(
        f"{s.name}{s.labels}"
        for family in REGISTRY.collect()
        for s in family.samples
        if s.name == "scheduler_rows_total"
    )
    assert "petitions.escalate_overdue" in page


async def test_the_pool_of_an_app_with_its_own_engine_is_watched(database_uri: str) -> None:
    app = build_app(database_uri)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/readyz")).status_code == 200
        assert sample("db_pool_size") >= 1
    for pool in list(metrics.POOLS.pools):
        pool.dispose()


def test_operation_names_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_operations", set())
    monkeypatch.setattr(metrics, "MAX_OPERATIONS", 2)
    assert [metrics.operation_label(n) for n in ("A", "B", "C", "A", None)] == [
        "A",
        "B",
        "other",
        "A",
        "anonymous",
    ]
