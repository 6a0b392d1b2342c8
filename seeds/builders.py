"""Async row builders shared by the tests and the demo seed.

Each builder takes an `AsyncSession` (SQLAlchemy's, or SQLModel's subclass),
adds one row, flushes (so the row has its id and the BEFORE INSERT trigger has
filled its ltree `path`) and returns the model object with `path` readable.
The path is derived from the parent's path exactly as the trigger derives it,
which saves a round trip; when the parent's path is unknown the row is
refreshed instead. Builders never commit: the caller owns the transaction,
so tests can roll back.

Defaults are deterministic: names and numbers come from a module-level
`random.Random` and unique codes from a module-level counter (`reset()` rewinds
both, e.g. at the start of a test session).
"""

from __future__ import annotations

import enum
import itertools
import random
from collections.abc import Iterable
from datetime import date, datetime
from typing import Final, Literal

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


class _Auto(enum.Enum):
    AUTO = "AUTO"


#: "Generate a value": distinguishes the default from an explicit None (= no value).
AUTO: Final = _Auto.AUTO

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


def _id(obj: OrgUnit | Building | Household | Person | WorkUnit) -> int:
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


async def household(
    session: AsyncSession,
    building: Building,
    *,
    unit: str = "1单元",
    room: str | None = None,
    tenure: Tenure = Tenure.OWNER_OCCUPIED,
) -> Household:
    row = Household(
        building_id=_id(building), unit=unit, room=room or str(next_number()), tenure=tenure
    )
    await _flush(session, row)
    await _settle_path(session, row, _child_path(building.path, f"h{row.id}"))
    return row


async def person(
    session: AsyncSession,
    household: Household | None = None,
    *,
    name: str | None = None,
    gender: Gender | None = None,
    birth_date: date | Literal[_Auto.AUTO] | None = AUTO,
    phone: str | Literal[_Auto.AUTO] | None = AUTO,
    id_card: str | Literal[_Auto.AUTO] | None = AUTO,
    party_org: PartyOrganisation | None = None,
    is_party_member: bool | None = None,
    is_veteran: bool = False,
    is_elderly: bool | None = None,
    lives_alone: bool = False,
    is_renter: bool | None = None,
    health_notes: str | None = None,
) -> Person:
    """A person; the ID number is given in plain text and stored encrypted plus hashed.

    AUTO generates a value, None stores none. `is_elderly` follows the birth date,
    `is_renter` the household's tenure, `is_party_member` whether `party_org` is set,
    unless given.
    """
    gender = gender or (Gender.MALE if _rng.random() < 0.5 else Gender.FEMALE)
    if birth_date is AUTO:
        birth_date = names.birth_date(_rng, min_age=18)
    if phone is AUTO:
        phone = names.mobile(_rng)
    if id_card is AUTO:
        id_card = names.id_card(_rng, birth_date or date(1970, 1, 1), gender)
    if is_elderly is None:
        is_elderly = birth_date is not None and names.age_at(birth_date) >= names.ELDERLY_AGE
    if is_renter is None:
        is_renter = household is not None and household.tenure is Tenure.RENTED
    row = Person(
        household_id=household.id if household else None,
        party_org_id=party_org.id if party_org else None,
        name=name or names.person_name(_rng, gender),
        gender=gender,
        birth_date=birth_date,
        phone=phone,
        id_card_cipher=encrypt_id_card(id_card) if id_card else None,
        id_card_hash=id_card_lookup_hash(id_card) if id_card else None,
        is_party_member=party_org is not None if is_party_member is None else is_party_member,
        is_veteran=is_veteran,
        is_elderly=is_elderly,
        lives_alone=lives_alone,
        is_renter=is_renter,
        health_notes=health_notes,
    )
    await _flush(session, row)
    if household is None:
        set_committed_value(row, "path", None)
    else:
        await _settle_path(session, row, household.path)
    return row


async def position(
    session: AsyncSession,
    person: Person,
    role: Role,
    *,
    org_unit: OrgUnit | None = None,
    building: Building | None = None,
    selection_method: SelectionMethod | None = None,
    priority_basis: Iterable[PriorityBasis] = (),
    work_unit: WorkUnit | None = None,
    team: str | None = None,
    staff_kind: StaffKind | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    end_reason: str | None = None,
) -> Position:
    """A role held at exactly one place (an org unit or a building).

    Building heads default to nomination plus election; property staff to GUARD.
    """
    if (org_unit is None) == (building is None):
        raise ValueError("a position is held at exactly one of org_unit or building")
    if role is Role.BUILDING_HEAD and selection_method is None:
        selection_method = SelectionMethod.NOMINATION_AND_ELECTION
    if role is Role.PROPERTY_STAFF and staff_kind is None:
        staff_kind = StaffKind.GUARD
    row = Position(
        person_id=_id(person),
        role=role,
        org_unit_id=org_unit.id if org_unit else None,
        building_id=building.id if building else None,
        selection_method=selection_method,
        priority_basis=[basis.value for basis in priority_basis],
        work_unit_id=work_unit.id if work_unit else None,
        team=team,
        staff_kind=staff_kind,
        started_at=started_at or utcnow(),
        ended_at=ended_at,
        end_reason=end_reason,
    )
    place = org_unit or building
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


async def central_household(
    session: AsyncSession,
    household: Household,
    party_member: Person,
    *,
    building: Building | None = None,
) -> CentralHousehold:
    """党员中心户; the building defaults to the household's."""
    row = CentralHousehold(
        building_id=_id(building) if building else household.building_id,
        household_id=_id(household),
        party_member_id=_id(party_member),
    )
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


async def pairing(session: AsyncSession, party_member: Person, household: Household) -> Pairing:
    """1+N: one household looked after by a Party member."""
    row = Pairing(party_member_id=_id(party_member), household_id=_id(household))
    await _add(session, row, household.path)
    return row
