"""No escalation: admins grant at most their own rank, only inside their subtree; other roles
and machine tokens change nothing; and no input lets a caller name its own powers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLInputObjectType, GraphQLObjectType
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from models.org import GridType
from schema.root import schema
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.permissions.support import (
    MISSING_ID,
    codes,
    first_id_under,
    gid,
    mutation,
    rows,
    token_client,
)

POSITION = "position { id role }"


async def appoint(client: GraphQLClient, **input: Any) -> dict[str, Any]:
    return await mutation(client, "appointPosition", "AppointPositionInput", input, POSITION)


async def positions(session: AsyncSession) -> tuple[int, int]:
    """(rows, active rows) of the position table."""
    total = int(await scalar(session, "SELECT count(*) FROM position"))
    active = int(await scalar(session, "SELECT count(*) FROM position WHERE ended_at IS NULL"))
    return total, active


def errors(payload: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(e["code"], e["field"], e["message"]) for e in payload["errors"]]


@pytest.fixture
def community_admin(as_account: Callable[[str], GraphQLClient]) -> GraphQLClient:
    return as_account("community-admin")


# --- a community admin ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["STREET_ADMIN", "DISTRICT_ADMIN", "CITY_ADMIN"])
async def test_a_community_admin_cannot_grant_a_role_above_its_own(
    role: str, community_admin: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    before = await positions(session)
    person = gid("Person", demo.party_member.id)
    for place in (demo.renheyuan, demo.street):  # its own community, and the street above
        payload = await appoint(
            community_admin, personId=person, role=role, orgUnitId=gid("OrgUnit", place.id)
        )
        assert codes(payload) == ["FORBIDDEN"], (role, place.name, payload)
        assert payload["position"] is None
    assert await positions(session) == before


async def test_a_community_admin_may_grant_up_to_its_own_rank_inside_its_community(
    community_admin: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    """The control for the refusals: the same admin does appoint inside its subtree."""
    before = await positions(session)
    person = gid("Person", demo.party_member.id)
    community = gid("OrgUnit", demo.renheyuan.id)
    for role in ("VOLUNTEER", "COMMUNITY_ADMIN"):
        payload = await appoint(community_admin, personId=person, role=role, orgUnitId=community)
        assert payload["errors"] == [], payload
        assert payload["position"]["role"] == role
    assert await positions(session) == (before[0] + 2, before[1] + 2)


async def test_a_building_of_another_community_is_not_found_like_a_missing_one(
    community_admin: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    before = await positions(session)
    person = gid("Person", demo.party_member.id)
    elsewhere = await first_id_under(session, "building", demo.lingxi.path)
    outside = await appoint(
        community_admin,
        personId=person,
        role="PROPERTY_STAFF",
        staffKind="GUARD",
        buildingId=gid("Building", elsewhere),
    )
    missing = await appoint(
        community_admin,
        personId=person,
        role="PROPERTY_STAFF",
        staffKind="GUARD",
        buildingId=gid("Building", MISSING_ID),
    )
    assert codes(outside) == ["NOT_FOUND"]
    assert errors(outside) == errors(missing)
    # and the same for an org unit of another community
    grid = await first_id_under(session, "org_unit", demo.lingxi.path)
    outside = await appoint(
        community_admin, personId=person, role="VOLUNTEER", orgUnitId=gid("OrgUnit", grid)
    )
    missing = await appoint(
        community_admin, personId=person, role="VOLUNTEER", orgUnitId=gid("OrgUnit", MISSING_ID)
    )
    assert codes(outside) == ["NOT_FOUND"]
    assert errors(outside) == errors(missing)
    assert await positions(session) == before


async def _stranger(session: AsyncSession, demo: DemoCity, party_member: bool) -> int:
    [(found,)] = await rows(
        session,
        "SELECT id FROM person WHERE path <@ CAST(:p AS ltree) AND is_party_member = :m "
        "ORDER BY id LIMIT 1",
        p=demo.lingxi.path,
        m=party_member,
    )
    return int(found)


@pytest.mark.parametrize(
    ("name", "party_member"),
    [
        ("appointPosition", False),
        ("createPairing", True),
        ("createPairing", False),
        ("designateCentralHousehold", True),
        ("designateCentralHousehold", False),
    ],
)
async def test_a_person_of_another_community_answers_like_a_missing_one(
    name: str,
    party_member: bool,
    community_admin: GraphQLClient,
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    stranger = await _stranger(session, demo, party_member)
    household = gid("Household", demo.resident_alone.household_id)

    async def attempt(person: int) -> dict[str, Any]:
        if name == "appointPosition":
            return await appoint(
                community_admin,
                personId=gid("Person", person),
                role="VOLUNTEER",
                orgUnitId=gid("OrgUnit", demo.renheyuan.id),
            )
        input_type = name[0].upper() + name[1:] + "Input"
        selection = "pairing { id }" if name == "createPairing" else "centralHousehold { id }"
        return await mutation(
            community_admin,
            name,
            input_type,
            {"partyMemberId": gid("Person", person), "householdId": household},
            selection,
        )

    tables = ("position", "pairing", "central_household")
    before = [await scalar(session, f"SELECT count(*) FROM {t}") for t in tables]
    outside = await attempt(stranger)
    missing = await attempt(MISSING_ID)
    assert [await scalar(session, f"SELECT count(*) FROM {t}") for t in tables] == before
    assert codes(missing) == ["NOT_FOUND"]
    assert errors(outside) == errors(missing)


async def test_a_community_admin_cannot_end_positions_outside_its_subtree(
    community_admin: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    [(lingxi_head,)] = await rows(
        session,
        "SELECT id FROM position WHERE role = 'BUILDING_HEAD' AND ended_at IS NULL "
        "AND path <@ CAST(:p AS ltree) ORDER BY id LIMIT 1",
        p=demo.lingxi.path,
    )
    [(street_admin,)] = await rows(
        session,
        "SELECT id FROM position WHERE role = 'STREET_ADMIN' AND ended_at IS NULL",
    )
    before = await positions(session)

    async def end(ident: int) -> dict[str, Any]:
        return await mutation(
            community_admin,
            "endPosition",
            "EndPositionInput",
            {"id": gid("Position", ident), "reason": "越权测试"},
            POSITION,
        )

    missing = await end(MISSING_ID)
    assert codes(missing) == ["NOT_FOUND"]
    for ident in (lingxi_head, street_admin):
        assert errors(await end(ident)) == errors(missing), ident
    assert await positions(session) == before


# --- other roles ----------------------------------------------------------------------------


async def test_a_building_head_cannot_create_org_units_or_buildings(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    head = as_account("building-head")
    units = int(await scalar(session, "SELECT count(*) FROM org_unit"))
    buildings = int(await scalar(session, "SELECT count(*) FROM building"))
    for parent in (demo.renheyuan, demo.grids[GridType.OLD_ESTATE]):
        payload = await mutation(
            head,
            "createOrgUnit",
            "CreateOrgUnitInput",
            {
                "kind": "GRID",
                "name": "越权网格",
                "code": "520303001001099",
                "parentId": gid("OrgUnit", parent.id),
                "gridType": "OLD_ESTATE",
            },
            "orgUnit { id }",
        )
        assert codes(payload) == ["FORBIDDEN"], parent.name
    payload = await mutation(
        head,
        "createOrgUnit",
        "CreateOrgUnitInput",
        {"kind": "CITY", "name": "越权市", "code": "529900"},
        "orgUnit { id }",
    )
    assert codes(payload) == ["FORBIDDEN"]
    payload = await mutation(
        head,
        "createBuilding",
        "CreateBuildingInput",
        {
            "gridId": gid("OrgUnit", demo.grids[GridType.OLD_ESTATE].id),
            "name": "越权楼",
            "address": "不存在路1号",
        },
        "building { id }",
    )
    assert codes(payload) == ["FORBIDDEN"]
    assert int(await scalar(session, "SELECT count(*) FROM org_unit")) == units
    assert int(await scalar(session, "SELECT count(*) FROM building")) == buildings


async def test_the_grid_worker_cannot_appoint(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    worker = as_account("grid-worker")
    before = await positions(session)
    person = gid("Person", demo.party_member.id)
    attempts: list[dict[str, Any]] = [
        {"role": "BUILDING_HEAD", "buildingId": gid("Building", demo.building_without_head.id)},
        {"role": "VOLUNTEER", "orgUnitId": gid("OrgUnit", demo.grids[GridType.OLD_ESTATE].id)},
        {"role": "GRID_WORKER", "orgUnitId": gid("OrgUnit", demo.grids[GridType.OLD_ESTATE].id)},
    ]
    for attempt in attempts:
        payload = await appoint(worker, personId=person, **attempt)
        assert codes(payload) == ["FORBIDDEN"], attempt
    # nor end the building head's position in its own grid
    payload = await mutation(
        worker,
        "endPosition",
        "EndPositionInput",
        {"id": gid("Position", demo.building_head_position.id)},
        POSITION,
    )
    assert codes(payload) == ["FORBIDDEN"]
    assert await positions(session) == before


@pytest.mark.parametrize("role", [TokenRole.INTEGRATOR, TokenRole.DISPLAY])
async def test_api_tokens_are_read_only(
    role: TokenRole, session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> None:
    client = await token_client(session, http, role, demo.renheyuan)
    people = int(await scalar(session, "SELECT count(*) FROM person"))
    payload = await mutation(
        client,
        "createPerson",
        "CreatePersonInput",
        {
            "name": "机器人",
            "gender": "MALE",
            "householdId": gid("Household", demo.party_member.household_id),
        },
        "person { id }",
    )
    # an integrator sees the household but may not write; a display does not even see it
    assert codes(payload) == (["FORBIDDEN"] if role is TokenRole.INTEGRATOR else ["NOT_FOUND"])
    payload = await appoint(
        client,
        personId=gid("Person", demo.party_member.id),
        role="VOLUNTEER",
        orgUnitId=gid("OrgUnit", demo.renheyuan.id),
    )
    # the integrator sees the person and is refused; to a display the person is absent
    assert codes(payload) == (["FORBIDDEN"] if role is TokenRole.INTEGRATOR else ["NOT_FOUND"])
    payload = await mutation(
        client,
        "createApiToken",
        "CreateApiTokenInput",
        {"name": "自我复制", "role": "INTEGRATOR", "orgUnitId": gid("OrgUnit", demo.renheyuan.id)},
        "token",
    )
    assert codes(payload) == ["FORBIDDEN"]
    assert payload["token"] is None
    assert int(await scalar(session, "SELECT count(*) FROM person")) == people


# --- inputs name no powers ------------------------------------------------------------------

#: Parts of an input field name that would let a caller state its own identity or scope.
SELF_GRANTING = re.compile(
    r"actor|scope|path|grant|created_?by|owner|permission|privilege|unrestricted|is_?admin|"
    r"as_?user|impersonat|tenant",
    re.IGNORECASE,
)


def self_granting_inputs(walked: strawberry.Schema) -> list[str]:
    found: list[str] = []
    for name, gtype in sorted(walked._schema.type_map.items()):
        if isinstance(gtype, GraphQLInputObjectType):
            found += [f"{name}.{f}" for f in gtype.fields if SELF_GRANTING.search(f)]
    mutation_type = walked._schema.mutation_type
    if mutation_type is not None:
        for field_name, field in mutation_type.fields.items():
            found += [f"Mutation.{field_name}({a})" for a in field.args if SELF_GRANTING.search(a)]
    return found


def test_no_input_lets_a_caller_name_its_own_powers() -> None:
    assert self_granting_inputs(schema) == []


def test_every_mutation_takes_exactly_one_input() -> None:
    mutation_type = schema._schema.mutation_type
    assert isinstance(mutation_type, GraphQLObjectType)
    for name, field in mutation_type.fields.items():
        assert list(field.args) == ["input"], name


@strawberry.input
class SneakyInput:
    name: str
    created_by: str | None = None
    scope_path: str | None = None
    actor_id: str | None = None


@strawberry.type
class SneakyQuery:
    ok: bool = True


@strawberry.type
class SneakyMutation:
    @strawberry.mutation
    def sneak(self, input: SneakyInput, grants: list[str] | None = None) -> bool:
        return bool(input.name and grants is None)


def test_the_input_walker_catches_self_granting_fields() -> None:
    fake = strawberry.Schema(query=SneakyQuery, mutation=SneakyMutation)
    assert self_granting_inputs(fake) == [
        "SneakyInput.createdBy",
        "SneakyInput.scopePath",
        "SneakyInput.actorId",
        "Mutation.sneak(grants)",
    ]
