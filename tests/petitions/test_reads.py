"""Batched reads the GraphQL layer builds on: pages per building, subtree and owner, the
timeline, ratings, duplicates and wish walls, each one SQL statement for many parents."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from models.petitions import Level, PetitionStatus
from models.wishes import WishAction, WishStatus
from resolvers import petitions as rp
from resolvers import wishes as rw
from resolvers.loaders import Loaders
from resolvers.pagination import PageArgs
from seeds.demo import DemoCity
from tests.petitions.helpers import Action, Actors, Driver, pid, submit


async def test_pages_and_lists(session: AsyncSession, demo: DemoCity, actors: Actors) -> None:
    driver = Driver(session, demo)
    mine = [await submit(session, demo, title=f"第{i}件") for i in range(3)]
    parked = await submit(session, demo, code="PARKING")
    accepted = await driver.do(mine[0], Action.ACCEPT)
    duplicate = await driver.do(mine[1], Action.MARK_DUPLICATE, duplicate_of_id=pid(mine[2]))
    loaders = Loaders(session, scope=lambda _: [])
    args = PageArgs(first=10)
    everything = rp.PetitionFilter()
    in_building, under_community, grid_queue = await asyncio.gather(
        loaders.page(rp.PETITIONS_OF_BUILDING, pid(demo.building), args, everything),
        loaders.page(rp.PETITIONS_UNDER, pid(demo.renheyuan), args, everything),
        loaders.page(rp.OWNED_PETITIONS, parked.owner_org_unit_id or 0, args, everything),
    )
    ids = {pid(p) for p in [*mine, parked]}
    assert ids <= {pid(p) for p in in_building.rows}
    assert ids <= {pid(p) for p in under_community.rows}
    assert [pid(p) for p in grid_queue.rows] == [pid(parked)]
    assert parked.owner_level == Level.GRID
    accepted_only = await loaders.page(
        rp.PETITIONS_OF_BUILDING,
        pid(demo.building),
        args,
        rp.PetitionFilter(statuses=(PetitionStatus.ACCEPTED,)),
    )
    assert [pid(p) for p in accepted_only.rows] == [pid(accepted)]
    timeline, duplicates, ratings = await asyncio.gather(
        loaders.children(rp.TIMELINE, pid(accepted)),
        loaders.children(rp.DUPLICATES, pid(mine[2])),
        loaders.children(rp.RATINGS, pid(accepted)),
    )
    assert [e.action for e in timeline] == [Action.SUBMIT, Action.ACCEPT]
    assert [pid(p) for p in duplicates] == [pid(duplicate)]
    assert ratings == []

    wish = await rw.post_wish(
        session,
        resident_id=actors.resident,
        title="想要一台电风扇",
        description="家里的电风扇坏了",
        building_id=pid(demo.building),
    )
    hidden = await loaders.page(rw.WALL_OF_BUILDING, pid(demo.building), args, rw.WishFilter())
    assert pid(wish) not in {pid(w) for w in hidden.rows}, "POSTED is not on the wall yet"
    await rw.act_on_wish(session, pid(wish), WishAction.PUBLISH, 1, actors.admin)
    loaders = Loaders(session, scope=lambda _: [])
    wall, community = await asyncio.gather(
        loaders.page(rw.WALL_OF_BUILDING, pid(demo.building), args, rw.WishFilter()),
        loaders.page(rw.WISHES_UNDER, pid(demo.renheyuan), args, rw.WishFilter()),
    )
    assert pid(wish) in {pid(w) for w in wall.rows}
    assert pid(wish) in {pid(w) for w in community.rows}
    assert {w.status for w in wall.rows} <= set(rw.ON_THE_WALL)
    assert [e.action for e in await loaders.children(rw.WISH_TIMELINE, pid(wish))] == [
        WishAction.POST,
        WishAction.PUBLISH,
    ]
    assert WishStatus.POSTED not in rw.ON_THE_WALL
