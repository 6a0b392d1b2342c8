"""Rank in account and position management: nobody acts on the credentials or positions of
someone whose grants reach beyond their own, and nobody appoints or ends themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.people import Role
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.permissions.support import codes, gid, mutation, rows

PASSWORD = "a-long-new-password"


async def _resident_of_renheyuan(session: AsyncSession, demo: DemoCity) -> tuple[int, str]:
    """A resident of 仁和苑 with a phone and no account and no position yet."""
    [(person_id, phone)] = await rows(
        session,
        "SELECT p.id, p.phone FROM person p WHERE p.path <@ CAST(:c AS ltree) "
        "AND p.phone IS NOT NULL AND p.household_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM account a WHERE a.person_id = p.id OR a.phone = p.phone) "
        "AND NOT EXISTS (SELECT 1 FROM position x WHERE x.person_id = p.id) "
        "ORDER BY p.id LIMIT 1",
        c=demo.renheyuan.path,
    )
    return int(person_id), str(phone)


async def _appoint(client: GraphQLClient, person_id: int, role: str, **place: Any) -> Any:
    return await mutation(
        client,
        "appointPosition",
        "AppointPositionInput",
        {"personId": gid("Person", person_id), "role": role, **place},
        "position { id }",
    )


async def _create_account(client: GraphQLClient, person_id: int) -> Any:
    return await mutation(
        client,
        "createAccount",
        "CreateAccountInput",
        {"personId": gid("Person", person_id), "password": PASSWORD},
        "person { id }",
    )


async def _unlock(client: GraphQLClient, person_id: int) -> Any:
    return await mutation(
        client,
        "unlockAccount",
        "UnlockAccountInput",
        {"personId": gid("Person", person_id)},
        "person { id }",
    )


async def _accounts(session: AsyncSession, person_id: int) -> int:
    return int(
        await scalar(session, "SELECT count(*) FROM account WHERE person_id = :p", p=person_id)
    )


@pytest.mark.parametrize(
    ("role", "place"),
    [("STREET_ADMIN", "street"), ("COMMUNITY_ADMIN", "renheyuan")],
)
async def test_a_community_admin_cannot_take_over_a_superior_or_a_peer(
    role: str,
    place: str,
    gql: GraphQLClient,
    as_account: Callable[[str], GraphQLClient],
    anonymous: GraphQLClient,
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    """The attack: a resident of the community is a street admin; the community admin gives
    them an account, or unlocks it, and signs in as them."""
    person_id, phone = await _resident_of_renheyuan(session, demo)
    unit = getattr(demo, place)
    assert (await _appoint(gql, person_id, role, orgUnitId=gid("OrgUnit", unit.id)))["errors"] == []

    community_admin = as_account("community-admin")
    refused = await _create_account(community_admin, person_id)
    assert codes(refused) == ["FORBIDDEN"]
    assert refused["person"] is None
    assert await _accounts(session, person_id) == 0

    # the street admin outranks a community admin (control); nobody outranks a street admin
    # inside its own street but the district and the city
    granter = "district-admin" if role == "STREET_ADMIN" else "street-admin"
    assert (await _create_account(as_account(granter), person_id))["errors"] == []
    assert await _accounts(session, person_id) == 1

    for _ in range(5):
        await anonymous(
            "mutation($i: SignInInput!) { signIn(input: $i) { errors { code } } }",
            {"i": {"phone": phone, "password": "wrong-password"}},
        )
    assert codes(await _unlock(community_admin, person_id)) == ["FORBIDDEN"]
    assert (await _unlock(as_account(granter), person_id))["errors"] == []


async def test_grants_outside_the_callers_subtree_bar_account_management(
    gql: GraphQLClient,
    as_account: Callable[[str], GraphQLClient],
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    """A resident of 仁和苑 who volunteers in 灵犀 is beyond the 仁和苑 admin's reach."""
    person_id, _ = await _resident_of_renheyuan(session, demo)
    lingxi = gid("OrgUnit", demo.lingxi.id)
    assert (await _appoint(gql, person_id, "VOLUNTEER", orgUnitId=lingxi))["errors"] == []
    assert codes(await _create_account(as_account("community-admin"), person_id)) == ["FORBIDDEN"]
    assert (await _create_account(gql, person_id))["errors"] == []


@pytest.mark.parametrize("handle", ["community-admin", "street-admin", "city-admin"])
async def test_nobody_appoints_themselves(
    handle: str,
    as_account: Callable[[str], GraphQLClient],
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    """Self-appointment would widen one's own field access (a grid worker reads phones)."""
    me = {
        "community-admin": demo.admins[Role.COMMUNITY_ADMIN],
        "street-admin": demo.admins[Role.STREET_ADMIN],
        "city-admin": demo.admins[Role.CITY_ADMIN],
    }[handle]
    before = await scalar(session, "SELECT count(*) FROM position WHERE person_id = :p", p=me.id)
    grid = gid("OrgUnit", demo.grids[next(iter(demo.grids))].id)
    assert me.id is not None
    refused = await _appoint(as_account(handle), me.id, "GRID_WORKER", orgUnitId=grid)
    assert codes(refused) == ["FORBIDDEN"]
    after = await scalar(session, "SELECT count(*) FROM position WHERE person_id = :p", p=me.id)
    assert after == before


async def test_nobody_ends_their_own_position(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    admin = demo.admins[Role.COMMUNITY_ADMIN]
    [(position_id,)] = await rows(
        session,
        "SELECT id FROM position WHERE person_id = :p AND ended_at IS NULL LIMIT 1",
        p=admin.id,
    )
    refused = await mutation(
        as_account("community-admin"),
        "endPosition",
        "EndPositionInput",
        {"id": gid("Position", position_id)},
        "position { id }",
    )
    assert codes(refused) == ["FORBIDDEN"]
    assert await scalar(
        session, "SELECT ended_at IS NULL FROM position WHERE id = :i", i=position_id
    )


async def test_no_position_of_a_superior_is_ended_from_below(
    gql: GraphQLClient,
    as_account: Callable[[str], GraphQLClient],
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    """A street admin who also volunteers in the community: the community admin may not end
    that volunteering (the person is beyond its reach); the street's own admin may."""
    person_id, _ = await _resident_of_renheyuan(session, demo)
    renheyuan = gid("OrgUnit", demo.renheyuan.id)
    volunteering = await _appoint(gql, person_id, "VOLUNTEER", orgUnitId=renheyuan)
    assert volunteering["errors"] == []
    await _appoint(gql, person_id, "STREET_ADMIN", orgUnitId=gid("OrgUnit", demo.street.id))
    end = {"id": volunteering["position"]["id"]}
    refused = await mutation(
        as_account("community-admin"), "endPosition", "EndPositionInput", end, "position { id }"
    )
    assert codes(refused) == ["FORBIDDEN"]
    done = await mutation(
        as_account("district-admin"), "endPosition", "EndPositionInput", end, "position { id }"
    )
    assert done["errors"] == []
