"""Reading the administrative tree, buildings, households and the Party tree of the demo city.

Expected values are either hand-derived from `seeds.demo.LAYOUT` (codes, names, grid types)
or counted with direct SQL over the ltree `path` columns.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from schema.relay import to_global_id
from seeds.demo import RENHEYUAN_GRID_1, DemoCity
from tests.conftest import GraphQLClient, scalar

RENHEYUAN = "520303001001"
#: 仁和苑社区's grids in code order with their types (seeds.demo.LAYOUT).
RENHEYUAN_GRID_TYPES = [
    "OLD_ESTATE",
    "OLD_ESTATE",
    "OLD_ESTATE",
    "NEW_ESTATE",
    "NEW_ESTATE",
    "COMMERCIAL",
    "OLD_ESTATE",
]
#: Grids per type in the whole demo city, counted by hand from LAYOUT.
CITY_GRIDS_BY_TYPE = {
    "OLD_ESTATE": 9,
    "NEW_ESTATE": 8,
    "COMMERCIAL": 4,
    "RELOCATION_RESETTLEMENT": 3,
}


def gid(type_name: str, ident: int | None) -> str:
    assert ident is not None
    return str(to_global_id(type_name, ident))


async def column(session: AsyncSession, statement: str, **params: Any) -> list[Any]:
    return list((await session.execute(sa.text(statement), params)).scalars())


# --- city and org units -------------------------------------------------------------


async def test_city_and_its_districts(gql: GraphQLClient, demo: DemoCity) -> None:
    data = await gql(
        """{ city { id kind code name level
                    children { totalCount nodes { code name kind level } } } }"""
    )
    city = data["city"]
    assert city["id"] == gid("OrgUnit", demo.city.id)
    assert (city["kind"], city["code"], city["name"], city["level"]) == (
        "CITY",
        "520300",
        "遵义市",
        1,
    )
    assert city["children"]["totalCount"] == 5
    # Ordered by code: 520302, 520303, 520304, 520382, 520391.
    assert [(c["code"], c["name"]) for c in city["children"]["nodes"]] == [
        ("520302", "红花岗区"),
        ("520303", "汇川区"),
        ("520304", "播州区"),
        ("520382", "仁怀市"),
        ("520391", "新蒲新区"),
    ]
    assert {(c["kind"], c["level"]) for c in city["children"]["nodes"]} == {("DISTRICT", 2)}


async def test_org_unit_by_code_and_by_id_is_the_same_unit(
    gql: GraphQLClient, demo: DemoCity
) -> None:
    by_code = await gql(f'{{ orgUnit(code: "{RENHEYUAN}") {{ id name kind }} }}')
    assert by_code["orgUnit"] == {
        "id": gid("OrgUnit", demo.renheyuan.id),
        "name": "仁和苑社区",
        "kind": "COMMUNITY",
    }
    by_id = await gql(
        "query($id: ID!) { orgUnit(id: $id) { code name } }",
        {"id": gid("OrgUnit", demo.renheyuan.id)},
    )
    assert by_id["orgUnit"] == {"code": RENHEYUAN, "name": "仁和苑社区"}


async def test_org_unit_unknown_code_or_id_is_null(gql: GraphQLClient) -> None:
    assert await gql('{ orgUnit(code: "999999") { id } }') == {"orgUnit": None}
    by_id = await gql(
        "query($id: ID!) { orgUnit(id: $id) { id } }", {"id": gid("OrgUnit", 987_654_321)}
    )
    assert by_id == {"orgUnit": None}


@pytest.mark.parametrize("both", [pytest.param(False, id="neither"), pytest.param(True, id="both")])
async def test_org_unit_needs_exactly_one_of_id_and_code(
    gql: GraphQLClient, demo: DemoCity, both: bool
) -> None:
    if both:
        errors = await gql.errors(
            f'query($id: ID) {{ orgUnit(id: $id, code: "{RENHEYUAN}") {{ id }} }}',
            {"id": gid("OrgUnit", demo.renheyuan.id)},
        )
    else:
        errors = await gql.errors("{ orgUnit { id } }")
    assert [e["extensions"]["code"] for e in errors] == ["VALIDATION"]
    assert errors[0]["path"] == ["orgUnit"]


async def test_parent_ancestors_and_level_of_a_grid(gql: GraphQLClient) -> None:
    data = await gql(
        f"""{{ orgUnit(code: "{RENHEYUAN_GRID_1}") {{
                name level gridType
                parent {{ code level }}
                ancestors {{ code name kind level }} }} }}"""
    )
    grid = data["orgUnit"]
    assert grid["name"] == "仁和苑社区第1网格"
    assert grid["level"] == 5
    assert grid["gridType"] == "OLD_ESTATE"
    assert grid["parent"] == {"code": RENHEYUAN, "level": 4}
    assert [(a["code"], a["name"], a["kind"], a["level"]) for a in grid["ancestors"]] == [
        ("520300", "遵义市", "CITY", 1),
        ("520303", "汇川区", "DISTRICT", 2),
        ("520303001", "上海路街道", "STREET", 3),
        (RENHEYUAN, "仁和苑社区", "COMMUNITY", 4),
    ]


async def test_level_of_each_kind(gql: GraphQLClient) -> None:
    data = await gql("""{ orgUnits(first: 100) { nodes { kind level parent { level } } } }""")
    expected = {"CITY": 1, "DISTRICT": 2, "STREET": 3, "COMMUNITY": 4, "GRID": 5}
    nodes = data["orgUnits"]["nodes"]
    assert {n["kind"] for n in nodes} == set(expected)
    for node in nodes:
        assert node["level"] == expected[node["kind"]]
        if node["parent"] is not None:
            assert node["parent"]["level"] == node["level"] - 1


async def test_children_are_direct_and_filter_by_kind(gql: GraphQLClient) -> None:
    data = await gql(
        """{ orgUnit(code: "520303") {
               all: children { totalCount nodes { name kind } }
               streets: children(kind: STREET) { totalCount }
               communities: children(kind: COMMUNITY) { totalCount nodes { id } } } }"""
    )
    district = data["orgUnit"]
    assert [(c["name"], c["kind"]) for c in district["all"]["nodes"]] == [
        ("上海路街道", "STREET"),
        ("洗马路街道", "STREET"),
    ]
    assert district["streets"]["totalCount"] == 2
    # Communities are grandchildren of a district, never its children.
    assert district["communities"] == {"totalCount": 0, "nodes": []}


async def test_children_of_renheyuan_with_grid_type(gql: GraphQLClient) -> None:
    data = await gql(
        f"""{{ orgUnit(code: "{RENHEYUAN}") {{
                grids: children(kind: GRID) {{ totalCount nodes {{ code gridType }} }}
                newEstates: children(gridType: NEW_ESTATE) {{ nodes {{ code }} }} }} }}"""
    )
    unit = data["orgUnit"]
    assert unit["grids"]["totalCount"] == 7
    assert [(g["code"], g["gridType"]) for g in unit["grids"]["nodes"]] == [
        (f"{RENHEYUAN}{i:03d}", grid_type) for i, grid_type in enumerate(RENHEYUAN_GRID_TYPES, 1)
    ]
    assert [g["code"] for g in unit["newEstates"]["nodes"]] == [
        f"{RENHEYUAN}004",
        f"{RENHEYUAN}005",
    ]


async def test_descendant_grids_of_renheyuan(gql: GraphQLClient) -> None:
    data = await gql(
        f"""{{ orgUnit(code: "{RENHEYUAN}") {{
                grids: descendants(kind: GRID) {{ totalCount nodes {{ code name }} }}
                old: descendants(kind: GRID, gridType: OLD_ESTATE) {{ nodes {{ code }} }}
                commercial: descendants(gridType: COMMERCIAL) {{ nodes {{ code }} }}
                resettlement: descendants(gridType: RELOCATION_RESETTLEMENT) {{ totalCount }}
                streets: descendants(kind: STREET) {{ totalCount }} }} }}"""
    )
    unit = data["orgUnit"]
    assert unit["grids"]["totalCount"] == 7
    assert [g["name"] for g in unit["grids"]["nodes"]] == [
        f"仁和苑社区第{i}网格" for i in range(1, 8)
    ]
    assert [g["code"] for g in unit["old"]["nodes"]] == [
        f"{RENHEYUAN}{i:03d}" for i in (1, 2, 3, 7)
    ]
    assert [g["code"] for g in unit["commercial"]["nodes"]] == [f"{RENHEYUAN}006"]
    assert unit["resettlement"]["totalCount"] == 0
    # Descendants lie below: the street above the community is not one of them.
    assert unit["streets"]["totalCount"] == 0


async def test_descendants_of_the_city(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    data = await gql(
        """{ city {
               everything: descendants(first: 100) { totalCount nodes { code } }
               grids: descendants(kind: GRID, first: 100) { totalCount }
               old: descendants(gridType: OLD_ESTATE) { totalCount }
               new: descendants(gridType: NEW_ESTATE) { totalCount }
               commercial: descendants(gridType: COMMERCIAL) { totalCount }
               resettlement: descendants(gridType: RELOCATION_RESETTLEMENT) {
                   totalCount nodes { code } } } }"""
    )
    city = data["city"]
    # 5 districts + 7 streets + 8 communities + 24 grids; the city itself is not included.
    assert city["everything"]["totalCount"] == 44
    assert "520300" not in {n["code"] for n in city["everything"]["nodes"]}
    assert city["grids"]["totalCount"] == 24
    assert {
        "OLD_ESTATE": city["old"]["totalCount"],
        "NEW_ESTATE": city["new"]["totalCount"],
        "COMMERCIAL": city["commercial"]["totalCount"],
        "RELOCATION_RESETTLEMENT": city["resettlement"]["totalCount"],
    } == CITY_GRIDS_BY_TYPE
    # The resettlement grids are 五里碑社区's (仁怀市 520382, 盐津街道 001, 五里碑 001).
    assert [n["code"] for n in city["resettlement"]["nodes"]] == [
        f"520382001001{i:03d}" for i in (1, 2, 3)
    ]
    by_sql = await scalar(
        session,
        "SELECT count(*) FROM org_unit WHERE kind = 'GRID' AND path <@ "
        "(SELECT path FROM org_unit WHERE id = :id) AND retired_at IS NULL",
        id=demo.city.id,
    )
    assert by_sql == 24


# --- buildings ----------------------------------------------------------------------------


async def test_buildings_filtered_by_culture_labels(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    data = await gql(
        f"""{{ orgUnit(code: "{RENHEYUAN}") {{
                all: buildings(first: 100) {{ totalCount }}
                elder: buildings(cultureLabels: [ELDER_CARE], first: 100) {{
                    totalCount nodes {{ id name cultureLabels }} }}
                either: buildings(cultureLabels: [ELDER_CARE, VETERANS], first: 100) {{
                    totalCount nodes {{ id }} }} }} }}"""
    )
    unit = data["orgUnit"]
    under = "path <@ (SELECT path FROM org_unit WHERE id = :unit)"
    all_ids = await column(
        session, f"SELECT id FROM building WHERE {under}", unit=demo.renheyuan.id
    )
    elder_ids = await column(
        session,
        f"SELECT id FROM building WHERE {under} AND 'ELDER_CARE' = ANY(culture_labels) "
        "ORDER BY name, id",
        unit=demo.renheyuan.id,
    )
    either_ids = await column(
        session,
        f"SELECT id FROM building WHERE {under} "
        "AND ('ELDER_CARE' = ANY(culture_labels) OR 'VETERANS' = ANY(culture_labels))",
        unit=demo.renheyuan.id,
    )
    assert unit["all"]["totalCount"] == len(all_ids)
    assert 0 < len(elder_ids) < len(either_ids) < len(all_ids)
    elder = unit["elder"]
    assert elder["totalCount"] == len(elder_ids)
    assert [b["id"] for b in elder["nodes"]] == [gid("Building", i) for i in elder_ids]
    assert all("ELDER_CARE" in b["cultureLabels"] for b in elder["nodes"])
    assert gid("Building", demo.building.id) in {b["id"] for b in elder["nodes"]}
    assert unit["either"]["totalCount"] == len(either_ids)
    assert {b["id"] for b in unit["either"]["nodes"]} == {gid("Building", i) for i in either_ids}


async def test_pinned_building(gql: GraphQLClient, demo: DemoCity, session: AsyncSession) -> None:
    data = await gql(
        """query($id: ID!) { node(id: $id) { ... on Building {
            name cultureLabels motto
            grid { code }
            households(first: 100) { totalCount nodes { id } }
            head { id name isPartyMember isVeteran }
            headPosition { id role active priorityBasis person { name } }
            partyGroup { kind name building { id } }
            centralHouseholds { household { id } partyMember { id isPartyMember } }
            residents(first: 100) { totalCount }
            alone: residents(filter: { livesAlone: true }) { nodes { id name } }
            renters: residents(filter: { isRenter: true }) { nodes { name } }
        } } }""",
        {"id": gid("Building", demo.building.id)},
    )
    b = data["node"]
    assert b["cultureLabels"] == ["PARTY_PIONEER", "ELDER_CARE"]
    assert b["motto"] == "党员带头，楼栋争先"
    assert b["grid"] == {"code": RENHEYUAN_GRID_1}
    assert b["households"]["totalCount"] == 10
    household_ids = await column(
        session,
        "SELECT id FROM household WHERE building_id = :b ORDER BY unit, room, id",
        b=demo.building.id,
    )
    assert [h["id"] for h in b["households"]["nodes"]] == [
        gid("Household", i) for i in household_ids
    ]
    assert b["head"] == {
        "id": gid("Person", demo.building_head.id),
        "name": "张建国",
        "isPartyMember": True,
        "isVeteran": True,
    }
    head_position = b["headPosition"]
    assert head_position["id"] == gid("Position", demo.building_head_position.id)
    assert (head_position["role"], head_position["active"]) == ("BUILDING_HEAD", True)
    assert sorted(head_position["priorityBasis"]) == [
        "OUTSTANDING_VOLUNTEER",
        "PARTY_MEMBER",
        "VETERAN",
    ]
    assert head_position["person"] == {"name": "张建国"}
    assert b["partyGroup"] == {
        "kind": "BUILDING_PARTY_GROUP",
        "name": f"{b['name']}党小组",
        "building": {"id": gid("Building", demo.building.id)},
    }
    central = await session.execute(
        sa.text(
            "SELECT household_id, party_member_id FROM central_household "
            "WHERE building_id = :b AND ended_at IS NULL"
        ),
        {"b": demo.building.id},
    )
    expected_central = {(gid("Household", h), gid("Person", p)) for h, p in central}
    assert expected_central  # the pinned building has a 党员中心户
    assert {
        (c["household"]["id"], c["partyMember"]["id"]) for c in b["centralHouseholds"]
    } == expected_central
    assert all(c["partyMember"]["isPartyMember"] for c in b["centralHouseholds"])
    residents = await scalar(
        session,
        "SELECT count(*) FROM person p JOIN household h ON h.id = p.household_id "
        "WHERE h.building_id = :b",
        b=demo.building.id,
    )
    assert b["residents"]["totalCount"] == residents
    alone = await column(
        session,
        "SELECT p.id FROM person p JOIN household h ON h.id = p.household_id "
        "WHERE h.building_id = :b AND p.lives_alone ORDER BY p.name, p.id",
        b=demo.building.id,
    )
    assert [p["id"] for p in b["alone"]["nodes"]] == [gid("Person", i) for i in alone]
    assert {"id": gid("Person", demo.resident_alone.id), "name": "王秀英"} in b["alone"]["nodes"]
    assert "刘强" in {p["name"] for p in b["renters"]["nodes"]}
    assert "张建国" not in {p["name"] for p in b["renters"]["nodes"]}


async def test_building_without_a_head(gql: GraphQLClient, demo: DemoCity) -> None:
    data = await gql(
        "query($id: ID!) { node(id: $id) { ... on Building { head { id } headPosition { id } } } }",
        {"id": gid("Building", demo.building_without_head.id)},
    )
    assert data["node"] == {"head": None, "headPosition": None}


async def test_household_members(gql: GraphQLClient, demo: DemoCity) -> None:
    assert demo.building_head.household_id is not None
    data = await gql(
        """query($id: ID!) { node(id: $id) { ... on Household {
               tenure building { id } members { name isPartyMember } } } }""",
        {"id": gid("Household", demo.building_head.household_id)},
    )
    household = data["node"]
    assert household["tenure"] == "OWNER_OCCUPIED"
    assert household["building"] == {"id": gid("Building", demo.building.id)}
    assert sorted((m["name"], m["isPartyMember"]) for m in household["members"]) == sorted(
        [("张建国", True), ("李桂兰", False), ("张宇", False)]
    )


# --- Party tree ---------------------------------------------------------------------------


async def test_party_tree_from_a_building_group(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    data = await gql(
        """query($id: ID!) { node(id: $id) { ... on Building { partyGroup {
            id kind children { id }
            members(first: 100) { totalCount nodes { id name } }
            parent {
                id kind name orgUnit { code } children { id }
                parent { kind name orgUnit { code } parent { id } }
            } } } } }""",
        {"id": gid("Building", demo.building.id)},
    )
    group = data["node"]["partyGroup"]
    assert group["kind"] == "BUILDING_PARTY_GROUP"
    assert group["children"] == []
    member_ids = await column(
        session,
        "SELECT p.id FROM person p JOIN party_organisation o ON o.id = p.party_org_id "
        "WHERE o.building_id = :b ORDER BY p.name, p.id",
        b=demo.building.id,
    )
    assert group["members"]["totalCount"] == len(member_ids)
    assert [m["id"] for m in group["members"]["nodes"]] == [gid("Person", i) for i in member_ids]
    assert {"张建国", "赵德明"} <= {m["name"] for m in group["members"]["nodes"]}

    grid_org = group["parent"]
    assert (grid_org["kind"], grid_org["name"]) == ("GRID_PARTY_ORG", "仁和苑社区第1网格党支部")
    assert grid_org["orgUnit"] == {"code": RENHEYUAN_GRID_1}
    grid_org_id = int(
        await scalar(
            session,
            "SELECT id FROM party_organisation WHERE org_unit_id = "
            "(SELECT id FROM org_unit WHERE code = :code)",
            code=RENHEYUAN_GRID_1,
        )
    )
    children = await column(
        session,
        "SELECT id FROM party_organisation WHERE parent_id = :p ORDER BY id",
        p=grid_org_id,
    )
    assert grid_org["id"] == gid("PartyOrganisation", grid_org_id)
    assert sorted(c["id"] for c in grid_org["children"]) == sorted(
        gid("PartyOrganisation", i) for i in children
    )
    assert group["id"] in {c["id"] for c in grid_org["children"]}

    branch = grid_org["parent"]
    assert branch == {
        "kind": "COMMUNITY_BRANCH",
        "name": "仁和苑社区党支部",
        "orgUnit": {"code": RENHEYUAN},
        "parent": None,
    }


# --- stats ----------------------------------------------------------------------------------

STATS_FIELDS = """grids buildings households residents partyMembers buildingHeads partyGroups
    centralHouseholds secondedCadres registeredPartyMembers pairedWorkUnits"""


async def stats_by_sql(session: AsyncSession, unit_id: int | None) -> dict[str, int]:
    """The dashboard counts of a subtree, from `path <@` queries written independently."""
    under = "path <@ (SELECT path FROM org_unit WHERE id = :unit)"
    queries = {
        "grids": f"SELECT count(*) FROM org_unit WHERE kind = 'GRID' AND retired_at IS NULL "
        f"AND {under}",
        "buildings": f"SELECT count(*) FROM building WHERE {under}",
        "households": f"SELECT count(*) FROM household WHERE {under}",
        "residents": f"SELECT count(*) FROM person WHERE {under}",
        "partyMembers": f"SELECT count(*) FROM person WHERE is_party_member AND {under}",
        "buildingHeads": "SELECT count(*) FROM position WHERE role = 'BUILDING_HEAD' "
        f"AND ended_at IS NULL AND {under}",
        "partyGroups": "SELECT count(*) FROM party_organisation "
        f"WHERE kind = 'BUILDING_PARTY_GROUP' AND {under}",
        "centralHouseholds": "SELECT count(*) FROM central_household "
        f"WHERE ended_at IS NULL AND {under}",
        "secondedCadres": "SELECT count(DISTINCT person_id) FROM position "
        f"WHERE role = 'SECONDED_CADRE' AND ended_at IS NULL AND {under}",
        "registeredPartyMembers": "SELECT count(DISTINCT person_id) FROM position "
        f"WHERE role = 'REGISTERED_PARTY_MEMBER' AND ended_at IS NULL AND {under}",
        "pairedWorkUnits": "SELECT count(DISTINCT work_unit_id) FROM work_unit_pairing "
        f"WHERE ended_at IS NULL AND {under}",
    }
    return {
        name: int(await scalar(session, statement, unit=unit_id))
        for name, statement in queries.items()
    }


@pytest.mark.parametrize("place", ["renheyuan", "city"])
async def test_stats_match_sql(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession, place: str
) -> None:
    unit = demo.renheyuan if place == "renheyuan" else demo.city
    data = await gql(
        f"query($id: ID!) {{ orgUnit(id: $id) {{ stats {{ {STATS_FIELDS} }} }} }}",
        {"id": gid("OrgUnit", unit.id)},
    )
    expected = await stats_by_sql(session, unit.id)
    assert data["orgUnit"]["stats"] == expected
    if place == "renheyuan":
        assert expected["grids"] == 7
    else:
        assert expected["grids"] == 24
    assert all(value > 0 for value in expected.values()), expected


async def test_stats_of_several_units_in_one_query(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    data = await gql(
        "{ city { children { nodes { id stats { grids residents buildingHeads } } } } }"
    )
    districts = data["city"]["children"]["nodes"]
    for name, district in demo.districts.items():
        expected = await stats_by_sql(session, district.id)
        (found,) = [d for d in districts if d["id"] == gid("OrgUnit", district.id)]
        assert found["stats"] == {
            "grids": expected["grids"],
            "residents": expected["residents"],
            "buildingHeads": expected["buildingHeads"],
        }, name
    assert sum(d["stats"]["grids"] for d in districts) == 24


async def test_stats_count_seconded_cadres_as_people(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    data = await gql(
        "query($id: ID!) { orgUnit(id: $id) { stats { secondedCadres } } }",
        {"id": gid("OrgUnit", demo.city.id)},
    )
    cadres = await scalar(
        session,
        "SELECT count(DISTINCT person_id) FROM position "
        "WHERE role = 'SECONDED_CADRE' AND ended_at IS NULL",
    )
    assert cadres == 18  # the demo's five teams: 4 + 3 + 3 + 5 + 3 cadres
    assert data["orgUnit"]["stats"]["secondedCadres"] == cadres
