"""Business rules for people, positions (role grants at a place) and 1+N pairings."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.crypto import encrypt_id_card, id_card_lookup_hash, normalise_id_card
from models.org import Building, CentralHousehold, Household, OrgKind, OrgUnit, WorkUnit
from models.people import (
    Gender,
    HouseholdMembership,
    Pairing,
    Person,
    Position,
    PriorityBasis,
    Role,
    SelectionMethod,
    StaffKind,
)
from resolvers.common import clean_text, first_of, flush_or_refuse, get_row, refresh_path
from resolvers.errors import Common, DomainError, not_found
from resolvers.loaders import Children, Loaders
from resolvers.org import get_active_org_unit
from resolvers.pagination import Listing, Ordering, Parent, asc, desc


class PeopleCode(enum.StrEnum):
    """Codes of people, positions and pairings."""

    DUPLICATE = "DUPLICATE"
    POSITION_CONFLICT = "POSITION_CONFLICT"
    ALREADY_ENDED = "ALREADY_ENDED"
    INVALID_PARENT_KIND = "INVALID_PARENT_KIND"
    RETIRED = "RETIRED"


CHINA = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(CHINA).date()


class AgeBand(enum.StrEnum):
    UNDER_18 = "UNDER_18"
    FROM_18_TO_34 = "FROM_18_TO_34"
    FROM_35_TO_59 = "FROM_35_TO_59"
    FROM_60_TO_79 = "FROM_60_TO_79"
    FROM_80 = "FROM_80"


AGE_BAND_YEARS: dict[AgeBand, tuple[int, int | None]] = {
    AgeBand.UNDER_18: (0, 17),
    AgeBand.FROM_18_TO_34: (18, 34),
    AgeBand.FROM_35_TO_59: (35, 59),
    AgeBand.FROM_60_TO_79: (60, 79),
    AgeBand.FROM_80: (80, None),
}


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def age_band(birth: date, day: date | None = None) -> AgeBand:
    age = age_on(birth, day or today())
    for band, (low, high) in AGE_BAND_YEARS.items():
        if age >= low and (high is None or age <= high):
            return band
    return AgeBand.UNDER_18


def age_sql(person: Any) -> Any:
    """`age_on(birth_date, today())` in SQL, today being China's date when it runs."""
    today = sa.cast(sa.func.timezone(CHINA.key, sa.func.now()), sa.Date)
    born = person.birth_date

    def part(name: str, day: Any) -> Any:
        return sa.cast(sa.func.date_part(name, day), sa.Integer)

    earlier = sa.tuple_(part("month", today), part("day", today)) < sa.tuple_(
        part("month", born), part("day", born)
    )
    return part("year", today) - part("year", born) - sa.case((earlier, 1), else_=0)


def age_band_sql(person: Any) -> Any:
    """`age_band(birth_date)` in SQL (null without a birth date)."""
    age = age_sql(person)
    bands = [
        (sa.and_(age >= low, sa.true() if high is None else age <= high), band.value)
        for band, (low, high) in AGE_BAND_YEARS.items()
    ]
    return sa.case((person.birth_date.is_(None), None), *bands, else_=AgeBand.UNDER_18.value)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def birth_range(band: AgeBand, day: date) -> tuple[date | None, date]:
    """Birth dates (exclusive lower, inclusive upper) of people whose age falls in `band`."""
    low, high = AGE_BAND_YEARS[band]
    latest = _years_before(day, low)
    earliest = _years_before(day, high + 1) if high is not None else None
    return earliest, latest


class PersonOrder(enum.StrEnum):
    NAME = "NAME"
    BIRTH_DATE = "BIRTH_DATE"


PERSON_ORDERINGS: dict[PersonOrder | None, Ordering] = {
    None: Ordering.of(asc(Person.id)),
    PersonOrder.NAME: Ordering.of(asc(Person.name), asc(Person.id)),
    PersonOrder.BIRTH_DATE: Ordering.of(asc(Person.birth_date), asc(Person.id)),
}
NEWEST_POSITIONS_FIRST = Ordering.of(desc(Position.started_at), asc(Position.id))


@dataclass(frozen=True)
class PersonFilter:
    name_prefix: str | None = None
    gender: Gender | None = None
    is_party_member: bool | None = None
    is_veteran: bool | None = None
    is_elderly: bool | None = None
    lives_alone: bool | None = None
    is_renter: bool | None = None
    age_band: AgeBand | None = None
    #: None: in the order people were entered (reveals nothing a masked field hides)
    order: PersonOrder | None = PersonOrder.NAME

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.name_prefix:
            found.append(col(Person.name).startswith(self.name_prefix, autoescape=True))
        if self.gender:
            found.append(Person.gender == self.gender)
        flags = {
            Person.is_party_member: self.is_party_member,
            Person.is_veteran: self.is_veteran,
            Person.is_elderly: self.is_elderly,
            Person.lives_alone: self.lives_alone,
            Person.is_renter: self.is_renter,
        }
        found.extend(column == wanted for column, wanted in flags.items() if wanted is not None)
        if self.age_band:
            earliest, latest = birth_range(self.age_band, today())
            found.append(col(Person.birth_date) <= latest)
            if earliest is not None:
                found.append(col(Person.birth_date) > earliest)
        return found

    def ordering(self) -> Ordering:
        return PERSON_ORDERINGS[self.order]


@dataclass(frozen=True)
class PositionFilter:
    role: Role | None = None
    active_only: bool = True

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.role:
            found.append(Position.role == self.role)
        if self.active_only:
            found.append(col(Position.ended_at).is_(None))
        return found

    @staticmethod
    def ordering() -> Ordering:
        return NEWEST_POSITIONS_FIRST


# --- validation of personal data ------------------------------------------------

PHONE = re.compile(r"^1[3-9]\d{9}$")
ID_CARD = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card_check_character(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def validate_id_card(value: str) -> str:
    """An 18-character resident ID with a valid check character (GB 11643)."""
    value = normalise_id_card(value)
    if not ID_CARD.match(value) or id_card_check_character(value[:17]) != value[17]:
        raise DomainError(
            Common.VALIDATION,
            "`id_card_number` is not a valid resident ID number",
            "id_card_number",
        )
    return value


def validate_phone(value: str) -> str:
    value = value.strip().replace(" ", "").replace("-", "")
    if not PHONE.match(value):
        raise DomainError(Common.VALIDATION, "`phone` must be an 11-digit mobile number", "phone")
    return value


#: The advisory-lock namespace (first key) of ID-number registrations.
ID_CARD_LOCKS = 0x1DCA


class DuplicateIdCardError(DomainError):
    """The ID number is registered already; `existing_id` lets the caller decide what the
    actor may be told (whether that person is in the actor's scope)."""

    def __init__(self, existing_id: int) -> None:
        super().__init__(
            PeopleCode.DUPLICATE, "a person with this ID number exists", "id_card_number"
        )
        self.existing_id = existing_id


@dataclass(frozen=True)
class PersonData:
    name: str
    gender: Gender
    household_id: int | None = None
    birth_date: date | None = None
    phone: str | None = None
    id_card_number: str | None = None
    is_party_member: bool = False
    is_veteran: bool = False
    is_elderly: bool = False
    lives_alone: bool = False
    is_renter: bool = False
    health_notes: str | None = None


async def create_person(session: AsyncSession, data: PersonData) -> Person:
    if data.household_id is not None:
        await get_row(session, Household, data.household_id, "household", "household_id")
    if data.birth_date is not None and not date(1900, 1, 1) <= data.birth_date <= today():
        raise DomainError(Common.VALIDATION, "`birth_date` is out of range", "birth_date")
    person = Person(
        household_id=data.household_id,
        name=clean_text(data.name, "name", max_length=40),
        gender=data.gender,
        birth_date=data.birth_date,
        phone=validate_phone(data.phone) if data.phone else None,
        is_party_member=data.is_party_member,
        is_veteran=data.is_veteran,
        is_elderly=data.is_elderly,
        lives_alone=data.lives_alone,
        is_renter=data.is_renter,
        health_notes=clean_text(data.health_notes, "health_notes", max_length=500)
        if data.health_notes
        else None,
    )
    if data.id_card_number:
        number = validate_id_card(data.id_card_number)
        lookup = id_card_lookup_hash(number)
        # Two requests registering one number at once: the second waits, then finds the first.
        slot = int.from_bytes(lookup[:4], "big", signed=True)
        await session.execute(sa.select(sa.func.pg_advisory_xact_lock(ID_CARD_LOCKS, slot)))
        existing = await session.scalar(
            sa.select(col(Person.id)).where(col(Person.id_card_hash) == lookup).limit(1)
        )
        if existing is not None:
            raise DuplicateIdCardError(existing)
        await _hold_id_card(session, person, number, lookup, new=True)
    else:
        session.add(person)
        await session.flush()
    await refresh_path(session, person)
    return person


async def _hold_id_card(
    session: AsyncSession, person: Person, number: str, lookup: bytes, *, new: bool
) -> None:
    """Give `person` the ID number and flush, in a savepoint begun before either. The advisory
    lock orders registrations of one number, but a register import (`resolvers.register`)
    holds its own lock: when it committed the number first, the unique index refuses this
    row, which is told as the duplicate it is (never as an internal error), and the savepoint
    takes the refused row or change back with it."""
    try:
        async with session.begin_nested():
            person.id_card_cipher = encrypt_id_card(number)
            person.id_card_hash = lookup
            if new:
                session.add(person)
            await session.flush()
    except IntegrityError:
        holder = await session.scalar(
            sa.select(col(Person.id))
            .where(col(Person.id_card_hash) == lookup, col(Person.id) != person.id)
            .limit(1)
        )
        if holder is None:
            raise
        raise DuplicateIdCardError(holder) from None


# --- keeping the register up to date ------------------------------------------------


@dataclass(frozen=True)
class PersonChanges:
    """What changes about a person (None: unchanged; an empty phone or health note: cleared)."""

    name: str | None = None
    gender: Gender | None = None
    birth_date: date | None = None
    phone: str | None = None
    id_card_number: str | None = None
    is_party_member: bool | None = None
    is_veteran: bool | None = None
    is_elderly: bool | None = None
    lives_alone: bool | None = None
    is_renter: bool | None = None
    health_notes: str | None = None


async def update_person(session: AsyncSession, person_id: int, c: PersonChanges) -> Person:
    """Correct or update what the register holds of a person. A new ID number is checked
    like a registration's (DuplicateIdCardError when someone else holds it)."""
    person: Person = await get_row(session, Person, person_id, "person", "id")
    if c.name is not None:
        person.name = clean_text(c.name, "name", max_length=40)
    if c.gender is not None:
        person.gender = c.gender
    if c.birth_date is not None:
        if not date(1900, 1, 1) <= c.birth_date <= today():
            raise DomainError(Common.VALIDATION, "`birth_date` is out of range", "birth_date")
        person.birth_date = c.birth_date
    if c.phone is not None:
        person.phone = validate_phone(c.phone) if c.phone.strip() else None
    flags = ("is_party_member", "is_veteran", "is_elderly", "lives_alone", "is_renter")
    for flag in flags:
        value = getattr(c, flag)
        if value is not None:
            setattr(person, flag, value)
    if c.health_notes is not None:
        notes = c.health_notes.strip()
        person.health_notes = clean_text(notes, "health_notes", max_length=500) if notes else None
    if c.id_card_number is not None:
        number = validate_id_card(c.id_card_number)
        lookup = id_card_lookup_hash(number)
        slot = int.from_bytes(lookup[:4], "big", signed=True)
        await session.execute(sa.select(sa.func.pg_advisory_xact_lock(ID_CARD_LOCKS, slot)))
        existing = await session.scalar(
            sa.select(col(Person.id))
            .where(col(Person.id_card_hash) == lookup, col(Person.id) != person_id)
            .limit(1)
        )
        if existing is not None:
            raise DuplicateIdCardError(existing)
        await _hold_id_card(session, person, number, lookup, new=False)
    await session.flush()
    return person


async def move_person(
    session: AsyncSession,
    *,
    person_id: int,
    household_id: int | None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Person:
    """Move a person to another household, or out of the register's households (a renter
    leaving), keeping the history: the membership they leave ends, the new one starts. A
    central household (党员中心户) the person led in the old household ends with the move."""
    now = now or utcnow()
    person: Person = await get_row(session, Person, person_id, "person", "id")
    if household_id == person.household_id:
        raise DomainError(Common.VALIDATION, "the person lives there already", "household_id")
    new_path: str | None = None
    if household_id is not None:
        household: Household = await get_row(
            session, Household, household_id, "household", "household_id"
        )
        new_path = household.path
    note = clean_text(reason, "reason", max_length=200) if reason else None
    ended = await session.execute(
        sa.update(HouseholdMembership)
        .where(
            col(HouseholdMembership.person_id) == person_id,
            col(HouseholdMembership.ended_at).is_(None),
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(ended, "rowcount", 0) and person.household_id is not None:
        # the first move of someone registered before histories were kept
        session.add(
            HouseholdMembership(
                person_id=person_id,
                household_id=person.household_id,
                started_at=min(person.created_at, now),
                ended_at=now,
            )
        )
    if household_id is not None:
        session.add(
            HouseholdMembership(
                person_id=person_id, household_id=household_id, started_at=now, reason=note
            )
        )
    await session.execute(
        sa.update(CentralHousehold)
        .where(
            col(CentralHousehold.party_member_id) == person_id,
            col(CentralHousehold.ended_at).is_(None),
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    person.household_id = household_id
    person.path = new_path
    await session.flush()
    await refresh_path(session, person)
    return person


async def end_pairing(
    session: AsyncSession, *, pairing_id: int, now: datetime | None = None
) -> Pairing:
    """End a 1+N pairing; it stays in the history."""
    pairing: Pairing = await get_row(session, Pairing, pairing_id, "pairing", "id")
    if pairing.ended_at is not None:
        raise DomainError(PeopleCode.ALREADY_ENDED, "this pairing has already ended", "id")
    pairing.ended_at = max(now or utcnow(), pairing.started_at)
    await session.flush()
    return pairing


# --- positions -------------------------------------------------------------------

#: Where each role is held: a building, or an org unit of one of these kinds.
ROLE_PLACES: dict[Role, tuple[bool, frozenset[OrgKind]]] = {
    Role.BUILDING_HEAD: (True, frozenset()),
    Role.HOUSEHOLD_LIAISON: (True, frozenset()),
    Role.PROPERTY_STAFF: (True, frozenset()),
    Role.SECONDED_CADRE: (True, frozenset({OrgKind.GRID, OrgKind.COMMUNITY})),
    Role.REGISTERED_PARTY_MEMBER: (True, frozenset({OrgKind.COMMUNITY, OrgKind.GRID})),
    Role.VOLUNTEER: (True, frozenset({OrgKind.GRID, OrgKind.COMMUNITY})),
    Role.GRID_WORKER: (False, frozenset({OrgKind.GRID})),
    Role.SHOP_OPERATOR: (False, frozenset({OrgKind.COMMUNITY, OrgKind.GRID})),
    Role.PARTY_COMMITTEE_MEMBER: (False, frozenset({OrgKind.STREET, OrgKind.COMMUNITY})),
    Role.COMMUNITY_ADMIN: (False, frozenset({OrgKind.COMMUNITY})),
    Role.STREET_ADMIN: (False, frozenset({OrgKind.STREET})),
    Role.DISTRICT_ADMIN: (False, frozenset({OrgKind.DISTRICT})),
    Role.CITY_ADMIN: (False, frozenset({OrgKind.CITY})),
}

#: Which priority basis (三优先) each person flag supports.
_BASIS_FLAG = {
    PriorityBasis.PARTY_MEMBER: "is_party_member",
    PriorityBasis.VETERAN: "is_veteran",
}


@dataclass(frozen=True)
class Appointment:
    person_id: int
    role: Role
    org_unit_id: int | None = None
    building_id: int | None = None
    selection_method: SelectionMethod | None = None
    priority_basis: tuple[PriorityBasis, ...] = ()
    work_unit_id: int | None = None
    team: str | None = None
    staff_kind: StaffKind | None = None


def _refuse(field: str, message: str) -> DomainError:
    return DomainError(Common.VALIDATION, message, field)


async def _check_place(session: AsyncSession, a: Appointment) -> None:
    at_building, kinds = ROLE_PLACES[a.role]
    if (a.org_unit_id is None) == (a.building_id is None):
        raise _refuse("building_id", "give exactly one of `org_unit_id` and `building_id`")
    if a.building_id is not None:
        if not at_building:
            raise DomainError(
                PeopleCode.INVALID_PARENT_KIND, f"{a.role} is not held at a building", "building_id"
            )
        await get_row(session, Building, a.building_id, "building", "building_id")
    else:
        assert a.org_unit_id is not None
        unit = await get_active_org_unit(session, a.org_unit_id, "org_unit_id")
        if unit.kind not in kinds:
            raise DomainError(
                PeopleCode.INVALID_PARENT_KIND,
                f"{a.role} is held at a {' or '.join(sorted(kinds)) or 'building'}",
                "org_unit_id",
            )


def _check_details(a: Appointment, person: Person) -> None:
    if a.role == Role.BUILDING_HEAD:
        for basis in a.priority_basis:
            flag = _BASIS_FLAG.get(basis)
            if flag and not getattr(person, flag):
                raise _refuse("priority_basis", f"the person does not qualify for {basis}")
    elif a.selection_method or a.priority_basis:
        raise _refuse("selection_method", "only building heads have a selection method")
    if a.role in (Role.SECONDED_CADRE, Role.REGISTERED_PARTY_MEMBER, Role.PARTY_COMMITTEE_MEMBER):
        if a.work_unit_id is None:
            raise _refuse("work_unit_id", f"a {a.role} comes from a work unit")
    elif a.work_unit_id is not None:
        raise _refuse("work_unit_id", f"a {a.role} has no work unit")
    if a.role == Role.SECONDED_CADRE and not a.team:
        raise _refuse("team", "a seconded cadre belongs to a team")
    if a.role != Role.SECONDED_CADRE and a.team:
        raise _refuse("team", "only seconded cadres have a team")
    if a.role == Role.REGISTERED_PARTY_MEMBER and not person.is_party_member:
        raise _refuse("person_id", "only Party members register with a community")
    if a.role == Role.PARTY_COMMITTEE_MEMBER and not person.is_party_member:
        raise _refuse("person_id", "a part-time committee member (兼职委员) is a Party member")
    if (a.role == Role.PROPERTY_STAFF) != (a.staff_kind is not None):
        raise _refuse("staff_kind", "property staff, and only they, have a staff kind")


async def appoint(session: AsyncSession, a: Appointment) -> Position:
    person: Person = await get_row(session, Person, a.person_id, "person", "person_id")
    await _check_place(session, a)
    _check_details(a, person)
    if a.work_unit_id is not None:
        await get_row(session, WorkUnit, a.work_unit_id, "work unit", "work_unit_id")
    same = await session.scalar(
        sa.select(col(Position.id)).where(
            col(Position.person_id) == a.person_id,
            col(Position.role) == a.role,
            col(Position.org_unit_id) == a.org_unit_id
            if a.org_unit_id is not None
            else col(Position.building_id) == a.building_id,
            col(Position.ended_at).is_(None),
        )
    )
    if same:
        raise DomainError(
            PeopleCode.POSITION_CONFLICT, "the person already holds this position", "person_id"
        )
    if a.role == Role.BUILDING_HEAD:
        current = await session.scalar(
            sa.select(col(Position.id)).where(
                col(Position.building_id) == a.building_id,
                col(Position.role) == Role.BUILDING_HEAD,
                col(Position.ended_at).is_(None),
            )
        )
        if current:
            raise DomainError(
                PeopleCode.POSITION_CONFLICT,
                "the building has an active building head; end that position first",
                "building_id",
            )
    position = Position(
        person_id=a.person_id,
        role=a.role,
        org_unit_id=a.org_unit_id,
        building_id=a.building_id,
        selection_method=a.selection_method
        or (SelectionMethod.NOMINATION_AND_ELECTION if a.role == Role.BUILDING_HEAD else None),
        priority_basis=sorted({str(b) for b in a.priority_basis}),
        work_unit_id=a.work_unit_id,
        team=clean_text(a.team, "team") if a.team else None,
        staff_kind=a.staff_kind,
    )
    await flush_or_refuse(
        session,
        adding=position,
        duplicate=DomainError(
            PeopleCode.POSITION_CONFLICT, "the building has an active building head", "building_id"
        ),
    )
    await refresh_path(session, position)
    return position


async def active_grants(session: AsyncSession, person_id: int) -> list[tuple[str, str]]:
    """Every active (role, path) of a person, whoever asks: permission checks need the truth,
    not the caller's view of it."""
    rows = await session.execute(
        sa.select(col(Position.role), col(Position.path)).where(
            col(Position.person_id) == person_id, col(Position.ended_at).is_(None)
        )
    )
    return [(str(role), str(path)) for role, path in rows]


async def end_position(session: AsyncSession, *, position_id: int, reason: str | None) -> Position:
    position: Position = await get_row(session, Position, position_id, "position", "id")
    if position.ended_at is not None:
        raise DomainError(PeopleCode.ALREADY_ENDED, "this position has already ended", "id")
    position.ended_at = max(utcnow(), position.started_at)
    position.end_reason = clean_text(reason, "reason", max_length=200) if reason else None
    await session.flush()
    return position


async def create_pairing(
    session: AsyncSession, *, party_member_id: int, household_id: int
) -> Pairing:
    member: Person = await get_row(session, Person, party_member_id, "person", "party_member_id")
    if not member.is_party_member:
        raise _refuse("party_member_id", "1+N pairs a Party member with households")
    household = await session.get(Household, household_id)
    if household is None:
        raise not_found("household", "household_id")
    pairing = Pairing(party_member_id=party_member_id, household_id=household_id)
    await flush_or_refuse(
        session,
        adding=pairing,
        duplicate=DomainError(PeopleCode.DUPLICATE, "this pairing exists already", "household_id"),
    )
    await refresh_path(session, pairing)
    return pairing


# --- batched reads ------------------------------------------------------------------

PEOPLE = Listing("people", Person)
RESIDENTS_UNDER = Listing("org_unit.residents", Person, Parent(within=OrgUnit))
RESIDENTS_OF_BUILDING = Listing("building.residents", Person, Parent(within=Building))
PARTY_MEMBERS = Listing("party_organisation.members", Person, Parent(column=Person.party_org_id))
POSITIONS = Listing("positions", Position)
POSITIONS_UNDER = Listing("org_unit.positions", Position, Parent(within=OrgUnit))

POSITIONS_OF_PERSON = Children(Position, Position.person_id, NEWEST_POSITIONS_FIRST)
ACTIVE_POSITIONS_OF_PERSON = Children(
    Position, Position.person_id, NEWEST_POSITIONS_FIRST, (col(Position.ended_at).is_(None),)
)
POSITIONS_OF_BUILDING = Children(Position, Position.building_id, NEWEST_POSITIONS_FIRST)
HOUSEHOLD_MEMBERS = Children(Person, Person.household_id, Ordering.of(asc(Person.id)))
HOUSEHOLD_HISTORY = Children(
    HouseholdMembership,
    HouseholdMembership.person_id,
    Ordering.of(desc(HouseholdMembership.started_at), desc(HouseholdMembership.id)),
)
PAIRINGS_OF_MEMBER = Children(
    Pairing,
    Pairing.party_member_id,
    Ordering.of(asc(Pairing.id)),
    (col(Pairing.ended_at).is_(None),),
)


async def building_head(loaders: Loaders, building_id: int) -> Position | None:
    heads = await loaders.children(
        POSITIONS_OF_BUILDING, building_id, PositionFilter(role=Role.BUILDING_HEAD)
    )
    found: Position | None = first_of(heads)
    return found
