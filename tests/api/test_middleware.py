"""Request ids come from pure ASGI middleware (Starlette's BaseHTTPMiddleware costs
measurably per request), which also turns an unexpected failure into a GraphQL-shaped 500."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware.base import BaseHTTPMiddleware

from schema.http import RequestIds, build_app
from schema.transport import GraphQLEndpoint


def test_no_base_http_middleware(database_uri: str) -> None:
    app = build_app(database_uri)
    classes: list[object] = [m.cls for m in app.user_middleware]
    assert RequestIds in classes
    assert BaseHTTPMiddleware not in classes


async def test_an_unexpected_failure_is_a_graphql_shaped_500(
    database_uri: str,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("postgresql://secret@db is down")

    monkeypatch.setattr(GraphQLEndpoint, "run", broken)
    app = build_app(database_uri, sessionmaker=sessions)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"X-Request-ID": "req-boom"}
        )
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["X-Request-ID"] == "req-boom"
    assert response.json() == {
        "errors": [
            {
                "message": "Internal server error (request req-boom)",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-boom"},
            }
        ]
    }
    assert "secret" not in response.text
    logged = [r for r in caplog.records if "req-boom" in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR


@pytest.mark.parametrize("given", ["a b", "x" * 65, "trace\u00e9", "id\r\nX-Evil: 1", ""])
async def test_a_malformed_incoming_request_id_is_replaced(
    given: str, http: httpx.AsyncClient
) -> None:
    response = await http.get("/healthz", headers={b"X-Request-ID": given.encode("latin-1")})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
