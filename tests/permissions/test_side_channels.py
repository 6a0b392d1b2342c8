"""Side channels of masked fields (issue 7, item 7): ordering and filtering read a field as
much as showing it does, so they follow the field policy; an exact age is a birth date to
the year, so it is shown only where the birth date is.

An actor may order or filter a list by a field only when it would read that field in full
on every row of the list. Refusals are FORBIDDEN on the argument; with no order asked, a
list is ordered by name where names are readable, else in the order people were entered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from models.org import GridType
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import gid, ids, token_client

Signed = Callable[[str], GraphQLClient]

#: Every list of people that takes an order, as a front end asks for it.
LISTS = {
    "people": "people(orderBy: {order}, first: 100) {{ nodes {{ id birthDate }} }}",
    "org-unit residents": """orgUnit(code: "{code}") {{
        residents(orderBy: {order}, first: 100) {{ nodes {{ id birthDate }} }} }}""",
    "building residents": """building: node(id: "{building}") {{ ... on Building {{
        residents(orderBy: {order}, first: 100) {{ nodes {{ id birthDate }} }} }} }}""",
    "party members": """partyOrganisations(first: 100) {{ nodes {{
        members(orderBy: {order}, first: 100) {{ nodes {{ id birthDate }} }} }} }}""",
}


def list_query(name: str, order: str, demo: DemoCity) -> str:
    return (
        "{ "
        + LISTS[name].format(
            order=order, code=demo.renheyuan.code, building=gid("Building", demo.building.id)
        )
        + " }"
    )


def refusal(body: dict[str, Any]) -> tuple[str, str] | None:
    if not body.get("errors"):
        return None
    error = body["errors"][0]
    return error["extensions"]["code"], error["message"]


async def integrator(session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity) -> Any:
    return await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)


@pytest.mark.parametrize("name", sorted(LISTS))
@pytest.mark.parametrize("handle", ["integrator", "building-head", "community-admin", "resident"])
async def test_no_order_by_a_birth_date_one_cannot_read(
    name: str,
    handle: str,
    as_account: Signed,
    session: AsyncSession,
    http: httpx.AsyncClient,
    demo: DemoCity,
) -> None:
    """Birth dates are masked to these actors on some row they see: ordering by them, on any
    list, would sort the residents by the very value they see as null."""
    client = await integrator(session, http, demo) if handle == "integrator" else as_account(handle)
    body = await client.raw(list_query(name, "BIRTH_DATE", demo))
    assert refusal(body) == ("FORBIDDEN", "you may not order people by `birthDate`"), body


async def test_an_integrator_may_not_order_by_masked_names_and_gets_entry_order(
    session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> None:
    client = await integrator(session, http, demo)
    body = await client.raw(list_query("people", "NAME", demo))
    assert refusal(body) == ("FORBIDDEN", "you may not order people by `name`")
    data = await client("{ people(first: 100) { nodes { id } } }")
    shown = [n["id"] for n in data["people"]["nodes"]]
    in_scope = await ids(
        session,
        "SELECT id FROM person WHERE path <@ CAST(:c AS ltree) ORDER BY id LIMIT 100",
        c=demo.renheyuan.path,
    )
    assert shown == [gid("Person", i) for i in sorted(in_scope)], "entry order, not by name"


async def test_the_grid_worker_orders_her_residents_by_birth_date(
    as_account: Signed, session: AsyncSession, demo: DemoCity
) -> None:
    """The control: she reads her residents' birth dates in full (to visit the oldest first),
    so she may sort them; not the whole `people` list, which holds the cadres serving her
    grid, whose birth dates she sees masked."""
    worker = as_account("grid-worker")
    grid = demo.grids[GridType.OLD_ESTATE]
    data = await worker(
        """query($code: String!) { orgUnit(code: $code) {
             residents(orderBy: BIRTH_DATE, first: 100) { nodes { birthDate } } } }""",
        {"code": grid.code},
    )
    dates = [n["birthDate"] for n in data["orgUnit"]["residents"]["nodes"]]
    known = [d for d in dates if d is not None]
    assert len(known) > 10
    assert dates[: len(known)] == known == sorted(known), "oldest first, unknown dates last"
    body = await worker.raw(list_query("people", "BIRTH_DATE", demo))
    assert refusal(body) == ("FORBIDDEN", "you may not order people by `birthDate`")


async def test_a_filter_by_age_band_follows_the_band_not_the_birth_date(
    as_account: Signed, session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> None:
    """Bands are what the masked readers see: they may filter by band, and the band is all
    `age` tells them."""
    for client in (as_account("community-admin"), await integrator(session, http, demo)):
        data = await client(
            """{ people(filter: { ageBand: FROM_80 }, first: 100) {
                 totalCount nodes { age ageBand birthDate } } }"""
        )
        nodes = data["people"]["nodes"]
        assert nodes
        assert {n["ageBand"] for n in nodes} == {"FROM_80"}
        assert {(n["age"], n["birthDate"]) for n in nodes} == {(None, None)}


@pytest.mark.parametrize(
    ("handle", "exact"),
    [
        ("grid-worker", True),  # reads birth dates in full
        ("resident", True),  # herself
        ("building-head", False),  # masked birth date: the band only
        ("community-admin", False),
        ("seconded-cadre", False),
        ("integrator", False),
    ],
)
async def test_age_is_exact_only_where_the_birth_date_is_shown(
    handle: str,
    exact: bool,
    as_account: Signed,
    session: AsyncSession,
    http: httpx.AsyncClient,
    demo: DemoCity,
) -> None:
    client = await integrator(session, http, demo) if handle == "integrator" else as_account(handle)
    elderly = demo.resident_alone  # 82, in the demo building, under every reader above
    data = await client(
        """query($id: ID!) { node(id: $id) { ... on Person { age ageBand birthDate } } }""",
        {"id": gid("Person", elderly.id)},
    )
    person = data["node"]
    assert person is not None
    assert person["ageBand"] == "FROM_80"
    if exact:
        assert person["age"] is not None
        assert person["age"] >= 80
        assert person["birthDate"] is not None
    else:
        assert person["age"] is None, "an exact age would be the birth date to the year"
        assert person["birthDate"] is None
