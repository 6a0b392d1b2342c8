"""Drafts are private (issue 7, item 8): an unpublished (POSTED) or cancelled micro-wish is
seen by its author, its recorder and the keepers of the wall only, on every path: the wall
with any statuses, `node`, `nodes`, the community's wall and the counts."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import token_client
from tests.petitions_api.helpers import ERRORS, gid

POST = f"""mutation($input: PostWishInput!) {{
  postWish(input: $input) {{ wish {{ id status version }} {ERRORS} }} }}"""
ACT = f"""mutation($input: WishActionInput!) {{
  actOnWish(input: $input) {{ wish {{ id status version }} {ERRORS} }} }}"""
EVERY = "[POSTED, PUBLISHED, CLAIMED, FULFILLED, CONFIRMED, CANCELLED]"
SEEN = f"""query($building: ID!, $community: ID!, $id: ID!) {{
  wall: wishWall(buildingId: $building, statuses: {EVERY}, first: 100) {{
    totalCount nodes {{ id }} }}
  community: wishWall(orgUnitId: $community, statuses: {EVERY}, first: 100) {{
    totalCount nodes {{ id }} }}
  node(id: $id) {{ id }}
  nodes(ids: [$id]) {{ id }}
}}"""


async def posted(client: GraphQLClient, demo: DemoCity, **extra: Any) -> dict[str, Any]:
    data = await client(
        POST,
        {
            "input": {
                "title": "想要一个助行器",
                "description": "腿脚不便，想要一个助行器。",
                "buildingId": gid("Building", demo.building.id),
            }
            | extra
        },
    )
    payload = data["postWish"]
    assert payload["errors"] == [], payload
    wish: dict[str, Any] = payload["wish"]
    return wish


async def acted(client: GraphQLClient, wish: dict[str, Any], action: str, **extra: Any) -> Any:
    data = await client(
        ACT,
        {"input": {"id": wish["id"], "action": action, "expectedVersion": wish["version"]} | extra},
    )
    payload = data["actOnWish"]
    assert payload["errors"] == [], payload
    return payload["wish"]


async def sees(client: GraphQLClient, demo: DemoCity, wish_id: str) -> bool:
    """Whether the wish shows on any path; every path must agree."""
    data = await client(
        SEEN,
        {
            "building": gid("Building", demo.building.id),
            "community": gid("OrgUnit", demo.renheyuan.id),
            "id": wish_id,
        },
    )
    found: list[bool] = [
        wish_id in {w["id"] for w in data["wall"]["nodes"]},
        wish_id in {w["id"] for w in data["community"]["nodes"]},
        data["node"] is not None,
        data["nodes"] != [None],
    ]
    assert len(set(found)) == 1, (wish_id, found)
    counted = {w["id"] for w in data["wall"]["nodes"]}
    assert data["wall"]["totalCount"] == len(counted), "counts cover visible wishes only"
    return found[0]


async def test_a_draft_is_seen_by_its_author_and_the_wall_keepers_only(
    resident: GraphQLClient,
    renter: GraphQLClient,
    head: GraphQLClient,
    worker: GraphQLClient,
    community_admin: GraphQLClient,
    as_account: Any,
    http: httpx.AsyncClient,
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    cadre = as_account("seconded-cadre")
    integrator = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    wish = await posted(resident, demo)
    assert wish["status"] == "POSTED"
    for keeper in (resident, head, worker, community_admin):
        assert await sees(keeper, demo, wish["id"])
    for outsider in (renter, cadre, integrator):
        assert not await sees(outsider, demo, wish["id"]), "a neighbour's draft stays hidden"

    published = await acted(head, wish, "PUBLISH")
    for reader in (resident, renter, cadre, head):
        assert await sees(reader, demo, published["id"]), "the wall is public to the building"


async def test_a_cancelled_wish_leaves_the_claimant_and_the_neighbours(
    resident: GraphQLClient,
    renter: GraphQLClient,
    head: GraphQLClient,
    worker: GraphQLClient,
    demo: DemoCity,
) -> None:
    wish = await acted(head, await posted(resident, demo), "PUBLISH")
    claimed = await acted(worker, wish, "CLAIM")
    assert await sees(worker, demo, claimed["id"])
    cancelled = await acted(resident, claimed, "CANCEL", note="家人已经买了")
    assert cancelled["status"] == "CANCELLED"
    assert await sees(resident, demo, wish["id"])
    assert await sees(head, demo, wish["id"]), "the wall keeper"
    assert await sees(worker, demo, wish["id"]), "the grid worker keeps the wall too"
    assert not await sees(renter, demo, wish["id"])


async def test_the_recorder_sees_the_draft_she_recorded(
    worker: GraphQLClient, renter: GraphQLClient, resident: GraphQLClient, demo: DemoCity
) -> None:
    wish = await posted(worker, demo, residentId=gid("Person", demo.resident_alone.id))
    assert await sees(worker, demo, wish["id"])
    assert await sees(resident, demo, wish["id"]), "the resident it was recorded for"
    assert not await sees(renter, demo, wish["id"])
    # a draft cannot be acted on by someone who may not see it: it does not exist for them
    data = await renter(
        ACT, {"input": {"id": wish["id"], "action": "CANCEL", "expectedVersion": 1, "note": "x"}}
    )
    assert [e["code"] for e in data["actOnWish"]["errors"]] == ["NOT_FOUND"]
