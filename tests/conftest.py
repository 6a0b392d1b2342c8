"""Test harness: a fresh, migrated PostgreSQL database per run, the demo city seeded once,
and one rolled-back transaction per test shared by every request the test makes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from models.config import get_settings
from models.db import (
    DRIVER_STATEMENTS,
    database_name,
    make_engine,
    normalise,
    start_embedded,
    with_database,
)
from models.identity import Account
from models.migrate import upgrade
from permissions.limits import Limits
from resolvers.identity import issue_access_token
from schema.http import build_app
from seeds.accounts import seed_demo_accounts
from seeds.demo import DemoCity, seed_demo


def _test_database_uri() -> str:
    """TEST_DATABASE_URL; else a `<db>_test_<pid>` database beside DATABASE_URL or embedded.

    The pid suffix lets two runs (a developer's and CI's) share one server.
    """
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return normalise(explicit)
    settings = get_settings()
    if settings.database_url:
        server = normalise(settings.database_url)
        prefix = database_name(server)
    else:
        server = start_embedded(settings.data_dir)
        prefix = "redbuildings"
    return with_database(server, f"{prefix}_test_{os.getpid()}")


def _admin(uri: str, *statements: sql.Composed) -> None:
    with psycopg.connect(with_database(uri, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _drop(name: str) -> sql.Composed:
    return sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))


def _drop_stale(uri: str) -> None:
    """Drop test databases left by runs whose process is gone."""
    stem = database_name(uri).rsplit("_", 1)[0]
    with psycopg.connect(with_database(uri, "postgres"), autocommit=True) as conn:
        names = [
            str(row[0])
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (stem + "_",)
            )
        ]
    pids = [name.rsplit("_", 1)[1] for name in names]
    _admin(
        uri,
        *[
            _drop(name)
            for name, pid in zip(names, pids, strict=True)
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}")
        ],
    )


@pytest.fixture(scope="session")
def database_uri() -> Iterator[str]:
    uri = _test_database_uri()
    name = database_name(uri)
    if "TEST_DATABASE_URL" not in os.environ:
        _drop_stale(uri)
    _admin(uri, _drop(name), sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    upgrade(uri)
    yield uri
    _admin(uri, _drop(name))


@pytest.fixture
def scratch_database(database_uri: str) -> Iterator[str]:
    """An empty database beside the test database, dropped after the test: for migrations
    run down and up, which the shared database must not see. Named so that a run whose
    process died leaves it to `_drop_stale`."""
    stem, _, pid = database_name(database_uri).rpartition("_")
    name = f"{stem}_scratch_{pid}" if stem and pid.isdigit() else f"{pid}_scratch"
    _admin(database_uri, _drop(name), sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(database_uri, name)
    finally:
        _admin(database_uri, _drop(name))


@pytest.fixture(scope="session")
async def engine(database_uri: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_uri, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
async def seeded(engine: AsyncEngine) -> tuple[DemoCity, dict[str, Account]]:
    """The demo city and its sign-in accounts, committed once for the whole run."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        city = await seed_demo(session)
        accounts = await seed_demo_accounts(session, city)
        await session.commit()
    return city, accounts


@pytest.fixture(scope="session")
def demo(seeded: tuple[DemoCity, dict[str, Account]]) -> DemoCity:
    return seeded[0]


@pytest.fixture(scope="session")
def accounts(seeded: tuple[DemoCity, dict[str, Account]]) -> dict[str, Account]:
    """Demo accounts by handle: city-admin, community-admin, building-head, resident ..."""
    return seeded[1]


@pytest.fixture
async def connection(engine: AsyncEngine, demo: DemoCity) -> AsyncIterator[AsyncConnection]:
    """One connection in an outer transaction, rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield conn
        await outer.rollback()


@pytest.fixture
def sessions(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions whose commits become savepoints of the test's outer transaction."""
    return async_sessionmaker(
        bind=connection,
        class_=AsyncSession,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        yield s


@pytest.fixture
async def demo_petitions(session: AsyncSession, demo: DemoCity) -> DemoCity:
    """The demo city's petitions and wishes, inside this test's transaction only (the shared
    demo has none, so that petition tests start from an empty workflow)."""
    from seeds.petitions import seed_demo_petitions

    await seed_demo_petitions(session, demo)
    await session.commit()
    return demo


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient
    headers: dict[str, str] = field(default_factory=dict)

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={**self.headers, **headers},
        )
        assert response.status_code in (200, 400), response.text
        body: dict[str, Any] = response.json()
        return body

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """Run an operation that must succeed; return its `data`."""
        body = await self.raw(query, variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[Any]:
        body = await self.raw(query, variables)
        assert body.get("errors"), body
        return list(body["errors"])


def bearer(account: Account) -> dict[str, str]:
    assert account.id is not None
    return {"Authorization": f"Bearer {issue_access_token(account.id)}"}


@pytest.fixture
def limits() -> Limits | None:
    """The request limits of the app under test: the environment's unless a module
    overrides this fixture (`Limits.lifted()` for walks that are about something else)."""
    return None


@pytest.fixture
def compiled() -> str | None:
    """GRAPHQL_COMPILED of the app under test: the environment's (`verify`: both paths,
    compared) unless a module overrides this fixture (`on`, `off`: what production runs)."""
    return None


@pytest.fixture
async def http(
    database_uri: str,
    sessions: async_sessionmaker[AsyncSession],
    limits: Limits | None,
    compiled: str | None,
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(database_uri, sessionmaker=sessions, limits=limits, compiled=compiled)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient, accounts: dict[str, Account]) -> GraphQLClient:
    """A client signed in as the demo city admin (full scope; personal data as admins see it)."""
    return GraphQLClient(http, bearer(accounts["city-admin"]))


@pytest.fixture
def as_account(
    http: httpx.AsyncClient, accounts: dict[str, Account]
) -> Callable[[str], GraphQLClient]:
    """`as_account("grid-worker")`: a client signed in as that demo account."""
    return lambda handle: GraphQLClient(http, bearer(accounts[handle]))


@pytest.fixture
def anonymous(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@dataclass
class StatementCounter:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture
def sql_statements(engine: AsyncEngine) -> Iterator[StatementCounter]:
    """Records every SQL statement sent while the test runs (savepoints excluded)."""
    counter = StatementCounter()

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            counter.statements.append(statement)

    def on_driver(statement: str) -> None:
        record(None, None, statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    DRIVER_STATEMENTS.append(on_driver)
    yield counter
    DRIVER_STATEMENTS.remove(on_driver)
    event.remove(engine.sync_engine, "before_cursor_execute", record)


async def scalar(session: AsyncSession, statement: str, **params: Any) -> Any:
    return (await session.execute(sa.text(statement), params)).scalar()
