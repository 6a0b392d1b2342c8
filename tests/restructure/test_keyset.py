"""Keyset cursors: a newest-first queue paged while petitions keep arriving never repeats
nor skips a row, and `totalCount` is counted only when it is asked for."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, StatementCounter
from tests.petitions_api.helpers import gid, petition_input, submitted

PAGE = """query($under: ID!, $after: String) {
  petitions(under: $under, first: 3, after: $after) {
    edges { cursor node { id title } } pageInfo { hasNextPage endCursor } } }"""


async def test_a_newest_first_list_pages_stably_while_petitions_arrive(
    as_account: Callable[[str], GraphQLClient],
    gql: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    resident = as_account("resident")
    first = [
        await submitted(resident, await petition_input(session, demo, title=f"早先的第{i}件"))
        for i in range(8)
    ]
    under = gid("Building", demo.building.id)
    seen: list[str] = []
    after: str | None = None
    arrived: list[str] = []
    while True:
        page = (await gql(PAGE, {"under": under, "after": after}))["petitions"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        # newer petitions arrive between pages: with position cursors they would shift
        # every later page by one row
        new = await submitted(
            resident, await petition_input(session, demo, title=f"翻页时新来的第{len(arrived)}件")
        )
        arrived.append(new["id"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)), "no row twice"
    assert [p["id"] for p in reversed(first)] == [s for s in seen if s in {p["id"] for p in first}]
    assert set(arrived).isdisjoint(seen), "rows newer than the first page stay out of later ones"
    assert {p["id"] for p in first} <= set(seen), "none skipped"


async def test_total_count_is_counted_only_when_selected(
    gql: GraphQLClient, sql_statements: StatementCounter
) -> None:
    query = "{ buildings(first: 5) { %s nodes { id } } }"
    await gql(query % "")
    sql_statements.reset()
    await gql(query % "")
    without = [s for s in sql_statements.statements if "count(" in s.lower()]
    sql_statements.reset()
    data = await gql(query % "totalCount")
    counted = [s for s in sql_statements.statements if "count(" in s.lower()]
    assert without == []
    assert len(counted) == 1
    assert data["buildings"]["totalCount"] > 5


async def test_a_cursor_of_another_ordering_is_refused(gql: GraphQLClient) -> None:
    by_name = await gql("{ buildings(first: 1, orderBy: NAME) { pageInfo { endCursor } } }")
    cursor = by_name["buildings"]["pageInfo"]["endCursor"]
    body = await gql.raw(
        "query($c: String) { buildings(first: 1, orderBy: CREATED, after: $c) { totalCount } }",
        {"c": cursor},
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["VALIDATION"]
    assert body["errors"][0]["extensions"]["field"] == "after"
