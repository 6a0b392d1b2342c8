"""Relay cursor pagination: walking lists both ways, limits, bad cursors, ties, nesting."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.org import GridType, OrgKind
from permissions.limits import Limits
from schema.relay import to_global_id
from seeds import builders
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar

PAGE = "totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"  # noqa: E501

BUILDINGS = f"""query($first: Int, $after: String, $last: Int, $before: String) {{
    buildings(first: $first, after: $after, last: $last, before: $before) {{ {PAGE} }} }}"""


def gid(type_name: str, ident: int | None) -> str:
    assert ident is not None
    return str(to_global_id(type_name, ident))


def ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


async def all_building_ids(session: AsyncSession) -> list[str]:
    rows = await session.execute(sa.text("SELECT id FROM building ORDER BY name, id"))
    return [gid("Building", row[0]) for row in rows]


async def test_walking_forward_equals_one_big_page(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    expected = await all_building_ids(session)
    assert 30 < len(expected) <= 100
    big = (await gql(BUILDINGS, {"first": 100}))["buildings"]
    assert ids(big) == expected
    assert big["totalCount"] == len(expected)
    assert (big["pageInfo"]["hasNextPage"], big["pageInfo"]["hasPreviousPage"]) == (False, False)

    walked: list[str] = []
    after = None
    pages = 0
    while True:
        page = (await gql(BUILDINGS, {"first": 9, "after": after}))["buildings"]
        pages += 1
        assert page["totalCount"] == len(expected)
        assert page["pageInfo"]["hasPreviousPage"] is (pages > 1)
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        walked += ids(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert len(page["edges"]) == 9
        after = page["pageInfo"]["endCursor"]
    assert walked == expected
    assert pages == -(-len(expected) // 9)


async def test_walking_backward_with_last_and_before(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    expected = await all_building_ids(session)
    tail = (await gql(BUILDINGS, {"last": 5}))["buildings"]
    assert ids(tail) == expected[-5:]
    assert tail["pageInfo"]["hasNextPage"] is False
    assert tail["pageInfo"]["hasPreviousPage"] is True

    walked: list[str] = []
    before = None
    while True:
        page = (await gql(BUILDINGS, {"last": 8, "before": before}))["buildings"]
        assert page["totalCount"] == len(expected)
        walked = ids(page) + walked
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        assert len(page["edges"]) == 8
        before = page["pageInfo"]["startCursor"]
    assert walked == expected


async def test_after_and_before_cursors_select_the_range_between(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    expected = await all_building_ids(session)
    big = (await gql(BUILDINGS, {"first": 20}))["buildings"]
    after, before = big["edges"][4]["cursor"], big["edges"][11]["cursor"]
    between = await gql(
        """query($a: String, $b: String) { buildings(first: 100, after: $a, before: $b) {
            edges { node { id } } pageInfo { hasNextPage hasPreviousPage } } }""",
        {"a": after, "b": before},
    )
    assert ids(between["buildings"]) == expected[5:11]
    assert between["buildings"]["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": True}


async def test_empty_and_zero_sized_pages(gql: GraphQLClient, demo: DemoCity) -> None:
    data = await gql(
        f"""query($id: ID!) {{ node(id: $id) {{ ... on OrgUnit {{
            none: children(kind: CITY) {{ {PAGE} }}
            zero: children(first: 0) {{ {PAGE} }} }} }} }}""",
        {"id": gid("OrgUnit", demo.renheyuan.id)},
    )
    assert data["node"]["none"] == {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }
    zero = data["node"]["zero"]
    assert zero["totalCount"] == 7
    assert zero["edges"] == []
    assert zero["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    "arguments", ["first: 101", "last: 101", "first: -1", "last: -5", "first: 1000"]
)
async def test_page_size_out_of_range_is_a_validation_error(
    gql: GraphQLClient, arguments: str
) -> None:
    errors = await gql.errors(f"{{ buildings({arguments}) {{ totalCount }} }}")
    assert [e["extensions"]["code"] for e in errors] == ["VALIDATION"]
    assert errors[0]["extensions"]["field"] == arguments.split(":", maxsplit=1)[0]


async def test_page_size_limit_applies_to_nested_connections(gql: GraphQLClient) -> None:
    errors = await gql.errors("{ city { children(first: 101) { totalCount } } }")
    assert [e["extensions"]["code"] for e in errors] == ["VALIDATION"]
    assert errors[0]["path"] == ["city", "children"]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("not a cursor", id="garbage"),
        pytest.param("Y3Vyc29yOjE", id="bad-padding"),
        pytest.param(cursor("cursor:0"), id="zero"),
        pytest.param(cursor("cursor:-3"), id="negative"),
        pytest.param(cursor("cursor:abc"), id="not-a-number"),
        pytest.param(cursor("offset:3"), id="wrong-prefix"),
        pytest.param(cursor("OrgUnit:3"), id="a-global-id"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
    ],
)
@pytest.mark.parametrize("argument", ["after", "before"])
async def test_invalid_cursor_is_a_validation_error(
    gql: GraphQLClient, bad: str, argument: str
) -> None:
    errors = await gql.errors(
        f"query($c: String) {{ buildings({argument}: $c) {{ totalCount }} }}", {"c": bad}
    )
    assert [e["extensions"]["code"] for e in errors] == ["VALIDATION"]
    assert errors[0]["extensions"]["field"] == argument


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(cursor("cursor:²"), id="superscript-digit"),
        pytest.param(cursor("cursor:" + "9" * 20), id="beyond-bigint"),
    ],
)
async def test_odd_digit_cursors_are_validation_errors(gql: GraphQLClient, bad: str) -> None:
    body = await gql.raw(
        "query($c: String) { city { children(after: $c) { totalCount } } }", {"c": bad}
    )
    assert [e["extensions"]["code"] for e in body.get("errors", [])] == ["VALIDATION"]


async def test_duplicate_names_page_stably(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    grid = await builders.org_unit(
        session, OrgKind.GRID, parent=demo.renheyuan, grid_type=GridType.NEW_ESTATE
    )
    created = [await builders.building(session, grid, name="同名楼") for _ in range(23)]
    await session.commit()
    expected = {gid("Building", b.id) for b in created}
    query = f"""query($id: ID!, $first: Int, $after: String, $order: BuildingOrder!) {{
        node(id: $id) {{ ... on OrgUnit {{
            buildings(orderBy: $order, first: $first, after: $after) {{ {PAGE} }} }} }} }}"""

    for order in ("NAME", "CREATED"):
        walked: list[str] = []
        after = None
        while True:
            page = (
                await gql(
                    query,
                    {"id": gid("OrgUnit", grid.id), "first": 4, "after": after, "order": order},
                )
            )["node"]["buildings"]
            assert page["totalCount"] == 23
            walked += ids(page)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert len(walked) == len(set(walked)) == 23, order  # no duplicates
        assert set(walked) == expected, order  # none missing
        # Ties on the sort key are broken by id.
        assert walked == sorted(walked, key=lambda g: int(base64.b64decode(g).split(b":")[1]))

    # The same holds for the top-level list filtered by name.
    top = await gql(
        """{ a: buildings(nameContains: "同名楼", first: 12) {
            totalCount edges { node { id } } pageInfo { endCursor } } }"""
    )
    rest = await gql(
        """query($after: String) { buildings(nameContains: "同名楼", first: 12, after: $after) {
            edges { node { id } } } }""",
        {"after": top["a"]["pageInfo"]["endCursor"]},
    )
    assert top["a"]["totalCount"] == 23
    both = ids(top["a"]) + ids(rest["buildings"])
    assert len(both) == len(set(both)) == 23
    assert set(both) == expected


#: Four levels of connections with their default pages: deeper and costlier than the
#: request limits allow, which is not what this test is about.
@pytest.mark.parametrize("limits", [Limits.lifted()], ids=["limits-lifted"])
async def test_nested_connections_page_each_parent(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    data = await gql(
        """{ city { children { nodes { code
                first: children(first: 1) { totalCount edges { node { code } }
                                            pageInfo { hasNextPage hasPreviousPage } }
                streets: children { nodes { communities: children { nodes { code
                    grids: children(first: 2) { totalCount edges { node { code } }
                                                pageInfo { hasNextPage } } } } } } } } } }"""
    )
    districts = data["city"]["children"]["nodes"]
    assert [d["code"] for d in districts] == ["520302", "520303", "520304", "520382", "520391"]
    streets_per_district = {"520302": 2, "520303": 2, "520304": 1, "520382": 1, "520391": 1}
    for district in districts:
        expected = streets_per_district[district["code"]]
        by_sql = await scalar(
            session,
            "SELECT count(*) FROM org_unit WHERE parent_id = "
            "(SELECT id FROM org_unit WHERE code = :code) AND retired_at IS NULL",
            code=district["code"],
        )
        page = district["first"]
        assert page["totalCount"] == expected == by_sql
        assert [e["node"]["code"] for e in page["edges"]] == [f"{district['code']}001"]
        assert page["pageInfo"] == {"hasNextPage": expected > 1, "hasPreviousPage": False}

    result = await session.execute(
        sa.text(
            "SELECT c.code, count(g.id) FROM org_unit c JOIN org_unit g ON g.parent_id = c.id "
            "WHERE c.kind = 'COMMUNITY' GROUP BY c.code"
        )
    )
    grids_by_sql: dict[str, int] = dict(result.all())
    assert len(grids_by_sql) == 8
    assert grids_by_sql["520303001001"] == 7  # 仁和苑社区
    seen: dict[str, int] = {}
    for district in districts:
        for street in district["streets"]["nodes"]:
            for community in street["communities"]["nodes"]:
                grids = community["grids"]
                seen[community["code"]] = grids["totalCount"]
                shown = min(2, grids["totalCount"])
                assert [e["node"]["code"] for e in grids["edges"]] == [
                    f"{community['code']}{i:03d}" for i in range(1, shown + 1)
                ]
                assert grids["pageInfo"]["hasNextPage"] is (grids["totalCount"] > 2)
    assert seen == grids_by_sql


async def test_nested_after_cursor_applies_to_every_parent(gql: GraphQLClient) -> None:
    """A cursor names a position in the ordering (code, id): under every parent, the rows
    after that position."""
    first = await gql(
        """{ orgUnit(code: "520302") { children(first: 1) { pageInfo { endCursor } } } }"""
    )
    after = first["orgUnit"]["children"]["pageInfo"]["endCursor"]
    data = await gql(
        """query($after: String) { city { children { nodes { code
            children(first: 5, after: $after) { totalCount edges { node { code } }
                pageInfo { hasPreviousPage hasNextPage } } } } } }""",
        {"after": after},
    )
    streets = {
        d["code"]: [e["node"]["code"] for e in d["children"]["edges"]]
        for d in data["city"]["children"]["nodes"]
    }
    assert streets == {
        "520302": ["520302002"],
        "520303": ["520303001", "520303002"],
        "520304": ["520304001"],
        "520382": ["520382001"],
        "520391": ["520391001"],
    }
    for district in data["city"]["children"]["nodes"]:
        assert district["children"]["pageInfo"]["hasPreviousPage"] is True
        assert district["children"]["pageInfo"]["hasNextPage"] is False
