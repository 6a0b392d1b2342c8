"""Small cells stay small for display tokens (issue 7, item 6): the four attacks, repeated.

(a) subtracting overlapping windows: displays read calendar months, quarters and years only,
    and no period's count follows from its year or quarter and the other periods in it;
(b) sweeping `unitRankings(minRated:)` until `rank` appears: a rank shows only a rated count
    the display sees anyway;
(c) subtracting sibling counts from the parent's: no line (a unit and its child units, a
    count and its parts) has exactly one withheld cell, for stats and petition counts alike;
(d) `children { totalCount }`: counts of places are the same wherever they appear, and no
    count of people reaches a display through a connection.

Each check is judged against the truth the city admin reads, and each is shown not vacuous:
the crowd has small cells next to large ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from models.org import OrgKind
from permissions.aggregates import SMALL_CELL
from permissions.limits import Limits
from seeds import builders
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.metrics.crowd import YEAR, Crowd, build_crowd
from tests.permissions.support import gid, token_client

COUNTS = "submitted assigned respondedInTime due onTime rated escalated closed closedAtBuilding"
RATES = "responseRate onTimeRate resolutionRate satisfactionRate escalationRate"
METRICS = f"""totals {{ {COUNTS} {RATES} }} byStatus {{ status count }}
  timeToResolution {{ count medianHours }} escalationByLevel {{ level handled escalated }}"""


@pytest.fixture
async def crowd(session: AsyncSession, demo: DemoCity) -> Crowd:
    return await build_crowd(session, demo)


@pytest.fixture
async def display(
    crowd: Crowd, session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> GraphQLClient:
    return await token_client(session, http, TokenRole.DISPLAY, demo.renheyuan)


def period(unit: str, day: date) -> str:
    return f'{{ unit: {unit}, containing: "{day.isoformat()}" }}'


def window(unit: str, day: date) -> str:
    """The same calendar period as `since`/`until`, for the city admin's truth."""
    from resolvers.metrics import CalendarPeriod, PeriodUnit

    since, until = CalendarPeriod.containing(PeriodUnit(unit), day).bounds()
    return f'since: "{since.isoformat()}", until: "{until.isoformat()}"'


def small(value: int | None) -> bool:
    return value is not None and 0 < value < SMALL_CELL


def flat(metrics: dict[str, Any]) -> dict[str, Any]:
    """Every count of one petitionMetrics answer by a stable name."""
    found: dict[str, Any] = {k: v for k, v in metrics["totals"].items() if k in COUNTS.split()}
    found |= {f"status {s['status']}": s["count"] for s in metrics["byStatus"]}
    found["resolution count"] = metrics["timeToResolution"]["count"]
    for e in metrics["escalationByLevel"]:
        found[f"handled {e['level']}"] = e["handled"]
        found[f"escalated {e['level']}"] = e["escalated"]
    return found


def lines_with_one_unknown(
    shown: list[dict[str, Any]], truth: list[dict[str, Any]], exact: bool
) -> Iterator[str]:
    """Each count whose line (the first answer the total, the others its parts) has exactly
    one withheld cell that the rest gives away (with no residual: rows placed at the parent
    itself, which the display never sees, are a second unknown), or no withheld cell and a
    small residual."""
    for name in truth[0]:
        unknown = [i for i, cell in enumerate(shown) if cell[name] is None]
        residual = 0 if exact else truth[0][name] - sum(t[name] for t in truth[1:])
        if len(unknown) == 1 and residual == 0:
            yield f"{name}: {[t[name] for t in truth]} shown as {[s[name] for s in shown]}"
        if len(unknown) == 0 and small(abs(residual)):
            yield f"{name}: the rest ({residual}) follows from {[s[name] for s in shown]}"


def assert_no_small_cell_shown(shown: list[dict[str, Any]]) -> None:
    for cell in shown:
        assert not any(small(v) for v in cell.values()), cell


# --- (a) overlapping windows, and calendar periods within one another -----------------------


async def test_a_display_reads_fixed_calendar_periods_only(
    display: GraphQLClient, demo: DemoCity
) -> None:
    unit = gid("OrgUnit", demo.renheyuan.id)
    overlapping = await display.raw(
        """query($unit: ID!) {
          a: petitionMetrics(orgUnitId: $unit, since: "2020-03-01T00:00:00+08:00",
                             until: "2020-03-20T00:00:00+08:00") { totals { submitted } }
        }""",
        {"unit": unit},
    )
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in overlapping["errors"]] == [
        ("VALIDATION", "period")
    ]
    for refused, field in (
        (f"period: {period('WEEK', date(YEAR, 3, 2))}", "period"),
        (f"period: {period('DAY', date(YEAR, 3, 2))}", "period"),
        (
            f"period: {period('MONTH', date(YEAR, 3, 2))}, responseLimitHours: 23",
            "responseLimitHours",
        ),
        (f"period: {period('MONTH', date(YEAR, 3, 2))}, channel: ONLINE", "channel"),
    ):
        body = await display.raw(
            f"""query($unit: ID!) {{ petitionMetrics(orgUnitId: $unit, {refused}) {{
                  totals {{ submitted }} }} }}""",
            {"unit": unit},
        )
        assert body["errors"][0]["extensions"]["field"] == field, body


async def test_no_period_follows_from_the_periods_around_it(
    display: GraphQLClient, gql: GraphQLClient, demo: DemoCity
) -> None:
    """Year = its quarters, quarter = its months: on every such line of every count, never
    exactly one withheld cell."""
    months = [date(YEAR, m, 1) for m in range(1, 13)]
    cells = [("YEAR", months[0])]
    cells += [("QUARTER", date(YEAR, q, 1)) for q in (1, 4, 7, 10)]
    cells += [("MONTH", m) for m in months]
    unit = gid("OrgUnit", demo.renheyuan.id)

    async def read(client: GraphQLClient, shape: Any) -> dict[tuple[str, date], dict[str, Any]]:
        found: dict[tuple[str, date], dict[str, Any]] = {}
        per_request = Limits().max_aliases  # 17 periods: two requests
        for start in range(0, len(cells), per_request):
            chunk = cells[start : start + per_request]
            fields = " ".join(
                f"c{i}: petitionMetrics(orgUnitId: $unit, {shape(u, d)}) {{ {METRICS} }}"
                for i, (u, d) in enumerate(chunk)
            )
            data = await client(f"query($unit: ID!) {{ {fields} }}", {"unit": unit})
            found |= {cell: flat(data[f"c{i}"]) for i, cell in enumerate(chunk)}
        return found

    shown = await read(display, lambda u, d: f"period: {period(u, d)}")
    truth = await read(gql, window)
    assert_no_small_cell_shown(list(shown.values()))

    def line(total: tuple[str, date], parts: list[tuple[str, date]]) -> list[str]:
        keys = [total, *parts]
        return list(
            lines_with_one_unknown([shown[k] for k in keys], [truth[k] for k in keys], exact=True)
        )

    problems = line(cells[0], cells[1:5])
    for q in range(4):
        problems += line(cells[1 + q], [("MONTH", m) for m in months[3 * q : 3 * q + 3]])
    assert problems == []
    everything = [v for cell in shown.values() for v in cell.values()]
    assert None in everything, "the crowd has small cells"
    assert any(v is not None and v >= SMALL_CELL for v in everything)
    assert any(
        truth[c][name] >= SMALL_CELL and shown[c][name] is None for c in cells for name in truth[c]
    ), "some large cells are withheld to protect their small neighbours"


# --- (b) sweeping minRated ------------------------------------------------------------------


async def test_sweeping_min_rated_reveals_no_withheld_rated_count(
    display: GraphQLClient, gql: GraphQLClient, demo: DemoCity
) -> None:
    unit = gid("OrgUnit", demo.renheyuan.id)
    march = period("MONTH", date(YEAR, 3, 1))
    sweep = " ".join(
        f"""k{k}: unitRankings(orgUnitId: $unit, period: {march}, minRated: {k}) {{
              code rank rates {{ rated satisfactionRate }} }}"""
        for k in range(1, 13)
    )
    data = await display(f"query($unit: ID!) {{ {sweep} }}", {"unit": unit})
    truth = await gql(
        f"""query($unit: ID!) {{ unitRankings(orgUnitId: $unit, {window("MONTH", date(YEAR, 3, 1))},
              minRated: 1) {{ code rates {{ rated }} }} }}""",
        {"unit": unit},
    )
    rated = {u["code"]: u["rates"]["rated"] for u in truth["unitRankings"]}
    assert any(small(v) for v in rated.values()), "some grids have 1 to 4 rated cases"
    ranked_somewhere = set()
    for k in range(1, 13):
        for u in data[f"k{k}"]:
            shown = u["rates"]["rated"]
            if u["rank"] is not None:
                ranked_somewhere.add(u["code"])
                assert shown is not None, u
                assert shown >= max(k, SMALL_CELL), (k, u)
            if shown is None:
                assert u["rank"] is None, (k, u)
    assert ranked_somewhere, "the control: grids with enough rated cases are ranked"
    assert not any(small(rated[code]) for code in ranked_somewhere)


# --- (c) the parent and its children --------------------------------------------------------

STATS = (
    "grids buildings households residents partyMembers buildingHeads partyGroups "
    "centralHouseholds secondedCadres registeredPartyMembers pairedWorkUnits"
)
PERSONAL = (
    "households residents partyMembers buildingHeads centralHouseholds secondedCadres "
    "registeredPartyMembers"
)


async def test_no_stat_follows_from_the_parent_and_its_children(
    display: GraphQLClient, gql: GraphQLClient, demo: DemoCity
) -> None:
    query = f"""query($code: String!) {{ orgUnit(code: $code) {{
        stats {{ {STATS} }} children(first: 50) {{ nodes {{ code stats {{ {STATS} }} }} }} }} }}"""
    problems: list[str] = []
    withheld = 0
    for unit in (demo.street, demo.renheyuan):
        shown = (await display(query, {"code": unit.code}))["orgUnit"]
        truth = (await gql(query, {"code": unit.code}))["orgUnit"]
        if shown is None or unit is demo.street:  # the street is above the display's node
            assert (
                shown is None
                or shown["stats"]
                == (await display(query, {"code": demo.renheyuan.code}))["orgUnit"]["stats"]
            )
            continue
        cells = [shown["stats"], *(c["stats"] for c in shown["children"]["nodes"])]
        truths = [truth["stats"], *(c["stats"] for c in truth["children"]["nodes"])]
        assert_no_small_cell_shown([{k: c[k] for k in PERSONAL.split()} for c in cells])
        personal = [{k: c[k] for k in PERSONAL.split()} for c in cells]
        problems += lines_with_one_unknown(
            personal, [{k: t[k] for k in PERSONAL.split()} for t in truths], exact=False
        )
        withheld += sum(v is None for c in personal for v in c.values())
        for mine, true in zip(cells, truths, strict=True):
            for place in ("grids", "buildings", "partyGroups", "pairedWorkUnits"):
                assert mine[place] == true[place], "counts of places are shown as they are"
    assert problems == []
    assert withheld, "the demo has small cells"


async def test_a_lone_small_grid_takes_its_sibling_with_it(
    session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity, gql: GraphQLClient
) -> None:
    """A new community of two grids: 3 residents in one, 12 in the other. The community's
    count and the large grid's would give the small one away, so the large one goes too."""
    community = await builders.org_unit(session, OrgKind.COMMUNITY, "新村社区", parent=demo.street)
    sizes = {"一网格": 3, "二网格": 12}
    for name, residents in sizes.items():
        grid = await builders.org_unit(session, OrgKind.GRID, name, parent=community)
        building = await builders.building(session, grid)
        for first in range(0, residents, 3):  # households of three
            household = await builders.household(session, building)
            for index in range(first, first + 3):
                await builders.person(session, household, is_party_member=index % 2 == 0)
    display = await token_client(session, http, TokenRole.DISPLAY, community)
    query = f"""query($code: String!) {{ orgUnit(code: $code) {{
        stats {{ {STATS} }} children(first: 50) {{ nodes {{ code stats {{ {STATS} }} }} }} }} }}"""
    shown = (await display(query, {"code": community.code}))["orgUnit"]
    truth = (await gql(query, {"code": community.code}))["orgUnit"]
    assert [c["stats"]["residents"] for c in truth["children"]["nodes"]] == [3, 12]
    assert truth["stats"]["residents"] == 15
    assert shown["stats"]["residents"] == 15, "the total is no small cell"
    assert [c["stats"]["residents"] for c in shown["children"]["nodes"]] == [None, None]
    cells = [shown["stats"], *(c["stats"] for c in shown["children"]["nodes"])]
    truths = [truth["stats"], *(c["stats"] for c in truth["children"]["nodes"])]
    personal = PERSONAL.split()
    assert not list(
        lines_with_one_unknown(
            [{k: c[k] for k in personal} for c in cells],
            [{k: t[k] for k in personal} for t in truths],
            exact=False,
        )
    )


async def test_no_petition_count_follows_from_the_parent_and_its_children(
    display: GraphQLClient, gql: GraphQLClient, demo: DemoCity
) -> None:
    unit = gid("OrgUnit", demo.renheyuan.id)
    for month in range(1, 7):
        day = date(YEAR, month, 1)
        children = (
            f"unitRankings(orgUnitId: $unit, {{p}}, minRated: 1) {{ code rates {{ {COUNTS} }} }}"
        )
        query = f"""query($unit: ID!) {{
          petitionMetrics(orgUnitId: $unit, {{p}}) {{ totals {{ {COUNTS} }} }} {children} }}"""
        shown = await display(
            query.replace("{p}", f"period: {period('MONTH', day)}"), {"unit": unit}
        )
        truth = await gql(query.replace("{p}", window("MONTH", day)), {"unit": unit})

        def cells(data: dict[str, Any]) -> list[dict[str, Any]]:
            return [
                data["petitionMetrics"]["totals"],
                *(u["rates"] for u in sorted(data["unitRankings"], key=lambda u: u["code"])),
            ]

        assert_no_small_cell_shown(cells(shown))
        assert list(lines_with_one_unknown(cells(shown), cells(truth), exact=False)) == [], month


async def test_no_count_follows_from_its_parts_within_a_cell(
    display: GraphQLClient, gql: GraphQLClient, demo: DemoCity
) -> None:
    """Statuses add up to the submitted count; a rate gives its numerator away: a shown rate
    has neither a small numerator nor a small rest."""
    unit = gid("OrgUnit", demo.renheyuan.id)
    query = """query($unit: ID!) { petitionMetrics(orgUnitId: $unit, {p}) {
        totals { submitted rated satisfactionRate resolutionRate } byStatus { status count } } }"""
    checked = 0
    for month in range(1, 7):
        day = date(YEAR, month, 1)
        shown = (
            await display(query.replace("{p}", f"period: {period('MONTH', day)}"), {"unit": unit})
        )["petitionMetrics"]
        truth = (await gql(query.replace("{p}", window("MONTH", day)), {"unit": unit}))[
            "petitionMetrics"
        ]
        statuses = [shown["totals"]["submitted"], *(s["count"] for s in shown["byStatus"])]
        assert sum(v is None for v in statuses) != 1, (month, statuses)
        rate = shown["totals"]["satisfactionRate"]
        if rate is not None:
            rated = truth["totals"]["rated"]
            satisfied = round(truth["totals"]["satisfactionRate"] * rated)
            assert not small(satisfied), (month, rated, satisfied)
            assert not small(rated - satisfied), (month, rated, satisfied)
            checked += 1
    assert checked, "the control: some satisfaction rates are shown"


# --- (d) totalCount ---------------------------------------------------------------------------


async def test_counts_of_places_agree_and_no_count_of_people_comes_through_a_connection(
    session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity, gql: GraphQLClient
) -> None:
    display = await token_client(session, http, TokenRole.DISPLAY, demo.street)
    query = """query($code: String!) { orgUnit(code: $code) {
        children(first: 50) { totalCount nodes { code
          stats { grids residents households }
          grids: children(kind: GRID, first: 50) { totalCount nodes { code } }
          residents(first: 5) { totalCount }
          buildings(first: 5) { totalCount } } } } }"""
    shown = (await display(query, {"code": demo.street.code}))["orgUnit"]["children"]
    truth = (await gql(query, {"code": demo.street.code}))["orgUnit"]["children"]
    assert shown["totalCount"] == len(shown["nodes"]) == truth["totalCount"]
    few = 0
    for mine, true in zip(shown["nodes"], truth["nodes"], strict=True):
        grids = mine["grids"]
        assert mine["stats"]["grids"] == grids["totalCount"] == len(grids["nodes"])
        assert grids["totalCount"] == true["grids"]["totalCount"]
        few += 0 < grids["totalCount"] < SMALL_CELL
        assert mine["residents"]["totalCount"] == 0, "a display lists no people"
        assert mine["buildings"]["totalCount"] == 0
        for personal in ("residents", "households"):
            assert not small(mine["stats"][personal])
    assert few, "some community has 1 to 4 grids: shown alike in stats and totalCount"


async def test_a_unit_above_the_display_counts_like_the_display_node(
    display: GraphQLClient, demo: DemoCity
) -> None:
    """A display sees its node's ancestors; their counts are its node's, decided alike."""
    march = period("MONTH", date(YEAR, 3, 1))
    data = await display(
        f"""query($street: ID!, $mine: ID!) {{
          above: petitionMetrics(orgUnitId: $street, period: {march}) {{ {METRICS} }}
          mine: petitionMetrics(orgUnitId: $mine, period: {march}) {{ {METRICS} }} }}""",
        {"street": gid("OrgUnit", demo.street.id), "mine": gid("OrgUnit", demo.renheyuan.id)},
    )
    assert flat(data["above"]) == flat(data["mine"])
