"""Metrics of petitions (诉求) per subtree and period, rankings of the units under a node, and
the feedback report of a building (楼栋说事室).

Every figure is computed in SQL from the petition rows, their timeline and their ratings, each
table limited to the rows the caller may count (`loaders.count_scope`), in one statement per
call. The definitions, used alike for the totals, the breakdowns and the rankings:

Cohorts
    *Submitted cohort*: petitions placed in the subtree (`petition.path <@ unit.path`) and
    submitted in ``[since, until)``. Counts by status, response, ratings, durations,
    escalations and closures are about this cohort.
    *Due cohort* (on-time rates only): petitions placed in the subtree whose case deadline
    (`case_due_at`) falls in ``[since, until)``, whenever they were submitted, and whose
    on-time fact is judged at `as_of` (`case_on_time` below is not null): not REJECTED nor
    DUPLICATE (they leave the handling process), and resolved, or past the case deadline, or
    late for good from an earlier round. Every deadline is so judged once, in the period in
    which it falls.

Deadlines (see `resolvers.petitions`)
    case deadline        `case_due_at` = receipt + the priority's due time (2 h, 24 h, 7 d,
                         15 d as set by city admins). Escalation does not move it; reopening
                         (an UNSATISFIED rating) sets reopen time + due time, and when the
                         round before was not resolved by its own case deadline the case
                         stays late for good (`late_earlier`).
    level deadline       `petition_stage.due_at` = the time the level received the case
                         (submission, escalation to it, reopening) + the due time.

Rates (each `float | None`: None when the denominator is 0)
    response rate        responded_in_time / assigned. *assigned*: petitions of the submitted
                         cohort with an assignment (`assigned_at`, the case's first one) whose
                         first contact (`first_contact_at`, the case's first ACKNOWLEDGE,
                         whichever level made it) happened, or whose `response_limit` has run
                         out by `as_of`; *responded_in_time*: first contact at most
                         `response_limit` after the first assignment.
    on-time rate         on_time / due, per case. *on_time*: petitions of the due cohort not
                         late for good and resolved (`resolved_at`: RESOLVED, or CLOSED /
                         CLOSED_UNRATED after a resolution) at or before `case_due_at`. A
                         petition declared NOT_RESOLVABLE has no resolution timestamp: once
                         due it counts as not on time. Escalating never makes a late case on
                         time.
    per-level on-time    level_on_time(L) / level_due(L), for each level L. *level_due(L)*:
    rate                 petitions of the due cohort with a judged turn at L (ended, or
                         past its level deadline at `as_of`); *level_on_time(L)*: those whose
                         every judged turn at L ended (resolved, declared not resolvable,
                         rejected, merged or escalated) at or before its level deadline. A
                         level that escalates a case after its own deadline, by hand or by
                         the scheduler, is late; the level receiving it is judged against its
                         own new deadline.
    resolution rate      rated_resolved / rated, and
    satisfaction rate    rated_satisfied / rated. *rated*: petitions of the submitted cohort
                         with at least one rating; a petition counts with its latest rating
                         (highest round: an UNSATISFIED rating reopens it, the next
                         resolution is rated again). *rated_resolved*: latest rating SATISFIED
                         or BASICALLY_SATISFIED; *rated_satisfied*: latest rating SATISFIED.
    escalation rate      escalated / submitted: petitions of the submitted cohort with at
                         least one ESCALATE entry in their timeline (by hand or by the
                         scheduler). Per level: petitions escalated at least once *from* the
                         level / petitions owned at that level at some time (their current
                         owner level, and every level they were escalated from).
    building closure     closed_at_building / closed. *closed*: petitions of the submitted
    share                cohort in status CLOSED or CLOSED_UNRATED (not REJECTED nor
                         DUPLICATE); *closed_at_building*: those whose final owner level is
                         BUILDING.

Durations (median and 90th percentile, `percentile_cont` over epoch seconds, None when no
petition has the timestamp): time to first contact = `first_contact_at - submitted_at`;
time to resolution = `resolved_at - submitted_at` (petitions of the submitted cohort that
have the timestamp; a reopened petition has none until it is resolved again).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import col

from models.base import Ltree, utcnow
from models.org import Building, OrgKind, OrgUnit
from models.petitions import (
    FINAL_STATUSES,
    LEVELS,
    Channel,
    Level,
    Petition,
    PetitionAction,
    PetitionCategory,
    PetitionEvent,
    PetitionRating,
    PetitionStage,
    PetitionStatus,
    RatingValue,
)
from resolvers.errors import Common, DomainError, not_found
from resolvers.loaders import Loaders
from resolvers.people import CHINA
from resolvers.petitions import case_on_time_sql, stage_on_time_sql

_S = PetitionStatus
#: Statuses counted as closed for the building closure share.
CLOSED: Final = (_S.CLOSED, _S.CLOSED_UNRATED)
#: Latest ratings counted as resolved for the resolution rate.
RESOLVED_RATINGS: Final = (RatingValue.SATISFIED, RatingValue.BASICALLY_SATISFIED)
DEFAULT_RESPONSE_LIMIT: Final = timedelta(hours=24)
DEFAULT_MIN_RATED: Final = 10


# --- results -------------------------------------------------------------------------------


def ratio(numerator: int, denominator: int) -> float | None:
    """`numerator / denominator`, or None when nothing was counted."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class LevelOnTime:
    """Of the due cohort's petitions with a judged turn at `level`: those whose every such
    turn ended (closed or passed on) within the level's own deadline."""

    level: Level
    due: int
    on_time: int
    rate: float | None


@dataclass(frozen=True)
class PetitionRates:
    """Counts and rates of one cohort (all petitions of a subtree, or one category, channel
    or child unit of it). See the module docstring for the definitions."""

    submitted: int
    assigned: int
    responded_in_time: int
    response_rate: float | None
    due: int
    on_time: int
    on_time_rate: float | None
    rated: int
    rated_resolved: int
    rated_satisfied: int
    resolution_rate: float | None
    satisfaction_rate: float | None
    escalated: int
    escalation_rate: float | None
    closed: int
    closed_at_building: int
    building_closure_share: float | None
    on_time_by_level: tuple[LevelOnTime, ...]


@dataclass(frozen=True)
class StatusCount:
    status: PetitionStatus
    count: int


@dataclass(frozen=True)
class DurationSummary:
    """How long something took: `count` petitions had it; median and 90th percentile."""

    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class LevelEscalation:
    """`escalated` of the `handled` petitions owned at `level` at some time went up from it."""

    level: Level
    handled: int
    escalated: int
    rate: float | None


@dataclass(frozen=True)
class CategoryBreakdown:
    category_id: int
    code: str
    name: str
    rates: PetitionRates


@dataclass(frozen=True)
class ChannelBreakdown:
    channel: Channel
    rates: PetitionRates


@dataclass(frozen=True)
class PetitionMetrics:
    """The metrics of a subtree and period.

    `by_status` lists every status (zeros included) in declaration order. `by_category`
    (most submitted first) and `by_channel` (declaration order) list the groups with at
    least one petition in either cohort. `as_of` is the instant running clocks were judged
    at (response limit not yet run out, due time not yet reached).
    """

    org_unit_id: int
    since: datetime
    until: datetime
    category_id: int | None
    channel: Channel | None
    response_limit: timedelta
    as_of: datetime
    totals: PetitionRates
    by_status: tuple[StatusCount, ...]
    time_to_first_contact: DurationSummary
    time_to_resolution: DurationSummary
    escalation_by_level: tuple[LevelEscalation, ...]
    by_category: tuple[CategoryBreakdown, ...]
    by_channel: tuple[ChannelBreakdown, ...]


@dataclass(frozen=True)
class UnitRanking:
    """A child unit with its rates; `rank` is None when it has fewer than `min_rated` rated
    petitions (too few to rank: small numbers are never ranked)."""

    org_unit_id: int
    code: str
    name: str
    kind: OrgKind
    rank: int | None
    rates: PetitionRates


@dataclass(frozen=True)
class FeedbackItem:
    """One petition as the building's feedback wall shows it: nobody's name, phone or id,
    anonymous or not; dates in China time."""

    petition_id: int
    category_name: str
    title: str
    status: PetitionStatus
    submitted_on: date
    resolved_on: date | None
    resolution_note: str | None
    rating: RatingValue | None
    #: met its case deadline (as the on-time rate judges it); None while undecided
    on_time: bool | None


@dataclass(frozen=True)
class FeedbackReport:
    """楼栋说事室: the petitions of a building submitted in ``[since, until)``.

    `received` counts them; `resolved` those with a resolution timestamp (RESOLVED, or
    closed after a resolution); `pending` those not in a final status (a RESOLVED petition
    awaiting its rating is both resolved and pending). `items` are in submission order.
    """

    building_id: int
    building_name: str
    since: datetime
    until: datetime
    received: int
    resolved: int
    pending: int
    items: tuple[FeedbackItem, ...]


# --- calendar periods --------------------------------------------------------------------


class PeriodUnit(enum.StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"  # Monday to Sunday
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class CalendarPeriod:
    """A fixed calendar bucket in China time: a day, a week, a month, a quarter or a year."""

    unit: PeriodUnit
    start: date

    @classmethod
    def containing(cls, unit: PeriodUnit, day: date) -> CalendarPeriod:
        match unit:
            case PeriodUnit.DAY:
                return cls(unit, day)
            case PeriodUnit.WEEK:
                return cls(unit, day - timedelta(days=day.weekday()))
            case PeriodUnit.MONTH:
                return cls(unit, day.replace(day=1))
            case PeriodUnit.QUARTER:
                return cls(unit, date(day.year, 3 * ((day.month - 1) // 3) + 1, 1))
            case PeriodUnit.YEAR:
                return cls(unit, date(day.year, 1, 1))
        raise ValueError(unit)

    @property
    def end(self) -> date:
        """The first day after the period."""
        match self.unit:
            case PeriodUnit.DAY:
                return self.start + timedelta(days=1)
            case PeriodUnit.WEEK:
                return self.start + timedelta(days=7)
            case PeriodUnit.MONTH:
                return _month_start(self.start.year, self.start.month + 1)
            case PeriodUnit.QUARTER:
                return _month_start(self.start.year, self.start.month + 3)
            case PeriodUnit.YEAR:
                return date(self.start.year + 1, 1, 1)
        raise ValueError(self.unit)

    def bounds(self) -> tuple[datetime, datetime]:
        """``[since, until)`` as instants (midnight in China)."""
        return (
            datetime.combine(self.start, time(), CHINA),
            datetime.combine(self.end, time(), CHINA),
        )

    def children(self) -> tuple[CalendarPeriod, ...]:
        """The next finer nested periods: quarters of a year, months of a quarter, days of a
        month (none for a day or a week)."""
        finer = {
            PeriodUnit.YEAR: PeriodUnit.QUARTER,
            PeriodUnit.QUARTER: PeriodUnit.MONTH,
            PeriodUnit.MONTH: PeriodUnit.DAY,
        }.get(self.unit)
        found: list[CalendarPeriod] = []
        if finer is None:
            return ()
        day = self.start
        while day < self.end:
            child = CalendarPeriod.containing(finer, day)
            found.append(child)
            day = child.end
        return tuple(found)


# --- shared SQL ------------------------------------------------------------------------------


def _check_period(since: datetime, until: datetime) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise DomainError(Common.VALIDATION, "give the period with a time zone", "since")
    if since >= until:
        raise DomainError(Common.VALIDATION, "`since` must be before `until`", "until")


def _text_array(expr: Any) -> Any:
    return sa.type_coerce(expr, postgresql.ARRAY(sa.Text))


def _epoch(expr: Any) -> Any:
    return sa.cast(sa.extract("epoch", expr), sa.Float)


def _facts(
    loaders: Loaders,
    *,
    since: datetime,
    until: datetime,
    as_of: datetime,
    response_limit: timedelta,
) -> tuple[Any, list[Any], list[Any]]:
    """Per-petition facts (labelled columns over `petition`), the condition admitting a
    petition to either cohort, and the subqueries to join after `petition` for them (`_with_facts`).

    Facts read from other tables come from LATERAL subqueries, computed once per petition
    however often the counts refer to them."""
    p = Petition
    submitted_at, case_due_at = col(p.submitted_at), col(p.case_due_at)
    assigned_at, first_contact_at = col(p.assigned_at), col(p.first_contact_at)
    resolved_at = col(p.resolved_at)
    in_period = sa.and_(submitted_at >= since, submitted_at < until)
    due_in_period = sa.and_(case_due_at >= since, case_due_at < until)
    assigned = sa.and_(
        in_period,
        assigned_at.is_not(None),
        sa.or_(first_contact_at.is_not(None), assigned_at + response_limit <= as_of),
    )
    on_time = case_on_time_sql(p, sa.literal(as_of, sa.DateTime(timezone=True)))
    due = sa.and_(due_in_period, on_time.is_not(None))
    latest_rating = (
        sa.select(col(PetitionRating.rating))
        .where(col(PetitionRating.petition_id) == col(p.id), *loaders.count_scope(PetitionRating))
        .order_by(col(PetitionRating.round).desc())
        .limit(1)
        .scalar_subquery()
    )
    escalated_from = (
        sa.select(
            _text_array(sa.func.array_agg(sa.distinct(col(PetitionEvent.from_level)))).label(
                "levels"
            )
        )
        .where(
            col(PetitionEvent.petition_id) == col(p.id),
            col(PetitionEvent.action) == PetitionAction.ESCALATE,
            col(PetitionEvent.from_level).is_not(None),
            *loaders.count_scope(PetitionEvent),
        )
        .lateral("escalated_from")
    )
    judged = _judged_levels(loaders, as_of)
    facts = [
        in_period.label("in_period"),
        assigned.label("assigned"),
        sa.and_(in_period, first_contact_at <= assigned_at + response_limit).label("responded"),
        due.label("due"),
        sa.and_(due, on_time.is_(True)).label("on_time"),
        latest_rating.label("rating"),
        escalated_from.c.levels.label("escalated_from"),
        sa.func.coalesce(judged.c.levels, sa.text("'{}'")).label("judged_levels"),
        sa.case((in_period, _epoch(first_contact_at - submitted_at))).label("first_contact_s"),
        sa.case((in_period, _epoch(resolved_at - submitted_at))).label("resolution_s"),
        col(p.status).label("status"),
        col(p.owner_level).label("owner_level"),
    ]
    return sa.or_(in_period, due_in_period), facts, [escalated_from, judged]


def _with_facts(joined: Any, laterals: list[Any]) -> Any:
    """`joined` (which holds `petition`) with the facts' LATERAL subqueries after it."""
    for lateral in laterals:
        joined = joined.outerjoin(lateral, sa.true())
    return joined


def _judged_levels(loaders: Loaders, as_of: datetime) -> Any:
    """The levels whose turns with the petition are judged at `as_of`, each as 'LEVEL' when
    every such turn of the level ended within its own deadline, 'LEVEL!' when one did not."""
    s = PetitionStage
    on_time = stage_on_time_sql(s, sa.literal(as_of, sa.DateTime(timezone=True)))
    mark = col(s.level) + sa.case((on_time.is_(False), "!"), else_="")
    return (
        sa.select(_text_array(sa.func.array_agg(sa.distinct(mark))).label("levels"))
        .where(
            col(s.petition_id) == col(Petition.id),
            on_time.is_not(None),
            *loaders.count_scope(PetitionStage),
        )
        .lateral("judged_levels")
    )


def _count(condition: Any, name: str) -> Any:
    return sa.func.count().filter(condition).label(name)


def _level_columns(base: Any) -> list[Any]:
    """Per level, of the due cohort: petitions with a judged turn at the level, and those
    whose every judged turn there ended within the level's own deadline."""
    c = base.c
    found = []
    for level in LEVELS:
        on_time = sa.literal(level.value, sa.Text) == sa.any_(c.judged_levels)
        late = sa.literal(level.value + "!", sa.Text) == sa.any_(c.judged_levels)
        found += [
            _count(sa.and_(c.due, sa.or_(on_time, late)), f"level_due_{level.value}"),
            _count(sa.and_(c.due, on_time, sa.not_(late)), f"level_on_time_{level.value}"),
        ]
    return found


def _rate_columns(base: Any) -> list[Any]:
    c = base.c
    return [
        _count(c.in_period, "submitted"),
        _count(c.assigned, "assigned"),
        _count(sa.and_(c.assigned, c.responded), "responded_in_time"),
        _count(c.due, "due"),
        _count(c.on_time, "on_time"),
        _count(sa.and_(c.in_period, c.rating.is_not(None)), "rated"),
        _count(sa.and_(c.in_period, c.rating.in_(RESOLVED_RATINGS)), "rated_resolved"),
        _count(sa.and_(c.in_period, c.rating == RatingValue.SATISFIED), "rated_satisfied"),
        _count(sa.and_(c.in_period, c.escalated_from.is_not(None)), "escalated"),
        _count(sa.and_(c.in_period, c.status.in_(CLOSED)), "closed"),
        _count(
            sa.and_(c.in_period, c.status.in_(CLOSED), c.owner_level == Level.BUILDING),
            "closed_at_building",
        ),
        *_level_columns(base),
    ]


def _breakdown_columns(base: Any) -> list[Any]:
    """Counts by status, by level (handled, escalated) and of petitions with each duration."""
    c = base.c
    in_period = c.in_period
    found = [
        _count(sa.and_(in_period, c.status == status), f"status_{status.value}")
        for status in PetitionStatus
    ]
    for level in LEVELS:
        went_up = sa.literal(level.value, sa.Text) == sa.any_(c.escalated_from)
        found += [
            _count(
                sa.and_(in_period, sa.or_(c.owner_level == level, went_up)),
                f"handled_{level.value}",
            ),
            _count(sa.and_(in_period, went_up), f"escalated_{level.value}"),
        ]
    return [
        *found,
        sa.func.count(c.first_contact_s).label("first_contact_count"),
        sa.func.count(c.resolution_s).label("resolution_count"),
    ]


#: Every count of a petition cohort, by the label the statements give it.
RATE_COUNTS: Final = (
    "submitted",
    "assigned",
    "responded_in_time",
    "due",
    "on_time",
    "rated",
    "rated_resolved",
    "rated_satisfied",
    "escalated",
    "closed",
    "closed_at_building",
    *(f"level_{kind}_{level.value}" for level in LEVELS for kind in ("due", "on_time")),
)
BREAKDOWN_COUNTS: Final = (
    *(f"status_{s.value}" for s in PetitionStatus),
    *(f"{kind}_{level.value}" for level in LEVELS for kind in ("handled", "escalated")),
    "first_contact_count",
    "resolution_count",
)
#: Counts of the due cohort (placed in time by their case deadline); the others by submission.
DUE_COUNTS: Final = (
    "due",
    "on_time",
    *(f"level_{kind}_{level.value}" for level in LEVELS for kind in ("due", "on_time")),
)
#: How the counts of one cohort add up: a total, and the counts it is the exact sum of, or
#: (one part) a subset whose complement is the rest.
COUNT_LINES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("submitted", tuple(f"status_{s.value}" for s in PetitionStatus)),
    ("closed", (f"status_{_S.CLOSED.value}", f"status_{_S.CLOSED_UNRATED.value}")),
    ("closed", ("closed_at_building",)),
    ("submitted", ("assigned",)),
    ("assigned", ("responded_in_time",)),
    ("due", ("on_time",)),
    ("submitted", ("rated",)),
    ("rated", ("rated_resolved",)),
    ("rated_resolved", ("rated_satisfied",)),
    ("submitted", ("escalated",)),
    ("submitted", ("first_contact_count",)),
    ("submitted", ("resolution_count",)),
    *((f"handled_{lv.value}", (f"escalated_{lv.value}",)) for lv in LEVELS),
    *((f"level_due_{lv.value}", (f"level_on_time_{lv.value}",)) for lv in LEVELS),
    *(("due", (f"level_due_{lv.value}",)) for lv in LEVELS),
)


def _rates(row: Mapping[str, Any]) -> PetitionRates:
    def n(name: str) -> int:
        return int(row[name] or 0)

    return PetitionRates(
        submitted=n("submitted"),
        assigned=n("assigned"),
        responded_in_time=n("responded_in_time"),
        response_rate=ratio(n("responded_in_time"), n("assigned")),
        due=n("due"),
        on_time=n("on_time"),
        on_time_rate=ratio(n("on_time"), n("due")),
        rated=n("rated"),
        rated_resolved=n("rated_resolved"),
        rated_satisfied=n("rated_satisfied"),
        resolution_rate=ratio(n("rated_resolved"), n("rated")),
        satisfaction_rate=ratio(n("rated_satisfied"), n("rated")),
        escalated=n("escalated"),
        escalation_rate=ratio(n("escalated"), n("submitted")),
        closed=n("closed"),
        closed_at_building=n("closed_at_building"),
        building_closure_share=ratio(n("closed_at_building"), n("closed")),
        on_time_by_level=tuple(
            LevelOnTime(
                level=level,
                due=n(f"level_due_{level.value}"),
                on_time=n(f"level_on_time_{level.value}"),
                rate=ratio(n(f"level_on_time_{level.value}"), n(f"level_due_{level.value}")),
            )
            for level in LEVELS
        ),
    )


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=round(float(value), 6))


# --- petition metrics ------------------------------------------------------------------------

_BOTH_GROUPED: Final = 3  # grouping(category_id, channel) of the grand total row
_BY_CATEGORY: Final = 1  # ... of a (category_id) row: channel not grouped
_BY_CHANNEL: Final = 2  # ... of a (channel) row: category not grouped


def petition_metrics_statement(
    loaders: Loaders,
    *,
    org_unit_id: int,
    since: datetime,
    until: datetime,
    as_of: datetime,
    category_id: int | None = None,
    channel: Channel | None = None,
    response_limit: timedelta = DEFAULT_RESPONSE_LIMIT,
) -> sa.Select[Any]:
    """One statement: the grand total, one row per category and one per channel
    (GROUPING SETS), each with the unit's visibility (`unit_found`)."""
    unit = (
        sa.select(col(OrgUnit.path))
        .where(col(OrgUnit.id) == org_unit_id, *loaders.count_scope(OrgUnit))
        .cte("metrics_unit")
    )
    admitted, facts, laterals = _facts(
        loaders, since=since, until=until, as_of=as_of, response_limit=response_limit
    )
    conditions = [
        col(Petition.path).op("<@")(sa.select(unit.c.path).scalar_subquery()),
        admitted,
        *loaders.count_scope(Petition),
    ]
    if category_id is not None:
        conditions.append(col(Petition.category_id) == category_id)
    if channel is not None:
        conditions.append(col(Petition.channel) == channel)
    base = (
        sa.select(col(Petition.category_id), col(Petition.channel), *facts)
        .select_from(_with_facts(sa.inspect(Petition).local_table, laterals))
        .where(*conditions)
        .cte("metrics_base")
    )
    c = base.c

    def percentile(fraction: float, seconds: Any, name: str) -> Any:
        return sa.func.percentile_cont(fraction).within_group(seconds).label(name)

    durations = [
        percentile(0.5, c.first_contact_s, "first_contact_median"),
        percentile(0.9, c.first_contact_s, "first_contact_p90"),
        percentile(0.5, c.resolution_s, "resolution_median"),
        percentile(0.9, c.resolution_s, "resolution_p90"),
    ]
    groups = (
        sa.select(
            sa.func.grouping(c.category_id, c.channel).label("grouped"),
            c.category_id,
            c.channel,
            *_rate_columns(base),
            *_breakdown_columns(base),
            *durations,
        )
        .group_by(
            sa.func.grouping_sets(sa.tuple_(), sa.tuple_(c.category_id), sa.tuple_(c.channel))
        )
        .subquery("metrics_groups")
    )
    found = sa.select(sa.func.count()).select_from(unit).scalar_subquery()
    category = (
        sa.select(col(PetitionCategory.id), col(PetitionCategory.code), col(PetitionCategory.name))
        .where(*loaders.count_scope(PetitionCategory))
        .subquery("metrics_category")
    )
    return (
        sa.select(
            groups,
            category.c.code.label("category_code"),
            category.c.name.label("category_name"),
            found.label("unit_found"),
        )
        .select_from(groups.outerjoin(category, category.c.id == groups.c.category_id))
        .order_by(groups.c.grouped.desc(), groups.c.submitted.desc(), groups.c.category_id)
    )


async def petition_metrics(
    loaders: Loaders,
    *,
    org_unit_id: int,
    since: datetime,
    until: datetime,
    category_id: int | None = None,
    channel: Channel | None = None,
    response_limit: timedelta = DEFAULT_RESPONSE_LIMIT,
    now: datetime | None = None,
) -> PetitionMetrics:
    """The metrics of the petitions placed under an org unit, for the period
    ``[since, until)``, optionally of one category and/or channel (see the module docstring).

    One SQL statement. NOT_FOUND when the unit does not exist or the caller may not count
    under it; VALIDATION for an empty or naive period or a non-positive response limit.
    `now` (default: the current time) is when running clocks are judged.
    """
    _check_period(since, until)
    if response_limit <= timedelta(0):
        raise DomainError(
            Common.VALIDATION, "the response limit must be positive", "response_limit"
        )
    as_of = now or utcnow()
    stmt = petition_metrics_statement(
        loaders,
        org_unit_id=org_unit_id,
        since=since,
        until=until,
        as_of=as_of,
        category_id=category_id,
        channel=channel,
        response_limit=response_limit,
    )
    rows = [row._mapping for row in await loaders.fetch(stmt)]
    total = next((r for r in rows if r["grouped"] == _BOTH_GROUPED), None)
    if total is None or not total["unit_found"]:
        raise not_found("org unit", "org_unit_id")
    by_channel = sorted(
        (
            ChannelBreakdown(channel=Channel(r["channel"]), rates=_rates(r))
            for r in rows
            if r["grouped"] == _BY_CHANNEL
        ),
        key=lambda b: list(Channel).index(b.channel),
    )
    return PetitionMetrics(
        org_unit_id=org_unit_id,
        since=since,
        until=until,
        category_id=category_id,
        channel=channel,
        response_limit=response_limit,
        as_of=as_of,
        totals=_rates(total),
        by_status=tuple(
            StatusCount(status=s, count=int(total[f"status_{s.value}"])) for s in PetitionStatus
        ),
        time_to_first_contact=DurationSummary(
            count=int(total["first_contact_count"]),
            median=_seconds(total["first_contact_median"]),
            p90=_seconds(total["first_contact_p90"]),
        ),
        time_to_resolution=DurationSummary(
            count=int(total["resolution_count"]),
            median=_seconds(total["resolution_median"]),
            p90=_seconds(total["resolution_p90"]),
        ),
        escalation_by_level=tuple(
            LevelEscalation(
                level=level,
                handled=int(total[f"handled_{level.value}"]),
                escalated=int(total[f"escalated_{level.value}"]),
                rate=ratio(
                    int(total[f"escalated_{level.value}"]), int(total[f"handled_{level.value}"])
                ),
            )
            for level in LEVELS
        ),
        by_category=tuple(
            CategoryBreakdown(
                category_id=int(r["category_id"]),
                code=str(r["category_code"]),
                name=str(r["category_name"]),
                rates=_rates(r),
            )
            for r in rows
            if r["grouped"] == _BY_CATEGORY
        ),
        by_channel=tuple(by_channel),
    )


# --- the table a display's counts are judged in ------------------------------------------------


def display_table_statement(
    loaders: Loaders,
    *,
    root_path: str,
    parent_paths: list[str],
    year: CalendarPeriod,
    as_of: datetime,
    response_limit: timedelta = DEFAULT_RESPONSE_LIMIT,
) -> sa.Select[Any]:
    """One statement: every count of the petitions under `root_path` in `year`, by where
    they lie (`unit_key`: their place's ancestor just below the deepest of `parent_paths`
    holding them, NULL when none does) and by month in China. The submitted cohort is placed
    in time by submission (`by_due` 0), the due cohort by due time (`by_due` 1); each row
    counts only its own cohort correctly."""
    since, until = year.bounds()
    admitted, facts, laterals = _facts(
        loaders, since=since, until=until, as_of=as_of, response_limit=response_limit
    )
    path = col(Petition.path)
    whens = [
        (
            path.op("<@")(sa.cast(sa.literal(parent), Ltree())),
            sa.func.subpath(path, 0, sa.func.least(sa.func.nlevel(path), parent.count(".") + 2)),
        )
        for parent in sorted(parent_paths, key=lambda p: p.count("."), reverse=True)
    ]
    key = sa.cast(sa.case(*whens, else_=sa.null()), sa.Text) if whens else sa.null()

    def month(column: Any) -> Any:
        local = sa.func.timezone(CHINA.key, column)
        return sa.cast(sa.func.date_trunc("month", local), sa.Date)

    base = (
        sa.select(
            key.label("unit_key"),
            month(col(Petition.submitted_at)).label("sub_month"),
            month(col(Petition.case_due_at)).label("due_month"),
            *facts,
        )
        .select_from(_with_facts(sa.inspect(Petition).local_table, laterals))
        .where(
            path.op("<@")(sa.cast(sa.literal(root_path), Ltree())),
            admitted,
            *loaders.count_scope(Petition),
        )
        .cte("display_base")
    )
    c = base.c
    return sa.select(
        sa.func.grouping(c.sub_month).label("by_due"),
        c.unit_key,
        c.sub_month,
        c.due_month,
        *_rate_columns(base),
        *_breakdown_columns(base),
    ).group_by(
        sa.func.grouping_sets(
            sa.tuple_(c.unit_key, c.sub_month), sa.tuple_(c.unit_key, c.due_month)
        )
    )


# --- rankings --------------------------------------------------------------------------------


def unit_rankings_statement(
    loaders: Loaders,
    *,
    parent_org_unit_id: int,
    since: datetime,
    until: datetime,
    as_of: datetime,
    response_limit: timedelta = DEFAULT_RESPONSE_LIMIT,
) -> sa.Select[Any]:
    """One statement: a row per active child unit the caller may count (none, with a NULL
    child, when the parent has none; no row at all when the parent is not found)."""
    parent = (
        sa.select(col(OrgUnit.id).label("id"))
        .where(col(OrgUnit.id) == parent_org_unit_id, *loaders.count_scope(OrgUnit))
        .subquery("ranking_parent")
    )
    admitted, facts, laterals = _facts(
        loaders, since=since, until=until, as_of=as_of, response_limit=response_limit
    )
    child_on = sa.and_(
        col(OrgUnit.parent_id) == parent.c.id,
        col(OrgUnit.retired_at).is_(None),
        *loaders.count_scope(OrgUnit),
    )
    petition_on = sa.and_(
        col(Petition.path).op("<@")(col(OrgUnit.path)), admitted, *loaders.count_scope(Petition)
    )
    base = (
        sa.select(
            col(OrgUnit.id).label("unit_id"),
            col(OrgUnit.code).label("code"),
            col(OrgUnit.name).label("name"),
            col(OrgUnit.kind).label("kind"),
            *facts,
        )
        .select_from(
            _with_facts(
                parent.outerjoin(OrgUnit, child_on).outerjoin(Petition, petition_on), laterals
            )
        )
        .cte("ranking_base")
    )
    c = base.c
    return (
        sa.select(c.unit_id, c.code, c.name, c.kind, *_rate_columns(base))
        .group_by(c.unit_id, c.code, c.name, c.kind)
        .order_by(c.code)
    )


def rank(keys: Mapping[int, tuple[float | None, float | None]]) -> dict[int, int]:
    """Ranks by (satisfaction rate, on-time rate), higher is better and a missing rate counts
    below any: 1 is best; equal rates share a rank, the next skipping as many (1, 1, 3)."""
    scores = {
        ident: (satisfaction or 0.0, on_time if on_time is not None else -1.0)
        for ident, (satisfaction, on_time) in keys.items()
    }
    return {
        ident: 1 + sum(other > score for other in scores.values())
        for ident, score in scores.items()
    }


async def unit_rankings(
    loaders: Loaders,
    *,
    parent_org_unit_id: int,
    since: datetime,
    until: datetime,
    min_rated: int = DEFAULT_MIN_RATED,
    now: datetime | None = None,
) -> list[UnitRanking]:
    """The active child units of an org unit, ranked by satisfaction rate, then on-time rate.

    Only units with at least `min_rated` rated petitions are ranked (1 is best; equal rates
    share a rank, the next rank skipping as many: 1, 1, 3); the others follow, by code, with
    rank None. Ranked units come first, by rank then code. One SQL statement; NOT_FOUND
    when the parent does not exist or the caller may not count under it.
    """
    _check_period(since, until)
    if min_rated < 1:
        raise DomainError(Common.VALIDATION, "`min_rated` is at least 1", "min_rated")
    stmt = unit_rankings_statement(
        loaders,
        parent_org_unit_id=parent_org_unit_id,
        since=since,
        until=until,
        as_of=now or utcnow(),
    )
    rows = [row._mapping for row in await loaders.fetch(stmt)]
    if not rows:
        raise not_found("org unit", "parent_org_unit_id")
    units = [
        (int(r["unit_id"]), str(r["code"]), str(r["name"]), OrgKind(r["kind"]), _rates(r))
        for r in rows
        if r["unit_id"] is not None
    ]
    ranks = rank(
        {
            u[0]: (u[4].satisfaction_rate, u[4].on_time_rate)
            for u in units
            if u[4].rated >= min_rated
        }
    )
    ranked = [
        UnitRanking(
            org_unit_id=ident, code=code, name=name, kind=kind, rank=ranks[ident], rates=rates
        )
        for ident, code, name, kind, rates in units
        if ident in ranks
    ]
    ranked.sort(key=lambda u: (u.rank or 0, u.code))
    unranked = [
        UnitRanking(org_unit_id=ident, code=code, name=name, kind=kind, rank=None, rates=rates)
        for ident, code, name, kind, rates in units
        if rates.rated < min_rated
    ]
    return ranked + unranked


# --- the building's feedback report (楼栋说事室) ------------------------------------------------


def feedback_report_statement(
    loaders: Loaders, *, building_id: int, since: datetime, until: datetime, as_of: datetime
) -> sa.Select[Any]:
    """One statement: a row per petition (one row with NULLs when there is none; no row when
    the building is not found). Selects no person column at all."""
    latest_rating = (
        sa.select(col(PetitionRating.rating))
        .where(
            col(PetitionRating.petition_id) == col(Petition.id),
            *loaders.count_scope(PetitionRating),
        )
        .order_by(col(PetitionRating.round).desc())
        .limit(1)
        .scalar_subquery()
    )
    petition_on = sa.and_(
        col(Petition.building_id) == col(Building.id),
        col(Petition.submitted_at) >= since,
        col(Petition.submitted_at) < until,
        *loaders.count_scope(Petition),
    )
    category_on = sa.and_(
        col(PetitionCategory.id) == col(Petition.category_id),
        *loaders.count_scope(PetitionCategory),
    )
    return (
        sa.select(
            col(Building.name).label("building_name"),
            col(Petition.id).label("petition_id"),
            col(PetitionCategory.name).label("category_name"),
            col(Petition.title).label("title"),
            col(Petition.status).label("status"),
            col(Petition.submitted_at).label("submitted_at"),
            col(Petition.resolved_at).label("resolved_at"),
            col(Petition.resolution_note).label("resolution_note"),
            latest_rating.label("rating"),
            case_on_time_sql(Petition, sa.literal(as_of, sa.DateTime(timezone=True))).label(
                "on_time"
            ),
        )
        .select_from(Building)
        .outerjoin(Petition, petition_on)
        .outerjoin(PetitionCategory, category_on)
        .where(col(Building.id) == building_id, *loaders.count_scope(Building))
        .order_by(col(Petition.submitted_at), col(Petition.id))
    )


def _china_date(value: datetime) -> date:
    return value.astimezone(CHINA).date()


async def feedback_report(
    loaders: Loaders,
    *,
    building_id: int,
    since: datetime,
    until: datetime,
    now: datetime | None = None,
) -> FeedbackReport:
    """楼栋说事室: what the building raised in ``[since, until)`` and what came of it.

    No personal data: no reporter, recorder, assignee or actor, no rating comment;
    anonymous petitions look like any other. (Titles and resolution notes are free text
    written by residents and staff, shown as written.) One SQL statement; NOT_FOUND when the
    building does not exist or the caller may not count in it.
    """
    _check_period(since, until)
    stmt = feedback_report_statement(
        loaders, building_id=building_id, since=since, until=until, as_of=now or utcnow()
    )
    rows = [row._mapping for row in await loaders.fetch(stmt)]
    if not rows:
        raise not_found("building", "building_id")
    items = tuple(
        FeedbackItem(
            petition_id=int(r["petition_id"]),
            category_name=str(r["category_name"]),
            title=str(r["title"]),
            status=PetitionStatus(r["status"]),
            submitted_on=_china_date(r["submitted_at"]),
            resolved_on=_china_date(r["resolved_at"]) if r["resolved_at"] else None,
            resolution_note=r["resolution_note"],
            rating=RatingValue(r["rating"]) if r["rating"] is not None else None,
            on_time=r["on_time"],
        )
        for r in rows
        if r["petition_id"] is not None
    )
    return FeedbackReport(
        building_id=building_id,
        building_name=str(rows[0]["building_name"]),
        since=since,
        until=until,
        received=len(items),
        resolved=sum(1 for r in rows if r["petition_id"] is not None and r["resolved_at"]),
        pending=sum(1 for i in items if i.status not in FINAL_STATUSES),
        items=items,
    )
