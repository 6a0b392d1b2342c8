"""While PostgreSQL is unreachable: HTTP 503 with Retry-After and a SERVICE_UNAVAILABLE error
carrying the request id, one log line per request (no traceback), /readyz reporting it,
and recovery without a restart once the database is back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import pytest
from fastapi import FastAPI

from models.identity import Account
from ops.metrics import REQUEST_LOG
from schema.http import build_app
from tests.conftest import bearer
from tests.server import free_port

SIGNED_IN_QUERY = "{ me { kind } city { name } }"


class Proxy:
    """A TCP front for the test database that can be cut and restored, standing in for a
    database host that goes away and comes back."""

    def __init__(self, database_uri: str) -> None:
        parts = urlsplit(database_uri)
        host = parse_qs(parts.query).get("host", [parts.hostname or "localhost"])[0]
        port = parts.port or 5432
        self.unix = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else None
        self.target = (host, port)
        self.port = free_port()
        netloc = f"{parts.username or 'postgres'}"
        netloc += f":{parts.password}" if parts.password else ""
        self.uri = urlunsplit(("postgresql", f"{netloc}@127.0.0.1:{self.port}", parts.path, "", ""))
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self.relay, "127.0.0.1", self.port)

    async def down(self) -> None:
        """Refuse new connections and break the open ones, as a dead host does."""
        assert self.server is not None
        self.server.close()
        for writer in list(self.open):
            writer.transport.abort()
        self.open.clear()
        await self.server.wait_closed()
        self.server = None

    async def relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.unix:
            upstream_reader, upstream_writer = await asyncio.open_unix_connection(self.unix)
        else:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.open |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while chunk := await source.read(65_536):
                    sink.write(chunk)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (which disposes of its engine at the end)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def assert_unavailable(response: httpx.Response, caplog: pytest.LogCaptureFixture) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["content-type"].startswith("application/json")
    rid = response.headers["X-Request-ID"]
    body = response.json()
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"SERVICE_UNAVAILABLE"}
    assert {e["extensions"]["requestId"] for e in body["errors"]} == {rid}
    # the request log (`app.requests`) has its one line per request besides
    ours = [r for r in caplog.records if rid in r.getMessage() and r.name != REQUEST_LOG.name]
    assert len(ours) == 1, [r.getMessage() for r in caplog.records]
    assert ours[0].levelno == logging.WARNING
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text


async def test_a_database_that_is_not_there(
    accounts: dict[str, Account], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = build_app(f"postgresql://app:secret@127.0.0.1:{free_port()}/nowhere")
    async with running(app) as client:
        for _ in range(3):
            caplog.clear()
            response = await client.post(
                "/graphql", json={"query": SIGNED_IN_QUERY}, headers=bearer(accounts["city-admin"])
            )
            assert_unavailable(response, caplog)
            assert "secret" not in response.text
        # A request that needs the database only while it runs: still one 503, one line.
        caplog.clear()
        running_query = "{ city { name } orgUnits { totalCount } buildings { totalCount } }"
        assert_unavailable(await client.post("/graphql", json={"query": running_query}), caplog)
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        # What needs no database still answers.
        alive = await client.post("/graphql", json={"query": "{ __typename }"})
        assert alive.json()["data"] == {"__typename": "Query"}
        assert (await client.get("/healthz")).status_code == 200


async def test_an_outage_gets_503_and_the_app_recovers_by_itself(
    database_uri: str, accounts: dict[str, Account], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    proxy = Proxy(database_uri)
    await proxy.up()
    headers = bearer(accounts["city-admin"])
    async with running(build_app(proxy.uri)) as client:

        async def ask() -> httpx.Response:
            return await client.post("/graphql", json={"query": SIGNED_IN_QUERY}, headers=headers)

        before = await ask()
        assert before.status_code == 200, before.text
        assert before.json()["data"]["me"] == {"kind": "PERSON"}

        await proxy.down()  # pooled connections break, new ones are refused
        for _ in range(3):
            caplog.clear()
            assert_unavailable(await ask(), caplog)
        assert (await client.get("/readyz")).status_code == 503

        await proxy.up()
        after = await ask()
        assert after.status_code == 200, after.text
        assert after.json()["data"]["city"]["name"]
        assert (await client.get("/readyz")).status_code == 200
    await proxy.down()
