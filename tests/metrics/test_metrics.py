"""Petition metrics of a subtree and period, checked against values computed by hand from the
history in `story.py` (read its docstring beside these numbers)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from models.people import Role
from models.petitions import Channel, Level, PetitionStatus
from permissions.actor import Actor, ActorKind, Grant
from resolvers import metrics as rm
from resolvers import petitions as rp
from resolvers.loaders import Loaders
from seeds.demo import DemoCity
from tests.conftest import StatementCounter
from tests.metrics.conftest import loaders_of
from tests.metrics.story import AS_OF, SINCE, UNTIL, Story, at, hours
from tests.petitions.helpers import pid, refuses

#: D passed through three levels, each in its own time.
D_LEVELS: Final = {Level.BUILDING: (1, 1), Level.GRID: (1, 1), Level.COMMUNITY: (1, 1)}
#: Grid 1's due cohort per level (see `test_every_metric_by_hand`).
STORY_LEVELS: Final = {**D_LEVELS, Level.BUILDING: (2, 5)}


def close_to(actual: timedelta | None, expected: timedelta) -> bool:
    """Percentiles come back as float seconds: equal to the millisecond."""
    return actual is not None and abs(actual - expected) < timedelta(milliseconds=1)


async def grid1_metrics(loaders: Loaders, story: Story, **kw: object) -> rm.PetitionMetrics:
    return await rm.petition_metrics(
        loaders,
        org_unit_id=pid(story.places.grid1),
        since=SINCE,
        until=UNTIL,
        now=AS_OF,
        **kw,  # type: ignore[arg-type]
    )


def rates(
    submitted: int,
    response: tuple[int, int],
    on_time: tuple[int, int],
    rated: tuple[int, int, int],
    escalated: int,
    closed: tuple[int, int],
    levels: Mapping[Level, tuple[int, int]] | None = None,
) -> rm.PetitionRates:
    """Expected rates from (numerator, denominator) pairs: rated is (rated, resolved,
    satisfied), closed is (closed, at building), levels (on time, due) per level (0 / 0 for
    the levels not given)."""
    per_level = levels or {}
    return rm.PetitionRates(
        submitted=submitted,
        assigned=response[1],
        responded_in_time=response[0],
        response_rate=rm.ratio(*response),
        due=on_time[1],
        on_time=on_time[0],
        on_time_rate=rm.ratio(*on_time),
        rated=rated[0],
        rated_resolved=rated[1],
        rated_satisfied=rated[2],
        resolution_rate=rm.ratio(rated[1], rated[0]),
        satisfaction_rate=rm.ratio(rated[2], rated[0]),
        escalated=escalated,
        escalation_rate=rm.ratio(escalated, submitted),
        closed=closed[0],
        closed_at_building=closed[1],
        building_closure_share=rm.ratio(closed[1], closed[0]),
        on_time_by_level=tuple(
            rm.LevelOnTime(
                level=level,
                due=per_level.get(level, (0, 0))[1],
                on_time=per_level.get(level, (0, 0))[0],
                rate=rm.ratio(*per_level.get(level, (0, 0))),
            )
            for level in Level
        ),
    )


async def test_every_metric_by_hand(loaders: Loaders, story: Story) -> None:
    m = await grid1_metrics(loaders, story)
    # Submitted in March: A B C D E F (G was submitted in February).
    # Response within 24 h of the first assignment: A (1 h), C (30 min), D (22 h) of the
    # assigned A, B (26 h), C, D, F (never, and its 24 h ran out before AS_OF) -> 3 / 5.
    # Case deadlines in March: A B C D G (E rejected; F due April 1st 00:00, outside
    # [since, until)). On time: A (03 <= 09), D (15 <= 19: escalating moved only the level
    # deadlines). Late: B (reopened, its new case deadline 15 12:00 passed unresolved), C
    # (round 0 resolved 20 after its deadline 17: resolving round 1 by 27 06:00 does not
    # undo that), G (never resolved) -> 2 / 5.
    # Per level, of those five: BUILDING had a judged turn with all of them and was in time
    # with A and D only (B's second turn ran out, C's first and G's were late); GRID and
    # COMMUNITY had D, passed on and resolved within their own deadlines.
    # Latest ratings: A SATISFIED, B UNSATISFIED, C SATISFIED (round 1; UNSATISFIED in round
    # 0), D BASICALLY_SATISFIED -> resolved 3 / 4, satisfied 2 / 4.
    # Escalated: D -> 1 / 6. Closed: A, C (BUILDING), D (COMMUNITY) -> 2 / 3 at building.
    assert m.totals == rates(6, (3, 5), (2, 5), (4, 3, 2), 1, (3, 2), STORY_LEVELS)
    assert m.totals.response_rate == 0.6
    assert m.totals.on_time_rate == 0.4
    assert m.totals.resolution_rate == 0.75
    assert m.totals.satisfaction_rate == 0.5
    assert m.totals.escalation_rate == 1 / 6
    assert m.totals.building_closure_share == 2 / 3

    counts = {c.status: c.count for c in m.by_status}
    assert [c.status for c in m.by_status] == list(PetitionStatus), "all statuses, in order"
    assert {s: n for s, n in counts.items() if n} == {
        PetitionStatus.CLOSED: 3,  # A C D
        PetitionStatus.REOPENED: 1,  # B
        PetitionStatus.REJECTED: 1,  # E
        PetitionStatus.ASSIGNED: 1,  # F
    }

    # First contact after submission: C 1 h, A 2 h, B 27 h, D 48 h (E, F none).
    # Median: halfway between 2 h and 27 h = 14.5 h. p90: position 0.9 * 3 = 2.7, so
    # 27 h + 0.7 * (48 h - 27 h) = 41.7 h.
    first = m.time_to_first_contact
    assert first.count == 4
    assert close_to(first.median, hours(14.5))
    assert close_to(first.p90, hours(41.7))
    # Resolution after submission: A 24 h, D 72 h, C 288 h (12 days; B's was cleared).
    # Median 72 h. p90: position 0.9 * 2 = 1.8, so 72 h + 0.8 * (288 h - 72 h) = 244.8 h.
    resolution = m.time_to_resolution
    assert resolution.count == 3
    assert close_to(resolution.median, hours(72))
    assert close_to(resolution.p90, hours(244.8))

    # Owned at BUILDING at some time: all six; escalated from it: D. D alone was at GRID
    # (escalated from it) and is at COMMUNITY (not escalated from it).
    assert [(e.level, e.handled, e.escalated, e.rate) for e in m.escalation_by_level] == [
        (Level.BUILDING, 6, 1, 1 / 6),
        (Level.GRID, 1, 1, 1.0),
        (Level.COMMUNITY, 1, 0, 0.0),
        (Level.STREET, 0, 0, None),
        (Level.DISTRICT, 0, 0, None),
    ]
    assert (m.org_unit_id, m.since, m.until, m.as_of) == (
        pid(story.places.grid1),
        SINCE,
        UNTIL,
        AS_OF,
    )
    assert m.response_limit == timedelta(hours=24)


async def test_breakdowns_by_category_and_channel(loaders: Loaders, story: Story) -> None:
    m = await grid1_metrics(loaders, story)
    by_code = {b.code: b for b in m.by_category}
    assert list(by_code) == ["CORRIDOR_CLUTTER", "SANITATION", "NOISE"], "most submitted first"
    assert by_code["NOISE"].name == "噪音扰民"
    # CORRIDOR_CLUTTER: A B C F submitted (G only due). Response A C of A B C F; on time A
    # of A B C G (at BUILDING too); ratings A S, B U, C S; closed A C, both at building.
    assert by_code["CORRIDOR_CLUTTER"].rates == rates(
        4, (2, 4), (1, 4), (3, 2, 2), 0, (2, 2), {Level.BUILDING: (1, 4)}
    )
    # NOISE: D alone, escalated, closed at COMMUNITY, BASICALLY_SATISFIED.
    assert by_code["NOISE"].rates == rates(1, (1, 1), (1, 1), (1, 1, 0), 1, (1, 0), D_LEVELS)
    # SANITATION: E, rejected: nothing to rate, respond to or judge on time.
    sanitation = by_code["SANITATION"].rates
    assert sanitation == rates(1, (0, 0), (0, 0), (0, 0, 0), 0, (0, 0))
    assert sanitation.response_rate is None
    assert sanitation.on_time_rate is None
    assert sanitation.satisfaction_rate is None
    assert sanitation.escalation_rate == 0.0

    by_channel = {b.channel: b.rates for b in m.by_channel}
    assert list(by_channel) == [Channel.ONLINE, Channel.DOOR_VISIT], "declaration order"
    # ONLINE: A C D E F (+G due; on time A D); DOOR_VISIT: B.
    online_levels = {**D_LEVELS, Level.BUILDING: (2, 4)}
    assert by_channel[Channel.ONLINE] == rates(
        5, (3, 4), (2, 4), (3, 3, 2), 1, (3, 2), online_levels
    )
    assert by_channel[Channel.DOOR_VISIT] == rates(
        1, (0, 1), (0, 1), (1, 0, 0), 0, (0, 0), {Level.BUILDING: (0, 1)}
    )


async def test_category_and_channel_filters(
    session: AsyncSession, loaders: Loaders, story: Story
) -> None:
    noise = await rp.category_by_code(session, "NOISE")
    m = await grid1_metrics(loaders, story, category_id=pid(noise))
    assert m.category_id == pid(noise)
    assert m.totals == rates(1, (1, 1), (1, 1), (1, 1, 0), 1, (1, 0), D_LEVELS)
    assert [b.code for b in m.by_category] == ["NOISE"]
    assert [b.channel for b in m.by_channel] == [Channel.ONLINE]
    assert {c.status: c.count for c in m.by_status if c.count} == {PetitionStatus.CLOSED: 1}
    assert close_to(m.time_to_first_contact.median, hours(48))
    assert [(e.level, e.handled, e.escalated) for e in m.escalation_by_level][:3] == [
        (Level.BUILDING, 1, 1),
        (Level.GRID, 1, 1),
        (Level.COMMUNITY, 1, 0),
    ]

    door = await grid1_metrics(loaders, story, channel=Channel.DOOR_VISIT)
    assert door.totals == rates(1, (0, 1), (0, 1), (1, 0, 0), 0, (0, 0), {Level.BUILDING: (0, 1)})
    assert {c.status: c.count for c in door.by_status if c.count} == {PetitionStatus.REOPENED: 1}
    assert close_to(door.time_to_first_contact.median, hours(27))
    assert close_to(door.time_to_first_contact.p90, hours(27))
    assert door.time_to_resolution == rm.DurationSummary(count=0, median=None, p90=None)

    both = await grid1_metrics(loaders, story, category_id=pid(noise), channel=Channel.DOOR_VISIT)
    assert both.totals.submitted == 0
    assert both.by_category == ()
    assert both.by_channel == ()


async def test_response_limit_and_running_clocks(loaders: Loaders, story: Story) -> None:
    # 30 h: B's 26 h counts too; F's 30 h ran out before AS_OF -> 4 / 5.
    m = await grid1_metrics(loaders, story, response_limit=hours(30))
    assert (m.totals.responded_in_time, m.totals.assigned) == (4, 5)
    # 1 h (inclusive): A exactly 1 h, C 30 min -> 2 / 5.
    m = await grid1_metrics(loaders, story, response_limit=hours(1))
    assert (m.totals.responded_in_time, m.totals.assigned) == (2, 5)
    # Judged on March 25th 12:00, F (assigned 01:00 that day) still has time: 3 / 4.
    m = await rm.petition_metrics(
        loaders, org_unit_id=pid(story.places.grid1), since=SINCE, until=UNTIL, now=at(25, 12)
    )
    assert (m.totals.responded_in_time, m.totals.assigned) == (3, 4)
    assert m.totals.response_rate == 0.75
    # Judged on March 15th 06:00, B (case deadline 15 12:00, unresolved) is not late yet: it
    # leaves the due cohort (A D on time, C late for good, G late) -> 2 / 4. Its building
    # turn is not judged yet either: BUILDING in time with A D of A C D G.
    m = await rm.petition_metrics(
        loaders, org_unit_id=pid(story.places.grid1), since=SINCE, until=UNTIL, now=at(15, 6)
    )
    assert (m.totals.on_time, m.totals.due) == (2, 4)
    building = m.totals.on_time_by_level[0]
    assert (building.level, building.on_time, building.due) == (Level.BUILDING, 2, 4)


async def test_period_bounds(loaders: Loaders, story: Story) -> None:
    # [March 5th, March 12th): B (05 00:00, included) and C (10th); D (12 00:00) is excluded.
    m = await rm.petition_metrics(
        loaders, org_unit_id=pid(story.places.grid1), since=at(5), until=at(12), now=AS_OF
    )
    assert m.totals.submitted == 2
    assert {c.status: c.count for c in m.by_status if c.count} == {
        PetitionStatus.REOPENED: 1,
        PetitionStatus.CLOSED: 1,
    }
    # Due in [5th, 12th): A (9th) only, resolved on time.
    assert (m.totals.on_time, m.totals.due) == (1, 1)


async def test_subtrees_count_only_what_is_under_them(
    loaders: Loaders, story: Story, demo: DemoCity
) -> None:
    async def submitted(unit_id: int) -> int:
        m = await rm.petition_metrics(
            loaders, org_unit_id=unit_id, since=SINCE, until=UNTIL, now=AS_OF
        )
        return m.totals.submitted

    assert await submitted(pid(story.places.grid1)) == 6  # A-F
    assert await submitted(pid(story.places.grid2)) == 2  # H I
    assert await submitted(pid(demo.renheyuan)) == 8  # both grids, not J
    assert await submitted(pid(demo.lingxi)) == 1  # J
    city = await rm.petition_metrics(
        loaders, org_unit_id=pid(demo.city), since=SINCE, until=UNTIL, now=AS_OF
    )
    assert city.totals.submitted == 9
    assert city.totals.rated == 7  # A B C D H I J


async def test_row_scope_of_the_caller(session: AsyncSession, story: Story, demo: DemoCity) -> None:
    grid1_path = story.places.grid1.path
    assert grid1_path is not None
    worker = Actor(
        kind=ActorKind.PERSON,
        person_id=None,  # grid scope alone: the story assigns every case to the grid worker
        grants=(Grant(Role.GRID_WORKER, grid1_path),),
    )
    scoped = loaders_of(session, worker)
    m = await rm.petition_metrics(
        scoped, org_unit_id=pid(demo.renheyuan), since=SINCE, until=UNTIL, now=AS_OF
    )
    assert m.totals.submitted == 6, "grid 2's petitions are not the grid worker's to count"
    assert m.totals.rated == 4
    await refuses(
        "NOT_FOUND",
        rm.petition_metrics(
            scoped, org_unit_id=pid(story.places.grid2), since=SINCE, until=UNTIL, now=AS_OF
        ),
        "org_unit_id",
    )
    await refuses(
        "NOT_FOUND",
        rm.petition_metrics(
            loaders_of(session, Actor.anonymous()),
            org_unit_id=pid(demo.renheyuan),
            since=SINCE,
            until=UNTIL,
        ),
    )


async def test_nothing_in_the_period(loaders: Loaders, demo: DemoCity) -> None:
    m = await rm.petition_metrics(
        loaders,
        org_unit_id=pid(demo.lingxi),
        since=datetime(2019, 1, 1, tzinfo=UTC),
        until=datetime(2019, 2, 1, tzinfo=UTC),
    )
    assert m.totals == rates(0, (0, 0), (0, 0), (0, 0, 0), 0, (0, 0))
    assert m.totals.response_rate is None
    assert all(c.count == 0 for c in m.by_status)
    assert len(m.by_status) == len(PetitionStatus)
    assert m.time_to_first_contact == rm.DurationSummary(count=0, median=None, p90=None)
    assert all(e.rate is None for e in m.escalation_by_level)
    assert (m.by_category, m.by_channel) == ((), ())


async def test_refusals(loaders: Loaders, demo: DemoCity) -> None:
    unit = pid(demo.renheyuan)
    await refuses(
        "NOT_FOUND",
        rm.petition_metrics(loaders, org_unit_id=10**12, since=SINCE, until=UNTIL),
        "org_unit_id",
    )
    await refuses(
        "VALIDATION",
        rm.petition_metrics(loaders, org_unit_id=unit, since=UNTIL, until=SINCE),
        "until",
    )
    await refuses(
        "VALIDATION",
        rm.petition_metrics(
            loaders, org_unit_id=unit, since=SINCE.replace(tzinfo=None), until=UNTIL
        ),
    )
    await refuses(
        "VALIDATION",
        rm.petition_metrics(
            loaders, org_unit_id=unit, since=SINCE, until=UNTIL, response_limit=timedelta(0)
        ),
        "response_limit",
    )


async def test_one_statement_per_call(
    session: AsyncSession, story: Story, demo: DemoCity, sql_statements: StatementCounter
) -> None:
    loaders = Loaders(session, scope=lambda _: [])
    sql_statements.reset()
    await rm.petition_metrics(loaders, org_unit_id=pid(demo.city), since=SINCE, until=UNTIL)
    assert sql_statements.count == 1
    sql_statements.reset()
    await rm.unit_rankings(
        loaders, parent_org_unit_id=pid(demo.renheyuan), since=SINCE, until=UNTIL
    )
    assert sql_statements.count == 1
    sql_statements.reset()
    await rm.feedback_report(loaders, building_id=pid(demo.building), since=SINCE, until=UNTIL)
    assert sql_statements.count == 1
