"""Keyset cursors: a newest-first queue paged while petitions keep arriving never repeats
nor skips a row, and `totalCount` is counted only when it is asked for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.org import Household
from seeds import builders
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


#: How each path counts a list: the resolvers' grouped count, the compiled statement's
#: count subquery.
COUNTS = {"off": "count(", "on": "select count(*) from building"}


@pytest.mark.parametrize("compiled", ["off", "on"])
async def test_total_count_is_counted_only_when_selected(
    compiled: str, gql: GraphQLClient, sql_statements: StatementCounter
) -> None:
    query = "{ buildings(first: 5) { %s nodes { id } } }"
    await gql(query % "")
    sql_statements.reset()
    await gql(query % "")
    without = [s for s in sql_statements.statements if COUNTS[compiled] in s.lower()]
    sql_statements.reset()
    data = await gql(query % "totalCount")
    counted = [s for s in sql_statements.statements if COUNTS[compiled] in s.lower()]
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


WALK = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  node(id: $id) { ... on Building { residents(orderBy: BIRTH_DATE, first: $first,
                                              after: $after, last: $last, before: $before) {
    nodes { id birthDate } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } } }"""


async def test_pages_of_a_nullable_sort_key_cover_every_row_once_both_ways(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession
) -> None:
    """Birth dates sort oldest first, unknown ones last; ties and nulls are ordered by id."""
    building = gid("Building", demo.building.id)
    household = await session.scalar(
        sa.select(Household).where(col(Household.building_id) == demo.building.id)
    )
    assert household is not None
    for n in range(5):
        await builders.person(session, household, name=f"无生日{n}", birth_date=None)
    twin = date(1950, 5, 5)
    for n in range(3):
        await builders.person(session, household, name=f"同日{n}", birth_date=twin)
    await session.commit()
    worker = as_account("grid-worker")

    async def walk(size: int, *, backwards: bool) -> list[str]:
        found: list[str] = []
        cursor: str | None = None
        while True:
            wanted: dict[str, object] = {"id": building}
            if backwards:
                wanted |= {"last": size, "before": cursor}
            else:
                wanted |= {"first": size, "after": cursor}
            page = (await worker(WALK, wanted))["node"]["residents"]
            ids = [n["id"] for n in page["nodes"]]
            found = ids + found if backwards else found + ids
            info = page["pageInfo"]
            if not (info["hasPreviousPage"] if backwards else info["hasNextPage"]):
                return found
            cursor = info["startCursor"] if backwards else info["endCursor"]

    whole = (await worker(WALK, {"id": building, "first": 100}))["node"]["residents"]
    everyone = [n["id"] for n in whole["nodes"]]
    dates = [n["birthDate"] for n in whole["nodes"]]
    assert dates[-5:] == [None] * 5, "unknown birth dates last"
    assert len(everyone) == len(set(everyone)) < 100
    for size in (1, 2, 7):
        assert await walk(size, backwards=False) == everyone, size
        assert await walk(size, backwards=True) == everyone, size
