"""Lists of the new domains are read in batches: the statements of a nested query do not grow
with the number of rows (one more meeting, shop or task adds none)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, StatementCounter
from tests.permissions.support import gid

QUERY = """query($unit: ID!) {
  meetings(orgUnitId: $unit, first: 10) { nodes { title attendees { capacity }
    agenda { subject task { status timeline { action } } } tasks { title } } }
  shops(orgUnitId: $unit, first: 10) { nodes { name offers { title }
    redemptions(first: 5) { nodes { status holderName } } } }
  engagementFigures(orgUnitId: $unit) { meetings householdsSigned }
  buildings: orgUnit(id: $unit) { buildings(first: 20) { nodes {
    roleModels { name } publicityWall { title } awards { kind recipientName }
    convention { version } conventionCoverage { share } liaisons { name } } } }
}"""


async def statements(gql: GraphQLClient, counter: StatementCounter, unit: str) -> int:
    await gql(QUERY, {"unit": unit})
    counter.reset()
    await gql(QUERY, {"unit": unit})
    return counter.count


async def test_statements_do_not_grow_with_the_rows(
    gql: GraphQLClient,
    sql_statements: StatementCounter,
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    unit = gid("OrgUnit", demo.renheyuan.id)
    before = await statements(gql, sql_statements, unit)
    create = """mutation($input: CreateMeetingInput!) { createMeeting(input: $input) {
      meeting { id } errors { code } } }"""
    for n in range(3):
        made = await gql(create, {"input": {
            "kind": "RED_COUNCIL_HALL", "title": f"议事{n}", "heldAt": "2026-11-30T10:00:00Z",
            "place": "议事厅", "orgUnitId": unit, "agenda": [{"subject": "a"}, {"subject": "b"}],
        }})  # fmt: skip
        assert made["createMeeting"]["errors"] == []
    after = await statements(gql, sql_statements, unit)
    assert after == before
    assert before <= 25
