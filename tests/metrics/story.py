"""A small constructed history with known timestamps, for checking every metric by hand.

All times are UTC in March 2021 (long before anything else in the test database), and the
period is March: ``[2021-03-01, 2021-04-01)``; clocks are judged at `AS_OF` (April 10th).

Grid 1 (the demo building's grid), all in the demo building, owned at BUILDING unless said:

    id  category          channel     submitted  what happened (day hh:mm)
    A   CORRIDOR_CLUTTER  ONLINE      02 00:00   assign 02 01:00, ack 02 02:00, resolve 03 00:00,
                                                 rated SATISFIED -> CLOSED
    B   CORRIDOR_CLUTTER  DOOR_VISIT  05 00:00   assign 05 01:00, ack 06 03:00 (26 h: too late),
                                                 resolve 08 00:00, rated UNSATISFIED 08 12:00
                                                 -> REOPENED (resolution cleared, due 15 12:00)
    C   CORRIDOR_CLUTTER  ONLINE      10 00:00   anonymous; assign 10 00:30, ack 10 01:00,
                                                 resolve 20 00:00 (after due 17 00:00), rated
                                                 UNSATISFIED 20 06:00 -> REOPENED (due 27 06:00),
                                                 start 21, resolve 22 00:00, rated SATISFIED
                                                 -> CLOSED
    D   NOISE             ONLINE      12 00:00   escalated BUILDING->GRID 13 00:00,
                                                 GRID->COMMUNITY 13 01:00 (due 20 01:00),
                                                 assign 13 02:00, ack 14 00:00, resolve 15 00:00,
                                                 rated BASICALLY_SATISFIED -> CLOSED (COMMUNITY)
    E   SANITATION        ONLINE      19 20:00   rejected 19 21:00 (China time: March 20th)
    F   CORRIDOR_CLUTTER  ONLINE      25 00:00   assign 25 01:00, never acknowledged
                                                 (due 04-01 00:00: outside the period)
    G   CORRIDOR_CLUTTER  ONLINE      Feb 25     accepted only; due 03-04 00:00 (in the period),
                                                 never resolved: in the on-time cohort only

Grid 2 (another grid of 仁和苑): H and I, both resolved on time; H rated SATISFIED, I rated
UNSATISFIED (-> REOPENED, due again 7 days after the rating, never resolved).
灵犀社区 (another community): J, rated SATISFIED: never counted under 仁和苑.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.org import Building, OrgUnit
from models.people import Person
from models.petitions import Channel, Petition, RatingValue
from resolvers import petitions as rp
from seeds.demo import DemoCity
from tests.petitions.helpers import Action, Actors, pid, submit

SINCE = datetime(2021, 3, 1, tzinfo=UTC)
UNTIL = datetime(2021, 4, 1, tzinfo=UTC)
AS_OF = datetime(2021, 4, 10, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2021, month, day, hour, minute, tzinfo=UTC)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


@dataclass(frozen=True)
class Places:
    grid1: OrgUnit  # the demo building's grid
    grid2: OrgUnit  # another grid of 仁和苑 with a building
    building2: Building
    lingxi_building: Building


@dataclass
class Story:
    places: Places
    actors: Actors
    petitions: dict[str, Petition]
    people: list[Person]  # everyone who reported, recorded or handled something

    def id(self, name: str) -> int:
        return pid(self.petitions[name])


async def places(session: AsyncSession, demo: DemoCity) -> Places:
    grid1 = await session.get(OrgUnit, demo.building.grid_id)
    assert grid1 is not None
    building2 = await session.scalar(
        sa.select(Building)
        .join(OrgUnit, col(OrgUnit.id) == col(Building.grid_id))
        .where(col(OrgUnit.parent_id) == pid(demo.renheyuan), col(OrgUnit.id) != pid(grid1))
        .order_by(col(Building.id))
        .limit(1)
    )
    lingxi_building = await session.scalar(
        sa.select(Building)
        .where(col(Building.path).op("<@")(demo.lingxi.path))
        .order_by(col(Building.id))
        .limit(1)
    )
    assert building2 is not None
    assert lingxi_building is not None
    grid2 = await session.get(OrgUnit, building2.grid_id)
    assert grid2 is not None
    return Places(grid1, grid2, building2, lingxi_building)


class Handler:
    """Moves petitions along the lifecycle at given instants, as the community admin."""

    def __init__(self, session: AsyncSession, actors: Actors) -> None:
        self.session = session
        self.actors = actors

    async def do(self, petition: Petition, action: Action, when: datetime, **args: Any) -> Petition:
        if action in rp.REQUIRED and "note" in rp.REQUIRED[action] and "note" not in args:
            args["note"] = f"{action} 处理说明"
        return await rp.transition(
            self.session,
            pid(petition),
            action,
            petition.version,
            self.actors.admin,
            now=when,
            **args,
        )

    async def handle(
        self,
        petition: Petition,
        *,
        assign: datetime,
        ack: datetime | None = None,
        resolve: datetime | None = None,
        accept: bool = True,
    ) -> Petition:
        if accept:
            petition = await self.do(petition, Action.ACCEPT, assign - timedelta(minutes=10))
        petition = await self.do(
            petition, Action.ASSIGN, assign, assignee_id=self.actors.grid_worker
        )
        if ack is None:
            return petition
        petition = await self.do(petition, Action.ACKNOWLEDGE, ack)
        if resolve is None:
            return petition
        petition = await self.do(petition, Action.START, ack + timedelta(minutes=1))
        return await self.do(petition, Action.RESOLVE, resolve, note="已清理完毕")

    async def rate(
        self, petition: Petition, rater: int, rating: RatingValue, when: datetime
    ) -> Petition:
        outcome = await rp.rate_petition(
            self.session,
            petition_id=pid(petition),
            rater_person_id=rater,
            rating=rating,
            comment="评价留言",
            now=when,
        )
        return outcome.petition


async def build_story(session: AsyncSession, demo: DemoCity) -> Story:
    actors = Actors.of(demo)
    where = await places(session, demo)
    h = Handler(session, actors)
    sat, basic, unsat = (
        RatingValue.SATISFIED,
        RatingValue.BASICALLY_SATISFIED,
        RatingValue.UNSATISFIED,
    )
    made: dict[str, Petition] = {}

    a = await submit(session, demo, now=at(2), title="A 楼道堆满纸箱")
    a = await h.handle(a, assign=at(2, 1), ack=at(2, 2), resolve=at(3))
    made["A"] = await h.rate(a, actors.resident, sat, at(3, 1))

    b = await submit(
        session,
        demo,
        now=at(5),
        title="B 楼道停放电动车",
        channel=Channel.DOOR_VISIT,
        reporter_id=actors.renter,
        recorded_by_id=actors.grid_worker,
    )
    b = await h.handle(b, assign=at(5, 1), ack=at(6, 3), resolve=at(8))
    made["B"] = await h.rate(b, actors.renter, unsat, at(8, 12))

    c = await submit(session, demo, now=at(10), title="C 楼道杂物", anonymous=True)
    c = await h.handle(c, assign=at(10, 0, 30), ack=at(10, 1), resolve=at(20))
    c = await h.rate(c, actors.resident, unsat, at(20, 6))
    c = await h.do(c, Action.START, at(21))
    c = await h.do(c, Action.RESOLVE, at(22), note="再次清理并张贴告示")
    made["C"] = await h.rate(c, actors.resident, sat, at(22, 1))

    d = await submit(session, demo, code="NOISE", now=at(12), title="D 夜间装修噪音")
    d = await h.do(d, Action.ESCALATE, at(13))
    d = await h.do(d, Action.ESCALATE, at(13, 1))
    d = await h.handle(d, assign=at(13, 2), ack=at(14), resolve=at(15), accept=False)
    made["D"] = await h.rate(d, actors.resident, basic, at(16))

    e = await submit(session, demo, code="SANITATION", now=at(19, 20), title="E 垃圾清运")
    made["E"] = await h.do(e, Action.REJECT, at(19, 21), note="重复反映")

    f = await submit(session, demo, now=at(25), title="F 楼道灯")
    made["F"] = await h.handle(f, assign=at(25, 1))

    g = await submit(session, demo, now=at(25, month=2), title="G 二月的诉求")
    made["G"] = await h.do(g, Action.ACCEPT, at(26, month=2))

    for name, rating in (("H", sat), ("I", unsat)):
        p = await submit(
            session, demo, now=at(3), title=f"{name} 二网格", building_id=pid(where.building2)
        )
        p = await h.handle(p, assign=at(3, 1), ack=at(3, 2), resolve=at(4))
        made[name] = await h.rate(p, actors.resident, rating, at(4, 1))

    j = await submit(
        session, demo, now=at(3), title="J 灵犀", building_id=pid(where.lingxi_building)
    )
    j = await h.handle(j, assign=at(3, 1), ack=at(3, 2), resolve=at(4))
    made["J"] = await h.rate(j, actors.resident, sat, at(4, 1))

    people = []
    for ident in (
        actors.resident,
        actors.renter,
        actors.grid_worker,
        actors.admin,
        actors.head,
    ):
        person = await session.get(Person, ident)
        assert person is not None
        people.append(person)
    return Story(places=where, actors=actors, petitions=made, people=people)
