"""Mutations of the administrative tree, buildings, households, the Party tree and work units.

Every refusal is checked twice: the payload names the code and field, and no table gained
or lost a row (counted with SQL before and after).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.org import GridType, OrgKind
from models.people import Role
from schema.relay import to_global_id
from seeds import builders
from seeds.demo import RENHEYUAN_GRID_1, DemoCity
from tests.conftest import GraphQLClient, scalar

TABLES = (
    "org_unit",
    "building",
    "household",
    "person",
    "position",
    "party_organisation",
    "central_household",
    "work_unit",
    "work_unit_pairing",
    "pairing",
)
#: Tables whose rows carry the ltree path of their place.
PATH_TABLES = tuple(t for t in TABLES if t != "work_unit")

ERRORS = "errors { code field message }"
ORG_UNIT_FIELDS = "id code name kind level gridType retiredAt parent { id }"
ORG_UNIT = f"orgUnit {{ {ORG_UNIT_FIELDS} }}"


def gid(type_name: str, ident: int | None) -> str:
    assert ident is not None
    return str(to_global_id(type_name, ident))


async def counts(session: AsyncSession) -> dict[str, int]:
    return {t: int(await scalar(session, f"SELECT count(*) FROM {t}")) for t in TABLES}


async def path_of(session: AsyncSession, unit_id: int | None) -> str:
    return str(await scalar(session, "SELECT path::text FROM org_unit WHERE id = :id", id=unit_id))


async def run(gql: GraphQLClient, name: str, input: dict[str, Any], selection: str) -> Any:
    """Run one mutation whose input type is `<Name>Input`; return its payload."""
    input_type = name[0].upper() + name[1:] + "Input"
    data = await gql(
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} {ERRORS} }} }}",
        {"input": input},
    )
    return data[name]


async def refused(
    gql: GraphQLClient,
    session: AsyncSession,
    name: str,
    input: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    """The mutation is refused with `code` on `field`, and nothing is written."""
    before = await counts(session)
    payload = await run(gql, name, input, "__typename")
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], payload
    assert payload["errors"][0]["message"]
    assert await counts(session) == before


# --- createOrgUnit ------------------------------------------------------------------------


async def test_create_grid(gql: GraphQLClient, demo: DemoCity, session: AsyncSession) -> None:
    before = await counts(session)
    payload = await run(
        gql,
        "createOrgUnit",
        {
            "kind": "GRID",
            "name": "  仁和苑社区第8网格 ",
            "code": "520303001001008",
            "parentId": gid("OrgUnit", demo.renheyuan.id),
            "gridType": "NEW_ESTATE",
        },
        ORG_UNIT,
    )
    assert payload["errors"] == []
    unit = payload["orgUnit"]
    assert unit["name"] == "仁和苑社区第8网格"  # trimmed
    assert (unit["kind"], unit["code"], unit["level"], unit["gridType"]) == (
        "GRID",
        "520303001001008",
        5,
        "NEW_ESTATE",
    )
    assert unit["parent"] == {"id": gid("OrgUnit", demo.renheyuan.id)}
    assert await counts(session) == {**before, "org_unit": before["org_unit"] + 1}
    row = (
        await session.execute(
            sa.text("SELECT id, path::text, parent_id FROM org_unit WHERE code = :c"),
            {"c": "520303001001008"},
        )
    ).one()
    assert unit["id"] == gid("OrgUnit", row.id)
    assert row.parent_id == demo.renheyuan.id
    assert row.path == f"{await path_of(session, demo.renheyuan.id)}.{row.id}"
    data = await gql(
        "query($id: ID!) { node(id: $id) { ... on OrgUnit { "
        "children(kind: GRID) { totalCount } } } }",
        {"id": gid("OrgUnit", demo.renheyuan.id)},
    )
    assert data["node"]["children"]["totalCount"] == 8


async def test_create_district_street_community_chain(gql: GraphQLClient, demo: DemoCity) -> None:
    parent = gid("OrgUnit", demo.city.id)
    for level, kind in enumerate(("DISTRICT", "STREET", "COMMUNITY"), 2):
        payload = await run(
            gql,
            "createOrgUnit",
            {"kind": kind, "name": f"新{kind}", "code": f"T-NEW-{kind}", "parentId": parent},
            ORG_UNIT,
        )
        assert payload["errors"] == []
        assert (payload["orgUnit"]["kind"], payload["orgUnit"]["level"]) == (kind, level)
        assert payload["orgUnit"]["parent"] == {"id": parent}
        parent = payload["orgUnit"]["id"]


def _unit(demo: DemoCity, name: str) -> str:
    units = {
        "city": demo.city,
        "district": demo.districts["汇川区"],
        "street": demo.street,
        "community": demo.renheyuan,
        "grid": demo.grids[GridType.OLD_ESTATE],
    }
    return gid("OrgUnit", units[name].id)


@pytest.mark.parametrize(
    ("input", "code", "field"),
    [
        pytest.param(
            {"kind": "GRID", "parent": "street", "gridType": "OLD_ESTATE"},
            "INVALID_PARENT_KIND",
            "parentId",
            id="grid-under-street",
        ),
        pytest.param(
            {"kind": "CITY", "parent": "city"},
            "INVALID_PARENT_KIND",
            "parentId",
            id="city-with-parent",
        ),
        # Without a parent there is no place the admin's grants could cover.
        pytest.param({"kind": "DISTRICT"}, "FORBIDDEN", None, id="district-without-parent"),
        pytest.param(
            {"kind": "STREET", "parent": "community"},
            "INVALID_PARENT_KIND",
            "parentId",
            id="street-under-community",
        ),
        pytest.param(
            {"kind": "GRID", "parent": "community"},
            "VALIDATION",
            "gridType",
            id="grid-without-type",
        ),
        pytest.param(
            {"kind": "STREET", "parent": "district", "gridType": "OLD_ESTATE"},
            "VALIDATION",
            "gridType",
            id="street-with-type",
        ),
        pytest.param(
            {"kind": "STREET", "parent": "district", "name": "   "},
            "VALIDATION",
            "name",
            id="blank-name",
        ),
        pytest.param(
            {"kind": "STREET", "parent": "district", "code": " "},
            "VALIDATION",
            "code",
            id="blank-code",
        ),
        pytest.param(
            {"kind": "STREET", "parent": "district", "code": "520303001"},
            "DUPLICATE_CODE",
            "code",
            id="duplicate-code",
        ),
        pytest.param(
            {
                "kind": "GRID",
                "parent": "community",
                "gridType": "OLD_ESTATE",
                "code": RENHEYUAN_GRID_1,
            },
            "DUPLICATE_CODE",
            "code",
            id="duplicate-grid-code",
        ),
        pytest.param(
            {"kind": "STREET", "parent": "building"},
            "NOT_FOUND",
            "parentId",
            id="parent-is-a-building-id",
        ),
        pytest.param(
            {"kind": "STREET", "parent": "garbage"},
            "VALIDATION",
            "parentId",
            id="malformed-parent-id",
        ),
    ],
)
async def test_create_org_unit_refusals(
    gql: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
    input: dict[str, str],
    code: str,
    field: str | None,
) -> None:
    parents = {
        "missing": gid("OrgUnit", 987_654_321),
        "building": gid("Building", demo.building.id),
        "garbage": "!!not-an-id!!",
    }
    parent = input.get("parent")
    parent_id = None
    if parent is not None:
        parent_id = parents[parent] if parent in parents else _unit(demo, parent)
    payload = {
        "kind": input["kind"],
        "name": input.get("name", "新单位"),
        "code": input.get("code", "T-REFUSED-1"),
        "parentId": parent_id,
        "gridType": input.get("gridType"),
    }
    await refused(gql, session, "createOrgUnit", payload, code, field)


async def test_create_under_a_retired_parent_is_refused(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    grid = await builders.org_unit(session, OrgKind.GRID, parent=demo.renheyuan)
    retired = await run(gql, "retireOrgUnit", {"id": gid("OrgUnit", grid.id)}, "__typename")
    assert retired["errors"] == []
    await refused(
        gql,
        session,
        "createBuilding",
        {"gridId": gid("OrgUnit", grid.id), "name": "1栋", "address": "某路1号"},
        "RETIRED",
        "gridId",
    )
    await refused(
        gql,
        session,
        "renameOrgUnit",
        {"id": gid("OrgUnit", grid.id), "name": "新名"},
        "RETIRED",
        "id",
    )


# --- renameOrgUnit ------------------------------------------------------------------------


async def test_rename_org_unit(gql: GraphQLClient, demo: DemoCity, session: AsyncSession) -> None:
    payload = await run(
        gql,
        "renameOrgUnit",
        {"id": gid("OrgUnit", demo.lingxi.id), "name": " 灵犀新社区 "},
        ORG_UNIT,
    )
    assert payload["errors"] == []
    assert (payload["orgUnit"]["name"], payload["orgUnit"]["code"]) == (
        "灵犀新社区",
        "520391001001",
    )
    assert await scalar(session, "SELECT name FROM org_unit WHERE id = :id", id=demo.lingxi.id) == (
        "灵犀新社区"
    )
    await refused(
        gql,
        session,
        "renameOrgUnit",
        {"id": gid("OrgUnit", demo.lingxi.id), "name": "  "},
        "VALIDATION",
        "name",
    )
    assert await scalar(session, "SELECT name FROM org_unit WHERE id = :id", id=demo.lingxi.id) == (
        "灵犀新社区"
    )


# --- moveOrgUnit --------------------------------------------------------------------------


async def rows_under(session: AsyncSession, path: str) -> dict[str, int]:
    return {
        t: int(
            await scalar(
                session, f"SELECT count(*) FROM {t} WHERE path <@ CAST(:p AS ltree)", p=path
            )
        )
        for t in PATH_TABLES
    }


async def test_move_an_empty_grid(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    grid = await builders.org_unit(session, OrgKind.GRID, parent=demo.renheyuan)
    payload = await run(
        gql,
        "moveOrgUnit",
        {"id": gid("OrgUnit", grid.id), "newParentId": gid("OrgUnit", demo.lingxi.id)},
        "orgUnit { id level }",
    )
    assert payload == {"orgUnit": {"id": gid("OrgUnit", grid.id), "level": 5}, "errors": []}
    assert await path_of(session, grid.id) == f"{await path_of(session, demo.lingxi.id)}.{grid.id}"
    assert await scalar(session, "SELECT parent_id FROM org_unit WHERE id = :id", id=grid.id) == (
        demo.lingxi.id
    )


async def test_move_payload_shows_the_new_parent(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    grid = await builders.org_unit(session, OrgKind.GRID, parent=demo.renheyuan)
    body = await gql.raw(
        "mutation($input: MoveOrgUnitInput!) { moveOrgUnit(input: $input) { "
        f"orgUnit {{ {ORG_UNIT_FIELDS} ancestors {{ code }} }} {ERRORS} }} }}",
        {"input": {"id": gid("OrgUnit", grid.id), "newParentId": gid("OrgUnit", demo.lingxi.id)}},
    )
    assert body.get("errors") is None, body["errors"]
    moved = body["data"]["moveOrgUnit"]["orgUnit"]
    assert moved["parent"] == {"id": gid("OrgUnit", demo.lingxi.id)}
    assert [a["code"] for a in moved["ancestors"]] == [
        "520300",
        "520391",
        "520391001",
        "520391001001",
    ]
    assert await path_of(session, grid.id) == f"{await path_of(session, demo.lingxi.id)}.{grid.id}"


async def test_move_community_re_paths_its_whole_subtree(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    old_path = await path_of(session, demo.renheyuan.id)
    new_street = await scalar(session, "SELECT id FROM org_unit WHERE code = '520391001'")
    new_street_path = await path_of(session, new_street)
    new_path = f"{new_street_path}.{demo.renheyuan.id}"
    before = await rows_under(session, old_path)
    # Every kind of row lives under 仁和苑 in the demo, so the move is tested for each.
    assert all(n > 0 for n in before.values()), before
    totals = await counts(session)

    payload = await run(
        gql,
        "moveOrgUnit",
        {"id": gid("OrgUnit", demo.renheyuan.id), "newParentId": gid("OrgUnit", new_street)},
        "orgUnit { id code level }",
    )
    assert payload["errors"] == []
    assert payload["orgUnit"] == {
        "id": gid("OrgUnit", demo.renheyuan.id),
        "code": "520303001001",
        "level": 4,
    }
    after = await gql(
        "query($id: ID!) { node(id: $id) { ... on OrgUnit { parent { id } ancestors { code } } } }",
        {"id": gid("OrgUnit", demo.renheyuan.id)},
    )
    assert after["node"]["parent"] == {"id": gid("OrgUnit", new_street)}
    assert [a["code"] for a in after["node"]["ancestors"]] == ["520300", "520391", "520391001"]

    assert await path_of(session, demo.renheyuan.id) == new_path
    assert await rows_under(session, new_path) == before
    assert await rows_under(session, old_path) == dict.fromkeys(PATH_TABLES, 0)
    assert await counts(session) == totals
    assert (
        await scalar(session, "SELECT parent_id FROM org_unit WHERE id = :id", id=demo.renheyuan.id)
        == new_street
    )

    # Reads through the API follow the new tree.
    data = await gql(
        """query($id: ID!) {
            node(id: $id) { ... on OrgUnit {
                descendants(kind: GRID) { totalCount }
                stats { grids buildings residents } } } }""",
        {"id": gid("OrgUnit", new_street)},
    )
    assert data["node"]["descendants"]["totalCount"] == 3 + 7  # 灵犀's grids + 仁和苑's
    assert data["node"]["stats"]["buildings"] >= before["building"]
    old_street = await gql(
        """query($id: ID!) { node(id: $id) { ... on OrgUnit {
            children { nodes { code } } descendants(kind: GRID) { totalCount } } } }""",
        {"id": gid("OrgUnit", demo.street.id)},
    )
    assert [c["code"] for c in old_street["node"]["children"]["nodes"]] == ["520303001002"]
    assert old_street["node"]["descendants"]["totalCount"] == 2  # 珠海路社区's grids
    grid = await gql(f'{{ orgUnit(code: "{RENHEYUAN_GRID_1}") {{ ancestors {{ code }} level }} }}')
    assert grid["orgUnit"] == {
        "ancestors": [
            {"code": "520300"},
            {"code": "520391"},
            {"code": "520391001"},
            {"code": "520303001001"},
        ],
        "level": 5,
    }


async def all_org_unit_paths(session: AsyncSession) -> dict[int, str]:
    result = await session.execute(sa.text("SELECT id, path::text FROM org_unit"))
    return dict(result.all())


@pytest.mark.parametrize(
    ("unit", "new_parent"),
    [
        pytest.param("community", "district", id="community-under-district"),
        pytest.param("community", "community", id="community-under-community"),
        pytest.param("grid", "street", id="grid-under-street"),
        pytest.param("district", "district", id="district-under-district"),
    ],
)
async def test_move_to_the_wrong_kind_is_refused(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession, unit: str, new_parent: str
) -> None:
    other = {
        "district": gid("OrgUnit", demo.districts["新蒲新区"].id),
        "community": gid("OrgUnit", demo.lingxi.id),
        "street": gid("OrgUnit", demo.street.id),
    }[new_parent]
    paths = await all_org_unit_paths(session)
    await refused(
        gql,
        session,
        "moveOrgUnit",
        {"id": _unit(demo, unit), "newParentId": other},
        "INVALID_PARENT_KIND",
        "newParentId",
    )
    assert await all_org_unit_paths(session) == paths


# --- retireOrgUnit ------------------------------------------------------------------------


async def test_retire_refuses_units_with_buildings_or_children(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    for unit in (demo.grids[GridType.OLD_ESTATE], demo.renheyuan, demo.street):
        await refused(
            gql, session, "retireOrgUnit", {"id": gid("OrgUnit", unit.id)}, "NOT_EMPTY", "id"
        )
    # The city has no place above it that an admin's grant could cover.
    await refused(
        gql, session, "retireOrgUnit", {"id": gid("OrgUnit", demo.city.id)}, "FORBIDDEN", None
    )
    assert await scalar(session, "SELECT count(*) FROM org_unit WHERE retired_at IS NOT NULL") == 0


async def test_retire_an_empty_grid(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    grid = await builders.org_unit(
        session, OrgKind.GRID, "待撤销网格", parent=demo.renheyuan, grid_type=GridType.NEW_ESTATE
    )
    worker = await builders.person(session)
    position = await builders.position(session, worker, Role.GRID_WORKER, org_unit=grid)
    children = """query($id: ID!) { node(id: $id) { ... on OrgUnit {
        active: children { totalCount nodes { code } }
        all: children(includeRetired: true) { totalCount nodes { code retiredAt } }
        grids: descendants(kind: GRID) { totalCount }
        stats { grids } } } }"""
    variables = {"id": gid("OrgUnit", demo.renheyuan.id)}
    assert (await gql(children, variables))["node"]["active"]["totalCount"] == 8

    payload = await run(gql, "retireOrgUnit", {"id": gid("OrgUnit", grid.id)}, ORG_UNIT)
    assert payload["errors"] == []
    assert payload["orgUnit"]["retiredAt"] is not None

    data = (await gql(children, variables))["node"]
    assert data["active"]["totalCount"] == 7
    assert grid.code not in {c["code"] for c in data["active"]["nodes"]}
    assert data["all"]["totalCount"] == 8
    (retired,) = [c for c in data["all"]["nodes"] if c["code"] == grid.code]
    assert retired["retiredAt"] is not None
    assert data["grids"]["totalCount"] == 7
    assert data["stats"]["grids"] == 7
    ended = (
        await session.execute(
            sa.text("SELECT ended_at, end_reason FROM position WHERE id = :id"), {"id": position.id}
        )
    ).one()
    assert ended.ended_at is not None
    assert ended.end_reason == "org unit retired"

    await refused(gql, session, "retireOrgUnit", {"id": gid("OrgUnit", grid.id)}, "RETIRED", "id")


# --- buildings and households ---------------------------------------------------------------


async def test_create_building_with_culture_labels(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    grid = demo.grids[GridType.NEW_ESTATE]
    payload = await run(
        gql,
        "createBuilding",
        {
            "gridId": gid("OrgUnit", grid.id),
            "name": "新建楼",
            "address": "遵义市汇川区上海路1号",
            "cultureLabels": ["VETERANS", "ELDER_CARE", "VETERANS"],
            "motto": "退伍不褪色",
        },
        "building { id name cultureLabels motto grid { id } head { id } "
        "households { totalCount } }",
    )
    assert payload["errors"] == []
    building = payload["building"]
    assert sorted(building["cultureLabels"]) == ["ELDER_CARE", "VETERANS"]
    assert len(building["cultureLabels"]) == 2
    assert building["motto"] == "退伍不褪色"
    assert building["grid"] == {"id": gid("OrgUnit", grid.id)}
    assert building["head"] is None
    assert building["households"]["totalCount"] == 0
    row = (
        await session.execute(
            sa.text("SELECT id, path::text, culture_labels FROM building WHERE name = '新建楼'")
        )
    ).one()
    assert building["id"] == gid("Building", row.id)
    assert row.path == f"{await path_of(session, grid.id)}.b{row.id}"
    assert sorted(row.culture_labels) == ["ELDER_CARE", "VETERANS"]
    found = await gql(
        """query($id: ID!) { node(id: $id) { ... on OrgUnit {
            buildings(cultureLabels: [VETERANS], nameContains: "新建") { nodes { id } } } } }""",
        {"id": gid("OrgUnit", grid.id)},
    )
    assert found["node"]["buildings"]["nodes"] == [{"id": building["id"]}]


async def test_create_building_refusals(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    base = {"name": "楼", "address": "某路1号"}
    await refused(
        gql,
        session,
        "createBuilding",
        {**base, "gridId": gid("OrgUnit", demo.renheyuan.id)},
        "INVALID_PARENT_KIND",
        "gridId",
    )
    grid = gid("OrgUnit", demo.grids[GridType.OLD_ESTATE].id)
    await refused(
        gql, session, "createBuilding", {**base, "gridId": grid, "name": ""}, "VALIDATION", "name"
    )
    await refused(
        gql,
        session,
        "createBuilding",
        {**base, "gridId": grid, "address": " "},
        "VALIDATION",
        "address",
    )


async def test_create_household_and_duplicate_room(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    building = await builders.building(session, demo.grids[GridType.COMMERCIAL])
    args = {"buildingId": gid("Building", building.id), "unit": "1单元", "room": "301"}
    payload = await run(
        gql,
        "createHousehold",
        {**args, "tenure": "RENTED"},
        "household { id unit room tenure building { id } members { id } }",
    )
    assert payload["errors"] == []
    assert {k: payload["household"][k] for k in ("unit", "room", "tenure")} == {
        "unit": "1单元",
        "room": "3**",  # a city admin sees the floor only (permissions.masking.mask_room)
        "tenure": "RENTED",
    }
    assert (
        await scalar(session, "SELECT room FROM household WHERE building_id = :b", b=building.id)
        == "301"
    )
    assert payload["household"]["building"] == {"id": gid("Building", building.id)}
    assert payload["household"]["members"] == []
    path = await scalar(
        session, "SELECT path::text FROM household WHERE building_id = :b", b=building.id
    )
    assert path.startswith(f"{building.path}.h")

    await refused(
        gql, session, "createHousehold", {**args, "tenure": "OWNER_OCCUPIED"}, "DUPLICATE", "room"
    )
    # The same room number in another unit is another household.
    other = await run(
        gql, "createHousehold", {**args, "unit": "2单元", "tenure": "RENTED"}, "household { id }"
    )
    assert other["errors"] == []
    assert (
        await scalar(
            session, "SELECT count(*) FROM household WHERE building_id = :b", b=building.id
        )
        == 2
    )


# --- Party organisations ------------------------------------------------------------------


async def party_org_ids(session: AsyncSession, demo: DemoCity) -> dict[str, str]:
    async def one(kind: str, column: str, value: int | None) -> str:
        ident = await scalar(
            session,
            f"SELECT id FROM party_organisation WHERE kind = :k AND {column} = :v",
            k=kind,
            v=value,
        )
        return gid("PartyOrganisation", ident)

    return {
        "branch": await one("COMMUNITY_BRANCH", "org_unit_id", demo.renheyuan.id),
        "grid_org": await one("GRID_PARTY_ORG", "org_unit_id", demo.grids[GridType.OLD_ESTATE].id),
        "group": await one("BUILDING_PARTY_GROUP", "building_id", demo.building.id),
    }


async def test_create_party_organisations_down_the_tree(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    community = await builders.org_unit(session, OrgKind.COMMUNITY, parent=demo.street)
    grid = await builders.org_unit(session, OrgKind.GRID, parent=community)
    building = await builders.building(session, grid)
    selection = "partyOrganisation { id kind name parent { id } orgUnit { id } building { id } }"
    branch = await run(
        gql,
        "createPartyOrganisation",
        {
            "kind": "COMMUNITY_BRANCH",
            "name": "新社区党支部",
            "orgUnitId": gid("OrgUnit", community.id),
        },
        selection,
    )
    assert branch["errors"] == []
    branch_id = branch["partyOrganisation"]["id"]
    assert branch["partyOrganisation"]["parent"] is None
    grid_org = await run(
        gql,
        "createPartyOrganisation",
        {
            "kind": "GRID_PARTY_ORG",
            "name": "新网格党支部",
            "parentId": branch_id,
            "orgUnitId": gid("OrgUnit", grid.id),
        },
        selection,
    )
    assert grid_org["errors"] == []
    assert grid_org["partyOrganisation"]["parent"] == {"id": branch_id}
    assert grid_org["partyOrganisation"]["orgUnit"] == {"id": gid("OrgUnit", grid.id)}
    group = await run(
        gql,
        "createPartyOrganisation",
        {
            "kind": "BUILDING_PARTY_GROUP",
            "name": "新楼栋党小组",
            "parentId": grid_org["partyOrganisation"]["id"],
            "buildingId": gid("Building", building.id),
        },
        selection,
    )
    assert group["errors"] == []
    assert group["partyOrganisation"]["building"] == {"id": gid("Building", building.id)}
    assert group["partyOrganisation"]["orgUnit"] is None
    data = await gql(
        "query($id: ID!) { node(id: $id) { ... on Building { partyGroup { id } } } }",
        {"id": gid("Building", building.id)},
    )
    assert data["node"]["partyGroup"] == {"id": group["partyOrganisation"]["id"]}
    result = await session.execute(
        sa.text("SELECT kind, path::text FROM party_organisation WHERE path <@ CAST(:p AS ltree)"),
        {"p": community.path},
    )
    assert dict(result.all()) == {
        "COMMUNITY_BRANCH": community.path,
        "GRID_PARTY_ORG": grid.path,
        "BUILDING_PARTY_GROUP": building.path,
    }


async def test_create_party_organisation_refusals(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    ids = await party_org_ids(session, demo)
    building = gid(
        "Building", (await builders.building(session, demo.grids[GridType.OLD_ESTATE])).id
    )
    grid = gid("OrgUnit", demo.grids[GridType.OLD_ESTATE].id)
    community = gid("OrgUnit", demo.renheyuan.id)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"kind": "BUILDING_PARTY_GROUP", "parentId": ids["branch"], "buildingId": building},
         "INVALID_PARENT_KIND", "parentId"),
        ({"kind": "BUILDING_PARTY_GROUP", "parentId": ids["group"], "buildingId": building},
         "INVALID_PARENT_KIND", "parentId"),
        ({"kind": "BUILDING_PARTY_GROUP", "buildingId": building},
         "INVALID_PARENT_KIND", "parentId"),
        ({"kind": "COMMUNITY_BRANCH", "parentId": ids["branch"], "orgUnitId": community},
         "INVALID_PARENT_KIND", "parentId"),
        ({"kind": "GRID_PARTY_ORG", "orgUnitId": grid}, "INVALID_PARENT_KIND", "parentId"),
        ({"kind": "GRID_PARTY_ORG", "parentId": ids["grid_org"], "orgUnitId": grid},
         "INVALID_PARENT_KIND", "parentId"),
        ({"kind": "GRID_PARTY_ORG", "parentId": ids["branch"], "orgUnitId": community},
         "INVALID_PARENT_KIND", "orgUnitId"),
        ({"kind": "COMMUNITY_BRANCH", "orgUnitId": grid}, "INVALID_PARENT_KIND", "orgUnitId"),
        ({"kind": "BUILDING_PARTY_GROUP", "parentId": ids["grid_org"], "orgUnitId": grid},
         "VALIDATION", "buildingId"),
        ({"kind": "GRID_PARTY_ORG", "parentId": ids["branch"], "buildingId": building},
         "VALIDATION", "orgUnitId"),
        ({"kind": "BUILDING_PARTY_GROUP", "parentId": ids["grid_org"],
          "buildingId": gid("Building", demo.building.id)}, "DUPLICATE", "buildingId"),
    ]  # fmt: skip
    for input, code, field in cases:
        await refused(
            gql, session, "createPartyOrganisation", {"name": "党组织", **input}, code, field
        )


async def test_party_parent_must_serve_the_place_above(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    """A grid Party organisation of 灵犀社区 cannot hang under 仁和苑社区党支部, nor a building
    group of one grid under another grid's Party organisation."""
    lingxi_grid = await builders.org_unit(
        session, OrgKind.GRID, parent=demo.lingxi, grid_type=GridType.NEW_ESTATE
    )
    other_building = await builders.building(session, demo.grids[GridType.NEW_ESTATE])
    ids = await party_org_ids(session, demo)  # 仁和苑's branch, its first grid's organisation
    await refused(
        gql,
        session,
        "createPartyOrganisation",
        {
            "kind": "GRID_PARTY_ORG",
            "name": "错挂的网格党支部",
            "parentId": ids["branch"],
            "orgUnitId": gid("OrgUnit", lingxi_grid.id),
        },
        "INVALID_PARENT_KIND",
        "parentId",
    )
    await refused(
        gql,
        session,
        "createPartyOrganisation",
        {
            "kind": "BUILDING_PARTY_GROUP",
            "name": "错挂的楼栋党小组",
            "parentId": ids["grid_org"],  # serves grid 1, the building is in grid 4
            "buildingId": gid("Building", other_building.id),
        },
        "INVALID_PARENT_KIND",
        "parentId",
    )


# --- central households -------------------------------------------------------------------


async def test_designate_central_household(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    building = await builders.building(session, demo.grids[GridType.OLD_ESTATE])
    household = await builders.household(session, building)
    member = await builders.person(session, household, is_party_member=True)
    neighbour = await builders.person(session, household, is_party_member=False)
    elsewhere = await builders.person(
        session, await builders.household(session, building), is_party_member=True
    )
    args = {"householdId": gid("Household", household.id)}
    await refused(
        gql,
        session,
        "designateCentralHousehold",
        {**args, "partyMemberId": gid("Person", neighbour.id)},
        "VALIDATION",
        "partyMemberId",
    )
    await refused(
        gql,
        session,
        "designateCentralHousehold",
        {**args, "partyMemberId": gid("Person", elsewhere.id)},
        "VALIDATION",
        "partyMemberId",
    )
    payload = await run(
        gql,
        "designateCentralHousehold",
        {**args, "partyMemberId": gid("Person", member.id)},
        "centralHousehold { id endedAt building { id } household { id } partyMember { id } }",
    )
    assert payload["errors"] == []
    central = payload["centralHousehold"]
    assert central["building"] == {"id": gid("Building", building.id)}
    assert central["household"] == {"id": args["householdId"]}
    assert central["partyMember"] == {"id": gid("Person", member.id)}
    assert central["endedAt"] is None
    data = await gql(
        """query($id: ID!) { node(id: $id) { ... on Building {
            centralHouseholds { id } households { nodes { centralHousehold { id } } } } } }""",
        {"id": gid("Building", building.id)},
    )
    assert data["node"]["centralHouseholds"] == [{"id": central["id"]}]
    assert {"centralHousehold": {"id": central["id"]}} in data["node"]["households"]["nodes"]
    await refused(
        gql,
        session,
        "designateCentralHousehold",
        {**args, "partyMemberId": gid("Person", member.id)},
        "DUPLICATE",
        "householdId",
    )


# --- work units (双报到) -------------------------------------------------------------------


async def test_create_and_pair_work_unit(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    created = await run(
        gql,
        "createWorkUnit",
        {"name": "遵义市图书馆", "kind": "ENTERPRISE_OR_INSTITUTION"},
        "workUnit { id name kind pairings { id } }",
    )
    assert created["errors"] == []
    unit = created["workUnit"]
    assert (unit["name"], unit["kind"], unit["pairings"]) == (
        "遵义市图书馆",
        "ENTERPRISE_OR_INSTITUTION",
        [],
    )
    await refused(
        gql,
        session,
        "createWorkUnit",
        {"name": "遵义市图书馆", "kind": "GOVERNMENT_ORGAN"},
        "DUPLICATE",
        "name",
    )
    await refused(
        gql,
        session,
        "createWorkUnit",
        {"name": " ", "kind": "GOVERNMENT_ORGAN"},
        "VALIDATION",
        "name",
    )

    pair = {"workUnitId": unit["id"], "communityId": gid("OrgUnit", demo.lingxi.id)}
    paired = await run(
        gql, "pairWorkUnit", pair, "workUnitPairing { id endedAt workUnit { id } community { id } }"
    )
    assert paired["errors"] == []
    pairing = paired["workUnitPairing"]
    assert pairing["workUnit"] == {"id": unit["id"]}
    assert pairing["community"] == {"id": gid("OrgUnit", demo.lingxi.id)}
    data = await gql(
        "query($id: ID!) { node(id: $id) { ... on OrgUnit { pairedWorkUnits { id } } } }",
        {"id": gid("OrgUnit", demo.lingxi.id)},
    )
    assert {"id": pairing["id"]} in data["node"]["pairedWorkUnits"]
    path = await scalar(
        session,
        "SELECT path::text FROM work_unit_pairing WHERE community_id = :c ORDER BY id DESC LIMIT 1",
        c=demo.lingxi.id,
    )
    assert path == await path_of(session, demo.lingxi.id)

    await refused(gql, session, "pairWorkUnit", pair, "DUPLICATE", "communityId")
    await refused(
        gql,
        session,
        "pairWorkUnit",
        {**pair, "communityId": gid("OrgUnit", demo.grids[GridType.NEW_ESTATE].id)},
        "INVALID_PARENT_KIND",
        "communityId",
    )
    await refused(
        gql,
        session,
        "pairWorkUnit",
        {**pair, "communityId": gid("OrgUnit", demo.street.id)},
        "INVALID_PARENT_KIND",
        "communityId",
    )


# --- several mutations in one document ------------------------------------------------------


async def test_each_mutation_field_runs_in_its_own_savepoint(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    """A refused field does not undo an earlier field of the same document: both answer,
    the first is committed, the second wrote nothing."""
    before = await counts(session)
    data = await gql(
        """mutation {
            a: createWorkUnit(input: {name: "甲单位", kind: GOVERNMENT_ORGAN}) {
                workUnit { id } errors { code } }
            b: createWorkUnit(input: {name: "甲单位", kind: GOVERNMENT_ORGAN}) {
                workUnit { id } errors { code field } }
            c: createWorkUnit(input: {name: "乙单位", kind: GOVERNMENT_ORGAN}) {
                workUnit { id } errors { code } } }"""
    )
    assert data["a"]["errors"] == []
    assert data["b"] == {"workUnit": None, "errors": [{"code": "DUPLICATE", "field": "name"}]}
    assert data["c"]["errors"] == []
    assert await counts(session) == {**before, "work_unit": before["work_unit"] + 2}
    names = await session.execute(
        sa.text(
            "SELECT name, count(*) FROM work_unit WHERE name IN ('甲单位', '乙单位') GROUP BY name"
        )
    )
    assert dict(names.all()) == {"甲单位": 1, "乙单位": 1}


async def test_completed_fields_stay_done_despite_a_graphql_error(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    """A GraphQL-level error in a payload selection (here `first: 101` inside the second
    payload) does not undo fields that completed: each ran in its own savepoint and its
    payload reported it done, so both rows exist afterwards."""
    before = await counts(session)
    body = await gql.raw(
        """mutation($parent: ID!) {
            a: createWorkUnit(input: {name: "丙单位", kind: GOVERNMENT_ORGAN}) {
                workUnit { id } errors { code } }
            b: createOrgUnit(input: {kind: STREET, name: "新街道", code: "T-ST-1",
                                     parentId: $parent}) {
                orgUnit { id children(first: 101) { totalCount } } errors { code } } }""",
        {"parent": gid("OrgUnit", demo.districts["汇川区"].id)},
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["VALIDATION"]
    assert body["errors"][0]["path"] == ["b", "orgUnit", "children"]
    assert body["data"]["a"]["errors"] == []
    assert body["data"]["a"]["workUnit"]["id"]
    after = await counts(session)
    assert after["work_unit"] == before["work_unit"] + 1
    assert after["org_unit"] == before["org_unit"] + 1


# --- NOT_FOUND names the input at fault -------------------------------------------------------

MISSING = 987_654_321


@pytest.mark.parametrize(
    ("mutation", "input", "field"),
    [
        pytest.param(
            "createOrgUnit",
            {"kind": "STREET", "name": "街道", "code": "T-NF-1", "parentId": ("OrgUnit", MISSING)},
            "parentId",
        ),
        pytest.param("renameOrgUnit", {"id": ("OrgUnit", MISSING), "name": "无"}, "id"),
        pytest.param("retireOrgUnit", {"id": ("OrgUnit", MISSING)}, "id"),
        pytest.param(
            "createBuilding",
            {"gridId": ("OrgUnit", MISSING), "name": "楼", "address": "路"},
            "gridId",
        ),
        pytest.param(
            "createHousehold",
            {"buildingId": ("Building", MISSING), "unit": "1", "room": "1", "tenure": "RENTED"},
            "buildingId",
        ),
        pytest.param(
            "createPartyOrganisation",
            {
                "kind": "GRID_PARTY_ORG",
                "name": "党支部",
                "parentId": ("PartyOrganisation", MISSING),
                "orgUnitId": "grid",
            },
            "parentId",
        ),
        pytest.param(
            "pairWorkUnit",
            {"workUnitId": ("WorkUnit", MISSING), "communityId": "community"},
            "workUnitId",
        ),
    ],
)
async def test_missing_target_is_not_found_on_its_field(
    gql: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
    mutation: str,
    input: dict[str, Any],
    field: str,
) -> None:
    known = {"grid": _unit(demo, "grid"), "community": _unit(demo, "community")}
    resolved = {
        key: gid(*value) if isinstance(value, tuple) else known.get(value, value)
        for key, value in input.items()
    }
    await refused(gql, session, mutation, resolved, "NOT_FOUND", field)
