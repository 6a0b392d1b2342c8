"""Categories and due times as the city admin edits them in the admin SPA, and a micro-wish
(微心愿) from posting to the resident's thanks, through the GraphQL endpoint."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.petitions_api.helpers import ERRORS, errors, gid, petition_input, submitted

CATEGORY = "category { id code name remitLevels defaultPriority active }"
CREATE = f"""mutation($input: PetitionCategoryInput!) {{
  createPetitionCategory(input: $input) {{ {CATEGORY} {ERRORS} }} }}"""
UPDATE = f"""mutation($input: UpdatePetitionCategoryInput!) {{
  updatePetitionCategory(input: $input) {{ {CATEGORY} {ERRORS} }} }}"""
DUE = f"""mutation($input: SetDueTimeInput!) {{
  setPetitionDueTime(input: $input) {{ dueTime {{ priority hours }} {ERRORS} }} }}"""
CATEGORIES = (
    """query($all: Boolean!) { petitionCategories(includeInactive: $all) { code active } }"""
)


def canteen(**fields: Any) -> dict[str, Any]:
    return {
        "code": "COMMUNITY_CANTEEN",
        "name": "社区食堂",
        "remitLevels": ["COMMUNITY", "STREET"],
        "defaultPriority": "GENERAL",
    } | fields


async def run(client: GraphQLClient, operation: str, input: dict[str, Any]) -> dict[str, Any]:
    data = await client(operation, {"input": input})
    [payload] = data.values()
    assert isinstance(payload, dict)
    return payload


async def category_count(session: AsyncSession) -> int:
    return int(await scalar(session, "SELECT count(*) FROM petition_category"))


# --- categories and due times --------------------------------------------------------------


async def test_the_city_admin_creates_and_edits_a_category(
    gql: GraphQLClient, resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    created = await run(
        gql, CREATE, canteen(code=" community_canteen ", remitLevels=["STREET", "COMMUNITY"])
    )
    assert created["errors"] == []
    category = created["category"]
    assert category["code"] == "COMMUNITY_CANTEEN"
    assert category["remitLevels"] == ["COMMUNITY", "STREET"]  # lowest first
    assert category["active"] is True
    listed = await gql(CATEGORIES, {"all": False})
    assert {"code": "COMMUNITY_CANTEEN", "active": True} in listed["petitionCategories"]

    before = await submitted(
        resident, await petition_input(session, demo, categoryId=category["id"])
    )
    assert before["ownerLevel"] == "COMMUNITY"

    updated = await run(
        gql,
        UPDATE,
        {
            "id": category["id"],
            "name": "老年食堂",
            "remitLevels": ["GRID", "COMMUNITY"],
            "defaultPriority": "URGENT",
        },
    )
    assert updated["errors"] == []
    assert updated["category"] | {"id": None} == {
        "id": None,
        "code": "COMMUNITY_CANTEEN",
        "name": "老年食堂",
        "remitLevels": ["GRID", "COMMUNITY"],
        "defaultPriority": "URGENT",
        "active": True,
    }
    after = await submitted(
        resident, await petition_input(session, demo, categoryId=category["id"])
    )
    assert (after["ownerLevel"], after["priority"]) == ("GRID", "URGENT")
    kept = await resident(
        "query($id: ID!) { node(id: $id) { ... on Petition { ownerLevel priority } } }",
        {"id": before["id"]},
    )
    assert kept["node"] == {"ownerLevel": "COMMUNITY", "priority": "GENERAL"}, "already filed"

    retired = await run(gql, UPDATE, {"id": category["id"], "active": False})
    assert retired["category"]["active"] is False
    assert "COMMUNITY_CANTEEN" not in {
        c["code"] for c in (await gql(CATEGORIES, {"all": False}))["petitionCategories"]
    }
    assert {"code": "COMMUNITY_CANTEEN", "active": False} in (await gql(CATEGORIES, {"all": True}))[
        "petitionCategories"
    ]


@pytest.mark.parametrize(
    "handle", ["community-admin", "district-admin", "building-head", "resident"]
)
async def test_only_the_city_admin_edits_categories_and_due_times(
    handle: str, as_account: Any, session: AsyncSession
) -> None:
    client: GraphQLClient = as_account(handle)
    categories = await category_count(session)
    assert errors(await run(client, CREATE, canteen())) == [("FORBIDDEN", None)]
    noise = gid(
        "PetitionCategory",
        int(await scalar(session, "SELECT id FROM petition_category WHERE code = 'NOISE'")),
    )
    assert errors(await run(client, UPDATE, {"id": noise, "name": "噪音"})) == [("FORBIDDEN", None)]
    assert errors(await run(client, DUE, {"priority": "URGENT", "hours": 1})) == [
        ("FORBIDDEN", None)
    ]
    assert await category_count(session) == categories
    assert await scalar(session, "SELECT name FROM petition_category WHERE code = 'NOISE'") == (
        "噪音扰民"
    )
    due = await scalar(session, "SELECT due_in FROM petition_due_time WHERE priority = 'URGENT'")
    assert due == timedelta(hours=2)


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        pytest.param({"remitLevels": []}, "VALIDATION", "remitLevels", id="no-remit"),
        pytest.param({"code": "x"}, "VALIDATION", "code", id="short-code"),
        pytest.param({"code": "餐饮"}, "VALIDATION", "code", id="chinese-code"),
        pytest.param({"name": "  "}, "VALIDATION", "name", id="blank-name"),
        pytest.param({"code": "NOISE"}, "DUPLICATE_CODE", "code", id="taken-code"),
    ],
)
async def test_bad_categories_are_refused(
    gql: GraphQLClient, session: AsyncSession, fields: dict[str, Any], code: str, field: str
) -> None:
    before = await category_count(session)
    payload = await run(gql, CREATE, canteen(**fields))
    assert errors(payload) == [(code, field)]
    assert payload["category"] is None
    assert await category_count(session) == before


async def test_an_update_cannot_empty_the_remit(gql: GraphQLClient, session: AsyncSession) -> None:
    noise = gid(
        "PetitionCategory",
        int(await scalar(session, "SELECT id FROM petition_category WHERE code = 'NOISE'")),
    )
    payload = await run(gql, UPDATE, {"id": noise, "remitLevels": []})
    assert errors(payload) == [("VALIDATION", "remitLevels")]


@pytest.mark.parametrize("hours", [0, -1, 24 * 90 + 1])
async def test_bad_due_times_are_refused(
    gql: GraphQLClient, session: AsyncSession, hours: float
) -> None:
    payload = await run(gql, DUE, {"priority": "GENERAL", "hours": hours})
    assert errors(payload) == [("VALIDATION", "hours")]
    assert payload["dueTime"] is None
    due = await scalar(session, "SELECT due_in FROM petition_due_time WHERE priority = 'GENERAL'")
    assert due == timedelta(days=7)


async def test_a_new_due_time_applies_from_the_next_submission(
    gql: GraphQLClient, resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    def due_in(petition: dict[str, Any]) -> timedelta:
        return datetime.fromisoformat(petition["dueAt"]) - datetime.fromisoformat(
            petition["submittedAt"]
        )

    wiring = "TANGLED_WIRING"  # 电线乱搭: URGENT by default
    earlier = await submitted(resident, await petition_input(session, demo, code=wiring))
    assert (earlier["priority"], due_in(earlier)) == ("URGENT", timedelta(hours=2))

    payload = await run(gql, DUE, {"priority": "URGENT", "hours": 4.5})
    assert payload == {"dueTime": {"priority": "URGENT", "hours": 4.5}, "errors": []}
    times = {
        t["priority"]: t["hours"]
        for t in (await resident("{ petitionDueTimes { priority hours } }"))["petitionDueTimes"]
    }
    assert times == {"URGENT": 4.5, "UTILITIES": 24.0, "GENERAL": 168.0, "COMPLEX": 360.0}

    later = await submitted(resident, await petition_input(session, demo, code=wiring))
    assert due_in(later) == timedelta(hours=4, minutes=30)
    explicit = await submitted(
        resident, await petition_input(session, demo, code="NOISE", priority="URGENT")
    )
    assert due_in(explicit) == timedelta(hours=4, minutes=30)
    unchanged = await resident(
        "query($id: ID!) { node(id: $id) { ... on Petition { dueAt } } }", {"id": earlier["id"]}
    )
    assert unchanged["node"]["dueAt"] == earlier["dueAt"], "due times already set stay"


# --- micro-wishes ----------------------------------------------------------------------------

WISH = """wish { id status version title evidence evidenceNote thanks publishedAt claimedAt
  fulfilledAt confirmedAt resident { id } claimant { id } building { id } }"""
POST = f"""mutation($input: PostWishInput!) {{ postWish(input: $input) {{ {WISH} {ERRORS} }} }}"""
ACT = f"""mutation($input: WishActionInput!) {{ actOnWish(input: $input) {{ {WISH} {ERRORS} }} }}"""
WALL = """query($building: ID!) { wishWall(buildingId: $building, first: 50) {
  totalCount nodes { id status thanks claimant { id } resident { id } } } }"""


async def act(
    client: GraphQLClient, wish: dict[str, Any], action: str, **extra: Any
) -> dict[str, Any]:
    """actOnWish at the version the client last saw."""
    input = {"id": wish["id"], "action": action, "expectedVersion": wish["version"]} | extra
    return await run(client, ACT, input)


async def acted(
    client: GraphQLClient, wish: dict[str, Any], action: str, **extra: Any
) -> dict[str, Any]:
    payload = await act(client, wish, action, **extra)
    assert payload["errors"] == [], (action, payload)
    after: dict[str, Any] = payload["wish"]
    assert after["version"] == wish["version"] + 1
    return after


async def wall(client: GraphQLClient, demo: DemoCity) -> dict[str, dict[str, Any]]:
    data = (await client(WALL, {"building": gid("Building", demo.building.id)}))["wishWall"]
    return {w["id"]: w for w in data["nodes"]}


async def test_a_wish_from_posting_to_thanks(
    resident: GraphQLClient,
    renter: GraphQLClient,
    head: GraphQLClient,
    worker: GraphQLClient,
    demo: DemoCity,
) -> None:
    me = gid("Person", demo.resident_alone.id)
    head_id, worker_id = gid("Person", demo.building_head.id), gid("Person", demo.grid_worker.id)
    posted = await run(
        resident,
        POST,
        {
            "title": "想要一副老花镜",
            "description": "眼睛看不清报纸，想要一副老花镜。",
            "buildingId": gid("Building", demo.building.id),
        },
    )
    assert posted["errors"] == []
    wish = posted["wish"]
    assert (wish["status"], wish["version"]) == ("POSTED", 1)
    assert wish["resident"] == {"id": me}
    assert wish["id"] not in await wall(resident, demo), "not on the wall until published"

    # she does not keep the wall; to her neighbour the draft does not even exist
    assert errors(await act(resident, wish, "PUBLISH")) == [("FORBIDDEN", None)]
    assert errors(await act(renter, wish, "PUBLISH")) == [("NOT_FOUND", "id")]
    wish = await acted(head, wish, "PUBLISH")
    assert wish["status"] == "PUBLISHED"
    assert wish["publishedAt"] is not None
    stale = await act(head, {**wish, "version": 1}, "CANCEL", note="重复")
    assert errors(stale) == [("VERSION_CONFLICT", "expectedVersion")]

    # the head (a volunteer and Party member) claims; a second claim loses
    claimed = await acted(head, wish, "CLAIM")
    assert (claimed["status"], claimed["claimant"]) == ("CLAIMED", {"id": head_id})
    for seen in (wish, claimed):  # with the version she saw, or the current one
        second = await act(worker, seen, "CLAIM")
        assert errors(second)[0][0] in {"ALREADY_CLAIMED", "VERSION_CONFLICT"}, second
        assert second["wish"] is None
    assert errors(await act(worker, claimed, "CLAIM")) == [("ALREADY_CLAIMED", "id")]

    # he gives it back; a resident who is no volunteer cannot take it; the grid worker does
    released = await acted(head, claimed, "RELEASE", note="临时出差，无法完成")
    assert (released["status"], released["claimant"], released["claimedAt"]) == (
        "PUBLISHED",
        None,
        None,
    )
    assert errors(await act(renter, released, "CLAIM")) == [("FORBIDDEN", None)]
    claimed = await acted(worker, released, "CLAIM")
    assert claimed["claimant"] == {"id": worker_id}

    # only the claimant fulfils, and with evidence
    assert errors(await act(head, claimed, "FULFIL", evidence=["wishes/2024/a.jpg"])) == [
        ("FORBIDDEN", None)
    ]
    assert errors(await act(worker, claimed, "FULFIL")) == [("VALIDATION", "evidence")]
    assert errors(await act(worker, claimed, "FULFIL", evidence=["javascript:x"])) == [
        ("VALIDATION", "evidence")
    ]
    fulfilled = await acted(
        worker,
        claimed,
        "FULFIL",
        evidence=["https://img.example.cn/wishes/glasses.jpg"],
        note="已送到王奶奶家中",
    )
    assert fulfilled["status"] == "FULFILLED"
    assert fulfilled["evidence"] == ["https://img.example.cn/wishes/glasses.jpg"]
    assert fulfilled["evidenceNote"] == "已送到王奶奶家中"

    # the resident confirms and thanks; her neighbour cannot do it for her
    assert errors(await act(renter, fulfilled, "CONFIRM", note="谢谢")) == [("FORBIDDEN", None)]
    confirmed = await acted(resident, fulfilled, "CONFIRM", note="谢谢网格员同志！")
    assert (confirmed["status"], confirmed["thanks"]) == ("CONFIRMED", "谢谢网格员同志！")
    assert confirmed["confirmedAt"] is not None
    assert errors(await act(resident, confirmed, "CANCEL", note="不要了")) == [
        ("INVALID_TRANSITION", "action")
    ]

    for reader in (resident, head, worker, renter):
        shown = (await wall(reader, demo))[wish["id"]]
        assert shown == {
            "id": wish["id"],
            "status": "CONFIRMED",
            "thanks": "谢谢网格员同志！",
            "claimant": {"id": worker_id},
            # a neighbour sees the wish on the wall, not whose it is
            "resident": None if reader is renter else {"id": me},
        }


async def test_a_resident_posts_only_her_own_wishes_at_home(
    resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    before = int(await scalar(session, "SELECT count(*) FROM micro_wish"))
    wish = {"title": "想学用智能手机", "description": "想学会用手机视频通话和挂号。"}
    for_neighbour = await run(
        resident,
        POST,
        wish
        | {
            "buildingId": gid("Building", demo.building.id),
            "residentId": gid("Person", demo.renter.id),
        },
    )
    # a neighbour she cannot see is named like nobody: NOT_FOUND, nothing learnt
    assert errors(for_neighbour) == [("NOT_FOUND", "residentId")]
    elsewhere = await run(
        resident, POST, wish | {"buildingId": gid("Building", demo.building_with_history.id)}
    )
    assert errors(elsewhere) == [("NOT_FOUND", "buildingId")]
    assert int(await scalar(session, "SELECT count(*) FROM micro_wish")) == before
    community = await run(resident, POST, wish | {"communityId": gid("OrgUnit", demo.renheyuan.id)})
    assert community["errors"] == []
    assert community["wish"]["building"] is None


async def test_the_grid_worker_records_a_wish_for_a_resident(
    worker: GraphQLClient, resident: GraphQLClient, demo: DemoCity
) -> None:
    posted = await run(
        worker,
        POST,
        {
            "title": "帮忙修理轮椅",
            "description": "轮椅刹车坏了，希望有人帮忙修理。",
            "buildingId": gid("Building", demo.building.id),
            "residentId": gid("Person", demo.resident_alone.id),
        },
    )
    assert posted["errors"] == []
    wish = posted["wish"]
    assert wish["resident"] == {"id": gid("Person", demo.resident_alone.id)}
    wish = await acted(worker, wish, "PUBLISH")
    assert wish["id"] in await wall(resident, demo)
    # the recorder may withdraw what she recorded
    cancelled = await acted(worker, wish, "CANCEL", note="家人已经买了")
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["id"] not in await wall(resident, demo)
