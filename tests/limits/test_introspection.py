"""In production (APP_ENV=production) anonymous callers neither introspect the schema nor get
"Did you mean ..." suggestions; signed-in callers do, and in development everybody does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from graphql import get_introspection_query
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.identity import Account
from permissions.limits import Limits
from schema.http import build_app
from tests.conftest import GraphQLClient, StatementCounter, bearer

PRODUCTION = Limits.configured({}, production=True)
INTROSPECTIONS = [
    get_introspection_query(),
    '{ __type(name: "Person") { name fields { name } } }',
    "{ me { kind } __schema { types { name } } }",
    "query { ...I } fragment I on Query { __schema { queryType { name } } }",
]
#: Misspellings the schema would otherwise suggest a correction for.
MISSPELT = [
    ("{ nodez(ids: []) { id } }", {}),
    ("{ me { kinds } }", {}),
    ("{ orgUnits(kind: GRIDD) { totalCount } }", {}),
    ("query($k: OrgKind) { orgUnits(kind: $k) { totalCount } }", {"k": "GRIDD"}),
    ("{ orgUnits(kindd: GRID) { totalCount } }", {}),
]


@pytest.fixture
async def production(
    database_uri: str, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(database_uri, sessionmaker=sessions, limits=PRODUCTION)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def test_production_turns_both_off_for_anonymous_callers() -> None:
    assert not PRODUCTION.anonymous_introspection
    assert not PRODUCTION.anonymous_suggestions
    development = Limits.configured({}, production=False)
    assert development.anonymous_introspection
    assert development.anonymous_suggestions


@pytest.mark.parametrize("query", INTROSPECTIONS)
async def test_anonymous_callers_cannot_introspect_in_production(
    query: str, production: httpx.AsyncClient, sql_statements: StatementCounter
) -> None:
    errors = await GraphQLClient(production).errors(query)
    assert [e["extensions"]["code"] for e in errors] == ["INTROSPECTION_DISABLED"]
    assert sql_statements.count == 0


async def test_the_typename_is_no_introspection(production: httpx.AsyncClient) -> None:
    assert await GraphQLClient(production)("{ __typename }") == {"__typename": "Query"}


@pytest.mark.parametrize("query", INTROSPECTIONS)
async def test_signed_in_callers_introspect_in_production(
    query: str, production: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    data = await GraphQLClient(production, bearer(accounts["resident"]))(query)
    assert data


@pytest.mark.parametrize("query", INTROSPECTIONS)
async def test_everybody_introspects_in_development(query: str, anonymous: GraphQLClient) -> None:
    assert await anonymous(query)


@pytest.mark.parametrize(("query", "variables"), MISSPELT)
async def test_no_suggestions_for_anonymous_callers_in_production(
    query: str, variables: dict[str, str], production: httpx.AsyncClient
) -> None:
    errors = await GraphQLClient(production).errors(query, variables)
    assert errors
    assert not any("Did you mean" in e["message"] for e in errors), errors


@pytest.mark.parametrize(("query", "variables"), MISSPELT)
async def test_suggestions_for_signed_in_callers_in_production(
    query: str,
    variables: dict[str, str],
    production: httpx.AsyncClient,
    accounts: dict[str, Account],
) -> None:
    errors = await GraphQLClient(production, bearer(accounts["resident"])).errors(query, variables)
    assert any("Did you mean" in e["message"] for e in errors), errors


@pytest.mark.parametrize(("query", "variables"), MISSPELT)
async def test_suggestions_for_everybody_in_development(
    query: str, variables: dict[str, str], anonymous: GraphQLClient
) -> None:
    errors = await anonymous.errors(query, variables)
    assert any("Did you mean" in e["message"] for e in errors), errors
