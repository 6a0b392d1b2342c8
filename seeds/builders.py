"""Async row builders shared by the tests and the demo seed.

Each builder takes an `AsyncSession` (SQLAlchemy's, or SQLModel's subclass),
adds one row, flushes (so the row has its id and the BEFORE INSERT trigger has
filled its ltree `path`) and returns the model object with `path` readable.
The path is derived from the parent's path exactly as the trigger derives it,
which saves a round trip; when the parent's path is unknown the row is
refreshed instead. For many rows at once, build them unsaved with the `new_*`
functions and insert them with `add_all` (one INSERT and one path SELECT per
table): the demo city does so for households, residents and positions.
Builders never commit: the caller owns the transaction, so tests can roll back.

Defaults are deterministic: names and numbers come from a module-level
`random.Random` and unique codes from a module-level counter (`reset()` rewinds
both, e.g. at the start of a test session).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Final, TypedDict, Unpack, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import SQLModel

from models.base import utcnow
from models.crypto import encrypt_id_card, id_card_lookup_hash
from models.org import (
    PARENT_KIND,
    Building,
    CentralHousehold,
    CultureLabel,
    GridType,
    Household,
    OrgKind,
    OrgUnit,
    PartyOrganisation,
    PartyOrgKind,
    Tenure,
    WorkUnit,
    WorkUnitKind,
    WorkUnitPairing,
)
from models.people import (
    Gender,
    Pairing,
    Person,
    Position,
    PriorityBasis,
    Role,
    SelectionMethod,
    StaffKind,
)
from seeds import names

_KIND_LABEL: Final = {
    OrgKind.CITY: "市",
    OrgKind.DISTRICT: "区",
    OrgKind.STREET: "街道",
    OrgKind.COMMUNITY: "社区",
    OrgKind.GRID: "网格",
}
_PARTY_LABEL: Final = {
    PartyOrgKind.COMMUNITY_BRANCH: "社区党支部",
    PartyOrgKind.GRID_PARTY_ORG: "网格党支部",
    PartyOrgKind.BUILDING_PARTY_GROUP: "楼栋党小组",
}


_seq = itertools.count(1)
_rng = random.Random(20240914)


def reset(seed: int = 20240914) -> None:
    """Rewind the default-value generators (codes, names, numbers)."""
    global _seq, _rng  # noqa: PLW0603  (module-level generators are the point)
    _seq = itertools.count(1)
    _rng = random.Random(seed)


def next_number() -> int:
    """A process-unique number for codes, names and room numbers."""
    return next(_seq)


async def _flush(session: AsyncSession, obj: SQLModel) -> None:
    session.add(obj)
    await session.flush()


async def _settle_path(session: AsyncSession, obj: SQLModel, path: str | None) -> None:
    """Make the trigger-filled `path` readable: set it as loaded if known, else reload it."""
    if path is None:
        await session.refresh(obj, ["path"])
    else:
        set_committed_value(obj, "path", path)


async def _add(session: AsyncSession, obj: SQLModel, path: str | None) -> None:
    await _flush(session, obj)
    await _settle_path(session, obj, path)


async def add_all(session: AsyncSession, rows: Sequence[SQLModel]) -> None:
    """Insert rows built by the `new_*` functions in one flush (one multi-row INSERT per
    table), then load their trigger-filled paths with one SELECT per table."""
    session.add_all(rows)
    await session.flush()
    by_model: dict[type[SQLModel], dict[int, SQLModel]] = {}
    for row in rows:
        row_id = getattr(row, "id", None)
        if isinstance(row_id, int) and "path" in type(row).model_fields:
            by_model.setdefault(type(row), {})[row_id] = row
    for model, by_id in by_model.items():
        table = cast("sa.Table", model.__table__)  # type: ignore[attr-defined]
        result = await session.execute(
            sa.select(table.c.id, table.c.path).where(table.c.id.in_(list(by_id)))
        )
        for row_id, path in result:
            set_committed_value(by_id[row_id], "path", path)


def _id(obj: OrgUnit | Building | Household | Person | WorkUnit | PartyOrganisation) -> int:
    """The id of a flushed row (builders always flush, so None means a caller's mistake)."""
    if obj.id is None:
        raise ValueError(f"{type(obj).__name__} has no id yet: flush it first")
    return obj.id


def _child_path(parent_path: str | None, label: str) -> str | None:
    return None if parent_path is None else f"{parent_path}.{label}"


async def org_unit(
    session: AsyncSession,
    kind: OrgKind,
    name: str | None = None,
    *,
    parent: OrgUnit | None = None,
    code: str | None = None,
    grid_type: GridType | None = None,
) -> OrgUnit:
    """A node of the administrative tree; grids default to OLD_ESTATE."""
    n = next_number()
    if PARENT_KIND[kind] is not None and parent is None:
        raise ValueError(f"a {kind} needs a parent of kind {PARENT_KIND[kind]}")
    if kind is OrgKind.GRID and grid_type is None:
        grid_type = GridType.OLD_ESTATE
    unit = OrgUnit(
        kind=kind,
        name=name or f"测试{_KIND_LABEL[kind]}{n}",
        code=code or f"T-{kind.value}-{n:06d}",
        parent_id=parent.id if parent else None,
        grid_type=grid_type,
    )
    await _flush(session, unit)
    path = str(unit.id) if parent is None else _child_path(parent.path, str(unit.id))
    await _settle_path(session, unit, path)
    return unit


async def building(
    session: AsyncSession,
    grid: OrgUnit,
    *,
    name: str | None = None,
    address: str | None = None,
    culture_labels: Iterable[CultureLabel] = (),
    motto: str | None = None,
) -> Building:
    n = next_number()
    name = name or f"{n}栋"
    row = Building(
        grid_id=_id(grid),
        name=name,
        address=address or f"贵州省遵义市{grid.name}{name}",
        culture_labels=[label.value for label in culture_labels],
        motto=motto,
    )
    await _flush(session, row)
    await _settle_path(session, row, _child_path(grid.path, f"b{row.id}"))
    return row


def new_household(
    building: Building,
    *,
    unit: str = "1单元",
    room: str | None = None,
    tenure: Tenure = Tenure.OWNER_OCCUPIED,
) -> Household:
    """An unsaved household, for `add_all` (batched inserts)."""
    return Household(
        building_id=_id(building), unit=unit, room=room or str(next_number()), tenure=tenure
    )


async def household(
    session: AsyncSession,
    building: Building,
    *,
    unit: str = "1单元",
    room: str | None = None,
    tenure: Tenure = Tenure.OWNER_OCCUPIED,
) -> Household:
    row = new_household(building, unit=unit, room=room, tenure=tenure)
    await _flush(session, row)
    await _settle_path(session, row, _child_path(building.path, f"h{row.id}"))
    return row


class PersonFields(TypedDict, total=False):
    """Keyword arguments of `person` / `new_person`; absent means the default."""

    name: str
    gender: Gender
    birth_date: date | None  # absent: generated (an adult)
    phone: str | None  # absent: generated
    id_card: str | None  # plain text; absent: generated to match birth date and gender
    party_org: PartyOrganisation | None
    is_party_member: bool  # absent: whether party_org is set
    is_veteran: bool
    is_elderly: bool  # absent: follows the birth date
    lives_alone: bool
    is_renter: bool  # absent: follows the household's tenure
    health_notes: str | None


def new_person(household: Household | None = None, **fields: Unpack[PersonFields]) -> Person:
    """An unsaved person, for `add_all`; the ID number is stored encrypted plus hashed."""
    gender = fields.get("gender") or (Gender.MALE if _rng.random() < 0.5 else Gender.FEMALE)
    birth_date = (
        fields["birth_date"] if "birth_date" in fields else names.birth_date(_rng, min_age=18)
    )
    phone = fields["phone"] if "phone" in fields else names.mobile(_rng)
    id_card = (
        fields["id_card"]
        if "id_card" in fields
        else names.id_card(_rng, birth_date or date(1970, 1, 1), gender)
    )
    party_org = fields.get("party_org")
    elderly = birth_date is not None and names.age_at(birth_date) >= names.ELDERLY_AGE
    renter = household is not None and household.tenure is Tenure.RENTED
    return Person(
        household_id=_id(household) if household else None,
        party_org_id=party_org.id if party_org else None,
        name=fields.get("name") or names.person_name(_rng, gender),
        gender=gender,
        birth_date=birth_date,
        phone=phone,
        id_card_cipher=encrypt_id_card(id_card) if id_card else None,
        id_card_hash=id_card_lookup_hash(id_card) if id_card else None,
        is_party_member=fields.get("is_party_member", party_org is not None),
        is_veteran=fields.get("is_veteran", False),
        is_elderly=fields.get("is_elderly", elderly),
        lives_alone=fields.get("lives_alone", False),
        is_renter=fields.get("is_renter", renter),
        health_notes=fields.get("health_notes"),
    )


async def person(
    session: AsyncSession, household: Household | None = None, **fields: Unpack[PersonFields]
) -> Person:
    """A person living in `household` (or nowhere: cadres, staff). See `PersonFields`."""
    row = new_person(household, **fields)
    await _flush(session, row)
    if household is None:
        set_committed_value(row, "path", None)
    else:
        await _settle_path(session, row, household.path)
    return row


class PositionFields(TypedDict, total=False):
    """Keyword arguments of `position` / `new_position`: exactly one place is required."""

    org_unit: OrgUnit | None
    building: Building | None
    selection_method: SelectionMethod | None  # building heads: NOMINATION_AND_ELECTION
    priority_basis: Iterable[PriorityBasis]
    work_unit: WorkUnit | None
    team: str | None
    staff_kind: StaffKind | None  # property staff: GUARD
    started_at: datetime  # absent: now
    ended_at: datetime | None
    end_reason: str | None


def new_position(person: Person, role: Role, **fields: Unpack[PositionFields]) -> Position:
    """An unsaved position held at exactly one place (an org unit or a building)."""
    org_unit, building = fields.get("org_unit"), fields.get("building")
    if (org_unit is None) == (building is None):
        raise ValueError("a position is held at exactly one of org_unit or building")
    selection_method = fields.get("selection_method")
    if role is Role.BUILDING_HEAD and selection_method is None:
        selection_method = SelectionMethod.NOMINATION_AND_ELECTION
    staff_kind = fields.get("staff_kind")
    if role is Role.PROPERTY_STAFF and staff_kind is None:
        staff_kind = StaffKind.GUARD
    work_unit = fields.get("work_unit")
    return Position(
        person_id=_id(person),
        role=role,
        org_unit_id=_id(org_unit) if org_unit else None,
        building_id=_id(building) if building else None,
        selection_method=selection_method,
        priority_basis=[basis.value for basis in fields.get("priority_basis", ())],
        work_unit_id=_id(work_unit) if work_unit else None,
        team=fields.get("team"),
        staff_kind=staff_kind,
        started_at=fields.get("started_at") or utcnow(),
        ended_at=fields.get("ended_at"),
        end_reason=fields.get("end_reason"),
    )


async def position(
    session: AsyncSession, person: Person, role: Role, **fields: Unpack[PositionFields]
) -> Position:
    """A role held at one place; see `PositionFields`."""
    row = new_position(person, role, **fields)
    place = fields.get("org_unit") or fields.get("building")
    await _add(session, row, place.path if place else None)
    return row


async def party_organisation(
    session: AsyncSession,
    kind: PartyOrgKind,
    name: str | None = None,
    *,
    parent: PartyOrganisation | None = None,
    org_unit: OrgUnit | None = None,
    building: Building | None = None,
) -> PartyOrganisation:
    """A Party-tree node serving one place (an org unit, or a building for groups)."""
    if (org_unit is None) == (building is None):
        raise ValueError("a Party organisation serves exactly one of org_unit or building")
    place = org_unit or building
    row = PartyOrganisation(
        kind=kind,
        name=name or f"{place.name if place else ''}{_PARTY_LABEL[kind]}",
        parent_id=parent.id if parent else None,
        org_unit_id=org_unit.id if org_unit else None,
        building_id=building.id if building else None,
    )
    await _add(session, row, place.path if place else None)
    return row


def new_central_household(
    household: Household, party_member: Person, *, building: Building | None = None
) -> CentralHousehold:
    """An unsaved 党员中心户; the building defaults to the household's."""
    return CentralHousehold(
        building_id=_id(building) if building else household.building_id,
        household_id=_id(household),
        party_member_id=_id(party_member),
    )


async def central_household(
    session: AsyncSession,
    household: Household,
    party_member: Person,
    *,
    building: Building | None = None,
) -> CentralHousehold:
    """党员中心户: a Party member's household anchoring its building."""
    row = new_central_household(household, party_member, building=building)
    await _add(session, row, household.path)
    return row


async def work_unit(
    session: AsyncSession,
    name: str | None = None,
    *,
    kind: WorkUnitKind = WorkUnitKind.GOVERNMENT_ORGAN,
) -> WorkUnit:
    row = WorkUnit(name=name or f"测试单位{next_number()}", kind=kind)
    await _flush(session, row)
    return row


async def work_unit_pairing(
    session: AsyncSession, work_unit: WorkUnit, community: OrgUnit
) -> WorkUnitPairing:
    """双报到: a work unit paired with a community."""
    row = WorkUnitPairing(work_unit_id=_id(work_unit), community_id=_id(community))
    await _add(session, row, community.path)
    return row


def new_pairing(party_member: Person, household: Household) -> Pairing:
    """An unsaved 1+N pairing."""
    return Pairing(party_member_id=_id(party_member), household_id=_id(household))


async def pairing(session: AsyncSession, party_member: Person, household: Household) -> Pairing:
    """1+N: one household looked after by a Party member."""
    row = new_pairing(party_member, household)
    await _add(session, row, household.path)
    return row
