"""Who may do what with services in the building, as data: dispatchers, providers and
residents of service orders (红色代办), keepers of teams, stations and activities, who may
order which item (eligibility), who goes first in a queue, row scope and the field policy.

Providers act through the row: an order loaded from the database carries `provider_people`
(the members of the team it is dispatched to, the station's managers, the company's 红管家),
a team, station or activity its `keeper_ids` (see `models.services`), so every decision here
is made from the actor and the row, without I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from models.people import Person, Position, Role
from models.services import (
    TEAM_KEEPING_ROLES,
    ActivityAction,
    DispatchLevel,
    Eligibility,
    Estate,
    OrderAction,
    OrderStatus,
    StationManager,
    TeamMember,
    VolunteerActivity,
    people_of,
)
from models.services import ServiceOrder as Order
from permissions.actor import Actor
from permissions.masking import mask_name, mask_phone, mask_room
from permissions.petitions import RECORDERS, holds
from permissions.policy import CARERS, VISIBLE, FieldRule, personal, public
from permissions.roles import Relation
from permissions.rules import (
    ActionTable,
    Acts,
    As,
    Facts,
    Other,
    Party,
    Queue,
    SignedIn,
    all_of,
    any_of,
    over,
)
from permissions.scope import Reach, RowCondition, under

R = Relation
P = Party
A = OrderAction

# --- who may order what, and who goes first ------------------------------------------------

#: Each group an item may be reserved for, and the person flag that puts a resident in it.
ELIGIBILITY: dict[Eligibility, str] = {
    Eligibility.ELDERLY: "is_elderly",
    Eligibility.LIVES_ALONE: "lives_alone",
    Eligibility.VETERAN: "is_veteran",
    Eligibility.PARTY_MEMBER: "is_party_member",
    Eligibility.RENTER: "is_renter",
}


def eligible(person: Person, groups: Sequence[str]) -> bool:
    """An item reserved for some groups may be ordered for a resident in any of them."""
    return not groups or any(getattr(person, ELIGIBILITY[Eligibility(g)]) for g in groups)


#: 鳏寡孤独 first: (rank, flags that must all hold), highest first. The elderly living alone
#: come first, then everyone else living alone; the rest rank 0.
QUEUE_RANKS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (2, ("is_elderly", "lives_alone")),
    (1, ("lives_alone",)),
)


def queue_rank(person: Person) -> int:
    for rank, flags in QUEUE_RANKS:
        if all(getattr(person, flag) for flag in flags):
            return rank
    return 0


# --- service orders ----------------------------------------------------------------------------

#: Relations over the owning node that dispatch an order owned at each level.
DISPATCHERS: dict[DispatchLevel, frozenset[Relation]] = {
    DispatchLevel.COMMUNITY: frozenset({R.ADMIN}),
    DispatchLevel.STREET: frozenset({R.ADMIN}),
    DispatchLevel.DISTRICT: frozenset({R.ADMIN}),
}
#: Staff of the order's own place (its grid worker, its building's head and liaison) dispatch
#: too while the community owns it (网格员派单, 楼栋长接诉即办).
PLACE_DISPATCHERS: frozenset[Relation] = frozenset({R.GRID, R.BUILDING_STAFF})


def order_parties(actor: Actor, order: Any) -> frozenset[Party]:
    found: set[Party] = set()
    if holds(actor, DISPATCHERS[order.owner_level], order.owner_path) or (
        order.owner_level == DispatchLevel.COMMUNITY and holds(actor, PLACE_DISPATCHERS, order.path)
    ):
        found.add(P.HANDLER)
    me = actor.person_id
    if me is not None:
        # a provider's member does not serve their own order (hours and points are for others)
        if me in people_of(order, "provider_people") and me != order.resident_id:
            found.add(P.KEEPER)
        if me == order.assignee_id:
            found.add(P.ASSIGNEE)
        if me == order.resident_id:
            found.add(P.REPORTER)
        if me == order.recorded_by_id:
            found.add(P.RECORDER)
    return frozenset(found)


#: Who takes each step through `actOnServiceOrder` (CLOSE only through the resident's rating,
#: CLOSE_UNRATED only through the scheduler, which also escalates and returns what is late).
ORDER_ACTIONS: ActionTable[OrderAction] = ActionTable(
    {
        A.DISPATCH: frozenset({P.HANDLER}),
        A.ACCEPT: frozenset({P.KEEPER}),
        A.SCHEDULE: frozenset({P.ASSIGNEE}),
        A.COMPLETE: frozenset({P.ASSIGNEE}),
        A.RETURN: frozenset({P.KEEPER, P.ASSIGNEE, P.HANDLER}),
        A.ESCALATE: frozenset({P.HANDLER}),
        A.REJECT: frozenset({P.HANDLER}),
        A.CANCEL: frozenset({P.REPORTER, P.RECORDER, P.HANDLER}),
    },
    order_parties,
)


@dataclass(frozen=True)
class OwnBehalf:
    """A resident acting for themselves: the input names no one else in `person`, gives none
    of `without` (what only staff may give), and the actor lives here (has a household)."""

    person: str
    resident: bool = True
    without: tuple[str, ...] = ()

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        if actor.person_id is None or (self.resident and actor.household_path is None):
            return False
        if any(facts.value(name) is not None for name in self.without):
            return False
        named = facts.row(self.person)
        return named is None or named.id == actor.person_id


def order_party_sql(actor: Actor, party: Party) -> Any | None:
    """`order_parties` in SQL: the actor is `party` to the order row."""
    me = actor.person_id
    match party:
        case P.HANDLER:
            owned = [
                sa.and_(
                    col(Order.owner_level) == level,
                    under(col(Order.owner_path), actor.grant_paths(*relations)),
                )
                for level, relations in DISPATCHERS.items()
                if actor.grant_paths(*relations)
            ]
            places = actor.grant_paths(*PLACE_DISPATCHERS)
            if places:
                owned.append(
                    sa.and_(
                        col(Order.owner_level) == DispatchLevel.COMMUNITY,
                        under(col(Order.path), places),
                    )
                )
            return sa.or_(*owned) if owned else None
        case P.KEEPER if me is not None:
            return sa.and_(_providing(Order, me), col(Order.resident_id).is_distinct_from(me))
        case P.ASSIGNEE if me is not None:
            return col(Order.assignee_id) == me
        case P.REPORTER if me is not None:
            return col(Order.resident_id) == me
        case P.RECORDER if me is not None:
            return col(Order.recorded_by_id) == me
    return None


#: What waits for an actor: orders to dispatch (dispatchers), to accept (the provider's
#: people), to schedule and carry out (the one who took it on), and their own done orders
#: awaiting their rating. Returning, escalating, rejecting and cancelling are choices, not
#: work waiting.
ORDER_QUEUE: Queue[OrderAction] = Queue(
    ORDER_ACTIONS,
    col(Order.status),
    order_party_sql,
    forward=frozenset({A.DISPATCH, A.ACCEPT, A.SCHEDULE, A.COMPLETE}),
    also={P.REPORTER: frozenset({OrderStatus.DONE})},
)

#: A resident orders for themselves; staff serving the resident's home order for them (红色代办).
ORDER_SERVICE = any_of(
    # a visit's finding is followed up by staff (FOLLOW_UP_FINDING), never closed by a resident
    OwnBehalf("resident_id", without=("finding_id",)),
    all_of(Other("resident_id"), over(*RECORDERS, on=("resident_id",))),
)
ACT_ON_ORDER = Acts(ORDER_ACTIONS)
#: 一事一评: only the resident rates.
RATE_ORDER = As(frozenset({P.REPORTER}), order_parties)

# --- places and providers ----------------------------------------------------------------------


def keeper_parties(actor: Actor, row: Any) -> frozenset[Party]:
    """KEEPER of a team (its leader and deputies) or a station (its managers)."""
    me = actor.person_id
    return (
        frozenset({P.KEEPER})
        if me is not None and me in people_of(row, "keeper_ids")
        else (frozenset())
    )


CREATE_ESTATE = over(R.ADMIN, on=("grid_id",))
#: The company named must only be visible to the admin (registered above the estate).
UPDATE_ESTATE = over(R.ADMIN, on=("id",))
#: Which estate a building belongs to: its grid's worker or an admin.
PLACE_BUILDING = over(R.ADMIN, R.GRID, on=("building_id", "estate_id"))
LOCATE_BUILDING = over(R.ADMIN, R.GRID, R.BUILDING_STAFF, on=("building_id",))
CREATE_STATION = over(R.ADMIN, on=("community_id", "estate_id"))
UPDATE_STATION = any_of(over(R.ADMIN, on=("id",)), As(frozenset({P.KEEPER}), keeper_parties))
SERVE_BUILDING = over(R.ADMIN, on=("station_id", "building_id"))
MANAGE_STATION = over(R.ADMIN, on=("station_id", "position_id"))
CREATE_COMPANY = over(R.ADMIN, on=("org_unit_id",))
UPDATE_COMPANY = over(R.ADMIN, on=("id",))
CREATE_TEAM = over(R.ADMIN, on=("community_id",))
#: A team's roster: its community's staff, or the team's leader and deputies.
MANAGE_TEAM = any_of(
    over(R.ADMIN, R.GRID, on=("team_id",)),
    As(frozenset({P.KEEPER}), keeper_parties, on="team_id"),
)
_KEEPS_PROVIDER = (
    As(frozenset({P.KEEPER}), keeper_parties, on="team_id"),
    As(frozenset({P.KEEPER}), keeper_parties, on="station_id"),
)
#: Items of the catalogue: admins over the provider, or the keepers of a team or station.
CREATE_ITEM = any_of(
    over(R.ADMIN, on=("station_id", "team_id", "property_company_id")), *_KEEPS_PROVIDER
)
RETIRE_ITEM = over(R.ADMIN, on=("id",))
#: 党员先锋岗 and 党员责任区 are set up by the building's staff, grid worker or admins.
CREATE_POST = over(R.ADMIN, R.GRID, R.BUILDING_STAFF, on=("building_id",))
END_POST = over(R.ADMIN, R.GRID, R.BUILDING_STAFF, on=("id",))

# --- volunteer activities and hours -------------------------------------------------------------

#: Relations over an activity's place that keep it besides its organisers.
ACTIVITY_STAFF: frozenset[Relation] = frozenset({R.ADMIN, R.GRID})


def activity_parties(actor: Actor, activity: Any) -> frozenset[Party]:
    found = set(keeper_parties(actor, activity))
    if holds(actor, ACTIVITY_STAFF, activity.path):
        found.add(P.KEEPER)
    return frozenset(found)


ACTIVITY_ACTIONS: ActionTable[ActivityAction] = ActionTable(
    {ActivityAction.FINISH: frozenset({P.KEEPER}), ActivityAction.CANCEL: frozenset({P.KEEPER})},
    activity_parties,
)
CREATE_ACTIVITY = any_of(
    over(R.ADMIN, R.GRID, on=("team_id", "station_id", "community_id")), *_KEEPS_PROVIDER
)
ACT_ON_ACTIVITY = Acts(ACTIVITY_ACTIONS)
#: Anyone signed in who sees the activity takes a place for themselves.
SIGN_UP = SignedIn()
#: Never oneself: a check-in credits hours and points.
CHECK_IN = all_of(Other("person_id"), As(frozenset({P.KEEPER}), activity_parties, on="activity_id"))
#: Services and 实事好事 in a building: recorded by its staff for anyone, or by whoever serves
#: there (a cadre, a volunteer, a registered Party member) for themselves.
RECORD_SERVICE = any_of(
    all_of(Other("person_id"), over(R.BUILDING_STAFF, R.GRID, R.ADMIN, on=("building_id",))),
    all_of(
        OwnBehalf("person_id", resident=False),
        over(R.SERVICE, R.BUILDING_STAFF, R.GRID, on=("building_id",)),
    ),
)
#: Corrections of someone else's hours: admins over where the person lives or serves.
CORRECT_HOURS = all_of(Other("person_id"), over(R.ADMIN, on=("person_id",)))

# --- door visits and emergencies -------------------------------------------------------------

RECORD_VISIT = over(R.BUILDING_STAFF, R.GRID, R.SERVICE, R.ADMIN, on=("household_id",))


def finding_parties(actor: Actor, finding: Any) -> frozenset[Party]:
    found: set[Party] = set()
    if holds(actor, frozenset({R.BUILDING_STAFF, R.GRID, R.ADMIN}), finding.path):
        found.add(P.HANDLER)
    if actor.person_id is not None and actor.person_id == finding.recorded_by_id:
        found.add(P.RECORDER)
    return frozenset(found)


FOLLOW_UP_FINDING = As(frozenset({P.HANDLER, P.RECORDER}), finding_parties)
#: 平急结合: an admin switches its node (or one below it) to emergency and back.
SWITCH_EMERGENCY = over(R.ADMIN, on=("org_unit_id",))


def roster_parties(actor: Actor, entry: Any) -> frozenset[Party]:
    me = actor.person_id
    return frozenset({P.ASSIGNEE}) if me is not None and me == entry.cadre_id else frozenset()


#: A rostered cadre checks in at their building themselves.
CHECK_IN_EMERGENCY = As(frozenset({P.ASSIGNEE}), roster_parties)

# --- row scope ----------------------------------------------------------------------------------


def _kept_teams(person_id: int) -> Any:
    return sa.select(col(TeamMember.team_id)).where(
        col(TeamMember.person_id) == person_id,
        col(TeamMember.left_at).is_(None),
        col(TeamMember.role).in_([str(r) for r in TEAM_KEEPING_ROLES]),
    )


def _managed_stations(person_id: int) -> Any:
    return (
        sa.select(col(StationManager.station_id))
        .join(Position, col(Position.id) == col(StationManager.position_id))
        .where(
            col(Position.person_id) == person_id,
            col(Position.ended_at).is_(None),
            col(StationManager.removed_at).is_(None),
        )
    )


def _staffed_companies(person_id: int) -> Any:
    from models.org import Building

    return (
        sa.select(col(Estate.property_company_id))
        .join(Building, col(Building.estate_id) == col(Estate.id))
        .join(Position, col(Position.building_id) == col(Building.id))
        .where(
            col(Position.person_id) == person_id,
            col(Position.role) == Role.PROPERTY_STAFF,
            col(Position.ended_at).is_(None),
        )
    )


def _providing(order: Any, me: int) -> sa.ColumnElement[bool]:
    """Dispatched to a team the person belongs to, a station they manage, a company they
    work for (the SQL of `provider_people`)."""
    teams = sa.select(col(TeamMember.team_id)).where(
        col(TeamMember.person_id) == me, col(TeamMember.left_at).is_(None)
    )
    return sa.or_(
        order.team_id.in_(teams),
        order.station_id.in_(_managed_stations(me)),
        order.property_company_id.in_(_staffed_companies(me)),
    )


def _orders_taken_part_in(order: Any, me: int) -> sa.ColumnElement[bool]:
    """The resident's own orders, those recorded or carried out by the actor, and those
    dispatched to a provider they act for."""
    return sa.or_(
        order.resident_id == me,
        order.recorded_by_id == me,
        order.assignee_id == me,
        _providing(order, me),
    )


def _own_orders(model: Any, actor: Actor) -> sa.ColumnElement[bool]:
    if actor.person_id is None:
        return sa.false()
    if model is Order:
        return _orders_taken_part_in(Order, actor.person_id)
    order = sa.orm.aliased(Order, name="own_order")
    return sa.exists().where(
        col(order.id) == model.order_id, _orders_taken_part_in(order, actor.person_id)
    )


def _own_signups(model: Any, actor: Actor) -> sa.ColumnElement[bool]:
    me = actor.person_id
    if me is None:
        return sa.false()
    kept = sa.select(col(VolunteerActivity.id)).where(
        sa.or_(
            col(VolunteerActivity.team_id).in_(_kept_teams(me)),
            col(VolunteerActivity.station_id).in_(_managed_stations(me)),
        )
    )
    return sa.or_(model.person_id == me, model.activity_id.in_(kept))


def _own_visits(model: Any, actor: Actor) -> sa.ColumnElement[bool]:
    """Visits the actor made (and what they found), and visits to the actor's household."""
    found: list[sa.ColumnElement[bool]] = []
    if actor.person_id is not None:
        who = model.visitor_id if hasattr(model, "visitor_id") else model.recorded_by_id
        found.append(who == actor.person_id)
    if actor.household_path is not None:
        found.append(under(model.path, (actor.household_path,)))
    return sa.or_(*found) if found else sa.false()


def _hours_at_place(model: Any, actor: Actor) -> sa.ColumnElement[bool]:
    """Lines of work done under an admin's (or integrator's) node, whoever did it (a cadre
    living elsewhere): what was done there counts there (the ledger's reach gives the rest).
    A line names no one: who earned it is its person's and admins' business only."""
    return under(model.path, actor.grant_paths(R.ADMIN, R.INTEGRATOR))


def _own_roster(model: Any, actor: Actor) -> sa.ColumnElement[bool]:
    return model.cadre_id == actor.person_id if actor.person_id is not None else sa.false()


ROW_SCOPE: dict[str, Reach] = {
    "estate": Reach.AREA,
    "property_company": Reach.AREA,
    "service_station": Reach.AREA,
    "station_building": Reach.AREA,
    "station_manager": Reach.AREA,
    "service_category": Reach.PUBLIC,
    "service_item": Reach.AREA,
    "service_team": Reach.AREA,
    "team_member": Reach.AREA,
    "party_post": Reach.AREA,
    "service_order": Reach.HANDLED,
    "service_order_event": Reach.HANDLED,
    "service_rating": Reach.HANDLED,
    "volunteer_activity": Reach.AREA,
    "volunteer_activity_event": Reach.AREA,
    "activity_signup": Reach.HANDLED,
    "volunteer_hours": Reach.LEDGER,
    "volunteer_total": Reach.LEDGER,
    "door_visit": Reach.HANDLED,
    "visit_finding": Reach.HANDLED,
    "emergency_period": Reach.AREA,
    "emergency_roster": Reach.HANDLED,
}

OWN_ROWS: dict[str, RowCondition] = {
    "service_order": _own_orders,
    "service_order_event": _own_orders,
    "service_rating": _own_orders,
    "activity_signup": _own_signups,
    "door_visit": _own_visits,
    "visit_finding": _own_visits,
    "emergency_roster": _own_roster,
    "volunteer_hours": _hours_at_place,
}

# --- the field policy ---------------------------------------------------------------------------

#: The resident, the one who carries the order out (once accepted), the staff of its place.
_ORDER_CARERS = frozenset({R.SELF, R.TASKED, R.BUILDING_STAFF, R.GRID})
#: Visit notes: the visited household, the visitor, the staff caring for the building.
_VISIT_CARERS = CARERS | {R.TASKED}

#: An order is its resident's.
SUBJECTS: dict[str, str] = {"ServiceOrder": "resident_id"}
#: The volunteer who took an order on, the visitor who wrote notes.
TASKED_BY: dict[str, tuple[str, ...]] = {
    "ServiceOrder": ("assignee_id",),
    "DoorVisit": ("visitor_id",),
    "VisitFinding": ("recorded_by_id",),
}

_ORDER_PUBLIC = (
    "id",
    "channel",
    "status",
    "version",
    "ownerLevel",
    "preferredTime",
    "scheduledFor",
    "hours",
    "rejectionReason",
    "cancelReason",
    "escalationCount",
    "submittedAt",
    "dueAt",
    "dispatchedAt",
    "acceptedAt",
    "doneAt",
    "closedAt",
    "overdue",
    "item",
    "category",
    "building",
    "resident",
    "recordedBy",
    "assignee",
    "team",
    "station",
    "propertyCompany",
    "allowedActions",
    "timeline",
    "rating",
    "finding",
)
_VISIT_PUBLIC = (
    "id",
    "kind",
    "visitedAt",
    "recordedAt",
    "household",
    "building",
    "visitor",
    "team",
    "findings",
)
_FINDING_PUBLIC = (
    "id",
    "kind",
    "category",
    "outcome",
    "petition",
    "serviceOrder",
    "followedUpAt",
    "resolvedAt",
    "visit",
)

FIELD_POLICY: dict[str, dict[str, FieldRule]] = {
    # a volunteer sees what the task needs: before accepting, the item, the building and
    # when; once they have taken it on (TASKED), who, where and what exactly
    "ServiceOrder": {
        **{name: public() for name in _ORDER_PUBLIC},
        "details": personal(_ORDER_CARERS | {R.ADMIN}, {R.INTEGRATOR}),
        "evidence": personal(_ORDER_CARERS | {R.ADMIN}, {R.INTEGRATOR}),
        "completionNote": personal(_ORDER_CARERS | {R.ADMIN}, {R.INTEGRATOR}),
        "contactName": personal(_ORDER_CARERS | {R.ADMIN}, {R.INTEGRATOR}, mask_name),
        "contactPhone": personal(_ORDER_CARERS, {R.ADMIN, R.INTEGRATOR}, mask_phone),
        "address": personal(_ORDER_CARERS, {R.ADMIN, R.INTEGRATOR, R.SERVICE}, mask_room),
        # whoever may see the order may know it goes first (the queue says so anyway)
        "specialGroup": FieldRule(full=VISIBLE - {R.INTEGRATOR}),
    },
    "DoorVisit": {
        **{name: public() for name in _VISIT_PUBLIC},
        "notes": personal(_VISIT_CARERS, {R.ADMIN}),
    },
    "VisitFinding": {
        **{name: public() for name in _FINDING_PUBLIC},
        "description": personal(_VISIT_CARERS | {R.ADMIN}, {R.INTEGRATOR}),
        "resolutionNote": personal(_VISIT_CARERS | {R.ADMIN}, {R.INTEGRATOR}),
    },
}

RELATION_PATHS: dict[tuple[str, str], tuple[str, str] | None] = {
    ("ServiceOrder", "resident"): None,
    ("ServiceOrder", "recordedBy"): None,
    ("ServiceOrder", "assignee"): None,
    ("ServiceOrderEvent", "actor"): None,
    ("DoorVisit", "household"): None,  # the household side: public, its members guarded
    ("DoorVisit", "visitor"): None,
    ("TeamMember", "person"): None,
    ("PartyPost", "holder"): None,
    ("ActivitySignup", "person"): None,
    ("EmergencyRosterEntry", "cadre"): None,
}
