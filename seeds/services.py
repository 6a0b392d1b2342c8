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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
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
from resolvers.services import is_under

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
