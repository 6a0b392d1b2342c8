"""Petitions and micro-wishes for the demo city, and the city-scale petition history.

`seed_demo_petitions(session, demo)` goes through the resolver functions (so every row and
timeline entry is one the application itself would write): petitions in every status,
across every channel and most categories, owned at every level; some anonymous, some
recorded by staff for a resident, some overdue and escalated by the scheduler, some rated
with points for the building head; micro-wishes in every status. Content comes from
`random.Random(2024)`; times are relative to `now` (default: the current time), so open
petitions are not all overdue the day the demo is seeded.

`seed_city_petitions(libpq_uri)` bulk-loads 100,000 petitions over two years (with their
timelines, ratings and points) by COPY into a database holding the city-scale data set.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.org import Building, Household
from models.people import Person, Position, Role
from models.petitions import (
    DEFAULT_DUE,
    LEVEL_DEPTH,
    Channel,
    Level,
    Petition,
    PetitionCategory,
    PetitionStatus,
    Priority,
    RatingValue,
)
from models.wishes import WishAction
from resolvers import petitions as rp
from resolvers import wishes as rw
from seeds.demo import DemoCity

SEED: Final = 2024
CITY_PETITIONS_SEED: Final = 5203002024

_S, _A = PetitionStatus, rp.Action

#: Sample texts per category code: (title, description).
TEXTS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "CORRIDOR_CLUTTER": (
        ("2单元楼道堆满纸箱", "2单元3楼到5楼楼道堆放纸箱和旧家具，影响通行，存在消防隐患。"),
        ("楼道停放电动车", "一楼楼道长期停放电动车并在楼道内充电，担心起火。"),
    ),
    "TANGLED_WIRING": (
        ("楼道电线乱拉乱接", "有住户从楼道私拉电线给电动车充电，电线裸露。"),
        ("弱电线缆缠绕下垂", "单元门口网线电话线缠在一起垂到一人高，小孩容易碰到。"),
    ),
    "UTILITIES_REPAIR": (
        ("楼道灯不亮", "3单元楼道感应灯坏了一个多星期，老人晚上上下楼不方便。"),
        ("二次供水水压低", "高层住户早晚用水高峰时水压很低，热水器无法启动。"),
        ("化粪池外溢", "小区化粪池外溢，气味很大，请尽快疏通。"),
    ),
    "NEIGHBOUR_DISPUTE": (
        ("楼上漏水协商不成", "楼上卫生间漏水导致我家天花板发霉，多次沟通未解决。"),
        ("公共区域占用纠纷", "邻居在楼道门口加装铁门占用公共区域，双方有矛盾。"),
    ),
    "SANITATION": (
        ("垃圾清运不及时", "小区东门垃圾桶连续两天未清运，气味很大。"),
        ("绿化带有积水蚊虫多", "楼下绿化带长期积水，夏天蚊虫很多。"),
    ),
    "NOISE": (
        ("夜间装修噪音", "楼下住户晚上十点后还在装修，影响休息。"),
        ("广场舞音响太大", "小区广场舞音响声音过大，持续到晚上九点半。"),
    ),
    "PARKING": (
        ("消防通道被占", "小区消防通道经常停满私家车。"),
        ("非机动车棚不够用", "电动车没有地方停，希望增加车棚和充电桩。"),
    ),
    "ELDER_CARE": (
        ("独居老人需要助餐", "5栋独居老人行动不便，希望能提供助餐服务。"),
        ("申请居家养老上门服务", "家中老人八十多岁，想了解上门体检和护理服务。"),
    ),
    "PROPERTY_MANAGEMENT": (
        ("物业费公示不清", "物业费收支没有公示，希望社区督促物业公开。"),
        ("电梯经常故障", "1单元电梯一个月坏了三次，物业维修不及时。"),
    ),
    "PUBLIC_SAFETY": (
        ("小区门禁损坏", "北门门禁坏了，外来人员随意进出。"),
        ("夜间路灯不足", "小区后门小路没有路灯，晚上不安全。"),
    ),
    "POLICY_QUESTION": (
        ("咨询医保缴费", "想咨询灵活就业人员医保缴费办法。"),
        ("咨询老旧小区改造政策", "我们小区能不能申请加装电梯，需要什么条件？"),
    ),
    "ILLEGAL_CONSTRUCTION": (("顶楼违章搭建", "顶楼住户在屋顶搭建彩钢房，影响防水。"),),
    "ESTATE_RENOVATION": (("外墙脱落", "楼栋外墙瓷砖脱落，存在高空坠物隐患。"),),
    "OTHER": (("建议增设休息座椅", "小区步道希望增加几张休息座椅，方便老人。"),),
}

WISHES: Final = (
    ("想要一副老花镜", "眼睛看不清报纸，想要一副老花镜。"),
    ("孩子想要一套课外书", "孩子上三年级，想要一套适合的课外读物。"),
    ("帮忙修理轮椅", "轮椅刹车坏了，希望有人帮忙修理。"),
    ("想学用智能手机", "想学会用手机视频通话和挂号。"),
    ("希望有人陪同就医", "下周要去医院复查，子女不在身边。"),
    ("想要一台电风扇", "夏天太热，家里的电风扇坏了。"),
    ("更换厨房水龙头", "厨房水龙头漏水，自己换不了。"),
    ("帮忙搬运旧家具", "家里有几件旧家具需要搬下楼。"),
)


def photo_key(rng: random.Random, stem: str = "petitions") -> str:
    return f"{stem}/2024/{rng.getrandbits(64):016x}.jpg"


# --- the demo --------------------------------------------------------------------------------


@dataclass
class _People:
    residents: dict[int, list[int]]  # building id -> adult resident ids
    heads: dict[int, int]  # building id -> head
    grid_workers: dict[int, int]  # grid id -> worker
    property_staff: dict[int, int]  # building id -> property staff
    buildings: list[Building]


async def _people(session: AsyncSession, demo: DemoCity) -> _People:
    buildings = list(
        (
            await session.execute(
                sa.select(Building)
                .where(col(Building.path).op("<@")(demo.renheyuan.path))
                .order_by(col(Building.id))
            )
        ).scalars()
    )
    others = list(
        (
            await session.execute(
                sa.select(Building)
                .where(
                    sa.or_(
                        col(Building.path).op("<@")(demo.lingxi.path),
                        col(Building.path).op("<@")(demo.wulibei.path),
                    )
                )
                .order_by(col(Building.id))
            )
        ).scalars()
    )
    buildings += others[::3]
    adults = await session.execute(
        sa.select(col(Person.id), col(Household.building_id))
        .join(Household, col(Household.id) == col(Person.household_id))
        .where(col(Person.birth_date) < datetime(2006, 1, 1, tzinfo=UTC).date())
        .order_by(col(Person.id))
    )
    residents: dict[int, list[int]] = defaultdict(list)
    for pid, bid in adults:
        if pid is not None:
            residents[bid].append(pid)
    positions = await session.execute(
        sa.select(
            col(Position.role),
            col(Position.person_id),
            col(Position.building_id),
            col(Position.org_unit_id),
        ).where(col(Position.ended_at).is_(None))
    )
    heads: dict[int, int] = {}
    workers: dict[int, int] = {}
    staff: dict[int, int] = {}
    for role, holder, at_building, at_unit in positions:
        if role == Role.BUILDING_HEAD and at_building is not None:
            heads[at_building] = holder
        elif role == Role.GRID_WORKER and at_unit is not None:
            workers.setdefault(at_unit, holder)
        elif role == Role.PROPERTY_STAFF and at_building is not None:
            staff.setdefault(at_building, holder)
    return _People(residents, heads, workers, staff, buildings)


class _DemoPetitions:
    def __init__(
        self, session: AsyncSession, demo: DemoCity, people: _People, now: datetime
    ) -> None:
        self.s = session
        self.demo = demo
        self.p = people
        self.now = now
        self.rng = random.Random(SEED)
        self.keys = itertools.count(1)
        self.categories: dict[str, PetitionCategory] = {}
        self.by_building: dict[int, list[Petition]] = defaultdict(list)
        self.channels = itertools.cycle(Channel)
        self.count = 0

    def _admin(self, role: Role) -> int:
        admin = self.demo.admins[role].id
        assert admin is not None
        return admin

    def _in_renheyuan(self, building: Building) -> bool:
        return (building.path or "").startswith((self.demo.renheyuan.path or "") + ".")

    def staff(self, building: Building, level: Level) -> tuple[int, int]:
        """(dispatcher, handler) at `level` for a petition in `building`."""
        bid = building.id
        assert bid is not None
        worker = self.p.grid_workers.get(building.grid_id) or self._admin(Role.CITY_ADMIN)
        home = self._in_renheyuan(building)
        cadre = self.demo.seconded_cadre.id
        assert cadre is not None
        match level:
            case Level.BUILDING:
                head = self.p.heads.get(bid, worker)
                return head, self.p.property_staff.get(bid, head)
            case Level.GRID:
                return worker, worker
            case Level.COMMUNITY:
                admin = self._admin(Role.COMMUNITY_ADMIN if home else Role.CITY_ADMIN)
                return admin, cadre if home else worker
            case Level.STREET:
                admin = self._admin(Role.STREET_ADMIN if home else Role.CITY_ADMIN)
                return admin, admin
            case _:
                admin = self._admin(Role.DISTRICT_ADMIN if home else Role.CITY_ADMIN)
                return admin, admin

    async def submit(
        self,
        code: str,
        building: Building,
        at: datetime,
        *,
        channel: Channel | None = None,
        anonymous: bool = False,
        unsigned: bool = False,
        priority: Priority | None = None,
        reporter: int | None = None,
    ) -> Petition:
        rng = self.rng
        bid = building.id
        assert bid is not None
        channel = channel or next(self.channels)
        residents = self.p.residents.get(bid) or [self.demo.resident_alone.id or 0]
        reporter = reporter or rng.choice(residents)
        head, _ = self.staff(building, Level.BUILDING)
        worker, _ = self.staff(building, Level.GRID)
        recorder = {
            Channel.DOOR_VISIT: worker,
            Channel.MEETING: head,
            Channel.HOTLINE: worker,
            Channel.SUGGESTION_BOX: head,
        }.get(channel)
        if recorder == reporter:
            recorder = self._admin(Role.COMMUNITY_ADMIN)
        title, description = rng.choice(TEXTS[code])
        self.count += 1
        petition = await rp.submit_petition(
            self.s,
            rp.PetitionDraft(
                channel=channel,
                category_id=self.categories[code].id or 0,
                title=title,
                description=description,
                building_id=bid,
                location_note=rng.choice((None, "1单元", "2单元", "小区东门", "地下车库")),
                reporter_id=None if unsigned else reporter,
                recorded_by_id=recorder,
                anonymous=anonymous or unsigned,
                priority=priority,
                photos=tuple(photo_key(rng) for _ in range(rng.choice((0, 0, 1, 2, 3)))),
            ),
            idempotency_key=f"demo-petition-{next(self.keys):05d}",
            now=at,
        )
        self.by_building[bid].append(petition)
        return petition

    async def step(
        self, petition: Petition, building: Building, action: rp.Action, at: datetime
    ) -> Petition:
        dispatcher, handler = self.staff(building, petition.owner_level)
        kwargs: dict[str, Any] = {}
        actor: int | None = dispatcher
        match action:
            case _A.REJECT:
                kwargs["note"] = "经核实不属于受理范围，已向居民说明"
            case _A.MARK_DUPLICATE:
                earlier = [p for p in self.by_building[building.id or 0] if p.id != petition.id]
                kwargs["duplicate_of_id"] = earlier[0].id if earlier else None
                kwargs["note"] = "与已受理诉求重复，合并办理"
            case _A.ASSIGN:
                kwargs["assignee_id"] = handler
            case _A.ACKNOWLEDGE:
                actor, kwargs["note"] = handler, "已电话联系居民，约定上门时间"
            case _A.START:
                actor = petition.assignee_id or handler
            case _A.RESOLVE:
                actor, kwargs["note"] = petition.assignee_id or handler, "已现场处理完毕，居民确认"
            case _A.DECLARE_NOT_RESOLVABLE:
                actor = petition.assignee_id or handler
                kwargs["note"] = "涉及产权纠纷，需通过司法途径解决，已告知居民"
            case _A.RETURN:
                actor = petition.assignee_id or handler
                kwargs["note"] = "超出职责范围，退回重新派单"
            case _A.ESCALATE:
                kwargs["note"] = "需要上级协调相关部门"
        return await rp.transition(
            self.s, petition.id or 0, action, petition.version, actor, now=at, **kwargs
        )

    async def run(
        self,
        code: str,
        route: Sequence[rp.Action | RatingValue],
        *,
        age: timedelta,
        gap: timedelta = timedelta(hours=3),
        building: Building | None = None,
        **submit: Any,
    ) -> Petition:
        """Submit `age` ago and walk `route` (actions, or ratings by the reporter)."""
        building = building or self.rng.choice(self.p.buildings)
        at = self.now - age
        petition = await self.submit(code, building, at, **submit)
        for item in route:
            at += gap * (0.5 + self.rng.random())
            if isinstance(item, RatingValue):
                outcome = await rp.rate_petition(
                    self.s,
                    petition_id=petition.id or 0,
                    rater_person_id=petition.reporter_id or 0,
                    rating=item,
                    comment=self.rng.choice((None, "处理及时，谢谢！", "态度很好", "还需改进")),
                    now=at,
                )
                petition = outcome.petition
            else:
                petition = await self.step(petition, building, item, at)
        return petition


_HANDLED = (_A.ACCEPT, _A.ASSIGN, _A.ACKNOWLEDGE, _A.START)
_RESOLVED = (*_HANDLED, _A.RESOLVE)
_SAT, _BASIC, _UNSAT = (
    RatingValue.SATISFIED,
    RatingValue.BASICALLY_SATISFIED,
    RatingValue.UNSATISFIED,
)
_DAY, _HOUR, _WEEK = timedelta(days=1), timedelta(hours=1), timedelta(days=7)


async def seed_demo_petitions(  # noqa: PLR0915  (one statement per demo case)
    session: AsyncSession, demo: DemoCity, *, now: datetime | None = None
) -> None:
    """Petitions in every status and micro-wishes in every status (flushed, not committed)."""
    now = now or utcnow()
    people = await _people(session, demo)
    seeder = _DemoPetitions(session, demo, people, now)
    for category in await rp.list_categories(session, include_inactive=True):
        seeder.categories[category.code] = category
    home, head = demo.building, demo.building_head.id
    run = seeder.run

    # the scheduler's work first: overdue petitions, and resolutions nobody rated
    await run("UTILITIES_REPAIR", (_A.ACCEPT,), age=30 * _HOUR, building=home)
    await run("TANGLED_WIRING", (_A.ACCEPT, _A.ASSIGN), age=5 * _HOUR)
    await run("SANITATION", (), age=9 * _DAY, channel=Channel.SUGGESTION_BOX, unsigned=True)
    await run("NOISE", _RESOLVED, age=20 * _DAY)
    await run("CORRIDOR_CLUTTER", (*_HANDLED, _A.DECLARE_NOT_RESOLVABLE), age=16 * _DAY)
    await rp.escalate_overdue(session, now)
    await rp.close_unrated(session, now, rp.RATING_DAYS)

    # closed loops, rated: points for the building head when satisfied at building level
    for code in ("CORRIDOR_CLUTTER", "UTILITIES_REPAIR", "SANITATION", "TANGLED_WIRING"):
        await run(code, (*_RESOLVED, _SAT), age=seeder.rng.randint(6, 40) * _DAY)
    await run("CORRIDOR_CLUTTER", (*_RESOLVED, _SAT), age=12 * _DAY, building=home)
    await run("UTILITIES_REPAIR", (*_RESOLVED, _SAT), age=3 * _DAY, building=home, anonymous=True)
    await run("NOISE", (*_RESOLVED, _BASIC), age=8 * _DAY)
    await run("PARKING", (*_RESOLVED, _SAT), age=15 * _DAY)  # grid level: no points
    await run("NEIGHBOUR_DISPUTE", (*_RESOLVED, _UNSAT, _A.START, _A.RESOLVE, _SAT), age=25 * _DAY)
    # resolved days after its 24 hours, reopened, then resolved in time: late for good
    await run(
        "UTILITIES_REPAIR",
        (*_RESOLVED, _UNSAT, _A.START, _A.RESOLVE, _SAT),
        age=14 * _DAY,
        gap=_DAY,
    )
    await run("ELDER_CARE", (*_HANDLED, _A.DECLARE_NOT_RESOLVABLE, _BASIC), age=18 * _DAY)
    await run("SANITATION", (*_RESOLVED, _SAT), age=4 * _DAY, building=home, reporter=head)

    # refused and merged
    await run("POLICY_QUESTION", (_A.REJECT,), age=10 * _DAY)
    await run("OTHER", (_A.REJECT,), age=2 * _DAY, anonymous=True)
    await run("CORRIDOR_CLUTTER", (_A.MARK_DUPLICATE,), age=11 * _DAY, building=home)
    await run("UTILITIES_REPAIR", (_A.ACCEPT, _A.MARK_DUPLICATE), age=2 * _DAY, building=home)

    # open, at every stage and level
    await run("SANITATION", (), age=2 * _HOUR, channel=Channel.ONLINE)
    await run("PUBLIC_SAFETY", (), age=_HOUR, channel=Channel.HOTLINE, priority=Priority.GENERAL)
    await run("OTHER", (), age=3 * _HOUR, channel=Channel.SUGGESTION_BOX, unsigned=True)
    await run("PROPERTY_MANAGEMENT", (_A.ACCEPT,), age=_DAY)
    await run("ELDER_CARE", (_A.ACCEPT,), age=2 * _DAY, channel=Channel.DOOR_VISIT)
    await run("NOISE", (_A.ACCEPT, _A.ASSIGN), age=_DAY, building=home)
    await run("POLICY_QUESTION", (_A.ACCEPT, _A.ASSIGN), age=3 * _DAY)
    await run("CORRIDOR_CLUTTER", (*_HANDLED[:3],), age=2 * _DAY, anonymous=True)
    await run("NEIGHBOUR_DISPUTE", (*_HANDLED[:3],), age=3 * _DAY, channel=Channel.MEETING)
    await run("SANITATION", _HANDLED, age=3 * _DAY, gap=2 * _HOUR)
    await run("ILLEGAL_CONSTRUCTION", _HANDLED, age=5 * _DAY, gap=_DAY)
    await run("PARKING", _HANDLED, age=2 * _DAY, channel=Channel.WISH_WALL)
    await run("CORRIDOR_CLUTTER", (_A.ACCEPT, _A.ASSIGN, _A.RETURN), age=2 * _DAY)
    await run("ELDER_CARE", (*_HANDLED[:3], _A.RETURN), age=3 * _DAY)
    await run("NEIGHBOUR_DISPUTE", (_A.ACCEPT, _A.ESCALATE), age=2 * _DAY, building=home)
    await run(
        "PROPERTY_MANAGEMENT",
        (_A.ACCEPT, _A.ASSIGN, _A.ESCALATE, _A.ESCALATE),
        age=6 * _DAY,
        gap=_DAY,
    )
    await run("ESTATE_RENOVATION", (_A.ACCEPT, _A.ESCALATE), age=4 * _DAY)
    await run("UTILITIES_REPAIR", _RESOLVED, age=2 * _DAY, building=home)
    await run("SANITATION", _RESOLVED, age=_DAY)
    await run("NEIGHBOUR_DISPUTE", (*_HANDLED, _A.DECLARE_NOT_RESOLVABLE), age=4 * _DAY)
    await run("PARKING", (*_RESOLVED, _UNSAT), age=4 * _DAY)
    await run("UTILITIES_REPAIR", (*_RESOLVED, _UNSAT), age=3 * _DAY, building=home)
    await run("SANITATION", (*_RESOLVED, _UNSAT, _A.ASSIGN), age=5 * _DAY)

    await seed_demo_wishes(session, demo, people, seeder.rng, now)


async def seed_demo_wishes(
    session: AsyncSession,
    demo: DemoCity,
    people: _People,
    rng: random.Random,
    now: datetime,
) -> None:
    """Wishes in every status on building and community walls."""
    helpers = [demo.party_member.id, demo.seconded_cadre.id, demo.building_head.id]
    volunteers = [h for h in helpers if h is not None]
    texts = iter(itertools.cycle(WISHES))
    home = demo.building
    elderly = demo.resident_alone.id or 0
    renter = demo.renter.id or 0
    recorder = demo.grid_worker.id

    async def wish(route: Sequence[WishAction], age: timedelta, **place: Any) -> None:
        at = now - age
        title, description = next(texts)
        resident = place.pop("resident", elderly)
        made = await rw.post_wish(
            session,
            resident_id=resident,
            title=title,
            description=description,
            recorded_by_id=recorder if resident == elderly else None,
            now=at,
            **place,
        )
        claimant = rng.choice(volunteers)
        for action in route:
            at += timedelta(hours=rng.randint(2, 30))
            ident, version = made.id or 0, made.version
            match action:
                case WishAction.PUBLISH:
                    made = await rw.act_on_wish(
                        session, ident, WishAction.PUBLISH, version, recorder, now=at
                    )
                case WishAction.CLAIM:
                    made = await rw.act_on_wish(
                        session, ident, WishAction.CLAIM, version, claimant, now=at
                    )
                case WishAction.RELEASE:
                    made = await rw.act_on_wish(
                        session,
                        ident,
                        WishAction.RELEASE,
                        version,
                        claimant,
                        note="临时出差，无法完成",
                        now=at,
                    )
                    claimant = next(v for v in volunteers if v != claimant)
                case WishAction.FULFIL:
                    made = await rw.act_on_wish(
                        session,
                        ident,
                        WishAction.FULFIL,
                        version,
                        claimant,
                        evidence=[photo_key(rng, "wishes")],
                        note="已送到居民家中",
                        now=at,
                    )
                case WishAction.CONFIRM:
                    made = await rw.act_on_wish(
                        session,
                        ident,
                        WishAction.CONFIRM,
                        version,
                        resident,
                        note="感谢党员同志的帮助！",
                        now=at,
                    )
                case WishAction.CANCEL:
                    made = await rw.act_on_wish(
                        session,
                        ident,
                        WishAction.CANCEL,
                        version,
                        resident,
                        note="家人已经买了",
                        now=at,
                    )

    a = WishAction
    community = demo.renheyuan.id
    await wish((), 2 * _HOUR, building_id=home.id)
    await wish((a.PUBLISH,), 3 * _DAY, building_id=home.id)
    await wish((a.PUBLISH,), 2 * _DAY, community_id=community, resident=renter)
    await wish((a.PUBLISH, a.CLAIM), 4 * _DAY, building_id=home.id)
    await wish((a.PUBLISH, a.CLAIM, a.RELEASE), 6 * _DAY, community_id=community)
    await wish((a.PUBLISH, a.CLAIM, a.RELEASE, a.CLAIM), 8 * _DAY, building_id=home.id)
    await wish((a.PUBLISH, a.CLAIM, a.FULFIL), 7 * _DAY, building_id=home.id)
    await wish((a.PUBLISH, a.CLAIM, a.FULFIL, a.CONFIRM), 20 * _DAY, building_id=home.id)
    await wish((a.PUBLISH, a.CLAIM, a.FULFIL, a.CONFIRM), 30 * _DAY, community_id=community)
    await wish((a.CANCEL,), 5 * _DAY, building_id=home.id, resident=renter)
    await wish((a.PUBLISH, a.CANCEL), 9 * _DAY, community_id=community, resident=renter)
    for building in people.buildings[1:6]:
        residents = people.residents.get(building.id or 0)
        if residents:
            await wish(
                (a.PUBLISH, a.CLAIM, a.FULFIL, a.CONFIRM),
                rng.randint(3, 60) * _DAY,
                building_id=building.id,
                resident=residents[0],
            )


# --- the city-scale history ------------------------------------------------------------------

#: Relative weights of categories in the city's history (by code; unknown codes weigh 1).
CATEGORY_WEIGHTS: Final = {
    "UTILITIES_REPAIR": 16,
    "SANITATION": 14,
    "CORRIDOR_CLUTTER": 12,
    "PARKING": 9,
    "NEIGHBOUR_DISPUTE": 8,
    "NOISE": 8,
    "PROPERTY_MANAGEMENT": 8,
    "ELDER_CARE": 7,
    "POLICY_QUESTION": 6,
    "TANGLED_WIRING": 4,
    "PUBLIC_SAFETY": 4,
    "ILLEGAL_CONSTRUCTION": 2,
    "ESTATE_RENOVATION": 1,
    "OTHER": 1,
}
CHANNEL_WEIGHTS: Final = {
    Channel.ONLINE: 40,
    Channel.DOOR_VISIT: 22,
    Channel.HOTLINE: 12,
    Channel.SUGGESTION_BOX: 10,
    Channel.MEETING: 10,
    Channel.WISH_WALL: 6,
}
#: Month-of-year factor per category (utilities peak in summer storms and winter freezes).
_SEASON: Final = {
    "UTILITIES_REPAIR": (1.5, 1.3, 0.9, 0.8, 0.9, 1.1, 1.4, 1.4, 1.0, 0.8, 0.9, 1.3),
    "SANITATION": (0.8, 1.1, 0.9, 1.0, 1.1, 1.2, 1.4, 1.4, 1.1, 0.9, 0.8, 0.8),
    "NOISE": (0.9, 1.3, 0.9, 1.0, 1.0, 1.1, 1.3, 1.3, 1.0, 1.0, 0.9, 0.9),
}
_HOURS: Final = (
    1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 8, 9, 12, 13, 12, 10, 9, 10, 10, 8, 4, 2,
)  # fmt: skip
_WEEKDAYS: Final = (1.1, 1.0, 1.0, 1.0, 1.0, 0.9, 0.7)

_COLUMNS: Final = {
    "petition": (
        "id", "channel", "category_id", "title", "description", "building_id", "path",
        "reporter_id", "recorded_by_id", "anonymous", "priority", "photos", "owner_level",
        "owner_path", "owner_org_unit_id", "assignee_id", "duplicate_of_id", "status", "version",
        "rejection_reason", "resolution_note", "escalation_count", "reopen_count", "submitted_at",
        "due_at", "accepted_at", "assigned_at", "first_contact_at", "resolved_at", "closed_at",
        "status_changed_at", "case_due_at", "late_earlier",
    ),
    "petition_stage": (
        "id", "petition_id", "seq", "round", "level", "owner_path", "owner_org_unit_id", "path",
        "started_at", "due_at", "accepted_at", "assigned_at", "first_contact_at", "ended_at",
        "ended_by",
    ),
    "petition_event": (
        "id", "petition_id", "action", "from_status", "to_status", "actor_person_id",
        "by_reporter", "note", "assignee_id", "from_level", "to_level", "version", "path", "at",
    ),
    "petition_rating": (
        "id", "petition_id", "round", "rating", "comment", "resolved_level", "path", "at",
    ),
    "points_entry": (
        "id", "person_id", "kind", "points", "source_type", "source_id", "note", "at",
    ),
}  # fmt: skip


@dataclass
class _Place:
    id: int
    path: str
    households: int
    residents: list[int] = field(default_factory=list)
    head: int | None = None
    head_since: datetime | None = None
    staff: int | None = None


@dataclass
class _Category:
    id: int
    code: str
    remit: list[str]
    priority: Priority


@dataclass(slots=True)
class _Row:
    """One petition as it is generated (fields in `_COLUMNS["petition"]` order)."""

    id: int
    channel: Channel
    category_id: int
    title: str
    description: str
    building_id: int
    path: str
    reporter_id: int | None
    recorded_by_id: int | None
    anonymous: bool
    priority: Priority
    photos: list[str]
    owner_level: Level
    owner_path: str
    owner_org_unit_id: int | None
    assignee_id: int | None = None
    duplicate_of_id: int | None = None
    status: PetitionStatus | None = None
    version: int = 0
    rejection_reason: str | None = None
    resolution_note: str | None = None
    escalation_count: int = 0
    reopen_count: int = 0
    submitted_at: datetime | None = None
    due_at: datetime | None = None
    accepted_at: datetime | None = None
    assigned_at: datetime | None = None
    first_contact_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    status_changed_at: datetime | None = None
    case_due_at: datetime | None = None
    late_earlier: bool = False
    #: its stages as `_COLUMNS["petition_stage"]` lists, the last one running
    stages: list[list[Any]] = field(default_factory=list)

    def values(self) -> tuple[Any, ...]:
        return tuple(
            v.value if isinstance(v, enum.Enum) else v
            for v in (getattr(self, name) for name in _COLUMNS["petition"])
        )


class _History:
    """Generates petitions as plain rows with their timelines, ratings and points."""

    def __init__(
        self,
        rng: random.Random,
        places: list[_Place],
        categories: list[_Category],
        due: dict[Priority, timedelta],
        staff: dict[str, int],
        until: datetime,
        first_ids: dict[str, int],
    ) -> None:
        self.rng = rng
        self.places = places
        self.categories = categories
        self.due = due
        self.staff = staff  # node path -> a person handling at that node
        self.until = until
        self.ids = {table: itertools.count(first) for table, first in first_ids.items()}
        self.petitions: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.ratings: list[tuple[Any, ...]] = []
        self.stages: list[tuple[Any, ...]] = []
        self.points: list[tuple[Any, ...]] = []
        self.last_in_building: dict[tuple[int, int], int] = {}
        self.cumulative = list(itertools.accumulate(p.households for p in places))
        self.cat_weights = [CATEGORY_WEIGHTS.get(c.code, 1) for c in categories]
        self.channels = list(CHANNEL_WEIGHTS)
        self.channel_weights = list(CHANNEL_WEIGHTS.values())

    def _place(self) -> _Place:
        r = self.rng.random() * self.cumulative[-1]
        return self.places[bisect.bisect_right(self.cumulative, r)]

    def submitted_times(self, count: int, start: datetime) -> list[datetime]:
        """Times over [start, until): use grows over the period (density from 0.5 to 1.5),
        fewer on Sundays and at night (rejection sampling against the hour and weekday
        profiles)."""
        rng = self.rng
        span = (self.until - start).total_seconds()
        top = max(_HOURS) * max(_WEEKDAYS)
        out: list[datetime] = []
        while len(out) < count:
            x = (math.sqrt(1 + 8 * rng.random()) - 1) / 2  # inverse CDF of 0.5 + x on [0, 1)
            at = start + timedelta(seconds=x * span)
            if rng.random() * top < _HOURS[at.hour] * _WEEKDAYS[at.weekday()]:
                out.append(at)
        out.sort()
        return out

    def _category(self, at: datetime) -> _Category:
        rng = self.rng
        while True:
            c = rng.choices(self.categories, self.cat_weights)[0]
            season = _SEASON.get(c.code)
            if season is None or rng.random() * 1.5 < season[at.month - 1]:
                return c

    def _handler(self, row: _Row, place: _Place) -> int | None:
        if row.owner_level == Level.BUILDING:
            return place.head or place.staff or self.staff.get(place.path.rsplit(".", 1)[0])
        return self.staff.get(row.owner_path)

    def generate(self, count: int) -> None:
        start = self.until - timedelta(days=730)
        for at in self.submitted_times(count, start):
            row = self._one(at)
            if row is not None:
                self.petitions.append(row.values())
                self.stages.extend(tuple(stage) for stage in row.stages)

    def _event(
        self,
        row: _Row,
        action: rp.Action,
        to: PetitionStatus,
        at: datetime,
        actor: int | None,
        note: str | None = None,
        *,
        assignee: int | None = None,
        levels: tuple[Level, Level] | None = None,
    ) -> None:
        frm = row.status
        row.status, row.version, row.status_changed_at = to, row.version + 1, at
        by_reporter = actor is not None and actor == row.reporter_id
        self.events.append(
            (
                next(self.ids["petition_event"]), row.id, action.value,
                frm.value if frm else None, to.value,
                None if by_reporter and row.anonymous else actor, by_reporter, note, assignee,
                levels[0].value if levels else None, levels[1].value if levels else None,
                row.version, row.path, at,
            )
        )  # fmt: skip
        self._keep_stages(row, action, at)

    def _keep_stages(self, row: _Row, action: rp.Action, at: datetime) -> None:
        """What `resolvers.petitions` does to stages after each step, on the generated rows."""
        names = _COLUMNS["petition_stage"]
        running = row.stages[-1] if row.stages and row.stages[-1][-1] is None else None
        stamp = rp.STAGE_STAMPS.get(action)
        if running is not None and stamp is not None:
            i = names.index(stamp)
            running[i] = running[i] or at
        if running is not None and action in rp.ENDS_STAGE:
            running[-2:] = [at, action.value]
        if action in rp.STARTS_STAGE:
            assert row.due_at is not None
            row.stages.append(
                [next(self.ids["petition_stage"]), row.id, len(row.stages) + 1, row.reopen_count,
                 row.owner_level.value, row.owner_path, row.owner_org_unit_id, row.path, at,
                 row.due_at, None, None, None, None, None]
            )  # fmt: skip

    def _new(self, at: datetime) -> tuple[_Row, _Place] | None:
        rng = self.rng
        place = self._place()
        category = self._category(at)
        channel = rng.choices(self.channels, self.channel_weights)[0]
        priority = Priority.URGENT if rng.random() < 0.05 else category.priority
        title, description = rng.choice(TEXTS.get(category.code) or TEXTS["OTHER"])
        owner = rp.owner_level_for(category.remit, Level.BUILDING)
        labels = place.path.split(".")
        depth = LEVEL_DEPTH[owner]
        reporter = rng.choice(place.residents) if place.residents else None
        grid_staff = self.staff.get(".".join(labels[:5]))
        recorder = None
        if channel in (Channel.DOOR_VISIT, Channel.HOTLINE):
            recorder = grid_staff
        elif channel == Channel.MEETING:
            recorder = place.head or grid_staff
        elif channel == Channel.SUGGESTION_BOX:
            recorder = place.head or grid_staff
            if rng.random() < 0.3:
                reporter = None
        if recorder == reporter:
            recorder = None
        if reporter is None and recorder is None:
            return None
        anonymous = reporter is None or rng.random() < (
            0.4 if channel == Channel.SUGGESTION_BOX else 0.06
        )
        row = _Row(
            id=next(self.ids["petition"]),
            channel=channel,
            category_id=category.id,
            title=title,
            description=description,
            building_id=place.id,
            path=place.path,
            reporter_id=reporter,
            recorded_by_id=recorder,
            anonymous=anonymous,
            priority=priority,
            photos=[photo_key(rng) for _ in range(rng.choice((0, 0, 0, 1, 1, 2, 3)))],
            owner_level=owner,
            owner_path=".".join(labels[:depth]),
            owner_org_unit_id=None if owner == Level.BUILDING else int(labels[depth - 1]),
            submitted_at=at,
            due_at=at + self.due[priority],
            case_due_at=at + self.due[priority],
        )
        return row, place

    def _escalate(self, row: _Row, place: _Place, at: datetime) -> bool:
        above = rp.level_above(row.owner_level)
        if above is None:
            return False
        labels = place.path.split(".")
        depth = LEVEL_DEPTH[above]
        levels = (row.owner_level, above)
        assert row.due_at is not None
        overdue = row.due_at
        row.owner_level, row.owner_path = above, ".".join(labels[:depth])
        row.owner_org_unit_id, row.assignee_id = int(labels[depth - 1]), None
        row.escalation_count += 1
        row.due_at = at + self.due[row.priority]
        self._event(
            row, _A.ESCALATE, _S.ESCALATED, at, None,
            f"overdue since {overdue:%Y-%m-%d %H:%M} UTC: escalated automatically",
            levels=levels,
        )  # fmt: skip
        return True

    def _one(self, at: datetime) -> _Row | None:  # noqa: PLR0911, PLR0912, PLR0915
        """One petition's life up to `until`: accepted (or refused) within hours, sometimes
        overdue and escalated level by level, assigned, contacted, resolved mostly on time,
        then rated (unsatisfied reopens it) or closed unrated after 7 days."""
        rng, now = self.rng, self.until
        made = self._new(at)
        if made is None:
            return None
        row, place = made
        reporter = row.reporter_id
        due = self.due[row.priority]
        self._event(row, _A.SUBMIT, _S.SUBMITTED, at, row.recorded_by_id or reporter)

        def later(t: datetime, hours: float) -> datetime | None:
            nxt = t + timedelta(hours=hours)
            return nxt if nxt < now else None

        t = later(at, rng.lognormvariate(0.5, 1.0))
        if t is None:
            return row
        dispatcher = self._handler(row, place) or row.recorded_by_id
        key = (place.id, row.category_id)
        previous = self.last_in_building.get(key)
        self.last_in_building[key] = row.id
        refusal = rng.random()
        if refusal < 0.03:
            row.rejection_reason, row.closed_at = "经核实不属于受理范围，已向居民说明", t
            self._event(row, _A.REJECT, _S.REJECTED, t, dispatcher, row.rejection_reason)
            return row
        if refusal < 0.06 and previous is not None:
            row.duplicate_of_id, row.closed_at = previous, t
            self._event(row, _A.MARK_DUPLICATE, _S.DUPLICATE, t, dispatcher, "合并办理")
            return row
        row.accepted_at = t
        self._event(row, _A.ACCEPT, _S.ACCEPTED, t, dispatcher)
        # left lying at its level sometimes: the scheduler escalates it when due, level by level
        chance = 0.12
        while rng.random() < chance and row.due_at is not None and row.due_at < now:
            if not self._escalate(row, place, max(row.due_at, t)):
                break
            assert row.status_changed_at is not None
            t, chance = row.status_changed_at, 0.3
        handler = self._handler(row, place) or dispatcher
        dispatcher = handler if row.owner_level != Level.BUILDING else dispatcher
        t2 = later(t, rng.lognormvariate(0.0, 1.0))
        if t2 is None or handler is None:
            return row
        row.assignee_id, row.assigned_at = handler, t2
        self._event(row, _A.ASSIGN, _S.ASSIGNED, t2, dispatcher, assignee=handler)
        t3 = later(t2, rng.lognormvariate(0.3, 0.9))
        if t3 is None:
            return row
        row.first_contact_at = t3
        self._event(row, _A.ACKNOWLEDGE, _S.ACKNOWLEDGED, t3, handler, "已联系居民")
        start = later(t3, rng.lognormvariate(0.5, 1.0))
        if start is None:
            return row
        self._event(row, _A.START, _S.IN_PROGRESS, start, handler)
        for round_ in range(3):
            done = later(start, due.total_seconds() / 3600 * rng.lognormvariate(-0.9, 0.6))
            if done is None:
                return row
            if rng.random() < 0.03:
                row.resolution_note = "涉及产权纠纷，需通过司法途径解决，已告知居民"
                self._event(
                    row, _A.DECLARE_NOT_RESOLVABLE, _S.NOT_RESOLVABLE, done, handler,
                    row.resolution_note,
                )  # fmt: skip
            else:
                row.resolution_note, row.resolved_at = "已处理完毕", done
                self._event(row, _A.RESOLVE, _S.RESOLVED, done, handler, row.resolution_note)
            rated = later(done, rng.lognormvariate(2.5, 1.0))
            if reporter is None or rng.random() < 0.12 or rated is None or rated > done + _WEEK:
                if done + _WEEK < now:
                    row.closed_at = done + _WEEK
                    self._event(
                        row, _A.CLOSE_UNRATED, _S.CLOSED_UNRATED, row.closed_at, None,
                        "no rating within 7 days",
                    )  # fmt: skip
                return row
            r = rng.random()
            rating = _SAT if r < 0.78 else _BASIC if r < 0.93 else _UNSAT
            resolved_as = row.status
            self.ratings.append(
                (next(self.ids["petition_rating"]), row.id, round_, rating.value,
                 rng.choice((None, None, "处理及时，谢谢！", "态度很好")),
                 row.owner_level.value, row.path, rated)
            )  # fmt: skip
            if rating == _UNSAT and round_ < 2:
                row.reopen_count += 1
                assert row.case_due_at is not None
                in_time = row.resolved_at is not None and row.resolved_at <= row.case_due_at
                row.late_earlier = row.late_earlier or not in_time
                row.resolution_note, row.resolved_at = None, None
                row.due_at = row.case_due_at = rated + due
                self._event(row, _A.REOPEN, _S.REOPENED, rated, reporter, f"rated {rating}")
                restart = later(rated, rng.lognormvariate(1.0, 1.0))
                if restart is None:
                    return row
                start = restart
                self._event(row, _A.START, _S.IN_PROGRESS, start, handler)
                continue
            row.closed_at = rated
            self._event(row, _A.CLOSE, _S.CLOSED, rated, reporter, f"rated {rating}")
            if (
                rating == _SAT
                and resolved_as == _S.RESOLVED
                and row.owner_level == Level.BUILDING
                and place.head is not None
                and place.head != reporter
                and reporter not in (handler, dispatcher)
                and (place.head_since is None or place.head_since <= done)
            ):
                self.points.append(
                    (next(self.ids["points_entry"]), place.head, "EARNED", rp.SATISFIED_POINTS,
                     rp.POINTS_SOURCE, row.id, f"一事一评「满意」: {row.title}", rated)
                )  # fmt: skip
            return row
        return row


def _copy(conn: psycopg.Connection[Any], table: str, rows: Iterable[Sequence[Any]]) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, _COLUMNS[table]))
    )
    n = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _reserve_ids(conn: psycopg.Connection[Any], table: str, count: int) -> int:
    """Take `count` consecutive ids from the table's identity sequence; return the first."""
    row = conn.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", (table,)).fetchone()
    assert row is not None
    first = int(row[0])
    conn.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", (table, first + count))
    return first


def _load_places(conn: psycopg.Connection[Any]) -> tuple[list[_Place], dict[str, int]]:
    places: dict[int, _Place] = {}
    for bid, path, households in conn.execute(
        """SELECT b.id, b.path::text, count(h.id)
             FROM building b LEFT JOIN household h ON h.building_id = b.id
            GROUP BY b.id ORDER BY b.id"""
    ):
        places[bid] = _Place(bid, path, max(int(households), 1))
    for pid, bid in conn.execute(
        """SELECT p.id, h.building_id FROM person p JOIN household h ON h.id = p.household_id
            WHERE p.birth_date < DATE '2006-01-01' ORDER BY p.id"""
    ):
        places[bid].residents.append(pid)
    staff: dict[str, int] = {}
    for role, pid, bid, path, started in conn.execute(
        """SELECT role, person_id, building_id, path::text, started_at FROM position
            WHERE ended_at IS NULL AND role IN ('BUILDING_HEAD', 'PROPERTY_STAFF', 'GRID_WORKER',
                  'COMMUNITY_ADMIN', 'STREET_ADMIN', 'DISTRICT_ADMIN')
            ORDER BY id"""
    ):
        if role == Role.BUILDING_HEAD:
            places[bid].head, places[bid].head_since = pid, started
        elif role == Role.PROPERTY_STAFF:
            if places[bid].staff is None:
                places[bid].staff = pid
        else:
            staff.setdefault(path, pid)
    return list(places.values()), staff


def _drop_secondary(conn: psycopg.Connection[Any], tables: Sequence[str]) -> list[str]:
    """Drop the tables' foreign keys and non-constraint indexes (read back from the catalog,
    so the migration stays their source); return the DDL recreating them, keys last."""
    names = [sql.Identifier(t).as_string(conn) for t in tables]
    keys = conn.execute(
        """SELECT c.conname, t.relname, pg_get_constraintdef(c.oid)
             FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
            WHERE t.oid = ANY(%s::regclass[]) AND c.contype = 'f' ORDER BY 2, 1""",
        (names,),
    ).fetchall()
    indexes = conn.execute(
        """SELECT ix.relname, pg_get_indexdef(i.indexrelid)
             FROM pg_index i JOIN pg_class ix ON ix.oid = i.indexrelid
            WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY 1""",
        (names,),
    ).fetchall()
    recreate: list[str] = []
    for name, table, definition in keys:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
        recreate.append(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ")
            .format(sql.Identifier(table), sql.Identifier(name))
            .as_string(conn)
            + definition
        )
    for name, definition in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        recreate.insert(0, definition)
    return recreate


def load_city_petitions(
    conn: psycopg.Connection[Any],
    *,
    count: int = 100_000,
    until: datetime | None = None,
    seed: int = CITY_PETITIONS_SEED,
    lap: Callable[[str], None] = lambda _: None,
    rebuild_indexes: bool = False,
) -> dict[str, int]:
    """Generate `count` petitions over the two years before `until` and COPY them (with
    timelines, ratings and points) inside the caller's transaction; return rows per table.
    `lap(what)` is called as each phase ends (for progress reports). With `rebuild_indexes`
    the tables' indexes and foreign keys are dropped for the load and rebuilt after it (one
    build or validating scan each instead of per-row upkeep: for a fresh load only)."""
    until = until or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    places, staff = _load_places(conn)
    if not places:
        raise RuntimeError("no buildings: seed the city (or the demo) first")
    categories = [
        _Category(i, code, list(remit), Priority(priority))
        for i, code, remit, priority in conn.execute(
            "SELECT id, code, remit_levels, default_priority FROM petition_category"
            " WHERE active ORDER BY id"
        )
    ]
    due = {
        Priority(p): d for p, d in conn.execute("SELECT priority, due_in FROM petition_due_time")
    }
    for p in Priority:
        due.setdefault(p, DEFAULT_DUE[p])
    first = {t: _reserve_ids(conn, t, 0) for t in _COLUMNS}
    history = _History(random.Random(seed), places, categories, due, staff, until, first)
    lap("read buildings, residents and staff")
    history.generate(count)
    lap(f"generated {len(history.petitions):,} petitions with their timelines")
    # give each table exactly the ids it used, then load
    for table, rows in (
        ("petition", history.petitions),
        ("petition_event", history.events),
        ("petition_rating", history.ratings),
        ("petition_stage", history.stages),
        ("points_entry", history.points),
    ):
        conn.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
            (table, first[table] + len(rows)),
        )
    ddl = _drop_secondary(conn, list(_COLUMNS)) if rebuild_indexes else []
    counts: dict[str, int] = {}
    for table, rows in (
        ("petition", history.petitions),
        ("petition_event", history.events),
        ("petition_rating", history.ratings),
        ("petition_stage", history.stages),
        ("points_entry", history.points),
    ):
        counts[table] = _copy(conn, table, rows)
        lap(f"copied {counts[table]:,} rows into {table}")
    if ddl:
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in ddl:
            conn.execute(statement.encode())
        lap(f"rebuilt {len(ddl)} indexes and foreign keys")
    return counts


def seed_city_petitions(libpq_uri: str, *, count: int = 100_000) -> None:
    """Bulk-load the city's petition history (two years) in one transaction."""
    from seeds.run import report

    started = last = time.perf_counter()

    def lap(what: str) -> None:
        nonlocal last
        now = time.perf_counter()
        report(f"  {what:<60}{now - last:6.1f}s")
        last = now

    with psycopg.connect(libpq_uri) as conn, conn.transaction():
        exists = conn.execute("SELECT EXISTS (SELECT 1 FROM petition)").fetchone()
        if exists and exists[0]:
            raise RuntimeError("petitions exist already: load the history into a fresh city")
        counts = load_city_petitions(conn, count=count, lap=lap, rebuild_indexes=True)
    with psycopg.connect(libpq_uri, autocommit=True) as conn:
        for table in counts:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    summary = ", ".join(f"{n:,} {table}" for table, n in counts.items())
    report(f"seeded {summary} in {time.perf_counter() - started:.1f}s")
