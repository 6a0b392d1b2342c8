"""submitPetition through the GraphQL endpoint, as the mini-program (the resident's own
petition) and the grid worker's door-visit form (recorded for a resident) send it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.petitions_api.helpers import (
    errors,
    gid,
    node,
    petition_count,
    petition_input,
    submit,
    submitted,
)


async def test_the_resident_submits_for_her_own_building_and_reads_it_back(
    resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    photos = ["https://img.example.cn/wx/2024/a1.jpg", "petitions/2024/0f3a9c2e.jpg"]
    petition = await submitted(
        resident,
        await petition_input(session, demo, photos=photos, locationNote=" 2单元 "),
    )
    me = gid("Person", demo.resident_alone.id)
    assert petition["status"] == "SUBMITTED"
    assert petition["version"] == 1
    assert petition["channel"] == "ONLINE"
    assert petition["anonymous"] is False
    assert petition["priority"] == "GENERAL"  # the category's default
    assert petition["photos"] == photos
    assert petition["building"] == {"id": gid("Building", demo.building.id)}
    assert petition["reporter"] == {"id": me, "name": demo.resident_alone.name}
    assert petition["recordedBy"] is None
    submitted_at = datetime.fromisoformat(petition["submittedAt"])
    assert datetime.fromisoformat(petition["dueAt"]) - submitted_at == timedelta(days=7)

    found = await node(resident, petition["id"])
    assert found is not None
    assert found["reporter"] == {"id": me, "name": demo.resident_alone.name}
    assert found["allowedActions"] == []  # a resident handles nothing
    assert [(e["action"], e["toStatus"], e["byReporter"]) for e in found["timeline"]] == [
        ("SUBMIT", "SUBMITTED", True)
    ]
    assert found["timeline"][0]["actor"]["id"] == me
    listed = await resident("{ petitions { totalCount nodes { id reporter { id } } } }")
    assert listed["petitions"]["totalCount"] == 1
    assert listed["petitions"]["nodes"] == [{"id": petition["id"], "reporter": {"id": me}}]


async def test_the_same_idempotency_key_returns_the_same_petition(
    resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    draft = await petition_input(session, demo, idempotencyKey="wx-7f3a9c2e-0001")
    first = await submitted(resident, draft)
    before = await petition_count(session)
    again = await submitted(resident, draft)
    assert again["id"] == first["id"]
    assert again["version"] == first["version"]
    assert await petition_count(session) == before
    events = await scalar(
        session,
        "SELECT count(*) FROM petition_event WHERE petition_id = "
        "(SELECT id FROM petition WHERE idempotency_key = 'wx-7f3a9c2e-0001')",
    )
    assert events == 1, "a retry writes no second SUBMIT entry"

    reused = await submit(resident, {**draft, "title": "楼道灯坏了"})
    assert errors(reused) == [("IDEMPOTENCY_KEY_REUSED", "idempotencyKey")]
    assert reused["petition"] is None
    assert await petition_count(session) == before


async def test_a_resident_cannot_submit_for_another_building(
    resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    """Another building is outside her scope: it answers exactly like one that does not
    exist (NOT_FOUND on buildingId), so the refusal does not even confirm it is there."""
    before = await petition_count(session)
    elsewhere = gid("Building", demo.building_with_history.id)
    payload = await submit(resident, await petition_input(session, demo, buildingId=elsewhere))
    assert errors(payload) == [("NOT_FOUND", "buildingId")]
    assert payload["petition"] is None
    assert await petition_count(session) == before


async def test_a_resident_cannot_file_in_a_neighbours_name(
    resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    before = await petition_count(session)
    for channel in ("ONLINE", "DOOR_VISIT"):
        payload = await submit(
            resident,
            await petition_input(
                session, demo, channel=channel, reporterId=gid("Person", demo.renter.id)
            ),
        )
        # a neighbour she cannot see is named like nobody: NOT_FOUND, nothing learnt
        assert errors(payload) == [("NOT_FOUND", "reporterId")], channel
    assert await petition_count(session) == before


async def test_the_grid_worker_records_a_door_visit_for_a_resident_of_her_grid(
    worker: GraphQLClient, resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    petition = await submitted(
        worker,
        await petition_input(
            session,
            demo,
            code="ELDER_CARE",
            channel="DOOR_VISIT",
            title="独居老人需要助餐",
            description="王奶奶行动不便，希望社区提供助餐服务。",
            reporterId=gid("Person", demo.resident_alone.id),
        ),
    )
    assert petition["channel"] == "DOOR_VISIT"
    assert petition["recordedBy"] == {
        "id": gid("Person", demo.grid_worker.id),
        "name": demo.grid_worker.name,
    }
    assert petition["reporter"]["id"] == gid("Person", demo.resident_alone.id)
    assert petition["ownerLevel"] == "GRID"  # 养老服务: grid and above
    assert petition["owner"] == {"id": gid("OrgUnit", demo.building.grid_id)}

    # the resident finds it among her own petitions, recorder and all
    mine = await node(resident, petition["id"])
    assert mine is not None
    assert mine["reporter"]["id"] == gid("Person", demo.resident_alone.id)
    assert mine["recordedBy"]["id"] == gid("Person", demo.grid_worker.id)
    submit_step = mine["timeline"][0]
    assert (submit_step["action"], submit_step["byReporter"]) == ("SUBMIT", False)
    assert submit_step["actor"]["id"] == gid("Person", demo.grid_worker.id)


async def test_a_door_visit_needs_a_resident(
    worker: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    payload = await submit(worker, await petition_input(session, demo, channel="DOOR_VISIT"))
    assert errors(payload) == [("VALIDATION", "reporterId")]


@pytest.mark.parametrize(
    ("code", "level", "owner"),
    [
        ("CORRIDOR_CLUTTER", "BUILDING", None),  # 楼道堵塞: the building head's remit
        ("PARKING", "GRID", "grid"),
        ("POLICY_QUESTION", "COMMUNITY", "community"),  # 政策咨询: community and above
        ("ILLEGAL_CONSTRUCTION", "STREET", "street"),
    ],
)
async def test_the_owner_is_the_lowest_level_whose_remit_covers_the_category(
    resident: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
    code: str,
    level: str,
    owner: str | None,
) -> None:
    petition = await submitted(resident, await petition_input(session, demo, code=code))
    owners = {
        "grid": gid("OrgUnit", demo.building.grid_id),
        "community": gid("OrgUnit", demo.renheyuan.id),
        "street": gid("OrgUnit", demo.street.id),
    }
    assert petition["ownerLevel"] == level
    assert petition["owner"] == ({"id": owners[owner]} if owner else None)
    assert petition["category"]["code"] == code


async def test_a_community_only_category_is_owned_by_the_community(
    gql: GraphQLClient, resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    created = await gql(
        """mutation { createPetitionCategory(input: {
              code: "COMMUNITY_CANTEEN", name: "社区食堂", remitLevels: [COMMUNITY],
              defaultPriority: GENERAL }) { category { id } errors { code } } }"""
    )
    category = created["createPetitionCategory"]["category"]["id"]
    petition = await submitted(resident, await petition_input(session, demo, categoryId=category))
    assert petition["ownerLevel"] == "COMMUNITY"
    assert petition["owner"] == {"id": gid("OrgUnit", demo.renheyuan.id)}


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        pytest.param({"title": "   "}, "VALIDATION", "title", id="blank-title"),
        pytest.param({"title": "长" * 101}, "VALIDATION", "title", id="long-title"),
        pytest.param({"description": ""}, "VALIDATION", "description", id="blank-description"),
        pytest.param(
            {"photos": [f"petitions/2024/{i}.jpg" for i in range(10)]},
            "VALIDATION",
            "photos",
            id="ten-photos",
        ),
        pytest.param(
            {"photos": ["javascript:alert(1)"]}, "VALIDATION", "photos", id="script-photo"
        ),
        pytest.param(
            {"photos": ["ftp://img.example.cn/a.jpg"]}, "VALIDATION", "photos", id="ftp-photo"
        ),
        pytest.param(
            {"photos": ["petitions/../secrets.jpg"]}, "VALIDATION", "photos", id="dotdot-photo"
        ),
        pytest.param({"idempotencyKey": "short"}, "VALIDATION", "idempotencyKey", id="short-key"),
        pytest.param(
            {"categoryId": gid("PetitionCategory", 987_654_321)},
            "NOT_FOUND",
            "categoryId",
            id="unknown-category",
        ),
        pytest.param({"buildingId": None}, "VALIDATION", "buildingId", id="no-place"),
    ],
)
async def test_bad_input_is_refused_on_its_field(
    resident: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
    fields: dict[str, Any],
    code: str,
    field: str,
) -> None:
    before = await petition_count(session)
    payload = await submit(resident, await petition_input(session, demo, **fields))
    assert errors(payload) == [(code, field)], payload
    assert payload["errors"][0]["message"]
    assert payload["petition"] is None
    assert await petition_count(session) == before


async def test_a_retired_category_is_refused(
    gql: GraphQLClient, resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    draft = await petition_input(session, demo, code="OTHER")
    retired = await gql(
        """mutation($id: ID!) { updatePetitionCategory(input: { id: $id, active: false }) {
              category { active } errors { code } } }""",
        {"id": draft["categoryId"]},
    )
    assert retired["updatePetitionCategory"] == {"category": {"active": False}, "errors": []}
    payload = await submit(resident, draft)
    assert errors(payload) == [("VALIDATION", "categoryId")]


async def test_a_malformed_category_id_is_a_payload_error(
    resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    body = await resident.raw(
        """mutation Submit($input: SubmitPetitionInput!) {
              submitPetition(input: $input) { petition { id } errors { code field } } }""",
        {"input": await petition_input(session, demo, categoryId="!!not-an-id!!")},
    )
    assert "errors" not in body, body["errors"]
    assert body["data"]["submitPetition"] == {
        "petition": None,
        "errors": [{"code": "VALIDATION", "field": "categoryId"}],
    }
