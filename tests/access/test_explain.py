"""`explainAccess`: for the caller, FULL, MASKED or DENIED per field of a person and why,
never a value, and always what a query of the same fields returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from models.org import GridType
from permissions.policy import FIELD_POLICY
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import gid, rows, token_client

EXPLAIN = """query($id: ID!, $fields: [String!]) { explainAccess(personId: $id, fields: $fields) {
  personId relations superseded grants { role placeId relation }
  fields { field access reason fullFor maskedFor personal } } }"""
#: Person's fields that hold a value (not an object or a list).
SCALARS = [
    f
    for f in FIELD_POLICY["Person"]
    if f not in ("household", "householdHistory", "partyOrganisation", "positions", "pairings")
]


async def resident_of_grid(session: AsyncSession, demo: DemoCity) -> int:
    [(found,)] = await rows(
        session,
        "SELECT id FROM person WHERE household_id IS NOT NULL AND phone IS NOT NULL"
        " AND id_card_cipher IS NOT NULL AND path <@ CAST(:g AS ltree) AND id <> :me"
        " ORDER BY id LIMIT 1",
        g=demo.grids[GridType.OLD_ESTATE].path,
        me=demo.building_head.id,
    )
    return int(found)


async def explain(client: GraphQLClient, person: int, fields: list[str] | None = None) -> Any:
    data = await client(EXPLAIN, {"id": gid("Person", person), "fields": fields})
    return data["explainAccess"]


async def read(client: GraphQLClient, person: int) -> dict[str, Any]:
    data = await client(
        f"query($id: ID!) {{ node(id: $id) {{ ... on Person {{ {' '.join(SCALARS)} }} }} }}",
        {"id": gid("Person", person)},
    )
    found: dict[str, Any] = data["node"]
    return found


@pytest.fixture
async def integrator(
    session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> GraphQLClient:
    return await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)


async def test_an_integrator_learns_why_and_no_value(
    integrator: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    person = await resident_of_grid(session, demo)
    explained = await explain(integrator, person)
    assert explained["relations"] == ["INTEGRATOR"]
    assert [(g["role"], g["relation"]) for g in explained["grants"]] == [
        ("INTEGRATOR", "INTEGRATOR")
    ]
    assert explained["grants"][0]["placeId"] == gid("OrgUnit", demo.renheyuan.id)
    by_field = {f["field"]: f for f in explained["fields"]}
    assert set(by_field) == set(FIELD_POLICY["Person"])
    assert by_field["name"]["access"] == "MASKED"
    assert "INTEGRATOR" in by_field["name"]["reason"]
    assert by_field["phone"]["access"] == "MASKED"
    assert by_field["livesAlone"]["access"] == "DENIED"
    assert by_field["household"]["access"] == "DENIED"
    assert by_field["idCardNumber"]["fullFor"] == ["SELF"]
    assert by_field["phone"]["personal"] is True
    [(name, phone)] = await rows(session, "SELECT name, phone FROM person WHERE id = :p", p=person)
    text = str(explained)
    assert name not in text
    assert phone not in text


@pytest.mark.parametrize("handle", ["community-admin", "city-admin", "integrator"])
async def test_the_explanation_is_what_a_query_returns(
    handle: str,
    as_account: Callable[[str], GraphQLClient],
    integrator: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    client = integrator if handle == "integrator" else as_account(handle)
    person = await resident_of_grid(session, demo)
    explained = {
        f["field"]: f["access"] for f in (await explain(client, person, SCALARS))["fields"]
    }
    shown = await read(client, person)
    full = await read(as_account("grid-worker"), person)  # a carer reads these in full
    for field in ("name", "phone", "gender", "isRenter", "livesAlone", "healthNotes", "ageBand"):
        if explained[field] == "FULL":
            assert shown[field] == full[field], field
        elif explained[field] == "DENIED":
            assert shown[field] is None, field
        else:
            assert shown[field] != full[field] or full[field] is None, field


async def test_an_admin_sees_what_it_may_reveal(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession
) -> None:
    person = await resident_of_grid(session, demo)
    explained = await explain(as_account("community-admin"), person, ["phone", "name"])
    assert explained["relations"] == ["ADMIN"]
    by_field = {f["field"]: f for f in explained["fields"]}
    assert [f["field"] for f in explained["fields"]] == ["phone", "name"]
    assert by_field["phone"]["access"] == "MASKED"
    assert "full only for" in by_field["phone"]["reason"]
    assert by_field["name"]["access"] == "FULL"


async def test_who_may_ask_and_about_whom(
    as_account: Callable[[str], GraphQLClient],
    integrator: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
    http: httpx.AsyncClient,
) -> None:
    person = await resident_of_grid(session, demo)
    for handle in ("grid-worker", "building-head", "resident"):
        [error] = await as_account(handle).errors(EXPLAIN, {"id": gid("Person", person)})
        assert error["extensions"]["code"] == "FORBIDDEN", handle
    display = await token_client(session, http, TokenRole.DISPLAY, demo.renheyuan)
    [error] = await display.errors(EXPLAIN, {"id": gid("Person", person)})
    assert error["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND")
    [(far,)] = await rows(
        session,
        "SELECT id FROM person WHERE path <@ CAST(:c AS ltree) ORDER BY id LIMIT 1",
        c=demo.lingxi.path,
    )
    [error] = await integrator.errors(EXPLAIN, {"id": gid("Person", far)})
    assert error["extensions"]["code"] == "NOT_FOUND"  # as absent: no oracle
    [error] = await integrator.errors(
        EXPLAIN, {"id": gid("Person", person), "fields": ["phone", "salary"]}
    )
    assert error["extensions"]["code"] == "VALIDATION"
