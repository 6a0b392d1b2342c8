"""Fixtures shared by the identity and people tests: security settings for one test, and
anonymous clients calling from a given client address."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.identity import security_settings
from schema.http import build_app
from tests.conftest import GraphQLClient

Settings = Callable[..., None]
FromAddress = Callable[..., GraphQLClient]


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """`settings(SIGN_IN_ADDRESS_FREE_ATTEMPTS=4)`: security settings for this test only."""

    def apply(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        security_settings.cache_clear()

    yield apply
    security_settings.cache_clear()


@pytest.fixture
async def from_address(
    database_uri: str, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FromAddress]:
    """`from_address("203.0.113.9", headers)`: a client whose TCP peer is that address, on
    an app instance of its own (several instances share one database)."""
    app = build_app(database_uri, sessionmaker=sessions)
    opened: list[httpx.AsyncClient] = []

    def make(address: str, headers: dict[str, str] | None = None) -> GraphQLClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40_000))
        client = httpx.AsyncClient(transport=transport, base_url="http://test")
        opened.append(client)
        return GraphQLClient(client, headers or {})

    yield make
    for client in opened:
        await client.aclose()
