"""The number of SQL statements of a nested query grows with its depth, never with the data."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.org import OrgUnit
from models.people import Role
from permissions.limits import Limits
from seeds import builders
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, StatementCounter

DISTRICT = "520303"  # 汇川区: 2 streets, 3 communities, 11 grids

#: district > streets > communities > grids > buildings > head: six levels.
QUERY = """query($code: String!) { orgUnit(code: $code) {
    children { nodes {
        children { nodes {
            children { nodes {
                buildings(first: 100) { totalCount nodes { id head { name } } }
            } }
        } }
    } }
} }"""
DEPTH = 6
#: Observed through the resolvers (GRAPHQL_COMPILED=off): 1 to sign in (account, session
#: and credential version, person, active positions, contacts: one statement), one SELECT per
#: level (org unit by code, three `children` levels, buildings, active head positions, their
#: persons), one grouped count for the buildings' `totalCount` (counted only because it is
#: selected) and one INSERT into the audit log (full reads of names are audited). Compiled
#: (`on`): the sign-in, and one statement that reads everything and writes the audit entry.
EXPECTED_STATEMENTS = {"off": 10, "on": 2}
#: Signing in and auditing cost the same for every request, whatever it reads.
PER_REQUEST = 2


def heads_and_buildings(data: Any) -> tuple[int, int, int]:
    """(buildings listed, buildings with a head, sum of the grids' totalCount)."""
    listed = headed = total = 0
    for street in data["orgUnit"]["children"]["nodes"]:
        for community in street["children"]["nodes"]:
            for grid in community["children"]["nodes"]:
                buildings = grid["buildings"]
                total += buildings["totalCount"]
                listed += len(buildings["nodes"])
                headed += sum(b["head"] is not None for b in buildings["nodes"])
    return listed, headed, total


async def count_statements(gql: GraphQLClient, counter: StatementCounter) -> tuple[int, Any]:
    await gql(QUERY, {"code": DISTRICT})  # warm-up
    counter.reset()
    data = await gql(QUERY, {"code": DISTRICT})
    return counter.count, data


#: The tree query is deeper and costlier than the request limits allow (they would refuse it
#: before any SQL); what is measured here is the statement count of executing it.
@pytest.mark.parametrize("limits", [Limits.lifted()], ids=["limits-lifted"])
@pytest.mark.parametrize("compiled", ["off", "on"])
async def test_nested_query_runs_a_fixed_number_of_statements(
    compiled: str,
    gql: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
    sql_statements: StatementCounter,
) -> None:
    before, data = await count_statements(gql, sql_statements)
    assert before == EXPECTED_STATEMENTS[compiled], sql_statements.statements
    assert before <= DEPTH + PER_REQUEST + 2  # a level, plus one count per `totalCount`
    listed, headed, total = heads_and_buildings(data)
    district = demo.districts["汇川区"]
    in_sql = (
        await session.execute(
            sa.text(
                "SELECT count(*) FROM building WHERE path <@ "
                "(SELECT path FROM org_unit WHERE id = :id)"
            ),
            {"id": district.id},
        )
    ).scalar_one()
    assert listed == total == in_sql
    assert 0 < headed < listed

    # Ten times as many buildings, every new one with a head, under the same grids.
    grids = [
        row[0]
        for row in await session.execute(
            sa.text(
                "SELECT id FROM org_unit WHERE kind = 'GRID' AND path <@ "
                "(SELECT path FROM org_unit WHERE id = :id) ORDER BY code"
            ),
            {"id": district.id},
        )
    ]
    assert len(grids) == 11
    grid_rows = [await session.get(OrgUnit, g) for g in grids]
    added = 9 * in_sql
    for i in range(added):
        grid = grid_rows[i % len(grid_rows)]
        assert grid is not None
        building = await builders.building(session, grid, name=f"加测楼{i:04d}")
        household = await builders.household(session, building)
        head = await builders.person(session, household, name=f"楼长{i:04d}")
        await builders.position(session, head, Role.BUILDING_HEAD, building=building)

    after, data = await count_statements(gql, sql_statements)
    listed_after, headed_after, total_after = heads_and_buildings(data)
    assert total_after == 10 * in_sql
    assert listed_after == total_after  # fewer than 100 per grid, so all are listed
    assert headed_after == headed + added
    assert after == before == EXPECTED_STATEMENTS[compiled], sql_statements.statements
