"""Clients of the petition API tests: the demo accounts as the mini-program and the admin SPA
sign them in, and an admin of a community other than the demo building's."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from models.people import Role
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.petitions_api.helpers import ERRORS, gid

Signed = Callable[[str], GraphQLClient]


@pytest.fixture
def resident(as_account: Signed) -> GraphQLClient:
    """王秀英, elderly and living alone in the demo building (no position)."""
    return as_account("resident")


@pytest.fixture
def renter(as_account: Signed) -> GraphQLClient:
    """刘强, her neighbour in a rented flat of the same building."""
    return as_account("renter")


@pytest.fixture
def head(as_account: Signed) -> GraphQLClient:
    """张建国, head of the demo building (also a volunteer and registered Party member)."""
    return as_account("building-head")


@pytest.fixture
def worker(as_account: Signed) -> GraphQLClient:
    """The grid worker of 仁和苑's first grid, which holds the demo building."""
    return as_account("grid-worker")


@pytest.fixture
def community_admin(as_account: Signed) -> GraphQLClient:
    """The admin of 仁和苑社区, the demo building's community."""
    return as_account("community-admin")


PHONE = "13987650001"
PASSWORD = "lingxi-admin-2024"


@pytest.fixture
async def outsider_admin(
    gql: GraphQLClient, http: httpx.AsyncClient, demo: DemoCity
) -> GraphQLClient:
    """A community admin of 灵犀社区 (another district), set up the way the admin SPA does:
    a person, a position, an account, and a sign-in."""
    person = await gql(
        f"""mutation($input: CreatePersonInput!) {{
              createPerson(input: $input) {{ person {{ id }} {ERRORS} }} }}""",
        {"input": {"name": "龙晓梅", "gender": "FEMALE", "phone": PHONE}},
    )
    assert person["createPerson"]["errors"] == [], person
    person_id = person["createPerson"]["person"]["id"]
    position = await gql(
        f"""mutation($input: AppointPositionInput!) {{
              appointPosition(input: $input) {{ {ERRORS} }} }}""",
        {
            "input": {
                "personId": person_id,
                "role": Role.COMMUNITY_ADMIN.value,
                "orgUnitId": gid("OrgUnit", demo.lingxi.id),
            }
        },
    )
    assert position["appointPosition"]["errors"] == [], position
    account = await gql(
        f"""mutation($input: CreateAccountInput!) {{
              createAccount(input: $input) {{ {ERRORS} }} }}""",
        {"input": {"personId": person_id, "password": PASSWORD}},
    )
    assert account["createAccount"]["errors"] == [], account
    signed = await GraphQLClient(http)(
        f"""mutation($input: SignInInput!) {{
              signIn(input: $input) {{ accessToken {ERRORS} }} }}""",
        {"input": {"phone": PHONE, "password": PASSWORD}},
    )
    assert signed["signIn"]["errors"] == [], signed
    client = GraphQLClient(http, {"Authorization": f"Bearer {signed['signIn']['accessToken']}"})
    me = await client("{ me { roles } }")
    assert me["me"]["roles"] == [Role.COMMUNITY_ADMIN.value]
    return client
