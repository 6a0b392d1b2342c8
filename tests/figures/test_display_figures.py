"""`displayFigures` through the HTTP endpoint: the headline counts are the dashboard's, read
from a handful of rows; a display sees places as they are and the same cells of people as
`stats` shows it, and petition figures only per calendar period, where they equal
`petitionMetrics`; the trend and rankings follow the metrics; who may read figures of which
node."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.figures import FIGURES, Counted
from models.identity import TokenRole
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, StatementCounter
from tests.metrics.crowd import YEAR, Crowd, build_crowd
from tests.permissions.support import gid, token_client

STATS = (
    "grids buildings households residents partyMembers buildingHeads partyGroups"
    " centralHouseholds secondedCadres registeredPartyMembers pairedWorkUnits"
)
SERVICE_STATS = "stations teams estates unmanagedEstates partyPropertyCompanies activities"
PETITION_FIGURES = {"petitions", "petitionsHandled", "petitionsOpen"}


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def values(figures: list[dict[str, Any]]) -> dict[str, Any]:
    return {f["key"]: f["value"] for f in figures}


async def figures_and_stats(client: GraphQLClient, code: str) -> tuple[dict[str, Any], Any]:
    data = await client(
        f"""query($code: String!) {{
          displayFigures(code: $code) {{ node {{ code }} figures {{ key label counted value }} }}
          orgUnit(code: $code) {{ stats {{ {STATS} }} serviceStats {{ {SERVICE_STATS} }}
                                  children {{ nodes {{ code }} }} }}
        }}""",
        {"code": code},
    )
    assert data["displayFigures"]["node"]["code"] == code
    unit = data["orgUnit"]
    unit["stats"] |= unit.pop("serviceStats")
    return values(data["displayFigures"]["figures"]), unit


async def test_the_figures_are_the_dashboard_counts_in_the_screens_order(
    gql: GraphQLClient, demo: DemoCity
) -> None:
    for code in (demo.city.code, demo.renheyuan.code, demo.grids[next(iter(demo.grids))].code):
        figures, unit = await figures_and_stats(gql, code)
        assert list(figures) == [camel(f.key) for f in FIGURES]
        for key, value in unit["stats"].items():
            assert figures[key] == value, (code, key)
        if code == demo.city.code:
            assert all(figures[k] for k in ("stations", "teams", "shops"))
    data = await gql(
        f'{{ displayFigures(code: "{demo.city.code}") {{ figures {{ key label }} }} }}'
    )
    labels = {f["key"]: f["label"] for f in data["displayFigures"]["figures"]}
    assert labels["grids"] == "城市社区网格"
    assert labels["buildingHeads"] == "楼栋长"


@pytest.fixture
async def crowd(session: AsyncSession, demo: DemoCity) -> Crowd:
    return await build_crowd(session, demo)


@pytest.fixture
async def display(
    crowd: Crowd, session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> GraphQLClient:
    return await token_client(session, http, TokenRole.DISPLAY, demo.renheyuan)


async def test_a_display_sees_places_and_the_cells_stats_shows_it(
    display: GraphQLClient, gql: GraphQLClient, demo: DemoCity, crowd: Crowd
) -> None:
    codes = [demo.renheyuan.code, *(g.code for g in crowd.grids)]
    withheld = 0
    for code in codes:
        figures, unit = await figures_and_stats(display, code)
        truth, _ = await figures_and_stats(gql, code)
        for f in FIGURES:
            key = camel(f.key)
            if key in PETITION_FIGURES:
                assert figures[key] is None
            elif f.counted is Counted.PLACES:
                assert figures[key] == truth[key]
            else:
                assert figures[key] == unit["stats"][key], (code, key)
                withheld += figures[key] is None
    assert withheld > 0  # not vacuous: some cells of people are small here


def month(n: int) -> str:
    return f'{{ unit: MONTH, containing: "{YEAR}-{n:02d}-15" }}'


async def test_a_displays_petitions_trend_and_rankings_are_the_metrics(
    display: GraphQLClient, gql: GraphQLClient, demo: DemoCity, crowd: Crowd
) -> None:
    unit = gid("OrgUnit", demo.renheyuan.id)
    for client in (display, gql):
        data = await client(
            f"""query($u: ID!) {{
              displayFigures(node: $u) {{
                petitions(period: {month(3)}) {{ totals {{ submitted closed satisfactionRate }} }}
                trend(unit: MONTH, count: 6, ending: "{YEAR}-06-30") {{
                  unit start submitted closed }}
                rankings(period: {month(3)}, minRated: 5) {{ code rank }}
              }}
              {
                " ".join(
                    f"m{n}: petitionMetrics(orgUnitId: $u, period: {month(n)}) "
                    "{ totals { submitted closed } }"
                    for n in range(1, 7)
                )
            }
              unitRankings(orgUnitId: $u, period: {month(3)}, minRated: 5) {{ code rank }}
            }}""",
            {"u": unit},
        )
        figures = data["displayFigures"]
        assert figures["petitions"]["totals"]["submitted"] == data["m3"]["totals"]["submitted"]
        trend = figures["trend"]
        assert [p["start"] for p in trend] == [f"{YEAR}-{n:02d}-01" for n in range(1, 7)]
        for n, point in enumerate(trend, 1):
            assert point["unit"] == "MONTH"
            assert point["submitted"] == data[f"m{n}"]["totals"]["submitted"]
            assert point["closed"] == data[f"m{n}"]["totals"]["closed"]
        assert figures["rankings"] == data["unitRankings"]
        assert any(p["submitted"] for p in trend)


async def test_a_display_reads_no_days_and_no_weeks(display: GraphQLClient, demo: DemoCity) -> None:
    for unit in ("DAY", "WEEK"):
        errors = await display.errors(
            f'{{ displayFigures(code: "{demo.renheyuan.code}")'
            f" {{ trend(unit: {unit}) {{ start }} }} }}"
        )
        assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in errors] == [
            ("VALIDATION", "unit")
        ]


async def test_others_read_days_and_weeks(gql: GraphQLClient, demo: DemoCity, crowd: Crowd) -> None:
    data = await gql(
        f"""{{ displayFigures(code: "{demo.renheyuan.code}") {{
              days: trend(unit: DAY, count: 31, ending: "{YEAR}-03-31") {{ start submitted }}
              weeks: trend(unit: WEEK, count: 3, ending: "{YEAR}-03-31") {{ start submitted }}
              month: trend(unit: MONTH, count: 1, ending: "{YEAR}-03-31") {{ submitted }} }} }}"""
    )
    figures = data["displayFigures"]
    assert len(figures["days"]) == 31
    assert figures["days"][0]["start"] == f"{YEAR}-03-01"
    assert sum(d["submitted"] for d in figures["days"]) == figures["month"][0]["submitted"]
    assert [w["start"] for w in figures["weeks"]] == [f"{YEAR}-03-16", f"{YEAR}-03-23",
                                                       f"{YEAR}-03-30"]  # fmt: skip


async def test_who_may_read_the_figures_of_which_node(
    as_account: Any,
    session: AsyncSession,
    http: httpx.AsyncClient,
    demo: DemoCity,
) -> None:
    query = "query($c: String!) { displayFigures(code: $c) { node { code } } }"

    async def answer(client: GraphQLClient, code: str) -> str:
        body = await client.raw(query, {"c": code})
        if body.get("errors"):
            return str(body["errors"][0]["extensions"]["code"])
        return "OK"

    grid = next(
        g for g in demo.grids.values() if g.path and g.path.startswith(demo.renheyuan.path or "-")
    )
    display = await token_client(session, http, TokenRole.DISPLAY, demo.renheyuan)
    integrator = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    expected = [
        (display, demo.renheyuan.code, "OK"),
        (display, grid.code, "OK"),
        (display, demo.city.code, "FORBIDDEN"),  # above its node
        (display, demo.lingxi.code, "NOT_FOUND"),  # beside it: not even visible
        (integrator, demo.renheyuan.code, "OK"),
        (as_account("grid-worker"), grid.code, "OK"),
        (as_account("grid-worker"), demo.renheyuan.code, "FORBIDDEN"),
        (as_account("community-admin"), demo.renheyuan.code, "OK"),
        (as_account("building-head"), grid.code, "FORBIDDEN"),  # a building is no org unit
        (as_account("resident"), demo.renheyuan.code, "FORBIDDEN"),
        (as_account("city-admin"), "no-such-code", "NOT_FOUND"),
    ]
    found = [(client, code, await answer(client, code)) for client, code, _ in expected]
    assert [f[2] for f in found] == [e[2] for e in expected]
    both = await as_account("city-admin").errors(
        f'{{ displayFigures(code: "{demo.city.code}", node: "{gid("OrgUnit", demo.city.id)}")'
        " { node { code } } }"
    )
    assert both[0]["extensions"]["code"] == "VALIDATION"


async def test_a_figures_query_reads_a_handful_of_rows(
    gql: GraphQLClient, demo: DemoCity, sql_statements: StatementCounter
) -> None:
    await gql(f'{{ displayFigures(code: "{demo.city.code}") {{ figures {{ key value }} }} }}')
    sql_statements.reset()
    await gql(f'{{ displayFigures(code: "{demo.city.code}") {{ figures {{ key value }} }} }}')
    # the caller, the node, its counts
    assert sql_statements.count <= 3, sql_statements.statements
    assert any("figure_count" in s for s in sql_statements.statements)


SERVICES = (
    "stations teams ordersDone volunteerServices volunteerHours doorVisits disputes"
    " disputesResolved cadreServices"
)
ENGAGEMENT = "shops redemptions pointsRedeemed awards redFlags householdsSigned tasksDone"


async def test_a_screen_reads_service_and_engagement_counts_as_their_own_fields_give_them(
    display: GraphQLClient, gql: GraphQLClient, demo: DemoCity
) -> None:
    """The service and engagement counts of a screen are `serviceStats` and
    `engagementFigures` themselves, small cells included, for a display and an admin."""
    for client, units in ((display, [demo.renheyuan]), (gql, [demo.renheyuan, demo.lingxi])):
        for unit in units:
            data = await client(
                f"""query($u: ID!) {{
                  displayFigures(node: $u) {{
                    services {{ {SERVICES} }} engagement {{ {ENGAGEMENT} }} }}
                  node(id: $u) {{ ... on OrgUnit {{ serviceStats {{ {SERVICES} }} }} }}
                  engagementFigures(orgUnitId: $u) {{ {ENGAGEMENT} }}
                }}""",
                {"u": gid("OrgUnit", unit.id)},
            )
            figures = data["displayFigures"]
            assert figures["services"] == data["node"]["serviceStats"], unit.name
            assert figures["engagement"] == data["engagementFigures"], unit.name
    counts = await gql(
        f"query($u: ID!) {{ displayFigures(node: $u) {{ services {{ {SERVICES} }} }} }}",
        {"u": gid("OrgUnit", demo.city.id)},
    )
    assert counts["displayFigures"]["services"]["ordersDone"], "the demo city has done orders"


async def test_maintained_stats_are_the_counted_ones(
    gql: GraphQLClient, as_account: Any, demo: DemoCity
) -> None:
    """The city admin's `stats` are read from the maintained counts, a community admin's
    counted from the rows in their scope: over the community both give the same."""
    query = f"""query($c: String!) {{ orgUnit(code: $c) {{ stats {{ {STATS} }}
                  children {{ nodes {{ code stats {{ {STATS} }} }} }} }} }}"""
    variables = {"c": demo.renheyuan.code}
    by_city = (await gql(query, variables))["orgUnit"]
    by_community = (await as_account("community-admin")(query, variables))["orgUnit"]
    assert by_city == by_community
    assert by_city["stats"]["residents"] > 0
