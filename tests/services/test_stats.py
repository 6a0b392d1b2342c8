"""The service counts of the admin SPA and the big screen: equal to the rows for staff;
for displays, counts of people and cases that are small (or would give a small one away)
withheld, counts of places shown, no periods."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from permissions.aggregates import SMALL_CELL
from schema.services import STATS_KINDS, STATS_LINES
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.permissions.support import gid, token_client

FIELDS = """stations teams estates unmanagedEstates partyPropertyCompanies activities orders
  ordersDone volunteerServices goodDeeds cadreServices cadreGoodDeeds volunteerHours volunteers
  doorVisits householdsVisited disputes disputesResolved"""
TREE = f"""query($id: ID!) {{ node(id: $id) {{ ... on OrgUnit {{ serviceStats {{ {FIELDS} }}
  children(first: 20) {{ nodes {{ name serviceStats {{ {FIELDS} }} }} }} }} }} }}"""


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


async def test_staff_counts_are_the_rows(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    data = await gql(TREE, {"id": gid("OrgUnit", demo.renheyuan.id)})
    stats = data["node"]["serviceStats"]
    path = demo.renheyuan.path

    async def count(sql: str) -> int:
        return int(await scalar(session, sql, p=path))

    assert stats["stations"] == await count(
        "SELECT count(*) FROM service_station WHERE path <@ CAST(:p AS ltree)"
    )
    assert stats["ordersDone"] == await count(
        """SELECT count(*) FROM service_order WHERE path <@ CAST(:p AS ltree)
           AND status IN ('DONE', 'CLOSED', 'CLOSED_UNRATED')"""
    )
    assert stats["volunteerHours"] == pytest.approx(
        await count(
            "SELECT coalesce(sum(minutes), 0) FROM volunteer_hours WHERE path <@ CAST(:p AS ltree)"
        )
        / 60,
        abs=0.01,
    )
    assert stats["volunteers"] == await count(
        "SELECT count(DISTINCT person_id) FROM volunteer_hours WHERE path <@ CAST(:p AS ltree)"
    )
    assert stats["unmanagedEstates"] == await count(
        """SELECT count(*) FROM estate WHERE path <@ CAST(:p AS ltree)
           AND property_company_id IS NULL"""
    )
    city = await gql(TREE, {"id": gid("OrgUnit", demo.city.id)})
    total = city["node"]["serviceStats"]
    assert total["partyPropertyCompanies"] == 4
    assert total["cadreServices"] > 0
    assert total["cadreGoodDeeds"] > 0


@pytest.fixture
async def display(session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity) -> GraphQLClient:
    return await token_client(session, http, TokenRole.DISPLAY, demo.city)


def _lines_hold(stats: dict[str, Any]) -> None:
    """No count and its part both shown with a small rest."""
    for total, parts in STATS_LINES:
        shown = [stats[camel(total)], *(stats[camel(p)] for p in parts)]
        if all(v is not None for v in shown):
            rest = shown[0] - sum(shown[1:])
            assert rest == 0 or rest >= SMALL_CELL, (total, shown)


async def test_a_display_sees_no_small_cell_nor_one_it_could_work_out(
    display: GraphQLClient, gql: GraphQLClient, demo: DemoCity
) -> None:
    street = {"id": gid("OrgUnit", demo.street.id)}
    shown = (await display(TREE, street))["node"]
    full = (await gql(TREE, street))["node"]
    rows = [shown, *shown["children"]["nodes"]]
    exact = [full, *full["children"]["nodes"]]
    for seen, truth in zip(rows, exact, strict=True):
        for name, kind in STATS_KINDS.items():
            if name == "volunteer_minutes":
                continue
            value, real = seen["serviceStats"][camel(name)], truth["serviceStats"][camel(name)]
            if kind.value == "PLACES":
                assert value == real, name
            elif value is not None:
                assert value == real, name
                assert value == 0 or value >= SMALL_CELL, name
        _lines_hold(seen["serviceStats"])
        hours = seen["serviceStats"]["volunteerHours"]
        withheld = (
            seen["serviceStats"]["volunteerServices"] is None
            or seen["serviceStats"]["goodDeeds"] is None
        )
        assert (hours is None) == withheld
    # a unit's counts and its children's: never exactly one child withheld under a shown total
    for name, kind in STATS_KINDS.items():
        if kind.value == "PLACES" or name == "volunteer_minutes":
            continue
        if shown["serviceStats"][camel(name)] is None:
            continue
        hidden = [c for c in shown["children"]["nodes"] if c["serviceStats"][camel(name)] is None]
        assert len(hidden) != 1, name
    withheld_somewhere = any(
        seen["serviceStats"][camel(n)] is None for seen in rows for n in ("disputes", "orders")
    )
    assert withheld_somewhere, "the demo's small cells are withheld"


async def test_a_display_reads_all_time_only(display: GraphQLClient, demo: DemoCity) -> None:
    errors = await display.errors(
        """query($id: ID!) { node(id: $id) { ... on OrgUnit {
             serviceStats(since: "2026-01-01T00:00:00Z") { stations } } } }""",
        {"id": gid("OrgUnit", demo.renheyuan.id)},
    )
    assert errors[0]["extensions"]["code"] == "VALIDATION"
