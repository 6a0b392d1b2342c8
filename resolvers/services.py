"""Business rules of services in the building: estates and coordinates, stations, the service
catalogue, teams, property companies and Party-member posts; service orders (红色代办) on the
shared workflow; volunteer activities and the volunteer-hours ledger; door visits (大走访) and
what followed them; emergency mode (平急结合); and the counts a big screen shows.

Every function takes the caller's `AsyncSession`, validates, raises `DomainError` with a stable
code and flushes; the caller owns the transaction. Who may do what was decided before (in
`permissions.services`); what a function needs from there (who may order an item, who goes
first) it is given as a plain function.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import Ltree, utcnow
from models.incentives import PointsEntry
from models.org import Building, Household, OrgKind, OrgUnit
from models.people import Person, Position, Role
from models.petitions import Petition, RatingValue
from models.services import (
    AT_DISPATCH,
    CLOCKED,
    DISPATCH_DEPTH,
    DISPATCH_LEVELS,
    DONE_STATUSES,
    ActivityAction,
    ActivityKind,
    ActivitySignup,
    ActivityStatus,
    DispatchLevel,
    DoorVisit,
    Eligibility,
    EmergencyPeriod,
    EmergencyRoster,
    Estate,
    Facility,
    FindingKind,
    FindingOutcome,
    HoursKind,
    OrderAction,
    OrderChannel,
    OrderStatus,
    PartyPost,
    PostKind,
    PropertyCompany,
    ServiceCategory,
    ServiceItem,
    ServiceOrder,
    ServiceOrderEvent,
    ServiceRating,
    ServiceStation,
    ServiceTeam,
    StationBuilding,
    StationManager,
    TeamKind,
    TeamMember,
    TeamRole,
    VisitFinding,
    VisitKind,
    VolunteerActivity,
    VolunteerActivityEvent,
    VolunteerHours,
    VolunteerTotal,
    Weekday,
)
from resolvers.common import (
    clean_idempotency_key,
    clean_note,
    clean_references,
    clean_text,
    flush_or_refuse,
    get_row,
    refresh_path,
)
from resolvers.errors import DomainError, invalid, not_found
from resolvers.incentives import POINTS_PER_HOUR, credit, credit_volunteer_hours
from resolvers.loaders import Children, Loaders, ScopeFn
from resolvers.pagination import Listing, Narrowing, Ordering, Parent, asc, desc
from resolvers.petitions import SATISFIED_POINTS, building_head_at, content_hash
from resolvers.scheduler import scheduled
from resolvers.workflow import Flow, Workflow

CHINA = ZoneInfo("Asia/Shanghai")
M = TypeVar("M")


class ServiceCode(enum.StrEnum):
    """Codes of services in the building (besides the workflow's own)."""

    DUPLICATE = "DUPLICATE"
    RETIRED = "RETIRED"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    ALREADY_RATED = "ALREADY_RATED"
    ACTIVITY_FULL = "ACTIVITY_FULL"
    ACTIVITY_CLOSED = "ACTIVITY_CLOSED"
    ALREADY_SIGNED_UP = "ALREADY_SIGNED_UP"
    NOT_SIGNED_UP = "NOT_SIGNED_UP"
    ALREADY_CHECKED_IN = "ALREADY_CHECKED_IN"
    NOT_REGISTERED = "NOT_REGISTERED"
    ALREADY_ENDED = "ALREADY_ENDED"
    ALREADY_FOLLOWED_UP = "ALREADY_FOLLOWED_UP"
    EMERGENCY_ACTIVE = "EMERGENCY_ACTIVE"
    NOT_IN_EMERGENCY = "NOT_IN_EMERGENCY"


def _duplicate(message: str, field: str) -> DomainError:
    return DomainError(ServiceCode.DUPLICATE, message, field)


def is_under(path: str | None, ancestor: str | None) -> bool:
    if path is None or ancestor is None:
        return False
    return path == ancestor or path.startswith(ancestor + ".")


async def _active_unit(session: AsyncSession, ident: int, field: str, *kinds: OrgKind) -> OrgUnit:
    unit: OrgUnit = await get_row(session, OrgUnit, ident, "org unit", field)
    if unit.retired_at is not None:
        raise DomainError(ServiceCode.RETIRED, "this org unit is retired", field)
    if kinds and unit.kind not in kinds:
        wanted = " or ".join(sorted(kinds))
        raise invalid(f"`{field}` names a {unit.kind}, not a {wanted}", field)
    return unit


# --- coordinates and the 15-minute service circle ---------------------------------------------

#: GB 50180-2018 (城市居住区规划设计标准): a 15-minute walk is 800-1,000 m as the crow flies;
#: the circle of `minutes` is `minutes * METRES_PER_MINUTE` metres of great-circle distance.
METRES_PER_MINUTE: Final = 1000 / 15
MAX_WALK_MINUTES: Final = 30
#: Nearest stations listed per place at most.
MAX_NEARBY: Final = 50
#: Zunyi lies around 27.7 N, 106.9 E; the municipality's GCJ-02 box, with a margin.
ZUNYI_BOX: Final = ((27.0, 29.5), (105.5, 108.5))


def clean_coordinates(
    latitude: float | None, longitude: float | None, field: str = "latitude"
) -> tuple[float | None, float | None]:
    """GCJ-02 coordinates inside Zunyi, or none at all."""
    if latitude is None and longitude is None:
        return None, None
    if latitude is None or longitude is None:
        raise invalid("give both `latitude` and `longitude`, or neither", field)
    (south, north), (west, east) = ZUNYI_BOX
    if not (south <= latitude <= north and west <= longitude <= east):
        raise invalid(
            "coordinates are GCJ-02 degrees inside Zunyi (latitude 27.0-29.5, longitude "
            "105.5-108.5)",
            field,
        )
    return round(latitude, 7), round(longitude, 7)


def walk_radius(minutes: int) -> float:
    if not 1 <= minutes <= MAX_WALK_MINUTES:
        raise invalid(f"`minutes` is from 1 to {MAX_WALK_MINUTES}", "minutes")
    return minutes * METRES_PER_MINUTE


def _earth(latitude: Any, longitude: Any) -> Any:
    return sa.func.ll_to_earth(latitude, longitude)


def within_walk(latitude: Any, longitude: Any, radius: float) -> tuple[Any, Any]:
    """(condition, distance) of the stations within `radius` metres of a point: the box test
    uses the GiST index on `ll_to_earth(latitude, longitude)`, the distance test trims the
    box's corners."""
    probe = _earth(latitude, longitude)
    point = _earth(col(ServiceStation.latitude), col(ServiceStation.longitude))
    distance = sa.func.earth_distance(probe, point)
    return sa.and_(sa.func.earth_box(probe, radius).op("@>")(point), distance <= radius), distance


@dataclass(frozen=True)
class Nearby:
    """A station within walking distance, with how far it is."""

    station: ServiceStation
    metres: float

    @property
    def walk_minutes(self) -> int:
        return max(1, round(self.metres / METRES_PER_MINUTE))


async def nearby_stations(loaders: Loaders, building_id: int, minutes: int) -> list[Nearby]:
    """Stations within `minutes`' walk of a building (at its estate's point when it has none
    of its own), nearest first: one statement for every building of the request."""
    radius = walk_radius(minutes)

    async def batch(keys: list[tuple[int, float]]) -> list[list[Nearby]]:
        found: dict[tuple[int, float], list[Nearby]] = {k: [] for k in keys}
        for r in sorted({r for _, r in keys}):
            ids = [b for b, kr in keys if kr == r]
            latitude = sa.func.coalesce(col(Building.latitude), col(Estate.latitude))
            longitude = sa.func.coalesce(col(Building.longitude), col(Estate.longitude))
            condition, distance = within_walk(latitude, longitude, r)
            stmt = (
                sa.select(col(Building.id), ServiceStation, distance.label("metres"))
                .select_from(Building)
                .outerjoin(Estate, col(Estate.id) == col(Building.estate_id))
                .join(ServiceStation, condition)
                .where(col(Building.id).in_(ids), *loaders.scope(ServiceStation))
                .order_by(col(Building.id), distance, col(ServiceStation.id))
            )
            for ident, station, metres in await loaders.fetch(stmt):
                near = found[(int(ident), r)]
                if len(near) < MAX_NEARBY:
                    near.append(Nearby(station, float(metres)))
        return [found[k] for k in keys]

    return await loaders.batch("nearby", ServiceStation, batch).load((building_id, radius))


async def stations_near_point(
    loaders: Loaders, latitude: float, longitude: float, minutes: int
) -> list[Nearby]:
    """Stations within `minutes`' walk of a point (the phone's location), nearest first."""
    lat, lon = clean_coordinates(latitude, longitude)
    condition, distance = within_walk(sa.literal(lat), sa.literal(lon), walk_radius(minutes))
    stmt = (
        sa.select(ServiceStation, distance.label("metres"))
        .where(condition, *loaders.scope(ServiceStation))
        .order_by(distance, col(ServiceStation.id))
        .limit(MAX_NEARBY)
    )
    return [Nearby(station, float(metres)) for station, metres in await loaders.fetch(stmt)]


# --- estates and buildings ----------------------------------------------------------------------


async def _company_covering(session: AsyncSession, company_id: int, path: str | None) -> None:
    company: PropertyCompany = await get_row(
        session, PropertyCompany, company_id, "property company", "property_company_id"
    )
    if not is_under(path, company.path):
        raise invalid(
            "the company is registered at a unit that does not cover this estate",
            "property_company_id",
        )


async def create_estate(
    session: AsyncSession,
    *,
    grid_id: int,
    name: str,
    latitude: float | None = None,
    longitude: float | None = None,
    property_company_id: int | None = None,
) -> Estate:
    grid = await _active_unit(session, grid_id, "grid_id", OrgKind.GRID)
    lat, lon = clean_coordinates(latitude, longitude)
    if property_company_id is not None:
        await _company_covering(session, property_company_id, grid.path)
    estate = Estate(
        grid_id=grid_id,
        name=clean_text(name, "name", max_length=60),
        latitude=lat,
        longitude=lon,
        property_company_id=property_company_id,
    )
    await flush_or_refuse(
        session, adding=estate, duplicate=_duplicate("the grid has an estate of that name", "name")
    )
    await refresh_path(session, estate)
    return estate


async def update_estate(
    session: AsyncSession,
    *,
    estate_id: int,
    name: str | None = None,
    property_company_id: int | None = None,
    without_property_company: bool = False,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Estate:
    """Rename, relocate, or change who manages the estate (`without_property_company`: 无物业
    管理 from now on)."""
    estate: Estate = await get_row(session, Estate, estate_id, "estate", "id")
    if property_company_id is not None and without_property_company:
        raise invalid(
            "give a property company or say the estate has none, not both",
            "property_company_id",
        )
    renamed = clean_text(name, "name", max_length=60) if name is not None else estate.name
    if latitude is not None or longitude is not None:
        estate.latitude, estate.longitude = clean_coordinates(latitude, longitude)
    if property_company_id is not None:
        await _company_covering(session, property_company_id, estate.path)
        estate.property_company_id = property_company_id
    if without_property_company:
        estate.property_company_id = None
    await flush_or_refuse(
        session,
        duplicate=_duplicate("the grid has an estate of that name", "name"),
        changing=lambda: setattr(estate, "name", renamed),
    )
    return estate


async def place_building(
    session: AsyncSession, *, building_id: int, estate_id: int | None
) -> Building:
    """Put a building into an estate of its grid (or into none: a scattered building)."""
    building: Building = await get_row(session, Building, building_id, "building", "building_id")
    if estate_id is not None:
        estate: Estate = await get_row(session, Estate, estate_id, "estate", "estate_id")
        if estate.grid_id != building.grid_id:
            raise invalid("an estate holds buildings of its own grid only", "estate_id")
    building.estate_id = estate_id
    await session.flush()
    return building


async def locate_building(
    session: AsyncSession, *, building_id: int, latitude: float, longitude: float
) -> Building:
    building: Building = await get_row(session, Building, building_id, "building", "building_id")
    building.latitude, building.longitude = clean_coordinates(latitude, longitude)
    await session.flush()
    return building


# --- property companies -------------------------------------------------------------------------

_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def _clean_phone(phone: str | None, field: str = "hotline") -> str | None:
    value = clean_note(phone, field, max_length=20)
    if value is not None and not re.fullmatch(r"[0-9+\-() ]{5,20}", value):
        raise invalid(f"`{field}` is a telephone number", field)
    return value


async def create_property_company(
    session: AsyncSession,
    *,
    org_unit_id: int,
    name: str,
    credit_code: str | None = None,
    hotline: str | None = None,
    has_party_organisation: bool = False,
    party_organisation_since: date | None = None,
) -> PropertyCompany:
    await _active_unit(
        session, org_unit_id, "org_unit_id", OrgKind.CITY, OrgKind.DISTRICT, OrgKind.STREET,
        OrgKind.COMMUNITY,
    )  # fmt: skip
    code = credit_code.strip().upper() if credit_code else None
    if code is not None and not _CREDIT_CODE.match(code):
        raise invalid("`credit_code` is an 18-character 统一社会信用代码", "credit_code")
    if party_organisation_since is not None and not has_party_organisation:
        raise invalid(
            "a company without a Party organisation has no founding date for one",
            "party_organisation_since",
        )
    company = PropertyCompany(
        org_unit_id=org_unit_id,
        name=clean_text(name, "name", max_length=80),
        credit_code=code,
        hotline=_clean_phone(hotline),
        has_party_organisation=has_party_organisation,
        party_organisation_since=party_organisation_since,
    )
    await flush_or_refuse(
        session,
        adding=company,
        duplicate=_duplicate("a company of that name or credit code exists", "name"),
    )
    await refresh_path(session, company)
    return company


async def update_property_company(
    session: AsyncSession,
    *,
    company_id: int,
    hotline: str | None = None,
    has_party_organisation: bool | None = None,
    party_organisation_since: date | None = None,
) -> PropertyCompany:
    """红色物业: record that the company founded its Party organisation (or lost it)."""
    company: PropertyCompany = await get_row(
        session, PropertyCompany, company_id, "property company", "id"
    )
    if hotline is not None:
        company.hotline = _clean_phone(hotline)
    if has_party_organisation is not None:
        company.has_party_organisation = has_party_organisation
        if not has_party_organisation:
            company.party_organisation_since = None
    if party_organisation_since is not None:
        if not company.has_party_organisation:
            raise invalid(
                "a company without a Party organisation has no founding date for one",
                "party_organisation_since",
            )
        company.party_organisation_since = party_organisation_since
    await session.flush()
    return company


# --- service stations -------------------------------------------------------------------------

_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class Opening:
    """Open on `days` from `opens` to `closes` ("HH:MM", China time)."""

    days: tuple[Weekday, ...]
    opens: str
    closes: str

    def as_json(self) -> dict[str, Any]:
        return {"days": [int(d) for d in self.days], "opens": self.opens, "closes": self.closes}

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Opening:
        return cls(tuple(Weekday(d) for d in raw["days"]), str(raw["opens"]), str(raw["closes"]))


def clean_opening_hours(hours: Sequence[Opening]) -> list[dict[str, Any]]:
    if len(hours) > 14:
        raise invalid("at most 14 opening periods", "opening_hours")
    for opening in hours:
        if not opening.days:
            raise invalid("an opening period names its days", "opening_hours")
        if not (_CLOCK.match(opening.opens) and _CLOCK.match(opening.closes)):
            raise invalid("opening times are HH:MM (24-hour clock)", "opening_hours")
        if opening.opens >= opening.closes:
            raise invalid("a station closes after it opens", "opening_hours")
    return [Opening(tuple(sorted(set(o.days))), o.opens, o.closes).as_json() for o in hours]


def open_at(station: ServiceStation, at: datetime) -> bool:
    local = at.astimezone(CHINA)
    now = local.strftime("%H:%M")
    day = local.isoweekday()
    return any(day in o["days"] and o["opens"] <= now < o["closes"] for o in station.opening_hours)


async def create_station(
    session: AsyncSession,
    *,
    community_id: int,
    name: str,
    address: str,
    latitude: float,
    longitude: float,
    estate_id: int | None = None,
    hotline: str | None = None,
    opening_hours: Sequence[Opening] = (),
    facilities: Sequence[Facility] = (),
) -> ServiceStation:
    community = await _active_unit(session, community_id, "community_id", OrgKind.COMMUNITY)
    lat, lon = clean_coordinates(latitude, longitude)
    assert lat is not None
    assert lon is not None
    if estate_id is not None:
        estate: Estate = await get_row(session, Estate, estate_id, "estate", "estate_id")
        if not is_under(estate.path, community.path):
            raise invalid("the estate lies in another community", "estate_id")
    station = ServiceStation(
        name=clean_text(name, "name", max_length=60),
        community_id=community_id,
        estate_id=estate_id,
        address=clean_text(address, "address", max_length=200),
        hotline=_clean_phone(hotline),
        latitude=lat,
        longitude=lon,
        opening_hours=clean_opening_hours(opening_hours),
        facilities=sorted({str(f) for f in facilities}),
    )
    session.add(station)
    await session.flush()
    return await reload_row(session, ServiceStation, station.id)


async def update_station(
    session: AsyncSession,
    *,
    station_id: int,
    opening_hours: Sequence[Opening] | None = None,
    facilities: Sequence[Facility] | None = None,
    hotline: str | None = None,
) -> ServiceStation:
    station: ServiceStation = await get_row(session, ServiceStation, station_id, "station", "id")
    if opening_hours is not None:
        station.opening_hours = clean_opening_hours(opening_hours)
    if facilities is not None:
        station.facilities = sorted({str(f) for f in facilities})
    if hotline is not None:
        station.hotline = _clean_phone(hotline)
    await session.flush()
    return await reload_row(session, ServiceStation, station_id)


async def reload_row(session: AsyncSession, model: type[M], ident: int | None) -> M:
    """The row as the database has it now, computed columns included."""
    table: Any = model
    found: M | None = await session.scalar(
        sa.select(table).where(table.id == ident).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def serve_building(
    session: AsyncSession, *, station_id: int, building_id: int, serves: bool
) -> ServiceStation:
    """Add a building to those a station serves, or take it off."""
    station: ServiceStation = await get_row(
        session, ServiceStation, station_id, "station", "station_id"
    )
    building: Building = await get_row(session, Building, building_id, "building", "building_id")
    if not is_under(building.path, station.path):
        raise invalid("a station serves buildings of its own community", "building_id")
    if serves:
        await session.execute(
            pg_insert(StationBuilding)
            .values(station_id=station_id, building_id=building_id)
            .on_conflict_do_nothing(constraint="uq_station_building")
        )
    else:
        await session.execute(
            sa.delete(StationBuilding).where(
                col(StationBuilding.station_id) == station_id,
                col(StationBuilding.building_id) == building_id,
            )
        )
    await session.flush()
    return await reload_row(session, ServiceStation, station_id)


async def add_station_manager(
    session: AsyncSession, *, station_id: int, position_id: int, now: datetime | None = None
) -> StationManager:
    """A position's holder manages the station: one held at the station's community, above
    it or below it (a community admin, a grid worker, a volunteer ...)."""
    station: ServiceStation = await get_row(
        session, ServiceStation, station_id, "station", "station_id"
    )
    position: Position = await get_row(session, Position, position_id, "position", "position_id")
    if position.ended_at is not None:
        raise DomainError(ServiceCode.ALREADY_ENDED, "the position has ended", "position_id")
    if not (is_under(position.path, station.path) or is_under(station.path, position.path)):
        raise invalid("the position is held outside the station's community", "position_id")
    manager = StationManager(
        station_id=station_id, position_id=position_id, added_at=now or utcnow()
    )
    await flush_or_refuse(
        session,
        adding=manager,
        duplicate=_duplicate("the position already manages this station", "position_id"),
    )
    await refresh_path(session, manager)
    return manager


async def remove_station_manager(
    session: AsyncSession, *, station_id: int, position_id: int, now: datetime | None = None
) -> StationManager:
    found = await session.scalar(
        sa.select(StationManager).where(
            col(StationManager.station_id) == station_id,
            col(StationManager.position_id) == position_id,
            col(StationManager.removed_at).is_(None),
        )
    )
    if found is None:
        raise not_found("station manager", "position_id")
    found.removed_at = now or utcnow()
    await session.flush()
    return found


# --- the catalogue --------------------------------------------------------------------------


async def list_categories(session: AsyncSession) -> list[ServiceCategory]:
    stmt = (
        sa.select(ServiceCategory)
        .where(col(ServiceCategory.active))
        .order_by(col(ServiceCategory.id))
    )
    return list((await session.execute(stmt)).scalars())


async def create_item(
    session: AsyncSession,
    *,
    category_id: int,
    name: str,
    description: str | None = None,
    station_id: int | None = None,
    team_id: int | None = None,
    property_company_id: int | None = None,
    eligibility: Sequence[Eligibility] = (),
    default_minutes: int = 60,
) -> ServiceItem:
    if sum(x is not None for x in (station_id, team_id, property_company_id)) != 1:
        raise invalid("an item is offered by one station, team or property company", "station_id")
    category: ServiceCategory = await get_row(
        session, ServiceCategory, category_id, "service category", "category_id"
    )
    if not category.active:
        raise DomainError(ServiceCode.RETIRED, "this category is not in use", "category_id")
    if team_id is not None:
        team: ServiceTeam = await get_row(session, ServiceTeam, team_id, "team", "team_id")
        if team.disbanded_at is not None:
            raise DomainError(ServiceCode.RETIRED, "the team is disbanded", "team_id")
    if not 1 <= default_minutes <= 1440:
        raise invalid("`default_minutes` is from 1 to 1440", "default_minutes")
    item = ServiceItem(
        category_id=category_id,
        name=clean_text(name, "name", max_length=60),
        description=clean_note(description, "description", max_length=500),
        station_id=station_id,
        team_id=team_id,
        property_company_id=property_company_id,
        eligibility=sorted({str(e) for e in eligibility}),
        default_minutes=default_minutes,
    )
    session.add(item)
    await session.flush()
    await refresh_path(session, item)
    return item


async def retire_item(session: AsyncSession, *, item_id: int) -> ServiceItem:
    item: ServiceItem = await get_row(session, ServiceItem, item_id, "service item", "id")
    if not item.active:
        raise DomainError(ServiceCode.RETIRED, "the item is retired already", "id")
    item.active = False
    await session.flush()
    return item


# --- teams ----------------------------------------------------------------------------------


async def create_team(
    session: AsyncSession,
    *,
    community_id: int,
    name: str,
    kind: TeamKind,
    category_id: int | None = None,
    description: str | None = None,
    now: datetime | None = None,
) -> ServiceTeam:
    await _active_unit(session, community_id, "community_id", OrgKind.COMMUNITY)
    if category_id is not None:
        await get_row(session, ServiceCategory, category_id, "service category", "category_id")
    team = ServiceTeam(
        community_id=community_id,
        name=clean_text(name, "name", max_length=60),
        kind=kind,
        category_id=category_id,
        description=clean_note(description, "description", max_length=500),
        founded_at=now or utcnow(),
    )
    session.add(team)
    await session.flush()
    return await reload_row(session, ServiceTeam, team.id)


async def _active_team(session: AsyncSession, team_id: int) -> ServiceTeam:
    team: ServiceTeam = await get_row(session, ServiceTeam, team_id, "team", "team_id")
    if team.disbanded_at is not None:
        raise DomainError(ServiceCode.RETIRED, "the team is disbanded", "team_id")
    return team


async def _membership(session: AsyncSession, team_id: int, person_id: int) -> TeamMember | None:
    found: TeamMember | None = await session.scalar(
        sa.select(TeamMember).where(
            col(TeamMember.team_id) == team_id,
            col(TeamMember.person_id) == person_id,
            col(TeamMember.left_at).is_(None),
        )
    )
    return found


async def add_team_member(
    session: AsyncSession,
    *,
    team_id: int,
    person_id: int,
    role: TeamRole = TeamRole.MEMBER,
    now: datetime | None = None,
) -> TeamMember:
    await _active_team(session, team_id)
    await get_row(session, Person, person_id, "person", "person_id")
    if await _membership(session, team_id, person_id) is not None:
        raise _duplicate("the person is in the team already", "person_id")
    member = TeamMember(team_id=team_id, person_id=person_id, role=role, joined_at=now or utcnow())
    await flush_or_refuse(
        session,
        adding=member,
        duplicate=_duplicate("the person is in the team already", "person_id"),
    )
    await refresh_path(session, member)
    return member


async def change_team_member(
    session: AsyncSession,
    *,
    team_id: int,
    person_id: int,
    role: TeamRole | None,
    now: datetime | None = None,
) -> TeamMember:
    """Give a member another role, or (`role` None) let them leave."""
    await _active_team(session, team_id)
    member = await _membership(session, team_id, person_id)
    if member is None:
        raise not_found("team member", "person_id")
    if role is None:
        member.left_at = now or utcnow()
    else:
        member.role = role
    await session.flush()
    return member


# --- Party-member posts -------------------------------------------------------------------------


async def create_party_post(
    session: AsyncSession,
    *,
    building_id: int,
    kind: PostKind,
    holder_id: int,
    title: str,
    area: str | None = None,
    duties: str | None = None,
    now: datetime | None = None,
) -> PartyPost:
    """A post held by a Party member registered (在职党员报到) with the building's community
    or above it."""
    building: Building = await get_row(session, Building, building_id, "building", "building_id")
    await get_row(session, Person, holder_id, "person", "holder_id")
    registrations = await session.execute(
        sa.select(col(Position.id), col(Position.path))
        .where(
            col(Position.person_id) == holder_id,
            col(Position.role) == Role.REGISTERED_PARTY_MEMBER,
            col(Position.ended_at).is_(None),
        )
        .order_by(col(Position.id))
    )
    registration = next(
        (ident for ident, path in registrations if is_under(building.path, str(path))), None
    )
    if registration is None:
        raise DomainError(
            ServiceCode.NOT_REGISTERED,
            "the holder is no Party member registered with this building's community",
            "holder_id",
        )
    taken = await session.scalar(
        sa.select(col(PartyPost.id)).where(
            col(PartyPost.building_id) == building_id,
            col(PartyPost.holder_id) == holder_id,
            col(PartyPost.kind) == kind,
            col(PartyPost.ended_at).is_(None),
        )
    )
    if taken:
        raise _duplicate("the member holds such a post in this building already", "holder_id")
    post = PartyPost(
        building_id=building_id,
        kind=kind,
        holder_id=holder_id,
        registration_id=registration,
        title=clean_text(title, "title", max_length=40),
        area=clean_note(area, "area", max_length=100),
        duties=clean_note(duties, "duties", max_length=500),
        started_at=now or utcnow(),
    )
    session.add(post)
    await session.flush()
    await refresh_path(session, post)
    return post


async def end_party_post(
    session: AsyncSession, *, post_id: int, now: datetime | None = None
) -> PartyPost:
    post: PartyPost = await get_row(session, PartyPost, post_id, "Party post", "id")
    if post.ended_at is not None:
        raise DomainError(ServiceCode.ALREADY_ENDED, "the post has ended", "id")
    post.ended_at = now or utcnow()
    await session.flush()
    return post


# --- the volunteer-hours ledger ---------------------------------------------------------------


def _serving_as_cadre(person_id: int, place: str) -> Any:
    """The person holds an active seconded-cadre post in the place's community (or below the
    place): what they do there counts as a cadre's service (下沉干部在楼栋开展志愿服务)."""
    position = sa.orm.aliased(Position, name="cadre_post")
    here = sa.cast(sa.literal(place), Ltree())
    community = sa.func.subpath(
        col(position.path), 0, sa.func.least(4, sa.func.nlevel(position.path))
    )
    return sa.exists().where(
        col(position.person_id) == person_id,
        col(position.role) == Role.SECONDED_CADRE,
        col(position.ended_at).is_(None),
        sa.or_(col(position.path).op("<@")(here), here.op("<@")(community)),
    )


async def credit_hours(
    session: AsyncSession,
    *,
    person_id: int,
    kind: HoursKind,
    minutes: int,
    source_type: str,
    source_id: int,
    path: str | None,
    note: str | None = None,
    recorded_by_id: int | None = None,
    now: datetime | None = None,
    ident: int | None = None,
) -> VolunteerHours | None:
    """Append one line to the ledger (the person's totals follow in the same transaction);
    a source credits a person once: a second credit is a no-op (None). `ident` fixes the
    line's id (a record that is its own source)."""
    as_cadre = _serving_as_cadre(person_id, path) if path is not None else sa.false()
    stmt = pg_insert(VolunteerHours).from_select(
        [
            *(["id"] if ident is not None else []),
            "person_id",
            "kind",
            "minutes",
            "source_type",
            "source_id",
            "note",
            "as_cadre",
            "recorded_by_id",
            "path",
            "at",
        ],
        sa.select(
            *([sa.literal(ident, sa.BigInteger)] if ident is not None else []),
            sa.literal(person_id, sa.BigInteger),
            sa.literal(str(kind)),
            sa.literal(minutes),
            sa.literal(source_type),
            sa.literal(source_id, sa.BigInteger),
            sa.literal(note, sa.Text),
            as_cadre,
            sa.literal(recorded_by_id, sa.BigInteger),
            sa.cast(sa.literal(path, sa.Text), Ltree()),
            sa.literal(now or utcnow(), sa.DateTime(timezone=True)),
        ),
    )
    if kind != HoursKind.ADJUSTMENT:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["source_type", "source_id", "person_id"],
            index_where=sa.text("kind <> 'ADJUSTMENT'"),
        )
    found: VolunteerHours | None = (
        await session.scalars(
            stmt.returning(VolunteerHours), execution_options={"populate_existing": True}
        )
    ).first()
    if found is not None and kind in POINTS_EARNING and minutes >= MINUTES_PER_POINT:
        assert found.id is not None
        await credit_volunteer_hours(
            session,
            person_id=person_id,
            hours=Decimal(minutes) / 60,
            source_id=found.id,
            note=note or str(kind),
            now=found.at,
        )
    return found


#: Hours that earn points in the ledger of incentives (once per ledger line): activities
#: and services for others; good deeds are recorded for cadres' own accounts.
POINTS_EARNING: Final = frozenset({HoursKind.ACTIVITY, HoursKind.SERVICE})
#: The least time that earns a whole point.
MINUTES_PER_POINT: Final = 60 // POINTS_PER_HOUR


#: Source types of ledger lines.
SOURCE_ACTIVITY: Final = "ACTIVITY"
SOURCE_ORDER: Final = "SERVICE_ORDER"
SOURCE_RECORD: Final = "RECORD"
SOURCE_CORRECTION: Final = "CORRECTION"


async def _next_line_id(session: AsyncSession) -> int:
    """An id for a ledger line that is its own source (a recorded service, a correction)."""
    found = await session.scalar(
        sa.select(sa.func.nextval(sa.func.pg_get_serial_sequence("volunteer_hours", "id")))
    )
    assert found is not None
    return int(found)


def clean_minutes(minutes: int, field: str = "minutes") -> int:
    if not 1 <= minutes <= 1440:
        raise invalid(f"`{field}` is from 1 to 1440 (a day)", field)
    return minutes


async def record_service(
    session: AsyncSession,
    *,
    person_id: int,
    building_id: int,
    kind: HoursKind,
    minutes: int,
    note: str,
    recorded_by_id: int | None,
    now: datetime | None = None,
) -> VolunteerHours:
    """A volunteer service or a 实事好事 done in a building, credited to whoever did it."""
    if kind not in (HoursKind.SERVICE, HoursKind.GOOD_DEED):
        raise invalid("record a SERVICE or a GOOD_DEED", "kind")
    building: Building = await get_row(session, Building, building_id, "building", "building_id")
    await get_row(session, Person, person_id, "person", "person_id")
    text = clean_text(note, "note", max_length=200)
    ident = await _next_line_id(session)
    found = await credit_hours(
        session,
        person_id=person_id,
        kind=kind,
        minutes=clean_minutes(minutes),
        source_type=SOURCE_RECORD,
        source_id=ident,
        path=building.path,
        note=text,
        recorded_by_id=recorded_by_id,
        now=now,
        ident=ident,
    )
    assert found is not None
    return found


async def correct_hours(
    session: AsyncSession,
    *,
    person_id: int,
    minutes: int,
    note: str,
    recorded_by_id: int | None,
    now: datetime | None = None,
) -> VolunteerHours:
    """A correction is a new line (the ledger is never edited); the total may not go below 0."""
    if minutes == 0 or abs(minutes) > 10_000:
        raise invalid("a correction is a non-zero number of minutes, at most 10,000", "minutes")
    await get_row(session, Person, person_id, "person", "person_id")
    total = await session.scalar(
        sa.select(col(VolunteerTotal.minutes))
        .where(col(VolunteerTotal.person_id) == person_id)
        .with_for_update()
    )
    if int(total or 0) + minutes < 0:
        raise invalid("the correction would take the total below zero", "minutes")
    ident = await _next_line_id(session)
    found = await credit_hours(
        session,
        person_id=person_id,
        kind=HoursKind.ADJUSTMENT,
        minutes=minutes,
        source_type=SOURCE_CORRECTION,
        source_id=ident,
        path=None,
        note=clean_text(note, "note", max_length=200),
        recorded_by_id=recorded_by_id,
        now=now,
        ident=ident,
    )
    assert found is not None
    return found


# --- service orders (红色代办) ----------------------------------------------------------------

_S, _A = OrderStatus, OrderAction

#: status -> action -> next status: the only source of legal order transitions.
ORDER_TRANSITIONS: Final[dict[OrderStatus, dict[OrderAction, OrderStatus]]] = {
    _S.SUBMITTED: {
        _A.DISPATCH: _S.DISPATCHED,
        _A.ESCALATE: _S.ESCALATED,
        _A.REJECT: _S.REJECTED,
        _A.CANCEL: _S.CANCELLED,
    },
    _S.DISPATCHED: {_A.ACCEPT: _S.ACCEPTED, _A.RETURN: _S.RETURNED, _A.CANCEL: _S.CANCELLED},
    _S.ACCEPTED: {
        _A.SCHEDULE: _S.SCHEDULED,
        _A.COMPLETE: _S.DONE,
        _A.RETURN: _S.RETURNED,
        _A.CANCEL: _S.CANCELLED,
    },
    _S.SCHEDULED: {
        _A.SCHEDULE: _S.SCHEDULED,
        _A.COMPLETE: _S.DONE,
        _A.RETURN: _S.RETURNED,
        _A.CANCEL: _S.CANCELLED,
    },
    _S.RETURNED: {
        _A.DISPATCH: _S.DISPATCHED,
        _A.ESCALATE: _S.ESCALATED,
        _A.REJECT: _S.REJECTED,
        _A.CANCEL: _S.CANCELLED,
    },
    _S.ESCALATED: {
        _A.DISPATCH: _S.DISPATCHED,
        _A.ESCALATE: _S.ESCALATED,
        _A.REJECT: _S.REJECTED,
        _A.CANCEL: _S.CANCELLED,
    },
    _S.DONE: {_A.CLOSE: _S.CLOSED, _A.CLOSE_UNRATED: _S.CLOSED_UNRATED},
    _S.CLOSED: {},
    _S.CLOSED_UNRATED: {},
    _S.REJECTED: {},
    _S.CANCELLED: {},
}

#: What `note` is for each action that needs one.
_NOTE_NEEDED: Final = {
    _A.RETURN: "a reason",
    _A.ESCALATE: "a reason",
    _A.REJECT: "a reason",
    _A.CANCEL: "a reason",
}

ORDERS: Final[Workflow[ServiceOrder, OrderStatus, OrderAction]] = Workflow(
    noun="service order",
    model=ServiceOrder,
    event=ServiceOrderEvent,
    event_key="order_id",
    transitions=ORDER_TRANSITIONS,
)

#: How long an order may wait for a dispatcher, and then for its provider to accept it, by
#: queue rank: the elderly living alone 4 hours, others living alone 8, everyone else a day.
RESPONSE_WITHIN: Final[dict[int, timedelta]] = {
    2: timedelta(hours=4),
    1: timedelta(hours=8),
    0: timedelta(hours=24),
}
#: Days a done order waits for its rating before CLOSED_UNRATED.
RATING_DAYS: Final = 7
POINTS_SOURCE: Final = "SERVICE_ORDER"
#: Steps that count as handling an order (their actors may not earn from its rating).
HANDLING: Final = frozenset(
    {_A.DISPATCH, _A.ACCEPT, _A.SCHEDULE, _A.COMPLETE, _A.RETURN, _A.ESCALATE, _A.REJECT}
)


def response_due(rank: int, now: datetime) -> datetime:
    return now + RESPONSE_WITHIN.get(rank, RESPONSE_WITHIN[0])


def overdue(order: ServiceOrder, now: datetime | None = None) -> bool:
    """Not dispatched, or not accepted, in time."""
    return order.status in CLOCKED and order.due_at < (now or utcnow())


def overdue_sql(table: Any) -> Any:
    return sa.and_(table.status.in_(sorted(CLOCKED)), table.due_at < sa.func.now())


def special_group(order: ServiceOrder) -> bool:
    return order.queue_rank > 0


@dataclass(frozen=True)
class OrderDraft:
    """What a resident orders (or staff order for them, or a door visit found)."""

    item_id: int
    resident_id: int
    recorded_by_id: int | None = None
    details: str | None = None
    preferred_time: str | None = None
    contact_phone: str | None = None
    finding_id: int | None = None


def _order_content(draft: OrderDraft) -> dict[str, Any]:
    return {
        "item_id": draft.item_id,
        "resident_id": draft.resident_id,
        "recorded_by_id": draft.recorded_by_id,
        "details": clean_note(draft.details, "details", max_length=500),
        "preferred_time": clean_note(draft.preferred_time, "preferred_time", max_length=60),
        "contact_phone": _clean_phone(draft.contact_phone, "contact_phone"),
        "finding_id": draft.finding_id,
    }


async def _by_key(session: AsyncSession, key: str, digest: str) -> ServiceOrder | None:
    found = await session.scalar(
        sa.select(ServiceOrder)
        .where(col(ServiceOrder.idempotency_key) == key)
        .execution_options(populate_existing=True)
    )
    if found is not None and found.content_hash != digest:
        raise DomainError(
            ServiceCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotency key was used for a different order",
            "idempotency_key",
        )
    return found


async def _finding_for(
    session: AsyncSession, finding_id: int, household_id: int | None
) -> VisitFinding:
    finding: VisitFinding = await get_row(
        session, VisitFinding, finding_id, "finding", "finding_id"
    )
    visit: DoorVisit = await get_row(session, DoorVisit, finding.visit_id, "visit", "finding_id")
    if visit.household_id != household_id:
        raise invalid("the finding is about another household", "finding_id")
    if finding.outcome is not None:
        raise DomainError(
            ServiceCode.ALREADY_FOLLOWED_UP, "the finding was followed up already", "finding_id"
        )
    return finding


async def order_service(
    session: AsyncSession,
    draft: OrderDraft,
    *,
    idempotency_key: str,
    eligible: Callable[[Person, Sequence[str]], bool],
    rank: Callable[[Person], int],
    now: datetime | None = None,
) -> ServiceOrder:
    """Order an item for a resident at their home, owned for dispatch by its community.

    The same key with the same content returns the order made first (also when two
    submissions race); the same key with other content is IDEMPOTENCY_KEY_REUSED. An item
    reserved for some groups (`eligible`) is NOT_ELIGIBLE for anyone else; `rank` puts
    鳏寡孤独 first in every queue.
    """
    now = now or utcnow()
    key = clean_idempotency_key(idempotency_key)
    content = _order_content(draft)
    digest = content_hash(content)
    existing = await _by_key(session, key, digest)
    if existing is not None:
        return existing
    item: ServiceItem = await get_row(
        session, ServiceItem, draft.item_id, "service item", "item_id"
    )
    if not item.active:
        raise DomainError(ServiceCode.RETIRED, "this item is no longer offered", "item_id")
    resident: Person = await get_row(session, Person, draft.resident_id, "person", "resident_id")
    if resident.household_id is None:
        raise invalid("a service is ordered for a resident living here", "resident_id")
    household: Household = await get_row(
        session, Household, resident.household_id, "household", "resident_id"
    )
    if not is_under(household.path, item.path):
        raise invalid("this item is not offered where the resident lives", "item_id")
    if not eligible(resident, item.eligibility):
        groups = ", ".join(item.eligibility)
        raise DomainError(
            ServiceCode.NOT_ELIGIBLE, f"this service is for residents who are: {groups}", "item_id"
        )
    finding = None
    if draft.finding_id is not None:
        finding = await _finding_for(session, draft.finding_id, resident.household_id)
    if draft.recorded_by_id is not None:
        await get_row(session, Person, draft.recorded_by_id, "person", "recorded_by_id")
    queue_rank = rank(resident)
    channel = (
        OrderChannel.DOOR_VISIT
        if finding is not None
        else OrderChannel.RECORDED
        if draft.recorded_by_id is not None
        else OrderChannel.ONLINE
    )
    inserted = await session.scalar(
        pg_insert(ServiceOrder)
        .values(
            item_id=item.id,
            category_id=item.category_id,
            resident_id=resident.id,
            recorded_by_id=draft.recorded_by_id,
            channel=channel,
            building_id=household.building_id,
            household_id=household.id,
            contact_name=resident.name,
            contact_phone=content["contact_phone"] or resident.phone,
            address=f"{household.unit} {household.room}",
            owner_level=DispatchLevel.COMMUNITY,
            queue_rank=queue_rank,
            details=content["details"],
            preferred_time=content["preferred_time"],
            status=OrderStatus.SUBMITTED,
            version=1,
            idempotency_key=key,
            content_hash=digest,
            submitted_at=now,
            due_at=response_due(queue_rank, now),
            status_changed_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(col(ServiceOrder.id))
    )
    if inserted is None:  # a concurrent submission with this key committed first
        existing = await _by_key(session, key, digest)
        assert existing is not None
        return existing
    order = await ORDERS.load(session, int(inserted))
    await ORDERS.record(
        session, order, _A.SUBMIT, None, draft.recorded_by_id or resident.id, note=None, now=now
    )
    if finding is not None:
        finding.outcome = FindingOutcome.SERVICE_ORDER
        finding.service_order_id = order.id
        finding.followed_up_at = now
        finding.followed_up_by_id = draft.recorded_by_id
        await session.flush()
    return order


@dataclass(frozen=True)
class Provider:
    """Whom an order is dispatched to: exactly one of them."""

    team_id: int | None = None
    station_id: int | None = None
    property_company_id: int | None = None

    @property
    def given(self) -> bool:
        return any(x is not None for x in (self.team_id, self.station_id, self.property_company_id))

    def columns(self) -> dict[str, int | None]:
        return {
            "team_id": self.team_id,
            "station_id": self.station_id,
            "property_company_id": self.property_company_id,
        }


_NO_PROVIDER: Final = Provider().columns()


async def _provider_for(session: AsyncSession, order: ServiceOrder, provider: Provider) -> str:
    """Check the provider serves the order's place; return its name for the timeline."""
    if sum(x is not None for x in provider.columns().values()) != 1:
        raise invalid("dispatch to one team, station or property company", "team_id")
    if provider.team_id is not None:
        team = await _active_team(session, provider.team_id)
        if not is_under(order.path, team.path):
            raise invalid("the team serves another community", "team_id")
        return team.name
    if provider.station_id is not None:
        station: ServiceStation = await get_row(
            session, ServiceStation, provider.station_id, "station", "station_id"
        )
        if not is_under(order.path, station.path):
            raise invalid("the station serves another community", "station_id")
        return station.name
    assert provider.property_company_id is not None
    company: PropertyCompany = await get_row(
        session, PropertyCompany, provider.property_company_id, "property company",
        "property_company_id",
    )  # fmt: skip
    manages = await session.scalar(
        sa.select(col(Estate.property_company_id))
        .join(Building, col(Building.estate_id) == col(Estate.id))
        .where(col(Building.id) == order.building_id)
    )
    if manages != company.id:
        raise invalid("the company does not manage the resident's estate", "property_company_id")
    return company.name


def _escalation(order: ServiceOrder, now: datetime) -> tuple[DispatchLevel, dict[str, Any]]:
    i = DISPATCH_LEVELS.index(order.owner_level)
    if i + 1 >= len(DISPATCH_LEVELS):
        raise DomainError(
            Flow.INVALID_TRANSITION, "an order owned by a district cannot go higher", "action"
        )
    above = DISPATCH_LEVELS[i + 1]
    labels = (order.path or "").split(".")[: DISPATCH_DEPTH[above]]
    return above, {
        "owner_level": above,
        "owner_path": ".".join(labels),
        "owner_org_unit_id": int(labels[-1]),
        "escalation_count": order.escalation_count + 1,
        "due_at": response_due(order.queue_rank, now),
        **_NO_PROVIDER,
        "assignee_id": None,
    }


@dataclass(frozen=True)
class Step:
    """What a step of an order brings besides its action."""

    note: str | None = None
    provider: Provider = field(default_factory=Provider)
    scheduled_for: datetime | None = None
    evidence: tuple[str, ...] = ()
    minutes: int | None = None


async def _effects(  # noqa: PLR0911  (one case per action of the table)
    session: AsyncSession,
    order: ServiceOrder,
    action: OrderAction,
    actor_person_id: int | None,
    step: Step,
    now: datetime,
) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """The columns a step sets besides status and version, its timeline note and event
    columns."""
    note = clean_note(step.note, "note", max_length=500)
    if action in _NOTE_NEEDED and note is None:
        raise invalid(f"{action} needs {_NOTE_NEEDED[action]}", "note")
    match action:
        case _A.DISPATCH:
            name = await _provider_for(session, order, step.provider)
            values = {
                **step.provider.columns(),
                "assignee_id": None,
                "dispatched_at": now,
                "due_at": response_due(order.queue_rank, now),
            }
            return values, f"派单: {name}" + (f" ({note})" if note else ""), {}
        case _A.ACCEPT:
            return {"assignee_id": actor_person_id, "accepted_at": now}, note, {}
        case _A.SCHEDULE:
            if step.scheduled_for is None:
                raise invalid("SCHEDULE needs the time agreed with the resident", "scheduled_for")
            return {"scheduled_for": step.scheduled_for}, note, {}
        case _A.COMPLETE:
            photos = clean_references(step.evidence, "evidence")
            if not photos and note is None:
                raise invalid("a done service needs evidence: a photo or a note", "evidence")
            minutes = clean_minutes(step.minutes) if step.minutes is not None else None
            return (
                {
                    "evidence": photos,
                    "completion_note": note,
                    "minutes": minutes,
                    "done_at": now,
                },
                None,  # the note is the guarded `completionNote`, not the timeline's
                {},
            )
        case _A.RETURN:
            back = {
                **_NO_PROVIDER,
                "assignee_id": None,
                "due_at": response_due(order.queue_rank, now),
            }
            return back, note, {}
        case _A.ESCALATE:
            above, values = _escalation(order, now)
            return values, note, {"from_level": order.owner_level, "to_level": above}
        case _A.REJECT:
            return {"rejection_reason": note, "closed_at": now}, note, {}
        case _A.CANCEL:
            return {"cancel_reason": note, "closed_at": now}, note, {}
    raise ORDERS.refusal(order, action)


async def act_on_order(
    session: AsyncSession,
    order_id: int,
    action: OrderAction,
    expected_version: int,
    actor_person_id: int | None,
    step: Step,
    *,
    now: datetime | None = None,
) -> ServiceOrder:
    """Take one step of an order at `expected_version`, with its timeline entry. Completing
    credits the one who did it with the volunteer time of the service."""
    now = now or utcnow()
    order = await ORDERS.load(session, order_id)
    if order.version != expected_version:
        raise ORDERS.conflict(order, expected_version)
    if ORDERS.target(order.status, action) is None or action in (_A.CLOSE, _A.CLOSE_UNRATED):
        raise ORDERS.refusal(order, action)
    item: ServiceItem = await get_row(session, ServiceItem, order.item_id, "item", "id")
    if action == _A.COMPLETE and step.minutes is None:
        step = dataclasses.replace(step, minutes=item.default_minutes)
    values, note, event = await _effects(session, order, action, actor_person_id, step, now)
    moved = await ORDERS.move(
        session,
        order,
        action,
        actor_person_id,
        now=now,
        expected_version=expected_version,
        note=note,
        values=values,
        event=event,
    )
    if action == _A.COMPLETE and moved.assignee_id is not None:
        assert moved.id is not None
        await credit_hours(
            session,
            person_id=moved.assignee_id,
            kind=HoursKind.SERVICE,
            minutes=moved.minutes or item.default_minutes,
            source_type=SOURCE_ORDER,
            source_id=moved.id,
            path=moved.path,
            note=f"红色代办: {item.name}",
            now=now,
        )
    return moved


@dataclass(frozen=True)
class OrderRating:
    rating: ServiceRating
    order: ServiceOrder
    points: PointsEntry | None


async def handlers_of(session: AsyncSession, order_id: int) -> set[int]:
    """Everyone who handled the order: actors of handling steps, and its assignee."""
    actors = sa.select(col(ServiceOrderEvent.actor_person_id)).where(
        col(ServiceOrderEvent.order_id) == order_id,
        col(ServiceOrderEvent.action).in_(sorted(HANDLING)),
        col(ServiceOrderEvent.actor_person_id).is_not(None),
    )
    assignee = sa.select(col(ServiceOrder.assignee_id)).where(
        col(ServiceOrder.id) == order_id, col(ServiceOrder.assignee_id).is_not(None)
    )
    rows = await session.execute(sa.union(actors, assignee))
    return {int(r[0]) for r in rows if r[0] is not None}


async def rate_order(
    session: AsyncSession,
    *,
    order_id: int,
    rater_person_id: int,
    rating: RatingValue,
    comment: str | None = None,
    now: datetime | None = None,
) -> OrderRating:
    """一事一评: the resident rates a done order, once; it closes whatever the rating. As for
    petitions, SATISFIED credits the building's head (at completion) with SATISFIED_POINTS,
    unless the rater is that head or handled the order."""
    now = now or utcnow()
    order = await ORDERS.load(session, order_id, lock=True)
    if order.status != OrderStatus.DONE:
        if order.status == OrderStatus.CLOSED:
            raise DomainError(ServiceCode.ALREADY_RATED, "this order is rated", "order_id")
        raise DomainError(
            Flow.INVALID_TRANSITION, f"a {order.status} order is not awaiting a rating", "order_id"
        )
    text = clean_note(comment, "comment", max_length=500)
    inserted = await session.scalar(
        pg_insert(ServiceRating)
        .values(order_id=order.id, rating=rating, comment=text, at=now)
        .on_conflict_do_nothing(index_elements=["order_id"])
        .returning(col(ServiceRating.id))
    )
    if inserted is None:
        raise DomainError(ServiceCode.ALREADY_RATED, "this order is rated", "order_id")
    stored = await session.get(ServiceRating, int(inserted))
    assert stored is not None
    note = f"rated {rating}" + (f": {text}" if text else "")
    closed = await ORDERS.move(
        session,
        order,
        _A.CLOSE,
        rater_person_id,
        now=now,
        note=note,
        values={"closed_at": now},
    )
    points = None
    if rating == RatingValue.SATISFIED:
        points = await _credit_head(session, closed, rater_person_id, now)
    return OrderRating(stored, closed, points)


async def _credit_head(
    session: AsyncSession, order: ServiceOrder, rater: int, now: datetime
) -> PointsEntry | None:
    assert order.id is not None
    head = await building_head_at(session, order.building_id, order.done_at or now)
    if head is None or head == rater or rater in await handlers_of(session, order.id):
        return None
    return await credit(
        session,
        person_id=head,
        points=SATISFIED_POINTS,
        source_type=POINTS_SOURCE,
        source_id=order.id,
        note=f"一事一评「满意」: 红色代办 #{order.id}",
        now=now,
    )


async def handle_late_orders(
    session: AsyncSession, now: datetime | None = None, batch: int = 100
) -> list[int]:
    """Orders not taken in time: one dispatched but not accepted goes back to its
    dispatchers (RETURN), one not dispatched goes one level up (ESCALATE), each with a fresh
    due time. Rows are claimed with FOR UPDATE SKIP LOCKED: schedulers in several instances
    share the work and never act twice on one order for one lapse. District-owned orders
    waiting for dispatch cannot go higher and are left alone."""
    now = now or utcnow()
    rows = await ORDERS.claim(
        session,
        col(ServiceOrder.status).in_(sorted(CLOCKED)),
        col(ServiceOrder.due_at) < now,
        sa.or_(
            col(ServiceOrder.status) == OrderStatus.DISPATCHED,
            col(ServiceOrder.owner_level) != DispatchLevel.DISTRICT,
        ),
        order_by=[col(ServiceOrder.due_at)],
        batch=batch,
    )
    done: list[int] = []
    for order in rows:
        late = f"{order.due_at.astimezone(CHINA):%Y-%m-%d %H:%M}"
        if order.status == OrderStatus.DISPATCHED:
            await ORDERS.move(
                session,
                order,
                _A.RETURN,
                None,
                now=now,
                note=f"not accepted by {late}: back to dispatch",
                values={
                    **_NO_PROVIDER,
                    "assignee_id": None,
                    "due_at": response_due(order.queue_rank, now),
                },
            )
        else:
            above, values = _escalation(order, now)
            await ORDERS.move(
                session,
                order,
                _A.ESCALATE,
                None,
                now=now,
                note=f"not dispatched by {late}: escalated automatically",
                values=values,
                event={"from_level": order.owner_level, "to_level": above},
            )
        assert order.id is not None
        done.append(order.id)
    return done


async def close_unrated_orders(
    session: AsyncSession, now: datetime | None = None, batch: int = 500
) -> list[int]:
    now = now or utcnow()
    rows = await ORDERS.claim(
        session,
        col(ServiceOrder.status) == OrderStatus.DONE,
        col(ServiceOrder.done_at) < now - timedelta(days=RATING_DAYS),
        order_by=[col(ServiceOrder.done_at)],
        batch=batch,
    )
    return await ORDERS.sweep(
        session,
        rows,
        _A.CLOSE_UNRATED,
        now=now,
        note=f"no rating within {RATING_DAYS} days",
        values={"closed_at": now},
    )


@scheduled("services.late_orders")
async def _late_orders_job(session: AsyncSession, now: datetime, batch: int) -> list[int]:
    return await handle_late_orders(session, now, batch)


@scheduled("services.close_unrated")
async def _close_unrated_job(session: AsyncSession, now: datetime, batch: int) -> list[int]:
    return await close_unrated_orders(session, now, batch)


# --- volunteer activities -------------------------------------------------------------------

ACTIVITY_TRANSITIONS: Final[dict[ActivityStatus, dict[ActivityAction, ActivityStatus]]] = {
    ActivityStatus.OPEN: {
        ActivityAction.FINISH: ActivityStatus.FINISHED,
        ActivityAction.CANCEL: ActivityStatus.CANCELLED,
    },
    ActivityStatus.FINISHED: {},
    ActivityStatus.CANCELLED: {},
}

ACTIVITIES: Final[Workflow[VolunteerActivity, ActivityStatus, ActivityAction]] = Workflow(
    noun="activity",
    model=VolunteerActivity,
    event=VolunteerActivityEvent,
    event_key="activity_id",
    transitions=ACTIVITY_TRANSITIONS,
)
#: How long before its start an activity checks people in.
CHECK_IN_OPENS: Final = timedelta(hours=2)
MAX_CAPACITY: Final = 10_000


@dataclass(frozen=True)
class ActivityDraft:
    title: str
    kind: ActivityKind
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    team_id: int | None = None
    station_id: int | None = None
    community_id: int | None = None
    description: str | None = None
    minutes: int | None = None


async def create_activity(
    session: AsyncSession,
    draft: ActivityDraft,
    *,
    created_by_id: int | None,
    now: datetime | None = None,
) -> VolunteerActivity:
    """An activity organised by a team, a station or a community; each participant checked
    in is credited `minutes` (the activity's length unless given)."""
    now = now or utcnow()
    organisers = (draft.team_id, draft.station_id, draft.community_id)
    if sum(x is not None for x in organisers) != 1:
        raise invalid("an activity has one organiser: a team, a station or a community", "team_id")
    if draft.team_id is not None:
        await _active_team(session, draft.team_id)
    if draft.station_id is not None:
        await get_row(session, ServiceStation, draft.station_id, "station", "station_id")
    if draft.community_id is not None:
        await _active_unit(session, draft.community_id, "community_id", OrgKind.COMMUNITY)
    if draft.ends_at <= draft.starts_at:
        raise invalid("an activity ends after it starts", "ends_at")
    if draft.ends_at <= now:
        raise invalid("the activity would be over already", "ends_at")
    if not 1 <= draft.capacity <= MAX_CAPACITY:
        raise invalid(f"`capacity` is from 1 to {MAX_CAPACITY}", "capacity")
    length = int((draft.ends_at - draft.starts_at).total_seconds() // 60)
    minutes = clean_minutes(draft.minutes if draft.minutes is not None else min(length, 1440))
    activity = VolunteerActivity(
        title=clean_text(draft.title, "title", max_length=60),
        kind=draft.kind,
        description=clean_note(draft.description, "description", max_length=1000),
        team_id=draft.team_id,
        station_id=draft.station_id,
        org_unit_id=draft.community_id,
        place=clean_text(draft.place, "place", max_length=100),
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        capacity=draft.capacity,
        minutes=minutes,
        created_by_id=created_by_id,
        status=ActivityStatus.OPEN,
        version=1,
        created_at=now,
        status_changed_at=now,
    )
    session.add(activity)
    await session.flush()
    loaded = await ACTIVITIES.load(session, activity.id or 0)
    await ACTIVITIES.record(
        session, loaded, ActivityAction.PUBLISH, None, created_by_id, note=None, now=now
    )
    return loaded


async def act_on_activity(
    session: AsyncSession,
    activity_id: int,
    action: ActivityAction,
    expected_version: int,
    actor_person_id: int | None,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> VolunteerActivity:
    """Finish an activity (no more check-ins) or cancel it (a reason is needed)."""
    now = now or utcnow()
    activity = await ACTIVITIES.load(session, activity_id)
    if activity.version != expected_version:
        raise ACTIVITIES.conflict(activity, expected_version)
    text = clean_note(note, "note", max_length=500)
    values: dict[str, Any] = {}
    if action == ActivityAction.CANCEL:
        if text is None:
            raise invalid("say why the activity is cancelled", "note")
        values["cancel_reason"] = text
    return await ACTIVITIES.move(
        session,
        activity,
        action,
        actor_person_id,
        now=now,
        expected_version=expected_version,
        note=text,
        values=values,
    )


async def _open_activity(
    session: AsyncSession, activity_id: int, now: datetime, *, lock: bool = False
) -> VolunteerActivity:
    activity = await ACTIVITIES.load(session, activity_id, lock=lock)
    if activity.status != ActivityStatus.OPEN or activity.ends_at <= now - timedelta(hours=24):
        raise DomainError(
            ServiceCode.ACTIVITY_CLOSED, f"the activity is {activity.status.lower()}", "activity_id"
        )
    return activity


async def _signup_of(
    session: AsyncSession, activity_id: int, person_id: int
) -> ActivitySignup | None:
    found: ActivitySignup | None = await session.scalar(
        sa.select(ActivitySignup)
        .where(
            col(ActivitySignup.activity_id) == activity_id,
            col(ActivitySignup.person_id) == person_id,
            col(ActivitySignup.cancelled_at).is_(None),
        )
        .execution_options(populate_existing=True)
    )
    return found


async def _take_place(session: AsyncSession, activity_id: int) -> None:
    """One place more, never beyond capacity: a guarded UPDATE, so of two people racing for
    the last place exactly one gets it."""
    taken = await session.scalar(
        sa.update(VolunteerActivity)
        .where(
            col(VolunteerActivity.id) == activity_id,
            col(VolunteerActivity.signed_up) < col(VolunteerActivity.capacity),
        )
        .values(signed_up=col(VolunteerActivity.signed_up) + 1)
        .returning(col(VolunteerActivity.id))
        .execution_options(synchronize_session=False)
    )
    if taken is None:
        raise DomainError(ServiceCode.ACTIVITY_FULL, "the activity is full", "activity_id")


async def _insert_signup(
    session: AsyncSession, activity_id: int, person_id: int, now: datetime
) -> ActivitySignup:
    inserted = await session.scalar(
        pg_insert(ActivitySignup)
        .values(activity_id=activity_id, person_id=person_id, signed_up_at=now)
        .on_conflict_do_nothing(
            index_elements=["activity_id", "person_id"],
            index_where=sa.text("cancelled_at IS NULL"),
        )
        .returning(col(ActivitySignup.id))
    )
    if inserted is None:
        raise DomainError(ServiceCode.ALREADY_SIGNED_UP, "you have a place already", "activity_id")
    found = await session.get(ActivitySignup, int(inserted), populate_existing=True)
    assert found is not None
    return found


async def sign_up(
    session: AsyncSession, *, activity_id: int, person_id: int, now: datetime | None = None
) -> ActivitySignup:
    now = now or utcnow()
    activity = await _open_activity(session, activity_id, now)
    if now >= activity.ends_at:
        raise DomainError(ServiceCode.ACTIVITY_CLOSED, "the activity is over", "activity_id")
    signup = await _insert_signup(session, activity_id, person_id, now)
    await _take_place(session, activity_id)
    return signup


async def cancel_sign_up(
    session: AsyncSession, *, activity_id: int, person_id: int, now: datetime | None = None
) -> ActivitySignup:
    now = now or utcnow()
    signup = await _signup_of(session, activity_id, person_id)
    if signup is None:
        raise DomainError(ServiceCode.NOT_SIGNED_UP, "you have no place here", "activity_id")
    if signup.checked_in_at is not None:
        raise DomainError(
            ServiceCode.ALREADY_CHECKED_IN, "you were checked in already", "activity_id"
        )
    released = await session.scalar(
        sa.update(ActivitySignup)
        .where(
            col(ActivitySignup.id) == signup.id,
            col(ActivitySignup.cancelled_at).is_(None),
            col(ActivitySignup.checked_in_at).is_(None),
        )
        .values(cancelled_at=now)
        .returning(col(ActivitySignup.id))
        .execution_options(synchronize_session=False)
    )
    if released is None:
        raise DomainError(ServiceCode.NOT_SIGNED_UP, "you have no place here", "activity_id")
    await session.execute(
        sa.update(VolunteerActivity)
        .where(col(VolunteerActivity.id) == activity_id)
        .values(signed_up=col(VolunteerActivity.signed_up) - 1)
        .execution_options(synchronize_session=False)
    )
    found = await session.get(ActivitySignup, int(released), populate_existing=True)
    assert found is not None
    return found


async def check_in(
    session: AsyncSession,
    *,
    activity_id: int,
    person_id: int,
    checked_in_by_id: int | None,
    now: datetime | None = None,
) -> ActivitySignup:
    """Check a participant in (taking a place for a walk-in while places are left) and credit
    their hours, once: two check-ins of one person race to one guarded UPDATE."""
    now = now or utcnow()
    activity = await _open_activity(session, activity_id, now)
    if now < activity.starts_at - CHECK_IN_OPENS:
        raise DomainError(
            ServiceCode.ACTIVITY_CLOSED, "check-in opens two hours before the start", "activity_id"
        )
    await get_row(session, Person, person_id, "person", "person_id")
    signup = await _signup_of(session, activity_id, person_id)
    if signup is None:  # a walk-in
        signup = await _insert_signup(session, activity_id, person_id, now)
        await _take_place(session, activity_id)
    checked: ActivitySignup | None = (
        await session.scalars(
            sa.update(ActivitySignup)
            .where(col(ActivitySignup.id) == signup.id, col(ActivitySignup.checked_in_at).is_(None))
            .values(checked_in_at=now, checked_in_by_id=checked_in_by_id)
            .returning(ActivitySignup)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
    ).first()
    if checked is None:
        raise DomainError(
            ServiceCode.ALREADY_CHECKED_IN, "the person is checked in already", "person_id"
        )
    await session.execute(
        sa.update(VolunteerActivity)
        .where(col(VolunteerActivity.id) == activity_id)
        .values(checked_in=col(VolunteerActivity.checked_in) + 1)
        .execution_options(synchronize_session=False)
    )
    await credit_hours(
        session,
        person_id=person_id,
        kind=HoursKind.ACTIVITY,
        minutes=activity.minutes,
        source_type=SOURCE_ACTIVITY,
        source_id=activity_id,
        path=activity.path,
        note=activity.title,
        recorded_by_id=checked_in_by_id,
        now=now,
    )
    return checked


# --- door visits --------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingDraft:
    kind: FindingKind
    description: str
    category_id: int | None = None


async def record_visit(
    session: AsyncSession,
    *,
    household_id: int,
    visitor_id: int,
    kind: VisitKind,
    visited_at: datetime,
    notes: str | None = None,
    team_id: int | None = None,
    findings: Sequence[FindingDraft] = (),
    now: datetime | None = None,
) -> DoorVisit:
    """Who visited which household when, and what they found (up to 10 findings)."""
    now = now or utcnow()
    household: Household = await get_row(
        session, Household, household_id, "household", "household_id"
    )
    if visited_at > now + timedelta(minutes=5):
        raise invalid("a visit is recorded once it happened", "visited_at")
    if visited_at < now - timedelta(days=366):
        raise invalid("a visit is recorded within a year", "visited_at")
    if team_id is not None:
        await _active_team(session, team_id)
    if len(findings) > 10:
        raise invalid("at most 10 findings per visit", "findings")
    visit = DoorVisit(
        household_id=household_id,
        building_id=household.building_id,
        visitor_id=visitor_id,
        team_id=team_id,
        kind=kind,
        visited_at=visited_at,
        notes=clean_note(notes, "notes", max_length=1000),
        recorded_at=now,
    )
    session.add(visit)
    await session.flush()
    await refresh_path(session, visit)
    for found in findings:
        if found.category_id is not None:
            await get_row(
                session, ServiceCategory, found.category_id, "service category", "findings"
            )
        session.add(
            VisitFinding(
                visit_id=visit.id or 0,
                kind=found.kind,
                category_id=found.category_id,
                description=clean_text(found.description, "findings", max_length=500),
                recorded_by_id=visitor_id,
                path=visit.path,
            )
        )
    await session.flush()
    return visit


async def follow_up_finding(
    session: AsyncSession,
    *,
    finding_id: int,
    followed_up_by_id: int | None,
    petition_id: int | None = None,
    service_order_id: int | None = None,
    now: datetime | None = None,
) -> VisitFinding:
    """What followed a finding: a petition filed, or a service ordered, for its household."""
    now = now or utcnow()
    if (petition_id is None) == (service_order_id is None):
        raise invalid("give a petition or a service order", "petition_id")
    finding: VisitFinding = await get_row(session, VisitFinding, finding_id, "finding", "id")
    if finding.outcome is not None:
        raise DomainError(
            ServiceCode.ALREADY_FOLLOWED_UP, "the finding was followed up already", "id"
        )
    visit: DoorVisit = await get_row(session, DoorVisit, finding.visit_id, "visit", "id")
    if petition_id is not None:
        petition: Petition = await get_row(
            session, Petition, petition_id, "petition", "petition_id"
        )
        if not is_under(finding.path, petition.path) and not is_under(petition.path, finding.path):
            raise invalid("the petition is about another place", "petition_id")
        finding.outcome, finding.petition_id = FindingOutcome.PETITION, petition_id
    else:
        order: ServiceOrder = await get_row(
            session, ServiceOrder, service_order_id or 0, "service order", "service_order_id"
        )
        if order.household_id != visit.household_id:
            raise invalid("the order is for another household", "service_order_id")
        finding.outcome, finding.service_order_id = FindingOutcome.SERVICE_ORDER, order.id
    finding.followed_up_at = now
    finding.followed_up_by_id = followed_up_by_id
    await session.flush()
    return finding


async def resolve_finding(
    session: AsyncSession,
    *,
    finding_id: int,
    note: str,
    resolved_by_id: int | None,
    now: datetime | None = None,
) -> VisitFinding:
    """A finding dealt with: a dispute mediated (化解), a need met, a hazard removed."""
    now = now or utcnow()
    finding: VisitFinding = await get_row(session, VisitFinding, finding_id, "finding", "id")
    if finding.resolved_at is not None:
        raise DomainError(ServiceCode.ALREADY_FOLLOWED_UP, "the finding is resolved", "id")
    finding.resolution_note = clean_text(note, "note", max_length=500)
    finding.resolved_at = now
    if finding.outcome is None:
        finding.outcome = (
            FindingOutcome.MEDIATED
            if finding.kind == FindingKind.DISPUTE
            else FindingOutcome.RESOLVED
        )
        finding.followed_up_at = now
        finding.followed_up_by_id = resolved_by_id
    await session.flush()
    return finding


# --- emergency mode (平急结合) -----------------------------------------------------------------


async def start_emergency(
    session: AsyncSession,
    *,
    org_unit_id: int,
    reason: str,
    started_by_id: int | None,
    now: datetime | None = None,
) -> EmergencyPeriod:
    """Switch a node to emergency: every seconded cadre serving under it is rostered to the
    buildings of their posts (急时全部下沉楼栋); a cadre posted at an org unit goes to its
    buildings that have no cadre yet, in turn."""
    now = now or utcnow()
    unit = await _active_unit(session, org_unit_id, "org_unit_id")
    here = sa.cast(sa.literal(unit.path), Ltree())
    clash = await session.scalar(
        sa.select(col(EmergencyPeriod.id)).where(
            col(EmergencyPeriod.ended_at).is_(None),
            sa.or_(
                col(EmergencyPeriod.path).op("<@")(here), here.op("<@")(col(EmergencyPeriod.path))
            ),
        )
    )
    if clash:
        raise DomainError(
            ServiceCode.EMERGENCY_ACTIVE,
            "this unit, one above it or one below it is in emergency already",
            "org_unit_id",
        )
    inserted = await session.scalar(
        pg_insert(EmergencyPeriod)
        .values(
            org_unit_id=org_unit_id,
            reason=clean_text(reason, "reason", max_length=200),
            started_at=now,
            started_by_id=started_by_id,
        )
        .on_conflict_do_nothing(
            index_elements=["org_unit_id"], index_where=sa.text("ended_at IS NULL")
        )
        .returning(col(EmergencyPeriod.id))
    )
    if inserted is None:
        raise DomainError(
            ServiceCode.EMERGENCY_ACTIVE, "this unit is in emergency already", "org_unit_id"
        )
    period = await reload_row(session, EmergencyPeriod, int(inserted))
    roster = await _roster(session, unit.path or "")
    if roster:
        await session.execute(
            sa.insert(EmergencyRoster),
            [
                {
                    "period_id": period.id,
                    "cadre_id": cadre,
                    "position_id": position,
                    "building_id": building,
                    "rostered_at": now,
                }
                for cadre, position, building in roster
            ],
        )
    await session.flush()
    return period


async def _roster(session: AsyncSession, path: str) -> list[tuple[int, int, int]]:
    """(cadre, position, building) for every active seconded-cadre post under `path`."""
    here = sa.cast(sa.literal(path), Ltree())
    posts: Sequence[Any] = (
        await session.execute(
            sa.select(
                col(Position.id),
                col(Position.person_id),
                col(Position.building_id),
                col(Position.path),
            )
            .where(
                col(Position.role) == Role.SECONDED_CADRE,
                col(Position.ended_at).is_(None),
                col(Position.path).op("<@")(here),
            )
            .order_by(col(Position.id))
        )
    ).all()
    rows: dict[tuple[int, int], tuple[int, int, int]] = {}
    held = [(int(p), int(c), int(b) if b is not None else None, str(at)) for p, c, b, at in posts]
    covered = {b for _, _, b, _ in held if b is not None}
    for position, cadre, building, post_path in held:
        if building is not None:
            rows.setdefault((cadre, building), (cadre, position, building))
            continue
        buildings = [
            int(b or 0)
            for b in await session.scalars(
                sa.select(col(Building.id))
                .where(col(Building.path).op("<@")(sa.cast(sa.literal(post_path), Ltree())))
                .order_by(col(Building.id))
            )
        ]
        free = [b for b in buildings if b not in covered] or buildings
        if free:
            covered.add(free[0])
            rows.setdefault((cadre, free[0]), (cadre, position, free[0]))
    return list(rows.values())


async def end_emergency(
    session: AsyncSession,
    *,
    org_unit_id: int,
    note: str | None,
    ended_by_id: int | None,
    now: datetime | None = None,
) -> EmergencyPeriod:
    """Switch back: the period and its roster end; their history stays."""
    now = now or utcnow()
    period: EmergencyPeriod | None = await session.scalar(
        sa.select(EmergencyPeriod)
        .where(
            col(EmergencyPeriod.org_unit_id) == org_unit_id,
            col(EmergencyPeriod.ended_at).is_(None),
        )
        .with_for_update()
    )
    if period is None:
        raise DomainError(
            ServiceCode.NOT_IN_EMERGENCY, "this unit is not in emergency", "org_unit_id"
        )
    period.ended_at = now
    period.ended_by_id = ended_by_id
    period.end_note = clean_note(note, "note", max_length=500)
    await session.execute(
        sa.update(EmergencyRoster)
        .where(col(EmergencyRoster.period_id) == period.id, col(EmergencyRoster.ended_at).is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return period


async def check_in_emergency(
    session: AsyncSession, *, roster_id: int, now: datetime | None = None
) -> EmergencyRoster:
    now = now or utcnow()
    checked = await session.scalar(
        sa.update(EmergencyRoster)
        .where(
            col(EmergencyRoster.id) == roster_id,
            col(EmergencyRoster.ended_at).is_(None),
            col(EmergencyRoster.checked_in_at).is_(None),
        )
        .values(checked_in_at=now)
        .returning(col(EmergencyRoster.id))
        .execution_options(synchronize_session=False)
    )
    entry: EmergencyRoster = await get_row(
        session, EmergencyRoster, roster_id, "roster entry", "id"
    )
    await session.refresh(entry)
    if checked is None:
        if entry.ended_at is not None:
            raise DomainError(ServiceCode.NOT_IN_EMERGENCY, "the emergency has ended", "id")
        raise DomainError(ServiceCode.ALREADY_CHECKED_IN, "you checked in already", "id")
    return entry


# --- reading (through the request's loaders) -----------------------------------------------


@dataclass(frozen=True)
class Fixed:
    """A list with one ordering and no conditions of its own."""

    order: Ordering
    where: tuple[Any, ...] = ()

    def conditions(self) -> list[Any]:
        return list(self.where)

    def ordering(self) -> Ordering:
        return self.order


BY_NAME_STATION = Fixed(Ordering.of(asc(ServiceStation.name), asc(ServiceStation.id)))
BY_NAME_ESTATE = Fixed(Ordering.of(asc(Estate.name), asc(Estate.id)))
BY_NAME_BUILDING = Fixed(Ordering.of(asc(Building.name), asc(Building.id)))
ACTIVE_MEMBERS = Fixed(
    Ordering.of(asc(TeamMember.joined_at), asc(TeamMember.id)),
    (col(TeamMember.left_at).is_(None),),
)
SIGNUPS_IN_ORDER = Fixed(
    Ordering.of(asc(ActivitySignup.signed_up_at), asc(ActivitySignup.id)),
    (col(ActivitySignup.cancelled_at).is_(None),),
)
ROSTER_ORDER = Fixed(Ordering.of(asc(EmergencyRoster.building_id), asc(EmergencyRoster.id)))
LEDGER_ORDER = Fixed(Ordering.of(desc(VolunteerHours.at), desc(VolunteerHours.id)))


@dataclass(frozen=True)
class StationFilter:
    facilities: tuple[Facility, ...] = ()
    name_contains: str | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.facilities:
            found.append(col(ServiceStation.facilities).contains([str(f) for f in self.facilities]))
        if self.name_contains:
            found.append(col(ServiceStation.name).contains(self.name_contains, autoescape=True))
        return found

    def ordering(self) -> Ordering:
        return BY_NAME_STATION.order


@dataclass(frozen=True)
class EstateFilter:
    #: True: only estates without a property company (无物业管理); False: only managed ones
    unmanaged: bool | None = None

    def conditions(self) -> list[Any]:
        if self.unmanaged is None:
            return []
        column = col(Estate.property_company_id)
        return [column.is_(None) if self.unmanaged else column.is_not(None)]

    def ordering(self) -> Ordering:
        return BY_NAME_ESTATE.order


@dataclass(frozen=True)
class CompanyFilter:
    has_party_organisation: bool | None = None

    def conditions(self) -> list[Any]:
        if self.has_party_organisation is None:
            return []
        return [col(PropertyCompany.has_party_organisation) == self.has_party_organisation]

    def ordering(self) -> Ordering:
        return Ordering.of(asc(PropertyCompany.name), asc(PropertyCompany.id))


@dataclass(frozen=True)
class TeamFilter:
    kinds: tuple[TeamKind, ...] = ()
    category_id: int | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = [col(ServiceTeam.disbanded_at).is_(None)]
        if self.kinds:
            found.append(col(ServiceTeam.kind).in_([str(k) for k in self.kinds]))
        if self.category_id is not None:
            found.append(col(ServiceTeam.category_id) == self.category_id)
        return found

    def ordering(self) -> Ordering:
        return Ordering.of(asc(ServiceTeam.name), asc(ServiceTeam.id))


@dataclass(frozen=True)
class ItemFilter:
    category_ids: tuple[int, ...] = ()
    providers: tuple[str, ...] = ()  # "STATION", "TEAM", "PROPERTY_COMPANY"
    #: groups the item must be open to (an item open to everyone matches any)
    open_to: tuple[Eligibility, ...] | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = [col(ServiceItem.active)]
        if self.category_ids:
            found.append(col(ServiceItem.category_id).in_(self.category_ids))
        columns = {
            "STATION": ServiceItem.station_id,
            "TEAM": ServiceItem.team_id,
            "PROPERTY_COMPANY": ServiceItem.property_company_id,
        }
        if self.providers:
            found.append(sa.or_(*(col(columns[p]).is_not(None) for p in self.providers)))
        if self.open_to is not None:
            mine = [str(e) for e in self.open_to]
            found.append(
                sa.or_(
                    sa.func.cardinality(col(ServiceItem.eligibility)) == 0,
                    col(ServiceItem.eligibility).overlap(mine),  # type: ignore[attr-defined]
                )
            )
        return found

    def ordering(self) -> Ordering:
        return Ordering.of(asc(ServiceItem.category_id), asc(ServiceItem.name), asc(ServiceItem.id))


class OrderOrder(enum.StrEnum):
    SUBMITTED = "SUBMITTED"  # newest first
    QUEUE = "QUEUE"  # 鳏寡孤独 first, then soonest due


ORDER_ORDERINGS: Final = {
    OrderOrder.SUBMITTED: Ordering.of(desc(ServiceOrder.submitted_at), desc(ServiceOrder.id)),
    OrderOrder.QUEUE: Ordering.of(
        desc(ServiceOrder.queue_rank), asc(ServiceOrder.due_at), asc(ServiceOrder.id)
    ),
}


@dataclass(frozen=True)
class OrderFilter:
    statuses: tuple[OrderStatus, ...] = ()
    category_ids: tuple[int, ...] = ()
    team_id: int | None = None
    station_id: int | None = None
    property_company_id: int | None = None
    overdue_at: datetime | None = None
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None
    order: OrderOrder = OrderOrder.SUBMITTED
    #: only what waits for an actor (the permission layer's condition)
    waiting: Narrowing | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.waiting is not None:
            found.append(self.waiting.condition())
        if self.statuses:
            found.append(col(ServiceOrder.status).in_([str(s) for s in self.statuses]))
        if self.category_ids:
            found.append(col(ServiceOrder.category_id).in_(self.category_ids))
        for column, value in (
            (ServiceOrder.team_id, self.team_id),
            (ServiceOrder.station_id, self.station_id),
            (ServiceOrder.property_company_id, self.property_company_id),
        ):
            if value is not None:
                found.append(col(column) == value)
        if self.overdue_at is not None:
            found.append(col(ServiceOrder.status).in_(sorted(CLOCKED)))
            found.append(col(ServiceOrder.due_at) < self.overdue_at)
        if self.submitted_from is not None:
            found.append(col(ServiceOrder.submitted_at) >= self.submitted_from)
        if self.submitted_before is not None:
            found.append(col(ServiceOrder.submitted_at) < self.submitted_before)
        return found

    def ordering(self) -> Ordering:
        return ORDER_ORDERINGS[self.order]


#: A node's dispatch queue: orders it owns waiting for a dispatcher, 鳏寡孤独 first.
DISPATCH_QUEUE_FILTER: Final = OrderFilter(
    statuses=tuple(sorted(AT_DISPATCH)), order=OrderOrder.QUEUE
)


@dataclass(frozen=True)
class ActivityFilter:
    kinds: tuple[ActivityKind, ...] = ()
    statuses: tuple[ActivityStatus, ...] = (ActivityStatus.OPEN,)
    starts_from: datetime | None = None
    starts_before: datetime | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.kinds:
            found.append(col(VolunteerActivity.kind).in_([str(k) for k in self.kinds]))
        if self.statuses:
            found.append(col(VolunteerActivity.status).in_([str(s) for s in self.statuses]))
        if self.starts_from is not None:
            found.append(col(VolunteerActivity.starts_at) >= self.starts_from)
        if self.starts_before is not None:
            found.append(col(VolunteerActivity.starts_at) < self.starts_before)
        return found

    def ordering(self) -> Ordering:
        return Ordering.of(asc(VolunteerActivity.starts_at), asc(VolunteerActivity.id))


@dataclass(frozen=True)
class VisitFilter:
    kinds: tuple[VisitKind, ...] = ()
    visited_from: datetime | None = None
    visited_before: datetime | None = None
    visitor_id: int | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.kinds:
            found.append(col(DoorVisit.kind).in_([str(k) for k in self.kinds]))
        if self.visited_from is not None:
            found.append(col(DoorVisit.visited_at) >= self.visited_from)
        if self.visited_before is not None:
            found.append(col(DoorVisit.visited_at) < self.visited_before)
        if self.visitor_id is not None:
            found.append(col(DoorVisit.visitor_id) == self.visitor_id)
        return found

    def ordering(self) -> Ordering:
        return Ordering.of(desc(DoorVisit.visited_at), desc(DoorVisit.id))


@dataclass(frozen=True)
class FindingFilter:
    kinds: tuple[FindingKind, ...] = ()
    resolved: bool | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.kinds:
            found.append(col(VisitFinding.kind).in_([str(k) for k in self.kinds]))
        if self.resolved is not None:
            column = col(VisitFinding.resolved_at)
            found.append(column.is_not(None) if self.resolved else column.is_(None))
        return found

    def ordering(self) -> Ordering:
        return Ordering.of(desc(VisitFinding.id))


@dataclass(frozen=True)
class EmergencyFilter:
    active_only: bool = False

    def conditions(self) -> list[Any]:
        return [col(EmergencyPeriod.ended_at).is_(None)] if self.active_only else []

    def ordering(self) -> Ordering:
        return Ordering.of(desc(EmergencyPeriod.started_at), desc(EmergencyPeriod.id))


_Within = Parent(within=OrgUnit)

ESTATES = Listing("estates", Estate)
ESTATES_UNDER = Listing("org_unit.estates", Estate, _Within)
BUILDINGS_OF_ESTATE = Listing("estate.buildings", Building, Parent(column=Building.estate_id))
ESTATES_OF_COMPANY = Children(
    Estate, Estate.property_company_id, Ordering.of(asc(Estate.name), asc(Estate.id))
)
STATIONS = Listing("service_stations", ServiceStation)
STATIONS_UNDER = Listing("org_unit.service_stations", ServiceStation, _Within)
STATION_BUILDINGS = Listing(
    "service_station.buildings",
    Building,
    Parent(column=StationBuilding.station_id),
    joins=((StationBuilding, col(StationBuilding.building_id) == col(Building.id)),),
)
STATIONS_SERVING = Children(
    StationBuilding, StationBuilding.building_id, Ordering.of(asc(StationBuilding.station_id))
)
STATION_MANAGERS = Children(
    StationManager,
    StationManager.station_id,
    Ordering.of(asc(StationManager.id)),
    (col(StationManager.removed_at).is_(None),),
)
COMPANIES = Listing("property_companies", PropertyCompany)
#: 楼栋红管家: property-staff posts at the buildings of a company's estates.
COMPANY_STAFF = Listing(
    "property_company.staff",
    Position,
    Parent(column=Estate.property_company_id),
    joins=(
        (Building, col(Building.id) == col(Position.building_id)),
        (Estate, col(Estate.id) == col(Building.estate_id)),
    ),
)
ACTIVE_STAFF = Fixed(
    Ordering.of(asc(Position.id)),
    (col(Position.role) == Role.PROPERTY_STAFF, col(Position.ended_at).is_(None)),
)
COMPANIES_UNDER = Listing("org_unit.property_companies", PropertyCompany, _Within)
TEAMS = Listing("service_teams", ServiceTeam)
TEAMS_UNDER = Listing("org_unit.service_teams", ServiceTeam, _Within)
TEAM_MEMBERS = Listing("service_team.members", TeamMember, Parent(column=TeamMember.team_id))
ITEMS = Listing("service_items", ServiceItem)
ITEMS_UNDER = Listing("org_unit.service_items", ServiceItem, _Within)
_ACTIVE_ITEMS = Ordering.of(asc(ServiceItem.category_id), asc(ServiceItem.id))
ITEMS_OF_STATION = Children(
    ServiceItem, ServiceItem.station_id, _ACTIVE_ITEMS, (col(ServiceItem.active),)
)
ITEMS_OF_TEAM = Children(
    ServiceItem, ServiceItem.team_id, _ACTIVE_ITEMS, (col(ServiceItem.active),)
)
ITEMS_OF_COMPANY = Children(
    ServiceItem, ServiceItem.property_company_id, _ACTIVE_ITEMS, (col(ServiceItem.active),)
)
POSTS_OF_BUILDING = Children(
    PartyPost,
    PartyPost.building_id,
    Ordering.of(asc(PartyPost.kind), asc(PartyPost.id)),
    (col(PartyPost.ended_at).is_(None),),
)
POSTS_UNDER = Listing("org_unit.party_posts", PartyPost, _Within)
ACTIVE_POSTS = Fixed(
    Ordering.of(asc(PartyPost.building_id), asc(PartyPost.id)), (col(PartyPost.ended_at).is_(None),)
)

ORDERS_ALL = Listing("service_orders", ServiceOrder)
ORDERS_UNDER = Listing("org_unit.service_orders", ServiceOrder, _Within)
#: A node's dispatch queue (its admin SPA's 派单 list): orders it owns now.
DISPATCH_QUEUE = Listing(
    "org_unit.service_dispatch_queue", ServiceOrder, Parent(column=ServiceOrder.owner_org_unit_id)
)
#: What waits for the actor, across every place they handle (`waiting` in the filter): for
#: `myQueue.serviceOrders`.
MY_SERVICE_ORDERS = Listing("my.service_orders", ServiceOrder)
ORDER_TIMELINE = Children(
    ServiceOrderEvent, ServiceOrderEvent.order_id, Ordering.of(asc(ServiceOrderEvent.version))
)
ORDER_RATING = Children(ServiceRating, ServiceRating.order_id, Ordering.of(asc(ServiceRating.id)))
ORDER_FINDING = Children(
    VisitFinding, VisitFinding.service_order_id, Ordering.of(asc(VisitFinding.id))
)

ACTIVITIES_ALL = Listing("volunteer_activities", VolunteerActivity)
ACTIVITIES_UNDER = Listing("org_unit.volunteer_activities", VolunteerActivity, _Within)
ACTIVITY_SIGNUPS = Listing(
    "volunteer_activity.signups", ActivitySignup, Parent(column=ActivitySignup.activity_id)
)
ACTIVITY_TIMELINE = Children(
    VolunteerActivityEvent,
    VolunteerActivityEvent.activity_id,
    Ordering.of(asc(VolunteerActivityEvent.version)),
)
MY_SIGNUP = Children(
    ActivitySignup,
    ActivitySignup.activity_id,
    Ordering.of(asc(ActivitySignup.id)),
    (col(ActivitySignup.cancelled_at).is_(None),),
)
HOURS_OF_PERSON = Listing(
    "person.volunteer_hours", VolunteerHours, Parent(column=VolunteerHours.person_id)
)
TOTAL_OF_PERSON = Children(
    VolunteerTotal, VolunteerTotal.person_id, Ordering.of(asc(VolunteerTotal.person_id))
)

VISITS_ALL = Listing("door_visits", DoorVisit)
VISITS_UNDER = Listing("org_unit.door_visits", DoorVisit, _Within)
FINDINGS_OF_VISIT = Children(VisitFinding, VisitFinding.visit_id, Ordering.of(asc(VisitFinding.id)))
FINDINGS_UNDER = Listing("org_unit.visit_findings", VisitFinding, _Within)

EMERGENCIES_UNDER = Listing("org_unit.emergencies", EmergencyPeriod, _Within)
ROSTER_OF_PERIOD = Listing(
    "emergency_period.roster", EmergencyRoster, Parent(column=EmergencyRoster.period_id)
)
ACTIVE_EMERGENCY = Children(
    EmergencyPeriod,
    EmergencyPeriod.org_unit_id,
    Ordering.of(asc(EmergencyPeriod.id)),
    (col(EmergencyPeriod.ended_at).is_(None),),
)


async def my_signup(loaders: Loaders, activity_id: int, person_id: int) -> ActivitySignup | None:
    rows = await loaders.children(MY_SIGNUP, activity_id)
    return next((r for r in rows if r.person_id == person_id), None)


async def total_of(loaders: Loaders, person_id: int) -> VolunteerTotal | None:
    rows = await loaders.children(TOTAL_OF_PERSON, person_id)
    return rows[0] if rows else None


# --- counts for dashboards and big screens --------------------------------------------------


@dataclass(frozen=True)
class ServiceStats:
    stations: int
    teams: int
    estates: int
    unmanaged_estates: int
    party_property_companies: int
    activities: int
    orders: int
    orders_done: int
    volunteer_services: int
    good_deeds: int
    cadre_services: int
    cadre_good_deeds: int
    volunteer_minutes: int
    volunteers: int
    door_visits: int
    households_visited: int
    disputes: int
    disputes_resolved: int


@dataclass(frozen=True)
class Window:
    """Counts of what happened from `since` until `until` (either open)."""

    since: datetime | None = None
    until: datetime | None = None

    def on(self, column: Any) -> list[Any]:
        found: list[Any] = []
        if self.since is not None:
            found.append(column >= self.since)
        if self.until is not None:
            found.append(column < self.until)
        return found


_SERVICES_KINDS: Final = (HoursKind.ACTIVITY, HoursKind.SERVICE)


def service_stats_statement(ids: list[int], scope: ScopeFn, window: Window) -> sa.Select[Any]:
    """Every count of `ServiceStats` for each unit's subtree, many units in one statement,
    each limited to the rows the caller may count (`scope`)."""
    node = sa.orm.aliased(OrgUnit, name="node")

    def under_node(model: Any, value: Any, *conditions: Any) -> Any:
        inside = model.path.op("<@")(node.path)
        return sa.select(value).where(inside, *conditions, *scope(model)).scalar_subquery()

    def count(model: Any, *conditions: Any, distinct: Any = None) -> Any:
        counted = sa.func.count(sa.distinct(distinct)) if distinct is not None else sa.func.count()
        return under_node(model, counted, *conditions)

    hours = col(VolunteerHours.kind)
    services = hours.in_([str(k) for k in _SERVICES_KINDS])
    deeds = hours == HoursKind.GOOD_DEED
    at = window.on(col(VolunteerHours.at))
    disputes = col(VisitFinding.kind) == FindingKind.DISPUTE
    done = col(ServiceOrder.status).in_(sorted(DONE_STATUSES))
    return sa.select(
        col(node.id),
        count(ServiceStation),
        count(ServiceTeam, col(ServiceTeam.disbanded_at).is_(None)),
        count(Estate),
        count(Estate, col(Estate.property_company_id).is_(None)),
        count(PropertyCompany, col(PropertyCompany.has_party_organisation)),
        count(
            VolunteerActivity,
            col(VolunteerActivity.status) != ActivityStatus.CANCELLED,
            *window.on(col(VolunteerActivity.starts_at)),
        ),
        count(ServiceOrder, *window.on(col(ServiceOrder.submitted_at))),
        count(ServiceOrder, done, *window.on(col(ServiceOrder.submitted_at))),
        count(VolunteerHours, services, *at),
        count(VolunteerHours, deeds, *at),
        count(VolunteerHours, services, col(VolunteerHours.as_cadre), *at),
        count(VolunteerHours, deeds, col(VolunteerHours.as_cadre), *at),
        under_node(
            VolunteerHours, sa.func.coalesce(sa.func.sum(col(VolunteerHours.minutes)), 0), *at
        ),
        count(VolunteerHours, *at, distinct=VolunteerHours.person_id),
        count(DoorVisit, *window.on(col(DoorVisit.visited_at))),
        count(DoorVisit, *window.on(col(DoorVisit.visited_at)), distinct=DoorVisit.household_id),
        count(VisitFinding, disputes, *_finding_window(window)),
        count(
            VisitFinding,
            disputes,
            col(VisitFinding.resolved_at).is_not(None),
            *_finding_window(window),
        ),
    ).where(col(node.id).in_(ids))


def _finding_window(window: Window) -> list[Any]:
    """Findings of the visits made in the window."""
    if window.since is None and window.until is None:
        return []
    visit = sa.orm.aliased(DoorVisit, name="finding_visit")
    return [
        sa.exists().where(
            col(visit.id) == col(VisitFinding.visit_id), *window.on(col(visit.visited_at))
        )
    ]


async def load_service_stats(
    loaders: Loaders, ids: list[int], window: Window | None = None
) -> list[ServiceStats]:
    statement = service_stats_statement(ids, loaders.count_scope, window or Window())
    rows = {
        row[0]: ServiceStats(*(int(v) for v in row[1:])) for row in await loaders.fetch(statement)
    }
    return [rows[i] for i in ids]


async def service_stats_of(loaders: Loaders, unit_id: int, window: Window) -> ServiceStats:
    async def batch(keys: list[tuple[int, Window]]) -> list[ServiceStats]:
        by_window: dict[Window, list[int]] = {}
        for ident, w in keys:
            by_window.setdefault(w, []).append(ident)
        found: dict[tuple[int, Window], ServiceStats] = {}
        for w, ids in by_window.items():
            for ident, stats in zip(ids, await load_service_stats(loaders, ids, w), strict=True):
                found[(ident, w)] = stats
        return [found[k] for k in keys]

    return await loaders.batch("service_stats", ServiceStats, batch).load((unit_id, window))


def open_now(station: ServiceStation) -> bool:
    return open_at(station, utcnow())


def opening_hours(station: ServiceStation) -> list[Opening]:
    return [Opening.of(o) for o in station.opening_hours]


def hours_of(minutes: int | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 2)


def provider_kind(row: Any) -> str | None:
    for kind, column in (
        ("STATION", "station_id"),
        ("TEAM", "team_id"),
        ("PROPERTY_COMPANY", "property_company_id"),
    ):
        if getattr(row, column) is not None:
            return kind
    return None
