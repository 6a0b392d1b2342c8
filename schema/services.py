"""GraphQL types, queries and mutations of services in the building: estates, stations
(红城驿站·睦邻之家), the service catalogue, teams (红色跑团 ...), property companies (红色物业),
Party-member posts, service orders (红色代办), volunteer activities and hours, door visits
(大走访) and emergency mode (平急结合)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from models import org as mo
from models import people as mp
from models import petitions as mpet
from models import services as m
from models.base import utcnow
from permissions import services as rules
from permissions.aggregates import (
    CountKind,
    Tree,
    display_root,
    displayed,
    for_display,
    withheld_by_unit,
)
from permissions.policy import filterable
from resolvers import aggregates as ra
from resolvers import services as r
from resolvers.errors import Common, DomainError, invalid
from resolvers.loaders import Loaders
from resolvers.pagination import PageArgs
from resolvers.workflow import Flow
from schema.context import Context, Info
from schema.declare import column, computed, expose, listing, many, reference, row_type
from schema.errors import UserError, domain_error
from schema.operations import Mutation, Refs, allowed_actions
from schema.org import BuildingNode, HouseholdNode, OrgUnitNode
from schema.people import PersonNode, PositionNode
from schema.petitions import PetitionNode
from schema.relay import Connection, Node, connection, expect_id

expose(m.Facility, name="Facility", description="What a 红城驿站 offers on site.")
expose(m.Weekday, name="Weekday")
expose(m.ProviderKind, name="ProviderKind")
expose(m.Eligibility, name="ServiceEligibility", description="Groups an item may be reserved for.")
expose(m.TeamKind, name="TeamKind")
expose(m.TeamRole, name="TeamRole")
expose(m.PostKind, name="PartyPostKind", description="党员先锋岗 / 党员责任区")
expose(m.OrderChannel, name="ServiceOrderChannel")
expose(m.DispatchLevel, name="DispatchLevel")
expose(m.OrderStatus, name="ServiceOrderStatus")
expose(m.OrderAction, name="ServiceOrderAction")
expose(m.ActivityKind, name="ActivityKind")
expose(m.ActivityStatus, name="ActivityStatus")
expose(m.ActivityAction, name="ActivityAction")
expose(m.HoursKind, name="VolunteerHoursKind")
expose(m.VisitKind, name="VisitKind")
expose(m.FindingKind, name="FindingKind")
expose(m.FindingOutcome, name="FindingOutcome")
expose(r.OrderOrder, name="ServiceOrderOrder")


@domain_error(Flow, r.ServiceCode)
class ServiceError(UserError):
    """Why a change of services in the building was refused."""


def _page(first: int | None, after: str | None, last: int | None, before: str | None) -> PageArgs:
    return PageArgs.parse(first, after, last, before)


def _unit(ident: strawberry.ID | None, field: str = "under") -> int | None:
    return expect_id(ident, "OrgUnit", field) if ident is not None else None


# --- places and providers ---------------------------------------------------------------------


@strawberry.type(description="When a station is open (China time).")
class OpeningHours:
    days: list[m.Weekday]
    opens: str = strawberry.field(description="HH:MM")
    closes: str = strawberry.field(description="HH:MM")


def _opening_hours(row: m.ServiceStation) -> list[OpeningHours]:
    return [
        OpeningHours(days=list(o.days), opens=o.opens, closes=o.closes)
        for o in r.opening_hours(row)
    ]


def _unmanaged(row: m.Estate) -> bool:
    return row.property_company_id is None


@row_type(m.Estate, name="Estate", description="小区: buildings of one grid under one management.")
class EstateNode(Node):
    name: str = column()
    latitude: float | None = column(description="GCJ-02")
    longitude: float | None = column(description="GCJ-02")
    created_at: datetime = column()
    without_property_management: bool = computed(
        _unmanaged,
        sql=lambda t: t.property_company_id.is_(None),
        description="无物业管理: no property company serves the estate.",
    )
    grid: OrgUnitNode | None = reference(m.Estate.grid_id)
    property_company: PropertyCompanyNode | None = reference(m.Estate.property_company_id)

    @strawberry.field(metadata=listing(r.BUILDINGS_OF_ESTATE))
    async def buildings(
        self,
        root: strawberry.Parent[m.Estate],
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[BuildingNode]:
        page = await info.context.loaders.page(
            r.BUILDINGS_OF_ESTATE, root.id, _page(first, after, last, before), r.BY_NAME_BUILDING
        )
        return connection(page)


@row_type(
    m.PropertyCompany,
    name="PropertyCompany",
    description="红色物业: a property company, with or without a Party organisation.",
)
class PropertyCompanyNode(Node):
    name: str = column()
    credit_code: str | None = column(description="统一社会信用代码")
    hotline: str | None = column(description="The company's service line (服务热线).")
    has_party_organisation: bool = column()
    party_organisation_since: date | None = column()
    created_at: datetime = column()
    registered_at: OrgUnitNode | None = reference(m.PropertyCompany.org_unit_id)
    estates: list[EstateNode] = many(r.ESTATES_OF_COMPANY, description="The estates it serves.")
    items: list[ServiceItemNode] = many(r.ITEMS_OF_COMPANY)

    @strawberry.field(
        description="楼栋红管家: property staff (guards, cleaners, electricians) at its buildings.",
        metadata=listing(r.COMPANY_STAFF),
    )
    async def staff(
        self,
        root: strawberry.Parent[m.PropertyCompany],
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PositionNode]:
        page = await info.context.loaders.page(
            r.COMPANY_STAFF, root.id, _page(first, after, last, before), r.ACTIVE_STAFF
        )
        return connection(page)


@row_type(
    m.StationManager,
    name="StationManager",
    description="A position whose holder manages a station.",
    node=False,
)
class StationManagerNode:
    added_at: datetime = column()
    position: PositionNode | None = reference(m.StationManager.position_id)


@row_type(
    m.ServiceStation,
    name="ServiceStation",
    description="红城驿站·睦邻之家: a community's service station.",
)
class ServiceStationNode(Node):
    name: str = column()
    address: str = column()
    hotline: str | None = column(description="服务热线")
    latitude: float = column(description="GCJ-02")
    longitude: float = column(description="GCJ-02")
    facilities: list[m.Facility] = column()
    created_at: datetime = column()
    opening_hours: list[OpeningHours] = computed(_opening_hours)
    open_now: bool = computed(r.open_now, description="Open at this moment (China time).")
    community: OrgUnitNode | None = reference(m.ServiceStation.community_id)
    estate: EstateNode | None = reference(m.ServiceStation.estate_id)
    managers: list[StationManagerNode] = many(r.STATION_MANAGERS)
    items: list[ServiceItemNode] = many(r.ITEMS_OF_STATION, description="What it offers.")

    @strawberry.field(description="The buildings it serves.", metadata=listing(r.STATION_BUILDINGS))
    async def buildings(
        self,
        root: strawberry.Parent[m.ServiceStation],
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[BuildingNode]:
        page = await info.context.loaders.page(
            r.STATION_BUILDINGS, root.id, _page(first, after, last, before), r.BY_NAME_BUILDING
        )
        return connection(page)


@strawberry.type(description="A station within walking distance (the 15分钟服务圈).")
class NearbyStation:
    station: m.ServiceStation = strawberry.field(graphql_type=ServiceStationNode)
    distance_metres: int = strawberry.field(description="Great-circle distance.")
    walk_minutes: int


def as_nearby(found: list[r.Nearby]) -> list[NearbyStation]:
    return [
        NearbyStation(
            station=n.station, distance_metres=round(n.metres), walk_minutes=n.walk_minutes
        )
        for n in found
    ]


@row_type(m.ServiceCategory, name="ServiceCategory", description="A heading of the catalogue.")
class ServiceCategoryNode(Node):
    code: str = column()
    name: str = column()
    description: str | None = column()


def _default_hours(row: m.ServiceItem) -> float | None:
    return r.hours_of(row.default_minutes)


@row_type(m.ServiceItem, name="ServiceItem", description="An item of the service catalogue.")
class ServiceItemNode(Node):
    name: str = column()
    description: str | None = column()
    eligibility: list[m.Eligibility] = column(
        description="Groups it is reserved for (any of them); empty: every resident."
    )
    active: bool = column()
    default_hours: float | None = computed(
        _default_hours, description="Volunteer time one order usually takes."
    )
    provider_kind: m.ProviderKind | None = computed(r.provider_kind)
    category: ServiceCategoryNode | None = reference(m.ServiceItem.category_id)
    station: ServiceStationNode | None = reference(m.ServiceItem.station_id)
    team: ServiceTeamNode | None = reference(m.ServiceItem.team_id)
    property_company: PropertyCompanyNode | None = reference(m.ServiceItem.property_company_id)


@row_type(m.TeamMember, name="TeamMember", description="A member of a service team.", node=False)
class TeamMemberNode:
    role: m.TeamRole = column()
    joined_at: datetime = column()
    left_at: datetime | None = column()
    person: PersonNode | None = reference(m.TeamMember.person_id)


@row_type(
    m.ServiceTeam,
    name="ServiceTeam",
    description="红色跑团, a volunteer team, a 民情小分队 or a 楼栋红管家 team of a community.",
)
class ServiceTeamNode(Node):
    name: str = column()
    kind: m.TeamKind = column()
    description: str | None = column()
    founded_at: datetime = column()
    disbanded_at: datetime | None = column()
    community: OrgUnitNode | None = reference(m.ServiceTeam.community_id)
    category: ServiceCategoryNode | None = reference(
        m.ServiceTeam.category_id, description="Its focus (矛盾调解, 环境整治 ...)."
    )
    items: list[ServiceItemNode] = many(r.ITEMS_OF_TEAM, description="What it offers.")

    @strawberry.field(
        description="Current members, leader first.", metadata=listing(r.TEAM_MEMBERS)
    )
    async def members(
        self,
        root: strawberry.Parent[m.ServiceTeam],
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[TeamMemberNode]:
        page = await info.context.loaders.page(
            r.TEAM_MEMBERS, root.id, _page(first, after, last, before), r.ACTIVE_MEMBERS
        )
        return connection(page)


@row_type(m.PartyPost, name="PartyPost", description="党员先锋岗 / 党员责任区 in a building.")
class PartyPostNode(Node):
    kind: m.PostKind = column()
    title: str = column()
    area: str | None = column(description="The stairwells, floors or spaces it covers.")
    duties: str | None = column()
    started_at: datetime = column()
    ended_at: datetime | None = column()
    building: BuildingNode | None = reference(m.PartyPost.building_id)
    holder: PersonNode | None = reference(
        m.PartyPost.holder_id, description="A registered Party member (在职党员报到)."
    )


# --- service orders ------------------------------------------------------------------------


@row_type(
    m.ServiceOrderEvent,
    name="ServiceOrderEvent",
    description="One step of a service order's timeline.",
    node=False,
)
class ServiceOrderEventNode:
    at: datetime = column()
    action: m.OrderAction = column()
    from_status: m.OrderStatus | None = column()
    to_status: m.OrderStatus = column()
    note: str | None = column()
    from_level: m.DispatchLevel | None = column()
    to_level: m.DispatchLevel | None = column()
    version: int = column()
    actor: PersonNode | None = reference(
        m.ServiceOrderEvent.actor_person_id, description="Who acted (null for the scheduler)."
    )


@row_type(
    m.ServiceRating, name="ServiceRating", description="一事一评: the order's rating.", node=False
)
class ServiceRatingNode:
    rating: mpet.RatingValue = column()
    comment: str | None = column()
    at: datetime = column()


def _order_hours(row: m.ServiceOrder) -> float | None:
    return r.hours_of(row.minutes)


@row_type(
    m.ServiceOrder,
    name="ServiceOrder",
    description="红色代办: a resident's order of a service, dispatched, carried out, rated once.",
    policy="ServiceOrder",
)
class ServiceOrderNode(Node):
    """Every field is governed by `FIELD_POLICY["ServiceOrder"]`: a volunteer sees who, where
    and what exactly once they have taken the order on."""

    channel: m.OrderChannel | None = column()
    status: m.OrderStatus | None = column()
    version: int | None = column(description="Pass it back as `expectedVersion`.")
    owner_level: m.DispatchLevel | None = column(description="Who dispatches it now.")
    special_group: bool | None = computed(
        r.special_group,
        sql=lambda t: t.queue_rank > 0,
        description="鳏寡孤独 (the elderly living alone ...): first in every queue.",
    )
    details: str | None = column()
    preferred_time: str | None = column()
    contact_name: str | None = column()
    contact_phone: str | None = column()
    address: str | None = column(description="Unit and room in the building.")
    scheduled_for: datetime | None = column()
    evidence: list[str] = column()
    completion_note: str | None = column()
    hours: float | None = computed(_order_hours, description="Volunteer time reported.")
    rejection_reason: str | None = column()
    cancel_reason: str | None = column()
    escalation_count: int | None = column()
    submitted_at: datetime | None = column()
    due_at: datetime | None = column(description="Dispatch, then acceptance, is due by then.")
    dispatched_at: datetime | None = column()
    accepted_at: datetime | None = column()
    done_at: datetime | None = column()
    closed_at: datetime | None = column()
    overdue: bool | None = computed(r.overdue, sql=r.overdue_sql)
    item: ServiceItemNode | None = reference(m.ServiceOrder.item_id)
    category: ServiceCategoryNode | None = reference(m.ServiceOrder.category_id)
    building: BuildingNode | None = reference(m.ServiceOrder.building_id)
    resident: PersonNode | None = reference(m.ServiceOrder.resident_id)
    recorded_by: PersonNode | None = reference(
        m.ServiceOrder.recorded_by_id, description="Staff who ordered on the resident's behalf."
    )
    assignee: PersonNode | None = reference(
        m.ServiceOrder.assignee_id, description="Who carries it out."
    )
    team: ServiceTeamNode | None = reference(m.ServiceOrder.team_id)
    station: ServiceStationNode | None = reference(m.ServiceOrder.station_id)
    property_company: PropertyCompanyNode | None = reference(m.ServiceOrder.property_company_id)
    allowed_actions: list[m.OrderAction] = allowed_actions(r.ORDERS, rules.ORDER_ACTIONS)
    timeline: list[ServiceOrderEventNode] = many(r.ORDER_TIMELINE, description="Oldest first.")
    rating: ServiceRatingNode | None = reference(m.ServiceOrder.id, via=r.ORDER_RATING)
    finding: VisitFindingNode | None = reference(
        m.ServiceOrder.id, via=r.ORDER_FINDING, description="The door-visit finding it answers."
    )


# --- volunteer activities and hours -----------------------------------------------------------


@row_type(
    m.VolunteerActivityEvent,
    name="VolunteerActivityEvent",
    description="One step of an activity's timeline.",
    node=False,
)
class VolunteerActivityEventNode:
    at: datetime = column()
    action: m.ActivityAction = column()
    from_status: m.ActivityStatus | None = column()
    to_status: m.ActivityStatus = column()
    note: str | None = column()
    version: int = column()


@row_type(
    m.ActivitySignup, name="ActivitySignup", description="A place at an activity.", node=False
)
class ActivitySignupNode:
    signed_up_at: datetime = column()
    cancelled_at: datetime | None = column()
    checked_in_at: datetime | None = column()
    person: PersonNode | None = reference(m.ActivitySignup.person_id)


def _places_left(row: m.VolunteerActivity) -> int:
    return max(row.capacity - row.signed_up, 0)


def _activity_hours(row: m.VolunteerActivity) -> float | None:
    return r.hours_of(row.minutes)


@row_type(
    m.VolunteerActivity,
    name="VolunteerActivity",
    description="A volunteer activity (文艺汇演, 邻里互动, 微走访 ...): sign up, check in, hours.",
)
class VolunteerActivityNode(Node):
    title: str = column()
    kind: m.ActivityKind = column()
    description: str | None = column()
    place: str = column()
    starts_at: datetime = column()
    ends_at: datetime = column()
    capacity: int = column()
    signed_up: int = column(description="Places taken.")
    checked_in: int = column()
    places_left: int = computed(_places_left, sql=lambda t: t.capacity - t.signed_up)
    hours: float | None = computed(
        _activity_hours, description="Credited to every participant checked in."
    )
    status: m.ActivityStatus = column()
    version: int = column(description="Pass it back as `expectedVersion`.")
    cancel_reason: str | None = column()
    team: ServiceTeamNode | None = reference(m.VolunteerActivity.team_id)
    station: ServiceStationNode | None = reference(m.VolunteerActivity.station_id)
    community: OrgUnitNode | None = reference(
        m.VolunteerActivity.org_unit_id, description="Organiser, when a community's own."
    )
    allowed_actions: list[m.ActivityAction] = allowed_actions(r.ACTIVITIES, rules.ACTIVITY_ACTIONS)
    timeline: list[VolunteerActivityEventNode] = many(r.ACTIVITY_TIMELINE)

    @strawberry.field(
        description="Your place, if you have one.", graphql_type=ActivitySignupNode | None
    )
    async def my_signup(
        self, root: strawberry.Parent[m.VolunteerActivity], info: Info
    ) -> m.ActivitySignup | None:
        me = info.context.actor.person_id
        if me is None or root.id is None:
            return None
        return await r.my_signup(info.context.loaders, root.id, me)

    @strawberry.field(
        description="Places taken (for its organisers), in order.",
        metadata=listing(r.ACTIVITY_SIGNUPS),
    )
    async def signups(
        self,
        root: strawberry.Parent[m.VolunteerActivity],
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ActivitySignupNode]:
        page = await info.context.loaders.page(
            r.ACTIVITY_SIGNUPS, root.id, _page(first, after, last, before), r.SIGNUPS_IN_ORDER
        )
        return connection(page)


def _entry_hours(row: m.VolunteerHours) -> float | None:
    return r.hours_of(row.minutes)


@row_type(
    m.VolunteerHours,
    name="VolunteerHoursEntry",
    description="A line of the volunteer-hours ledger (never edited: corrections are lines).",
    node=False,
)
class VolunteerHoursEntryNode:
    kind: m.HoursKind = column()
    hours: float | None = computed(_entry_hours)
    source_type: str = column()
    note: str | None = column()
    as_cadre: bool = column(description="Done while serving there as a seconded cadre.")
    at: datetime = column()


@strawberry.type(description="A person's volunteer hours: totals and the ledger behind them.")
class VolunteerHoursSummary:
    person_id: strawberry.Private[int]

    async def _total(self, info: Info) -> m.VolunteerTotal | None:
        return await r.total_of(info.context.loaders, self.person_id)

    @strawberry.field(description="The sum of every entry's hours.")
    async def total_hours(self, info: Info) -> float:
        found = await self._total(info)
        return r.hours_of(found.minutes if found else 0) or 0.0

    @strawberry.field
    async def activities(self, info: Info) -> int:
        found = await self._total(info)
        return found.activities if found else 0

    @strawberry.field(description="Volunteer services (红色代办 carried out, services recorded).")
    async def services(self, info: Info) -> int:
        found = await self._total(info)
        return found.services if found else 0

    @strawberry.field(description="实事好事")
    async def good_deeds(self, info: Info) -> int:
        found = await self._total(info)
        return found.good_deeds if found else 0

    @strawberry.field(description="The ledger, newest first.", metadata=listing(r.HOURS_OF_PERSON))
    async def entries(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[VolunteerHoursEntryNode]:
        page = await info.context.loaders.page(
            r.HOURS_OF_PERSON, self.person_id, _page(first, after, last, before), r.LEDGER_ORDER
        )
        return connection(page)


# --- door visits ----------------------------------------------------------------------------


def _resolved(row: m.VisitFinding) -> bool:
    return row.resolved_at is not None


@row_type(
    m.VisitFinding,
    name="VisitFinding",
    description="What a door visit found (a need, a dispute, a hazard) and what followed.",
    policy="VisitFinding",
)
class VisitFindingNode(Node):
    kind: m.FindingKind | None = column()
    description: str | None = column()
    outcome: m.FindingOutcome | None = column()
    resolution_note: str | None = column()
    followed_up_at: datetime | None = column()
    resolved_at: datetime | None = column(description="A dispute mediated, a need met ...")
    category: ServiceCategoryNode | None = reference(m.VisitFinding.category_id)
    petition: PetitionNode | None = reference(m.VisitFinding.petition_id)
    service_order: ServiceOrderNode | None = reference(m.VisitFinding.service_order_id)
    visit: DoorVisitNode | None = reference(m.VisitFinding.visit_id)


@row_type(
    m.DoorVisit,
    name="DoorVisit",
    description="大走访 / 入户走访: who visited which household when.",
    policy="DoorVisit",
)
class DoorVisitNode(Node):
    kind: m.VisitKind | None = column()
    visited_at: datetime | None = column()
    recorded_at: datetime | None = column()
    notes: str | None = column()
    household: HouseholdNode | None = reference(m.DoorVisit.household_id)
    building: BuildingNode | None = reference(m.DoorVisit.building_id)
    visitor: PersonNode | None = reference(m.DoorVisit.visitor_id)
    team: ServiceTeamNode | None = reference(m.DoorVisit.team_id)
    findings: list[VisitFindingNode] = many(r.FINDINGS_OF_VISIT)


# --- emergencies --------------------------------------------------------------------------


@row_type(
    m.EmergencyRoster,
    name="EmergencyRosterEntry",
    description="急时全部下沉楼栋: a cadre at a building, and their check-in there.",
)
class EmergencyRosterEntryNode(Node):
    rostered_at: datetime = column()
    checked_in_at: datetime | None = column()
    ended_at: datetime | None = column()
    cadre: PersonNode | None = reference(m.EmergencyRoster.cadre_id)
    building: BuildingNode | None = reference(m.EmergencyRoster.building_id)
    position: PositionNode | None = reference(m.EmergencyRoster.position_id)


def _active(row: m.EmergencyPeriod) -> bool:
    return row.ended_at is None


@row_type(
    m.EmergencyPeriod,
    name="EmergencyPeriod",
    description="平急结合: a node in emergency, from when to when, and its roster.",
)
class EmergencyPeriodNode(Node):
    reason: str = column()
    started_at: datetime = column()
    ended_at: datetime | None = column()
    end_note: str | None = column()
    active: bool = computed(_active, sql=lambda t: t.ended_at.is_(None))
    org_unit: OrgUnitNode | None = reference(m.EmergencyPeriod.org_unit_id)

    @strawberry.field(metadata=listing(r.ROSTER_OF_PERIOD))
    async def roster(
        self,
        root: strawberry.Parent[m.EmergencyPeriod],
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[EmergencyRosterEntryNode]:
        page = await info.context.loaders.page(
            r.ROSTER_OF_PERIOD, root.id, _page(first, after, last, before), r.ROSTER_ORDER
        )
        return connection(page)


# --- counts ----------------------------------------------------------------------------------


@strawberry.type(
    name="ServiceStats",
    description="Counts of services under a unit, of the rows you may see (a display: all "
    "time only; counts of people and cases smaller than the disclosure threshold, or that "
    "would give one away, are null).",
)
class ServiceStatsType:
    stations: int | None = strawberry.field(description="红城驿站·睦邻之家")
    teams: int | None = strawberry.field(description="红色跑团 and volunteer teams")
    estates: int | None
    unmanaged_estates: int | None = strawberry.field(description="无物业管理")
    party_property_companies: int | None = strawberry.field(
        description="红色物业: companies with a Party organisation"
    )
    activities: int | None
    orders: int | None = strawberry.field(description="红色代办 orders")
    orders_done: int | None
    volunteer_services: int | None = strawberry.field(description="志愿服务 (activities, services)")
    good_deeds: int | None = strawberry.field(description="实事好事")
    cadre_services: int | None = strawberry.field(description="下沉干部 志愿服务")
    cadre_good_deeds: int | None = strawberry.field(description="下沉干部 实事好事")
    volunteer_hours: float | None
    volunteers: int | None
    door_visits: int | None = strawberry.field(description="入户走访")
    households_visited: int | None
    disputes: int | None = strawberry.field(description="矛盾纠纷 found on visits")
    disputes_resolved: int | None = strawberry.field(description="化解")


#: Counts of places and public events, shown to displays as they are.
STATS_KINDS: dict[str, CountKind] = {
    name: CountKind.PLACES
    if name
    in {
        "stations",
        "teams",
        "estates",
        "unmanaged_estates",
        "party_property_companies",
        "activities",
    }
    else CountKind.PEOPLE
    for name in r.ServiceStats.__dataclass_fields__
}
PERSONAL_STATS: tuple[str, ...] = tuple(
    k for k, v in STATS_KINDS.items() if v is CountKind.PEOPLE and k != "volunteer_minutes"
)
#: A count and its parts: the rest is a cell too.
STATS_LINES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("orders", ("orders_done",)),
    ("disputes", ("disputes_resolved",)),
    ("volunteer_services", ("cadre_services",)),
    ("good_deeds", ("cadre_good_deeds",)),
)


async def _withheld(info: Info, unit: mo.OrgUnit) -> frozenset[str]:
    """The personal service counts of a unit a display may not see, complements included,
    decided over the table of its display node (one per node and request)."""
    loaders = info.context.loaders
    actor = info.context.actor

    async def batch(ids: list[int]) -> list[frozenset[str]]:
        units = [u for u in await loaders.get_many(mo.OrgUnit, ids) if u is not None]
        by_root: dict[str, list[mo.OrgUnit]] = {}
        for found in units:
            root = display_root(actor, found.path or "")
            if root is not None:
                by_root.setdefault(root, []).append(found)
        decided: dict[int, frozenset[str]] = {}
        for root, grouped in by_root.items():
            table = await ra.stats_table(
                loaders, root, grouped, PERSONAL_STATS, load=_load_all_time
            )
            decided |= withheld_by_unit(
                table.values,
                Tree(table.org.root, table.org.children),
                PERSONAL_STATS,
                table.cells,
                STATS_LINES,
            )
        return [decided.get(i, frozenset(PERSONAL_STATS)) for i in ids]

    assert unit.id is not None
    return await loaders.batch("withheld_service_stats", ServiceStatsType, batch).load(unit.id)


async def _load_all_time(loaders: Loaders, ids: list[int]) -> list[r.ServiceStats]:
    return await r.load_service_stats(loaders, ids)


async def service_stats_for(
    info: Info, unit: mo.OrgUnit, since: datetime | None, until: datetime | None
) -> ServiceStatsType:
    """The counts through the one gate of every count (`permissions.aggregates.displayed`)."""
    actor = info.context.actor
    display = for_display(actor)
    if display and (since is not None or until is not None):
        raise invalid("displays read service counts of all time (no `since`)", "since")
    assert unit.id is not None
    found = await r.service_stats_of(info.context.loaders, unit.id, r.Window(since, until))
    withheld = await _withheld(info, unit) if display else frozenset()
    shown: dict[str, Any] = {
        k: displayed(actor, v, kind=STATS_KINDS[k], withheld=k in withheld)
        for k, v in vars(found).items()
        if k != "volunteer_minutes"
    }
    # hours add up what the services and good deeds count: shown with both
    with_hours = not display or (
        shown["volunteer_services"] is not None and shown["good_deeds"] is not None
    )
    shown["volunteer_hours"] = r.hours_of(found.volunteer_minutes) if with_hours else None
    return ServiceStatsType(**shown)


# --- queries ---------------------------------------------------------------------------------


@strawberry.input(description="Every given condition must hold.")
class ServiceOrderFilterInput:
    statuses: list[m.OrderStatus] | None = None
    category_ids: list[strawberry.ID] | None = None
    team_id: strawberry.ID | None = None
    station_id: strawberry.ID | None = None
    property_company_id: strawberry.ID | None = None
    overdue: bool = False
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None


def _order_filter(f: ServiceOrderFilterInput | None, order: r.OrderOrder) -> r.OrderFilter:
    f = f or ServiceOrderFilterInput()

    def opt(value: strawberry.ID | None, kind: str, name: str) -> int | None:
        return expect_id(value, kind, name) if value is not None else None

    return r.OrderFilter(
        statuses=tuple(f.statuses or ()),
        category_ids=tuple(
            expect_id(c, "ServiceCategory", "category_ids") for c in f.category_ids or ()
        ),
        team_id=opt(f.team_id, "ServiceTeam", "team_id"),
        station_id=opt(f.station_id, "ServiceStation", "station_id"),
        property_company_id=opt(f.property_company_id, "PropertyCompany", "property_company_id"),
        overdue_at=utcnow() if f.overdue else None,
        submitted_from=f.submitted_from,
        submitted_before=f.submitted_before,
        order=order,
    )


def _refuse_queue_order(info: Info) -> None:
    """A queue is ordered by who goes first: only for those who read `specialGroup`."""
    if not filterable(info.context.actor, "ServiceOrder", "specialGroup", serving=False):
        raise DomainError(Common.FORBIDDEN, "a queue tells who goes first: not for you")


@strawberry.input
class ActivityFilterInput:
    kinds: list[m.ActivityKind] | None = None
    statuses: list[m.ActivityStatus] | None = strawberry.field(
        default=None, description="Default: OPEN."
    )
    starts_from: datetime | None = None
    starts_before: datetime | None = None


@strawberry.input
class VisitFilterInput:
    kinds: list[m.VisitKind] | None = None
    visited_from: datetime | None = None
    visited_before: datetime | None = None
    visitor_id: strawberry.ID | None = None


@strawberry.type
class ServiceQuery:
    @strawberry.field(
        description="Estates (小区) you may see, under a unit.", metadata=listing(r.ESTATES_UNDER)
    )
    async def estates(
        self,
        info: Info,
        under: strawberry.ID,
        without_property_management: bool | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[EstateNode]:
        f = r.EstateFilter(without_property_management)
        page = await info.context.loaders.page(
            r.ESTATES_UNDER, _unit(under), _page(first, after, last, before), f
        )
        return connection(page)

    @strawberry.field(
        description="红城驿站·睦邻之家 under a unit (or all you may see).",
        metadata=listing(r.STATIONS),
    )
    async def service_stations(
        self,
        info: Info,
        under: strawberry.ID | None = None,
        facilities: list[m.Facility] | None = None,
        name_contains: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ServiceStationNode]:
        f = r.StationFilter(tuple(facilities or ()), name_contains)
        args = _page(first, after, last, before)
        if under is None:
            return connection(await info.context.loaders.page(r.STATIONS, None, args, f))
        return connection(await info.context.loaders.page(r.STATIONS_UNDER, _unit(under), args, f))

    @strawberry.field(
        description="Stations within `minutes`' walk of a point (GCJ-02), nearest first."
    )
    async def service_stations_near(
        self, info: Info, latitude: float, longitude: float, minutes: int = 15
    ) -> list[NearbyStation]:
        return as_nearby(
            await r.stations_near_point(info.context.loaders, latitude, longitude, minutes)
        )

    @strawberry.field(
        graphql_type=list[ServiceCategoryNode], description="The catalogue's headings."
    )
    async def service_categories(self, info: Info) -> list[m.ServiceCategory]:
        return await r.list_categories(info.context.session)

    @strawberry.field(
        description="Items of the catalogue you may see; `forMe`: only those you may order.",
        metadata=listing(r.ITEMS),
    )
    async def service_items(
        self,
        info: Info,
        under: strawberry.ID | None = None,
        category_ids: list[strawberry.ID] | None = None,
        providers: list[m.ProviderKind] | None = None,
        for_me: bool = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ServiceItemNode]:
        open_to = await _my_groups(info) if for_me else None
        f = r.ItemFilter(
            tuple(expect_id(c, "ServiceCategory", "category_ids") for c in category_ids or ()),
            tuple(str(p) for p in providers or ()),
            open_to,
        )
        args = _page(first, after, last, before)
        if under is None:
            return connection(await info.context.loaders.page(r.ITEMS, None, args, f))
        return connection(await info.context.loaders.page(r.ITEMS_UNDER, _unit(under), args, f))

    @strawberry.field(
        description="Service teams under a unit (or all you may see).", metadata=listing(r.TEAMS)
    )
    async def service_teams(
        self,
        info: Info,
        under: strawberry.ID | None = None,
        kinds: list[m.TeamKind] | None = None,
        category_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ServiceTeamNode]:
        category = expect_id(category_id, "ServiceCategory", "category_id") if category_id else None
        f = r.TeamFilter(tuple(kinds or ()), category)
        args = _page(first, after, last, before)
        if under is None:
            return connection(await info.context.loaders.page(r.TEAMS, None, args, f))
        return connection(await info.context.loaders.page(r.TEAMS_UNDER, _unit(under), args, f))

    @strawberry.field(description="红色物业: property companies.", metadata=listing(r.COMPANIES))
    async def property_companies(
        self,
        info: Info,
        under: strawberry.ID | None = None,
        has_party_organisation: bool | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PropertyCompanyNode]:
        f = r.CompanyFilter(has_party_organisation)
        args = _page(first, after, last, before)
        if under is None:
            return connection(await info.context.loaders.page(r.COMPANIES, None, args, f))
        return connection(await info.context.loaders.page(r.COMPANIES_UNDER, _unit(under), args, f))

    @strawberry.field(
        description="党员先锋岗 and 党员责任区 under a unit.", metadata=listing(r.POSTS_UNDER)
    )
    async def party_posts(
        self,
        info: Info,
        under: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PartyPostNode]:
        page = await info.context.loaders.page(
            r.POSTS_UNDER, _unit(under), _page(first, after, last, before), r.ACTIVE_POSTS
        )
        return connection(page)

    @strawberry.field(
        description="Service orders you may see (your own, those you handle or carry out).",
        metadata=listing(r.ORDERS_ALL),
    )
    async def service_orders(
        self,
        info: Info,
        under: strawberry.ID | None = None,
        filter: ServiceOrderFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ServiceOrderNode]:
        f = _order_filter(filter, r.OrderOrder.SUBMITTED)
        args = _page(first, after, last, before)
        if under is None:
            return connection(await info.context.loaders.page(r.ORDERS_ALL, None, args, f))
        return connection(await info.context.loaders.page(r.ORDERS_UNDER, _unit(under), args, f))

    @strawberry.field(
        description="派单: the orders a node owns waiting for a dispatcher, 鳏寡孤独 first, then "
        "soonest due.",
        metadata=listing(r.DISPATCH_QUEUE),
    )
    async def service_dispatch_queue(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ServiceOrderNode]:
        unit = expect_id(org_unit_id, "OrgUnit", "org_unit_id")
        _refuse_queue_order(info)
        page = await info.context.loaders.page(
            r.DISPATCH_QUEUE, unit, _page(first, after, last, before), r.DISPATCH_QUEUE_FILTER
        )
        return connection(page)

    @strawberry.field(description="Volunteer activities.", metadata=listing(r.ACTIVITIES_ALL))
    async def volunteer_activities(
        self,
        info: Info,
        under: strawberry.ID | None = None,
        filter: ActivityFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[VolunteerActivityNode]:
        g = filter or ActivityFilterInput()
        f = r.ActivityFilter(
            tuple(g.kinds or ()),
            tuple(g.statuses) if g.statuses is not None else (m.ActivityStatus.OPEN,),
            g.starts_from,
            g.starts_before,
        )
        args = _page(first, after, last, before)
        if under is None:
            return connection(await info.context.loaders.page(r.ACTIVITIES_ALL, None, args, f))
        page = await info.context.loaders.page(r.ACTIVITIES_UNDER, _unit(under), args, f)
        return connection(page)

    @strawberry.field(description="Your volunteer hours.")
    def my_volunteer_hours(self, info: Info) -> VolunteerHoursSummary | None:
        me = info.context.actor.person_id
        return VolunteerHoursSummary(person_id=me) if me is not None else None

    @strawberry.field(
        description="A person's volunteer hours, for themselves and admins over where they "
        "live (null for anyone else, and for someone who has none)."
    )
    async def volunteer_hours(
        self, info: Info, person_id: strawberry.ID
    ) -> VolunteerHoursSummary | None:
        ident = expect_id(person_id, "Person", "person_id")
        if await r.total_of(info.context.loaders, ident) is None:
            return None
        return VolunteerHoursSummary(person_id=ident)

    @strawberry.field(
        description="大走访: door visits under a unit.", metadata=listing(r.VISITS_UNDER)
    )
    async def door_visits(
        self,
        info: Info,
        under: strawberry.ID,
        filter: VisitFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[DoorVisitNode]:
        g = filter or VisitFilterInput()
        f = r.VisitFilter(
            tuple(g.kinds or ()),
            g.visited_from,
            g.visited_before,
            expect_id(g.visitor_id, "Person", "visitor_id") if g.visitor_id else None,
        )
        page = await info.context.loaders.page(
            r.VISITS_UNDER, _unit(under), _page(first, after, last, before), f
        )
        return connection(page)

    @strawberry.field(
        description="What door visits found under a unit.", metadata=listing(r.FINDINGS_UNDER)
    )
    async def visit_findings(
        self,
        info: Info,
        under: strawberry.ID,
        kinds: list[m.FindingKind] | None = None,
        resolved: bool | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[VisitFindingNode]:
        f = r.FindingFilter(tuple(kinds or ()), resolved)
        page = await info.context.loaders.page(
            r.FINDINGS_UNDER, _unit(under), _page(first, after, last, before), f
        )
        return connection(page)

    @strawberry.field(
        description="平急结合: emergencies of a unit and below, newest first.",
        metadata=listing(r.EMERGENCIES_UNDER),
    )
    async def emergency_periods(
        self,
        info: Info,
        under: strawberry.ID,
        active_only: bool = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[EmergencyPeriodNode]:
        page = await info.context.loaders.page(
            r.EMERGENCIES_UNDER,
            _unit(under),
            _page(first, after, last, before),
            r.EmergencyFilter(active_only),
        )
        return connection(page)

    @strawberry.field(description="Service counts of a unit (see `OrgUnit.serviceStats`).")
    async def service_stats(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> ServiceStatsType | None:
        unit = await info.context.loaders.get(
            mo.OrgUnit, expect_id(org_unit_id, "OrgUnit", "org_unit_id")
        )
        return await service_stats_for(info, unit, since, until) if unit else None


async def _my_groups(info: Info) -> tuple[m.Eligibility, ...]:
    """The groups the caller belongs to (for items reserved for them)."""
    me = info.context.actor.person_id
    person = await info.context.loaders.get(mp.Person, me) if me is not None else None
    if person is None:
        return ()
    return tuple(g for g in m.Eligibility if rules.eligible(person, [g]))


# --- mutations: places and providers --------------------------------------------------------


@strawberry.input
class CreateEstateInput:
    grid_id: strawberry.ID
    name: str
    latitude: float | None = strawberry.field(default=None, description="GCJ-02")
    longitude: float | None = strawberry.field(default=None, description="GCJ-02")
    property_company_id: strawberry.ID | None = strawberry.field(
        default=None, description="None: 无物业管理."
    )


@strawberry.input
class UpdateEstateInput:
    id: strawberry.ID
    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    property_company_id: strawberry.ID | None = None
    without_property_company: bool = strawberry.field(
        default=False, description="From now on no company manages it (无物业管理)."
    )


@strawberry.type
class EstatePayload:
    estate: EstateNode | None
    errors: list[ServiceError]


class CreateEstate(Mutation[CreateEstateInput, m.Estate, EstatePayload]):
    """A 小区 in a grid (admins)."""

    refs = {"grid_id": mo.OrgUnit, "property_company_id": m.PropertyCompany}
    permission = rules.CREATE_ESTATE
    errors = ServiceError

    async def perform(self, ctx: Context, input: CreateEstateInput, refs: Refs) -> m.Estate:
        return await r.create_estate(
            ctx.session,
            grid_id=refs.need("grid_id"),
            name=input.name,
            latitude=input.latitude,
            longitude=input.longitude,
            property_company_id=refs.id("property_company_id"),
        )


class UpdateEstate(Mutation[UpdateEstateInput, m.Estate, EstatePayload]):
    """Rename or relocate an estate, or change who manages it."""

    refs = {"id": m.Estate, "property_company_id": m.PropertyCompany}
    permission = rules.UPDATE_ESTATE
    errors = ServiceError
    error_fields = {"estate_id": "id"}

    async def perform(self, ctx: Context, input: UpdateEstateInput, refs: Refs) -> m.Estate:
        return await r.update_estate(
            ctx.session,
            estate_id=refs.need("id"),
            name=input.name,
            property_company_id=refs.id("property_company_id"),
            without_property_company=input.without_property_company,
            latitude=input.latitude,
            longitude=input.longitude,
        )


@strawberry.input(description="Put a building into an estate of its grid, or into none.")
class PlaceBuildingInput:
    building_id: strawberry.ID
    estate_id: strawberry.ID | None = None


@strawberry.input(description="A building's coordinates (GCJ-02).")
class LocateBuildingInput:
    building_id: strawberry.ID
    latitude: float
    longitude: float


@strawberry.type
class ServiceBuildingPayload:
    building: BuildingNode | None
    errors: list[ServiceError]


class PlaceBuilding(Mutation[PlaceBuildingInput, mo.Building, ServiceBuildingPayload]):
    """Which estate a building belongs to."""

    refs = {"building_id": mo.Building, "estate_id": m.Estate}
    permission = rules.PLACE_BUILDING
    errors = ServiceError

    async def perform(self, ctx: Context, input: PlaceBuildingInput, refs: Refs) -> mo.Building:
        return await r.place_building(
            ctx.session, building_id=refs.need("building_id"), estate_id=refs.id("estate_id")
        )


class LocateBuilding(Mutation[LocateBuildingInput, mo.Building, ServiceBuildingPayload]):
    """Where a building stands (for the 15-minute service circle)."""

    refs = {"building_id": mo.Building}
    permission = rules.LOCATE_BUILDING
    errors = ServiceError

    async def perform(self, ctx: Context, input: LocateBuildingInput, refs: Refs) -> mo.Building:
        return await r.locate_building(
            ctx.session,
            building_id=refs.need("building_id"),
            latitude=input.latitude,
            longitude=input.longitude,
        )


@strawberry.input
class OpeningHoursInput:
    days: list[m.Weekday]
    opens: str = strawberry.field(description="HH:MM")
    closes: str = strawberry.field(description="HH:MM")


def _openings(hours: list[OpeningHoursInput] | None) -> list[r.Opening]:
    return [r.Opening(tuple(h.days), h.opens, h.closes) for h in hours or ()]


@strawberry.input
class CreateServiceStationInput:
    community_id: strawberry.ID
    name: str
    address: str
    latitude: float = strawberry.field(description="GCJ-02")
    longitude: float = strawberry.field(description="GCJ-02")
    estate_id: strawberry.ID | None = None
    hotline: str | None = None
    opening_hours: list[OpeningHoursInput] = strawberry.field(default_factory=list)
    facilities: list[m.Facility] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateServiceStationInput:
    id: strawberry.ID
    opening_hours: list[OpeningHoursInput] | None = None
    facilities: list[m.Facility] | None = None
    hotline: str | None = None


@strawberry.type
class ServiceStationPayload:
    station: ServiceStationNode | None
    errors: list[ServiceError]


class CreateServiceStation(
    Mutation[CreateServiceStationInput, m.ServiceStation, ServiceStationPayload]
):
    """A 红城驿站·睦邻之家 of a community (admins)."""

    refs = {"community_id": mo.OrgUnit, "estate_id": m.Estate}
    permission = rules.CREATE_STATION
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: CreateServiceStationInput, refs: Refs
    ) -> m.ServiceStation:
        return await r.create_station(
            ctx.session,
            community_id=refs.need("community_id"),
            name=input.name,
            address=input.address,
            latitude=input.latitude,
            longitude=input.longitude,
            estate_id=refs.id("estate_id"),
            hotline=input.hotline,
            opening_hours=_openings(input.opening_hours),
            facilities=list(input.facilities),
        )


class UpdateServiceStation(
    Mutation[UpdateServiceStationInput, m.ServiceStation, ServiceStationPayload]
):
    """Opening hours, facilities, hotline (admins, or the station's managers)."""

    refs = {"id": m.ServiceStation}
    permission = rules.UPDATE_STATION
    errors = ServiceError
    error_fields = {"station_id": "id"}

    async def perform(
        self, ctx: Context, input: UpdateServiceStationInput, refs: Refs
    ) -> m.ServiceStation:
        return await r.update_station(
            ctx.session,
            station_id=refs.need("id"),
            opening_hours=_openings(input.opening_hours)
            if input.opening_hours is not None
            else None,
            facilities=list(input.facilities) if input.facilities is not None else None,
            hotline=input.hotline,
        )


@strawberry.input
class ServeBuildingInput:
    station_id: strawberry.ID
    building_id: strawberry.ID
    serves: bool = True


class ServeBuilding(Mutation[ServeBuildingInput, m.ServiceStation, ServiceStationPayload]):
    """Add a building to those a station serves, or take it off."""

    refs = {"station_id": m.ServiceStation, "building_id": mo.Building}
    permission = rules.SERVE_BUILDING
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: ServeBuildingInput, refs: Refs
    ) -> m.ServiceStation:
        return await r.serve_building(
            ctx.session,
            station_id=refs.need("station_id"),
            building_id=refs.need("building_id"),
            serves=input.serves,
        )


@strawberry.input
class StationManagerInput:
    station_id: strawberry.ID
    position_id: strawberry.ID


@strawberry.type
class StationManagerPayload:
    manager: StationManagerNode | None
    errors: list[ServiceError]


class AddStationManager(Mutation[StationManagerInput, m.StationManager, StationManagerPayload]):
    """A position's holder manages the station (admins)."""

    refs = {"station_id": m.ServiceStation, "position_id": mp.Position}
    permission = rules.MANAGE_STATION
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: StationManagerInput, refs: Refs
    ) -> m.StationManager:
        return await r.add_station_manager(
            ctx.session, station_id=refs.need("station_id"), position_id=refs.need("position_id")
        )


class RemoveStationManager(Mutation[StationManagerInput, m.StationManager, StationManagerPayload]):
    refs = {"station_id": m.ServiceStation, "position_id": mp.Position}
    permission = rules.MANAGE_STATION
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: StationManagerInput, refs: Refs
    ) -> m.StationManager:
        return await r.remove_station_manager(
            ctx.session, station_id=refs.need("station_id"), position_id=refs.need("position_id")
        )


@strawberry.input
class CreatePropertyCompanyInput:
    org_unit_id: strawberry.ID = strawberry.field(
        description="Where it is registered: a unit covering every estate it will serve."
    )
    name: str
    credit_code: str | None = None
    hotline: str | None = None
    has_party_organisation: bool = False
    party_organisation_since: date | None = None


@strawberry.input
class UpdatePropertyCompanyInput:
    id: strawberry.ID
    hotline: str | None = None
    has_party_organisation: bool | None = None
    party_organisation_since: date | None = None


@strawberry.type
class PropertyCompanyPayload:
    property_company: PropertyCompanyNode | None
    errors: list[ServiceError]


class CreatePropertyCompany(
    Mutation[CreatePropertyCompanyInput, m.PropertyCompany, PropertyCompanyPayload]
):
    """Register a property company (admins)."""

    refs = {"org_unit_id": mo.OrgUnit}
    permission = rules.CREATE_COMPANY
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: CreatePropertyCompanyInput, refs: Refs
    ) -> m.PropertyCompany:
        return await r.create_property_company(
            ctx.session,
            org_unit_id=refs.need("org_unit_id"),
            name=input.name,
            credit_code=input.credit_code,
            hotline=input.hotline,
            has_party_organisation=input.has_party_organisation,
            party_organisation_since=input.party_organisation_since,
        )


class UpdatePropertyCompany(
    Mutation[UpdatePropertyCompanyInput, m.PropertyCompany, PropertyCompanyPayload]
):
    """红色物业: record the company's Party organisation (admins)."""

    refs = {"id": m.PropertyCompany}
    permission = rules.UPDATE_COMPANY
    errors = ServiceError
    error_fields = {"company_id": "id"}

    async def perform(
        self, ctx: Context, input: UpdatePropertyCompanyInput, refs: Refs
    ) -> m.PropertyCompany:
        return await r.update_property_company(
            ctx.session,
            company_id=refs.need("id"),
            hotline=input.hotline,
            has_party_organisation=input.has_party_organisation,
            party_organisation_since=input.party_organisation_since,
        )


@strawberry.input
class CreateServiceTeamInput:
    community_id: strawberry.ID
    name: str
    kind: m.TeamKind
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="Its focus (矛盾调解, 环境整治 ...)."
    )
    description: str | None = None


@strawberry.type
class ServiceTeamPayload:
    team: ServiceTeamNode | None
    errors: list[ServiceError]


class CreateServiceTeam(Mutation[CreateServiceTeamInput, m.ServiceTeam, ServiceTeamPayload]):
    """A team of a community (admins)."""

    refs = {"community_id": mo.OrgUnit, "category_id": m.ServiceCategory}
    permission = rules.CREATE_TEAM
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: CreateServiceTeamInput, refs: Refs
    ) -> m.ServiceTeam:
        return await r.create_team(
            ctx.session,
            community_id=refs.need("community_id"),
            name=input.name,
            kind=input.kind,
            category_id=refs.id("category_id"),
            description=input.description,
        )


@strawberry.input
class TeamMemberInput:
    team_id: strawberry.ID
    person_id: strawberry.ID
    role: m.TeamRole | None = strawberry.field(
        default=m.TeamRole.MEMBER,
        description="changeTeamMember: the new role, or null for leaving the team.",
    )


@strawberry.type
class TeamMemberPayload:
    member: TeamMemberNode | None
    errors: list[ServiceError]


class AddTeamMember(Mutation[TeamMemberInput, m.TeamMember, TeamMemberPayload]):
    """Take someone into a team (its community's staff, or its leader and deputies)."""

    refs = {"team_id": m.ServiceTeam, "person_id": mp.Person}
    permission = rules.MANAGE_TEAM
    errors = ServiceError

    async def perform(self, ctx: Context, input: TeamMemberInput, refs: Refs) -> m.TeamMember:
        return await r.add_team_member(
            ctx.session,
            team_id=refs.need("team_id"),
            person_id=refs.need("person_id"),
            role=input.role or m.TeamRole.MEMBER,
        )


class ChangeTeamMember(Mutation[TeamMemberInput, m.TeamMember, TeamMemberPayload]):
    """Give a member another role, or (role null) let them leave."""

    refs = {"team_id": m.ServiceTeam, "person_id": mp.Person}
    permission = rules.MANAGE_TEAM
    errors = ServiceError

    async def perform(self, ctx: Context, input: TeamMemberInput, refs: Refs) -> m.TeamMember:
        return await r.change_team_member(
            ctx.session,
            team_id=refs.need("team_id"),
            person_id=refs.need("person_id"),
            role=input.role,
        )


@strawberry.input
class CreateServiceItemInput:
    category_id: strawberry.ID
    name: str
    description: str | None = None
    station_id: strawberry.ID | None = None
    team_id: strawberry.ID | None = None
    property_company_id: strawberry.ID | None = None
    eligibility: list[m.Eligibility] = strawberry.field(
        default_factory=list, description="Reserved for these groups (any); empty: everyone."
    )
    default_minutes: int = 60


@strawberry.input
class RetireServiceItemInput:
    id: strawberry.ID


@strawberry.type
class ServiceItemPayload:
    item: ServiceItemNode | None
    errors: list[ServiceError]


class CreateServiceItem(Mutation[CreateServiceItemInput, m.ServiceItem, ServiceItemPayload]):
    """An item a station, team or property company offers, and who may order it."""

    refs = {
        "category_id": m.ServiceCategory,
        "station_id": m.ServiceStation,
        "team_id": m.ServiceTeam,
        "property_company_id": m.PropertyCompany,
    }
    permission = rules.CREATE_ITEM
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: CreateServiceItemInput, refs: Refs
    ) -> m.ServiceItem:
        return await r.create_item(
            ctx.session,
            category_id=refs.need("category_id"),
            name=input.name,
            description=input.description,
            station_id=refs.id("station_id"),
            team_id=refs.id("team_id"),
            property_company_id=refs.id("property_company_id"),
            eligibility=list(input.eligibility),
            default_minutes=input.default_minutes,
        )


class RetireServiceItem(Mutation[RetireServiceItemInput, m.ServiceItem, ServiceItemPayload]):
    refs = {"id": m.ServiceItem}
    permission = rules.RETIRE_ITEM
    errors = ServiceError
    error_fields = {"item_id": "id"}

    async def perform(
        self, ctx: Context, input: RetireServiceItemInput, refs: Refs
    ) -> m.ServiceItem:
        return await r.retire_item(ctx.session, item_id=refs.need("id"))


@strawberry.input
class CreatePartyPostInput:
    building_id: strawberry.ID
    kind: m.PostKind
    holder_id: strawberry.ID
    title: str
    area: str | None = None
    duties: str | None = None


@strawberry.input
class EndPartyPostInput:
    id: strawberry.ID


@strawberry.type
class PartyPostPayload:
    post: PartyPostNode | None
    errors: list[ServiceError]


class CreatePartyPost(Mutation[CreatePartyPostInput, m.PartyPost, PartyPostPayload]):
    """党员先锋岗 / 党员责任区, held by a registered Party member."""

    refs = {"building_id": mo.Building, "holder_id": mp.Person}
    permission = rules.CREATE_POST
    errors = ServiceError

    async def perform(self, ctx: Context, input: CreatePartyPostInput, refs: Refs) -> m.PartyPost:
        return await r.create_party_post(
            ctx.session,
            building_id=refs.need("building_id"),
            kind=input.kind,
            holder_id=refs.need("holder_id"),
            title=input.title,
            area=input.area,
            duties=input.duties,
        )


class EndPartyPost(Mutation[EndPartyPostInput, m.PartyPost, PartyPostPayload]):
    refs = {"id": m.PartyPost}
    permission = rules.END_POST
    errors = ServiceError
    error_fields = {"post_id": "id"}

    async def perform(self, ctx: Context, input: EndPartyPostInput, refs: Refs) -> m.PartyPost:
        return await r.end_party_post(ctx.session, post_id=refs.need("id"))


# --- mutations: service orders --------------------------------------------------------------


@strawberry.input(description="Order a service; `idempotencyKey` makes retries safe.")
class OrderServiceInput:
    idempotency_key: str = strawberry.field(
        description="Client-made, 8-128 characters; the same key returns the same order."
    )
    item_id: strawberry.ID
    resident_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff ordering for a resident (红色代办)."
    )
    details: str | None = None
    preferred_time: str | None = strawberry.field(
        default=None, description="When it suits the resident, in their words."
    )
    contact_phone: str | None = strawberry.field(
        default=None, description="Another number to call (the resident's by default)."
    )
    finding_id: strawberry.ID | None = strawberry.field(
        default=None, description="The door-visit finding it answers."
    )


@strawberry.type
class ServiceOrderPayload:
    order: ServiceOrderNode | None
    errors: list[ServiceError]


class OrderService(Mutation[OrderServiceInput, m.ServiceOrder, ServiceOrderPayload]):
    """Order a service for oneself, or (staff) for a resident."""

    refs = {"item_id": m.ServiceItem, "resident_id": mp.Person, "finding_id": m.VisitFinding}
    permission = rules.ORDER_SERVICE
    errors = ServiceError
    error_fields = {"recorded_by_id": "resident_id"}

    async def perform(self, ctx: Context, input: OrderServiceInput, refs: Refs) -> m.ServiceOrder:
        me = ctx.actor.person_id
        resident = refs.id("resident_id") or me
        if resident is None:
            raise invalid("say whom the service is for", "resident_id")
        draft = r.OrderDraft(
            item_id=refs.need("item_id"),
            resident_id=resident,
            recorded_by_id=None if resident == me else me,
            details=input.details,
            preferred_time=input.preferred_time,
            contact_phone=input.contact_phone,
            finding_id=refs.id("finding_id"),
        )
        return await r.order_service(
            ctx.session,
            draft,
            idempotency_key=input.idempotency_key,
            eligible=rules.eligible,
            rank=rules.queue_rank,
        )


@strawberry.input(
    description="Move an order along: dispatch, accept, schedule, complete, return, escalate, "
    "reject, cancel."
)
class ServiceOrderActionInput:
    id: strawberry.ID
    action: m.OrderAction
    expected_version: int
    note: str | None = strawberry.field(
        default=None, description="Reason (return, escalate, reject, cancel) or completion note."
    )
    team_id: strawberry.ID | None = strawberry.field(default=None, description="DISPATCH to it.")
    station_id: strawberry.ID | None = strawberry.field(default=None, description="DISPATCH to it.")
    property_company_id: strawberry.ID | None = strawberry.field(
        default=None, description="DISPATCH to it."
    )
    scheduled_for: datetime | None = strawberry.field(default=None, description="SCHEDULE")
    evidence: list[str] = strawberry.field(default_factory=list, description="COMPLETE: photos.")
    minutes: int | None = strawberry.field(
        default=None, description="COMPLETE: volunteer time spent (the item's usual by default)."
    )


class ActOnServiceOrder(Mutation[ServiceOrderActionInput, m.ServiceOrder, ServiceOrderPayload]):
    """Take the next step of a service order."""

    refs = {
        "id": m.ServiceOrder,
        "team_id": m.ServiceTeam,
        "station_id": m.ServiceStation,
        "property_company_id": m.PropertyCompany,
    }
    permission = rules.ACT_ON_ORDER
    errors = ServiceError
    error_fields = {"order_id": "id"}

    async def perform(
        self, ctx: Context, input: ServiceOrderActionInput, refs: Refs
    ) -> m.ServiceOrder:
        step = r.Step(
            note=input.note,
            provider=r.Provider(
                team_id=refs.id("team_id"),
                station_id=refs.id("station_id"),
                property_company_id=refs.id("property_company_id"),
            ),
            scheduled_for=input.scheduled_for,
            evidence=tuple(input.evidence),
            minutes=input.minutes,
        )
        if step.provider.given and input.action != m.OrderAction.DISPATCH:
            raise invalid("a provider is named only to DISPATCH", "team_id")
        return await r.act_on_order(
            ctx.session,
            refs.need("id"),
            input.action,
            input.expected_version,
            ctx.actor.person_id,
            step,
        )


@strawberry.input
class RateServiceOrderInput:
    id: strawberry.ID
    rating: mpet.RatingValue
    comment: str | None = None


@strawberry.type
class RateServiceOrderPayload:
    order: m.ServiceOrder | None = strawberry.field(graphql_type=ServiceOrderNode | None)
    points_credited: int = strawberry.field(description="Points credited to the building head.")
    errors: list[UserError] = strawberry.field(graphql_type=list[ServiceError])


class RateServiceOrder(Mutation[RateServiceOrderInput, r.OrderRating, RateServiceOrderPayload]):
    """一事一评: the resident rates a done order, once."""

    refs = {"id": m.ServiceOrder}
    permission = rules.RATE_ORDER
    errors = ServiceError
    error_fields = {"order_id": "id"}
    audit_type = "ServiceRating"

    async def perform(
        self, ctx: Context, input: RateServiceOrderInput, refs: Refs
    ) -> r.OrderRating:
        rater = ctx.actor.person_id
        assert rater is not None
        return await r.rate_order(
            ctx.session,
            order_id=refs.need("id"),
            rater_person_id=rater,
            rating=input.rating,
            comment=input.comment,
        )

    def audited(self, result: r.OrderRating) -> Any:
        return result.rating

    def payload(
        self, result: r.OrderRating | None, errors: list[UserError]
    ) -> RateServiceOrderPayload:
        return RateServiceOrderPayload(
            order=result.order if result else None,
            points_credited=result.points.points if result and result.points else 0,
            errors=errors,
        )


# --- mutations: activities and hours --------------------------------------------------------


@strawberry.input
class CreateVolunteerActivityInput:
    title: str
    kind: m.ActivityKind
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    team_id: strawberry.ID | None = strawberry.field(default=None, description="Organiser.")
    station_id: strawberry.ID | None = strawberry.field(default=None, description="Organiser.")
    community_id: strawberry.ID | None = strawberry.field(default=None, description="Organiser.")
    description: str | None = None
    minutes: int | None = strawberry.field(
        default=None, description="Credited per participant (default: the activity's length)."
    )


@strawberry.input
class VolunteerActivityActionInput:
    id: strawberry.ID
    action: m.ActivityAction
    expected_version: int
    note: str | None = strawberry.field(default=None, description="Why it is cancelled.")


@strawberry.type
class VolunteerActivityPayload:
    activity: VolunteerActivityNode | None
    errors: list[ServiceError]


class CreateVolunteerActivity(
    Mutation[CreateVolunteerActivityInput, m.VolunteerActivity, VolunteerActivityPayload]
):
    """Publish an activity organised by a team, a station or a community."""

    refs = {"team_id": m.ServiceTeam, "station_id": m.ServiceStation, "community_id": mo.OrgUnit}
    permission = rules.CREATE_ACTIVITY
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: CreateVolunteerActivityInput, refs: Refs
    ) -> m.VolunteerActivity:
        draft = r.ActivityDraft(
            title=input.title,
            kind=input.kind,
            place=input.place,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            capacity=input.capacity,
            team_id=refs.id("team_id"),
            station_id=refs.id("station_id"),
            community_id=refs.id("community_id"),
            description=input.description,
            minutes=input.minutes,
        )
        return await r.create_activity(ctx.session, draft, created_by_id=ctx.actor.person_id)


class ActOnVolunteerActivity(
    Mutation[VolunteerActivityActionInput, m.VolunteerActivity, VolunteerActivityPayload]
):
    """Finish (no more check-ins) or cancel an activity (its organisers)."""

    refs = {"id": m.VolunteerActivity}
    permission = rules.ACT_ON_ACTIVITY
    errors = ServiceError
    error_fields = {"activity_id": "id"}

    async def perform(
        self, ctx: Context, input: VolunteerActivityActionInput, refs: Refs
    ) -> m.VolunteerActivity:
        return await r.act_on_activity(
            ctx.session,
            refs.need("id"),
            input.action,
            input.expected_version,
            ctx.actor.person_id,
            note=input.note,
        )


@strawberry.input
class ActivitySignupInput:
    activity_id: strawberry.ID


@strawberry.input(description="Check a participant in (organisers); a walk-in takes a place.")
class CheckInInput:
    activity_id: strawberry.ID
    person_id: strawberry.ID


@strawberry.type
class ActivitySignupPayload:
    signup: ActivitySignupNode | None
    errors: list[ServiceError]


class SignUpForActivity(Mutation[ActivitySignupInput, m.ActivitySignup, ActivitySignupPayload]):
    """Take a place at an activity (while places are left)."""

    refs = {"activity_id": m.VolunteerActivity}
    permission = rules.SIGN_UP
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: ActivitySignupInput, refs: Refs
    ) -> m.ActivitySignup:
        me = ctx.actor.person_id
        assert me is not None
        return await r.sign_up(ctx.session, activity_id=refs.need("activity_id"), person_id=me)


class CancelActivitySignup(Mutation[ActivitySignupInput, m.ActivitySignup, ActivitySignupPayload]):
    """Give one's place back (before being checked in)."""

    refs = {"activity_id": m.VolunteerActivity}
    permission = rules.SIGN_UP
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: ActivitySignupInput, refs: Refs
    ) -> m.ActivitySignup:
        me = ctx.actor.person_id
        assert me is not None
        return await r.cancel_sign_up(
            ctx.session, activity_id=refs.need("activity_id"), person_id=me
        )


class CheckInToActivity(Mutation[CheckInInput, m.ActivitySignup, ActivitySignupPayload]):
    """Check a participant in: their hours are credited at once."""

    refs = {"activity_id": m.VolunteerActivity, "person_id": mp.Person}
    permission = rules.CHECK_IN
    errors = ServiceError

    async def perform(self, ctx: Context, input: CheckInInput, refs: Refs) -> m.ActivitySignup:
        return await r.check_in(
            ctx.session,
            activity_id=refs.need("activity_id"),
            person_id=refs.need("person_id"),
            checked_in_by_id=ctx.actor.person_id,
        )


@strawberry.input(description="A volunteer service or a 实事好事 done in a building.")
class RecordVolunteerServiceInput:
    building_id: strawberry.ID
    kind: m.HoursKind
    minutes: int
    note: str
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff recording for someone (yourself by default)."
    )


@strawberry.input(description="A correction of someone's hours (admins): a new ledger line.")
class CorrectVolunteerHoursInput:
    person_id: strawberry.ID
    minutes: int = strawberry.field(description="Positive or negative.")
    note: str


@strawberry.type
class VolunteerHoursPayload:
    entry: VolunteerHoursEntryNode | None
    errors: list[ServiceError]


class RecordVolunteerService(
    Mutation[RecordVolunteerServiceInput, m.VolunteerHours, VolunteerHoursPayload]
):
    refs = {"building_id": mo.Building, "person_id": mp.Person}
    permission = rules.RECORD_SERVICE
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: RecordVolunteerServiceInput, refs: Refs
    ) -> m.VolunteerHours:
        person = refs.id("person_id") or ctx.actor.person_id
        if person is None:
            raise invalid("say who did it", "person_id")
        return await r.record_service(
            ctx.session,
            person_id=person,
            building_id=refs.need("building_id"),
            kind=input.kind,
            minutes=input.minutes,
            note=input.note,
            recorded_by_id=ctx.actor.person_id,
        )


class CorrectVolunteerHours(
    Mutation[CorrectVolunteerHoursInput, m.VolunteerHours, VolunteerHoursPayload]
):
    refs = {"person_id": mp.Person}
    permission = rules.CORRECT_HOURS
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: CorrectVolunteerHoursInput, refs: Refs
    ) -> m.VolunteerHours:
        return await r.correct_hours(
            ctx.session,
            person_id=refs.need("person_id"),
            minutes=input.minutes,
            note=input.note,
            recorded_by_id=ctx.actor.person_id,
        )


# --- mutations: door visits and emergencies -------------------------------------------------


@strawberry.input
class VisitFindingInput:
    kind: m.FindingKind
    description: str
    category_id: strawberry.ID | None = None


@strawberry.input(description="大走访 / 入户走访: a visit you made, and what you found.")
class RecordDoorVisitInput:
    household_id: strawberry.ID
    kind: m.VisitKind
    visited_at: datetime
    notes: str | None = None
    team_id: strawberry.ID | None = strawberry.field(
        default=None, description="The 民情小分队 you visited with."
    )
    findings: list[VisitFindingInput] = strawberry.field(default_factory=list)


@strawberry.type
class DoorVisitPayload:
    visit: DoorVisitNode | None
    errors: list[ServiceError]


class RecordDoorVisit(Mutation[RecordDoorVisitInput, m.DoorVisit, DoorVisitPayload]):
    refs = {"household_id": mo.Household, "team_id": m.ServiceTeam}
    permission = rules.RECORD_VISIT
    errors = ServiceError

    async def perform(self, ctx: Context, input: RecordDoorVisitInput, refs: Refs) -> m.DoorVisit:
        visitor = ctx.actor.person_id
        assert visitor is not None
        findings = [
            r.FindingDraft(
                kind=f.kind,
                description=f.description,
                category_id=expect_id(f.category_id, "ServiceCategory", "findings")
                if f.category_id
                else None,
            )
            for f in input.findings
        ]
        return await r.record_visit(
            ctx.session,
            household_id=refs.need("household_id"),
            visitor_id=visitor,
            kind=input.kind,
            visited_at=input.visited_at,
            notes=input.notes,
            team_id=refs.id("team_id"),
            findings=findings,
        )


@strawberry.input(description="What followed a finding: a petition filed or a service ordered.")
class FollowUpFindingInput:
    id: strawberry.ID
    petition_id: strawberry.ID | None = None
    service_order_id: strawberry.ID | None = None


@strawberry.input(description="A finding dealt with: a dispute mediated (化解), a need met ...")
class ResolveFindingInput:
    id: strawberry.ID
    note: str


@strawberry.type
class VisitFindingPayload:
    finding: VisitFindingNode | None
    errors: list[ServiceError]


class FollowUpVisitFinding(Mutation[FollowUpFindingInput, m.VisitFinding, VisitFindingPayload]):
    refs = {"id": m.VisitFinding, "petition_id": mpet.Petition, "service_order_id": m.ServiceOrder}
    permission = rules.FOLLOW_UP_FINDING
    errors = ServiceError
    error_fields = {"finding_id": "id"}

    async def perform(
        self, ctx: Context, input: FollowUpFindingInput, refs: Refs
    ) -> m.VisitFinding:
        return await r.follow_up_finding(
            ctx.session,
            finding_id=refs.need("id"),
            followed_up_by_id=ctx.actor.person_id,
            petition_id=refs.id("petition_id"),
            service_order_id=refs.id("service_order_id"),
        )


class ResolveVisitFinding(Mutation[ResolveFindingInput, m.VisitFinding, VisitFindingPayload]):
    refs = {"id": m.VisitFinding}
    permission = rules.FOLLOW_UP_FINDING
    errors = ServiceError
    error_fields = {"finding_id": "id"}

    async def perform(self, ctx: Context, input: ResolveFindingInput, refs: Refs) -> m.VisitFinding:
        return await r.resolve_finding(
            ctx.session,
            finding_id=refs.need("id"),
            note=input.note,
            resolved_by_id=ctx.actor.person_id,
        )


@strawberry.input(description="平急结合: switch a unit to emergency (its cadres go to buildings).")
class StartEmergencyInput:
    org_unit_id: strawberry.ID
    reason: str


@strawberry.input(description="Switch a unit back: its roster ends.")
class EndEmergencyInput:
    org_unit_id: strawberry.ID
    note: str | None = None


@strawberry.input
class EmergencyCheckInInput:
    id: strawberry.ID


@strawberry.type
class EmergencyPayload:
    period: EmergencyPeriodNode | None
    errors: list[ServiceError]


@strawberry.type
class EmergencyCheckInPayload:
    entry: EmergencyRosterEntryNode | None
    errors: list[ServiceError]


class StartEmergency(Mutation[StartEmergencyInput, m.EmergencyPeriod, EmergencyPayload]):
    refs = {"org_unit_id": mo.OrgUnit}
    permission = rules.SWITCH_EMERGENCY
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: StartEmergencyInput, refs: Refs
    ) -> m.EmergencyPeriod:
        return await r.start_emergency(
            ctx.session,
            org_unit_id=refs.need("org_unit_id"),
            reason=input.reason,
            started_by_id=ctx.actor.person_id,
        )


class EndEmergency(Mutation[EndEmergencyInput, m.EmergencyPeriod, EmergencyPayload]):
    refs = {"org_unit_id": mo.OrgUnit}
    permission = rules.SWITCH_EMERGENCY
    errors = ServiceError

    async def perform(
        self, ctx: Context, input: EndEmergencyInput, refs: Refs
    ) -> m.EmergencyPeriod:
        return await r.end_emergency(
            ctx.session,
            org_unit_id=refs.need("org_unit_id"),
            note=input.note,
            ended_by_id=ctx.actor.person_id,
        )


class CheckInEmergency(Mutation[EmergencyCheckInInput, m.EmergencyRoster, EmergencyCheckInPayload]):
    """A rostered cadre checks in at their building."""

    refs = {"id": m.EmergencyRoster}
    permission = rules.CHECK_IN_EMERGENCY
    errors = ServiceError
    error_fields = {"roster_id": "id"}

    async def perform(
        self, ctx: Context, input: EmergencyCheckInInput, refs: Refs
    ) -> m.EmergencyRoster:
        return await r.check_in_emergency(ctx.session, roster_id=refs.need("id"))


@strawberry.type
class ServiceMutation:
    create_estate = CreateEstate.field()
    update_estate = UpdateEstate.field()
    place_building = PlaceBuilding.field()
    locate_building = LocateBuilding.field()
    create_service_station = CreateServiceStation.field()
    update_service_station = UpdateServiceStation.field()
    serve_building = ServeBuilding.field()
    add_station_manager = AddStationManager.field()
    remove_station_manager = RemoveStationManager.field()
    create_property_company = CreatePropertyCompany.field()
    update_property_company = UpdatePropertyCompany.field()
    create_service_team = CreateServiceTeam.field()
    add_team_member = AddTeamMember.field()
    change_team_member = ChangeTeamMember.field()
    create_service_item = CreateServiceItem.field()
    retire_service_item = RetireServiceItem.field()
    create_party_post = CreatePartyPost.field()
    end_party_post = EndPartyPost.field()
    order_service = OrderService.field()
    act_on_service_order = ActOnServiceOrder.field()
    rate_service_order = RateServiceOrder.field()
    create_volunteer_activity = CreateVolunteerActivity.field()
    act_on_volunteer_activity = ActOnVolunteerActivity.field()
    sign_up_for_activity = SignUpForActivity.field()
    cancel_activity_signup = CancelActivitySignup.field()
    check_in_to_activity = CheckInToActivity.field()
    record_volunteer_service = RecordVolunteerService.field()
    correct_volunteer_hours = CorrectVolunteerHours.field()
    record_door_visit = RecordDoorVisit.field()
    follow_up_visit_finding = FollowUpVisitFinding.field()
    resolve_visit_finding = ResolveVisitFinding.field()
    start_emergency = StartEmergency.field()
    end_emergency = EndEmergency.field()
    check_in_emergency = CheckInEmergency.field()
