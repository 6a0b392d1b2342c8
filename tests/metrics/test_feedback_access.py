"""Who reads a building's feedback report (楼栋说事室), and what (issue 7, item 10).

The seed: the meeting room "定期向楼栋居民反馈办理情况" reports to the building's residents.
Residents of the building see every case of it as the board shows it (category, status,
dates, outcome; no title or note, nobody's name). Staff read the cases their row scope
admits: handlers of the building all of them, a volunteer or cadre only what is assigned to
them. Displays, outsiders and anonymous callers read nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from models.org import Building
from schema.relay import to_global_id
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.metrics.story import SINCE, UNTIL, Story
from tests.permissions.support import token_client

REPORT = """query($building: ID!, $since: DateTime!, $until: DateTime!) {
  feedbackReport(buildingId: $building, since: $since, until: $until) {
    buildingName received resolved pending
    items { categoryName title status submittedOn resolvedOn resolutionNote rating }
  }
}"""

Signed = Callable[[str], GraphQLClient]


def variables(building: Building) -> dict[str, str]:
    assert building.id is not None
    return {
        "building": to_global_id("Building", building.id),
        "since": SINCE.isoformat(),
        "until": UNTIL.isoformat(),
    }


async def report(client: GraphQLClient, building: Building) -> dict[str, Any]:
    found: dict[str, Any] = (await client(REPORT, variables(building)))["feedbackReport"]
    return found


async def refused(client: GraphQLClient, building: Building) -> str:
    body = await client.raw(REPORT, variables(building))
    assert body.get("data") is None or body["data"].get("feedbackReport") is None, body
    return str(body["errors"][0]["extensions"]["code"])


async def test_residents_see_every_case_of_their_building_as_the_board_shows_it(
    as_account: Signed, story: Story, demo: DemoCity
) -> None:
    board = await report(as_account("resident"), demo.building)
    assert await report(as_account("renter"), demo.building) == board, "one board per building"
    assert (board["received"], board["resolved"], board["pending"]) == (6, 3, 2)
    items = board["items"]
    assert len(items) == 6, "the neighbour's case B and the anonymous case C are on the board"
    assert {i["status"] for i in items} >= {"CLOSED", "REOPENED", "REJECTED", "ASSIGNED"}
    assert all(i["title"] is None and i["resolutionNote"] is None for i in items)
    assert all(i["categoryName"] and i["submittedOn"] for i in items)
    assert [i["rating"] for i in items].count("SATISFIED") == 2
    text = str(board)
    for petition in story.petitions.values():
        assert petition.title not in text
    for person in story.people:
        assert person.name not in text


@pytest.mark.parametrize("handle", ["building-head", "grid-worker", "community-admin"])
async def test_handlers_see_every_case_of_the_building_with_titles_and_notes(
    handle: str, as_account: Signed, story: Story, demo: DemoCity
) -> None:
    shown = await report(as_account(handle), demo.building)
    assert [i["title"][0] for i in shown["items"]] == list("ABCDEF")
    assert (shown["received"], shown["resolved"], shown["pending"]) == (6, 3, 2)
    notes = {i["title"][0]: i["resolutionNote"] for i in shown["items"]}
    assert notes["C"] == "再次清理并张贴告示"
    for person in story.people:
        assert person.name not in str(shown), "never who reported, handled or rated"


async def test_a_volunteer_reads_only_the_cases_assigned_to_them(
    as_account: Signed, story: Story, demo: DemoCity
) -> None:
    """The building head volunteers in the whole community: in another building of it he is
    no handler and no resident, so its report holds only what he was given to do there."""
    other = story.places.building2
    shown = await report(as_account("building-head"), other)
    assert shown["items"] == [], "H and I are assigned to the grid worker"
    assert (shown["received"], shown["resolved"], shown["pending"]) == (0, 0, 0)
    assert "二网格" not in str(shown)
    handler = await report(as_account("grid-worker"), demo.building)
    assert handler["received"] == 6
    cadre = await report(as_account("seconded-cadre"), demo.building)
    assert cadre["items"] == [], "the cadre serves the building but handles none of its cases"


async def test_an_integrator_reads_the_cases_of_its_node(
    story: Story, demo: DemoCity, session: AsyncSession, http: httpx.AsyncClient
) -> None:
    integrator = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    shown = await report(integrator, demo.building)
    assert [i["title"][0] for i in shown["items"]] == list("ABCDEF")
    for person in story.people:
        assert person.name not in str(shown)


async def test_displays_outsiders_and_anonymous_callers_read_nothing(
    as_account: Signed,
    anonymous: GraphQLClient,
    story: Story,
    demo: DemoCity,
    session: AsyncSession,
    http: httpx.AsyncClient,
) -> None:
    display = await token_client(session, http, TokenRole.DISPLAY, demo.renheyuan)
    assert await refused(display, demo.building) == "NOT_FOUND", "displays see no buildings"
    assert await refused(anonymous, demo.building) == "NOT_FOUND"
    assert await refused(as_account("resident"), story.places.building2) == "NOT_FOUND"
    outside = await token_client(session, http, TokenRole.INTEGRATOR, demo.lingxi)
    assert await refused(outside, demo.building) == "NOT_FOUND"
