"""Services in the building for the demo city, and at city scale.

`seed_demo_services(session, demo)` goes through the resolver functions, so every row is one
the application itself would write: estates (one per grid, old estates without property
management, the others under 红色物业 companies), coordinates (GCJ-02) for every building, a
红城驿站·睦邻之家 per community, 红色跑团 and volunteer teams (五里碑's seven kinds, 灵犀's
楼栋红管家 team of seconded cadres), the catalogue, Party-member posts, service orders in
every status, volunteer activities with sign-ups and check-ins, the hours ledger, door visits
with what followed them, and an ended emergency with its roster. Content comes from
`random.Random(2024)`; times are relative to `now`.

`seed_city_services(libpq_uri)` bulk-loads the seed text's figures by COPY into a database
holding the city-scale data set (see `load_city_services`).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import psycopg
import sqlalchemy as sa
from psycopg import sql as psycopg_sql
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.org import Building, GridType, Household, OrgUnit
from models.people import Person, Position, Role
from models.petitions import RatingValue
from models.services import (
    ActivityAction,
    ActivityKind,
    DoorVisit,
    Eligibility,
    Estate,
    Facility,
    FindingKind,
    HoursKind,
    OrderAction,
    PostKind,
    PropertyCompany,
    ServiceCategory,
    ServiceItem,
    ServiceOrder,
    ServiceStation,
    ServiceTeam,
    TeamKind,
    TeamMember,
    TeamRole,
    VisitFinding,
    VisitKind,
    VolunteerActivity,
    Weekday,
)
from permissions import services as rules
from resolvers import services as rs
from resolvers.petitions import content_hash
from resolvers.services import is_under
from seeds.city import apportion

if TYPE_CHECKING:
    from seeds.demo import DemoCity

SEED: Final = 2024
_MINUTE, _HOUR, _DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

#: District centres (GCJ-02), and a spread (degrees) for their communities.
DISTRICT_CENTRES: Final = {
    "红花岗区": (27.6945, 106.9220),
    "汇川区": (27.7338, 106.9342),
    "播州区": (27.5366, 106.8310),
    "新蒲新区": (27.7620, 107.0080),
    "仁怀市": (27.7921, 106.4017),
}
_BUILDING_NAME = re.compile(r"^(.*?)(\d+)(栋|号楼)$")
_WEEKDAYS = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
_WEEKEND = (Weekday.SAT, Weekday.SUN)
_OPENING = (
    rs.Opening(_WEEKDAYS, "08:30", "18:00"),
    rs.Opening(_WEEKEND, "09:00", "17:00"),
)

#: (name, district, registered in a district, Party organisation since) of 红色物业.
_COMPANIES: Final = (
    ("遵义红城物业服务有限公司", "汇川区", date(2021, 7, 1)),
    ("遵义黔北物业管理有限公司", "红花岗区", date(2022, 3, 15)),
    ("新蒲鸿鑫物业服务有限公司", "新蒲新区", date(2022, 9, 20)),
    ("仁怀市五里碑安置区物业服务中心", "仁怀市", date(2021, 11, 5)),
    ("播州德润物业管理有限公司", "播州区", None),
)
#: 五里碑's seven volunteer teams (the seed's 矛盾调解、环境整治 ... 7支志愿服务队).
_WULIBEI_TEAMS: Final = (
    ("五里碑矛盾调解志愿服务队", "DISPUTE_MEDIATION"),
    ("五里碑环境整治志愿服务队", "ENVIRONMENT"),
    ("五里碑治安巡查志愿服务队", "SECURITY_PATROL"),
    ("五里碑政策宣传志愿服务队", "POLICY_OUTREACH"),
    ("五里碑邻里互助志愿服务队", "HOME_ELDERLY_CARE"),
    ("五里碑儿童关爱志愿服务队", "CHILD_GROWTH"),
    ("五里碑就业帮扶志愿服务队", "RELOCATION_SUPPORT"),
)
#: Items per category code: (name, description, reserved for).
_ITEMS: Final[dict[str, tuple[str, str, tuple[Eligibility, ...]]]] = {
    "PROXY_PURCHASE": (
        "爱心代购",
        "代购米面油、常用药品，送货上门",
        (Eligibility.ELDERLY, Eligibility.LIVES_ALONE),
    ),
    "HOME_HEALTH_CHECK": ("上门体检", "测血压血糖，慢病随访", (Eligibility.ELDERLY,)),
    "ESCORT_TO_HOSPITAL": (
        "陪诊就医",
        "陪同到医院挂号、检查、取药",
        (Eligibility.ELDERLY, Eligibility.LIVES_ALONE),
    ),
    "DIGITAL_HELP": ("手机使用教学", "教用微信视频、网上挂号、健康码", ()),
    "MEAL_ASSISTANCE": ("长者助餐", "长者食堂午餐，行动不便可送餐", (Eligibility.ELDERLY,)),
    "LEGAL_AID": ("法律咨询", "律师驻站解答婚姻、继承、劳动纠纷", ()),
    "CHILD_GROWTH": ("四点半课堂", "放学后作业辅导、阅读", ()),
    "PSYCHOLOGICAL": ("心理疏导", "一对一谈心、情绪疏导", ()),
    "REPAIRS": ("水电维修", "红管家上门修水管、换灯泡、修开关", ()),
    "ENVIRONMENT": ("楼道清理", "清理楼道杂物、小广告", ()),
    "DISPUTE_MEDIATION": ("邻里纠纷调解", "上门调解漏水、噪音、占道等纠纷", ()),
    "SECURITY_PATROL": ("夜间巡查", "楼栋夜间巡逻、消防隐患排查", ()),
    "POLICY_OUTREACH": ("政策上门讲解", "医保、养老、搬迁安置政策讲解", ()),
    "HOME_ELDERLY_CARE": (
        "居家照护",
        "助洁、助浴、陪伴聊天",
        (Eligibility.ELDERLY, Eligibility.LIVES_ALONE),
    ),
    "RELOCATION_SUPPORT": ("就业信息推送", "就近岗位推荐、技能培训报名", ()),
    "HAIRCUT": ("爱心理发", "志愿者上门义剪", (Eligibility.ELDERLY,)),
    "VETERAN_SERVICES": ("退役军人走访", "优待证办理指导、走访慰问", (Eligibility.VETERAN,)),
}
_VISIT_NOTES: Final = (
    "老人身体尚可，子女在外务工，希望有人定期看望。",
    "家中水管老化渗水，已提醒物业。",
    "反映楼上漏水导致天花板发霉，与楼上协商未果。",
    "询问医保缴费和高龄补贴办理。",
    "家庭和睦，无特殊需求，宣传了防诈骗知识。",
    "反映楼道堆放杂物，担心消防安全。",
    "新搬迁入住，孩子入学需要协调。",
)
_DISPUTES: Final = (
    "与楼上住户因卫生间漏水发生纠纷",
    "与邻居因楼道堆物占道产生矛盾",
    "与邻居因装修噪音发生争执",
    "家庭赡养老人问题存在分歧",
    "与隔壁因停车位发生口角",
)
_NEEDS: Final = (
    ("PROXY_PURCHASE", "腿脚不便，需要有人代购生活用品"),
    ("HOME_HEALTH_CHECK", "高血压需要定期测量"),
    ("DIGITAL_HELP", "不会用手机视频通话"),
    ("EMPLOYMENT", "希望就近找一份工作"),
)
_HAZARDS: Final = ("楼道私拉电线给电动车充电", "单元门禁损坏", "楼顶防水层破损漏雨")


@dataclass(frozen=True)
class DemoServices:
    """The rows of services that tests reach for by name."""

    estate: Estate  # `DemoCity.building`'s estate (仁和苑, 无物业管理)
    managed_estate: Estate  # an estate of 仁和苑 under a 红色物业 company
    property_company: PropertyCompany  # 遵义红城物业服务有限公司 (汇川区)
    station: ServiceStation  # 仁和苑社区红城驿站·睦邻之家
    running_team: ServiceTeam  # 仁和苑红色跑团: its leader is the building head
    wulibei_teams: tuple[ServiceTeam, ...]  # the seven volunteer teams of 五里碑
    stewards: ServiceTeam  # 灵犀 楼栋红管家 team of seconded cadres
    elderly_item: ServiceItem  # 爱心代购 of the running team: the elderly or living alone
    open_item: ServiceItem  # 手机使用教学 of the running team: everyone
    order_done: ServiceOrder  # the widow's order, done by the building head and rated
    order_dispatched: ServiceOrder  # dispatched to the running team, not accepted yet
    activity: VolunteerActivity  # an upcoming 楼道清洁日 of the running team
    visit: DoorVisit  # the grid worker's visit to the widow's household


def _int(value: Any) -> int:
    """A database id read back from a query (never null here)."""
    assert value is not None
    return int(value)


def _pk(row: Any) -> int:
    assert row.id is not None
    return int(row.id)


class _Services:
    def __init__(self, session: AsyncSession, demo: DemoCity, now: datetime) -> None:
        self.s = session
        self.demo = demo
        self.now = now
        self.rng = random.Random(SEED)
        self.categories: dict[str, ServiceCategory] = {}
        self.keys = 0

    def key(self) -> str:
        self.keys += 1
        return f"demo-services-{self.keys:05d}"

    # -- places ---------------------------------------------------------------------------

    async def units(self) -> tuple[list[OrgUnit], dict[int, list[Building]]]:
        units = list(
            (await self.s.execute(sa.select(OrgUnit).order_by(col(OrgUnit.code)))).scalars()
        )
        buildings: dict[int, list[Building]] = defaultdict(list)
        for b in (await self.s.execute(sa.select(Building).order_by(col(Building.id)))).scalars():
            buildings[b.grid_id].append(b)
        return units, buildings

    def point(self, centre: tuple[float, float], spread: float) -> tuple[float, float]:
        lat, lon = centre
        return (
            round(lat + self.rng.uniform(-spread, spread), 6),
            round(lon + self.rng.uniform(-spread, spread), 6),
        )

    async def places(self) -> tuple[dict[int, tuple[float, float]], dict[int, Estate]]:
        """Coordinates for every community, grid and building; an estate per grid."""
        units, buildings = await self.units()
        by_id = {_pk(u): u for u in units}
        district_of: dict[int, str] = {}
        centre: dict[int, tuple[float, float]] = {}
        estates: dict[int, Estate] = {}
        for unit in units:
            ids = [int(x) for x in (unit.path or "").split(".")]
            if len(ids) >= 2:
                district_of[_pk(unit)] = by_id[ids[1]].name
            if unit.kind == "COMMUNITY":
                centre[_pk(unit)] = self.point(DISTRICT_CENTRES[district_of[_pk(unit)]], 0.02)
        for unit in units:
            if unit.kind != "GRID" or unit.parent_id is None:
                continue
            grid_centre = self.point(centre[unit.parent_id], 0.004)
            centre[_pk(unit)] = grid_centre
            mine = buildings.get(_pk(unit), [])
            if not mine:
                continue
            match = _BUILDING_NAME.match(mine[0].name)
            name = match.group(1) if match and match.group(1) else f"{unit.name}小区"
            estate = await rs.create_estate(
                self.s,
                grid_id=_pk(unit),
                name=name,
                latitude=grid_centre[0],
                longitude=grid_centre[1],
            )
            estates[_pk(unit)] = estate
            for i, building in enumerate(mine):
                lat, lon = self.point(grid_centre, 0.0012)
                await rs.locate_building(
                    self.s, building_id=_pk(building), latitude=lat, longitude=lon
                )
                # 丁字口's old estates keep one scattered building (散居楼) outside any estate
                if not (unit.code == "520302001001001" and i == len(mine) - 1):
                    await rs.place_building(
                        self.s, building_id=_pk(building), estate_id=_pk(estate)
                    )
        return centre, estates

    async def companies(self, estates: dict[int, Estate]) -> dict[str, PropertyCompany]:
        """红色物业 for the new, commercial and resettlement estates; old estates stay
        without property management (无物业管理), as the seed text says."""
        districts = {
            u.name: u
            for u in (
                await self.s.execute(sa.select(OrgUnit).where(col(OrgUnit.kind) == "DISTRICT"))
            ).scalars()
        }
        found: dict[str, PropertyCompany] = {}
        for i, (name, district, since) in enumerate(_COMPANIES):
            found[district] = await rs.create_property_company(
                self.s,
                org_unit_id=_pk(districts[district]),
                name=name,
                credit_code=f"91520300MA6D{i:02d}K{i:02d}X",
                hotline=f"0851-2861{i:04d}",
                has_party_organisation=since is not None,
                party_organisation_since=since,
            )
        grids = {
            _pk(g): g
            for g in (
                await self.s.execute(sa.select(OrgUnit).where(col(OrgUnit.kind) == "GRID"))
            ).scalars()
        }
        for grid_id, estate in estates.items():
            grid = grids[grid_id]
            if grid.grid_type == GridType.OLD_ESTATE:
                continue
            district = next(d for d, c in found.items() if is_under(estate.path, c.path))
            await rs.update_estate(
                self.s, estate_id=_pk(estate), property_company_id=_pk(found[district])
            )
        return found

    # -- providers -------------------------------------------------------------------------

    async def stations(
        self, centre: dict[int, tuple[float, float]], estates: dict[int, Estate]
    ) -> dict[int, ServiceStation]:
        communities = list(
            (
                await self.s.execute(
                    sa.select(OrgUnit)
                    .where(col(OrgUnit.kind) == "COMMUNITY")
                    .order_by(col(OrgUnit.code))
                )
            ).scalars()
        )
        facilities = list(Facility)
        found: dict[int, ServiceStation] = {}
        for community in communities:
            lat, lon = self.point(centre[_pk(community)], 0.002)
            estate = next(
                (e for e in estates.values() if is_under(e.path, community.path)),
                None,
            )
            chosen = [Facility.ACTIVITY_ROOM, Facility.SERVICE_DESK, Facility.PARTY_ROOM]
            chosen += self.rng.sample(facilities, 4)
            station = await rs.create_station(
                self.s,
                community_id=_pk(community),
                name=f"{community.name.removesuffix('社区')}红城驿站·睦邻之家",
                address=f"{community.name}{estate.name if estate else ''}党群服务中心一楼",
                latitude=lat,
                longitude=lon,
                estate_id=_pk(estate) if estate else None,
                hotline=f"0851-2862{len(found):04d}",
                opening_hours=_OPENING,
                facilities=chosen,
            )
            found[_pk(community)] = station
            served = (
                await self.s.execute(
                    sa.select(col(Building.id))
                    .where(col(Building.path).op("<@")(community.path))
                    .order_by(col(Building.id))
                )
            ).scalars()
            for building in served:
                await rs.serve_building(
                    self.s, station_id=_pk(station), building_id=_int(building), serves=True
                )
            manager = await self.s.scalar(
                sa.select(col(Position.id))
                .where(
                    col(Position.path).op("<@")(community.path),
                    col(Position.role).in_([Role.COMMUNITY_ADMIN, Role.GRID_WORKER]),
                    col(Position.ended_at).is_(None),
                )
                .order_by(col(Position.role), col(Position.id))
                .limit(1)
            )
            if manager is not None:
                await rs.add_station_manager(
                    self.s,
                    station_id=_pk(station),
                    position_id=int(manager),
                    now=self.now - 200 * _DAY,
                )
        return found

    async def residents_of(self, unit: OrgUnit, *, party: bool | None = None) -> list[Person]:
        stmt = (
            sa.select(Person)
            .where(col(Person.path).op("<@")(unit.path), col(Person.birth_date) < date(2004, 1, 1))
            .order_by(col(Person.id))
        )
        if party is not None:
            stmt = stmt.where(col(Person.is_party_member) == party)
        return list((await self.s.execute(stmt)).scalars())

    async def holders(self, role: Role, unit: OrgUnit) -> list[int]:
        rows = await self.s.execute(
            sa.select(col(Position.person_id))
            .where(
                col(Position.role) == role,
                col(Position.ended_at).is_(None),
                col(Position.path).op("<@")(unit.path),
            )
            .order_by(col(Position.id))
        )
        return list(dict.fromkeys(int(p) for p in rows.scalars()))

    async def team(
        self,
        community: OrgUnit,
        name: str,
        kind: TeamKind,
        members: Sequence[int],
        *,
        category: str | None = None,
        founded: datetime | None = None,
    ) -> ServiceTeam:
        team = await rs.create_team(
            self.s,
            community_id=_pk(community),
            name=name,
            kind=kind,
            category_id=_pk(self.categories[category]) if category else None,
            now=founded or self.now - 400 * _DAY,
        )
        for i, person in enumerate(dict.fromkeys(members)):
            role = (
                TeamRole.LEADER if i == 0 else TeamRole.DEPUTY_LEADER if i == 1 else TeamRole.MEMBER
            )
            await rs.add_team_member(
                self.s, team_id=_pk(team), person_id=person, role=role, now=self.now - 300 * _DAY
            )
        return await rs.reload_row(self.s, ServiceTeam, team.id)

    async def item(
        self,
        code: str,
        *,
        team: ServiceTeam | None = None,
        station: ServiceStation | None = None,
        company: PropertyCompany | None = None,
    ) -> ServiceItem:
        name, description, groups = _ITEMS[code]
        return await rs.create_item(
            self.s,
            category_id=_pk(self.categories[code]),
            name=name,
            description=description,
            team_id=_pk(team) if team else None,
            station_id=_pk(station) if station else None,
            property_company_id=_pk(company) if company else None,
            eligibility=groups,
            default_minutes=self.rng.choice((30, 60, 60, 90, 120)),
        )

    # -- orders ------------------------------------------------------------------------------

    async def order(
        self,
        item: ServiceItem,
        resident: int,
        steps: Sequence[tuple[OrderAction, int | None, rs.Step]],
        *,
        age: timedelta,
        recorded_by: int | None = None,
        details: str | None = None,
        rating: RatingValue | None = None,
        finding: int | None = None,
    ) -> ServiceOrder:
        at = self.now - age
        order = await rs.order_service(
            self.s,
            rs.OrderDraft(
                item_id=_pk(item),
                resident_id=resident,
                recorded_by_id=recorded_by,
                details=details,
                preferred_time=self.rng.choice(("工作日上午", "周末下午", "越快越好", None)),
                finding_id=finding,
            ),
            idempotency_key=self.key(),
            eligible=rules.eligible,
            rank=rules.queue_rank,
            now=at,
        )
        gap = age / (len(steps) + 2)
        for action, actor, step in steps:
            at += gap
            order = await rs.act_on_order(
                self.s, _pk(order), action, order.version, actor, step, now=at
            )
        if rating is not None:
            rated = await rs.rate_order(
                self.s,
                order_id=_pk(order),
                rater_person_id=resident,
                rating=rating,
                comment=self.rng.choice(("服务很贴心", "很及时，谢谢", "态度好", None)),
                now=at + gap,
            )
            order = rated.order
        return order


def _dispatch(
    team: ServiceTeam | None = None,
    station: ServiceStation | None = None,
    company: PropertyCompany | None = None,
) -> rs.Step:
    return rs.Step(
        provider=rs.Provider(
            team_id=_pk(team) if team else None,
            station_id=_pk(station) if station else None,
            property_company_id=_pk(company) if company else None,
        )
    )


_DONE_NOTE = rs.Step(note="已上门完成，居民确认", evidence=("services/2024/done-0001.jpg",))


@dataclass
class _World:
    """What the phases of the demo share."""

    s: _Services
    estates: dict[int, Estate]
    companies: dict[str, PropertyCompany]
    stations: dict[int, ServiceStation]
    head: int
    widow: int
    grid_worker: int
    volunteers: list[int] = field(default_factory=list)
    running: ServiceTeam | None = None
    sentiment: ServiceTeam | None = None
    wulibei_teams: list[ServiceTeam] = field(default_factory=list)
    wulibei_people: list[Person] = field(default_factory=list)
    stewards: ServiceTeam | None = None
    others: dict[int, ServiceTeam] = field(default_factory=dict)
    items: dict[str, ServiceItem] = field(default_factory=dict)

    @property
    def session(self) -> AsyncSession:
        return self.s.s

    @property
    def demo(self) -> DemoCity:
        return self.s.demo

    @property
    def now(self) -> datetime:
        return self.s.now

    def team(self, name: str) -> ServiceTeam:
        found = {"running": self.running, "sentiment": self.sentiment, "stewards": self.stewards}
        team = found[name]
        assert team is not None
        return team


async def _teams(w: _World) -> None:
    seeder, demo = w.s, w.demo
    renheyuan, lingxi, wulibei = demo.renheyuan, demo.lingxi, demo.wulibei
    w.volunteers = [p for p in await seeder.holders(Role.VOLUNTEER, renheyuan) if p != w.head]
    members = [w.head, *w.volunteers[:6], _pk(demo.renter)]
    w.running = await seeder.team(renheyuan, "仁和苑红色跑团", TeamKind.RED_RUNNING, members)
    w.sentiment = await seeder.team(
        renheyuan,
        "仁和苑民情小分队",
        TeamKind.PUBLIC_SENTIMENT,
        [w.grid_worker, *w.volunteers[6:10]],
    )
    w.wulibei_people = await seeder.residents_of(wulibei)
    party_first = sorted(w.wulibei_people, key=lambda p: (not p.is_party_member, _pk(p)))
    for i, (name, category) in enumerate(_WULIBEI_TEAMS):
        team_members = [_pk(p) for p in party_first[i * 5 : i * 5 + 5]]
        w.wulibei_teams.append(
            await seeder.team(
                wulibei,
                name,
                TeamKind.VOLUNTEER,
                team_members,
                category=category,
                founded=w.now - 500 * _DAY,
            )
        )
    cadres = await seeder.holders(Role.SECONDED_CADRE, lingxi)
    w.stewards = await seeder.team(lingxi, "灵犀社区楼栋红管家队", TeamKind.STEWARDS, cadres)
    for community_id in w.stations:
        community = await w.session.get(OrgUnit, community_id)
        assert community is not None
        if community_id in (_pk(renheyuan), _pk(lingxi), _pk(wulibei)):
            continue
        people = await seeder.holders(Role.VOLUNTEER, community) or [
            _pk(p) for p in (await seeder.residents_of(community, party=True))[:4]
        ]
        stem = community.name.removesuffix("社区")
        w.others[community_id] = await seeder.team(
            community, f"{stem}红色跑团", TeamKind.RED_RUNNING, people[:6]
        )


async def _catalogue(w: _World) -> None:
    seeder, demo = w.s, w.demo
    station = w.stations[_pk(demo.renheyuan)]
    company = w.companies["汇川区"]
    running = w.team("running")
    for code in ("PROXY_PURCHASE", "DIGITAL_HELP", "ESCORT_TO_HOSPITAL", "HOME_HEALTH_CHECK"):
        w.items[code] = await seeder.item(code, team=running)
    await seeder.item("HAIRCUT", team=running)
    for code in ("MEAL_ASSISTANCE", "LEGAL_AID", "CHILD_GROWTH", "PSYCHOLOGICAL"):
        w.items[code] = await seeder.item(code, station=station)
    w.items["REPAIRS"] = await seeder.item("REPAIRS", company=company)
    await seeder.item("ENVIRONMENT", company=company)
    for team, (_, code) in zip(w.wulibei_teams, _WULIBEI_TEAMS, strict=True):
        await seeder.item(code, team=team)
    for community_id, team in w.others.items():
        await seeder.item("PROXY_PURCHASE", team=team)
        await seeder.item("DIGITAL_HELP", team=team)
        await seeder.item("LEGAL_AID", station=w.stations[community_id])
    await seeder.item("VETERAN_SERVICES", station=w.stations[_pk(demo.lingxi)])
    await seeder.item("SECURITY_PATROL", team=w.team("stewards"))
    await seeder.item("DISPUTE_MEDIATION", team=w.team("stewards"))


async def _posts(w: _World) -> None:
    session, demo, now = w.session, w.demo, w.now
    registered = await w.s.holders(Role.REGISTERED_PARTY_MEMBER, demo.renheyuan)
    await rs.create_party_post(
        session,
        building_id=_pk(demo.building),
        kind=PostKind.PIONEER_POST,
        holder_id=w.head,
        title="楼道安全先锋岗",
        area="1-2单元楼道",
        duties="每周巡查楼道堆物、电线，劝导电动车不进楼",
        now=now - 250 * _DAY,
    )
    await rs.create_party_post(
        session,
        building_id=_pk(demo.building),
        kind=PostKind.RESPONSIBILITY_AREA,
        holder_id=next(p for p in registered if p != w.head),
        title="党员责任区",
        area="2单元1-6楼",
        duties="联系独居老人，收集诉求，组织清洁日",
        now=now - 250 * _DAY,
    )
    titles = ("环境卫生先锋岗", "邻里调解先锋岗", "关爱老人先锋岗")
    for building_id in (await _buildings_under(session, demo.renheyuan))[1:8:2]:
        await rs.create_party_post(
            session,
            building_id=building_id,
            kind=PostKind.PIONEER_POST,
            holder_id=w.s.rng.choice(registered),
            title=w.s.rng.choice(titles),
            now=now - 200 * _DAY,
        )


async def _door_visits(w: _World) -> tuple[DoorVisit, int]:
    """The grid worker's visit to the widow (a need, answered by an order below), and the
    visits of 仁和苑, 灵犀 (its cadres) and 五里碑 with disputes found and mediated."""
    demo, now = w.demo, w.now
    widow_home = demo.resident_alone.household_id
    assert widow_home is not None
    visit = await rs.record_visit(
        w.session,
        household_id=widow_home,
        visitor_id=w.grid_worker,
        kind=VisitKind.BIG_VISIT,
        visited_at=now - 9 * _DAY,
        notes="独居，腿脚不便，女儿在外地；希望有人帮忙买菜买药。",
        team_id=_pk(w.team("sentiment")),
        findings=[
            rs.FindingDraft(
                FindingKind.NEED,
                "需要代购生活用品和降压药",
                _pk(w.s.categories["PROXY_PURCHASE"]),
            )
        ],
        now=now - 9 * _DAY,
    )
    need = await _first_finding(w.session, _pk(visit))
    lingxi_cadres = await w.s.holders(Role.SECONDED_CADRE, demo.lingxi)
    wulibei_visitors = [_pk(p) for p in w.wulibei_people if p.is_party_member][:10]
    await _visits(w.s, demo.renheyuan, [w.grid_worker, *w.volunteers[6:8]], 6, 2, 1)
    await _visits(w.s, demo.lingxi, lingxi_cadres, 24, 6, 5)
    await _visits(w.s, demo.wulibei, wulibei_visitors or [w.grid_worker], 10, 3, 2)
    return visit, need


async def _orders(w: _World, need: int) -> tuple[ServiceOrder, ServiceOrder]:
    """Orders in every status: the widow's (from the visit, done by the head, rated),
    dispatched, waiting, accepted, returned, cancelled, done by 红管家 and by 五里碑's teams."""
    seeder, demo, now, session = w.s, w.demo, w.now, w.session
    act, head, worker = OrderAction, w.head, w.grid_worker
    running = w.team("running")
    order_done = await seeder.order(
        w.items["PROXY_PURCHASE"],
        w.widow,
        [
            (act.DISPATCH, worker, _dispatch(running)),
            (act.ACCEPT, head, rs.Step()),
            (act.SCHEDULE, head, rs.Step(scheduled_for=now - 7 * _DAY)),
            (act.COMPLETE, head, rs.Step(note="买了米、油和降压药，已送到家", minutes=90)),
        ],
        age=8 * _DAY,
        recorded_by=worker,
        details="大米一袋、食用油一桶、降压药（硝苯地平）",
        rating=RatingValue.BASICALLY_SATISFIED,
        finding=need,
    )
    people = await seeder.residents_of(demo.renheyuan)
    home = [_pk(p) for p in people]
    elders = [_pk(p) for p in people if p.is_elderly and _pk(p) != w.widow]
    neighbour = next(p for p in elders if p != _pk(demo.party_member))
    order_dispatched = await seeder.order(
        w.items["ESCORT_TO_HOSPITAL"],
        neighbour,
        [(act.DISPATCH, worker, _dispatch(running))],
        age=3 * _HOUR,
        recorded_by=worker,
        details="下周二去市一医院复查，需要陪同",
    )
    await seeder.order(
        w.items["HOME_HEALTH_CHECK"],
        _pk(demo.party_member),
        [],
        age=2 * _HOUR,
        details="想每月量一次血压",
    )
    await seeder.order(w.items["DIGITAL_HELP"], _pk(demo.renter), [], age=26 * _HOUR)
    station = w.stations[_pk(demo.renheyuan)]
    await seeder.order(
        w.items["MEAL_ASSISTANCE"],
        elders[-1],
        [(act.DISPATCH, worker, _dispatch(station=station))],
        age=5 * _HOUR,
        recorded_by=worker,
    )
    accepted = [(act.DISPATCH, worker, _dispatch(running)), (act.ACCEPT, head, rs.Step())]
    await seeder.order(w.items["DIGITAL_HELP"], home[7], accepted, age=20 * _HOUR)
    returned = [
        (act.DISPATCH, worker, _dispatch(running)),
        (act.RETURN, head, rs.Step(note="本周队员都有任务，请改派")),
    ]
    await seeder.order(w.items["DIGITAL_HELP"], home[9], returned, age=10 * _HOUR)
    cancelled = [(act.CANCEL, home[11], rs.Step(note="已学会了"))]
    await seeder.order(w.items["DIGITAL_HELP"], home[11], cancelled, age=3 * _DAY)
    company = w.companies["汇川区"]
    for i, resident in enumerate((await _managed_residents(session, company))[:4]):
        steps: list[tuple[OrderAction, int | None, rs.Step]] = [
            (act.DISPATCH, None, _dispatch(company=company))
        ]
        staff = await _staff_of(session, resident)
        if staff is not None and i % 2 == 0:
            steps += [(act.ACCEPT, staff, rs.Step()), (act.COMPLETE, staff, _DONE_NOTE)]
        rating = RatingValue.SATISFIED if len(steps) == 3 else None
        await seeder.order(w.items["REPAIRS"], resident, steps, age=(5 + i) * _DAY, rating=rating)
    for team in w.wulibei_teams[:4]:
        item = await _item_of(session, team)
        leader = await _leader_of(session, team)
        for person in w.wulibei_people[-8:][:2]:
            if not rules.eligible(person, item.eligibility):
                continue
            await seeder.order(
                item,
                _pk(person),
                [
                    (act.DISPATCH, None, _dispatch(team)),
                    (act.ACCEPT, leader, rs.Step()),
                    (act.COMPLETE, leader, _DONE_NOTE),
                ],
                age=seeder.rng.randint(3, 40) * _DAY,
                rating=RatingValue.SATISFIED,
            )
    return order_done, order_dispatched


async def _activities(w: _World) -> VolunteerActivity:
    """An upcoming 楼道清洁日 with sign-ups; a finished 重阳 festival and three past team
    activities with their check-ins (hours credited)."""
    session, demo, now = w.session, w.demo, w.now
    upcoming = await rs.create_activity(
        session,
        rs.ActivityDraft(
            title="楼道清洁日",
            kind=ActivityKind.CLEAN_UP,
            place="仁和苑1-3栋楼道",
            starts_at=now + 3 * _DAY,
            ends_at=now + 3 * _DAY + 3 * _HOUR,
            capacity=20,
            team_id=_pk(w.team("running")),
            description="清理楼道杂物、小广告，整理电动车停放",
        ),
        created_by_id=w.head,
        now=now - 2 * _DAY,
    )
    for person in w.volunteers[:4]:
        await rs.sign_up(session, activity_id=_pk(upcoming), person_id=person, now=now - _DAY)
    start = now - 20 * _DAY
    festival = await rs.create_activity(
        session,
        rs.ActivityDraft(
            title="我们的节日·重阳敬老文艺汇演",
            kind=ActivityKind.FESTIVAL,
            place="仁和苑社区广场",
            starts_at=start,
            ends_at=start + 3 * _HOUR,
            capacity=60,
            station_id=_pk(w.stations[_pk(demo.renheyuan)]),
            description="快板、黔北花灯、广场舞，为八十岁以上老人送长寿面",
        ),
        created_by_id=None,
        now=start - 10 * _DAY,
    )
    home = [_pk(p) for p in await w.s.residents_of(demo.renheyuan)]
    for person in dict.fromkeys([*w.volunteers, *home[:20:2]]):
        await rs.sign_up(session, activity_id=_pk(festival), person_id=person, now=start - _DAY)
        await rs.check_in(
            session,
            activity_id=_pk(festival),
            person_id=person,
            checked_in_by_id=None,
            now=start + 10 * _MINUTE,
        )
    await rs.act_on_activity(
        session, _pk(festival), ActivityAction.FINISH, 1, None, now=start + 4 * _HOUR
    )
    past = (
        ("政策宣讲进楼栋", ActivityKind.POLICY_OUTREACH, demo.wulibei, w.wulibei_teams[3]),
        ("微走访·独居老人", ActivityKind.MICRO_VISIT, demo.lingxi, w.team("stewards")),
        ("邻里百家宴", ActivityKind.NEIGHBOURHOOD, demo.wulibei, w.wulibei_teams[4]),
    )
    for i, (title, kind, community, team) in enumerate(past):
        begins = now - (12 + 7 * i) * _DAY
        done = await rs.create_activity(
            session,
            rs.ActivityDraft(
                title=title,
                kind=kind,
                place=f"{community.name}党群服务中心",
                starts_at=begins,
                ends_at=begins + 2 * _HOUR,
                capacity=40,
                team_id=_pk(team),
            ),
            created_by_id=None,
            now=begins - 7 * _DAY,
        )
        crowd = await w.s.holders(Role.SECONDED_CADRE, community) if team is w.stewards else []
        crowd += [_pk(p) for p in (await w.s.residents_of(community))[i * 3 : i * 3 + 12]]
        for person in dict.fromkeys(crowd):
            await rs.check_in(
                session,
                activity_id=_pk(done),
                person_id=person,
                checked_in_by_id=None,
                now=begins + 5 * _MINUTE,
            )
    return upcoming


_DEEDS: Final = (
    "帮独居老人更换灯泡",
    "协调修复单元门禁",
    "清理楼顶杂物",
    "为老人代缴水电费",
    "调解楼上楼下漏水纠纷",
)


async def _cadre_services(w: _World) -> None:
    """下沉干部在楼栋开展志愿服务、办理实事好事: two lines per cadre post at a building."""
    posts = (
        await w.session.execute(
            sa.select(col(Position.person_id), col(Position.building_id))
            .where(
                col(Position.role) == Role.SECONDED_CADRE, col(Position.building_id).is_not(None)
            )
            .order_by(col(Position.id))
        )
    ).all()
    for i, (cadre, building) in enumerate(posts):
        for k in range(2):
            await rs.record_service(
                w.session,
                person_id=_int(cadre),
                building_id=_int(building),
                kind=HoursKind.GOOD_DEED if (i + k) % 3 == 0 else HoursKind.SERVICE,
                minutes=w.s.rng.choice((30, 60, 90, 120)),
                note=_DEEDS[(i + k) % len(_DEEDS)],
                recorded_by_id=int(cadre),
                now=w.now - (i + 3 * k + 1) * _DAY,
            )


async def _emergency(w: _World) -> None:
    """An emergency of 灵犀, over: its cadres went down to their buildings and checked in."""
    began = w.now - 40 * _DAY
    period = await rs.start_emergency(
        w.session,
        org_unit_id=_pk(w.demo.lingxi),
        reason="强降雨防汛：全员下沉楼栋排查隐患",
        started_by_id=None,
        now=began,
    )
    roster = await w.session.execute(
        sa.text("SELECT id FROM emergency_roster WHERE period_id = :p ORDER BY id"),
        {"p": period.id},
    )
    for k, entry in enumerate(roster.scalars().all()):
        if k % 4 != 3:
            await rs.check_in_emergency(
                w.session, roster_id=int(entry), now=began + (k + 1) * 10 * _MINUTE
            )
    await rs.end_emergency(
        w.session,
        org_unit_id=_pk(w.demo.lingxi),
        note="雨情解除，恢复常态",
        ended_by_id=None,
        now=w.now - 38 * _DAY,
    )


async def seed_demo_services(
    session: AsyncSession, demo: DemoCity, *, now: datetime | None = None
) -> DemoServices:
    """Every entity of services in the building, flushed (not committed)."""
    seeder = _Services(session, demo, now or utcnow())
    for category in await rs.list_categories(session):
        seeder.categories[category.code] = category
    centre, estates = await seeder.places()
    companies = await seeder.companies(estates)
    stations = await seeder.stations(centre, estates)
    w = _World(
        seeder,
        estates,
        companies,
        stations,
        head=_pk(demo.building_head),
        widow=_pk(demo.resident_alone),
        grid_worker=_pk(demo.grid_worker),
    )
    await _teams(w)
    await _catalogue(w)
    await _posts(w)
    visit, need = await _door_visits(w)
    order_done, order_dispatched = await _orders(w, need)
    activity = await _activities(w)
    await _cadre_services(w)
    await _emergency(w)
    company = companies["汇川区"]
    managed = next(
        e
        for e in estates.values()
        if e.property_company_id == company.id and is_under(e.path, demo.renheyuan.path)
    )
    return DemoServices(
        estate=estates[demo.building.grid_id],
        managed_estate=managed,
        property_company=company,
        station=await rs.reload_row(session, ServiceStation, _pk(stations[_pk(demo.renheyuan)])),
        running_team=await rs.reload_row(session, ServiceTeam, _pk(w.team("running"))),
        wulibei_teams=tuple(w.wulibei_teams),
        stewards=w.team("stewards"),
        elderly_item=w.items["PROXY_PURCHASE"],
        open_item=w.items["DIGITAL_HELP"],
        order_done=await rs.ORDERS.load(session, _pk(order_done)),
        order_dispatched=await rs.ORDERS.load(session, _pk(order_dispatched)),
        activity=await rs.ACTIVITIES.load(session, _pk(activity)),
        visit=visit,
    )


async def _first_finding(session: AsyncSession, visit_id: int) -> int:
    found = await session.scalar(
        sa.select(col(VisitFinding.id))
        .where(col(VisitFinding.visit_id) == visit_id)
        .order_by(col(VisitFinding.id))
        .limit(1)
    )
    assert found is not None
    return int(found)


async def _item_of(session: AsyncSession, team: ServiceTeam) -> ServiceItem:
    found = await session.scalar(
        sa.select(ServiceItem).where(col(ServiceItem.team_id) == team.id).limit(1)
    )
    assert found is not None
    return found


async def _leader_of(session: AsyncSession, team: ServiceTeam) -> int:
    found = await session.scalar(
        sa.select(col(TeamMember.person_id)).where(
            col(TeamMember.team_id) == team.id, col(TeamMember.role) == TeamRole.LEADER
        )
    )
    assert found is not None
    return int(found)


async def _person(session: AsyncSession, ident: int) -> Person:
    found = await session.get(Person, ident)
    assert found is not None
    return found


async def _buildings_under(session: AsyncSession, unit: OrgUnit) -> list[int]:
    rows = await session.execute(
        sa.select(col(Building.id))
        .where(col(Building.path).op("<@")(unit.path))
        .order_by(col(Building.id))
    )
    return [_int(b) for b in rows.scalars()]


async def _managed_residents(session: AsyncSession, company: PropertyCompany) -> list[int]:
    rows = await session.execute(
        sa.select(col(Person.id))
        .join(Household, col(Household.id) == col(Person.household_id))
        .join(Building, col(Building.id) == col(Household.building_id))
        .join(Estate, col(Estate.id) == col(Building.estate_id))
        .where(
            col(Estate.property_company_id) == company.id, col(Person.birth_date) < date(2004, 1, 1)
        )
        .order_by(col(Person.id))
    )
    return [_int(p) for p in rows.scalars()][::5]


async def _staff_of(session: AsyncSession, resident: int) -> int | None:
    found = await session.scalar(
        sa.select(col(Position.person_id))
        .join(Household, col(Household.building_id) == col(Position.building_id))
        .join(Person, col(Person.household_id) == col(Household.id))
        .where(
            col(Person.id) == resident,
            col(Position.role) == Role.PROPERTY_STAFF,
            col(Position.ended_at).is_(None),
        )
        .order_by(col(Position.id))
        .limit(1)
    )
    return int(found) if found is not None else None


async def _visits(
    seeder: _Services,
    community: OrgUnit,
    visitors: Sequence[int],
    count: int,
    disputes: int,
    resolved: int,
) -> None:
    """`count` visits to households of a community, `disputes` of them finding a dispute,
    `resolved` of those mediated."""
    rng, now = seeder.rng, seeder.now
    homes = list(
        (
            await seeder.s.execute(
                sa.select(col(Household.id))
                .where(col(Household.path).op("<@")(community.path))
                .order_by(col(Household.id))
            )
        ).scalars()
    )
    for k in range(count):
        findings: list[rs.FindingDraft] = []
        if k < disputes:
            findings.append(
                rs.FindingDraft(
                    FindingKind.DISPUTE,
                    rng.choice(_DISPUTES),
                    _pk(seeder.categories["DISPUTE_MEDIATION"]),
                )
            )
        elif k % 3 == 0:
            code, text = rng.choice(_NEEDS)
            findings.append(rs.FindingDraft(FindingKind.NEED, text, _pk(seeder.categories[code])))
        elif k % 5 == 1:
            findings.append(rs.FindingDraft(FindingKind.HAZARD, rng.choice(_HAZARDS)))
        at = now - rng.randint(2, 80) * _DAY
        visit = await rs.record_visit(
            seeder.s,
            household_id=_int(homes[(k * 7) % len(homes)]),
            visitor_id=visitors[k % len(visitors)],
            kind=VisitKind.HOME_VISIT if k % 2 else VisitKind.BIG_VISIT,
            visited_at=at,
            notes=rng.choice(_VISIT_NOTES),
            findings=findings,
            now=at,
        )
        if k < resolved:
            finding = (
                await seeder.s.execute(
                    sa.text("SELECT id FROM visit_finding WHERE visit_id = :v"), {"v": visit.id}
                )
            ).scalar_one()
            await rs.resolve_finding(
                seeder.s,
                finding_id=int(finding),
                note="网格员和楼栋长上门调解，双方达成一致",
                resolved_by_id=visitors[k % len(visitors)],
                now=at + 2 * _DAY,
            )


# --- the city scale ---------------------------------------------------------------------------

CITY_SERVICES_SEED: Final = 5203002026


@dataclass(frozen=True)
class ServiceTargets:
    """The seed text's figures (and the few it implies)."""

    stations: int = 519  # 红城驿站·睦邻之家
    party_property_companies: int = 108  # 推动108个物业公司成立党组织
    other_property_companies: int = 42
    running_teams: int = 200  # 红色跑团 200余支
    cadre_services: int = 41_000  # 下沉干部 志愿服务4.1万余次
    cadre_good_deeds: int = 18_000  # 实事好事1.8万余件
    activities: int = 2_300  # 文艺展演、"我们的节日"等活动2300余场次
    volunteers: int = 190_000  # 19余万名党员干部、居民群众参与志愿服务
    handled_orders: int = 23_000  # 处置各类诉求2.3万余件
    open_orders: int = 2_000
    wulibei_teams: int = 7  # 五里碑: 7支志愿服务队
    wulibei_members: int = 120  # 120余名党员、群众
    lingxi_cadres: int = 44  # 灵犀: 44名区级、街道党员干部
    lingxi_visits: int = 200  # 入户走访200余次
    lingxi_disputes: int = 48  # 收集化解矛盾纠纷48条
    other_visits: int = 20_000
    party_posts: int = 6_000


SERVICE_TARGETS: Final = ServiceTargets()
#: Where each district's centre lies (GCJ-02): the county seats.
CITY_CENTRES: Final = {
    **DISTRICT_CENTRES,
    "桐梓县": (28.1335, 106.8258),
    "绥阳县": (27.9466, 107.1911),
    "正安县": (28.5536, 107.4536),
    "道真仡佬族苗族自治县": (28.8640, 107.6132),
    "务川仡佬族苗族自治县": (28.5631, 107.8988),
    "凤冈县": (27.9542, 107.7165),
    "湄潭县": (27.7487, 107.4654),
    "余庆县": (27.2155, 107.9055),
    "习水县": (28.3331, 106.1971),
    "赤水市": (28.5904, 105.6975),
}
_CITY_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "property_company": (
        "id", "name", "credit_code", "org_unit_id", "hotline", "has_party_organisation",
        "party_organisation_since", "path",
    ),
    "estate": ("id", "grid_id", "name", "property_company_id", "latitude", "longitude", "path"),
    "service_station": (
        "id", "name", "community_id", "estate_id", "address", "hotline", "latitude", "longitude",
        "opening_hours", "facilities", "path",
    ),
    "station_building": ("id", "station_id", "building_id", "path"),
    "station_manager": ("id", "station_id", "position_id", "path", "added_at"),
    "service_team": ("id", "name", "kind", "community_id", "category_id", "path", "founded_at"),
    "team_member": ("id", "team_id", "person_id", "role", "path", "joined_at"),
    "service_item": (
        "id", "category_id", "name", "description", "station_id", "team_id",
        "property_company_id", "eligibility", "default_minutes", "path",
    ),
    "party_post": (
        "id", "kind", "building_id", "holder_id", "registration_id", "title", "area", "path",
        "started_at",
    ),
    "service_order": (
        "id", "item_id", "category_id", "resident_id", "recorded_by_id", "channel", "building_id",
        "household_id", "contact_name", "contact_phone", "address", "path", "owner_level",
        "owner_path", "owner_org_unit_id", "queue_rank", "details", "team_id", "station_id",
        "assignee_id", "scheduled_for", "evidence", "completion_note", "minutes", "status",
        "version", "idempotency_key", "content_hash", "submitted_at", "due_at", "dispatched_at",
        "accepted_at", "done_at", "closed_at", "status_changed_at",
    ),
    "service_order_event": (
        "id", "order_id", "action", "from_status", "to_status", "actor_person_id", "note",
        "version", "path", "at",
    ),
    "service_rating": ("id", "order_id", "rating", "comment", "path", "at"),
    "volunteer_activity": (
        "id", "title", "kind", "team_id", "station_id", "org_unit_id", "place", "starts_at",
        "ends_at", "capacity", "signed_up", "checked_in", "minutes", "status", "version", "path",
        "created_at", "status_changed_at",
    ),
    "volunteer_activity_event": (
        "id", "activity_id", "action", "from_status", "to_status", "version", "path", "at",
    ),
    "activity_signup": (
        "id", "activity_id", "person_id", "path", "signed_up_at", "checked_in_at",
    ),
    "volunteer_hours": (
        "id", "person_id", "kind", "minutes", "source_type", "source_id", "note", "as_cadre",
        "path", "at",
    ),
    "door_visit": (
        "id", "household_id", "building_id", "visitor_id", "team_id", "kind", "visited_at",
        "notes", "path", "recorded_at",
    ),
    "visit_finding": (
        "id", "visit_id", "kind", "category_id", "description", "recorded_by_id", "outcome",
        "resolution_note", "followed_up_by_id", "followed_up_at", "resolved_at", "path",
    ),
    "emergency_period": (
        "id", "org_unit_id", "reason", "path", "started_at", "ended_at", "end_note",
    ),
    "emergency_roster": (
        "id", "period_id", "cadre_id", "position_id", "building_id", "path", "rostered_at",
        "checked_in_at", "ended_at",
    ),
}  # fmt: skip


@dataclass
class _CBuilding:
    id: int
    grid: int
    community: int
    district: int
    name: str
    path: str
    latitude: float = 0.0
    longitude: float = 0.0
    estate: int | None = None
    households: list[tuple[int, str, str, str]] = field(
        default_factory=list
    )  # id, unit, room, path


@dataclass
class _CResident:
    id: int
    name: str
    phone: str | None
    household: int
    building: int
    rank: int
    groups: frozenset[str]


_OPEN_CITY: Final = frozenset(
    {"SUBMITTED", "DISPATCHED", "ACCEPTED", "SCHEDULED", "RETURNED", "ESCALATED"}
)
#: The steps an order of each status took (its timeline after SUBMIT).
_CITY_FLOWS: Final[dict[str, tuple[str, ...]]] = {
    "SUBMITTED": (),
    "DISPATCHED": ("DISPATCH",),
    "ACCEPTED": ("DISPATCH", "ACCEPT"),
    "SCHEDULED": ("DISPATCH", "ACCEPT", "SCHEDULE"),
    "DONE": ("DISPATCH", "ACCEPT", "COMPLETE"),
    "CLOSED": ("DISPATCH", "ACCEPT", "SCHEDULE", "COMPLETE", "CLOSE"),
    "CLOSED_UNRATED": ("DISPATCH", "ACCEPT", "COMPLETE", "CLOSE_UNRATED"),
    "RETURNED": ("DISPATCH", "RETURN"),
    "ESCALATED": ("ESCALATE",),
    "CANCELLED": ("CANCEL",),
    "REJECTED": ("REJECT",),
}
_CITY_TARGETS: Final = {
    "DISPATCH": "DISPATCHED",
    "ACCEPT": "ACCEPTED",
    "SCHEDULE": "SCHEDULED",
    "COMPLETE": "DONE",
    "CLOSE": "CLOSED",
    "CLOSE_UNRATED": "CLOSED_UNRATED",
    "RETURN": "RETURNED",
    "ESCALATE": "ESCALATED",
    "CANCEL": "CANCELLED",
    "REJECT": "REJECTED",
}


@dataclass
class _Run:
    """One city order walked through its steps: what each step sets, and its timeline."""

    city: _CityServices
    resident: _CResident
    building: _CBuilding
    provider: tuple[str, int]
    doer: int
    dispatcher: int | None
    at: datetime
    current: str = "SUBMITTED"
    steps: list[tuple[str, str | None, str, int | None, datetime]] = field(default_factory=list)
    team: int | None = None
    station: int | None = None
    assignee: int | None = None
    dispatched: datetime | None = None
    accepted: datetime | None = None
    scheduled: datetime | None = None
    done: datetime | None = None
    closed: datetime | None = None
    owner_level: str = "COMMUNITY"
    owner_path: str = ""
    due: datetime | None = None

    def __post_init__(self) -> None:
        self.owner_path = ".".join(self.building.path.split(".")[:4])
        self.due = self.at + rs.RESPONSE_WITHIN[self.resident.rank]
        self.steps.append(("SUBMIT", None, "SUBMITTED", self.resident.id, self.at))

    def step(self, action: str) -> None:
        rng = self.city.rng
        gaps = {"COMPLETE": rng.uniform(6, 60), "CLOSE": rng.uniform(2, 100), "CLOSE_UNRATED": 168}
        self.at += timedelta(hours=gaps.get(action, rng.uniform(0.2, 4)))
        by_doer = action in ("ACCEPT", "SCHEDULE", "COMPLETE", "RETURN")
        by_resident = action in ("CLOSE", "CANCEL")
        by_dispatcher = action in ("DISPATCH", "REJECT")
        actor = (
            self.doer if by_doer else self.resident.id if by_resident
            else self.dispatcher if by_dispatcher else None
        )  # fmt: skip
        self.steps.append((action, self.current, _CITY_TARGETS[action], actor, self.at))
        self.current = _CITY_TARGETS[action]
        respond = self.at + rs.RESPONSE_WITHIN[self.resident.rank]
        if action == "DISPATCH":
            self.dispatched, self.due = self.at, respond
            kind, ident = self.provider
            self.team, self.station = (ident, None) if kind == "team" else (None, ident)
        elif action == "ACCEPT":
            self.accepted, self.assignee = self.at, self.doer
        elif action == "SCHEDULE":
            self.scheduled = self.at + timedelta(days=1)
        elif action == "COMPLETE":
            self.done = self.at
        elif action in ("CLOSE", "CLOSE_UNRATED", "CANCEL", "REJECT"):
            self.closed = self.at
        elif action == "RETURN":
            self.team = self.station = None
            self.due = respond
        elif action == "ESCALATE":
            self.owner_level, self.owner_path = (
                "STREET",
                ".".join(self.building.path.split(".")[:3]),
            )
            self.due = respond


class _CityServices:
    """The city's services, planned as plain rows with ids and paths, then copied."""

    def __init__(
        self, rng: random.Random, until: datetime, targets: ServiceTargets, first: dict[str, int]
    ) -> None:
        self.rng = rng
        self.until = until
        self.targets = targets
        #: the first id of each table (the tables may hold rows already)
        self.first = first
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _CITY_COLUMNS}
        self.units: dict[int, tuple[str, str, int | None, str, str | None]] = {}
        self.buildings: dict[int, _CBuilding] = {}
        self.by_community: dict[int, list[_CBuilding]] = defaultdict(list)
        self.residents: dict[int, list[_CResident]] = defaultdict(list)  # by community
        self.positions: dict[str, list[tuple[int, int, int | None, int | None, str]]] = defaultdict(
            list
        )
        self.categories: dict[str, int] = {}
        self.centre: dict[int, tuple[float, float]] = {}
        self.hours_people: set[int] = set()
        self.teams: dict[int, int] = {}  # community -> its 红色跑团
        self.lingxi_team = 0
        self.lingxi_cadres: list[int] = []

    def next_id(self, table: str) -> int:
        return self.first[table] + len(self.rows[table])

    def add(self, table: str, *values: Any) -> int:
        ident = self.next_id(table)
        self.rows[table].append((ident, *values))
        return ident

    def ago(self, days: float) -> datetime:
        return self.until - timedelta(days=days)

    # -- reading the city ----------------------------------------------------------------------

    def read(self, conn: psycopg.Connection[Any]) -> None:
        for ident, kind, name, parent, path, grid_type in conn.execute(
            "SELECT id, kind, name, parent_id, path::text, grid_type FROM org_unit ORDER BY id"
        ):
            self.units[ident] = (kind, name, parent, path, grid_type)
        for ident, grid, name, path in conn.execute(
            "SELECT id, grid_id, name, path::text FROM building ORDER BY id"
        ):
            labels = path.split(".")
            b = _CBuilding(ident, grid, int(labels[3]), int(labels[1]), name, path)
            self.buildings[ident] = b
            self.by_community[b.community].append(b)
        for ident, building, unit, room, path in conn.execute(
            "SELECT id, building_id, unit, room, path::text FROM household ORDER BY id"
        ):
            self.buildings[building].households.append((ident, unit, room, path))
        household_building = {h[0]: b.id for b in self.buildings.values() for h in b.households}
        flags = (
            ("is_elderly", Eligibility.ELDERLY), ("lives_alone", Eligibility.LIVES_ALONE),
            ("is_veteran", Eligibility.VETERAN), ("is_party_member", Eligibility.PARTY_MEMBER),
            ("is_renter", Eligibility.RENTER),
        )  # fmt: skip
        for row in conn.execute(
            """SELECT id, name, phone, household_id, is_elderly, lives_alone, is_veteran,
                      is_party_member, is_renter
                 FROM person WHERE household_id IS NOT NULL
                  AND birth_date < DATE '2008-01-01' ORDER BY id"""
        ):
            ident, name, phone, household, *values = row
            building = self.buildings[household_building[household]]
            mine = dict(zip((f for f, _ in flags), values, strict=True))
            rank = 2 if mine["is_elderly"] and mine["lives_alone"] else int(mine["lives_alone"])
            groups = frozenset(str(g) for f, g in flags if mine[f])
            self.residents[building.community].append(
                _CResident(ident, name, phone, household, building.id, rank, groups)
            )
        for ident, person, role, unit, building, path in conn.execute(
            """SELECT id, person_id, role, org_unit_id, building_id, path::text FROM position
                WHERE ended_at IS NULL AND role IN ('VOLUNTEER', 'SECONDED_CADRE',
                      'REGISTERED_PARTY_MEMBER', 'COMMUNITY_ADMIN', 'PROPERTY_STAFF',
                      'GRID_WORKER') ORDER BY id"""
        ):
            self.positions[role].append((ident, person, unit, building, path))
        self.categories = dict(conn.execute("SELECT code, id FROM service_category"))

    def community_of(self, path: str) -> int:
        return int(path.split(".")[3])

    def of_community(self, role: str) -> dict[int, list[tuple[int, int, str]]]:
        """(position, person, path) of a role, by the community its place lies in."""
        found: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
        for ident, person, _, _, path in self.positions[role]:
            if path.count(".") >= 3:
                found[self.community_of(path)].append((ident, person, path))
        return found

    # -- places ---------------------------------------------------------------------------

    def _jitter(self, centre: tuple[float, float], spread: float) -> tuple[float, float]:
        lat, lon = centre
        return (
            round(lat + self.rng.uniform(-spread, spread), 6),
            round(lon + self.rng.uniform(-spread, spread), 6),
        )

    def plan_places(self) -> None:
        """Coordinates of communities, grids and buildings; an estate per grid with its
        buildings (a few old buildings scattered outside any); 红色物业 companies managing the
        new, commercial and resettlement estates and a quarter of the old ones."""
        rng = self.rng
        for ident, (kind, _, _, path, _) in self.units.items():
            if kind == "COMMUNITY":
                seat = self.units[int(path.split(".")[1])][1]
                spread = 0.03 if seat in DISTRICT_CENTRES else 0.05
                self.centre[ident] = self._jitter(CITY_CENTRES[seat], spread)
        districts = {i: u for i, u in self.units.items() if u[0] == "DISTRICT"}
        made: dict[int, list[int]] = defaultdict(list)  # district -> companies
        brands = ("红城", "黔北", "凤凰", "娄山", "鸿鑫", "德润", "众诚", "安居", "和美", "金桂")
        total = self.targets.party_property_companies + self.targets.other_property_companies
        for k in range(total):
            district = list(districts)[k % len(districts)]
            name, path = districts[district][1], districts[district][3]
            party = k < self.targets.party_property_companies
            company = self.add(
                "property_company",
                f"{name.removesuffix('区').removesuffix('县').removesuffix('市')}"
                f"{brands[k // len(districts) % len(brands)]}物业服务有限公司第{k + 1}分公司",
                f"91520300MA{k:05d}X{k % 9}Y",
                district,
                f"0851-{2800_0000 + k}",
                party,
                date(2020, 1, 1) + timedelta(days=rng.randrange(1500)) if party else None,
                path,
            )
            made[district].append(company)
        for grid, buildings in self._grids().items():
            kind, name, _, path, grid_type = self.units[grid]
            community = int(path.split(".")[3])
            centre = self._jitter(self.centre[community], 0.006)
            self.centre[grid] = centre
            match = _BUILDING_NAME.match(buildings[0].name)
            estate_name = match.group(1) if match and match.group(1) else f"{name}小区"
            managed = grid_type != "OLD_ESTATE" or rng.random() < 0.25
            companies = made[int(path.split(".")[1])]
            manager = rng.choice(companies) if managed and companies else None
            estate = self.add("estate", grid, estate_name, manager, centre[0], centre[1], path)
            for building in buildings:
                building.latitude, building.longitude = self._jitter(centre, 0.0015)
                if grid_type != "OLD_ESTATE" or rng.random() > 0.05:
                    building.estate = estate

    def _grids(self) -> dict[int, list[_CBuilding]]:
        found: dict[int, list[_CBuilding]] = defaultdict(list)
        for building in self.buildings.values():
            found[building.grid].append(building)
        return found

    # -- providers ------------------------------------------------------------------------

    def plan_providers(self) -> tuple[dict[int, int], dict[int, list[int]]]:
        """519 stations, 200 红色跑团, 五里碑's 7 teams, 灵犀's 44 红管家 cadres; the items they
        offer; Party-member posts. Returns each community's station and team members."""
        rng = self.rng
        admins = {
            c: p for c, rows in self.of_community("COMMUNITY_ADMIN").items() for p in rows[:1]
        }
        communities = sorted(self.by_community, key=lambda c: -len(self.residents[c]))
        stations: dict[int, int] = {}  # community -> its first station
        grids = self._grids()
        counts = apportion(
            self.targets.stations,
            [float(len(self.residents[c]) or 1) for c in communities],
            minimum=1 if self.targets.stations >= len(communities) else 0,
        )
        for community, count in zip(communities, counts, strict=True):
            mine = sorted({b.grid for b in self.by_community[community]})
            for k in range(count):
                # each station serves a share of the community's grids, where they lie
                share = mine[k::count] or mine[:1]
                station = self._station(community, k, share, grids, admins.get(community))
                stations.setdefault(community, station)
        members: dict[int, list[int]] = {}
        volunteers = self.of_community("VOLUNTEER")
        for community in communities[: self.targets.running_teams]:
            _, name, _, path, _ = self.units[community]
            people = [p for _, p, _ in volunteers.get(community, [])][:10]
            residents = self.residents[community]
            people += [r.id for r in rng.sample(residents, min(6, len(residents)))]
            team = self._team(
                f"{name.removesuffix('社区')}红色跑团",
                "RED_RUNNING",
                community,
                None,
                list(dict.fromkeys(people)),
            )
            members[community] = list(dict.fromkeys(people))
            for code in ("PROXY_PURCHASE", "HOME_HEALTH_CHECK", "ESCORT_TO_HOSPITAL"):
                self._item(code, path, team=team)
            self.teams[community] = team
        self._wulibei()
        self._lingxi()
        self._companies_items()
        self._posts()
        return stations, members

    def _station(
        self,
        community: int,
        k: int,
        share: list[int],
        grids: dict[int, list[_CBuilding]],
        admin: tuple[int, int, str] | None,
    ) -> int:
        rng = self.rng
        _, name, _, path, _ = self.units[community]
        lat, lon = self._jitter(self.centre[share[0]], 0.002)
        served = [b for grid in share for b in grids[grid]]
        stem = name.removesuffix("社区")
        facilities = {"ACTIVITY_ROOM", "SERVICE_DESK", *rng.sample([f.value for f in Facility], 4)}
        station = self.add(
            "service_station",
            f"{stem}红城驿站·睦邻之家" if k == 0 else f"{stem}第{k + 1}睦邻之家",
            community,
            served[0].estate if served else None,
            f"{self.units[share[0]][1]}党群服务站",
            f"0851-{2900_0000 + community * 10 + k}",
            lat,
            lon,
            Jsonb([o.as_json() for o in _OPENING]),
            sorted(facilities),
            path,
        )
        for building in served:
            self.add("station_building", station, building.id, building.path)
        if admin is not None:
            self.add("station_manager", station, admin[0], path, self.ago(400))
        codes = ("MEAL_ASSISTANCE", "LEGAL_AID", "CHILD_GROWTH", "PSYCHOLOGICAL", "DIGITAL_HELP")
        for code in rng.sample(codes, 3):
            self._item(code, path, station=station)
        return station

    def _team(
        self, name: str, kind: str, community: int, category: str | None, people: Sequence[int]
    ) -> int:
        path = self.units[community][3]
        team = self.add(
            "service_team",
            name,
            kind,
            community,
            self.categories[category] if category else None,
            path,
            self.ago(self.rng.randint(400, 900)),
        )
        for i, person in enumerate(people):
            role = "LEADER" if i == 0 else "DEPUTY_LEADER" if i == 1 else "MEMBER"
            self.add("team_member", team, person, role, path, self.ago(self.rng.randint(30, 400)))
        return team

    def _item(
        self, code: str, path: str, *, station: int | None = None, team: int | None = None,
        company: int | None = None,
    ) -> int:  # fmt: skip
        name, description, groups = _ITEMS[code]
        return self.add(
            "service_item",
            self.categories[code],
            name,
            description,
            station,
            team,
            company,
            [str(g) for g in groups],
            self.rng.choice((30, 60, 60, 90, 120)),
            path,
        )

    def _named(self, name: str) -> int:
        return next(i for i, u in self.units.items() if u[1] == name and u[0] == "COMMUNITY")

    def _wulibei(self) -> None:
        """五里碑: 120 Party members and residents in 7 teams (矛盾调解、环境整治 ...)."""
        community = self._named("五里碑社区")
        people = sorted(
            self.residents[community], key=lambda r: ("PARTY_MEMBER" not in r.groups, r.id)
        )
        chosen = [r.id for r in people[: self.targets.wulibei_members]]
        sizes = apportion(len(chosen), [1.0] * self.targets.wulibei_teams)
        start = 0
        for (name, code), size in zip(_WULIBEI_TEAMS, sizes, strict=True):
            team = self._team(name, "VOLUNTEER", community, code, chosen[start : start + size])
            self._item(code, self.units[community][3], team=team)
            start += size

    def _lingxi(self) -> None:
        """灵犀: 44 district and street Party-member cadres in the 楼栋红管家 team."""
        community = self._named("灵犀社区")
        cadres = [p for _, p, _ in self.of_community("SECONDED_CADRE").get(community, [])]
        district = self.units[community][3].split(".")[1]
        if len(set(cadres)) < self.targets.lingxi_cadres:
            nearby = [
                p
                for _, p, _, _, path in self.positions["SECONDED_CADRE"]
                if path.split(".")[1] == district
            ]
            cadres += nearby
        chosen = list(dict.fromkeys(cadres))[: self.targets.lingxi_cadres]
        self.lingxi_team = self._team("灵犀社区楼栋红管家队", "STEWARDS", community, None, chosen)
        self.lingxi_cadres = chosen

    def _companies_items(self) -> None:
        for row in self.rows["property_company"]:
            self._item("REPAIRS", row[-1], company=row[0])
            self._item("ENVIRONMENT", row[-1], company=row[0])

    def _posts(self) -> None:
        """党员先锋岗 and 党员责任区, held by Party members registered with the community."""
        rng = self.rng
        registered = self.of_community("REGISTERED_PARTY_MEMBER")
        buildings = [b for b in self.buildings.values() if registered.get(b.community)]
        titles = ("楼道安全先锋岗", "环境卫生先锋岗", "邻里调解先锋岗", "关爱老人先锋岗")
        for building in rng.sample(buildings, min(len(buildings), self.targets.party_posts)):
            position, holder, _ = rng.choice(registered[building.community])
            responsibility = rng.random() < 0.4
            self.add(
                "party_post",
                "RESPONSIBILITY_AREA" if responsibility else "PIONEER_POST",
                building.id,
                holder,
                position,
                "党员责任区" if responsibility else rng.choice(titles),
                f"{rng.randint(1, 3)}单元" if responsibility else None,
                building.path,
                self.ago(rng.randint(30, 600)),
            )

    # -- orders (红色代办) ------------------------------------------------------------------

    def plan_orders(self, stations: dict[int, int], members: dict[int, list[int]]) -> None:
        """23,000 handled orders over two years, 2,000 open ones, some cancelled or
        rejected; each with its timeline, the rating when rated, and the volunteer time of
        the one who carried it out."""
        rng = self.rng
        admins = {
            c: p for c, rows in self.of_community("COMMUNITY_ADMIN").items() for _, p, _ in rows[:1]
        }
        managers = {s: admins.get(c) for c, s in stations.items()}
        items = defaultdict(list)  # (kind, provider) -> [(item, category, groups, minutes)]
        for ident, category, name, _, station, team, _, groups, minutes, _ in self.rows[
            "service_item"
        ]:
            if station is not None:
                items[("station", station)].append(
                    (ident, category, name, frozenset(groups), minutes)
                )
            elif team is not None:
                items[("team", team)].append((ident, category, name, frozenset(groups), minutes))
        places = [
            c for c in self.by_community if (c in self.teams or c in stations) and self.residents[c]
        ]
        weights = [len(self.residents[c]) for c in places]
        t = self.targets
        handled = apportion(t.handled_orders, [18, 4, 1])
        open_ = apportion(t.open_orders, [500, 700, 400, 250, 100, 50])
        dropped = apportion(round(t.handled_orders * 400 / 23_000), [3, 1])
        plan = [
            *zip(("CLOSED", "CLOSED_UNRATED", "DONE"), handled, strict=True),
            *zip(
                ("SUBMITTED", "DISPATCHED", "ACCEPTED", "SCHEDULED", "RETURNED", "ESCALATED"),
                open_,
                strict=True,
            ),
            *zip(("CANCELLED", "REJECTED"), dropped, strict=True),
        ]
        for status, count in plan:
            made = 0
            while made < count:
                [community] = rng.choices(places, weights)
                if community in self.teams and (community not in stations or rng.random() < 0.7):
                    provider = ("team", self.teams[community])
                    doers = members[community]
                else:
                    provider = ("station", stations[community])
                    doers = [p for p in (managers.get(stations[community]),) if p is not None]
                resident = rng.choice(self.residents[community])
                fitting = [i for i in items[provider] if not i[3] or i[3] & resident.groups]
                if fitting and doers:
                    self._order(
                        status, provider, rng.choice(fitting), resident, rng.choice(doers),
                        admins.get(community),
                    )  # fmt: skip
                    made += 1

    def _order(
        self,
        status: str,
        provider: tuple[str, int],
        item: tuple[int, int, str, frozenset[str], int],
        resident: _CResident,
        doer: int,
        dispatcher: int | None,
    ) -> None:
        rng = self.rng
        building = self.buildings[resident.building]
        household = next(h for h in building.households if h[0] == resident.household)
        if status == "DONE":
            submitted = self.ago(rng.uniform(1.5, 6))
        elif status in _OPEN_CITY:
            submitted = self.ago(rng.uniform(0.05, 1.5))
        else:
            submitted = self.ago(rng.uniform(8, 730))
        run = _Run(self, resident, building, provider, doer, dispatcher, submitted)
        for action in _CITY_FLOWS[status]:
            run.step(action)
        item_id, category, name, _, minutes = item
        order_id = self.next_id("service_order")
        key = f"city-order-{order_id:06d}"
        self.add(
            "service_order", item_id, category, resident.id, None, "ONLINE", building.id,
            resident.household, resident.name, resident.phone, f"{household[1]} {household[2]}",
            building.path, run.owner_level, run.owner_path, int(run.owner_path.split(".")[-1]),
            resident.rank, None, run.team, run.station, run.assignee, run.scheduled,
            ["services/2024/done.jpg"] if run.done else [], "已完成" if run.done else None,
            minutes if run.done else None, run.current, len(run.steps), key,
            content_hash({"key": key}), submitted, run.due, run.dispatched, run.accepted,
            run.done, run.closed, run.at,
        )  # fmt: skip
        for version, (action, from_status, to_status, actor, when) in enumerate(run.steps, 1):
            note = "rated" if action == "CLOSE" else None
            self.add(
                "service_order_event", order_id, action, from_status, to_status, actor, note,
                version, building.path, when,
            )  # fmt: skip
        if run.current == "CLOSED":
            rating = rng.choices(("SATISFIED", "BASICALLY_SATISFIED", "UNSATISFIED"), (80, 15, 5))
            self.add("service_rating", order_id, rating[0], None, building.path, run.closed)
        if run.done is not None and run.assignee is not None:
            self.hours(
                run.assignee, "SERVICE", minutes, rs.SOURCE_ORDER, order_id, f"红色代办: {name}",
                building.path, run.done,
            )  # fmt: skip

    def hours(
        self, person: int, kind: str, minutes: int, source: str, source_id: int | None,
        note: str | None, path: str, at: datetime, *, as_cadre: bool = False,
    ) -> None:  # fmt: skip
        ident = self.next_id("volunteer_hours")
        self.add(
            "volunteer_hours", person, kind, minutes, source,
            ident if source_id is None else source_id, note, as_cadre, path, at,
        )  # fmt: skip
        self.hours_people.add(person)

    # -- cadres' services, activities ----------------------------------------------------------

    def plan_cadre_services(self) -> None:
        """下沉干部在楼栋开展志愿服务4.1万余次、办理实事好事1.8万余件, at the buildings of
        their posts."""
        rng = self.rng
        posts = [
            (p, self.buildings[b].path) for _, p, _, b, _ in self.positions["SECONDED_CADRE"] if b
        ]
        wanted = max(1, (self.targets.cadre_services + self.targets.cadre_good_deeds) // 2)
        chosen = rng.sample(posts, min(len(posts), wanted))
        deeds = _DEEDS
        for k in range(self.targets.cadre_services + self.targets.cadre_good_deeds):
            person, path = chosen[k % len(chosen)]
            deed = k >= self.targets.cadre_services
            self.hours(
                person, "GOOD_DEED" if deed else "SERVICE", rng.choice((30, 60, 90, 120, 180)),
                rs.SOURCE_RECORD, None, deeds[k % len(deeds)], path, self.ago(rng.uniform(1, 700)),
                as_cadre=True,
            )  # fmt: skip

    def plan_activities(self, stations: dict[int, int]) -> None:
        """2,300 activities (2,250 held, 50 coming), whose participants with everyone else
        who served make exactly 190,000 volunteers."""
        rng = self.rng
        communities = [c for c in self.by_community if self.residents[c]]
        upcoming = min(50, self.targets.activities // 10)
        held = self.targets.activities - upcoming
        least = 1 if held >= len(communities) else 0
        per = dict(
            zip(
                communities,
                apportion(held, [len(self.residents[c]) for c in communities], minimum=least),
                strict=True,
            )
        )
        newcomers = self.targets.volunteers - len(self.hours_people)
        pools = {
            c: [r.id for r in self.residents[c] if r.id not in self.hours_people]
            for c in communities
        }
        quota = dict(
            zip(
                communities,
                apportion(newcomers, [float(len(pools[c])) for c in communities]),
                strict=True,
            )
        )
        kinds = list(ActivityKind)
        titles = {
            "PERFORMANCE": "文艺汇演", "NEIGHBOURHOOD": "邻里互动", "MICRO_VISIT": "微走访",
            "MICRO_COMPANY": "微陪伴", "FESTIVAL": "我们的节日", "CLEAN_UP": "楼道清洁日",
            "PATROL": "夜间巡查", "POLICY_OUTREACH": "政策宣讲进楼栋", "HEALTH": "义诊进社区",
            "OTHER": "志愿服务日",
        }  # fmt: skip
        for community in communities:
            _, name, _, path, _ = self.units[community]
            people = rng.sample(pools[community], min(quota[community], len(pools[community])))
            count = per[community]
            groups: list[list[int]] = [people[i::count] for i in range(count)]
            for group in groups:
                again = rng.sample(people, min(len(people), len(group) // 7))
                crowd = list(dict.fromkeys(group + again))
                self._activity(community, name, path, crowd, stations, titles, kinds, held=True)
        for community in rng.sample(communities, min(upcoming, len(communities))):
            _, name, _, path, _ = self.units[community]
            self._activity(community, name, path, [], stations, titles, kinds, held=False)

    def _activity(
        self, community: int, name: str, path: str, crowd: list[int], stations: dict[int, int],
        titles: dict[str, str], kinds: list[ActivityKind], *, held: bool,
    ) -> None:  # fmt: skip
        rng = self.rng
        kind = rng.choice(kinds).value
        starts = (
            self.ago(rng.uniform(2, 700))
            if held
            else self.until + timedelta(days=rng.uniform(1, 20))
        )
        starts = starts.replace(minute=0, second=0, microsecond=0)
        minutes = rng.choice((60, 90, 120, 180))
        organiser = rng.random()
        team = self.teams.get(community) if organiser < 0.4 else None
        station = stations.get(community) if team is None and organiser < 0.8 else None
        unit = community if team is None and station is None else None
        capacity = max(len(crowd) + rng.randint(0, 20), 20)
        status = "FINISHED" if held else "OPEN"
        changed = starts + timedelta(minutes=minutes + 60) if held else starts - timedelta(days=7)
        activity = self.add(
            "volunteer_activity", f"{name.removesuffix('社区')}{titles[kind]}", kind, team, station,
            unit, f"{name}党群服务中心", starts, starts + timedelta(minutes=minutes), capacity,
            len(crowd), len(crowd), minutes, status, 2 if held else 1, path,
            starts - timedelta(days=7), changed,
        )  # fmt: skip
        self.add(
            "volunteer_activity_event",
            activity,
            "PUBLISH",
            None,
            "OPEN",
            1,
            path,
            starts - timedelta(days=7),
        )
        if held:
            self.add(
                "volunteer_activity_event", activity, "FINISH", "OPEN", "FINISHED", 2, path,
                starts + timedelta(minutes=minutes + 60),
            )  # fmt: skip
        for person in crowd:
            checked = starts + timedelta(minutes=rng.randint(-20, 15))
            self.add(
                "activity_signup",
                activity,
                person,
                path,
                starts - timedelta(days=rng.uniform(1, 6)),
                checked,
            )
            self.hours(
                person,
                "ACTIVITY",
                minutes,
                rs.SOURCE_ACTIVITY,
                activity,
                f"{titles[kind]}",
                path,
                checked,
            )

    # -- door visits and an emergency ---------------------------------------------------------

    def plan_visits(self) -> None:
        """灵犀: 200 visits by its 44 cadres, 48 disputes collected and mediated; 20,000 visits
        elsewhere by grid workers, with what they found."""
        rng = self.rng
        lingxi = self._named("灵犀社区")
        homes = [h for b in self.by_community[lingxi] for h in b.households]
        for k in range(self.targets.lingxi_visits):
            dispute = k < self.targets.lingxi_disputes
            self._visit(
                rng.choice(homes),
                self.lingxi_cadres[k % len(self.lingxi_cadres)],
                self.lingxi_team,
                dispute=dispute,
                mediated=dispute,
            )
        workers = self.of_community("GRID_WORKER")
        places = [c for c in self.by_community if workers.get(c) and c != lingxi]
        weights = [sum(len(b.households) for b in self.by_community[c]) for c in places]
        for community in rng.choices(places, weights, k=self.targets.other_visits):
            building = rng.choice(self.by_community[community])
            home = rng.choice(building.households)
            _, visitor, _ = rng.choice(workers[community])
            dispute = rng.random() < 0.06
            self._visit(
                home, visitor, None, dispute=dispute, mediated=dispute and rng.random() < 0.7
            )

    def _visit(
        self, home: tuple[int, str, str, str], visitor: int, team: int | None, *,
        dispute: bool, mediated: bool,
    ) -> None:  # fmt: skip
        rng = self.rng
        household, _, _, path = home
        building = int(path.split(".")[-2].removeprefix("b"))
        at = self.ago(rng.uniform(1, 360))
        visit = self.add(
            "door_visit", household, building, visitor, team,
            rng.choice(("BIG_VISIT", "HOME_VISIT")), at, rng.choice(_VISIT_NOTES), path, at,
        )  # fmt: skip
        if dispute:
            resolved = at + timedelta(days=rng.uniform(1, 10)) if mediated else None
            self.add(
                "visit_finding", visit, "DISPUTE", self.categories["DISPUTE_MEDIATION"],
                rng.choice(_DISPUTES), visitor, "MEDIATED" if mediated else None,
                "上门调解，双方达成一致" if mediated else None, visitor if mediated else None,
                resolved, resolved, path,
            )  # fmt: skip
        elif rng.random() < 0.3:
            code, text = rng.choice(_NEEDS)
            met = rng.random() < 0.5
            when = at + timedelta(days=2) if met else None
            self.add(
                "visit_finding", visit, "NEED", self.categories[code], text, visitor,
                "RESOLVED" if met else None, "已协调解决" if met else None,
                visitor if met else None, when, when, path,
            )  # fmt: skip

    def plan_emergency(self) -> None:
        """新蒲新区's flood emergency of last summer: every cadre at their buildings."""
        district = next(i for i, u in self.units.items() if u[1] == "新蒲新区")
        path = self.units[district][3]
        began = self.ago(160)
        ended = began + timedelta(days=3)
        period = self.add(
            "emergency_period", district, "强降雨防汛：全员下沉楼栋", path, began, ended, "雨情解除"
        )
        for position, cadre, _, building, post in self.positions["SECONDED_CADRE"]:
            if building is None or not post.startswith(path + "."):
                continue
            checked = (
                began + timedelta(hours=self.rng.uniform(0.5, 6))
                if self.rng.random() < 0.85
                else None
            )
            self.add(
                "emergency_roster", period, cadre, position, building,
                self.buildings[building].path, began, checked, ended,
            )  # fmt: skip


def load_city_services(
    conn: psycopg.Connection[Any],
    *,
    until: datetime | None = None,
    seed: int = CITY_SERVICES_SEED,
    targets: ServiceTargets = SERVICE_TARGETS,
    lap: Callable[[str], None] = lambda _: None,
) -> dict[str, int]:
    """Plan and COPY the city's services inside the caller's transaction; rows per table.
    Ids continue after those the tables hold (each table's sequence is moved past them)."""
    until = until or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first: dict[str, int] = {}
    for table in _CITY_COLUMNS:
        # after every id the table holds and every id its sequence gave (sequences are not
        # transactional: a rolled-back load leaves them ahead)
        [(sequence,)] = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,))
        row = conn.execute(
            psycopg_sql.SQL(
                "SELECT greatest((SELECT coalesce(max(id), 0) FROM {}),"
                " (SELECT last_value FROM {}))"
            ).format(
                psycopg_sql.Identifier(table),
                psycopg_sql.Identifier(*str(sequence).split(".")),
            )
        ).fetchone()
        assert row is not None
        first[table] = int(row[0]) + 1
    city = _CityServices(random.Random(seed), until, targets, first)
    city.read(conn)
    lap("read the city: places, residents, positions")
    city.plan_places()
    stations, members = city.plan_providers()
    city.plan_orders(stations, members)
    city.plan_cadre_services()
    city.plan_activities(stations)
    city.plan_visits()
    city.plan_emergency()
    lap(f"planned {sum(map(len, city.rows.values())):,} rows")
    counts: dict[str, int] = {}
    for table in ("property_company", "estate"):
        counts[table] = _copy_rows(conn, table, city.rows[table])
    conn.execute(
        "CREATE TEMPORARY TABLE building_place (id bigint, estate_id bigint, latitude float8,"
        " longitude float8) ON COMMIT DROP"
    )
    places = ((b.id, b.estate, b.latitude, b.longitude) for b in city.buildings.values())
    with conn.cursor() as cur, cur.copy("COPY building_place FROM STDIN") as copy:
        for row in places:
            copy.write_row(row)
    conn.execute(
        "UPDATE building b SET estate_id = p.estate_id, latitude = p.latitude,"
        " longitude = p.longitude FROM building_place p WHERE p.id = b.id"
    )
    lap("estates and coordinates of every building")
    for table in _CITY_COLUMNS:
        if table in counts:
            continue
        counts[table] = _copy_rows(conn, table, city.rows[table])
        lap(f"copied {counts[table]:,} rows into {table}")
    for table in _CITY_COLUMNS:
        conn.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
            (table, max(city.next_id(table) - 1, 1)),
        )
    return counts


def _copy_rows(conn: psycopg.Connection[Any], table: str, rows: Sequence[Sequence[Any]]) -> int:
    statement = psycopg_sql.SQL("COPY {} ({}) FROM STDIN").format(
        psycopg_sql.Identifier(table),
        psycopg_sql.SQL(", ").join(map(psycopg_sql.Identifier, _CITY_COLUMNS[table])),
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


def seed_city_services(libpq_uri: str) -> None:
    """Bulk-load the city's services in one transaction (into a city without any)."""
    import time

    from seeds.run import report

    started = last = time.perf_counter()

    def lap(what: str) -> None:
        nonlocal last
        now = time.perf_counter()
        report(f"  {what:<60}{now - last:6.1f}s")
        last = now

    with psycopg.connect(libpq_uri) as conn, conn.transaction():
        exists = conn.execute("SELECT EXISTS (SELECT 1 FROM service_station)").fetchone()
        if exists and exists[0]:
            raise RuntimeError("services exist already: load them into a fresh city")
        counts = load_city_services(conn, lap=lap)
    with psycopg.connect(libpq_uri, autocommit=True) as conn:
        for table in (*counts, "building", "volunteer_total"):
            conn.execute(psycopg_sql.SQL("ANALYZE {}").format(psycopg_sql.Identifier(table)))
    report(
        f"seeded services ({sum(counts.values()):,} rows) in {time.perf_counter() - started:.1f}s"
    )
