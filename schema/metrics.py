"""Petition metrics per subtree and period, unit rankings, and the building feedback report
(楼栋说事室). Counts cover the rows the caller may count; displays get small cells withheld."""

from __future__ import annotations

from datetime import datetime, timedelta

import strawberry

from models import org as mo
from models import petitions as m
from models.org import OrgKind
from permissions.actor import Actor
from permissions.aggregates import shown_count, shown_rate
from permissions.petitions import FEEDBACK_FIELDS, FeedbackView, feedback_view
from resolvers import metrics as r
from resolvers.errors import DomainError, ErrorCode
from resolvers.loaders import Loaders
from schema.common import forbidden, optional_id
from schema.context import Info
from schema.relay import expect_id, to_global_id


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
    on_time_rate: float | None = strawberry.field(description="Resolved by due time / due.")
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

    @classmethod
    def of(cls, actor: Actor, x: r.PetitionRates) -> PetitionRates:
        def n(value: int) -> int | None:
            return shown_count(actor, value)

        return cls(
            submitted=n(x.submitted),
            assigned=n(x.assigned),
            responded_in_time=n(x.responded_in_time),
            response_rate=shown_rate(actor, x.response_rate, x.assigned),
            due=n(x.due),
            on_time=n(x.on_time),
            on_time_rate=shown_rate(actor, x.on_time_rate, x.due),
            rated=n(x.rated),
            resolution_rate=shown_rate(actor, x.resolution_rate, x.rated),
            satisfaction_rate=shown_rate(actor, x.satisfaction_rate, x.rated),
            escalated=n(x.escalated),
            escalation_rate=shown_rate(actor, x.escalation_rate, x.submitted),
            closed=n(x.closed),
            closed_at_building=n(x.closed_at_building),
            building_closure_share=shown_rate(actor, x.building_closure_share, x.closed),
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


def _durations(actor: Actor, x: r.DurationSummary) -> DurationSummary:
    shown = shown_count(actor, x.count) is not None
    return DurationSummary(
        count=shown_count(actor, x.count),
        median_hours=_hours(x.median) if shown else None,
        p90_hours=_hours(x.p90) if shown else None,
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
        )


@strawberry.type(description="楼栋说事室: what a building asked for and what came of it.")
class FeedbackReport:
    building_name: str
    since: datetime
    until: datetime
    received: int
    resolved: int
    pending: int
    items: list[FeedbackItem]


def _metrics(actor: Actor, x: r.PetitionMetrics) -> PetitionMetrics:
    return PetitionMetrics(
        since=x.since,
        until=x.until,
        as_of=x.as_of,
        response_limit_hours=x.response_limit.total_seconds() / 3600,
        totals=PetitionRates.of(actor, x.totals),
        by_status=[
            StatusCount(status=s.status, count=shown_count(actor, s.count)) for s in x.by_status
        ],
        time_to_first_contact=_durations(actor, x.time_to_first_contact),
        time_to_resolution=_durations(actor, x.time_to_resolution),
        escalation_by_level=[
            LevelEscalation(
                level=e.level,
                handled=shown_count(actor, e.handled),
                escalated=shown_count(actor, e.escalated),
                rate=shown_rate(actor, e.rate, e.handled),
            )
            for e in x.escalation_by_level
        ],
        by_category=[
            CategoryRates(
                category_id=to_global_id("PetitionCategory", c.category_id),
                code=c.code,
                name=c.name,
                rates=PetitionRates.of(actor, c.rates),
            )
            for c in x.by_category
        ],
        by_channel=[
            ChannelRates(channel=c.channel, rates=PetitionRates.of(actor, c.rates))
            for c in x.by_channel
        ],
    )


@strawberry.type
class MetricsQuery:
    @strawberry.field(
        description="Petition metrics of a subtree for petitions submitted in a period."
    )
    async def petition_metrics(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        since: datetime,
        until: datetime,
        category_id: strawberry.ID | None = None,
        channel: m.Channel | None = None,
        response_limit_hours: float = 24,
    ) -> PetitionMetrics:
        found = await r.petition_metrics(
            info.context.loaders,
            org_unit_id=expect_id(org_unit_id, "OrgUnit", "orgUnitId"),
            since=since,
            until=until,
            category_id=optional_id(category_id, "PetitionCategory", "categoryId"),
            channel=channel,
            response_limit=timedelta(hours=response_limit_hours),
        )
        return _metrics(info.context.actor, found)

    @strawberry.field(description="The child units of a unit, ranked (min rated cases applies).")
    async def unit_rankings(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        since: datetime,
        until: datetime,
        min_rated: int = r.DEFAULT_MIN_RATED,
    ) -> list[UnitRanking]:
        rows = await r.unit_rankings(
            info.context.loaders,
            parent_org_unit_id=expect_id(org_unit_id, "OrgUnit", "orgUnitId"),
            since=since,
            until=until,
            min_rated=min_rated,
        )
        actor = info.context.actor
        return [
            UnitRanking(
                org_unit_id=to_global_id("OrgUnit", u.org_unit_id),
                code=u.code,
                name=u.name,
                kind=u.kind,
                rank=u.rank,
                rates=PetitionRates.of(actor, u.rates),
            )
            for u in rows
        ]

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
            raise DomainError(ErrorCode.NOT_FOUND, "building not found", "buildingId")
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
            building_name=x.building_name,
            since=x.since,
            until=x.until,
            received=x.received,
            resolved=x.resolved,
            pending=x.pending,
            items=[FeedbackItem.of(view, i) for i in x.items],
        )
