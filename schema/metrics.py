"""Petition metrics per subtree and period, unit rankings, and the building feedback report
(楼栋说事室). Counts cover the rows the caller may count; displays get small cells withheld."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import strawberry

from models import org as mo
from models import petitions as m
from models.base import utcnow
from models.org import OrgKind
from permissions.actor import Actor
from permissions.aggregates import (
    SMALL_CELL,
    Tree,
    display_root,
    displayed,
    displayed_rate,
    for_display,
    withheld_by_unit,
)
from permissions.petitions import FEEDBACK_FIELDS, FeedbackView, feedback_view
from resolvers import aggregates as ra
from resolvers import metrics as r
from resolvers.errors import Common, DomainError
from resolvers.loaders import Loaders
from schema.context import Info
from schema.operations import forbidden
from schema.relay import expect_id, to_global_id

if TYPE_CHECKING:
    from schema.cogovernance import ConventionCoverage

Coverage = Annotated["ConventionCoverage", strawberry.lazy("schema.cogovernance")]


@strawberry.type(description="One level's share of cases closed or passed on in its own time.")
class LevelOnTime:
    level: m.Level
    due: int | None
    on_time: int | None
    rate: float | None


@strawberry.type(description="Counts and rates of a group of petitions; null rates have no base.")
class PetitionRates:
    submitted: int | None
    assigned: int | None
    responded_in_time: int | None
    response_rate: float | None = strawberry.field(
        description="First contact within the response limit / assigned."
    )
    due: int | None
    on_time: int | None
    on_time_rate: float | None = strawberry.field(
        description="Per case: resolved by the case's deadline / due (escalation never "
        "restarts it)."
    )
    rated: int | None
    resolution_rate: float | None = strawberry.field(
        description="Rated (basically) satisfied / rated."
    )
    satisfaction_rate: float | None = strawberry.field(description="Rated satisfied / rated.")
    escalated: int | None
    escalation_rate: float | None
    closed: int | None
    closed_at_building: int | None
    building_closure_share: float | None = strawberry.field(
        description="Closed at building level / closed."
    )
    on_time_by_level: list[LevelOnTime] = strawberry.field(
        description="Per level: cases it closed or passed on within its own deadline / cases "
        "with a judged turn there (of the on-time rate's cases)."
    )

    @classmethod
    def of(
        cls, actor: Actor, x: r.PetitionRates, withheld: frozenset[str] = frozenset()
    ) -> PetitionRates:
        def n(name: str) -> int | None:
            return displayed(actor, getattr(x, name), withheld=name in withheld)

        def rate(value: float | None, numerator: str, denominator: str) -> float | None:
            return displayed_rate(actor, value, n(numerator), n(denominator))

        def level(x: r.LevelOnTime) -> LevelOnTime:
            due, on_time = f"level_due_{x.level.value}", f"level_on_time_{x.level.value}"
            shown_due = displayed(actor, x.due, withheld=due in withheld)
            shown = displayed(actor, x.on_time, withheld=on_time in withheld)
            return LevelOnTime(
                level=x.level,
                due=shown_due,
                on_time=shown,
                rate=displayed_rate(actor, x.rate, shown, shown_due),
            )

        return cls(
            submitted=n("submitted"),
            assigned=n("assigned"),
            responded_in_time=n("responded_in_time"),
            response_rate=rate(x.response_rate, "responded_in_time", "assigned"),
            due=n("due"),
            on_time=n("on_time"),
            on_time_rate=rate(x.on_time_rate, "on_time", "due"),
            rated=n("rated"),
            resolution_rate=rate(x.resolution_rate, "rated_resolved", "rated"),
            satisfaction_rate=rate(x.satisfaction_rate, "rated_satisfied", "rated"),
            escalated=n("escalated"),
            escalation_rate=rate(x.escalation_rate, "escalated", "submitted"),
            closed=n("closed"),
            closed_at_building=n("closed_at_building"),
            building_closure_share=rate(x.building_closure_share, "closed_at_building", "closed"),
            on_time_by_level=[level(lv) for lv in x.on_time_by_level],
        )


@strawberry.type
class StatusCount:
    status: m.PetitionStatus
    count: int | None


@strawberry.type(description="Median and 90th percentile, in hours.")
class DurationSummary:
    count: int | None
    median_hours: float | None
    p90_hours: float | None


def _hours(value: timedelta | None) -> float | None:
    return value.total_seconds() / 3600 if value is not None else None


def _durations(
    actor: Actor, x: r.DurationSummary, name: str, withheld: frozenset[str]
) -> DurationSummary:
    count = displayed(actor, x.count, withheld=name in withheld)
    return DurationSummary(
        count=count,
        median_hours=_hours(x.median) if count is not None else None,
        p90_hours=_hours(x.p90) if count is not None else None,
    )


@strawberry.type
class LevelEscalation:
    level: m.Level
    handled: int | None
    escalated: int | None
    rate: float | None


@strawberry.type
class CategoryRates:
    category_id: strawberry.ID
    code: str
    name: str
    rates: PetitionRates


@strawberry.type
class ChannelRates:
    channel: m.Channel
    rates: PetitionRates


@strawberry.type(description="A subtree's petitions over a period.")
class PetitionMetrics:
    since: datetime
    until: datetime
    as_of: datetime
    response_limit_hours: float
    totals: PetitionRates
    by_status: list[StatusCount]
    time_to_first_contact: DurationSummary
    time_to_resolution: DurationSummary
    escalation_by_level: list[LevelEscalation]
    by_category: list[CategoryRates]
    by_channel: list[ChannelRates]


@strawberry.type(description="A child unit ranked by satisfaction; unranked below the minimum.")
class UnitRanking:
    org_unit_id: strawberry.ID
    code: str
    name: str
    kind: OrgKind
    rank: int | None
    rates: PetitionRates

    @classmethod
    def of(
        cls,
        actor: Actor,
        x: r.UnitRanking,
        rank: int | None,
        rates: PetitionRates | None = None,
    ) -> UnitRanking:
        return cls(
            org_unit_id=to_global_id("OrgUnit", x.org_unit_id),
            code=x.code,
            name=x.name,
            kind=x.kind,
            rank=rank,
            rates=rates or PetitionRates.of(actor, x.rates),
        )


@strawberry.type(
    description="One petition as the building's report shows it: never who reported, recorded, "
    "handled or rated it. Residents see no title or note (null): only staff and integrators do."
)
class FeedbackItem:
    category_name: str
    title: str | None
    status: m.PetitionStatus
    submitted_on: str
    resolved_on: str | None
    resolution_note: str | None
    rating: m.RatingValue | None
    on_time: bool | None = strawberry.field(
        description="Met its case deadline, as the on-time rate judges it; null while open."
    )

    @classmethod
    def of(cls, view: FeedbackView, x: r.FeedbackItem) -> FeedbackItem:
        shown = FEEDBACK_FIELDS[view]
        return cls(
            category_name=x.category_name,
            title=x.title if "title" in shown else None,
            status=x.status,
            submitted_on=x.submitted_on.isoformat(),
            resolved_on=x.resolved_on.isoformat() if x.resolved_on else None,
            resolution_note=x.resolution_note if "resolutionNote" in shown else None,
            rating=x.rating,
            on_time=x.on_time if "onTime" in shown else None,
        )


@strawberry.type(description="楼栋说事室: what a building asked for and what came of it.")
class FeedbackReport:
    building_id: strawberry.Private[int]
    building_name: str
    since: datetime
    until: datetime
    received: int
    resolved: int
    pending: int
    items: list[FeedbackItem]

    @strawberry.field(
        description="《红色美丽楼栋公约》 in force and the share of households that signed it.",
        graphql_type=Coverage,
    )
    async def convention_coverage(self, info: Info) -> object:
        from schema.cogovernance import building_coverage

        return await building_coverage(info, self.building_id)


@strawberry.input(
    description="A fixed calendar period in China time: the DAY, WEEK (Monday to Sunday), "
    "MONTH, QUARTER or YEAR that contains the date `containing`."
)
class CalendarPeriodInput:
    unit: r.PeriodUnit
    containing: date


#: The periods displays read: nested in one another and in the year, and large enough to
#: show something (a day's count in a unit is almost always a small cell; a week straddles
#: months, so weeks and months would give each other's small cells away).
DISPLAY_PERIODS = frozenset({r.PeriodUnit.MONTH, r.PeriodUnit.QUARTER, r.PeriodUnit.YEAR})


def _period(
    actor: Actor,
    since: datetime | None,
    until: datetime | None,
    period: CalendarPeriodInput | None,
) -> tuple[datetime, datetime, r.CalendarPeriod | None]:
    """The period asked about. Displays read fixed calendar months, quarters and years only:
    no two windows that overlap by a little."""
    display = for_display(actor)
    if period is None:
        if display:
            raise DomainError(
                Common.VALIDATION,
                "displays read fixed calendar periods: give `period`",
                "period",
            )
        if since is None or until is None:
            raise DomainError(
                Common.VALIDATION, "give `period`, or both `since` and `until`", "since"
            )
        return since, until, None
    if since is not None or until is not None:
        raise DomainError(
            Common.VALIDATION, "give `period`, or `since` and `until`, not both", "period"
        )
    if display and period.unit not in DISPLAY_PERIODS:
        raise DomainError(Common.VALIDATION, "displays read months, quarters and years", "period")
    found = r.CalendarPeriod.containing(period.unit, period.containing)
    start, end = found.bounds()
    return start, end, found


def _display_only_defaults(
    category_id: strawberry.ID | None, channel: m.Channel | None, response_limit_hours: float
) -> None:
    """Displays get the whole of a unit with the standard response limit: every other cut
    (a category, a channel, a response limit) is another table to subtract from this one."""
    for given, field in (
        (category_id is not None, "categoryId"),
        (channel is not None, "channel"),
        (
            response_limit_hours != r.DEFAULT_RESPONSE_LIMIT.total_seconds() / 3600,
            "responseLimitHours",
        ),
    ):
        if given:
            raise DomainError(Common.VALIDATION, f"displays may not set `{field}`", field)


async def _withheld(
    info: Info,
    unit_id: int,
    period: r.CalendarPeriod | None,
    *,
    children: bool,
    as_of: datetime,
) -> dict[int, frozenset[str]]:
    """The counts a display may not see of a unit (and its children) in `period`: primary
    and complementary suppression over the display's table (`permissions.aggregates`)."""
    actor = info.context.actor
    loaders = info.context.loaders
    if not for_display(actor) or period is None:
        return {}
    unit = await loaders.get(mo.OrgUnit, unit_id)
    root = display_root(actor, unit.path or "") if unit else None
    if unit is None or root is None:
        return {unit_id: frozenset(ra.PETITION_COUNTS)}
    table = await ra.petition_table(loaders, root, unit, period, children=children, as_of=as_of)
    assert table.time is not None
    cells = dict(table.cells)
    if children:
        cell = cells[unit_id]
        cells |= {child: child for child in table.org.children.get(cell, ())}
    return withheld_by_unit(
        table.values,
        Tree(table.org.root, table.org.children),
        ra.PETITION_COUNTS,
        cells,
        r.COUNT_LINES,
        Tree(table.time.root, table.time.children, exact=True),
        period,
    )


def _metrics(
    actor: Actor, x: r.PetitionMetrics, withheld: frozenset[str] = frozenset()
) -> PetitionMetrics:
    display = for_display(actor)

    def n(name: str, value: int) -> int | None:
        return displayed(actor, value, withheld=name in withheld)

    return PetitionMetrics(
        since=x.since,
        until=x.until,
        as_of=x.as_of,
        response_limit_hours=x.response_limit.total_seconds() / 3600,
        totals=PetitionRates.of(actor, x.totals, withheld),
        by_status=[
            StatusCount(status=s.status, count=n(f"status_{s.status.value}", s.count))
            for s in x.by_status
        ],
        time_to_first_contact=_durations(
            actor, x.time_to_first_contact, "first_contact_count", withheld
        ),
        time_to_resolution=_durations(actor, x.time_to_resolution, "resolution_count", withheld),
        escalation_by_level=[
            LevelEscalation(
                level=e.level,
                handled=(handled := n(f"handled_{e.level.value}", e.handled)),
                escalated=(escalated := n(f"escalated_{e.level.value}", e.escalated)),
                rate=displayed_rate(actor, e.rate, escalated, handled),
            )
            for e in x.escalation_by_level
        ],
        # a display reads the whole of a unit: categories and channels cut it finer
        by_category=[]
        if display
        else [
            CategoryRates(
                category_id=to_global_id("PetitionCategory", c.category_id),
                code=c.code,
                name=c.name,
                rates=PetitionRates.of(actor, c.rates),
            )
            for c in x.by_category
        ],
        by_channel=[]
        if display
        else [
            ChannelRates(channel=c.channel, rates=PetitionRates.of(actor, c.rates))
            for c in x.by_channel
        ],
    )


async def metrics_of(
    info: Info,
    org_unit_id: strawberry.ID,
    since: datetime | None = None,
    until: datetime | None = None,
    period: CalendarPeriodInput | None = None,
    category_id: strawberry.ID | None = None,
    channel: m.Channel | None = None,
    response_limit_hours: float = 24,
) -> PetitionMetrics:
    """`petitionMetrics` for the caller, small cells withheld from displays (also read by the
    display figures)."""
    actor = info.context.actor
    start, end, calendar = _period(actor, since, until, period)
    if for_display(actor):
        _display_only_defaults(category_id, channel, response_limit_hours)
    unit_id = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
    found = await r.petition_metrics(
        info.context.loaders,
        org_unit_id=unit_id,
        since=start,
        until=end,
        category_id=expect_id(category_id, "PetitionCategory", "category_id")
        if category_id is not None
        else None,
        channel=channel,
        response_limit=timedelta(hours=response_limit_hours),
    )
    withheld = await _withheld(info, unit_id, calendar, children=False, as_of=found.as_of)
    return _metrics(actor, found, withheld.get(unit_id, frozenset()))


async def rankings_of(
    info: Info,
    org_unit_id: strawberry.ID,
    since: datetime | None = None,
    until: datetime | None = None,
    period: CalendarPeriodInput | None = None,
    min_rated: int = r.DEFAULT_MIN_RATED,
) -> list[UnitRanking]:
    """`unitRankings` for the caller, with the display rules (also read by the display
    figures)."""
    actor = info.context.actor
    start, end, calendar = _period(actor, since, until, period)
    unit_id = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
    as_of = utcnow()
    rows = await r.unit_rankings(
        info.context.loaders,
        parent_org_unit_id=unit_id,
        since=start,
        until=end,
        min_rated=min_rated,
        now=as_of,
    )
    if not for_display(actor):
        return [UnitRanking.of(actor, u, u.rank) for u in rows]
    withheld = await _withheld(info, unit_id, calendar, children=True, as_of=as_of)
    shown = {
        u.org_unit_id: PetitionRates.of(
            actor, u.rates, withheld.get(u.org_unit_id, frozenset(ra.PETITION_COUNTS))
        )
        for u in rows
    }
    ranks = r.rank(
        {
            ident: (rates.satisfaction_rate, rates.on_time_rate)
            for ident, rates in shown.items()
            if rates.rated is not None
            and rates.rated >= max(min_rated, SMALL_CELL)
            and rates.satisfaction_rate is not None
        }
    )
    ordered = sorted(
        rows,
        key=lambda u: (ranks.get(u.org_unit_id) is None, ranks.get(u.org_unit_id) or 0, u.code),
    )
    return [
        UnitRanking.of(actor, u, ranks.get(u.org_unit_id), shown[u.org_unit_id]) for u in ordered
    ]


@strawberry.type
class MetricsQuery:
    @strawberry.field(
        description="Petition metrics of a subtree for petitions submitted in a period: a "
        "calendar `period`, or (not for displays) any `since`-`until` window."
    )
    async def petition_metrics(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        since: datetime | None = None,
        until: datetime | None = None,
        period: CalendarPeriodInput | None = None,
        category_id: strawberry.ID | None = None,
        channel: m.Channel | None = None,
        response_limit_hours: float = 24,
    ) -> PetitionMetrics:
        return await metrics_of(
            info, org_unit_id, since, until, period, category_id, channel, response_limit_hours
        )

    @strawberry.field(
        description="The child units of a unit, ranked by satisfaction, then on-time rate, "
        "among those with at least `minRated` rated cases (for displays at least "
        f"{SMALL_CELL}, and only units whose rates are shown)."
    )
    async def unit_rankings(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        since: datetime | None = None,
        until: datetime | None = None,
        period: CalendarPeriodInput | None = None,
        min_rated: int = r.DEFAULT_MIN_RATED,
    ) -> list[UnitRanking]:
        return await rankings_of(info, org_unit_id, since, until, period, min_rated)

    @strawberry.field(
        description="楼栋说事室: a building's petitions in a period: its residents see every case "
        "as the board shows it, staff the cases they may see."
    )
    async def feedback_report(
        self, info: Info, building_id: strawberry.ID, since: datetime, until: datetime
    ) -> FeedbackReport:
        context = info.context
        ident = expect_id(building_id, "Building", "buildingId")
        building = await context.loaders.get(mo.Building, ident)
        if building is None:
            raise DomainError(Common.NOT_FOUND, "building not found", "buildingId")
        view = feedback_view(context.actor, building.path)
        if view is None:
            raise forbidden()
        # The board shows a building's residents every case of their building, without what
        # could point at anyone; everyone else reads the cases their row scope admits.
        loaders = Loaders(context.session, lambda _: []) if view is FeedbackView.BOARD else None
        x = await r.feedback_report(
            loaders or context.loaders, building_id=ident, since=since, until=until
        )
        return FeedbackReport(
            building_id=ident,
            building_name=x.building_name,
            since=x.since,
            until=x.until,
            received=x.received,
            resolved=x.resolved,
            pending=x.pending,
            items=[FeedbackItem.of(view, i) for i in x.items],
        )
