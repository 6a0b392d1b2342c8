"""Who sees which petitions through `petitions`, `petitionQueue` and `node`: a resident her
own only, the grid worker her grid's, a community's queue what the community owns; nobody
signed out and no display screen sees a single case."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.org import GridType
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.petitions_api.helpers import ERRORS, gid, petition_count, petition_input, submit

LIST = """query($under: ID, $filter: PetitionFilterInput) {
  petitions(first: 100, under: $under, filter: $filter) {
    totalCount nodes { id ownerLevel building { id } reporter { id } } } }"""
QUEUE = """query($unit: ID!) {
  petitionQueue(orgUnitId: $unit, first: 100) { totalCount nodes { id dueAt ownerLevel } } }"""


async def ids_of(session: AsyncSession, where: str, **params: Any) -> set[str]:
    found = await session.execute(sa.text(f"SELECT id FROM petition WHERE {where}"), params)
    return {gid("Petition", int(row[0])) for row in found}


async def listed(client: GraphQLClient, **variables: Any) -> set[str]:
    data = (await client(LIST, variables))["petitions"]
    found = {p["id"] for p in data["nodes"]}
    assert data["totalCount"] == len(found) < 100, "one page holds them all"
    return found


async def queue(client: GraphQLClient, unit: int | None) -> list[dict[str, Any]]:
    data = (await client(QUEUE, {"unit": gid("OrgUnit", unit)}))["petitionQueue"]
    assert data["totalCount"] == len(data["nodes"]) < 100
    nodes: list[dict[str, Any]] = data["nodes"]
    return nodes


async def test_a_resident_sees_only_her_own_petitions(
    resident: GraphQLClient,
    renter: GraphQLClient,
    demo_petitions: DemoCity,
    session: AsyncSession,
) -> None:
    demo = demo_petitions
    await submit(resident, await petition_input(session, demo, title="楼道灯不亮"))
    await submit(renter, await petition_input(session, demo, title="楼下夜间装修噪音"))
    mine = await ids_of(session, "reporter_id = :me", me=demo.resident_alone.id)
    neighbours = await ids_of(
        session,
        "building_id = :b AND reporter_id IS DISTINCT FROM :me",
        b=demo.building.id,
        me=demo.resident_alone.id,
    )
    assert mine
    assert len(neighbours) > 3, "her building has her neighbours' petitions too"
    assert await listed(resident) == mine
    assert await listed(renter) == await ids_of(session, "reporter_id = :r", r=demo.renter.id)

    # a neighbour's case, fetched by id, answers like one that does not exist
    for other in sorted(neighbours)[:3]:
        data = await resident("query($id: ID!) { node(id: $id) { id } }", {"id": other})
        assert data["node"] is None
    # nor does naming her building or community widen what she sees
    building = demo.building
    assert await listed(resident, under=gid("OrgUnit", building.grid_id)) == mine


async def test_the_grid_worker_sees_her_grid_only(
    worker: GraphQLClient, demo_petitions: DemoCity, session: AsyncSession
) -> None:
    demo = demo_petitions
    grid = demo.grids[GridType.OLD_ESTATE]
    assert grid.id == demo.building.grid_id
    hers = await ids_of(session, "path <@ CAST(:g AS ltree)", g=grid.path)
    elsewhere = await ids_of(session, "NOT path <@ CAST(:g AS ltree)", g=grid.path)
    assert hers
    assert elsewhere, "the demo has petitions in other grids and communities"
    assert await listed(worker) == hers
    assert await listed(worker, under=gid("OrgUnit", demo.renheyuan.id)) == hers
    assert await listed(worker, under=gid("OrgUnit", demo.lingxi.id)) == set()
    open_ones = await listed(worker, filter={"statuses": ["SUBMITTED", "ACCEPTED"]})
    assert open_ones == await ids_of(
        session,
        "path <@ CAST(:g AS ltree) AND status IN ('SUBMITTED', 'ACCEPTED')",
        g=grid.path,
    )
    for other in sorted(elsewhere)[:3]:
        data = await worker("query($id: ID!) { node(id: $id) { id } }", {"id": other})
        assert data["node"] is None


async def test_the_queue_of_a_community(
    community_admin: GraphQLClient,
    worker: GraphQLClient,
    demo_petitions: DemoCity,
    session: AsyncSession,
) -> None:
    demo = demo_petitions
    owned = await ids_of(session, "owner_org_unit_id = :c", c=demo.renheyuan.id)
    assert owned
    nodes = await queue(community_admin, demo.renheyuan.id)
    assert {p["id"] for p in nodes} == owned
    assert {p["ownerLevel"] for p in nodes} == {"COMMUNITY"}
    due = [p["dueAt"] for p in nodes]
    assert due == sorted(due), "the queue is ordered by due time"

    # the grid worker sees the part of that queue placed in her grid, and her grid's queue
    grid_path = await scalar(
        session, "SELECT path::text FROM org_unit WHERE id = :g", g=demo.building.grid_id
    )
    in_grid = await ids_of(
        session,
        "owner_org_unit_id = :c AND path <@ CAST(:g AS ltree)",
        c=demo.renheyuan.id,
        g=grid_path,
    )
    assert {p["id"] for p in await queue(worker, demo.renheyuan.id)} == in_grid
    grid_queue = await queue(worker, demo.building.grid_id)
    assert {p["id"] for p in grid_queue} == await ids_of(
        session, "owner_org_unit_id = :g", g=demo.building.grid_id
    )
    # another community's queue is empty to this community's admin
    assert await queue(community_admin, demo.lingxi.id) == []


async def test_signed_out_callers_see_nothing(
    anonymous: GraphQLClient, demo_petitions: DemoCity, session: AsyncSession
) -> None:
    demo = demo_petitions
    any_petition = gid("Petition", int(await scalar(session, "SELECT min(id) FROM petition")))
    assert await listed(anonymous) == set()
    assert await queue(anonymous, demo.renheyuan.id) == []
    data = await anonymous("query($id: ID!) { node(id: $id) { id } }", {"id": any_petition})
    assert data["node"] is None
    points = await anonymous("{ myPoints { balance } }")
    assert points["myPoints"] is None

    before = await petition_count(session)
    body = await anonymous.raw(
        f"""mutation($input: SubmitPetitionInput!) {{
              submitPetition(input: $input) {{ petition {{ id }} {ERRORS} }} }}""",
        {"input": await petition_input(session, demo)},
    )
    payload = (body.get("data") or {}).get("submitPetition")
    assert payload is None or payload["petition"] is None, body
    assert await petition_count(session) == before


async def test_a_display_token_sees_no_petitions(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    demo_petitions: DemoCity,
    session: AsyncSession,
) -> None:
    demo = demo_petitions
    made = await gql(
        f"""mutation($unit: ID!) {{
              createApiToken(input: {{ name: "社区大屏", role: DISPLAY, orgUnitId: $unit }}) {{
                token {ERRORS} }} }}""",
        {"unit": gid("OrgUnit", demo.renheyuan.id)},
    )
    assert made["createApiToken"]["errors"] == []
    screen = GraphQLClient(http, {"Authorization": f"Bearer {made['createApiToken']['token']}"})
    assert (await screen("{ me { kind } }"))["me"]["kind"] == "TOKEN"
    under_node = await ids_of(
        session, "path <@ (SELECT path FROM org_unit WHERE id = :c)", c=demo.renheyuan.id
    )
    assert under_node, "there are petitions under the screen's node"
    assert await listed(screen) == set()
    assert await listed(screen, under=gid("OrgUnit", demo.renheyuan.id)) == set()
    assert await queue(screen, demo.renheyuan.id) == []
    for petition in sorted(under_node)[:3]:
        data = await screen("query($id: ID!) { node(id: $id) { id } }", {"id": petition})
        assert data["node"] is None
