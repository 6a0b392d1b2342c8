"""`displayFigures`: one query for a big screen over any node of the administrative tree.

The headline counts come from the maintained aggregates (`models.figures`: a handful of rows
per node); the petitions of a period, the trend and the rankings from the metrics resolvers,
cached per app instance until a petition changes (`resolvers.figures`). Displays get every
count through the small-cell rules of `permissions.aggregates`, decided in the same tables as
`OrgUnit.stats` and `petitionMetrics`, so no two answers can be played against each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from datetime import date, datetime
from typing import Any

import strawberry

from models import org as mo
from models.base import utcnow
from models.figures import FIGURES, Counted
from permissions.actor import Actor
from permissions.aggregates import (
    PERSONAL_STATS,
    STATS_LINES,
    Tree,
    display_root,
    displayed,
    for_display,
    hidden_cells,
    withheld_by_unit,
)
from permissions.live import may_read_figures
from resolvers import aggregates as ra
from resolvers import figures as rf
from resolvers import metrics as rm
from resolvers.errors import Common, DomainError, invalid
from resolvers.org import org_unit_by_code
from resolvers.people import CHINA
from schema.cogovernance import EngagementFigures, engagement_of
from schema.context import Info
from schema.metrics import (
    DISPLAY_PERIODS,
    CalendarPeriodInput,
    PetitionMetrics,
    UnitRanking,
    metrics_of,
    rankings_of,
)
from schema.operations import forbidden
from schema.org import OrgUnitNode
from schema.relay import expect_id, to_global_id
from schema.services import ServiceStatsType, service_stats_for

strawberry.enum(Counted, name="FigureCounted", description="Places are shown to displays as "
                "they are; counts of people and cases pass the small-cell rules.")  # fmt: skip

#: Longest trend a screen may ask for.
MAX_TREND = 60
#: Figures counted from petitions: displays read them per calendar period (`petitions`),
#: where the petition tables decide their small cells (an all-time count beside the yearly
#: ones would give a small year away).
PETITION_FIGURES = frozenset(f.key for f in FIGURES if f.table == "petition")


@strawberry.type(name="Figure", description="One headline count of a subtree.")
class FigureValue:
    key: str = strawberry.field(description="Stable key, e.g. `grids`, `buildingHeads`.")
    label: str = strawberry.field(description="What a screen calls it (中文).")
    counted: Counted
    value: int | None = strawberry.field(
        description="Null for a display when the cell is small or would give a small one away."
    )


@strawberry.type(description="Petitions submitted in one period, and how many of them are closed.")
class TrendPoint:
    unit: rm.PeriodUnit
    start: date
    submitted: int | None
    closed: int | None


def permission_key(actor: Actor) -> Hashable:
    """What a cached answer may be shared by: actors seeing exactly the same rows."""
    return (actor.kind, actor.person_id, actor.household_path, actor.grants, actor.contact_ids)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def _people_measures() -> tuple[list[str], tuple[tuple[str, tuple[str, ...]], ...]]:
    """The counts of people a display's table decides, in the order and with the lines of
    `OrgUnit.stats` (so both decide every shared cell alike), then any others."""
    people = [
        f.key for f in FIGURES if f.counted is Counted.PEOPLE and f.key not in PETITION_FIGURES
    ]
    measures = [k for k in PERSONAL_STATS if k in people] + [
        k for k in people if k not in PERSONAL_STATS
    ]
    parts: dict[str, list[str]] = defaultdict(list)
    for f in FIGURES:
        if f.part_of is not None and f.key in measures:
            parts[f.part_of].append(f.key)
    lines = tuple(line for line in STATS_LINES if line[0] in measures) + tuple(
        (total, tuple(members))
        for total, members in parts.items()
        if (total, tuple(members)) not in STATS_LINES
    )
    return measures, lines


async def _figures(info: Info, unit: mo.OrgUnit) -> list[FigureValue]:
    actor = info.context.actor
    loaders = info.context.loaders
    path = unit.path or ""
    if not for_display(actor):
        kept = (await rf.counts_under(loaders, [path]))[path]
        return [FigureValue(key=_camel(f.key), label=f.label, counted=f.counted,
                            value=kept[f.key]) for f in FIGURES]  # fmt: skip
    root = display_root(actor, path) or path
    layout, paths = await ra._org_layout(loaders, root, [(path, False)])
    ids = sorted(paths)
    counts = await rf.counts_under(loaders, [paths[i] for i in ids])
    measures, lines = _people_measures()
    values: dict[tuple[Hashable, Hashable, str], int] = {
        (i, None, m): counts[paths[i]][m] for i in ids for m in measures
    }
    assert unit.id is not None
    withheld = withheld_by_unit(
        values,
        Tree(layout.root, layout.children),
        measures,
        {unit.id: ra._cell_of(root, path)},
        lines,
    )[unit.id]
    own = counts[paths[ra._cell_of(root, path)]]

    def shown(key: str, counted: Counted) -> int | None:
        if key in PETITION_FIGURES:
            return None
        if counted is Counted.PLACES:
            return own[key]
        return displayed(actor, own[key], withheld=key in withheld)

    return [FigureValue(key=_camel(f.key), label=f.label, counted=f.counted,
                        value=shown(f.key, f.counted)) for f in FIGURES]  # fmt: skip


def _this(unit: rm.PeriodUnit) -> CalendarPeriodInput:
    return CalendarPeriodInput(unit=unit, containing=datetime.now(CHINA).date())


def _cell(
    actor: Actor, values: Mapping[Any, int], hidden: frozenset[Any], cell: tuple[Any, ...]
) -> int | None:
    return displayed(actor, values.get(cell, 0), withheld=cell in hidden)


async def _display_trend(
    info: Info, unit: mo.OrgUnit, periods: list[rm.CalendarPeriod]
) -> list[TrendPoint]:
    """A display's trend, read from the yearly tables that decide `petitionMetrics`' cells."""
    actor = info.context.actor
    root = display_root(actor, unit.path or "") or (unit.path or "")
    found: list[TrendPoint] = []
    by_year: dict[int, list[rm.CalendarPeriod]] = defaultdict(list)
    for period in periods:
        by_year[period.start.year].append(period)
    for year, wanted in sorted(by_year.items()):
        table = await ra.petition_table(
            info.context.loaders,
            root,
            unit,
            rm.CalendarPeriod(rm.PeriodUnit.YEAR, date(year, 1, 1)),
            children=False,
            as_of=utcnow(),
        )
        assert table.time is not None
        assert unit.id is not None
        hidden = hidden_cells(
            table.values,
            Tree(table.org.root, table.org.children),
            ra.PETITION_COUNTS,
            rm.COUNT_LINES,
            Tree(table.time.root, table.time.children, exact=True),
        )
        cell = table.cells[unit.id]
        found += [
            TrendPoint(
                unit=p.unit,
                start=p.start,
                submitted=_cell(actor, table.values, hidden, (cell, p, "submitted")),
                closed=_cell(actor, table.values, hidden, (cell, p, "closed")),
            )
            for p in wanted
        ]
    return found


@strawberry.type(
    description="A big screen's figures for one node: headline counts kept current, the "
    "petitions of a period, a trend and the rankings of the child units, the service and "
    "engagement counts."
)
class DisplayFigures:
    row: strawberry.Private[mo.OrgUnit]
    as_of: datetime

    @strawberry.field(description="The node the figures are about.", graphql_type=OrgUnitNode)
    def node(self) -> mo.OrgUnit:
        return self.row

    @strawberry.field(
        description="The headline counts of the subtree (the seed text's figures), in the "
        "order a screen shows them. Displays read petition counts per period (`petitions`)."
    )
    async def figures(self, info: Info) -> list[FigureValue]:
        key = (permission_key(info.context.actor), "figures", self.row.id)
        found: list[FigureValue] = await rf.cached(
            rf.Source.COUNTS, key, lambda: _figures(info, self.row)
        )
        return found

    @strawberry.field(
        description="Petitions submitted in a calendar period under the node (default: this "
        "month, China time): counts, rates and times, as `petitionMetrics` gives them."
    )
    async def petitions(
        self, info: Info, period: CalendarPeriodInput | None = None
    ) -> PetitionMetrics:
        asked = period or _this(rm.PeriodUnit.MONTH)
        assert self.row.id is not None
        key = (permission_key(info.context.actor), "petitions", self.row.id, asked.unit,
               asked.containing)  # fmt: skip
        found: PetitionMetrics = await rf.cached(
            rf.Source.PETITIONS,
            key,
            lambda: metrics_of(info, to_global_id("OrgUnit", self.row.id or 0), period=asked),
        )
        return found

    @strawberry.field(
        description=f"Petitions submitted per period, the last `count` (at most {MAX_TREND}) "
        "up to the one holding `ending` (default: today, China time). Displays read months, "
        "quarters and years."
    )
    async def trend(
        self,
        info: Info,
        unit: rm.PeriodUnit = rm.PeriodUnit.MONTH,
        count: int = 12,
        ending: date | None = None,
    ) -> list[TrendPoint]:
        actor = info.context.actor
        if not 1 <= count <= MAX_TREND:
            raise invalid(f"`count` is 1 to {MAX_TREND}", "count")
        display = for_display(actor)
        if display and unit not in DISPLAY_PERIODS:
            raise invalid("displays read months, quarters and years", "unit")
        periods = rf.trend_periods(unit, count, ending or datetime.now(CHINA).date())
        key = (permission_key(actor), "trend", self.row.id, unit, count, periods[-1].start)

        async def compute() -> list[TrendPoint]:
            if display:
                return await _display_trend(info, self.row, periods)
            points = await rf.petition_trend(info.context.loaders, self.row.path or "", periods)
            return [
                TrendPoint(unit=p.period.unit, start=p.period.start, submitted=p.submitted,
                           closed=p.closed) for p in points
            ]  # fmt: skip

        found: list[TrendPoint] = await rf.cached(rf.Source.PETITIONS, key, compute)
        return found

    @strawberry.field(
        description="The child units ranked by satisfaction, then on-time rate, in a calendar "
        "period (default: this month), with the minimum-sample rule of `unitRankings`."
    )
    async def rankings(
        self,
        info: Info,
        period: CalendarPeriodInput | None = None,
        min_rated: int = rm.DEFAULT_MIN_RATED,
    ) -> list[UnitRanking]:
        asked = period or _this(rm.PeriodUnit.MONTH)
        assert self.row.id is not None
        key = (permission_key(info.context.actor), "rankings", self.row.id, asked.unit,
               asked.containing, min_rated)  # fmt: skip
        found: list[UnitRanking] = await rf.cached(
            rf.Source.PETITIONS,
            key,
            lambda: rankings_of(
                info, to_global_id("OrgUnit", self.row.id or 0), period=asked, min_rated=min_rated
            ),
        )
        return found

    @strawberry.field(
        description="The service counts of the subtree, all-time (stations and teams, "
        "红色代办 orders done, volunteer services and hours, door visits, disputes resolved), "
        "exactly as `OrgUnit.serviceStats` gives them, small cells withheld alike."
    )
    async def services(self, info: Info) -> ServiceStatsType:
        key = (permission_key(info.context.actor), "services", self.row.id)
        found: ServiceStatsType = await rf.cached(
            rf.Source.ENGAGEMENT, key, lambda: service_stats_for(info, self.row, None, None)
        )
        return found

    @strawberry.field(
        description="Incentives, recognition and co-governance of the subtree (points, shops, "
        "awards, convention signatures, meetings, 民生实事), exactly as `engagementFigures`."
    )
    async def engagement(self, info: Info) -> EngagementFigures:
        assert self.row.id is not None
        unit_id = self.row.id
        key = (permission_key(info.context.actor), "engagement", unit_id)
        found: EngagementFigures = await rf.cached(
            rf.Source.ENGAGEMENT, key, lambda: engagement_of(info, unit_id)
        )
        return found


async def figures_node(info: Info, node: strawberry.ID | None, code: str | None) -> mo.OrgUnit:
    """The org unit asked about, if the caller may read its figures."""
    if (node is None) == (code is None):
        raise invalid("give `node` or `code`", "node")
    loaders = info.context.loaders
    ident = expect_id(node, "OrgUnit", "node") if node is not None else None

    async def find() -> mo.OrgUnit | None:
        if ident is not None:
            found = await loaders.get(mo.OrgUnit, ident)
        else:
            found = await org_unit_by_code(loaders, code or "")
        if found is not None:
            # kept beyond this request's transaction, whose rollback would expire it
            info.context.session.expunge(found)
        return found

    # screens ask for the same node every few seconds: the row is kept while the tree's counts
    # stand (a move of the node changes them), a minute at most
    key = (permission_key(info.context.actor), "node", ident, code)
    unit: mo.OrgUnit | None = await rf.cached(rf.Source.COUNTS, key, find)
    if unit is None:
        raise DomainError(Common.NOT_FOUND, "org unit not found", "node" if node else "code")
    if not may_read_figures(info.context.actor, unit.path or ""):
        raise forbidden()
    return unit


@strawberry.type
class FiguresQuery:
    @strawberry.field(
        description="A big screen's figures for an org unit, by `node` (ID) or `code`: for "
        "display and integrator tokens, admins, grid workers and building staff over their "
        "subtree."
    )
    async def display_figures(
        self, info: Info, node: strawberry.ID | None = None, code: str | None = None
    ) -> DisplayFigures:
        unit = await figures_node(info, node, code)
        return DisplayFigures(row=unit, as_of=utcnow())
