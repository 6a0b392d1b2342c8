"""大走访 through GraphQL: a visit and what it found; what followed (a service ordered, a
dispute mediated); the seed's "200 visits, 48 disputes resolved" as one query; who reads
the notes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.permissions.support import gid
from tests.services.helpers import codes, order, run

VISIT = """id kind visitedAt notes visitor { id } household { id }
  findings { id kind description outcome resolvedAt serviceOrder { id } }"""
STATS = """query($id: ID!, $since: DateTime) { node(id: $id) { ... on OrgUnit {
  serviceStats(since: $since) { doorVisits householdsVisited disputes disputesResolved } } } }"""


async def record(client: GraphQLClient, demo: DemoCity, **more: object) -> dict[str, Any]:
    household = demo.renter.household_id
    return await run(
        client,
        "recordDoorVisit",
        {
            "householdId": gid("Household", household),
            "kind": "HOME_VISIT",
            "visitedAt": (utcnow() - timedelta(hours=2)).isoformat(),
            "notes": "租户，夫妻二人，孩子在老家；反映楼上装修噪音",
            "findings": [
                {"kind": "DISPUTE", "description": "与楼上住户因装修噪音发生争执"},
                {
                    "kind": "NEED",
                    "description": "想学用手机挂号",
                    "categoryId": gid("ServiceCategory", demo.services.open_item.category_id),
                },
            ],
            **more,
        },
        f"visit {{ {VISIT} }}",
    )


async def test_a_visit_its_findings_and_what_followed(
    cadre: GraphQLClient,
    worker: GraphQLClient,
    renter: GraphQLClient,
    demo: DemoCity,
    admin: GraphQLClient,
) -> None:
    """The cadre serving the building visits the renter's home: a dispute and a need. The
    need becomes a service order (channel DOOR_VISIT); the grid worker mediates the dispute;
    the counts of the community move with them."""
    unit = {"id": gid("OrgUnit", demo.renheyuan.id)}
    before = (await admin(STATS, unit))["node"]["serviceStats"]
    visited = await record(cadre, demo)
    assert visited["errors"] == []
    visit = visited["visit"]
    assert visit["visitor"]["id"] == gid("Person", demo.seconded_cadre.id)
    dispute, need = visit["findings"]
    assert (dispute["kind"], need["kind"]) == ("DISPUTE", "NEED")

    himself = await order(renter, demo.services.open_item.id, findingId=need["id"])
    assert codes(himself) == ["FORBIDDEN"], "a finding about his home is staff's to follow up"
    ordered = await order(
        cadre, demo.services.open_item.id, resident=demo.renter.id, findingId=need["id"]
    )
    assert ordered["errors"] == []
    assert ordered["order"]["channel"] == "DOOR_VISIT"
    twice = await order(
        cadre, demo.services.open_item.id, resident=demo.renter.id, findingId=need["id"]
    )
    assert codes(twice) == ["ALREADY_FOLLOWED_UP"]

    mediated = await run(
        worker,
        "resolveVisitFinding",
        {"id": dispute["id"], "note": "网格员上门协调，约定晚八点后不施工"},
        "finding { outcome resolvedAt resolutionNote }",
    )
    assert mediated["errors"] == []
    assert mediated["finding"]["outcome"] == "MEDIATED"
    again = await run(
        worker,
        "resolveVisitFinding",
        {"id": dispute["id"], "note": "x"},
        "finding { outcome }",
    )
    assert codes(again) == ["ALREADY_FOLLOWED_UP"]

    after = (await admin(STATS, unit))["node"]["serviceStats"]
    assert after["doorVisits"] == before["doorVisits"] + 1
    assert after["disputes"] == before["disputes"] + 1
    assert after["disputesResolved"] == before["disputesResolved"] + 1

    # the visited household sees its visit and its notes; the need is now an order
    mine = await renter(
        f"query($id: ID!) {{ node(id: $id) {{ ... on DoorVisit {{ {VISIT} }} }} }}",
        {"id": visit["id"]},
    )
    assert mine["node"]["notes"]
    outcomes = {f["kind"]: f["outcome"] for f in mine["node"]["findings"]}
    assert outcomes == {"DISPUTE": "MEDIATED", "NEED": "SERVICE_ORDER"}


async def test_a_resident_cannot_record_visits_nor_follow_them_up(
    renter: GraphQLClient, demo: DemoCity
) -> None:
    refused = await record(renter, demo)
    assert codes(refused) == ["FORBIDDEN"]
    hidden = await run(
        renter,
        "resolveVisitFinding",
        {"id": gid("VisitFinding", 1), "note": "x"},
        "finding { outcome }",
    )
    assert codes(hidden) == ["NOT_FOUND"]


async def test_a_visit_is_recorded_once_it_happened(cadre: GraphQLClient, demo: DemoCity) -> None:
    future = await record(cadre, demo, visitedAt=(utcnow() + timedelta(days=1)).isoformat())
    assert codes(future) == ["VALIDATION"]
    assert future["errors"][0]["field"] == "visitedAt"


async def test_visits_and_disputes_resolved_is_one_query(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    """灵犀's "入户走访200余次，收集化解矛盾纠纷48条", as the admin SPA and a big screen ask
    for it (the demo holds a smaller 灵犀; the city seed the seed's figures)."""
    data = await gql(STATS, {"id": gid("OrgUnit", demo.lingxi.id)})
    stats = data["node"]["serviceStats"]
    path = demo.lingxi.path
    assert stats["doorVisits"] == await scalar(
        session, "SELECT count(*) FROM door_visit WHERE path <@ CAST(:p AS ltree)", p=path
    )
    assert stats["disputesResolved"] == await scalar(
        session,
        """SELECT count(*) FROM visit_finding WHERE path <@ CAST(:p AS ltree)
           AND kind = 'DISPUTE' AND resolved_at IS NOT NULL""",
        p=path,
    )
    assert stats["doorVisits"] > stats["disputes"] >= stats["disputesResolved"] > 0
    recent = await gql(
        STATS,
        {
            "id": gid("OrgUnit", demo.lingxi.id),
            "since": (utcnow() - timedelta(days=10)).isoformat(),
        },
    )
    assert recent["node"]["serviceStats"]["doorVisits"] < stats["doorVisits"]
