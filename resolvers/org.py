"""Business rules of the administrative tree, buildings, households, the Party tree, work units."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from models.base import utcnow
from models.org import (
    PARENT_KIND,
    PARTY_PARENT_KIND,
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
from models.people import Person, Position, Role
from resolvers.common import clean_text, first_of, flush_or_refuse, get_row, refresh_path
from resolvers.errors import Common, DomainError
from resolvers.loaders import Children, Loaders, ScopeFn
from resolvers.pagination import Listing, Ordering, Parent, asc


class OrgCode(enum.StrEnum):
    """Codes of the tree, buildings, households, the Party tree and work units."""

    INVALID_PARENT_KIND = "INVALID_PARENT_KIND"
    DUPLICATE_CODE = "DUPLICATE_CODE"
    DUPLICATE = "DUPLICATE"
    NOT_EMPTY = "NOT_EMPTY"
    RETIRED = "RETIRED"
    ALREADY_ENDED = "ALREADY_ENDED"


# --- reading -------------------------------------------------------------------


class OrgUnitOrder(enum.StrEnum):
    CODE = "CODE"
    NAME = "NAME"


class BuildingOrder(enum.StrEnum):
    NAME = "NAME"
    CREATED = "CREATED"


ORG_UNIT_ORDERINGS = {
    OrgUnitOrder.CODE: Ordering.of(asc(OrgUnit.code), asc(OrgUnit.id)),
    OrgUnitOrder.NAME: Ordering.of(asc(OrgUnit.name), asc(OrgUnit.id)),
}
BUILDING_ORDERINGS = {
    BuildingOrder.NAME: Ordering.of(asc(Building.name), asc(Building.id)),
    BuildingOrder.CREATED: Ordering.of(asc(Building.created_at), asc(Building.id)),
}


@dataclass(frozen=True)
class OrgUnitFilter:
    kind: OrgKind | None = None
    grid_type: GridType | None = None
    name_contains: str | None = None
    include_retired: bool = False
    order: OrgUnitOrder = OrgUnitOrder.CODE

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.kind:
            found.append(OrgUnit.kind == self.kind)
        if self.grid_type:
            found.append(OrgUnit.grid_type == self.grid_type)
        if self.name_contains:
            found.append(col(OrgUnit.name).contains(self.name_contains, autoescape=True))
        if not self.include_retired:
            found.append(col(OrgUnit.retired_at).is_(None))
        return found

    def ordering(self) -> Ordering:
        return ORG_UNIT_ORDERINGS[self.order]


@dataclass(frozen=True)
class BuildingFilter:
    culture_labels: tuple[CultureLabel, ...] = ()
    name_contains: str | None = None
    order: BuildingOrder = BuildingOrder.NAME

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.culture_labels:
            found.append(Building.culture_labels.overlap([str(c) for c in self.culture_labels]))  # type: ignore[attr-defined]
        if self.name_contains:
            found.append(col(Building.name).contains(self.name_contains, autoescape=True))
        return found

    def ordering(self) -> Ordering:
        return BUILDING_ORDERINGS[self.order]


def ancestor_ids(path: str) -> list[int]:
    """Ids of the org units above a node, root first (its path minus its own label)."""
    return [int(label) for label in path.split(".")[:-1] if label.isdigit()]


@dataclass(frozen=True)
class OrgStats:
    grids: int
    buildings: int
    households: int
    residents: int
    party_members: int
    building_heads: int
    party_groups: int
    central_households: int
    seconded_cadres: int
    registered_party_members: int
    paired_work_units: int


def org_stats_statement(ids: list[int], scope: ScopeFn) -> sa.Select[Any]:
    """Counts a dashboard needs for each org unit's subtree, for many units in one statement.

    Each count is limited to the rows the caller may see (`scope`), like every list.
    """
    node = sa.orm.aliased(OrgUnit, name="node")

    def _count_under(model: Any, node: Any, *conditions: Any, distinct: Any = None) -> Any:
        counted = sa.func.count(sa.distinct(distinct)) if distinct is not None else sa.func.count()
        under_node = model.path.op("<@")(node.path)
        return sa.select(counted).where(under_node, *conditions, *scope(model)).scalar_subquery()

    active = col(Position.ended_at).is_(None)
    return sa.select(
        col(node.id),
        _count_under(
            OrgUnit, node, col(OrgUnit.kind) == OrgKind.GRID, col(OrgUnit.retired_at).is_(None)
        ),
        _count_under(Building, node),
        _count_under(Household, node),
        _count_under(Person, node),
        _count_under(Person, node, Person.is_party_member),
        _count_under(
            Position,
            node,
            col(Position.role) == Role.BUILDING_HEAD,
            active,
            distinct=Position.person_id,
        ),
        _count_under(
            PartyOrganisation,
            node,
            col(PartyOrganisation.kind) == PartyOrgKind.BUILDING_PARTY_GROUP,
        ),
        _count_under(CentralHousehold, node, col(CentralHousehold.ended_at).is_(None)),
        _count_under(
            Position,
            node,
            col(Position.role) == Role.SECONDED_CADRE,
            active,
            distinct=Position.person_id,
        ),
        _count_under(
            Position,
            node,
            col(Position.role) == Role.REGISTERED_PARTY_MEMBER,
            active,
            distinct=Position.person_id,
        ),
        _count_under(
            WorkUnitPairing,
            node,
            col(WorkUnitPairing.ended_at).is_(None),
            distinct=WorkUnitPairing.work_unit_id,
        ),
    ).where(col(node.id).in_(ids))


async def load_org_stats(loaders: Loaders, ids: list[int]) -> list[OrgStats]:
    statement = org_stats_statement(ids, loaders.count_scope)
    rows = {row[0]: OrgStats(*row[1:]) for row in await loaders.fetch(statement)}
    return [rows[i] for i in ids]


# --- writing -------------------------------------------------------------------


async def get_active_org_unit(session: AsyncSession, ident: int, field: str) -> OrgUnit:
    unit = await get_row(session, OrgUnit, ident, "org unit", field)
    if unit.retired_at is not None:
        raise DomainError(OrgCode.RETIRED, "this org unit is retired", field)
    return unit


async def create_org_unit(
    session: AsyncSession,
    *,
    kind: OrgKind,
    name: str,
    code: str,
    parent_id: int | None,
    grid_type: GridType | None,
) -> OrgUnit:
    name = clean_text(name, "name")
    code = clean_text(code, "code", max_length=40)
    expected = PARENT_KIND[kind]
    parent = None
    if expected is None:
        if parent_id is not None:
            raise DomainError(OrgCode.INVALID_PARENT_KIND, "a city has no parent", "parent_id")
    else:
        if parent_id is None:
            raise DomainError(
                OrgCode.INVALID_PARENT_KIND, f"a {kind} needs a parent {expected}", "parent_id"
            )
        parent = await get_active_org_unit(session, parent_id, "parent_id")
        if parent.kind != expected:
            raise DomainError(
                OrgCode.INVALID_PARENT_KIND,
                f"the parent of a {kind} must be a {expected}, not a {parent.kind}",
                "parent_id",
            )
    if (kind == OrgKind.GRID) != (grid_type is not None):
        raise DomainError(
            Common.VALIDATION, "a grid needs a grid type, and only a grid has one", "grid_type"
        )
    if await session.scalar(sa.select(col(OrgUnit.id)).where(col(OrgUnit.code) == code)):
        raise DomainError(OrgCode.DUPLICATE_CODE, f"code {code} is taken", "code")
    unit = OrgUnit(kind=kind, name=name, code=code, parent_id=parent_id, grid_type=grid_type)
    await flush_or_refuse(
        session,
        adding=unit,
        duplicate=DomainError(OrgCode.DUPLICATE_CODE, f"code {code} is taken", "code"),
    )
    await refresh_path(session, unit)
    return unit


async def rename_org_unit(session: AsyncSession, *, unit_id: int, name: str) -> OrgUnit:
    unit = await get_active_org_unit(session, unit_id, "id")
    unit.name = clean_text(name, "name")
    await session.flush()
    return unit


#: Columns holding the path of a place or node: a move re-paths each where it lies under
#: the moved unit (`path` first: a petition's owner follows its place by trigger).
PATH_COLUMNS = ("path", "owner_path")


def path_tables() -> list[sa.Table]:
    """Every table that carries the path of its place: a move re-paths them all."""
    return [t for t in SQLModel.metadata.sorted_tables if "path" in t.c]


async def move_org_unit(session: AsyncSession, *, unit_id: int, new_parent_id: int) -> OrgUnit:
    unit = await get_active_org_unit(session, unit_id, "id")
    parent = await get_active_org_unit(session, new_parent_id, "new_parent_id")
    expected = PARENT_KIND[unit.kind]
    if parent.kind != expected:
        raise DomainError(
            OrgCode.INVALID_PARENT_KIND,
            f"a {unit.kind} can only move under a {expected or 'nothing'}",
            "new_parent_id",
        )
    old_path = unit.path or ""
    if parent.id == unit.parent_id:
        return unit
    new_path = f"{parent.path}.{unit.id}"
    old = sa.func.text2ltree(sa.literal(old_path))
    new = sa.func.text2ltree(sa.literal(new_path))
    for table in path_tables():
        for name in PATH_COLUMNS:
            column = table.c.get(name)
            if column is None:
                continue
            moved = sa.case(
                (column == old, new),
                else_=new.op("||")(sa.func.subpath(column, sa.func.nlevel(old))),
            )
            await session.execute(
                sa.update(table)
                .where(column.op("<@")(old))
                .values({name: moved})
                .execution_options(synchronize_session=False)
            )
    unit.parent_id = parent.id
    await session.flush()
    # Rows already loaded in this session (by loaders, permission checks) hold old paths.
    for loaded in list(session.identity_map.values()):
        if "path" in sa.inspect(loaded).mapper.columns:
            await session.refresh(loaded, ["path"])
    return unit


async def retire_org_unit(session: AsyncSession, *, unit_id: int) -> OrgUnit:
    unit = await get_active_org_unit(session, unit_id, "id")
    if unit.kind == OrgKind.CITY:
        raise DomainError(Common.VALIDATION, "the city cannot be retired", "id")
    has_children = await session.scalar(
        sa.select(sa.func.count())
        .select_from(OrgUnit)
        .where(col(OrgUnit.parent_id) == unit.id, col(OrgUnit.retired_at).is_(None))
    )
    has_buildings = await session.scalar(
        sa.select(sa.func.count()).select_from(Building).where(col(Building.grid_id) == unit.id)
    )
    if has_children or has_buildings:
        raise DomainError(
            OrgCode.NOT_EMPTY,
            "move or retire its child units and buildings before retiring this unit",
            "id",
        )
    now = utcnow()
    unit.retired_at = now
    await session.execute(
        sa.update(Position)
        .where(col(Position.org_unit_id) == unit.id, col(Position.ended_at).is_(None))
        .values(ended_at=now, end_reason="org unit retired")
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return unit


async def create_building(
    session: AsyncSession,
    *,
    grid_id: int,
    name: str,
    address: str,
    culture_labels: list[CultureLabel],
    motto: str | None,
) -> Building:
    grid = await get_active_org_unit(session, grid_id, "grid_id")
    if grid.kind != OrgKind.GRID:
        raise DomainError(
            OrgCode.INVALID_PARENT_KIND,
            f"a building belongs to a GRID, not a {grid.kind}",
            "grid_id",
        )
    building = Building(
        grid_id=grid_id,
        name=clean_text(name, "name"),
        address=clean_text(address, "address", max_length=200),
        culture_labels=sorted({str(c) for c in culture_labels}),
        motto=clean_text(motto, "motto", max_length=200) if motto else None,
    )
    session.add(building)
    await session.flush()
    await refresh_path(session, building)
    return building


async def update_building_culture(
    session: AsyncSession,
    *,
    building_id: int,
    culture_labels: list[CultureLabel],
    motto: str | None,
) -> Building:
    building: Building = await get_row(session, Building, building_id, "building", "id")
    building.culture_labels = sorted({str(c) for c in culture_labels})
    building.motto = clean_text(motto, "motto", max_length=200) if motto else None
    await session.flush()
    return building


async def create_household(
    session: AsyncSession, *, building_id: int, unit: str, room: str, tenure: Tenure
) -> Household:
    await get_row(session, Building, building_id, "building", "building_id")
    household = Household(
        building_id=building_id,
        unit=clean_text(unit, "unit", max_length=20),
        room=clean_text(room, "room", max_length=20),
        tenure=tenure,
    )
    await flush_or_refuse(
        session,
        adding=household,
        duplicate=DomainError(
            OrgCode.DUPLICATE, "this building already has a household in that room", "room"
        ),
    )
    await refresh_path(session, household)
    return household


async def create_party_organisation(
    session: AsyncSession,
    *,
    kind: PartyOrgKind,
    name: str,
    parent_id: int | None,
    org_unit_id: int | None,
    building_id: int | None,
) -> PartyOrganisation:
    expected = PARTY_PARENT_KIND[kind]
    parent: PartyOrganisation | None = None
    if expected is None and parent_id is not None:
        raise DomainError(OrgCode.INVALID_PARENT_KIND, f"a {kind} has no parent", "parent_id")
    if expected is not None:
        if parent_id is None:
            raise DomainError(
                OrgCode.INVALID_PARENT_KIND, f"a {kind} needs a parent {expected}", "parent_id"
            )
        parent = await get_row(
            session, PartyOrganisation, parent_id, "Party organisation", "parent_id"
        )
        assert parent is not None
        if parent.kind != expected:
            raise DomainError(
                OrgCode.INVALID_PARENT_KIND,
                f"the parent of a {kind} must be a {expected}",
                "parent_id",
            )
    if kind == PartyOrgKind.BUILDING_PARTY_GROUP:
        if building_id is None or org_unit_id is not None:
            raise DomainError(
                Common.VALIDATION, "a building Party group serves a building", "building_id"
            )
        building: Building = await get_row(
            session, Building, building_id, "building", "building_id"
        )
        place_above: int | None = building.grid_id
        taken = await session.scalar(
            sa.select(col(PartyOrganisation.id)).where(
                col(PartyOrganisation.building_id) == building_id,
                col(PartyOrganisation.kind) == PartyOrgKind.BUILDING_PARTY_GROUP,
            )
        )
        if taken:
            raise DomainError(
                OrgCode.DUPLICATE, "this building already has a Party group", "building_id"
            )
    else:
        wanted = OrgKind.COMMUNITY if kind == PartyOrgKind.COMMUNITY_BRANCH else OrgKind.GRID
        if org_unit_id is None or building_id is not None:
            raise DomainError(Common.VALIDATION, f"a {kind} serves a {wanted}", "org_unit_id")
        unit = await get_active_org_unit(session, org_unit_id, "org_unit_id")
        if unit.kind != wanted:
            raise DomainError(
                OrgCode.INVALID_PARENT_KIND, f"a {kind} serves a {wanted}", "org_unit_id"
            )
        place_above = unit.parent_id
    if parent is not None and parent.org_unit_id != place_above:
        raise DomainError(
            OrgCode.INVALID_PARENT_KIND,
            "the parent Party organisation must serve the place directly above",
            "parent_id",
        )
    party_org = PartyOrganisation(
        kind=kind,
        name=clean_text(name, "name"),
        parent_id=parent_id,
        org_unit_id=org_unit_id,
        building_id=building_id,
    )
    session.add(party_org)
    await session.flush()
    await refresh_path(session, party_org)
    return party_org


async def designate_central_household(
    session: AsyncSession, *, household_id: int, party_member_id: int
) -> CentralHousehold:
    household: Household = await get_row(
        session, Household, household_id, "household", "household_id"
    )
    member: Person = await get_row(session, Person, party_member_id, "person", "party_member_id")
    if not member.is_party_member:
        raise DomainError(
            Common.VALIDATION, "a central household is led by a Party member", "party_member_id"
        )
    if member.household_id != household.id:
        raise DomainError(
            Common.VALIDATION,
            "the Party member must live in the designated household",
            "party_member_id",
        )
    assert household.id is not None
    assert member.id is not None
    central = CentralHousehold(
        building_id=household.building_id, household_id=household.id, party_member_id=member.id
    )
    await flush_or_refuse(
        session,
        adding=central,
        duplicate=DomainError(
            OrgCode.DUPLICATE, "this household is already a central household", "household_id"
        ),
    )
    await refresh_path(session, central)
    return central


async def create_work_unit(session: AsyncSession, *, name: str, kind: WorkUnitKind) -> WorkUnit:
    unit = WorkUnit(name=clean_text(name, "name"), kind=kind)
    await flush_or_refuse(
        session,
        adding=unit,
        duplicate=DomainError(OrgCode.DUPLICATE, "a work unit has this name", "name"),
    )
    return unit


async def pair_work_unit(
    session: AsyncSession, *, work_unit_id: int, community_id: int
) -> WorkUnitPairing:
    await get_row(session, WorkUnit, work_unit_id, "work unit", "work_unit_id")
    community = await get_active_org_unit(session, community_id, "community_id")
    if community.kind != OrgKind.COMMUNITY:
        raise DomainError(
            OrgCode.INVALID_PARENT_KIND, "work units pair with communities", "community_id"
        )
    pairing = WorkUnitPairing(work_unit_id=work_unit_id, community_id=community_id)
    await flush_or_refuse(
        session,
        adding=pairing,
        duplicate=DomainError(
            OrgCode.DUPLICATE, "this work unit is already paired with it", "community_id"
        ),
    )
    await refresh_path(session, pairing)
    return pairing


async def end_central_household(session: AsyncSession, *, central_id: int) -> CentralHousehold:
    """End a 党员中心户 designation; it stays in the history."""
    central: CentralHousehold = await get_row(
        session, CentralHousehold, central_id, "central household", "id"
    )
    if central.ended_at is not None:
        raise DomainError(OrgCode.ALREADY_ENDED, "this designation has already ended", "id")
    central.ended_at = max(utcnow(), central.designated_at)
    await session.flush()
    return central


async def end_work_unit_pairing(session: AsyncSession, *, pairing_id: int) -> WorkUnitPairing:
    """End a 双报到 pairing of a work unit with a community; it stays in the history."""
    pairing: WorkUnitPairing = await get_row(
        session, WorkUnitPairing, pairing_id, "work unit pairing", "id"
    )
    if pairing.ended_at is not None:
        raise DomainError(OrgCode.ALREADY_ENDED, "this pairing has already ended", "id")
    pairing.ended_at = max(utcnow(), pairing.started_at)
    await session.flush()
    return pairing


# --- batched reads (through the request's loaders) -------------------------------

ORG_UNITS = Listing("org_units", OrgUnit)
CHILDREN = Listing("org_unit.children", OrgUnit, Parent(column=OrgUnit.parent_id))
DESCENDANTS = Listing("org_unit.descendants", OrgUnit, Parent(within=OrgUnit, strict=True))
BUILDINGS = Listing("buildings", Building)
BUILDINGS_UNDER = Listing("org_unit.buildings", Building, Parent(within=OrgUnit))
HOUSEHOLDS = Listing("building.households", Household, Parent(column=Household.building_id))
PARTY_ORGANISATIONS = Listing("party_organisations", PartyOrganisation)
PARTY_ORGANISATIONS_UNDER = Listing(
    "org_unit.party_organisations", PartyOrganisation, Parent(within=OrgUnit)
)
WORK_UNITS = Listing("work_units", WorkUnit)

PARTY_GROUP = Children(
    PartyOrganisation,
    PartyOrganisation.building_id,
    Ordering.of(asc(PartyOrganisation.id)),
    (col(PartyOrganisation.kind) == PartyOrgKind.BUILDING_PARTY_GROUP,),
)
CENTRAL_HOUSEHOLDS_OF_BUILDING = Children(
    CentralHousehold,
    CentralHousehold.building_id,
    Ordering.of(asc(CentralHousehold.id)),
    (col(CentralHousehold.ended_at).is_(None),),
)
CENTRAL_HOUSEHOLD_OF_HOUSEHOLD = Children(
    CentralHousehold,
    CentralHousehold.household_id,
    Ordering.of(asc(CentralHousehold.id)),
    (col(CentralHousehold.ended_at).is_(None),),
)
WORK_UNIT_PAIRINGS = Children(
    WorkUnitPairing,
    WorkUnitPairing.community_id,
    Ordering.of(asc(WorkUnitPairing.id)),
    (col(WorkUnitPairing.ended_at).is_(None),),
)
PARTY_ORGANISATION_CHILDREN = Children(
    PartyOrganisation, PartyOrganisation.parent_id, Ordering.of(asc(PartyOrganisation.id))
)
PAIRINGS_OF_WORK_UNIT = Children(
    WorkUnitPairing,
    WorkUnitPairing.work_unit_id,
    Ordering.of(asc(WorkUnitPairing.id)),
    (col(WorkUnitPairing.ended_at).is_(None),),
)
ORG_UNIT_BY_CODE = Children(OrgUnit, OrgUnit.code, Ordering.of(asc(OrgUnit.id)))


@dataclass(frozen=True)
class Fixed:
    """The one ordering of a list without arguments."""

    order: Ordering

    def conditions(self) -> list[Any]:
        return []

    def ordering(self) -> Ordering:
        return self.order


HOUSEHOLD_ORDER = Fixed(Ordering.of(asc(Household.unit), asc(Household.room), asc(Household.id)))
PARTY_ORGANISATION_ORDER = Ordering.of(asc(PartyOrganisation.path), asc(PartyOrganisation.id))
WORK_UNIT_ORDER = Ordering.of(asc(WorkUnit.name), asc(WorkUnit.id))


@dataclass(frozen=True)
class PartyOrganisationFilter:
    kind: PartyOrgKind | None = None

    def conditions(self) -> list[Any]:
        return [col(PartyOrganisation.kind) == self.kind] if self.kind else []

    def ordering(self) -> Ordering:
        return PARTY_ORGANISATION_ORDER


@dataclass(frozen=True)
class WorkUnitFilter:
    kind: WorkUnitKind | None = None

    def conditions(self) -> list[Any]:
        return [col(WorkUnit.kind) == self.kind] if self.kind else []

    def ordering(self) -> Ordering:
        return WORK_UNIT_ORDER


async def stats_of(loaders: Loaders, unit_id: int) -> OrgStats:
    async def batch(ids: list[int]) -> list[OrgStats]:
        return await load_org_stats(loaders, ids)

    return await loaders.batch("stats", OrgStats, batch).load(unit_id)


async def party_group_of(loaders: Loaders, building_id: int) -> PartyOrganisation | None:
    found: PartyOrganisation | None = first_of(await loaders.children(PARTY_GROUP, building_id))
    return found


async def org_unit_by_code(loaders: Loaders, code: str) -> OrgUnit | None:
    found: OrgUnit | None = first_of(await loaders.children(ORG_UNIT_BY_CODE, code))
    return found
