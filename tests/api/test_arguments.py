"""One shared check of every argument before execution: NUL characters, unpaired surrogates
and datetimes that overflow once converted to UTC are VALIDATION errors naming the
argument (they used to reach the resolvers and the database: INTERNAL_SERVER_ERROR)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, StatementCounter
from tests.petitions_api.helpers import SUBMIT, gid, petition_count, petition_input

METRICS = """query($unit: ID!, $since: DateTime!, $until: DateTime!) {
  petitionMetrics(orgUnitId: $unit, since: $since, until: $until) { totals { submitted } } }"""
OVERFLOWING = {
    "since": "0001-01-01T00:00:00+14:00",  # the year 0 in UTC
    "until": "9999-12-31T23:00:00-05:00",  # the year 10000 in UTC
}
FINE = {"since": "2025-01-01T00:00:00+08:00", "until": "2026-01-01T00:00:00+08:00"}


async def post_raw(client: GraphQLClient, body: str) -> dict[str, Any]:
    """Post a body as written (JSON escapes such as an unpaired \\ud800 kept as sent)."""
    response = await client.http.post(
        "/graphql",
        content=body.encode(),
        headers={**client.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def refused_on(body: dict[str, Any], field: str) -> None:
    assert "data" not in body, body
    errors = body["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["VALIDATION"], errors
    assert errors[0]["extensions"]["field"] == field
    assert f"`{field}`" in errors[0]["message"]
    assert errors[0]["extensions"]["requestId"]


@pytest.fixture
def city_admin(as_account: Callable[[str], GraphQLClient]) -> GraphQLClient:
    return as_account("city-admin")


async def test_a_nul_in_a_literal_argument(
    anonymous: GraphQLClient, sql_statements: StatementCounter
) -> None:
    refused_on(await anonymous.raw('{ orgUnit(code: "520303\\u0000") { id } }'), "code")
    assert sql_statements.count == 0


async def test_a_nul_in_a_variable(anonymous: GraphQLClient) -> None:
    body = await anonymous.raw(
        "query($c: String) { orgUnit(code: $c) { id } }", {"c": "520303\x00"}
    )
    refused_on(body, "code")


async def test_an_unpaired_surrogate_in_a_variable(anonymous: GraphQLClient) -> None:
    query = json.dumps("query($c: String) { orgUnit(code: $c) { id } }")
    body = await post_raw(anonymous, f'{{"query": {query}, "variables": {{"c": "52\\ud800"}}}}')
    refused_on(body, "code")


async def test_an_unpaired_surrogate_in_a_literal_does_not_parse(anonymous: GraphQLClient) -> None:
    [error] = await anonymous.errors('{ orgUnit(code: "52\\uD800") { id } }')
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "楼道灯坏了\x00"}, "input.title"),
        ({"description": "3单元\x00 5楼"}, "input.description"),
        ({"photos": ["petitions/2024/a.jpg", "petitions/\x00b.jpg"]}, "input.photos"),
        ({"idempotencyKey": "wx-\x00-0001-0001"}, "input.idempotencyKey"),
    ],
)
async def test_a_nul_anywhere_in_an_input_object(
    fields: dict[str, Any],
    field: str,
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    resident = as_account("resident")
    before = await petition_count(session)
    body = await resident.raw(SUBMIT, {"input": await petition_input(session, demo, **fields)})
    refused_on(body, field)
    assert await petition_count(session) == before


async def test_a_nul_in_an_inline_input_object(city_admin: GraphQLClient) -> None:
    body = await city_admin.raw(
        'mutation { renameOrgUnit(input: { id: "T3JnVW5pdDox", name: "遵义\\u0000市" }) '
        "{ errors { code } } }"
    )
    refused_on(body, "input.name")


async def test_a_nul_in_a_fragment_argument(anonymous: GraphQLClient) -> None:
    body = await anonymous.raw(
        'query { ...Q } fragment Q on Query { orgUnit(code: "\\u0000") { id } }'
    )
    refused_on(body, "code")


@pytest.mark.parametrize("which", ["since", "until"])
async def test_a_datetime_that_overflows_in_utc_as_a_variable(
    which: str, city_admin: GraphQLClient, demo: DemoCity
) -> None:
    variables = {"unit": gid("OrgUnit", demo.city.id), **FINE, which: OVERFLOWING[which]}
    refused_on(await city_admin.raw(METRICS, variables), which)


@pytest.mark.parametrize("which", ["since", "until"])
async def test_a_datetime_that_overflows_in_utc_as_a_literal(
    which: str, city_admin: GraphQLClient
) -> None:
    values = {**FINE, which: OVERFLOWING[which]}
    body = await city_admin.raw(
        f'{{ auditLog(since: "{values["since"]}", until: "{values["until"]}") {{ totalCount }} }}'
    )
    refused_on(body, which)


async def test_a_datetime_a_day_inside_the_range_is_accepted(
    city_admin: GraphQLClient, demo: DemoCity
) -> None:
    variables = {
        "unit": gid("OrgUnit", demo.city.id),
        "since": "0001-01-03T00:00:00+14:00",
        "until": "9999-12-30T00:00:00-05:00",
    }
    body = await city_admin.raw(METRICS, variables)
    assert "errors" not in body, body["errors"]
    assert body["data"]["petitionMetrics"]["totals"]["submitted"] == 0


async def test_ordinary_text_passes_untouched(
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    resident = as_account("resident")
    text = "楼道灯坏了，\t第二行\n😀 emoji and a BOM-less ‘quote’"
    body = await resident.raw(
        SUBMIT, {"input": await petition_input(session, demo, description=text)}
    )
    assert "errors" not in body, body["errors"]
    assert body["data"]["submitPetition"]["errors"] == []
