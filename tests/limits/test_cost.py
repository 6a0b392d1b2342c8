"""The cost of a request, estimated from list sizes before it runs: a budget per actor kind,
refused when over it (before any SQL but the credential lookup), and `extensions.cost`
in every response so integrators can see where they stand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from permissions.limits import Limits
from schema.relay import to_global_id
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, StatementCounter
from tests.permissions.support import token_client

LIMITS = Limits()


async def cost_of(
    client: GraphQLClient, query: str, variables: dict[str, Any] | None = None
) -> Any:
    body = await client.raw(query, variables)
    return body["extensions"]["cost"]


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        pytest.param("{ buildings(first: 10) { nodes { name } } }", {}, 1 + 1 + 10, id="page"),
        pytest.param("{ buildings { nodes { name } } }", {}, 1 + 1 + 20, id="default-page"),
        pytest.param(
            "{ buildings(last: 4) { totalCount pageInfo { hasNextPage } nodes { name } } }",
            {},
            1 + 1 + (1 + 1) + (1 + 4),
            id="last-and-page-info",
        ),
        pytest.param(
            "{ buildings(first: 10) { edges { cursor node { name } } } }",
            {},
            1 + 1 + 10 * (1 + 1 + 1),
            id="edges",
        ),
        pytest.param(
            "{ orgUnits(first: 10) { nodes { buildings(first: 5) { totalCount nodes { id } } } } }",
            {},
            1 + 1 + 10 * (1 + 1 + 1 + 5),
            id="nested-pages-multiply",
        ),
        pytest.param(
            "query($n: Int) { buildings(first: $n) { nodes { name } } }",
            {"n": 7},
            1 + 1 + 7,
            id="first-from-a-variable",
        ),
        pytest.param(
            "query($n: Int = 3) { buildings(first: $n) { nodes { name } } }",
            {},
            1 + 1 + 3,
            id="first-from-a-default",
        ),
        pytest.param(
            "{ buildings(first: 100000) { nodes { name } } }",
            {},
            1 + 1 + 100,
            id="clamped-to-the-largest-page",
        ),
        pytest.param(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            {"ids": ["QnVpbGRpbmc6MQ==", "QnVpbGRpbmc6Mg==", "QnVpbGRpbmc6Mw=="]},
            1 + 3,
            id="nodes-by-ids",
        ),
        pytest.param(
            '{ nodes(ids: ["QnVpbGRpbmc6MQ==", "QnVpbGRpbmc6Mg=="]) { id } }',
            {},
            1 + 2,
            id="nodes-by-literal-ids",
        ),
        pytest.param("{ me { kind grants { role } } }", {}, 1 + 1 + 1 + 10, id="assumed-list"),
        pytest.param(
            """{ a: buildings(first: 10) { ...B } b: buildings(first: 5) { ...B } }
               fragment B on BuildingConnection { nodes { name } }""",
            {},
            (1 + 1 + 10) + (1 + 1 + 5),
            id="fragments-take-the-page-of-their-spread",
        ),
        pytest.param("{ __schema { queryType { name } } }", {}, 11_000, id="introspection"),
    ],
)
async def test_the_estimate(
    query: str, variables: dict[str, Any], expected: int, gql: GraphQLClient
) -> None:
    cost = await cost_of(gql, query, variables)
    assert cost == {"requested": expected, "budget": LIMITS.cost_person}


#: 1 + 1 + 100 x (1 + 1 + 100 x 2): over a display's budget, within an integrator's.
BETWEEN = "{ buildings(first: 100) { nodes { households(first: 100) { nodes { id room } } } } }"
BETWEEN_COST = 20_202
#: One more field per household: over every budget.
OVER = "{ buildings(first: 100) { nodes { households(first: 100) { nodes { id room unit } } } } }"
OVER_COST = 30_202


@pytest.fixture
async def clients(
    session: AsyncSession,
    http: httpx.AsyncClient,
    demo: DemoCity,
    anonymous: GraphQLClient,
    as_account: Callable[[str], GraphQLClient],
) -> dict[str, GraphQLClient]:
    return {
        "ANONYMOUS": anonymous,
        "PERSON": as_account("city-admin"),
        "INTEGRATOR": await token_client(session, http, TokenRole.INTEGRATOR, demo.city),
        "DISPLAY": await token_client(session, http, TokenRole.DISPLAY, demo.city),
    }


async def test_every_response_carries_the_cost_and_the_budget_of_its_actor_kind(
    clients: dict[str, GraphQLClient],
) -> None:
    budgets = {kind: LIMITS.budget(kind) for kind in clients}
    assert budgets == {
        "ANONYMOUS": 12_000,
        "PERSON": 25_000,
        "INTEGRATOR": 25_000,
        "DISPLAY": 12_000,
    }
    for kind, client in clients.items():
        for query in (
            "{ me { kind } }",  # runs
            "{ auditLog(first: 3) { totalCount } }",  # refused while running (FORBIDDEN)
            "{ me { kind nope } }",  # invalid
        ):
            body = await client.raw(query)
            assert body["extensions"]["cost"]["budget"] == budgets[kind], (kind, query)
            assert body["extensions"]["cost"]["requested"] > 0


@pytest.mark.parametrize("kind", ["ANONYMOUS", "DISPLAY"])
async def test_over_the_budget_of_its_kind_is_refused(
    kind: str, clients: dict[str, GraphQLClient], sql_statements: StatementCounter
) -> None:
    sql_statements.reset()
    body = await clients[kind].raw(BETWEEN)
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "COST_LIMIT"
    assert str(BETWEEN_COST) in error["message"]
    assert body["extensions"]["cost"] == {"requested": BETWEEN_COST, "budget": LIMITS.budget(kind)}
    # Nothing ran but the credential lookup: the API token's row.
    assert all("api_token" in statement for statement in sql_statements.statements)
    if kind == "ANONYMOUS":
        assert sql_statements.count == 0


@pytest.mark.parametrize("kind", ["PERSON", "INTEGRATOR"])
async def test_within_the_budget_of_its_kind_runs(
    kind: str, clients: dict[str, GraphQLClient]
) -> None:
    body = await clients[kind].raw(BETWEEN)
    assert "errors" not in body, body["errors"]
    assert body["extensions"]["cost"] == {"requested": BETWEEN_COST, "budget": 25_000}


@pytest.mark.parametrize("kind", ["ANONYMOUS", "PERSON", "INTEGRATOR", "DISPLAY"])
async def test_over_every_budget_is_refused_before_any_sql(
    kind: str, clients: dict[str, GraphQLClient], sql_statements: StatementCounter
) -> None:
    sql_statements.reset()
    body = await clients[kind].raw(OVER)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["COST_LIMIT"]
    assert body["extensions"]["cost"]["requested"] == OVER_COST
    assert sql_statements.count == 0


async def test_fifteen_aliases_of_a_hundred_nodes_fit_a_person_not_an_anonymous_caller(
    clients: dict[str, GraphQLClient], sql_statements: StatementCounter
) -> None:
    """The most `nodes(ids:)` the alias limit lets through: a person's budget covers it."""
    ids = [str(to_global_id("Person", i)) for i in range(1, 101)]
    query = "query($ids: [ID!]!) { "
    query += " ".join(
        f"n{i}: nodes(ids: $ids) {{ id ... on Person {{ name }} }}" for i in range(15)
    )
    query += " }"
    runs = await clients["PERSON"].raw(query, {"ids": ids})
    assert "errors" not in runs, runs["errors"]
    assert runs["extensions"]["cost"]["requested"] == 15 * (1 + 100 * 2)
    sql_statements.reset()
    refused = await clients["ANONYMOUS"].raw(query, {"ids": ids * 5})
    assert refused["errors"][0]["extensions"]["code"] == "COST_LIMIT"
    assert sql_statements.count == 0
