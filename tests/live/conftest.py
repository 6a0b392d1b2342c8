"""Live data tests run real servers (uvicorn on loopback ports) over a database of their own:
events are announced only when a transaction commits, so these tests commit, and keep their
rows out of the shared test database the other tests roll back in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models.db import database_name, make_engine, with_database
from models.live import LiveSettings
from models.migrate import upgrade
from schema.http import build_app
from seeds.accounts import seed_demo_accounts
from seeds.demo import seed_demo
from tests.live.support import LiveCity, Servers
from tests.server import serving


def _admin(uri: str, *statements: sql.Composed) -> None:
    with psycopg.connect(with_database(uri, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture(scope="session")
def live_uri(database_uri: str) -> Iterator[str]:
    name = database_name(database_uri) + "_live"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    _admin(database_uri, drop, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    uri = with_database(database_uri, name)
    upgrade(uri)
    yield uri
    _admin(database_uri, drop)


@pytest.fixture(scope="session")
async def live_engine(live_uri: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(live_uri, pool_size=3)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def city(live_engine: AsyncEngine) -> LiveCity:
    """The demo city and its accounts, committed in the live database."""
    async with AsyncSession(live_engine, expire_on_commit=False) as session:
        demo = await seed_demo(session)
        accounts = await seed_demo_accounts(session, demo)
        await session.commit()
    return LiveCity(demo, accounts, live_engine)


#: Short bounds, so that the tests about them do not wait for the defaults.
TEST_SETTINGS = LiveSettings(init_timeout=0.5, max_subscriptions=3, send_queue=20)


@pytest.fixture
def servers(live_uri: str, city: LiveCity) -> Iterator[Servers]:
    """`servers.start()` serves the app (another instance each call) until the test ends."""
    started: list[AbstractContextManager[str]] = []
    found = Servers(lambda settings=TEST_SETTINGS: "")

    def start(settings: LiveSettings = TEST_SETTINGS) -> str:
        app = build_app(live_uri, live=settings)
        running = serving(app)
        started.append(running)
        base = running.__enter__()
        found.apps[base] = app
        return base

    found.start = start
    yield found
    for running in reversed(started):
        running.__exit__(None, None, None)


@pytest.fixture
def server(servers: Servers) -> str:
    return servers.start()


@pytest.fixture
async def client(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        yield http
