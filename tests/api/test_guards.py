"""Guards that make mistakes loud: lazy loads, unexpected errors, request ids."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncSession

from models.org import Building
from resolvers import org as org_resolvers
from schema import org as org_schema
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient


async def test_an_accidental_lazy_load_raises(session: AsyncSession, demo: DemoCity) -> None:
    building = await session.get(Building, demo.building.id)
    assert building is not None
    session.expire(building)
    with pytest.raises(MissingGreenlet):
        _ = building.name


async def test_unexpected_errors_are_masked_and_carry_the_request_id(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> object:
        raise RuntimeError("connection string postgresql://secret@db")

    monkeypatch.setattr(org_resolvers, "stats_of", broken)  # counted from the rows
    monkeypatch.setattr(org_schema, "org_stats_maintained", broken)  # read (a city admin's)
    response = await gql.http.post(
        "/graphql",
        json={"query": "{ city { name stats { grids } } }"},
        headers={**gql.headers, "X-Request-ID": "req-test-42"},
    )
    body = response.json()
    assert response.headers["X-Request-ID"] == "req-test-42"
    [error] = body["errors"]
    assert "secret" not in error["message"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-test-42"}
    assert body["data"]["city"] is None


async def test_validation_errors_have_a_code(gql: GraphQLClient) -> None:
    [error] = await gql.errors("{ city { noSuchField } }")
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["extensions"]["requestId"]
