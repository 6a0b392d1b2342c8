"""Incentives, recognition and co-governance in the demo city and at city scale.

The demo (`seed_demo_incentives`, called from `seeds.demo.seed_demo`) goes through the
business functions, so every row is one the API could have written: partner shops and their
offers, volunteer hours and awards credited to the ledger, a redemption confirmed at a shop,
a property-fee reduction, the red flag passed from one building to another, role models and
the publicity wall of the pinned building, conventions signed in 仁和苑, meetings whose
decisions opened 民生实事 tasks, a 联心亭 with its liaisons, an improvement project with its
funding, a notice with read receipts, and part-time committee members (兼职委员). The pinned
building's head (张建国) earns nothing here: the petition tests start from his empty ledger.

The city scale (`seed_city_incentives`, after `seeds.city` and `seeds.petitions`) COPYs the
source text's figures: 1,300 partner shops (one per shop operator), 300 awards, 22,000
民生实事 tasks, 340 part-time committee members, conventions in most buildings with their
signatures, and improvement projects whose funding adds up to 30 million yuan.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import Ltree
from models.cogovernance import (
    AgendaItem,
    FundingSource,
    LiaisonKind,
    MeetingKind,
    Problem,
    TaskAction,
    TaskStatus,
)
from models.incentives import Eligibility, FeeBasis, Offer, OfferKind, Shop
from models.org import Building, Household, OrgUnit, WorkUnit, WorkUnitKind
from models.people import Gender, Person, Position, Role
from models.recognition import Award, AwardKind, RoleModelKind
from resolvers import cogovernance as rc
from resolvers import incentives as ri
from resolvers import people as rp
from resolvers import recognition as rr
from seeds import names

DEMO_SEED: Final = 2025
CITY_INCENTIVES_SEED: Final = 520301
RENHEYUAN: Final = "520303001001"
SHANGHAILU: Final = "520303001"

_SHOP_KINDS: Final = ("超市", "药房", "理发店", "早餐店", "洗衣店", "五金店", "水果店", "茶馆")
_CONVENTION_TEXT: Final = (
    "一、爱党爱国，遵纪守法；二、邻里互助，和睦相处；三、我的楼栋我清洁，不乱堆乱放，"
    "保持楼道畅通；四、我的楼栋我爱护，不乱拉电线，不乱贴小广告；五、尊老爱幼，关爱独居老人；"
    "六、积极参加楼栋共治会，有事好商量。"
)


async def _one(session: AsyncSession, stmt: Any) -> Any:
    found = await session.scalar(stmt)
    assert found is not None, stmt
    return found


async def _unit(session: AsyncSession, code: str) -> OrgUnit:
    unit: OrgUnit = await _one(session, sa.select(OrgUnit).where(col(OrgUnit.code) == code))
    return unit


async def _admin(session: AsyncSession, role: Role) -> int:
    found = await _one(
        session,
        sa.select(col(Position.person_id)).where(
            col(Position.role) == role, col(Position.ended_at).is_(None)
        ),
    )
    return int(found)


async def _buildings_with_heads(session: AsyncSession, under: str) -> list[tuple[Building, int]]:
    rows = await session.execute(
        sa.select(Building, col(Position.person_id))
        .join(Position, col(Position.building_id) == col(Building.id))
        .where(
            col(Building.path).op("<@")(sa.cast(sa.literal(under), Ltree())),
            col(Position.role) == Role.BUILDING_HEAD,
            col(Position.ended_at).is_(None),
        )
        .order_by(col(Building.id))
    )
    return [(b, int(p)) for b, p in rows.all()]


async def seed_demo_incentives(session: AsyncSession, pinned_building_id: int) -> None:
    """Every entity of incentives, recognition and co-governance in the demo city."""
    rng = random.Random(DEMO_SEED)
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    city_admin = await _admin(session, Role.CITY_ADMIN)
    community_admin = await _admin(session, Role.COMMUNITY_ADMIN)
    renheyuan = await _unit(session, RENHEYUAN)
    street = await _unit(session, SHANGHAILU)
    assert renheyuan.id is not None
    assert street.id is not None
    assert renheyuan.path
    await ri.set_points_expiry(session, months=24, set_by_id=city_admin, now=now)

    # 红城星店: a shop for every shop operator, at the operator's place
    operators = (
        await session.execute(
            sa.select(col(Position.person_id), col(Position.org_unit_id))
            .where(col(Position.role) == Role.SHOP_OPERATOR, col(Position.ended_at).is_(None))
            .order_by(col(Position.id))
        )
    ).all()
    shops = []
    for i, (operator, unit_id) in enumerate(operators):
        kind = _SHOP_KINDS[i % len(_SHOP_KINDS)]
        shops.append(
            await ri.create_shop(
                session,
                name=f"红城星店·睦邻{kind}",
                address=f"{names.road(rng)}{rng.randint(1, 200)}号",
                org_unit_id=int(unit_id or 0),
                operator_id=int(operator),
                now=now - timedelta(days=200),
            )
        )
    until = now + timedelta(days=365)
    offers: list[Offer] = []
    for shop in shops:
        assert shop.id is not None
        offers.append(
            await ri.create_offer(
                session,
                shop_id=shop.id,
                terms=ri.OfferTerms(
                    kind=OfferKind.PERCENT_DISCOUNT,
                    title="楼栋长满意件九折",
                    percent_off=10,
                    points_cost=20,
                    eligibility=(Eligibility.BUILDING_HEAD_SATISFIED,),
                    valid_from=now - timedelta(days=30),
                    valid_until=until,
                ),
                now=now,
            )
        )
        offers.append(
            await ri.create_offer(
                session,
                shop_id=shop.id,
                terms=ri.OfferTerms(
                    kind=OfferKind.FIXED_BENEFIT,
                    title="先进个人赠送米油一份",
                    amount_yuan=Decimal("50.00"),
                    points_cost=30,
                    eligibility=(Eligibility.AWARD_WINNER, Eligibility.VOLUNTEER_HOURS),
                    min_volunteer_hours=12,
                    valid_from=now - timedelta(days=30),
                    valid_until=until,
                ),
                now=now,
            )
        )

    # volunteers of 仁和苑 (not the pinned head) earn points for their hours
    pinned = sa.orm.aliased(Position, name="pinned")
    volunteers = [
        int(p)
        for p in await session.scalars(
            sa.select(col(Position.person_id))
            .join(Person, col(Person.id) == col(Position.person_id))
            .where(
                col(Position.role) == Role.VOLUNTEER,
                col(Position.ended_at).is_(None),
                col(Position.org_unit_id) == renheyuan.id,
                sa.not_(
                    sa.exists().where(
                        col(pinned.person_id) == col(Person.id),
                        col(pinned.building_id) == pinned_building_id,
                    )
                ),
            )
            .order_by(col(Position.person_id))
            .distinct()
        )
    ]
    source = itertools.count(1)
    for person in volunteers[:4]:
        for _ in range(3):
            await ri.credit_volunteer_hours(
                session,
                person_id=person,
                hours=Decimal(rng.randint(3, 8)),
                source_id=next(source),
                note="红色跑团 上门服务",
                now=now - timedelta(days=rng.randint(5, 60)),
            )

    # awards: the most beautiful building, a volunteer star, the red flag passed on
    headed = [
        (b, head)
        for b, head in await _buildings_with_heads(session, renheyuan.path)
        if b.id != pinned_building_id
    ]
    (beautiful, beautiful_head), (first_flag, _), (second_flag, _) = headed[:3]
    quarter = (date(2026, 7, 1), date(2026, 10, 1))
    await rr.grant_award(
        session,
        rr.AwardDecision(
            AwardKind.MOST_BEAUTIFUL_BUILDING,
            renheyuan.id,
            *quarter,
            "楼道整洁畅通，公约全员签署，居民满意度第一",
            building_id=beautiful.id,
        ),
        decided_by_id=community_admin,
        now=now - timedelta(days=40),
    )
    await rr.grant_award(
        session,
        rr.AwardDecision(
            AwardKind.RED_FLAG,
            renheyuan.id,
            *quarter,
            "第三季度流动红旗：诉求办结率最高",
            building_id=first_flag.id,
        ),
        decided_by_id=community_admin,
        now=now - timedelta(days=40),
    )
    await rr.grant_award(
        session,
        rr.AwardDecision(
            AwardKind.RED_FLAG,
            renheyuan.id,
            date(2026, 10, 1),
            date(2027, 1, 1),
            "第四季度流动红旗：电线整治率先完成",
            building_id=second_flag.id,
        ),
        decided_by_id=community_admin,
        now=now - timedelta(days=30),
    )
    star = volunteers[0]
    await rr.grant_award(
        session,
        rr.AwardDecision(
            AwardKind.VOLUNTEER_STAR,
            renheyuan.id,
            *quarter,
            "志愿服务之星：常年为独居老人上门代购",
            person_id=star,
        ),
        decided_by_id=community_admin,
        now=now - timedelta(days=40),
    )
    await rr.grant_award(
        session,
        rr.AwardDecision(
            AwardKind.ADVANCED_COLLECTIVE,
            street.id,
            date(2026, 1, 1),
            date(2027, 1, 1),
            "先进集体：楼栋共治成效显著",
            building_id=beautiful.id,
        ),
        decided_by_id=await _admin(session, Role.STREET_ADMIN),
        now=now - timedelta(days=20),
    )

    # the volunteer star takes an offer at a shop of 仁和苑, and the operator confirms it
    local = next(s for s in shops if str(s.path).startswith(renheyuan.path))
    benefit = next(o for o in offers if o.shop_id == local.id and o.points_cost == 30)
    assert benefit.id is not None
    assert local.id is not None
    issued = await ri.issue_redemption(session, offer_id=benefit.id, person_id=star, now=now)
    await ri.confirm_redemption(
        session,
        shop_id=local.id,
        code=issued.code,
        operator_id=local.operator_person_id,
        now=now + timedelta(minutes=2),
    )

    # the beautiful building's head: a property-fee reduction against the award
    head_home = await session.get(Person, beautiful_head)
    award_id = await _one(
        session,
        sa.select(sa.func.min(col(Award.id))).where(col(Award.building_id) == beautiful.id),
    )
    assert head_home is not None
    assert head_home.household_id is not None
    await ri.grant_fee_reduction(
        session,
        person_id=beautiful_head,
        household_id=head_home.household_id,
        org_unit_id=beautiful.grid_id,
        basis=FeeBasis.AWARD,
        amount_yuan=Decimal("300.00"),
        period="2026",
        award_id=int(award_id),
        granted_by_id=community_admin,
        now=now,
    )

    await _culture(session, pinned_building_id, community_admin)
    await _conventions(session, renheyuan.path, community_admin, now, rng)
    await _meetings(session, renheyuan, pinned_building_id, community_admin, now)
    await _liaisons_projects_notices(session, renheyuan, pinned_building_id, community_admin, now)
    await _part_time_members(session, renheyuan, street, rng)
    await _a_move(session)


async def _culture(session: AsyncSession, building_id: int, keeper: int) -> None:
    for kind, name, story in (
        (RoleModelKind.VETERAN_PARTY_MEMBER, "赵德明", "五十年党龄，义务调解邻里纠纷三十余起"),
        (RoleModelKind.LABOUR_MODEL, "周玉兰", "原纺织厂全国劳动模范，退休后组织楼栋清洁队"),
        (RoleModelKind.MORAL_MODEL, "李桂兰", "十年如一日照顾独居老人王秀英"),
    ):
        await rr.add_role_model(session, building_id=building_id, kind=kind, name=name, story=story)
    for title, body in (
        ("党的声音进楼栋", "学习贯彻党的二十届三中全会精神，楼栋党小组每月第一个周六学习。"),
        ("党员先锋楼", "本楼党员亮身份、作表率：有事找党员，请拨楼栋长电话。"),
    ):
        await rr.post_to_wall(
            session,
            building_id=building_id,
            title=title,
            body=body,
            images=["walls/renheyuan/pioneer.jpg"],
            posted_by_id=keeper,
        )


async def _conventions(
    session: AsyncSession, community_path: str, keeper: int, now: datetime, rng: random.Random
) -> None:
    """Conventions in most of 仁和苑's buildings; most of their households signed."""
    buildings = (
        await session.scalars(
            sa.select(Building)
            .where(col(Building.path).op("<@")(sa.cast(sa.literal(community_path), Ltree())))
            .order_by(col(Building.id))
        )
    ).all()
    for i, building in enumerate(buildings):
        if i % 5 == 4:
            continue
        assert building.id is not None
        convention = await rc.adopt_convention(
            session,
            building_id=building.id,
            title="红色美丽楼栋公约",
            text=_CONVENTION_TEXT,
            adopted_by_id=keeper,
            now=now - timedelta(days=90),
        )
        assert convention.id is not None
        members = (
            await session.execute(
                sa.select(col(Household.id), sa.func.min(col(Person.id)))
                .join(Person, col(Person.household_id) == col(Household.id))
                .where(col(Household.building_id) == building.id)
                .group_by(col(Household.id))
                .order_by(col(Household.id))
            )
        ).all()
        for household, person in members:
            if rng.random() < 0.75:
                await rc.sign_convention(
                    session,
                    convention_id=convention.id,
                    household_id=int(household or 0),
                    signed_by_id=int(person or 0),
                    now=now - timedelta(days=rng.randint(1, 80)),
                )


async def _meetings(
    session: AsyncSession, renheyuan: OrgUnit, building_id: int, admin: int, now: datetime
) -> None:
    assert renheyuan.id is not None
    council = await rc.create_meeting(
        session,
        rc.MeetingDraft(
            kind=MeetingKind.BUILDING_COUNCIL,
            title="十一月楼栋共治会",
            held_at=now - timedelta(days=10),
            place="楼栋说事室",
            building_id=building_id,
            minutes="议定楼道杂物清理与电动车充电桩选址。",
            agenda=(
                rc.AgendaDraft("楼道杂物清理"),
                rc.AgendaDraft("电动车充电桩选址"),
            ),
        ),
        convened_by_id=admin,
    )
    hall = await rc.create_meeting(
        session,
        rc.MeetingDraft(
            kind=MeetingKind.JOINT_CONFERENCE,
            title="仁和苑社区党建联席会议",
            held_at=now - timedelta(days=20),
            place="仁和苑社区党群服务中心",
            org_unit_id=renheyuan.id,
            agenda=(rc.AgendaDraft("老旧小区线路改造"), rc.AgendaDraft("独居老人助餐点")),
        ),
        convened_by_id=admin,
    )
    for meeting, decisions in (
        (council, ("周六组织党员志愿者清理楼道", "选址报社区研判")),
        (hall, ("供电局出资改造线路", "社区食堂增设助餐点")),
    ):
        items = (
            await session.scalars(
                sa.select(AgendaItem)
                .where(col(AgendaItem.meeting_id) == meeting.id)
                .order_by(col(AgendaItem.position))
            )
        ).all()
        for item, text in zip(items, decisions, strict=True):
            assert item.id is not None
            decided = await rc.decide_agenda_item(
                session,
                item_id=item.id,
                decision=rc.Decision(text, task=rc.TaskDraft(text, due_on=date(2026, 12, 31))),
                actor_id=admin,
                now=now - timedelta(days=9),
            )
            assert decided.task_id is not None
            task = await rc.act_on_task(
                session,
                task_id=decided.task_id,
                action=TaskAction.START,
                expected_version=1,
                actor_id=admin,
                now=now - timedelta(days=8),
            )
            if item.position == 1:
                await rc.act_on_task(
                    session,
                    task_id=decided.task_id,
                    action=TaskAction.COMPLETE,
                    expected_version=task.version,
                    actor_id=admin,
                    note="已完成",
                    now=now - timedelta(days=2),
                )


async def _liaisons_projects_notices(
    session: AsyncSession, renheyuan: OrgUnit, building_id: int, admin: int, now: datetime
) -> None:
    building = await session.get(Building, building_id)
    assert building is not None
    assert renheyuan.id is not None
    pavilion = await rc.create_pavilion(
        session,
        name="仁和苑联心亭",
        address="仁和苑小区中心花园",
        org_unit_id=building.grid_id,
        building_id=None,
        opening_hours="每周三、周六 9:00-11:30",
    )
    shop = await session.scalar(
        sa.select(Shop)
        .where(col(Shop.org_unit_id) == building.grid_id)
        .order_by(col(Shop.id))
        .limit(1)
    )
    if shop is not None:
        await rc.add_liaison(
            session,
            building_id=building_id,
            kind=LiaisonKind.SHOP,
            name=shop.name,
            shop_id=shop.id,
            pavilion_id=pavilion.id,
        )
    organ = await _one(session, sa.select(WorkUnit).where(col(WorkUnit.name) == "汇川区委组织部"))
    await rc.add_liaison(
        session,
        building_id=building_id,
        kind=LiaisonKind.WORK_UNIT,
        name=organ.name,
        work_unit_id=organ.id,
        pavilion_id=pavilion.id,
    )
    project = await rc.create_project(
        session,
        title="仁和苑老旧楼栋线路与楼道整治",
        org_unit_id=building.grid_id,
        building_id=None,
        problems=[Problem.TANGLED_WIRING, Problem.BLOCKED_CORRIDOR, Problem.ILLEGAL_ADS],
        started_on=date(2026, 8, 1),
        before_evidence=["projects/renheyuan/before-1.jpg"],
        created_by_id=admin,
    )
    assert project.id is not None
    power = await _one(session, sa.select(WorkUnit).where(col(WorkUnit.name) == "遵义市供电局"))
    for source, funder, amount, unit in (
        (FundingSource.DEPARTMENT, "汇川区住房和城乡建设局", "120000.00", None),
        (FundingSource.COMMUNITY, "仁和苑社区", "30000.00", None),
        (FundingSource.ENTERPRISE, power.name, "50000.00", power.id),
    ):
        await rc.add_funding(
            session,
            project_id=project.id,
            source=source,
            funder=funder,
            amount_yuan=Decimal(amount),
            received_on=date(2026, 8, 15),
            work_unit_id=unit,
        )
    await rc.complete_project(
        session,
        project_id=project.id,
        completed_on=date(2026, 10, 30),
        after_evidence=["projects/renheyuan/after-1.jpg"],
    )
    notice = await rc.publish_notice(
        session,
        title="党的声音进楼栋：冬季用电安全",
        body="入冬后请勿私拉电线给电动车充电，社区将于12月集中排查。",
        org_unit_id=renheyuan.id,
        building_id=None,
        published_by_id=admin,
        now=now - timedelta(days=3),
    )
    assert notice.id is not None
    readers = await session.scalars(
        sa.select(col(Person.id))
        .where(col(Person.household_id).is_not(None), col(Person.path).op("<@")(notice.path))
        .order_by(col(Person.id))
        .offset(20)
        .limit(8)
    )
    for reader in readers:
        await rc.mark_notice_read(session, notice_id=notice.id, person_id=int(reader or 0), now=now)


async def _a_move(session: AsyncSession) -> None:
    """A renter of 五里碑 moves to the next flat of the building: the register's history."""
    wulibei = await _unit(session, "520382001001")
    found = (
        await session.execute(
            sa.select(col(Person.id), col(Household.id), col(Household.building_id))
            .join(Household, col(Household.id) == col(Person.household_id))
            .where(
                col(Household.path).op("<@")(sa.cast(sa.literal(wulibei.path), Ltree())),
                sa.not_(col(Person.is_party_member)),
            )
            .order_by(col(Person.id))
            .limit(1)
        )
    ).one()
    person, household, building = (int(v) for v in found)
    target = await _one(
        session,
        sa.select(col(Household.id))
        .where(col(Household.building_id) == building, col(Household.id) != household)
        .order_by(col(Household.id))
        .limit(1),
    )
    await rp.move_person(session, person_id=person, household_id=int(target), reason="换租")


async def _part_time_members(
    session: AsyncSession, renheyuan: OrgUnit, street: OrgUnit, rng: random.Random
) -> None:
    """兼职委员: leading cadres of departments on the street's and the community's committees."""
    for unit, department in ((street, "汇川区委组织部"), (renheyuan, "汇川区民政局")):
        work_unit = await session.scalar(
            sa.select(WorkUnit).where(col(WorkUnit.name) == department)
        )
        if work_unit is None:
            work_unit = WorkUnit(name=department, kind=WorkUnitKind.GOVERNMENT_ORGAN)
            session.add(work_unit)
            await session.flush()
        gender = Gender.MALE if rng.random() < 0.6 else Gender.FEMALE
        person = await rp.create_person(
            session,
            rp.PersonData(
                name=names.person_name(rng, gender),
                gender=gender,
                birth_date=names.birth_date(rng, min_age=38, max_age=55),
                phone=names.mobile(rng),
                is_party_member=True,
            ),
        )
        assert person.id is not None
        assert work_unit.id is not None
        await rp.appoint(
            session,
            rp.Appointment(
                person_id=person.id,
                role=Role.PARTY_COMMITTEE_MEMBER,
                org_unit_id=unit.id,
                work_unit_id=work_unit.id,
            ),
        )


# --- city scale -----------------------------------------------------------------------------

_COLUMNS: Final = {
    "shop": ("id", "name", "address", "org_unit_id", "path", "operator_person_id", "joined_on"),
    "offer": (
        "id", "shop_id", "path", "kind", "title", "percent_off", "amount_yuan", "points_cost",
        "eligibility", "valid_from", "valid_until", "created_at",
    ),
    "award": (
        "id", "kind", "org_unit_id", "path", "building_id", "person_id", "period_start",
        "period_end", "citation", "points", "credited_person_id", "decided_at",
    ),
    "convention": ("id", "building_id", "path", "version", "title", "text", "adopted_at"),
    "convention_signature": (
        "id", "convention_id", "household_id", "path", "signed_by_id", "signed_at",
    ),
    "meeting": ("id", "kind", "title", "org_unit_id", "building_id", "path", "held_at", "place"),
    "livelihood_task": (
        "id", "title", "org_unit_id", "building_id", "path", "meeting_id", "status", "version",
        "created_at", "done_at", "status_changed_at", "result",
    ),
    "livelihood_task_event": (
        "id", "task_id", "action", "from_status", "to_status", "version", "path", "at",
    ),
    "improvement_project": (
        "id", "title", "org_unit_id", "building_id", "path", "problems", "before_evidence",
        "after_evidence", "started_on", "completed_on",
    ),
    "project_funding": (
        "id", "project_id", "path", "source", "funder", "amount_yuan", "received_on",
    ),
    "notice": ("id", "title", "body", "org_unit_id", "building_id", "path", "published_at"),
    "person": (
        "id", "name", "gender", "birth_date", "phone", "is_party_member", "is_veteran",
        "is_elderly", "lives_alone", "is_renter",
    ),
    "position": (
        "id", "person_id", "role", "org_unit_id", "path", "priority_basis", "work_unit_id",
        "started_at",
    ),
}  # fmt: skip


class CityFigures:
    """The source text's figures this seed reproduces."""

    awards: Final = 300
    tasks: Final = 22_000
    part_time_members: Final = 340
    funds_yuan: Final = Decimal("30000000.00")
    projects: Final = 600
    convention_share: Final = 0.85  # of buildings
    signed_share: Final = 0.6  # of their households
    meetings: Final = 6_000
    notices: Final = 2_000


def _copy(conn: psycopg.Connection[Any], table: str, rows: Iterable[Sequence[Any]]) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, _COLUMNS[table]))
    )
    n = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    conn.execute(
        sql.SQL(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            "(SELECT coalesce(max(id), 0) + 1 FROM {}), false)"
        ).format(sql.Identifier(table)),
        (table,),
    )
    return n


def _next_id(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(
        sql.SQL("SELECT coalesce(max(id), 0) + 1 FROM {}").format(sql.Identifier(table))
    ).fetchone()
    assert row is not None
    return int(row[0])


def _split(total: Decimal, parts: int, rng: random.Random) -> list[Decimal]:
    """`parts` positive amounts (whole yuan) adding up to `total` exactly."""
    weights = [rng.uniform(0.3, 3.0) for _ in range(parts)]
    scale = total / Decimal(str(sum(weights)))
    amounts = [(Decimal(str(w)) * scale).quantize(Decimal("1")) for w in weights]
    amounts[-1] += total - sum(amounts)
    return amounts


def load_city_incentives(  # noqa: PLR0915  (one table after the other)
    conn: psycopg.Connection[Any], *, seed: int = CITY_INCENTIVES_SEED, now: datetime | None = None
) -> dict[str, int]:
    """Generate and COPY the city's incentives and co-governance inside the caller's
    transaction; return rows per table."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    f = CityFigures
    counts: dict[str, int] = {}
    operators = conn.execute(
        "SELECT person_id, org_unit_id, path::text FROM position"
        " WHERE role = 'SHOP_OPERATOR' AND ended_at IS NULL ORDER BY id"
    ).fetchall()
    first = _next_id(conn, "shop")
    shops = [
        (first + i, f"红城星店·睦邻{_SHOP_KINDS[i % len(_SHOP_KINDS)]}{i + 1}号",
         f"{names.road(rng)}{rng.randint(1, 300)}号", unit, path, person,
         now - timedelta(days=rng.randint(30, 700)))
        for i, (person, unit, path) in enumerate(operators)
    ]  # fmt: skip
    counts["shop"] = _copy(conn, "shop", shops)
    offer_ids = itertools.count(_next_id(conn, "offer"))
    offers: list[tuple[Any, ...]] = []
    for shop in shops:
        offers.append(
            (next(offer_ids), shop[0], shop[4], OfferKind.PERCENT_DISCOUNT.value, "九折",
             10, None, 20, [Eligibility.BUILDING_HEAD_SATISFIED.value], shop[6],
             now + timedelta(days=365), shop[6])
        )  # fmt: skip
        if rng.random() < 0.5:
            offers.append(
                (next(offer_ids), shop[0], shop[4], OfferKind.PROPERTY_FEE_REDUCTION.value,
                 "物业费减免一个月", None, Decimal("120.00"), 100, [], shop[6],
                 now + timedelta(days=365), shop[6])
            )  # fmt: skip
    counts["offer"] = _copy(conn, "offer", offers)

    buildings = conn.execute(
        """SELECT b.id, b.path::text, b.grid_id, g.parent_id, g.path::text, c.path::text,
                  (SELECT person_id FROM position p WHERE p.building_id = b.id
                     AND p.role = 'BUILDING_HEAD' AND p.ended_at IS NULL LIMIT 1)
             FROM building b JOIN org_unit g ON g.id = b.grid_id
             JOIN org_unit c ON c.id = g.parent_id ORDER BY b.id"""
    ).fetchall()
    award_ids = itertools.count(_next_id(conn, "award"))
    awards = []
    flags: set[int] = set()
    for b in rng.sample(buildings, f.awards):
        bid, _, _, community, _, community_path, head = b
        kind = rng.choice(
            (AwardKind.MOST_BEAUTIFUL_BUILDING, AwardKind.RED_FLAG, AwardKind.ADVANCED_COLLECTIVE)
        )
        if kind is AwardKind.RED_FLAG and community in flags:
            kind = AwardKind.MOST_BEAUTIFUL_BUILDING
        flags.add(community)
        start = date(2026, 1 + 3 * rng.randrange(3), 1)
        awards.append(
            (next(award_ids), kind.value, community, community_path, bid, None, start,
             date(start.year, start.month + 3, 1), "楼栋共治成效显著", 0, head,
             datetime.combine(start, datetime.min.time(), tzinfo=UTC))
        )  # fmt: skip
    counts["award"] = _copy(conn, "award", awards)

    convention_ids = itertools.count(_next_id(conn, "convention"))
    signature_ids = itertools.count(_next_id(conn, "convention_signature"))
    conventions = []
    chosen = {b[0]: b for b in rng.sample(buildings, int(len(buildings) * f.convention_share))}
    of_building: dict[int, int] = {}
    for bid, b in sorted(chosen.items()):
        cid = next(convention_ids)
        of_building[bid] = cid
        conventions.append(
            (cid, bid, b[1], 1, "红色美丽楼栋公约", _CONVENTION_TEXT, now - timedelta(days=200))
        )
    counts["convention"] = _copy(conn, "convention", conventions)

    def signatures() -> Iterable[tuple[Any, ...]]:
        with conn.cursor(name="signers") as cur:
            cur.execute(
                """SELECT h.id, h.building_id, h.path::text, min(p.id) FROM household h
                     JOIN person p ON p.household_id = h.id
                    GROUP BY h.id ORDER BY h.id"""
            )
            for hid, bid, path, person in cur:
                cid = of_building.get(bid)
                if cid is not None and rng.random() < f.signed_share:
                    yield (next(signature_ids), cid, hid, path, person,
                           now - timedelta(days=rng.randint(1, 190)))  # fmt: skip

    rows = list(signatures())
    counts["convention_signature"] = _copy(conn, "convention_signature", rows)

    communities = conn.execute(
        "SELECT id, path::text FROM org_unit WHERE kind = 'COMMUNITY' ORDER BY id"
    ).fetchall()
    meeting_ids = itertools.count(_next_id(conn, "meeting"))
    meetings = []
    for _ in range(f.meetings):
        if rng.random() < 0.6:
            b = rng.choice(buildings)
            meetings.append(
                (next(meeting_ids), MeetingKind.BUILDING_COUNCIL.value, "楼栋共治会", None, b[0],
                 b[1], now - timedelta(days=rng.randint(1, 700)), "楼栋说事室")
            )  # fmt: skip
        else:
            c = rng.choice(communities)
            meetings.append(
                (next(meeting_ids), MeetingKind.RED_COUNCIL_HALL.value, "红色议事厅", c[0], None,
                 c[1], now - timedelta(days=rng.randint(1, 700)), "小区红色议事厅")
            )  # fmt: skip
    counts["meeting"] = _copy(conn, "meeting", meetings)

    task_ids = itertools.count(_next_id(conn, "livelihood_task"))
    event_ids = itertools.count(_next_id(conn, "livelihood_task_event"))
    tasks: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for _ in range(f.tasks):
        m = rng.choice(meetings)
        tid = next(task_ids)
        created = m[6]
        done = rng.random() < 0.9
        finished = created + timedelta(days=rng.randint(1, 60)) if done else None
        status = TaskStatus.DONE if done else TaskStatus.IN_PROGRESS
        tasks.append(
            (tid, rng.choice(("楼道杂物清理", "电线整治", "路灯维修", "助餐点设置", "下水道疏通")),
             m[3], m[4], m[5], m[0], status.value, 3 if done else 2, created, finished,
             finished or created, "已办结" if done else None)
        )  # fmt: skip
        events.append((next(event_ids), tid, "OPEN", None, "OPEN", 1, m[5], created))
        events.append((next(event_ids), tid, "START", "OPEN", "IN_PROGRESS", 2, m[5], created))
        if finished is not None:
            events.append(
                (next(event_ids), tid, "COMPLETE", "IN_PROGRESS", "DONE", 3, m[5], finished)
            )
    counts["livelihood_task"] = _copy(conn, "livelihood_task", tasks)
    counts["livelihood_task_event"] = _copy(conn, "livelihood_task_event", events)

    grids = conn.execute(
        "SELECT id, path::text FROM org_unit WHERE kind = 'GRID' ORDER BY id"
    ).fetchall()
    project_ids = itertools.count(_next_id(conn, "improvement_project"))
    funding_ids = itertools.count(_next_id(conn, "project_funding"))
    projects: list[tuple[Any, ...]] = []
    funding: list[tuple[Any, ...]] = []
    sources = list(FundingSource)
    amounts = iter(_split(f.funds_yuan, f.projects * 2, rng))
    for g in rng.sample(grids, f.projects):
        pid = next(project_ids)
        started = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
        problems = sorted({rng.choice(list(Problem)).value for _ in range(2)})
        projects.append(
            (pid, "老旧楼栋环境整治", g[0], None, g[1], problems, ["projects/before.jpg"],
             ["projects/after.jpg"], started, started + timedelta(days=rng.randint(20, 120)))
        )  # fmt: skip
        funding.extend(
            (next(funding_ids), pid, g[1], rng.choice(sources).value, "遵义市城市更新资金",
             next(amounts), started)
            for _ in range(2)
        )  # fmt: skip
    counts["improvement_project"] = _copy(conn, "improvement_project", projects)
    counts["project_funding"] = _copy(conn, "project_funding", funding)

    notice_ids = itertools.count(_next_id(conn, "notice"))
    notices = [
        (next(notice_ids), "党的声音进楼栋", "学习贯彻党的创新理论，楼栋党小组每月集中学习。", c[0],
         None, c[1], now - timedelta(days=rng.randint(1, 365)))
        for c in (rng.choice(communities) for _ in range(f.notices))
    ]  # fmt: skip
    counts["notice"] = _copy(conn, "notice", notices)

    # 兼职委员: 340 leading cadres on street and community Party committees
    organs = [
        int(r[0])
        for r in conn.execute(
            "SELECT id FROM work_unit WHERE kind = 'GOVERNMENT_ORGAN' ORDER BY id"
        ).fetchall()
    ]
    committees = conn.execute(
        "SELECT id, path::text FROM org_unit WHERE kind IN ('STREET', 'COMMUNITY') ORDER BY id"
    ).fetchall()
    person_ids = itertools.count(_next_id(conn, "person"))
    position_ids = itertools.count(_next_id(conn, "position"))
    people: list[tuple[Any, ...]] = []
    positions: list[tuple[Any, ...]] = []
    for unit_id, path in rng.sample(committees, f.part_time_members):
        gender = Gender.MALE if rng.random() < 0.6 else Gender.FEMALE
        pid = next(person_ids)
        people.append(
            (pid, names.person_name(rng, gender), gender.value,
             names.birth_date(rng, min_age=38, max_age=58), names.mobile(rng), True, False,
             False, False, False)
        )  # fmt: skip
        positions.append(
            (next(position_ids), pid, Role.PARTY_COMMITTEE_MEMBER.value, unit_id, path, [],
             rng.choice(organs) if organs else None, now - timedelta(days=rng.randint(30, 700)))
        )  # fmt: skip
    counts["person"] = _copy(conn, "person", people)
    counts["position"] = _copy(conn, "position", positions)
    return counts


def seed_city_incentives(libpq_uri: str) -> None:
    """Bulk-load the city's incentives and co-governance in one transaction."""
    from seeds.run import report

    started = time.perf_counter()
    with psycopg.connect(libpq_uri) as conn, conn.transaction():
        exists = conn.execute("SELECT EXISTS (SELECT 1 FROM shop)").fetchone()
        if exists and exists[0]:
            raise RuntimeError("shops exist already: load incentives into a fresh city")
        counts = load_city_incentives(conn)
    with psycopg.connect(libpq_uri, autocommit=True) as conn:
        for table in counts:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    summary = ", ".join(f"{n:,} {table}" for table, n in counts.items())
    report(f"seeded {summary} in {time.perf_counter() - started:.1f}s")
