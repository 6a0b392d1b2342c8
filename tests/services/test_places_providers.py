"""Estates and coordinates, the 15-minute service circle, stations, teams, the catalogue,
property companies and Party-member posts through GraphQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from schema.relay import from_global_id
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.permissions.support import gid, rows
from tests.services.helpers import codes, run

NEARBY = """query($id: ID!, $minutes: Int!) { node(id: $id) { ... on Building {
  latitude longitude estate { id name withoutPropertyManagement }
  nearbyStations(minutes: $minutes) { distanceMetres walkMinutes station { id name } } } } }"""


async def test_stations_within_a_walk_are_those_within_the_circle(
    resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    """Every station listed is within 1,000 m (15 minutes), nearest first, and every station
    within 1,000 m of the building (by its own great-circle sum) is listed."""
    data = await resident(NEARBY, {"id": gid("Building", demo.building.id), "minutes": 15})
    b = data["node"]
    assert b["estate"]["withoutPropertyManagement"] is True, "仁和苑's old estate (无物业管理)"
    near = b["nearbyStations"]
    assert near, "仁和苑's station is round the corner"
    distances = [n["distanceMetres"] for n in near]
    assert distances == sorted(distances)
    assert max(distances) <= 1000
    expected = await rows(
        session,
        """SELECT s.id FROM service_station s, building b WHERE b.id = :b
           AND earth_distance(ll_to_earth(b.latitude, b.longitude),
                              ll_to_earth(s.latitude, s.longitude)) <= 1000
           ORDER BY s.id""",
        b=demo.building.id,
    )
    visible = {n["station"]["id"] for n in near}
    assert visible <= {gid("ServiceStation", i) for (i,) in expected}
    assert gid("ServiceStation", demo.services.station.id) in visible
    wider = await resident(NEARBY, {"id": gid("Building", demo.building.id), "minutes": 30})
    assert len(wider["node"]["nearbyStations"]) >= len(near)
    refused = await resident.errors(
        NEARBY, {"id": gid("Building", demo.building.id), "minutes": 90}
    )
    assert refused[0]["extensions"]["code"] == "VALIDATION"


async def test_the_circle_uses_the_gist_index(session: AsyncSession, demo: DemoCity) -> None:
    await session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        r[0]
        for r in await rows(
            session,
            """EXPLAIN SELECT id FROM service_station
               WHERE earth_box(ll_to_earth(27.72, 106.93), 1000)
                     @> ll_to_earth(latitude, longitude)""",
        )
    )
    assert "ix_service_station_location" in plan


async def test_stations_near_a_point(resident: GraphQLClient, demo: DemoCity) -> None:
    station = demo.services.station
    data = await resident(
        """query($lat: Float!, $lon: Float!) {
             serviceStationsNear(latitude: $lat, longitude: $lon) {
               distanceMetres station { id openNow openingHours { days opens } } } }""",
        {"lat": station.latitude, "lon": station.longitude},
    )
    first = data["serviceStationsNear"][0]
    assert first["station"]["id"] == gid("ServiceStation", station.id)
    assert first["distanceMetres"] == 0
    assert first["station"]["openingHours"][0]["days"] == ["MON", "TUE", "WED", "THU", "FRI"]
    outside = await resident.errors(
        "{ serviceStationsNear(latitude: 39.9, longitude: 116.4) { distanceMetres } }"
    )
    assert outside[0]["extensions"]["code"] == "VALIDATION"


async def test_estates_are_drawn_in_their_grid(
    admin: GraphQLClient, worker: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    grid = gid("OrgUnit", demo.building.grid_id)
    made = await run(
        admin,
        "createEstate",
        {"gridId": grid, "name": "仁和苑北区", "latitude": 27.73, "longitude": 106.94},
        "estate { id name withoutPropertyManagement grid { id } }",
    )
    assert made["errors"] == []
    estate = made["estate"]
    assert estate["withoutPropertyManagement"] is True
    same = await run(admin, "createEstate", {"gridId": grid, "name": "仁和苑北区"}, "estate { id }")
    assert codes(same) == ["DUPLICATE"]
    moved = await run(
        worker,
        "placeBuilding",
        {"buildingId": gid("Building", demo.building.id), "estateId": estate["id"]},
        "building { estate { id } }",
    )
    assert moved["building"]["estate"] == {"id": estate["id"]}
    [(other_grid_building,)] = await rows(
        session,
        "SELECT id FROM building WHERE grid_id <> :g AND path <@ CAST(:c AS ltree) LIMIT 1",
        g=demo.building.grid_id,
        c=demo.renheyuan.path,
    )
    across = await run(
        admin,
        "placeBuilding",
        {"buildingId": gid("Building", other_grid_building), "estateId": estate["id"]},
        "building { id }",
    )
    assert codes(across) == ["VALIDATION"]
    assert across["errors"][0]["field"] == "estateId"
    # the database holds the rule too, whoever writes
    with pytest.raises(DBAPIError, match="estate lies in the building's grid"):
        async with session.begin_nested():
            await session.execute(
                sa.text("UPDATE building SET estate_id = :e WHERE id = :b"),
                {"e": int(from_global_id(estate["id"])[1]), "b": other_grid_building},
            )
    company = gid("PropertyCompany", demo.services.property_company.id)
    managed = await run(
        admin,
        "updateEstate",
        {"id": estate["id"], "propertyCompanyId": company},
        "estate { withoutPropertyManagement propertyCompany { name } }",
    )
    assert managed["estate"] == {
        "withoutPropertyManagement": False,
        "propertyCompany": {"name": "遵义红城物业服务有限公司"},
    }
    unmanaged = await admin(
        """query($c: ID!) { estates(under: $c, withoutPropertyManagement: true, first: 100) {
             nodes { id } } }""",
        {"c": gid("OrgUnit", demo.renheyuan.id)},
    )
    assert estate["id"] not in {n["id"] for n in unmanaged["estates"]["nodes"]}


async def test_a_building_outside_zunyi_is_refused(worker: GraphQLClient, demo: DemoCity) -> None:
    refused = await run(
        worker,
        "locateBuilding",
        {"buildingId": gid("Building", demo.building.id), "latitude": 31.2, "longitude": 121.5},
        "building { id }",
    )
    assert codes(refused) == ["VALIDATION"]
    assert refused["errors"][0]["field"] == "latitude"


async def test_a_station_is_set_up_by_admins_and_kept_by_its_managers(
    admin: GraphQLClient, worker: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    community = gid("OrgUnit", demo.renheyuan.id)
    station_input = {
        "communityId": community,
        "name": "仁和苑第二睦邻之家",
        "address": "仁和苑7栋架空层",
        "latitude": 27.725,
        "longitude": 106.935,
        "openingHours": [{"days": ["SAT", "SUN"], "opens": "09:00", "closes": "17:00"}],
        "facilities": ["READING_ROOM", "CHILDREN_ROOM"],
    }
    assert codes(await run(worker, "createServiceStation", station_input, "station { id }")) == [
        "FORBIDDEN"
    ]
    backwards = {
        **station_input,
        "openingHours": [{"days": ["MON"], "opens": "18:00", "closes": "09:00"}],
    }
    refused = await run(admin, "createServiceStation", backwards, "station { id }")
    assert codes(refused) == ["VALIDATION"]
    assert refused["errors"][0]["field"] == "openingHours"
    made = await run(admin, "createServiceStation", station_input, "station { id facilities }")
    assert made["errors"] == []
    station = made["station"]
    assert station["facilities"] == ["CHILDREN_ROOM", "READING_ROOM"]

    [(position,)] = await rows(
        session,
        "SELECT id FROM position WHERE person_id = :p AND ended_at IS NULL",
        p=demo.grid_worker.id,
    )
    managed = await run(
        admin,
        "addStationManager",
        {"stationId": station["id"], "positionId": gid("Position", position)},
        "manager { position { id } }",
    )
    assert managed["errors"] == []
    # the manager now keeps the station: its hours are his to change
    changed = await run(
        worker,
        "updateServiceStation",
        {"id": station["id"], "hotline": "0851-28620000"},
        "station { hotline managers { position { id } } }",
    )
    assert changed["errors"] == []
    assert changed["station"]["hotline"] == "0851-28620000"
    served = await run(
        admin,
        "serveBuilding",
        {"stationId": station["id"], "buildingId": gid("Building", demo.building.id)},
        "station { buildings(first: 100) { nodes { id } } }",
    )
    assert gid("Building", demo.building.id) in {
        n["id"] for n in served["station"]["buildings"]["nodes"]
    }


async def test_a_team_roster_is_kept_by_its_leader(
    head: GraphQLClient, renter: GraphQLClient, demo: DemoCity
) -> None:
    team = gid("ServiceTeam", demo.services.running_team.id)
    widow = gid("Person", demo.resident_alone.id)
    added = await run(
        head, "addTeamMember", {"teamId": team, "personId": widow}, "member { role person { id } }"
    )
    assert added["errors"] == []
    assert added["member"] == {"role": "MEMBER", "person": {"id": widow}}
    again = await run(head, "addTeamMember", {"teamId": team, "personId": widow}, "member { role }")
    assert codes(again) == ["DUPLICATE"]
    not_his = await run(
        renter, "addTeamMember", {"teamId": team, "personId": widow}, "member { role }"
    )
    assert codes(not_his) in (["FORBIDDEN"], ["NOT_FOUND"])
    left = await run(
        head,
        "changeTeamMember",
        {"teamId": team, "personId": widow, "role": None},
        "member { leftAt }",
    )
    assert left["member"]["leftAt"]
    roster = await head(
        """query($id: ID!) { node(id: $id) { ... on ServiceTeam { name kind
             members(first: 100) { totalCount nodes { role person { id } } } } } }""",
        {"id": team},
    )
    members = roster["node"]["members"]
    assert widow not in {n["person"]["id"] for n in members["nodes"] if n["person"]}
    leaders = [n["person"]["id"] for n in members["nodes"] if n["role"] == "LEADER"]
    assert leaders == [gid("Person", demo.building_head.id)]


async def test_wulibei_has_its_seven_volunteer_teams(gql: GraphQLClient, demo: DemoCity) -> None:
    data = await gql(
        """query($c: ID!) { serviceTeams(under: $c, kinds: [VOLUNTEER], first: 20) {
             totalCount nodes { category { code } members(first: 1) { totalCount } } } }""",
        {"c": gid("OrgUnit", demo.wulibei.id)},
    )
    teams = data["serviceTeams"]
    assert teams["totalCount"] == 7
    focus = {t["category"]["code"] for t in teams["nodes"]}
    assert {"DISPUTE_MEDIATION", "ENVIRONMENT"} <= focus


async def test_items_are_offered_by_their_provider_with_their_eligibility(
    head: GraphQLClient, renter: GraphQLClient, demo: DemoCity
) -> None:
    categories = await head("{ serviceCategories { id code name } }")
    codes_seen = {c["code"] for c in categories["serviceCategories"]}
    assert len(codes_seen) >= 20
    assert {"CHILD_GROWTH", "HOME_ELDERLY_CARE", "HOME_HEALTH_CHECK", "PROXY_PURCHASE",
            "LEGAL_AID", "SECURITY_PATROL", "POLICY_OUTREACH", "DISPUTE_MEDIATION",
            "ENVIRONMENT"} <= codes_seen  # fmt: skip
    haircut = next(c["id"] for c in categories["serviceCategories"] if c["code"] == "HAIRCUT")
    item = {
        "categoryId": haircut,
        "name": "上门义剪",
        "teamId": gid("ServiceTeam", demo.services.running_team.id),
        "eligibility": ["ELDERLY", "LIVES_ALONE"],
        "defaultMinutes": 40,
    }
    made = await run(
        head, "createServiceItem", item, "item { eligibility providerKind defaultHours }"
    )
    assert made["item"] == {
        "eligibility": ["ELDERLY", "LIVES_ALONE"],
        "providerKind": "TEAM",
        "defaultHours": 0.67,
    }
    assert codes(await run(renter, "createServiceItem", item, "item { name }")) == ["FORBIDDEN"]
    two = {**item, "stationId": gid("ServiceStation", demo.services.station.id)}
    refused = await run(head, "createServiceItem", two, "item { name }")
    assert codes(refused) in (["VALIDATION"], ["FORBIDDEN"])


async def test_property_companies_and_their_red_stewards(
    gql: GraphQLClient, admin: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    company = gid("PropertyCompany", demo.services.property_company.id)
    data = await gql(
        """query($id: ID!) { node(id: $id) { ... on PropertyCompany { name hasPartyOrganisation
             partyOrganisationSince estates { id } staff(first: 100) { totalCount
             nodes { role staffKind } } } } }""",
        {"id": company},
    )
    found = data["node"]
    assert found["hasPartyOrganisation"] is True
    assert found["estates"]
    staff = found["staff"]
    assert staff["totalCount"] > 0
    assert {n["role"] for n in staff["nodes"]} == {"PROPERTY_STAFF"}
    assert {n["staffKind"] for n in staff["nodes"]} == {"GUARD", "CLEANER", "ELECTRICIAN"}
    in_sql = await scalar(
        session,
        """SELECT count(*) FROM position p JOIN building b ON b.id = p.building_id
           JOIN estate e ON e.id = b.estate_id WHERE e.property_company_id = :c
           AND p.role = 'PROPERTY_STAFF' AND p.ended_at IS NULL""",
        c=demo.services.property_company.id,
    )
    assert staff["totalCount"] == in_sql
    party = await gql("{ propertyCompanies(hasPartyOrganisation: false) { totalCount } }")
    assert party["propertyCompanies"]["totalCount"] == 1, "播州德润 has none yet"
    changed = await run(
        gql,
        "updatePropertyCompany",
        {"id": company, "hasPartyOrganisation": False},
        "propertyCompany { hasPartyOrganisation partyOrganisationSince }",
    )
    assert changed["propertyCompany"] == {
        "hasPartyOrganisation": False,
        "partyOrganisationSince": None,
    }
    bad = await run(
        admin,
        "createPropertyCompany",
        {"orgUnitId": gid("OrgUnit", demo.renheyuan.id), "name": "x物业", "creditCode": "123"},
        "propertyCompany { id }",
    )
    assert codes(bad) == ["VALIDATION"]
    assert bad["errors"][0]["field"] == "creditCode"


async def test_party_posts_are_held_by_registered_party_members(
    head: GraphQLClient, demo: DemoCity
) -> None:
    building = gid("Building", demo.building.id)
    posts = await head(
        """query($id: ID!) { node(id: $id) { ... on Building { partyPosts { kind title
             holder { id } } } } }""",
        {"id": building},
    )
    kinds = {p["kind"] for p in posts["node"]["partyPosts"]}
    assert kinds == {"PIONEER_POST", "RESPONSIBILITY_AREA"}
    refused = await run(
        head,
        "createPartyPost",
        {
            "buildingId": building,
            "kind": "PIONEER_POST",
            "holderId": gid("Person", demo.renter.id),
            "title": "环境卫生先锋岗",
        },
        "post { id }",
    )
    assert codes(refused) == ["NOT_REGISTERED"]
    assert refused["errors"][0]["field"] == "holderId"
