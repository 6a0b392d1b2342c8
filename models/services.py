"""Services in the building (市民服务在楼栋做优): estates, service stations (红城驿站·睦邻之家),
the service catalogue, service teams (红色跑团, volunteer teams, 民情小分队), property companies
(红色物业), Party-member posts, service orders (红色代办), volunteer activities and the
volunteer-hours ledger, door visits (大走访) and emergency mode (平急结合).

Places. An estate (小区) lies in one grid and carries its grid's path: it is a plain reference
of a building (`building.estate_id`), not a level of the tree, so no path of any other table
changes when estates are drawn or redrawn (see README, "Estates"). Stations, teams and
property companies are placed at the org unit they belong to (their path is that unit's);
service items at their provider's; orders, visits and posts at the building or household
they are about; volunteer activities at their organiser's place.

Coordinates are GCJ-02 (火星坐标), as the mini-program (`wx.getLocation({type: 'gcj02'})`)
and the Chinese map SDKs deliver them: within a city the offset from WGS-84 is almost
constant, so great-circle distances between GCJ-02 points are right to a few metres. The
15-minute service circle is a GiST index over `ll_to_earth(latitude, longitude)` of the
stations (contrib cube and earthdistance).

A few columns are computed by SQL whenever a row is loaded (`column_property`): who acts for
the provider an order is dispatched to, who keeps an activity, a team or a station. They are
always current (membership changes need no upkeep) and let permissions decide from the row.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel, col

from models.base import enum_column, fk, ltree_column, pk, text_array, timestamp
from models.org import Building
from models.people import Position, Role
from models.petitions import RatingValue

# --- enums ---------------------------------------------------------------------------------


class Facility(enum.StrEnum):
    """What a 红城驿站·睦邻之家 offers on site."""

    ACTIVITY_ROOM = "ACTIVITY_ROOM"  # 活动室
    READING_ROOM = "READING_ROOM"  # 阅览室
    ELDERLY_CANTEEN = "ELDERLY_CANTEEN"  # 长者食堂 / 助餐点
    HEALTH_POINT = "HEALTH_POINT"  # 卫生服务点
    MEDIATION_ROOM = "MEDIATION_ROOM"  # 调解室
    CHILDREN_ROOM = "CHILDREN_ROOM"  # 儿童之家
    PARTY_ROOM = "PARTY_ROOM"  # 党员活动室
    SERVICE_DESK = "SERVICE_DESK"  # 便民服务台
    FITNESS = "FITNESS"  # 健身区
    WORKERS_REST = "WORKERS_REST"  # 户外劳动者爱心驿站
    COUNSELLING_ROOM = "COUNSELLING_ROOM"  # 心理咨询室
    SHARED_TOOLS = "SHARED_TOOLS"  # 共享工具箱


class Weekday(enum.IntEnum):
    MON = 1
    TUE = 2
    WED = 3
    THU = 4
    FRI = 5
    SAT = 6
    SUN = 7


class ProviderKind(enum.StrEnum):
    STATION = "STATION"
    TEAM = "TEAM"
    PROPERTY_COMPANY = "PROPERTY_COMPANY"


class Eligibility(enum.StrEnum):
    """Who may order an item (any of its groups); none listed: every resident."""

    ELDERLY = "ELDERLY"
    LIVES_ALONE = "LIVES_ALONE"
    VETERAN = "VETERAN"
    PARTY_MEMBER = "PARTY_MEMBER"
    RENTER = "RENTER"


class TeamKind(enum.StrEnum):
    RED_RUNNING = "RED_RUNNING"  # 红色跑团
    VOLUNTEER = "VOLUNTEER"  # 志愿服务队 (矛盾调解, 环境整治 ...)
    PUBLIC_SENTIMENT = "PUBLIC_SENTIMENT"  # 民情小分队
    STEWARDS = "STEWARDS"  # 楼栋红管家 (cadres and property staff)


class TeamRole(enum.StrEnum):
    LEADER = "LEADER"  # 队长
    DEPUTY_LEADER = "DEPUTY_LEADER"  # 副队长
    MEMBER = "MEMBER"


#: Team roles that keep the team (add members, organise, accept for it).
TEAM_KEEPING_ROLES: tuple[TeamRole, ...] = (TeamRole.LEADER, TeamRole.DEPUTY_LEADER)


class PostKind(enum.StrEnum):
    PIONEER_POST = "PIONEER_POST"  # 党员先锋岗
    RESPONSIBILITY_AREA = "RESPONSIBILITY_AREA"  # 党员责任区


class OrderChannel(enum.StrEnum):
    ONLINE = "ONLINE"  # 红城微家: the resident orders
    RECORDED = "RECORDED"  # staff order on the resident's behalf (红色代办)
    DOOR_VISIT = "DOOR_VISIT"  # from a need found on a door visit


class DispatchLevel(enum.StrEnum):
    """The node whose dispatchers own an order: the community first, one level up per lapse."""

    COMMUNITY = "COMMUNITY"
    STREET = "STREET"
    DISTRICT = "DISTRICT"


DISPATCH_LEVELS: tuple[DispatchLevel, ...] = tuple(DispatchLevel)
#: ltree `nlevel` of the owning node of each level.
DISPATCH_DEPTH: dict[DispatchLevel, int] = {
    DispatchLevel.COMMUNITY: 4,
    DispatchLevel.STREET: 3,
    DispatchLevel.DISTRICT: 2,
}


class OrderStatus(enum.StrEnum):
    SUBMITTED = "SUBMITTED"  # 待派单
    DISPATCHED = "DISPATCHED"  # 已派单, waiting for the provider
    ACCEPTED = "ACCEPTED"  # 已接单
    SCHEDULED = "SCHEDULED"  # 已预约
    DONE = "DONE"  # 已完成, waiting for the resident's rating
    CLOSED = "CLOSED"  # 已评价
    CLOSED_UNRATED = "CLOSED_UNRATED"
    RETURNED = "RETURNED"  # back at dispatch (declined, or not accepted in time)
    ESCALATED = "ESCALATED"  # not dispatched in time: owned one level up
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


#: Waiting for a dispatcher.
AT_DISPATCH: frozenset[OrderStatus] = frozenset(
    {OrderStatus.SUBMITTED, OrderStatus.RETURNED, OrderStatus.ESCALATED}
)
#: Done (rated or not, or waiting for the rating).
DONE_STATUSES: frozenset[OrderStatus] = frozenset(
    {OrderStatus.DONE, OrderStatus.CLOSED, OrderStatus.CLOSED_UNRATED}
)
#: The clock (`due_at`) runs: not dispatched, or dispatched and not accepted, in time.
CLOCKED: frozenset[OrderStatus] = AT_DISPATCH | {OrderStatus.DISPATCHED}
CLOCKED_SQL = ", ".join(f"'{s}'" for s in OrderStatus if s in CLOCKED)


class OrderAction(enum.StrEnum):
    SUBMIT = "SUBMIT"  # the first timeline entry only
    DISPATCH = "DISPATCH"
    ACCEPT = "ACCEPT"
    SCHEDULE = "SCHEDULE"
    COMPLETE = "COMPLETE"
    RETURN = "RETURN"
    ESCALATE = "ESCALATE"
    REJECT = "REJECT"
    CANCEL = "CANCEL"
    CLOSE = "CLOSE"  # by the resident's rating
    CLOSE_UNRATED = "CLOSE_UNRATED"  # by the scheduler


class ActivityKind(enum.StrEnum):
    PERFORMANCE = "PERFORMANCE"  # 文艺汇演
    NEIGHBOURHOOD = "NEIGHBOURHOOD"  # 邻里互动
    MICRO_VISIT = "MICRO_VISIT"  # 微走访
    MICRO_COMPANY = "MICRO_COMPANY"  # 微陪伴
    FESTIVAL = "FESTIVAL"  # 我们的节日
    CLEAN_UP = "CLEAN_UP"  # 环境整治
    PATROL = "PATROL"  # 治安巡查
    POLICY_OUTREACH = "POLICY_OUTREACH"  # 政策宣传
    HEALTH = "HEALTH"  # 义诊
    OTHER = "OTHER"


class ActivityStatus(enum.StrEnum):
    OPEN = "OPEN"
    FINISHED = "FINISHED"
    CANCELLED = "CANCELLED"


class ActivityAction(enum.StrEnum):
    PUBLISH = "PUBLISH"  # the first timeline entry only
    FINISH = "FINISH"
    CANCEL = "CANCEL"


class HoursKind(enum.StrEnum):
    """What a line of the volunteer-hours ledger records."""

    ACTIVITY = "ACTIVITY"  # attended a volunteer activity (checked in)
    SERVICE = "SERVICE"  # a volunteer service: an order carried out, a service in a building
    GOOD_DEED = "GOOD_DEED"  # 实事好事
    ADJUSTMENT = "ADJUSTMENT"  # a correction (may be negative): the ledger is never edited


class VisitKind(enum.StrEnum):
    BIG_VISIT = "BIG_VISIT"  # 大走访
    HOME_VISIT = "HOME_VISIT"  # 入户走访
    MICRO_VISIT = "MICRO_VISIT"  # 微走访


class FindingKind(enum.StrEnum):
    NEED = "NEED"  # 需求
    DISPUTE = "DISPUTE"  # 矛盾纠纷
    HAZARD = "HAZARD"  # 隐患


class FindingOutcome(enum.StrEnum):
    """What followed a finding."""

    PETITION = "PETITION"  # a petition was filed
    SERVICE_ORDER = "SERVICE_ORDER"  # a service was ordered
    MEDIATED = "MEDIATED"  # a dispute was mediated (化解)
    RESOLVED = "RESOLVED"  # dealt with on the spot


# --- places and providers ---------------------------------------------------------------------

_COORDINATES = (
    "(latitude IS NULL) = (longitude IS NULL)"
    " AND latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180"
)


def _coordinates(table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(_COORDINATES, name=f"ck_{table}_coordinates")


def _latitude(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.Float, nullable=nullable))


class Estate(SQLModel, table=True):
    """小区: buildings of one grid under one management, or without any (无物业管理)."""

    __tablename__ = "estate"
    __table_args__ = (
        sa.Index("ix_estate_path", "path", postgresql_using="gist"),
        sa.UniqueConstraint("grid_id", "name", name="uq_estate_name"),
        _coordinates("estate"),
    )

    id: int | None = pk()
    grid_id: int = fk("org_unit.id")
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    property_company_id: int | None = fk("property_company.id", nullable=True)
    latitude: float | None = _latitude()
    longitude: float | None = _latitude()
    path: str | None = ltree_column()
    created_at: datetime = timestamp()


class PropertyCompany(SQLModel, table=True):
    """红色物业: a property company, registered at the unit covering the estates it serves."""

    __tablename__ = "property_company"
    __table_args__ = (
        sa.Index("ix_property_company_path", "path", postgresql_using="gist"),
        sa.CheckConstraint(
            "has_party_organisation OR party_organisation_since IS NULL",
            name="ck_property_company_party_since",
        ),
    )

    id: int | None = pk()
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    #: 统一社会信用代码
    credit_code: str | None = Field(
        default=None, sa_column=sa.Column(sa.Text, nullable=True, unique=True)
    )
    org_unit_id: int = fk("org_unit.id")
    #: the company's service line (服务热线), not a person's number
    hotline: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    has_party_organisation: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    party_organisation_since: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    path: str | None = ltree_column()
    created_at: datetime = timestamp()


class ServiceStation(SQLModel, table=True):
    """红城驿站·睦邻之家: a station of a community, with its opening hours and facilities.

    `opening_hours` is a list of `{"days": [1..7], "opens": "08:30", "closes": "17:30"}`.
    """

    __tablename__ = "service_station"
    __table_args__ = (
        sa.Index("ix_service_station_path", "path", postgresql_using="gist"),
        sa.Index(
            "ix_service_station_location",
            sa.text("ll_to_earth(latitude, longitude)"),
            postgresql_using="gist",
        ),
        sa.CheckConstraint(
            "facilities <@ ARRAY['" + "','".join(Facility) + "']::text[]",
            name="ck_service_station_facilities",
        ),
        _coordinates("service_station"),
    )

    id: int | None = pk()
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    community_id: int = fk("org_unit.id")
    estate_id: int | None = fk("estate.id", nullable=True)
    address: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    #: the station's service line (服务热线)
    hotline: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    latitude: float = _latitude(nullable=False)
    longitude: float = _latitude(nullable=False)
    opening_hours: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=sa.Column(
            postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")
        ),
    )
    facilities: list[str] = text_array()
    path: str | None = ltree_column()
    created_at: datetime = timestamp()


class StationBuilding(SQLModel, table=True):
    """A building a station serves."""

    __tablename__ = "station_building"
    __table_args__ = (
        sa.Index("ix_station_building_path", "path", postgresql_using="gist"),
        sa.UniqueConstraint("station_id", "building_id", name="uq_station_building"),
    )

    id: int | None = pk()
    station_id: int = fk("service_station.id", index=False)
    building_id: int = fk("building.id")
    path: str | None = ltree_column()


class StationManager(SQLModel, table=True):
    """A position whose holder manages a station (a community admin, grid worker, volunteer
    ...); when the position ends, so does the management."""

    __tablename__ = "station_manager"
    __table_args__ = (
        sa.Index("ix_station_manager_path", "path", postgresql_using="gist"),
        sa.Index(
            "uq_station_manager_active",
            "station_id",
            "position_id",
            unique=True,
            postgresql_where=sa.text("removed_at IS NULL"),
        ),
    )

    id: int | None = pk()
    station_id: int = fk("service_station.id")
    position_id: int = fk("position.id")
    path: str | None = ltree_column()
    added_at: datetime = timestamp()
    removed_at: datetime | None = timestamp(nullable=True, default_now=False)


class ServiceCategory(SQLModel, table=True):
    """A kind of service (儿童成长, 居家养老 ...): the catalogue's headings (20+, seeded)."""

    __tablename__ = "service_category"

    id: int | None = pk()
    code: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )


class ServiceTeam(SQLModel, table=True):
    """红色跑团, a volunteer team of a community, a 民情小分队 or a 楼栋红管家 team."""

    __tablename__ = "service_team"
    __table_args__ = (sa.Index("ix_service_team_path", "path", postgresql_using="gist"),)

    id: int | None = pk()
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    kind: TeamKind = enum_column(TeamKind)
    community_id: int = fk("org_unit.id")
    #: what the team is for (矛盾调解, 环境整治 ...), when it has one focus
    category_id: int | None = fk("service_category.id", nullable=True)
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    path: str | None = ltree_column()
    founded_at: datetime = timestamp()
    disbanded_at: datetime | None = timestamp(nullable=True, default_now=False)


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"
    __table_args__ = (
        sa.Index("ix_team_member_path", "path", postgresql_using="gist"),
        sa.Index(
            "uq_team_member_active",
            "team_id",
            "person_id",
            unique=True,
            postgresql_where=sa.text("left_at IS NULL"),
        ),
    )

    id: int | None = pk()
    team_id: int = fk("service_team.id")
    person_id: int = fk("person.id")
    role: TeamRole = enum_column(TeamRole)
    path: str | None = ltree_column()
    joined_at: datetime = timestamp()
    left_at: datetime | None = timestamp(nullable=True, default_now=False)


class ServiceItem(SQLModel, table=True):
    """An item of the catalogue offered by one provider, with who may order it."""

    __tablename__ = "service_item"
    __table_args__ = (
        sa.Index("ix_service_item_path", "path", postgresql_using="gist"),
        sa.CheckConstraint(
            "num_nonnulls(station_id, team_id, property_company_id) = 1",
            name="ck_service_item_one_provider",
        ),
        sa.CheckConstraint(
            "eligibility <@ ARRAY['" + "','".join(Eligibility) + "']::text[]",
            name="ck_service_item_eligibility",
        ),
        sa.CheckConstraint(
            "default_minutes BETWEEN 1 AND 1440", name="ck_service_item_default_minutes"
        ),
    )

    id: int | None = pk()
    category_id: int = fk("service_category.id")
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    station_id: int | None = fk("service_station.id", nullable=True)
    team_id: int | None = fk("service_team.id", nullable=True)
    property_company_id: int | None = fk("property_company.id", nullable=True)
    eligibility: list[str] = text_array()
    #: the volunteer time one order usually takes (credited when the order is done)
    default_minutes: int = Field(
        default=60, sa_column=sa.Column(sa.Integer, nullable=False, server_default="60")
    )
    active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )
    path: str | None = ltree_column()
    created_at: datetime = timestamp()


class PartyPost(SQLModel, table=True):
    """党员先锋岗 / 党员责任区 in a building, held by a registered Party member (在职党员报到)."""

    __tablename__ = "party_post"
    __table_args__ = (sa.Index("ix_party_post_path", "path", postgresql_using="gist"),)

    id: int | None = pk()
    kind: PostKind = enum_column(PostKind)
    building_id: int = fk("building.id")
    holder_id: int = fk("person.id")
    #: the holder's REGISTERED_PARTY_MEMBER position covering the building
    registration_id: int = fk("position.id", index=False)
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    area: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    duties: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    path: str | None = ltree_column()
    started_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)


# --- service orders (红色代办) --------------------------------------------------------------


class ServiceOrder(SQLModel, table=True):
    """红色代办: a resident's order of a service item, dispatched to a provider, carried out,
    rated once (一事一评). Placed at the resident's building; owned for dispatch by its
    community, then one level up per lapse (`owner_path`)."""

    __tablename__ = "service_order"
    __table_args__ = (
        sa.Index("ix_service_order_path", "path", postgresql_using="gist"),
        sa.Index("ix_service_order_owner_path", "owner_path", postgresql_using="gist"),
        sa.Index("ix_service_order_status", "status"),
        sa.Index(
            "ix_service_order_clocked",
            "due_at",
            postgresql_where=sa.text(f"status IN ({CLOCKED_SQL})"),
        ),
        sa.Index(
            "ix_service_order_done",
            "done_at",
            postgresql_where=sa.text("status = 'DONE'"),
        ),
        sa.CheckConstraint(
            "num_nonnulls(station_id, team_id, property_company_id) <= 1",
            name="ck_service_order_one_provider",
        ),
        sa.CheckConstraint(
            "(status IN ('DISPATCHED', 'ACCEPTED', 'SCHEDULED', 'DONE', 'CLOSED',"
            " 'CLOSED_UNRATED')) = (num_nonnulls(station_id, team_id, property_company_id) = 1)"
            " OR status = 'CANCELLED'",
            name="ck_service_order_provider",
        ),
        sa.CheckConstraint(
            "nlevel(owner_path) = CASE owner_level "
            + " ".join(f"WHEN '{level}' THEN {d}" for level, d in DISPATCH_DEPTH.items())
            + " END",
            name="ck_service_order_owner_depth",
        ),
        sa.CheckConstraint("owner_path @> path", name="ck_service_order_owner_above_place"),
        sa.CheckConstraint("version > 0", name="ck_service_order_version"),
        sa.CheckConstraint("cardinality(evidence) <= 9", name="ck_service_order_evidence"),
        sa.CheckConstraint(
            "minutes IS NULL OR minutes BETWEEN 1 AND 1440", name="ck_service_order_minutes"
        ),
    )

    id: int | None = pk()
    item_id: int = fk("service_item.id")
    category_id: int = fk("service_category.id", index=False)
    resident_id: int = fk("person.id")
    recorded_by_id: int | None = fk("person.id", nullable=True, index=False)
    channel: OrderChannel = enum_column(OrderChannel)
    building_id: int = fk("building.id")
    household_id: int = fk("household.id", index=False)
    #: whom to contact and where, as given with the order (the resident's by default)
    contact_name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    contact_phone: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    address: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    path: str | None = ltree_column()
    owner_level: DispatchLevel = enum_column(DispatchLevel)
    owner_path: str | None = ltree_column()
    owner_org_unit_id: int | None = fk("org_unit.id", nullable=True)
    #: 鳏寡孤独 first: the higher, the earlier in every queue (decided at submission)
    queue_rank: int = Field(
        default=0, sa_column=sa.Column(sa.SmallInteger, nullable=False, server_default="0")
    )
    details: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    preferred_time: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    station_id: int | None = fk("service_station.id", nullable=True)
    team_id: int | None = fk("service_team.id", nullable=True)
    property_company_id: int | None = fk("property_company.id", nullable=True)
    assignee_id: int | None = fk("person.id", nullable=True)
    scheduled_for: datetime | None = timestamp(nullable=True, default_now=False)
    evidence: list[str] = text_array()
    completion_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    #: volunteer time the assignee reported (credited to their hours)
    minutes: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    rejection_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    cancel_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    status: OrderStatus = enum_column(OrderStatus)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1")
    )
    escalation_count: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    idempotency_key: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    content_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    submitted_at: datetime = timestamp()
    #: dispatch (or, once dispatched, acceptance) is due by then
    due_at: datetime = timestamp(default_now=False)
    dispatched_at: datetime | None = timestamp(nullable=True, default_now=False)
    accepted_at: datetime | None = timestamp(nullable=True, default_now=False)
    done_at: datetime | None = timestamp(nullable=True, default_now=False)
    closed_at: datetime | None = timestamp(nullable=True, default_now=False)
    status_changed_at: datetime = timestamp()


class ServiceOrderEvent(SQLModel, table=True):
    __tablename__ = "service_order_event"
    __table_args__ = (
        sa.Index("ix_service_order_event_path", "path", postgresql_using="gist"),
        sa.Index("ix_service_order_event_order", "order_id", "id"),
    )

    id: int | None = pk()
    order_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("service_order.id", ondelete="CASCADE"), nullable=False
        )
    )
    action: OrderAction = enum_column(OrderAction)
    from_status: OrderStatus | None = enum_column(
        OrderStatus, check="ck_service_order_event_from_status", nullable=True
    )
    to_status: OrderStatus = enum_column(OrderStatus, check="ck_service_order_event_to_status")
    actor_person_id: int | None = fk("person.id", nullable=True, index=False)
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    from_level: DispatchLevel | None = enum_column(
        DispatchLevel, check="ck_service_order_event_from_level", nullable=True
    )
    to_level: DispatchLevel | None = enum_column(
        DispatchLevel, check="ck_service_order_event_to_level", nullable=True
    )
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    path: str | None = ltree_column()
    at: datetime = timestamp()


class ServiceRating(SQLModel, table=True):
    """一事一评: the one rating of an order, by its resident."""

    __tablename__ = "service_rating"
    __table_args__ = (sa.Index("ix_service_rating_path", "path", postgresql_using="gist"),)

    id: int | None = pk()
    order_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger,
            sa.ForeignKey("service_order.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    rating: RatingValue = enum_column(RatingValue, check="ck_service_rating_rating")
    comment: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    path: str | None = ltree_column()
    at: datetime = timestamp()


# --- volunteer activities and hours ---------------------------------------------------------


class VolunteerActivity(SQLModel, table=True):
    """A volunteer activity (文艺汇演, 邻里互动, 微走访 ...) organised by a team, a station or a
    community, with a capacity; every participant checked in is credited `minutes`."""

    __tablename__ = "volunteer_activity"
    __table_args__ = (
        sa.Index("ix_volunteer_activity_path", "path", postgresql_using="gist"),
        sa.Index("ix_volunteer_activity_starts_at", "starts_at"),
        sa.CheckConstraint(
            "num_nonnulls(team_id, station_id, org_unit_id) = 1",
            name="ck_volunteer_activity_one_organiser",
        ),
        sa.CheckConstraint("ends_at > starts_at", name="ck_volunteer_activity_period"),
        sa.CheckConstraint(
            "capacity > 0 AND signed_up BETWEEN 0 AND capacity",
            name="ck_volunteer_activity_capacity",
        ),
        sa.CheckConstraint("checked_in >= 0", name="ck_volunteer_activity_checked_in"),
        sa.CheckConstraint("minutes BETWEEN 1 AND 1440", name="ck_volunteer_activity_minutes"),
        sa.CheckConstraint("version > 0", name="ck_volunteer_activity_version"),
    )

    id: int | None = pk()
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    kind: ActivityKind = enum_column(ActivityKind)
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    team_id: int | None = fk("service_team.id", nullable=True)
    station_id: int | None = fk("service_station.id", nullable=True)
    org_unit_id: int | None = fk("org_unit.id", nullable=True)
    place: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    starts_at: datetime = timestamp(default_now=False)
    ends_at: datetime = timestamp(default_now=False)
    capacity: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    #: places taken (sign-ups and walk-ins), kept by guarded updates: never above capacity
    signed_up: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    checked_in: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    minutes: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    created_by_id: int | None = fk("person.id", nullable=True, index=False)
    status: ActivityStatus = enum_column(ActivityStatus)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1")
    )
    cancel_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    path: str | None = ltree_column()
    created_at: datetime = timestamp()
    status_changed_at: datetime = timestamp()


class VolunteerActivityEvent(SQLModel, table=True):
    __tablename__ = "volunteer_activity_event"
    __table_args__ = (
        sa.Index("ix_volunteer_activity_event_path", "path", postgresql_using="gist"),
        sa.Index("ix_volunteer_activity_event_activity", "activity_id", "id"),
    )

    id: int | None = pk()
    activity_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger,
            sa.ForeignKey("volunteer_activity.id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    action: ActivityAction = enum_column(ActivityAction)
    from_status: ActivityStatus | None = enum_column(
        ActivityStatus, check="ck_volunteer_activity_event_from_status", nullable=True
    )
    to_status: ActivityStatus = enum_column(
        ActivityStatus, check="ck_volunteer_activity_event_to_status"
    )
    actor_person_id: int | None = fk("person.id", nullable=True, index=False)
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    path: str | None = ltree_column()
    at: datetime = timestamp()


class ActivitySignup(SQLModel, table=True):
    """A place taken at an activity: signed up (or walked in), then checked in once."""

    __tablename__ = "activity_signup"
    __table_args__ = (
        sa.Index("ix_activity_signup_path", "path", postgresql_using="gist"),
        sa.Index(
            "uq_activity_signup_active",
            "activity_id",
            "person_id",
            unique=True,
            postgresql_where=sa.text("cancelled_at IS NULL"),
        ),
        sa.CheckConstraint(
            "cancelled_at IS NULL OR checked_in_at IS NULL", name="ck_activity_signup_state"
        ),
    )

    id: int | None = pk()
    activity_id: int = fk("volunteer_activity.id")
    person_id: int = fk("person.id")
    path: str | None = ltree_column()
    signed_up_at: datetime = timestamp()
    cancelled_at: datetime | None = timestamp(nullable=True, default_now=False)
    checked_in_at: datetime | None = timestamp(nullable=True, default_now=False)
    checked_in_by_id: int | None = fk("person.id", nullable=True, index=False)


class VolunteerHours(SQLModel, table=True):
    """The volunteer-hours ledger: append-only (the database refuses UPDATE, DELETE and
    TRUNCATE); a source credits a person once; `volunteer_total` follows every insert."""

    __tablename__ = "volunteer_hours"
    __table_args__ = (
        sa.Index("ix_volunteer_hours_person", "person_id", "at"),
        sa.Index("ix_volunteer_hours_path", "path", postgresql_using="gist"),
        sa.Index(
            "uq_volunteer_hours_source",
            "source_type",
            "source_id",
            "person_id",
            unique=True,
            postgresql_where=sa.text("kind <> 'ADJUSTMENT'"),
        ),
        sa.CheckConstraint(
            "minutes <> 0 AND (minutes > 0 OR kind = 'ADJUSTMENT')",
            name="ck_volunteer_hours_minutes",
        ),
    )

    id: int | None = pk()
    person_id: int = fk("person.id", index=False)
    kind: HoursKind = enum_column(HoursKind)
    minutes: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    source_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    source_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    #: credited while the person served as a seconded cadre there (the seed counts theirs)
    as_cadre: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    recorded_by_id: int | None = fk("person.id", nullable=True, index=False)
    #: where it happened (none for an adjustment)
    path: str | None = ltree_column(nullable=True)
    at: datetime = timestamp()


class VolunteerTotal(SQLModel, table=True):
    """A person's totals, kept by the ledger's insert trigger in the same transaction: always
    the sums of their entries."""

    __tablename__ = "volunteer_total"

    person_id: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("person.id"), primary_key=True)
    )
    minutes: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    activities: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    services: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    good_deeds: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    entries: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = timestamp()


# --- door visits ------------------------------------------------------------------------------


class DoorVisit(SQLModel, table=True):
    """大走访 / 入户走访: who visited which household when, and their notes."""

    __tablename__ = "door_visit"
    __table_args__ = (
        sa.Index("ix_door_visit_path", "path", postgresql_using="gist"),
        sa.Index("ix_door_visit_visited_at", "visited_at"),
    )

    id: int | None = pk()
    household_id: int = fk("household.id")
    building_id: int = fk("building.id", index=False)
    visitor_id: int = fk("person.id")
    team_id: int | None = fk("service_team.id", nullable=True)
    kind: VisitKind = enum_column(VisitKind)
    visited_at: datetime = timestamp(default_now=False)
    notes: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    path: str | None = ltree_column()
    recorded_at: datetime = timestamp()


class VisitFinding(SQLModel, table=True):
    """What a visit found (a need, a dispute, a hazard) and what followed it."""

    __tablename__ = "visit_finding"
    __table_args__ = (
        sa.Index("ix_visit_finding_path", "path", postgresql_using="gist"),
        sa.Index("ix_visit_finding_visit", "visit_id", "id"),
        sa.CheckConstraint(
            "(outcome = 'PETITION') = (petition_id IS NOT NULL)"
            " AND (outcome = 'SERVICE_ORDER') = (service_order_id IS NOT NULL)",
            name="ck_visit_finding_follow_up",
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR followed_up_at IS NOT NULL", name="ck_visit_finding_followed"
        ),
        sa.CheckConstraint(
            "outcome <> 'MEDIATED' OR kind = 'DISPUTE'", name="ck_visit_finding_mediated"
        ),
    )

    id: int | None = pk()
    visit_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("door_visit.id", ondelete="CASCADE"), nullable=False
        )
    )
    kind: FindingKind = enum_column(FindingKind)
    category_id: int | None = fk("service_category.id", nullable=True, index=False)
    description: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    recorded_by_id: int = fk("person.id", index=False)
    outcome: FindingOutcome | None = enum_column(FindingOutcome, nullable=True)
    petition_id: int | None = fk("petition.id", nullable=True)
    service_order_id: int | None = fk("service_order.id", nullable=True)
    resolution_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    followed_up_by_id: int | None = fk("person.id", nullable=True, index=False)
    followed_up_at: datetime | None = timestamp(nullable=True, default_now=False)
    #: a dispute mediated, a need met, a hazard removed
    resolved_at: datetime | None = timestamp(nullable=True, default_now=False)
    path: str | None = ltree_column()


# --- emergency mode (平急结合) ---------------------------------------------------------------


class EmergencyPeriod(SQLModel, table=True):
    """A node switched to emergency: its seconded cadres all go down to buildings."""

    __tablename__ = "emergency_period"
    __table_args__ = (
        sa.Index("ix_emergency_period_path", "path", postgresql_using="gist"),
        sa.Index(
            "uq_emergency_period_active",
            "org_unit_id",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name="ck_emergency_period_span"
        ),
    )

    id: int | None = pk()
    org_unit_id: int = fk("org_unit.id")
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    path: str | None = ltree_column()
    started_at: datetime = timestamp()
    started_by_id: int | None = fk("person.id", nullable=True, index=False)
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)
    ended_by_id: int | None = fk("person.id", nullable=True, index=False)
    end_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class EmergencyRoster(SQLModel, table=True):
    """One cadre at one building for one emergency, with their check-in there."""

    __tablename__ = "emergency_roster"
    __table_args__ = (
        sa.Index("ix_emergency_roster_path", "path", postgresql_using="gist"),
        sa.UniqueConstraint(
            "period_id", "cadre_id", "building_id", name="uq_emergency_roster_cadre_building"
        ),
    )

    id: int | None = pk()
    period_id: int = fk("emergency_period.id")
    cadre_id: int = fk("person.id")
    position_id: int = fk("position.id", index=False)
    building_id: int = fk("building.id", index=False)
    path: str | None = ltree_column()
    rostered_at: datetime = timestamp()
    checked_in_at: datetime | None = timestamp(nullable=True, default_now=False)
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)


# --- computed on load ------------------------------------------------------------------------


def _ids(select: Any) -> Any:
    """An array of the person ids `select` yields (empty, never null)."""
    return sa.func.coalesce(
        select.with_only_columns(
            sa.func.array_agg(sa.distinct(select.selected_columns[0]))
        ).scalar_subquery(),
        sa.cast(sa.literal_column("'{}'"), postgresql.ARRAY(sa.BigInteger)),
    )


def _team_people(team: Any, *roles: TeamRole) -> Any:
    stmt = sa.select(col(TeamMember.person_id)).where(
        col(TeamMember.team_id) == team, col(TeamMember.left_at).is_(None)
    )
    if roles:
        stmt = stmt.where(col(TeamMember.role).in_([str(r) for r in roles]))
    return _ids(stmt)


def _station_managers(station: Any) -> Any:
    return _ids(
        sa.select(col(Position.person_id))
        .join(StationManager, col(StationManager.position_id) == col(Position.id))
        .where(
            col(StationManager.station_id) == station,
            col(StationManager.removed_at).is_(None),
            col(Position.ended_at).is_(None),
        )
    )


def _company_staff(company: Any) -> Any:
    """红管家: active property staff at the buildings of the company's estates."""
    return _ids(
        sa.select(col(Position.person_id))
        .join(Building, col(Building.id) == col(Position.building_id))
        .join(Estate, col(Estate.id) == col(Building.estate_id))
        .where(
            col(Estate.property_company_id) == company,
            col(Position.role) == Role.PROPERTY_STAFF,
            col(Position.ended_at).is_(None),
        )
    )


_EMPTY = sa.cast(sa.literal_column("'{}'"), postgresql.ARRAY(sa.BigInteger))

#: Who acts for the provider an order is dispatched to: the team's members, the station's
#: managers, the company's 红管家.
sa.inspect(ServiceOrder).add_property(
    "provider_people",
    sa.orm.column_property(
        sa.case(
            (col(ServiceOrder.team_id).is_not(None), _team_people(ServiceOrder.team_id)),
            (col(ServiceOrder.station_id).is_not(None), _station_managers(ServiceOrder.station_id)),
            (
                col(ServiceOrder.property_company_id).is_not(None),
                _company_staff(ServiceOrder.property_company_id),
            ),
            else_=_EMPTY,
        )
    ),
)
#: Who keeps a team: its leader and deputies.
sa.inspect(ServiceTeam).add_property(
    "keeper_ids", sa.orm.column_property(_team_people(ServiceTeam.id, *TEAM_KEEPING_ROLES))
)
#: Who keeps a station: its managers.
sa.inspect(ServiceStation).add_property(
    "keeper_ids", sa.orm.column_property(_station_managers(ServiceStation.id))
)
#: Who keeps an activity: the organising team's leader and deputies, the station's managers
#: (a community's own activities are kept by its staff, through their grants).
sa.inspect(VolunteerActivity).add_property(
    "keeper_ids",
    sa.orm.column_property(
        sa.case(
            (
                col(VolunteerActivity.team_id).is_not(None),
                _team_people(VolunteerActivity.team_id, *TEAM_KEEPING_ROLES),
            ),
            (
                col(VolunteerActivity.station_id).is_not(None),
                _station_managers(VolunteerActivity.station_id),
            ),
            else_=_EMPTY,
        )
    ),
)


def people_of(row: Any, attribute: str) -> list[int]:
    """The person ids a computed column holds (none when the row was built in Python)."""
    found = row.__dict__.get(attribute)
    return [int(i) for i in found] if found else []
