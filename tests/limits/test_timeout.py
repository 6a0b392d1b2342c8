"""A statement timeout per request (a clean TIMEOUT error, never a hang), and an event loop
that keeps answering /healthz while heavy but allowed requests run: on a real server."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import httpx
import pytest
import sqlalchemy as sa
from graphql import get_introspection_query
from sqlalchemy.ext.asyncio import AsyncEngine

from models.identity import Account
from permissions.limits import Limits
from schema.http import build_app
from tests.conftest import bearer
from tests.server import serving

TIMEOUT_MS = 300


async def test_a_statement_over_the_timeout_is_a_clean_error(
    database_uri: str,
    engine: AsyncEngine,
    accounts: dict[str, Account],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    app = build_app(database_uri, limits=dataclasses.replace(Limits(), statement_timeout_ms=300))
    headers = {**bearer(accounts["city-admin"]), "X-Request-ID": "req-slow"}
    with serving(app) as base:
        async with engine.connect() as blocker, httpx.AsyncClient(timeout=30) as client:
            await blocker.begin()  # holds the org tree until the request has been answered
            await blocker.execute(sa.text("LOCK TABLE org_unit IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            response = await client.post(
                f"{base}/graphql",
                json={"query": "{ me { kind } city { name } }"},
                headers=headers,
            )
            waited = time.monotonic() - started
            await blocker.rollback()
            ready = await client.get(f"{base}/readyz")
    assert waited < 10  # the timeout answered, not the release of the lock
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"me": {"kind": "PERSON"}, "city": None}
    [error] = body["errors"]
    assert error["extensions"] == {"code": "TIMEOUT", "requestId": "req-slow"}
    assert error["path"] == ["city"]
    assert "req-slow" in caplog.text
    assert "Traceback" not in caplog.text
    assert ready.status_code == 200  # the connection went back to the pool in working order


def introspections(count: int) -> str:
    """GraphiQL's introspection query, `count` times in one operation (11,000 each)."""
    query = get_introspection_query()
    start = query.index("{", query.index("__schema"))
    end, depth = start, 0
    while end == start or depth:
        depth += {"{": 1, "}": -1}.get(query[end], 0)
        end += 1
    block = query[start:end]
    fragments = query[query.index("fragment") :]
    aliased = " ".join(f"i{i}: __schema {block}" for i in range(count))
    return f"query {{ {aliased} }}\n{fragments}"


@dataclasses.dataclass
class Health:
    answered: int  # /healthz answers received while the heavy requests were running
    slowest: float  # the longest of those /healthz round trips, in seconds
    heavy: float  # how long the heavy requests took, in seconds


async def health_while(base: str, heavy: list[tuple[str, dict[str, str]]]) -> Health:
    """Ask /healthz, one request after another, while the `heavy` requests run. The heavy
    ones are sent from threads of their own: reading their large answers must not delay
    the /healthz client."""

    def send(query: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{base}/graphql", json={"query": query}, headers=headers, timeout=60)

    async with httpx.AsyncClient(timeout=30) as client:
        started = time.monotonic()
        runs = [asyncio.create_task(asyncio.to_thread(send, q, h)) for q, h in heavy]
        await asyncio.sleep(0.01)  # the heavy requests are on their way
        answered, slowest = 0, 0.0
        while not all(run.done() for run in runs):
            asked = time.monotonic()
            health = await client.get(f"{base}/healthz")
            assert health.status_code == 200
            answered += 1
            slowest = max(slowest, time.monotonic() - asked)
        for run in runs:
            response = await run
            assert response.status_code == 200
            assert "errors" not in response.json(), response.json()["errors"]
        return Health(answered, slowest, time.monotonic() - started)


async def test_healthz_answers_while_introspections_run(
    database_uri: str, accounts: dict[str, Account]
) -> None:
    """Reading the schema is CPU only: it runs beside the event loop, not on it (200 aliased
    introspections used to freeze /healthz for 7 s). Six in one request, allowed by a
    budget raised to 70,000, as an operator may raise it."""
    limits = dataclasses.replace(Limits(), cost_person=70_000)
    signed_in = bearer(accounts["city-admin"])
    with serving(build_app(database_uri, limits=limits)) as base:
        health = await health_while(base, [(introspections(6), signed_in)])
    # On the loop, one /healthz would wait out nearly the whole request.
    assert health.answered >= 3
    assert health.slowest < health.heavy / 3, health


async def test_healthz_answers_while_a_costly_query_runs(
    database_uri: str, accounts: dict[str, Account]
) -> None:
    """About the costliest shape a person may ask for (24,802 of 25,000), reading nothing
    personal: full reads would be audited, and this server commits."""
    query = """{ buildings(first: 100) { nodes { id name address motto cultureLabels
        households(first: 10) { totalCount nodes { id unit tenure members { id createdAt } } }
    } } }"""
    signed_in = bearer(accounts["city-admin"])
    with serving(build_app(database_uri)) as base:
        health = await health_while(base, [(query, signed_in)] * 2)
    assert health.answered >= 2
    assert health.slowest < health.heavy / 2, health
