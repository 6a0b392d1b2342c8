"""The two clocks of a case, through GraphQL: the case's deadline survives escalation, each
level is judged against its own deadline, and a reopened case gets a new case deadline
without forgetting that an earlier round was late.

The history before "now" is made with the resolvers at given instants (the test's
transaction is shared with the app); every step a front end takes, and every read, goes
through the endpoint.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.petitions import Petition, Priority
from resolvers import petitions as rp
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.metrics.story import Handler
from tests.petitions.helpers import Actors, pid
from tests.petitions.helpers import submit as submit_at
from tests.petitions_api.helpers import gid, moved, rate

CLOCKS = """
query($id: ID!) {
  node(id: $id) {
    ... on Petition {
      id status version ownerLevel dueAt caseDueAt overdue caseOverdue onTime
      acceptedAt assignedAt firstContactAt
      stages {
        level round startedAt dueAt acceptedAt assignedAt firstContactAt endedAt endedBy onTime
        owner { id }
      }
    }
  }
}
"""

METRICS = """
query($unit: ID!, $since: DateTime!, $until: DateTime!) {
  petitionMetrics(orgUnitId: $unit, since: $since, until: $until) {
    totals { due onTime onTimeRate onTimeByLevel { level due onTime rate } }
  }
}
"""

RANKINGS = """
query($unit: ID!, $since: DateTime!, $until: DateTime!) {
  unitRankings(orgUnitId: $unit, since: $since, until: $until, minRated: 1) {
    orgUnitId rates { due onTime onTimeRate }
  }
}
"""


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def close(value: str | None, expected: datetime) -> bool:
    """A timestamp the server set "now" (within the test's run)."""
    return value is not None and abs(when(value) - expected) < timedelta(minutes=2)


async def clocks(client: GraphQLClient, petition: Petition) -> dict[str, Any]:
    data = await client(CLOCKS, {"id": gid("Petition", petition.id)})
    found: dict[str, Any] = data["node"]
    assert found is not None
    return found


def levels(metrics: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(on time, due) per level that had a judged turn."""
    return {
        lv["level"]: (lv["onTime"], lv["due"])
        for lv in metrics["totals"]["onTimeByLevel"]
        if lv["due"]
    }


async def metrics(
    client: GraphQLClient, unit: int | None, since: datetime, until: datetime
) -> dict[str, Any]:
    variables = {
        "unit": gid("OrgUnit", unit),
        "since": since.isoformat(),
        "until": until.isoformat(),
    }
    data = await client(METRICS, variables)
    found: dict[str, Any] = data["petitionMetrics"]
    return found


async def test_a_case_escalated_after_its_level_deadline_stays_late(
    session: AsyncSession,
    demo: DemoCity,
    head: GraphQLClient,
    worker: GraphQLClient,
    community_admin: GraphQLClient,
) -> None:
    now = utcnow()
    received = now - timedelta(hours=3)  # URGENT: 2 hours, for the case and for the building
    petition = await submit_at(session, demo, now=received, priority=Priority.URGENT)
    await session.commit()

    # The building head passes it on an hour after the building's (and the case's) deadline.
    seen = await clocks(head, petition)
    assert (seen["onTime"], seen["caseOverdue"]) == (False, True)
    seen = await moved(head, seen, "ESCALATE", note="楼栋处理不了，请网格协调")
    # The grid gets its own two hours; the case deadline does not move.
    after = await clocks(worker, petition)
    assert after["ownerLevel"] == "GRID"
    assert when(after["caseDueAt"]) == received + timedelta(hours=2)
    assert close(after["dueAt"], now + timedelta(hours=2))
    assert (after["overdue"], after["caseOverdue"], after["onTime"]) == (False, True, False)

    # The grid worker handles it well within the grid's own deadline.
    me = gid("Person", demo.grid_worker.id)
    after = await moved(worker, after, "ASSIGN", assigneeId=me)
    after = await moved(worker, after, "ACKNOWLEDGE")
    after = await moved(worker, after, "START")
    await moved(worker, after, "RESOLVE", note="已协调物业清理")

    done = await clocks(community_admin, petition)
    assert done["status"] == "RESOLVED"
    assert done["onTime"] is False, "resolved after the case deadline: late, escalated or not"
    building, grid = done["stages"]
    assert (building["level"], building["endedBy"], building["onTime"]) == (
        "BUILDING",
        "ESCALATE",
        False,
    )
    assert (building["owner"], building["firstContactAt"]) == (None, None)
    assert when(building["dueAt"]) == received + timedelta(hours=2)
    assert (grid["level"], grid["endedBy"], grid["onTime"]) == ("GRID", "RESOLVE", True)
    assert grid["owner"] == {"id": gid("OrgUnit", demo.building.grid_id)}
    assert grid["startedAt"] == building["endedAt"]
    # contact and assignment: once per case (the first), and per level as the grid made them
    assert done["firstContactAt"] == grid["firstContactAt"] is not None
    assert done["assignedAt"] == grid["assignedAt"] is not None

    # Per case: late. Per level: the building late, the grid in time. Nobody is on time
    # for the case, neither the grid nor its community.
    period = (received - timedelta(minutes=1), now + timedelta(hours=1))
    for unit in (demo.building.grid_id, demo.renheyuan.id):
        found = await metrics(community_admin, unit, *period)
        assert (found["totals"]["onTime"], found["totals"]["due"]) == (0, 1)
        assert found["totals"]["onTimeRate"] == 0.0
        assert levels(found) == {"BUILDING": (0, 1), "GRID": (1, 1)}
    ranked = await community_admin(
        RANKINGS,
        {
            "unit": gid("OrgUnit", demo.renheyuan.id),
            "since": period[0].isoformat(),
            "until": period[1].isoformat(),
        },
    )
    grid_row = next(
        u for u in ranked["unitRankings"] if u["orgUnitId"] == gid("OrgUnit", demo.building.grid_id)
    )
    assert grid_row["rates"] == {"due": 1, "onTime": 0, "onTimeRate": 0.0}


async def test_escalating_in_time_is_on_time_for_the_level_that_passed_it_on(
    session: AsyncSession, demo: DemoCity, head: GraphQLClient, community_admin: GraphQLClient
) -> None:
    now = utcnow()
    received = now - timedelta(hours=1)
    petition = await submit_at(session, demo, now=received, priority=Priority.URGENT)
    await session.commit()
    seen = await moved(head, await clocks(head, petition), "ESCALATE", note="需网格协调")
    assert seen["ownerLevel"] == "GRID"
    found = await clocks(community_admin, petition)
    building, grid = found["stages"]
    assert (building["endedBy"], building["onTime"]) == ("ESCALATE", True)
    assert (grid["onTime"], grid["endedAt"]) == (None, None), "the grid's turn runs in time"
    assert found["onTime"] is None, "the case's deadline has not passed"


async def test_the_scheduler_escalates_by_the_level_deadline_and_keeps_the_case_deadline(
    session: AsyncSession, demo: DemoCity, community_admin: GraphQLClient
) -> None:
    now = utcnow()
    received = now - timedelta(hours=3)
    petition = await submit_at(session, demo, now=received, priority=Priority.URGENT)
    assert pid(petition) in await rp.escalate_overdue(session, now)
    await session.commit()

    found = await clocks(community_admin, petition)
    assert found["ownerLevel"] == "GRID"
    assert when(found["caseDueAt"]) == received + timedelta(hours=2)
    assert when(found["dueAt"]) == now + timedelta(hours=2)
    assert (found["overdue"], found["caseOverdue"], found["onTime"]) == (False, True, False)
    building, grid = found["stages"]
    assert (building["endedBy"], building["onTime"], when(building["endedAt"])) == (
        "ESCALATE",
        False,
        now,
    )
    assert (grid["level"], grid["onTime"], when(grid["dueAt"])) == (
        "GRID",
        None,
        now + timedelta(hours=2),
    )


async def test_a_case_reopened_after_a_resolution_in_time_gets_a_new_case_deadline(
    session: AsyncSession, demo: DemoCity, resident: GraphQLClient, head: GraphQLClient
) -> None:
    now = utcnow()
    received = now - timedelta(days=2)  # GENERAL: 7 days
    petition = await submit_at(session, demo, now=received)
    petition = await Handler(session, Actors.of(demo)).handle(
        petition,
        assign=received + timedelta(hours=1),
        ack=received + timedelta(hours=2),
        resolve=now - timedelta(days=1),
    )
    await session.commit()
    assert (await clocks(resident, petition))["onTime"] is True

    payload = await rate(resident, await clocks(resident, petition), "UNSATISFIED", "还是堆着")
    assert payload["errors"] == []
    reopened = await clocks(resident, petition)
    assert reopened["status"] == "REOPENED"
    # reopen time + 7 days, for the case and for the building alike
    assert close(reopened["caseDueAt"], now + timedelta(days=7))
    assert reopened["dueAt"] == reopened["caseDueAt"]
    assert reopened["onTime"] is None, "open, and within its new case deadline"
    first, second = reopened["stages"]
    assert (first["round"], first["endedBy"], first["onTime"]) == (0, "RESOLVE", True)
    assert (second["round"], second["level"], second["endedAt"]) == (1, "BUILDING", None)
    assert second["dueAt"] == reopened["caseDueAt"]
    assert second["firstContactAt"] is None, "per level: nothing yet in the new turn"
    assert reopened["firstContactAt"] == first["firstContactAt"], "per case: the first ever"

    again = await moved(head, reopened, "START")
    await moved(head, again, "RESOLVE", note="已再次清理")
    assert (await clocks(resident, petition))["onTime"] is True


async def test_a_round_resolved_late_keeps_the_reopened_case_late(
    session: AsyncSession,
    demo: DemoCity,
    resident: GraphQLClient,
    head: GraphQLClient,
    community_admin: GraphQLClient,
) -> None:
    now = utcnow()
    received = now - timedelta(days=10)  # GENERAL: due 3 days ago
    petition = await submit_at(session, demo, now=received)
    petition = await Handler(session, Actors.of(demo)).handle(
        petition,
        assign=received + timedelta(hours=1),
        ack=received + timedelta(hours=2),
        resolve=now - timedelta(days=1),
    )
    await session.commit()
    assert (await clocks(resident, petition))["onTime"] is False

    assert (await rate(resident, await clocks(resident, petition), "UNSATISFIED"))["errors"] == []
    reopened = await clocks(resident, petition)
    assert close(reopened["caseDueAt"], now + timedelta(days=7))
    assert reopened["caseOverdue"] is False
    assert reopened["onTime"] is False, "its first round missed the case deadline"
    resolved = await moved(head, await moved(head, reopened, "START"), "RESOLVE", note="已清理")
    assert resolved["status"] == "RESOLVED"
    done = await clocks(community_admin, petition)
    assert done["onTime"] is False, "a timely second round does not undo a late first one"
    assert [s["onTime"] for s in done["stages"]] == [False, True]

    # Judged in the period of its current case deadline: late, the building late too.
    found = await metrics(
        community_admin, demo.renheyuan.id, now - timedelta(days=1), now + timedelta(days=8)
    )
    assert (found["totals"]["onTime"], found["totals"]["due"]) == (0, 1)
    assert levels(found) == {"BUILDING": (0, 1)}


async def test_clocks_are_the_cases_own(
    session: AsyncSession,
    demo: DemoCity,
    renter: GraphQLClient,
    resident: GraphQLClient,
) -> None:
    """A neighbour sees neither the case nor its stages; the resident sees their own."""
    petition = await submit_at(session, demo, now=utcnow() - timedelta(hours=1))
    await session.commit()
    data = await renter(CLOCKS, {"id": gid("Petition", petition.id)})
    assert data["node"] is None
    own = await clocks(resident, petition)
    assert [s["level"] for s in own["stages"]] == ["BUILDING"]
