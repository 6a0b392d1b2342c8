"""The metrics, rankings and feedback report as front ends call them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from schema.relay import to_global_id
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.metrics.story import SINCE, UNTIL, Story
from tests.permissions.support import token_client

METRICS = """query($unit: ID!, $since: DateTime!, $until: DateTime!) {
  petitionMetrics(orgUnitId: $unit, since: $since, until: $until) {
    totals { submitted rated satisfactionRate closed }
    byStatus { status count }
    timeToResolution { count medianHours p90Hours }
  }
  unitRankings(orgUnitId: $unit, since: $since, until: $until, minRated: 1) {
    name rank rates { rated satisfactionRate }
  }
}"""

REPORT = """query($building: ID!, $since: DateTime!, $until: DateTime!) {
  feedbackReport(buildingId: $building, since: $since, until: $until) {
    buildingName received resolved pending items { title status rating resolutionNote }
  }
}"""


def period(unit_id: int | None) -> dict[str, str]:
    assert unit_id is not None
    return {
        "unit": to_global_id("OrgUnit", unit_id),
        "since": SINCE.isoformat(),
        "until": UNTIL.isoformat(),
    }


async def test_an_admin_reads_the_metrics_of_a_community(
    gql: GraphQLClient, story: Story, demo: DemoCity
) -> None:
    data = await gql(METRICS, period(demo.renheyuan.id))
    totals = data["petitionMetrics"]["totals"]
    assert totals["submitted"] >= 7
    assert 0 <= totals["satisfactionRate"] <= 1
    statuses = {s["status"]: s["count"] for s in data["petitionMetrics"]["byStatus"]}
    assert sum(statuses.values()) == totals["submitted"]
    assert data["unitRankings"], "the community's grids are listed"


DISPLAY_METRICS = """query($unit: ID!) {
  petitionMetrics(orgUnitId: $unit, period: { unit: MONTH, containing: "2021-03-15" }) {
    totals { submitted rated satisfactionRate closed }
    byStatus { status count }
    timeToResolution { count medianHours p90Hours }
  }
}"""


async def test_a_display_gets_small_cells_withheld(
    story: Story, demo: DemoCity, session: AsyncSession, http: httpx.AsyncClient
) -> None:
    display = await token_client(session, http, TokenRole.DISPLAY, demo.renheyuan)
    data = await display(DISPLAY_METRICS, {"unit": period(demo.renheyuan.id)["unit"]})
    counts = [s["count"] for s in data["petitionMetrics"]["byStatus"]]
    assert all(c is None or c == 0 or c >= 5 for c in counts)
    assert None in counts, "some statuses have 1 to 4 petitions in the story"


async def test_the_building_head_shows_the_feedback_report_to_residents(
    as_account: Callable[[str], GraphQLClient], story: Story, demo: DemoCity
) -> None:
    assert demo.building.id is not None
    variables = {
        "building": to_global_id("Building", demo.building.id),
        "since": SINCE.isoformat(),
        "until": UNTIL.isoformat(),
    }
    head = (await as_account("building-head")(REPORT, variables))["feedbackReport"]
    resident = (await as_account("resident")(REPORT, variables))["feedbackReport"]
    counts = ("buildingName", "received", "resolved", "pending")
    assert [head[k] for k in counts] == [resident[k] for k in counts], "the same cases"
    assert [(i["status"], i["rating"]) for i in head["items"]] == [
        (i["status"], i["rating"]) for i in resident["items"]
    ]
    assert all(i["title"] for i in head["items"]), "the head reads the titles out"
    assert not any(i["title"] or i["resolutionNote"] for i in resident["items"])
    assert head["received"] == len(head["items"]) > 0
    assert "reporter" not in str(head)


async def test_an_outsider_gets_no_feedback_report(
    as_account: Callable[[str], GraphQLClient], story: Story, demo: DemoCity
) -> None:
    other = demo.building_without_head
    assert other.id is not None
    errors = await as_account("resident").errors(
        REPORT,
        {
            "building": to_global_id("Building", other.id),
            "since": SINCE.isoformat(),
            "until": UNTIL.isoformat(),
        },
    )
    assert errors[0]["extensions"]["code"] in {"NOT_FOUND", "FORBIDDEN"}
