"""Business rules of the administrative tree, buildings, households, the Party tree, work units."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
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
from resolvers.errors import DomainError, ErrorCode, not_found
from resolvers.loaders import Loaders, ScopeFn
from resolvers.pagination import Page, PageArgs

# --- reading -------------------------------------------------------------------


class OrgUnitOrder(enum.StrEnum):
    CODE = "CODE"
    NAME = "NAME"


class BuildingOrder(enum.StrEnum):
    NAME = "NAME"
    CREATED = "CREATED"


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
            found.append(OrgUnit.name.contains(self.name_contains, autoescape=True))  # type: ignore[attr-defined]
        if not self.include_retired:
            found.append(OrgUnit.retired_at.is_(None))  # type: ignore[union-attr]
        return found

    def order_by(self) -> list[Any]:
        first = OrgUnit.name if self.order == OrgUnitOrder.NAME else OrgUnit.code
        return [first, OrgUnit.id]


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
            found.append(Building.name.contains(self.name_contains, autoescape=True))  # type: ignore[attr-defined]
        return found

    def order_by(self) -> list[Any]:
        first = Building.name if self.order == BuildingOrder.NAME else Building.created_at
        return [first, Building.id]


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


def clean_text(value: str, field: str, *, max_length: int = 100) -> str:
    value = value.strip()
    if any(ch < " " and ch not in "\n\t" for ch in value):
        raise DomainError(ErrorCode.VALIDATION, f"`{field}` contains control characters", field)
    if not value:
        raise DomainError(ErrorCode.VALIDATION, f"`{field}` must not be blank", field)
    if len(value) > max_length:
        raise DomainError(
            ErrorCode.VALIDATION, f"`{field}` is longer than {max_length} characters", field
        )
    return value


async def get_row(
    session: AsyncSession, model: type[Any], ident: int, what: str, field: str
) -> Any:
    row = await session.get(model, ident)
    if row is None:
        raise not_found(what, field)
    return row


async def get_active_org_unit(session: AsyncSession, ident: int, field: str) -> OrgUnit:
    unit: OrgUnit = await get_row(session, OrgUnit, ident, "org unit", field)
    if unit.retired_at is not None:
        raise DomainError(ErrorCode.RETIRED, "this org unit is retired", field)
    return unit


async def flush_or_refuse(session: AsyncSession, *, duplicate: DomainError) -> None:
    """Flush inside a savepoint so a unique violation refuses cleanly instead of poisoning."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise duplicate from exc


async def refresh_path(session: AsyncSession, row: SQLModel) -> None:
    await session.refresh(row, ["path"])


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
            raise DomainError(ErrorCode.INVALID_PARENT_KIND, "a city has no parent", "parentId")
    else:
        if parent_id is None:
            raise DomainError(
                ErrorCode.INVALID_PARENT_KIND, f"a {kind} needs a parent {expected}", "parentId"
            )
        parent = await get_active_org_unit(session, parent_id, "parentId")
        if parent.kind != expected:
            raise DomainError(
                ErrorCode.INVALID_PARENT_KIND,
                f"the parent of a {kind} must be a {expected}, not a {parent.kind}",
                "parentId",
            )
    if (kind == OrgKind.GRID) != (grid_type is not None):
        raise DomainError(
            ErrorCode.VALIDATION, "a grid needs a grid type, and only a grid has one", "gridType"
        )
    if await session.scalar(sa.select(col(OrgUnit.id)).where(col(OrgUnit.code) == code)):
        raise DomainError(ErrorCode.DUPLICATE_CODE, f"code {code} is taken", "code")
    unit = OrgUnit(kind=kind, name=name, code=code, parent_id=parent_id, grid_type=grid_type)
    session.add(unit)
    await flush_or_refuse(
        session, duplicate=DomainError(ErrorCode.DUPLICATE_CODE, f"code {code} is taken", "code")
    )
    await refresh_path(session, unit)
    return unit


async def rename_org_unit(session: AsyncSession, *, unit_id: int, name: str) -> OrgUnit:
    unit = await get_active_org_unit(session, unit_id, "id")
    unit.name = clean_text(name, "name")
    await session.flush()
    return unit


def path_tables() -> list[sa.Table]:
    """Every table that carries the path of its place: a move re-paths them all."""
    return [t for t in SQLModel.metadata.sorted_tables if "path" in t.c]


async def move_org_unit(session: AsyncSession, *, unit_id: int, new_parent_id: int) -> OrgUnit:
    unit = await get_active_org_unit(session, unit_id, "id")
    parent = await get_active_org_unit(session, new_parent_id, "newParentId")
    expected = PARENT_KIND[unit.kind]
    if parent.kind != expected:
        raise DomainError(
            ErrorCode.INVALID_PARENT_KIND,
            f"a {unit.kind} can only move under a {expected or 'nothing'}",
            "newParentId",
        )
    old_path = unit.path or ""
    if parent.id == unit.parent_id:
        return unit
    new_path = f"{parent.path}.{unit.id}"
    old = sa.func.text2ltree(sa.literal(old_path))
    new = sa.func.text2ltree(sa.literal(new_path))
    for table in path_tables():
        column = table.c.path
        moved = sa.case(
            (column == old, new),
            else_=new.op("||")(sa.func.subpath(column, sa.func.nlevel(old))),
        )
        await session.execute(
            sa.update(table)
            .where(column.op("<@")(old))
            .values(path=moved)
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
        raise DomainError(ErrorCode.VALIDATION, "the city cannot be retired", "id")
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
            ErrorCode.NOT_EMPTY,
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
    grid = await get_active_org_unit(session, grid_id, "gridId")
    if grid.kind != OrgKind.GRID:
        raise DomainError(
            ErrorCode.INVALID_PARENT_KIND,
            f"a building belongs to a GRID, not a {grid.kind}",
            "gridId",
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
    await get_row(session, Building, building_id, "building", "buildingId")
    household = Household(
        building_id=building_id,
        unit=clean_text(unit, "unit", max_length=20),
        room=clean_text(room, "room", max_length=20),
        tenure=tenure,
    )
    session.add(household)
    await flush_or_refuse(
        session,
        duplicate=DomainError(
            ErrorCode.DUPLICATE, "this building already has a household in that room", "room"
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
        raise DomainError(ErrorCode.INVALID_PARENT_KIND, f"a {kind} has no parent", "parentId")
    if expected is not None:
        if parent_id is None:
            raise DomainError(
                ErrorCode.INVALID_PARENT_KIND, f"a {kind} needs a parent {expected}", "parentId"
            )
        parent = await get_row(
            session, PartyOrganisation, parent_id, "Party organisation", "parentId"
        )
        assert parent is not None
        if parent.kind != expected:
            raise DomainError(
                ErrorCode.INVALID_PARENT_KIND,
                f"the parent of a {kind} must be a {expected}",
                "parentId",
            )
    if kind == PartyOrgKind.BUILDING_PARTY_GROUP:
        if building_id is None or org_unit_id is not None:
            raise DomainError(
                ErrorCode.VALIDATION, "a building Party group serves a building", "buildingId"
            )
        building: Building = await get_row(session, Building, building_id, "building", "buildingId")
        place_above: int | None = building.grid_id
        taken = await session.scalar(
            sa.select(col(PartyOrganisation.id)).where(
                col(PartyOrganisation.building_id) == building_id,
                col(PartyOrganisation.kind) == PartyOrgKind.BUILDING_PARTY_GROUP,
            )
        )
        if taken:
            raise DomainError(
                ErrorCode.DUPLICATE, "this building already has a Party group", "buildingId"
            )
    else:
        wanted = OrgKind.COMMUNITY if kind == PartyOrgKind.COMMUNITY_BRANCH else OrgKind.GRID
        if org_unit_id is None or building_id is not None:
            raise DomainError(ErrorCode.VALIDATION, f"a {kind} serves a {wanted}", "orgUnitId")
        unit = await get_active_org_unit(session, org_unit_id, "orgUnitId")
        if unit.kind != wanted:
            raise DomainError(
                ErrorCode.INVALID_PARENT_KIND, f"a {kind} serves a {wanted}", "orgUnitId"
            )
        place_above = unit.parent_id
    if parent is not None and parent.org_unit_id != place_above:
        raise DomainError(
            ErrorCode.INVALID_PARENT_KIND,
            "the parent Party organisation must serve the place directly above",
            "parentId",
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
        session, Household, household_id, "household", "householdId"
    )
    member: Person = await get_row(session, Person, party_member_id, "person", "partyMemberId")
    if not member.is_party_member:
        raise DomainError(
            ErrorCode.VALIDATION, "a central household is led by a Party member", "partyMemberId"
        )
    if member.household_id != household.id:
        raise DomainError(
            ErrorCode.VALIDATION,
            "the Party member must live in the designated household",
            "partyMemberId",
        )
    assert household.id is not None
    assert member.id is not None
    central = CentralHousehold(
        building_id=household.building_id, household_id=household.id, party_member_id=member.id
    )
    session.add(central)
    await flush_or_refuse(
        session,
        duplicate=DomainError(
            ErrorCode.DUPLICATE, "this household is already a central household", "householdId"
        ),
    )
    await refresh_path(session, central)
    return central


async def create_work_unit(session: AsyncSession, *, name: str, kind: WorkUnitKind) -> WorkUnit:
    unit = WorkUnit(name=clean_text(name, "name"), kind=kind)
    session.add(unit)
    await flush_or_refuse(
        session, duplicate=DomainError(ErrorCode.DUPLICATE, "a work unit has this name", "name")
    )
    return unit


async def pair_work_unit(
    session: AsyncSession, *, work_unit_id: int, community_id: int
) -> WorkUnitPairing:
    await get_row(session, WorkUnit, work_unit_id, "work unit", "workUnitId")
    community = await get_active_org_unit(session, community_id, "communityId")
    if community.kind != OrgKind.COMMUNITY:
        raise DomainError(
            ErrorCode.INVALID_PARENT_KIND, "work units pair with communities", "communityId"
        )
    pairing = WorkUnitPairing(work_unit_id=work_unit_id, community_id=community_id)
    session.add(pairing)
    await flush_or_refuse(
        session,
        duplicate=DomainError(
            ErrorCode.DUPLICATE, "this work unit is already paired with it", "communityId"
        ),
    )
    await refresh_path(session, pairing)
    return pairing


# --- batched reads (through the request's loaders) -------------------------------


@functools.cache
def under_org_unit(model: Any, *, strict: bool = False) -> tuple[Any, Any]:
    """Partition rows by the org unit whose subtree holds them (`path <@ unit.path`).

    Built once per table: a resolver runs for every parent, and building the expression
    each time costed more than the SQL itself on a city-sized page.
    """
    unit = sa.orm.aliased(OrgUnit, name="under_unit")
    onclause = model.path.op("<@")(unit.path)
    if strict:
        onclause = sa.and_(onclause, model.id != unit.id)
    return unit.id, lambda: [(unit, onclause)]


@functools.cache
def under_building(model: Any) -> tuple[Any, Any]:
    building = sa.orm.aliased(Building, name="under_building")
    return building.id, lambda: [(building, model.path.op("<@")(building.path))]


async def org_unit_children(
    loaders: Loaders, unit_id: int | None, args: PageArgs, f: OrgUnitFilter
) -> Page[OrgUnit]:
    """Children of a unit, or the top-level list when `unit_id` is None."""
    loader = loaders.pages(
        "org_unit.children" if unit_id is not None else "org_units",
        OrgUnit,
        partition=OrgUnit.parent_id if unit_id is not None else None,
        where=lambda k: k.conditions(),  # type: ignore[attr-defined]
        order_by=lambda k: k.order_by(),  # type: ignore[attr-defined]
    )
    page: Page[OrgUnit] = await loader.load((unit_id, args, f))
    return page


async def org_unit_descendants(
    loaders: Loaders, unit_id: int, args: PageArgs, f: OrgUnitFilter
) -> Page[OrgUnit]:
    partition, joins = under_org_unit(OrgUnit, strict=True)
    loader = loaders.pages(
        "org_unit.descendants",
        OrgUnit,
        partition=partition,
        joins=joins,
        where=lambda k: k.conditions(),  # type: ignore[attr-defined]
        order_by=lambda k: k.order_by(),  # type: ignore[attr-defined]
    )
    page: Page[OrgUnit] = await loader.load((unit_id, args, f))
    return page


async def buildings_under(
    loaders: Loaders, unit_id: int | None, args: PageArgs, f: BuildingFilter
) -> Page[Building]:
    partition, joins = under_org_unit(Building) if unit_id is not None else (None, tuple)
    loader = loaders.pages(
        "org_unit.buildings" if unit_id is not None else "buildings",
        Building,
        partition=partition,
        joins=joins,
        where=lambda k: k.conditions(),  # type: ignore[attr-defined]
        order_by=lambda k: k.order_by(),  # type: ignore[attr-defined]
    )
    page: Page[Building] = await loader.load((unit_id, args, f))
    return page


async def households_of(loaders: Loaders, building_id: int, args: PageArgs) -> Page[Household]:
    loader = loaders.pages(
        "building.households",
        Household,
        partition=Household.building_id,
        order_by=lambda _: (Household.unit, Household.room, Household.id),
    )
    page: Page[Household] = await loader.load((building_id, args, None))
    return page


async def party_organisations_under(
    loaders: Loaders, unit_id: int | None, args: PageArgs, kind: PartyOrgKind | None
) -> Page[PartyOrganisation]:
    partition, joins = under_org_unit(PartyOrganisation) if unit_id is not None else (None, tuple)
    loader = loaders.pages(
        "org_unit.party_organisations" if unit_id is not None else "party_organisations",
        PartyOrganisation,
        partition=partition,
        joins=joins,
        where=lambda k: [col(PartyOrganisation.kind) == k] if k else [],
        order_by=lambda _: (PartyOrganisation.path, PartyOrganisation.id),
    )
    page: Page[PartyOrganisation] = await loader.load((unit_id, args, kind))
    return page


async def stats_of(loaders: Loaders, unit_id: int) -> OrgStats:
    async def batch(ids: list[int]) -> list[OrgStats]:
        return await load_org_stats(loaders, ids)

    result: OrgStats = await loaders.custom("org_unit.stats", batch).load(unit_id)
    return result


async def by_column(
    loaders: Loaders, name: str, model: Any, column: Any, value: int, *conditions: Any
) -> list[Any]:
    """All rows of `model` whose `column` is `value` (a small list), batched across parents."""
    loader = loaders.group(name, model, column, where=lambda _: conditions)
    rows: list[Any] = await loader.load((value, None))
    return rows


async def party_group_of(loaders: Loaders, building_id: int) -> PartyOrganisation | None:
    rows = await by_column(
        loaders,
        "building.party_group",
        PartyOrganisation,
        PartyOrganisation.building_id,
        building_id,
        col(PartyOrganisation.kind) == PartyOrgKind.BUILDING_PARTY_GROUP,
    )
    return rows[0] if rows else None


async def active_central_households(
    loaders: Loaders, column: Any, value: int
) -> list[CentralHousehold]:
    return await by_column(
        loaders,
        f"central_household.{column.key}",
        CentralHousehold,
        column,
        value,
        col(CentralHousehold.ended_at).is_(None),
    )


async def work_unit_pairings(loaders: Loaders, column: Any, value: int) -> list[WorkUnitPairing]:
    return await by_column(
        loaders,
        f"work_unit_pairing.{column.key}",
        WorkUnitPairing,
        column,
        value,
        col(WorkUnitPairing.ended_at).is_(None),
    )


async def work_units_page(
    loaders: Loaders, args: PageArgs, kind: WorkUnitKind | None
) -> Page[WorkUnit]:
    loader = loaders.pages(
        "work_units",
        WorkUnit,
        partition=None,
        where=lambda k: [col(WorkUnit.kind) == k] if k else [],
        order_by=lambda _: (WorkUnit.name, WorkUnit.id),
    )
    page: Page[WorkUnit] = await loader.load((None, args, kind))
    return page


async def org_unit_by_code(loaders: Loaders, code: str) -> OrgUnit | None:
    rows = await by_column(loaders, "org_unit.code", OrgUnit, OrgUnit.code, code)  # type: ignore[arg-type]
    return rows[0] if rows else None
