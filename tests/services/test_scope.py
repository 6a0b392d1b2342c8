"""Row scope of services by the tree and by taking part; what displays, integrators and
outsiders get; the facts the field matrix's service cases rest on; lists in a fixed number
of statements."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from permissions.limits import Limits
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, StatementCounter, scalar
from tests.permissions.support import gid, rows
from tests.services.helpers import order

LISTS = """query($under: ID!) {
  serviceOrders(under: $under, first: 100) { totalCount nodes { id } }
  doorVisits(under: $under, first: 100) { totalCount nodes { id } }
  serviceStations(under: $under, first: 100) { totalCount nodes { id } }
  serviceTeams(under: $under, first: 100) { totalCount nodes { id } }
  volunteerActivities(under: $under, first: 100, filter: { statuses: [OPEN, FINISHED] }) {
    totalCount }
}"""


async def lists(client: GraphQLClient, demo: DemoCity) -> dict[str, Any]:
    data: dict[str, Any] = await client(LISTS, {"under": gid("OrgUnit", demo.renheyuan.id)})
    return data


async def test_the_facts_behind_the_service_cases_of_the_matrix(
    session: AsyncSession, demo: DemoCity
) -> None:
    order = demo.services.order_done
    assert order.resident_id == demo.resident_alone.id
    assert order.assignee_id == demo.building_head.id
    assert order.recorded_by_id == demo.grid_worker.id
    assert order.team_id == demo.services.running_team.id
    assert order.path == demo.building.path
    members = await rows(
        session,
        "SELECT person_id, role FROM team_member WHERE team_id = :t AND left_at IS NULL",
        t=order.team_id,
    )
    assert (demo.renter.id, "MEMBER") in {(p, str(r)) for p, r in members}
    assert (demo.building_head.id, "LEADER") in {(p, str(r)) for p, r in members}
    [(visitor, path)] = await rows(
        session,
        "SELECT visitor_id, path::text FROM door_visit WHERE household_id = :h ORDER BY id LIMIT 1",
        h=demo.resident_alone.household_id,
    )
    assert visitor == demo.grid_worker.id
    assert path == demo.resident_alone.path
    # the renter holds no position: whatever he sees of the order, he sees by taking part
    assert (
        await scalar(
            session, "SELECT count(*) FROM position WHERE person_id = :p", p=demo.renter.id
        )
        == 0
    )


async def test_staff_see_the_orders_and_visits_of_their_place(
    admin: GraphQLClient, worker: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    orders_in_sql = await scalar(
        session,
        "SELECT count(*) FROM service_order WHERE path <@ CAST(:p AS ltree)",
        p=demo.renheyuan.path,
    )
    seen = await lists(admin, demo)
    assert seen["serviceOrders"]["totalCount"] == orders_in_sql > 0
    assert demo.building.path is not None
    # the grid worker: the orders of his grid, and those he recorded for someone elsewhere
    his = await scalar(
        session,
        "SELECT count(*) FROM service_order WHERE path <@ CAST(:p AS ltree) OR recorded_by_id = :w",
        p=demo.building.path.rsplit(".", 1)[0],
        w=demo.grid_worker.id,
    )
    assert (await lists(worker, demo))["serviceOrders"]["totalCount"] == his


async def test_a_resident_sees_her_own_orders_and_visits_only(
    resident: GraphQLClient, renter: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    hers = await lists(resident, demo)
    mine = await scalar(
        session,
        "SELECT count(*) FROM service_order WHERE resident_id = :p",
        p=demo.resident_alone.id,
    )
    assert hers["serviceOrders"]["totalCount"] == mine
    visits = await scalar(
        session,
        "SELECT count(*) FROM door_visit WHERE household_id = :h",
        h=demo.resident_alone.household_id,
    )
    assert hers["doorVisits"]["totalCount"] == visits > 0
    # stations, teams and activities of her community are everyone's
    assert hers["serviceStations"]["totalCount"] >= 1
    assert hers["serviceTeams"]["totalCount"] >= 2
    # the renter sees the orders dispatched to his team, and none of the widow's visits
    his = await lists(renter, demo)
    assert gid("ServiceOrder", demo.services.order_dispatched.id) in {
        n["id"] for n in his["serviceOrders"]["nodes"]
    }
    assert his["doorVisits"]["totalCount"] == 0


async def test_a_display_sees_no_rows_and_anonymous_nothing(
    display: GraphQLClient, anonymous: GraphQLClient, demo: DemoCity
) -> None:
    for client in (display, anonymous):
        seen = await lists(client, demo)
        assert {k: v["totalCount"] for k, v in seen.items()} == dict.fromkeys(seen, 0)
        node = await client(
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": gid("ServiceOrder", demo.services.order_done.id)},
        )
        assert node["node"] is None


async def test_an_integrator_reads_orders_masked(integrator: GraphQLClient, demo: DemoCity) -> None:
    data = await integrator(
        """query($id: ID!) { node(id: $id) { ... on ServiceOrder {
             status details contactName contactPhone address specialGroup } } }""",
        {"id": gid("ServiceOrder", demo.services.order_done.id)},
    )
    found = data["node"]
    assert found["status"] == "CLOSED"
    assert found["details"] is None
    assert found["specialGroup"] is None
    assert found["contactName"] == "王*英"
    assert found["contactPhone"].count("*") == 4
    assert "*" in found["address"]


async def test_an_order_of_another_district_is_absent(
    admin: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    [(far,)] = await rows(
        session,
        "SELECT id FROM service_order WHERE NOT path <@ CAST(:p AS ltree) ORDER BY id LIMIT 1",
        p=demo.districts["汇川区"].path,
    )
    data = await admin(
        """query($id: ID!) { node(id: $id) { id } }""", {"id": gid("ServiceOrder", far)}
    )
    assert data["node"] is None


DEEP = """query($under: ID!) { serviceOrders(under: $under, first: 100) { nodes {
  id status item { name category { name } } building { name } team { name members(first: 5) {
    nodes { role } } }
  timeline { action actor { id } } rating { rating } finding { kind } allowedActions } } }"""


@pytest.mark.parametrize("limits", [Limits.lifted()], ids=["limits-lifted"])
async def test_listing_orders_takes_a_fixed_number_of_statements(
    gql: GraphQLClient,
    resident: GraphQLClient,
    demo: DemoCity,
    sql_statements: StatementCounter,
    session: AsyncSession,
) -> None:
    under = {"under": gid("OrgUnit", demo.city.id)}
    await gql(DEEP, under)
    sql_statements.reset()
    await gql(DEEP, under)
    before = sql_statements.count
    for _ in range(12):
        placed = await order(resident, demo.services.open_item.id)
        assert placed["errors"] == []
    sql_statements.reset()
    data = await gql(DEEP, under)
    assert len(data["serviceOrders"]["nodes"]) > 12
    assert sql_statements.count == before, sql_statements.statements
    assert before <= 14
    assert await session.scalar(sa.text("SELECT count(*) FROM service_order")) >= 30
