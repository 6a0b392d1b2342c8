"""Rankings of the child units of a node: satisfaction rate, then on-time rate; units with
fewer rated cases than `min_rated` are listed unranked."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.org import Building, OrgKind, OrgUnit
from models.people import Role
from models.petitions import RatingValue
from permissions.actor import Actor, ActorKind, Grant
from resolvers import metrics as rm
from resolvers.loaders import Loaders
from seeds.demo import DemoCity
from tests.metrics.conftest import loaders_of
from tests.metrics.story import AS_OF, SINCE, UNTIL, Handler, Story, at
from tests.petitions.helpers import pid, refuses, submit


async def rankings(
    loaders: Loaders, demo: DemoCity, min_rated: int = rm.DEFAULT_MIN_RATED
) -> list[rm.UnitRanking]:
    return await rm.unit_rankings(
        loaders,
        parent_org_unit_id=pid(demo.renheyuan),
        since=SINCE,
        until=UNTIL,
        min_rated=min_rated,
        now=AS_OF,
    )


async def grids_of_renheyuan(session: AsyncSession, demo: DemoCity) -> list[int]:
    rows = await session.scalars(
        sa.select(col(OrgUnit.id))
        .where(col(OrgUnit.parent_id) == pid(demo.renheyuan), col(OrgUnit.retired_at).is_(None))
        .order_by(col(OrgUnit.code))
    )
    return [int(i) for i in rows if i is not None]


async def test_ranked_by_satisfaction_then_on_time(
    session: AsyncSession, loaders: Loaders, story: Story, demo: DemoCity
) -> None:
    grid1, grid2 = pid(story.places.grid1), pid(story.places.grid2)
    found = await rankings(loaders, demo, min_rated=2)
    # Grid 1: satisfied 2 / 4 rated (A C of A B C D), on time per case 2 / 5 (see story.py:
    # C stays late after its reopened round was resolved in time).
    # Grid 2: satisfied 1 / 2 (H; I unsatisfied), on time 1 / 2 (I reopened, never again
    # resolved): equal satisfaction, so on time decides.
    assert [(u.org_unit_id, u.rank) for u in found[:2]] == [(grid2, 1), (grid1, 2)]
    first, second = found[0].rates, found[1].rates
    assert (first.rated, first.satisfaction_rate, first.on_time_rate) == (2, 0.5, 0.5)
    assert (second.rated, second.satisfaction_rate, second.on_time_rate) == (4, 0.5, 0.4)
    assert found[1].kind == OrgKind.GRID
    assert found[1].name == story.places.grid1.name
    others = found[2:]
    assert all(u.rank is None and u.rates.rated == 0 for u in others)
    assert {u.org_unit_id for u in found} == set(await grids_of_renheyuan(session, demo))
    assert [u.code for u in others] == sorted(u.code for u in others)


async def test_units_below_min_rated_are_not_ranked(
    loaders: Loaders, story: Story, demo: DemoCity
) -> None:
    grid1, grid2 = pid(story.places.grid1), pid(story.places.grid2)
    found = await rankings(loaders, demo, min_rated=3)
    assert (found[0].org_unit_id, found[0].rank) == (grid1, 1)
    assert [u.rank for u in found[1:]] == [None] * (len(found) - 1)
    small = next(u for u in found if u.org_unit_id == grid2)
    assert small.rank is None
    assert small.rates.rated == 2, "listed with its counts, but not ranked"

    nobody = await rankings(loaders, demo)  # the default: 10 rated cases
    assert [u.rank for u in nobody] == [None] * len(nobody)


async def test_equal_rates_share_a_rank(
    session: AsyncSession, loaders: Loaders, story: Story, demo: DemoCity
) -> None:
    # A third grid with grid 2's pattern: satisfied 1 / 2, on time 1 / 2 (grid 1: 0.5, 0.4).
    taken = {pid(story.places.grid1), pid(story.places.grid2)}
    building3 = await session.scalar(
        sa.select(Building)
        .join(OrgUnit, col(OrgUnit.id) == col(Building.grid_id))
        .where(col(OrgUnit.parent_id) == pid(demo.renheyuan), col(OrgUnit.id).not_in(taken))
        .order_by(col(Building.id))
        .limit(1)
    )
    assert building3 is not None
    h = Handler(session, story.actors)
    for rating in (RatingValue.SATISFIED, RatingValue.UNSATISFIED):
        p = await submit(session, demo, now=at(3), title="三网格", building_id=pid(building3))
        p = await h.handle(p, assign=at(3, 1), ack=at(3, 2), resolve=at(4))
        await h.rate(p, story.actors.resident, rating, at(4, 1))

    found = await rankings(loaders, demo, min_rated=2)
    code = {u.org_unit_id: u.code for u in found}
    tied = sorted([pid(story.places.grid2), building3.grid_id], key=lambda i: code[i])
    # 1, 1, 3: equal rates share a rank (ties listed by code), the next skips as many.
    assert [(u.org_unit_id, u.rank) for u in found[:3]] == [
        (tied[0], 1),
        (tied[1], 1),
        (pid(story.places.grid1), 3),
    ]
    assert [u.rank for u in found[3:]] == [None] * (len(found) - 3)


async def test_scope_and_refusals(
    session: AsyncSession, loaders: Loaders, story: Story, demo: DemoCity
) -> None:
    grid1_path = story.places.grid1.path
    assert grid1_path is not None
    worker = Actor(
        kind=ActorKind.PERSON,
        person_id=story.actors.grid_worker,
        grants=(Grant(Role.GRID_WORKER, grid1_path),),
    )
    seen = await rankings(loaders_of(session, worker), demo, min_rated=1)
    assert [(u.org_unit_id, u.rank) for u in seen] == [(pid(story.places.grid1), 1)]

    assert (
        await rm.unit_rankings(
            loaders, parent_org_unit_id=pid(story.places.grid1), since=SINCE, until=UNTIL
        )
        == []
    ), "a grid has no child units"
    await refuses(
        "NOT_FOUND",
        rm.unit_rankings(loaders, parent_org_unit_id=10**12, since=SINCE, until=UNTIL),
        "parent_org_unit_id",
    )
    await refuses(
        "NOT_FOUND",
        rm.unit_rankings(
            loaders_of(session, worker),
            parent_org_unit_id=pid(demo.lingxi),
            since=SINCE,
            until=UNTIL,
        ),
    )
    await refuses(
        "VALIDATION",
        rankings(loaders, demo, min_rated=0),
        "min_rated",
    )
