"""Relay `node` / `nodes`: every Node type round-trips through its global ID."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from schema.declare import NODE_TYPES
from schema.relay import to_global_id
from schema.root import MAX_NODES
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, StatementCounter

#: One query reaching an object of every Node type from the pinned building.
IDS_QUERY = """query($id: ID!) { node(id: $id) { ... on Building {
    id
    grid { id }
    households(first: 1) { nodes { id } }
    partyGroup { id }
    centralHouseholds { id }
    head { id pairings { id } }
    headPosition { id }
    grid2: grid { parent { pairedWorkUnits { id workUnit { id } } } }
    roleModels { id } publicityWall { id } convention { id signatures { id } }
    liaisons { id pavilion { id } shop { id offers { id } } }
} } }"""
#: Incentives, recognition and co-governance, from 仁和苑 and 五里碑.
ENGAGEMENT_QUERY = """query($community: ID!, $wulibei: ID!) {
  awards(orgUnitId: $community, first: 1) { nodes { id } }
  meetings(orgUnitId: $community, first: 1) { nodes { id agenda { id } tasks { id } } }
  improvementProjects(orgUnitId: $community, first: 1) { nodes { id } }
  notices(orgUnitId: $community, first: 1) { nodes { id } }
  feeReductions(orgUnitId: $community, first: 1) { nodes { id } }
  shops(orgUnitId: $community, first: 10) { nodes { redemptions(first: 1) { nodes { id } } } }
  moved: orgUnit(id: $wulibei) { residents(first: 100) { nodes { householdHistory { id } } } }
}"""


async def one_id_of_each_type(gql: GraphQLClient, demo: DemoCity) -> dict[str, str]:
    assert demo.building.id is not None
    data = await gql(IDS_QUERY, {"id": to_global_id("Building", demo.building.id)})
    b = data["node"]
    pairing = b["grid2"]["parent"]["pairedWorkUnits"][0]
    found = {
        "OrgUnit": b["grid"]["id"],
        "Building": b["id"],
        "Household": b["households"]["nodes"][0]["id"],
        "PartyOrganisation": b["partyGroup"]["id"],
        "CentralHousehold": b["centralHouseholds"][0]["id"],
        "WorkUnit": pairing["workUnit"]["id"],
        "WorkUnitPairing": pairing["id"],
        "Person": b["head"]["id"],
        "Position": b["headPosition"]["id"],
        "Pairing": b["head"]["pairings"][0]["id"],
    }
    token = await gql(
        """mutation($unit: ID!) {
            createApiToken(input: { name: "大屏", role: DISPLAY, orgUnitId: $unit }) {
                apiToken { id } errors { code } } }""",
        {"unit": found["OrgUnit"]},
    )
    assert token["createApiToken"]["errors"] == []
    found["ApiToken"] = token["createApiToken"]["apiToken"]["id"]
    audit = await gql("{ auditLog(first: 1) { nodes { id } } }")
    found["AuditEntry"] = audit["auditLog"]["nodes"][0]["id"]
    cases = await gql(
        """query($building: ID!) { petitions(first: 1) { nodes { id category { id } } }
             wishWall(buildingId: $building, first: 1) { nodes { id } } }""",
        {"building": found["Building"]},
    )
    found["Petition"] = cases["petitions"]["nodes"][0]["id"]
    found["PetitionCategory"] = cases["petitions"]["nodes"][0]["category"]["id"]
    found["MicroWish"] = cases["wishWall"]["nodes"][0]["id"]
    found |= await one_id_of_each_service_type(gql, found["Building"], demo)
    found |= {
        "RoleModel": b["roleModels"][0]["id"],
        "WallPost": b["publicityWall"][0]["id"],
        "Convention": b["convention"]["id"],
        "ConventionSignature": b["convention"]["signatures"][0]["id"],
        "Liaison": b["liaisons"][0]["id"],
        "LiaisonPavilion": b["liaisons"][0]["pavilion"]["id"],
        "Shop": b["liaisons"][0]["shop"]["id"],
        "Offer": b["liaisons"][0]["shop"]["offers"][0]["id"],
    }
    assert demo.renheyuan.id is not None
    assert demo.wulibei.id is not None
    more = await gql(
        ENGAGEMENT_QUERY,
        {
            "community": to_global_id("OrgUnit", demo.renheyuan.id),
            "wulibei": to_global_id("OrgUnit", demo.wulibei.id),
        },
    )
    meeting = more["meetings"]["nodes"][0]
    history = [h for p in more["moved"]["residents"]["nodes"] for h in p["householdHistory"]]
    found |= {
        "Award": more["awards"]["nodes"][0]["id"],
        "Meeting": meeting["id"],
        "AgendaItem": meeting["agenda"][0]["id"],
        "LivelihoodTask": meeting["tasks"][0]["id"],
        "ImprovementProject": more["improvementProjects"]["nodes"][0]["id"],
        "Notice": more["notices"]["nodes"][0]["id"],
        "FeeReduction": more["feeReductions"]["nodes"][0]["id"],
        "Redemption": next(
            r["id"] for s in more["shops"]["nodes"] for r in s["redemptions"]["nodes"]
        ),
        "HouseholdMembership": history[0]["id"],
    }
    return {name: str(value) for name, value in found.items()}


#: One query reaching every Node type of services in the building.
SERVICE_IDS_QUERY = """query($id: ID!, $city: ID!) {
  building: node(id: $id) { ... on Building {
    estate { id }
    servingStations { id items { id category { id } } }
    partyPosts { id } } }
  serviceTeams(first: 1) { nodes { id } }
  propertyCompanies(first: 1) { nodes { id } }
  serviceOrders(first: 20, filter: { statuses: [CLOSED] }) {
    nodes { id finding { id visit { id } } } }
  volunteerActivities(first: 1) { nodes { id } }
  emergencyPeriods(under: $city, first: 1) { nodes { id roster(first: 1) { nodes { id } } } }
}"""


async def one_id_of_each_service_type(
    gql: GraphQLClient, building: str, demo: DemoCity
) -> dict[str, str]:
    assert demo.city.id is not None
    city = to_global_id("OrgUnit", demo.city.id)
    data = await gql(SERVICE_IDS_QUERY, {"id": building, "city": city})
    b = data["building"]
    station = b["servingStations"][0]
    order = next(o for o in data["serviceOrders"]["nodes"] if o["finding"])
    period = data["emergencyPeriods"]["nodes"][0]
    return {
        "Estate": b["estate"]["id"],
        "PropertyCompany": data["propertyCompanies"]["nodes"][0]["id"],
        "ServiceStation": station["id"],
        "ServiceItem": station["items"][0]["id"],
        "ServiceCategory": station["items"][0]["category"]["id"],
        "PartyPost": b["partyPosts"][0]["id"],
        "ServiceTeam": data["serviceTeams"]["nodes"][0]["id"],
        "ServiceOrder": order["id"],
        "VisitFinding": order["finding"]["id"],
        "DoorVisit": order["finding"]["visit"]["id"],
        "VolunteerActivity": data["volunteerActivities"]["nodes"][0]["id"],
        "EmergencyPeriod": period["id"],
        "EmergencyRosterEntry": period["roster"]["nodes"][0]["id"],
    }


def type_name_of(global_id: str) -> str:
    return base64.urlsafe_b64decode(global_id).decode().split(":")[0]


async def test_the_id_query_reaches_every_node_type(
    gql: GraphQLClient, demo_petitions: DemoCity
) -> None:
    found = await one_id_of_each_type(gql, demo_petitions)
    assert set(found) == set(NODE_TYPES)
    for type_name, global_id in found.items():
        assert type_name_of(global_id) == type_name


@pytest.mark.parametrize("type_name", sorted(NODE_TYPES))
async def test_node_round_trip(
    gql: GraphQLClient, demo_petitions: DemoCity, type_name: str
) -> None:
    demo = demo_petitions
    global_id = (await one_id_of_each_type(gql, demo))[type_name]
    data = await gql(
        f"query($id: ID!) {{ node(id: $id) {{ __typename ... on {type_name} {{ id }} }} }}",
        {"id": global_id},
    )
    assert data["node"] == {"__typename": type_name, "id": global_id}


async def test_nodes_keeps_the_order_asked_and_nulls_the_unknown(
    gql: GraphQLClient, demo_petitions: DemoCity
) -> None:
    found = await one_id_of_each_type(gql, demo_petitions)
    wanted = list(reversed(found.values()))
    unknown_type = str(to_global_id("Nonsense", 1))
    absent = str(to_global_id("Building", 987_654_321))
    asked = [*wanted[:3], unknown_type, *wanted[3:], absent]
    data = await gql(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        {"ids": asked},
    )
    expected: list[Any] = [{"__typename": type_name_of(i), "id": i} for i in wanted]
    expected = [*expected[:3], None, *expected[3:], None]
    assert data["nodes"] == expected


@pytest.mark.parametrize(
    "global_id",
    [
        pytest.param(str(to_global_id("Nonsense", 1)), id="unknown-type"),
        pytest.param(str(to_global_id("OrgUnit", 987_654_321)), id="absent-org-unit"),
        pytest.param(str(to_global_id("Person", 987_654_321)), id="absent-person"),
    ],
)
async def test_unknown_type_or_absent_row_is_null(gql: GraphQLClient, global_id: str) -> None:
    data = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": global_id})
    assert data == {"node": None}


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("%%%", id="no-base64"),
        pytest.param("T3JnVW5pdDo", id="bad-padding"),
        pytest.param(base64.urlsafe_b64encode(b"OrgUnit:abc").decode(), id="non-numeric"),
        pytest.param(base64.urlsafe_b64encode(b"OrgUnit").decode(), id="no-separator"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe:1").decode(), id="not-utf8"),
    ],
)
async def test_malformed_id_is_a_validation_error(gql: GraphQLClient, bad: str) -> None:
    for query in (
        "query($id: ID!) { node(id: $id) { id } }",
        "query($id: ID!) { nodes(ids: [$id]) { id } }",
    ):
        errors = await gql.errors(query, {"id": bad})
        assert [e["extensions"]["code"] for e in errors] == ["VALIDATION"], query
        assert isinstance(errors[0]["extensions"]["requestId"], str)


async def test_at_most_100_ids(gql: GraphQLClient, demo: DemoCity) -> None:
    assert demo.city.id is not None
    city = str(to_global_id("OrgUnit", demo.city.id))
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    data = await gql(query, {"ids": [city] * MAX_NODES})
    assert data["nodes"] == [{"id": city}] * 100
    errors = await gql.errors(query, {"ids": [city] * (MAX_NODES + 1)})
    assert [e["extensions"]["code"] for e in errors] == ["VALIDATION"]
    assert errors[0]["extensions"]["field"] == "ids"


async def test_id_beyond_bigint_is_not_an_internal_error(gql: GraphQLClient) -> None:
    body = await gql.raw(
        "query($id: ID!) { node(id: $id) { id } }", {"id": str(to_global_id("OrgUnit", 10**30))}
    )
    codes = [e["extensions"]["code"] for e in body.get("errors", [])]
    assert codes in ([], ["VALIDATION"])
    assert body["data"] == {"node": None}


async def test_nodes_batches_per_table(
    gql: GraphQLClient, demo_petitions: DemoCity, sql_statements: StatementCounter
) -> None:
    found = await one_id_of_each_type(gql, demo_petitions)
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    sql_statements.reset()
    await gql(query, {"ids": [found["OrgUnit"]]})
    one = sql_statements.count  # signing in, plus one SELECT of org_unit

    ids = [str(to_global_id("OrgUnit", i)) for i in range(1, 21)] + [found["Person"]]
    sql_statements.reset()
    data = await gql(query, {"ids": ids})
    assert sum(node is not None for node in data["nodes"]) == 21
    # Twenty org units and a person: one more SELECT (person), not twenty more.
    assert sql_statements.count <= one + 1, sql_statements.statements
