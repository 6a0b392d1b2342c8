"""GraphQL types, queries and mutations of the administrative tree, buildings and households,
the Party tree and work units."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from models import org as m
from models.people import Person as PersonRow
from models.people import Position as PositionRow
from models.people import Role
from permissions.aggregates import (
    PERSONAL_STATS,
    STAT_KINDS,
    STATS_LINES,
    Tree,
    display_root,
    displayed,
    for_display,
    withheld_by_unit,
)
from resolvers import aggregates as ra
from resolvers import org as r
from resolvers import people as rp
from resolvers.errors import DomainError, ErrorCode
from schema import enums  # noqa: F401  (registers GraphQL enums)
from schema.common import mutate, optional_id, page_args, require
from schema.context import Info
from schema.errors import UserError
from schema.policy import guard
from schema.relay import Connection, Node, connection, expect_id, to_global_id

if TYPE_CHECKING:
    from schema.people import (
        PersonFilterInput,
        PersonNode,
        PositionNode,
    )

People = Annotated["PersonNode", strawberry.lazy("schema.people")]
PersonFilterArg = Annotated["PersonFilterInput", strawberry.lazy("schema.people")]
Positions = Annotated["PositionNode", strawberry.lazy("schema.people")]


def _person(row: PersonRow) -> PersonNode:
    from schema.people import PersonNode

    return PersonNode.from_row(row)


def _maybe_person(row: PersonRow | None) -> PersonNode | None:
    return _person(row) if row else None


def _people_filter(
    info: Info, f: PersonFilterInput | None, order: rp.PersonOrder | None, *, residents: bool
) -> rp.PersonFilter:
    from schema.people import person_filter

    return person_filter(info, f, order, residents=residents)


@strawberry.type(
    name="OrgStats",
    description="Counts over a subtree, of the rows you may see; null when withheld "
    "from a display because the cell is smaller than the disclosure threshold.",
)
class OrgStatsType:
    grids: int | None
    buildings: int | None
    households: int | None
    residents: int | None
    party_members: int | None
    building_heads: int | None
    party_groups: int | None = strawberry.field(description="楼栋党小组")
    central_households: int | None = strawberry.field(description="党员中心户")
    seconded_cadres: int | None = strawberry.field(description="下沉干部")
    registered_party_members: int | None = strawberry.field(description="在职党员报到")
    paired_work_units: int | None = strawberry.field(description="双报到 work units")


async def _withheld_stats(info: Info, unit_id: int) -> frozenset[str]:
    """The personal dashboard counts of a unit a display may not see (complements included),
    decided for every unit of the request in one table per display node."""
    loaders = info.context.loaders
    actor = info.context.actor

    async def batch(ids: list[int]) -> list[frozenset[str]]:
        units = [u for u in await loaders.get_many(m.OrgUnit, ids) if u is not None]
        by_root: dict[str, list[m.OrgUnit]] = {}
        for unit in units:
            root = display_root(actor, unit.path or "")
            if root is not None:
                by_root.setdefault(root, []).append(unit)
        decided: dict[int, frozenset[str]] = {}
        for root, grouped in by_root.items():
            table = await ra.stats_table(loaders, root, grouped, PERSONAL_STATS)
            decided |= withheld_by_unit(
                table.values,
                Tree(table.org.root, table.org.children),
                PERSONAL_STATS,
                table.cells,
                STATS_LINES,
            )
        return [decided.get(i, frozenset(PERSONAL_STATS)) for i in ids]

    found: frozenset[str] = await loaders.custom("org_unit.withheld_stats", batch).load(unit_id)
    return found


@strawberry.type(name="OrgUnit", description="A node of the administrative tree: city to grid.")
class OrgUnitNode(Node):
    db_id: strawberry.Private[int]
    path: strawberry.Private[str]
    kind: m.OrgKind
    name: str
    code: str
    grid_type: m.GridType | None
    retired_at: datetime | None
    created_at: datetime
    parent_db_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: m.OrgUnit) -> OrgUnitNode:
        assert row.id is not None
        return cls(
            id=to_global_id("OrgUnit", row.id),
            db_id=row.id,
            path=row.path or "",
            kind=row.kind,
            name=row.name,
            code=row.code,
            grid_type=row.grid_type,
            retired_at=row.retired_at,
            created_at=row.created_at,
            parent_db_id=row.parent_id,
        )

    @strawberry.field(description="Depth in the tree: 1 for the city, 5 for a grid.")
    def level(self) -> int:
        return self.path.count(".") + 1

    @strawberry.field
    async def parent(self, info: Info) -> OrgUnitNode | None:
        row = await info.context.loaders.get(m.OrgUnit, self.parent_db_id)
        return OrgUnitNode.from_row(row) if row else None

    @strawberry.field(description="From the city down to the parent.")
    async def ancestors(self, info: Info) -> list[OrgUnitNode]:
        rows = await info.context.loaders.get_many(m.OrgUnit, r.ancestor_ids(self.path))
        return [OrgUnitNode.from_row(row) for row in rows if row]

    @strawberry.field
    async def children(
        self,
        info: Info,
        kind: m.OrgKind | None = None,
        grid_type: m.GridType | None = None,
        name_contains: str | None = None,
        include_retired: bool = False,
        order_by: r.OrgUnitOrder = r.OrgUnitOrder.CODE,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[OrgUnitNode]:
        f = r.OrgUnitFilter(kind, grid_type, name_contains, include_retired, order_by)
        page = await r.org_unit_children(
            info.context.loaders, self.db_id, page_args(first, after, last, before), f
        )
        return connection(page, OrgUnitNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field(description="Every unit below this one, filtered by kind or grid type.")
    async def descendants(
        self,
        info: Info,
        kind: m.OrgKind | None = None,
        grid_type: m.GridType | None = None,
        name_contains: str | None = None,
        include_retired: bool = False,
        order_by: r.OrgUnitOrder = r.OrgUnitOrder.CODE,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[OrgUnitNode]:
        f = r.OrgUnitFilter(kind, grid_type, name_contains, include_retired, order_by)
        page = await r.org_unit_descendants(
            info.context.loaders, self.db_id, page_args(first, after, last, before), f
        )
        return connection(page, OrgUnitNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field(description="Buildings anywhere in this subtree.")
    async def buildings(
        self,
        info: Info,
        culture_labels: list[m.CultureLabel] | None = None,
        name_contains: str | None = None,
        order_by: r.BuildingOrder = r.BuildingOrder.NAME,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[BuildingNode]:
        f = r.BuildingFilter(tuple(culture_labels or ()), name_contains, order_by)
        page = await r.buildings_under(
            info.context.loaders, self.db_id, page_args(first, after, last, before), f
        )
        return connection(page, BuildingNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field(description="People living anywhere in this subtree.")
    async def residents(
        self,
        info: Info,
        filter: PersonFilterArg | None = None,
        order_by: rp.PersonOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[People]:
        page = await rp.people_under(
            info.context.loaders,
            "org_unit",
            self.db_id,
            page_args(first, after, last, before),
            _people_filter(info, filter, order_by, residents=True),
        )
        return connection(page, _person)  # type: ignore[no-any-return]

    @strawberry.field(description="Positions held at this unit or anywhere below it.")
    async def positions(
        self,
        info: Info,
        role: Role | None = None,
        active_only: bool = True,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Positions]:
        from schema.people import PositionNode

        page = await rp.positions_under(
            info.context.loaders,
            self.db_id,
            page_args(first, after, last, before),
            rp.PositionFilter(role, active_only),
        )
        return connection(page, PositionNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field(description="Party organisations serving places in this subtree.")
    async def party_organisations(
        self,
        info: Info,
        kind: m.PartyOrgKind | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PartyOrganisationNode]:
        page = await r.party_organisations_under(
            info.context.loaders, self.db_id, page_args(first, after, last, before), kind
        )
        return connection(page, PartyOrganisationNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field(description="双报到: work units paired with this community.")
    async def paired_work_units(self, info: Info) -> list[WorkUnitPairingNode]:
        rows = await r.work_unit_pairings(
            info.context.loaders, m.WorkUnitPairing.community_id, self.db_id
        )
        return [WorkUnitPairingNode.from_row(row) for row in rows]

    @strawberry.field
    async def stats(self, info: Info) -> OrgStatsType:
        found = await r.stats_of(info.context.loaders, self.db_id)
        actor = info.context.actor
        withheld = await _withheld_stats(info, self.db_id) if for_display(actor) else frozenset()
        return OrgStatsType(
            **{
                k: displayed(actor, v, kind=STAT_KINDS[k], withheld=k in withheld)
                for k, v in vars(found).items()
            }
        )


@strawberry.type(name="Building", description="A residential building (楼栋) in a grid.")
class BuildingNode(Node):
    db_id: strawberry.Private[int]
    grid_db_id: strawberry.Private[int]
    name: str
    address: str
    culture_labels: list[m.CultureLabel]
    motto: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: m.Building) -> BuildingNode:
        assert row.id is not None
        return cls(
            id=to_global_id("Building", row.id),
            db_id=row.id,
            grid_db_id=row.grid_id,
            name=row.name,
            address=row.address,
            culture_labels=[m.CultureLabel(c) for c in row.culture_labels],
            motto=row.motto,
            created_at=row.created_at,
        )

    @strawberry.field
    async def grid(self, info: Info) -> OrgUnitNode | None:
        row = await info.context.loaders.get(m.OrgUnit, self.grid_db_id)
        return OrgUnitNode.from_row(row) if row else None

    @strawberry.field
    async def households(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[HouseholdNode]:
        page = await r.households_of(
            info.context.loaders, self.db_id, page_args(first, after, last, before)
        )
        return connection(page, HouseholdNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field(description="楼栋长: the person holding the active building-head position.")
    async def head(self, info: Info) -> People | None:
        position = await rp.building_head(info.context.loaders, self.db_id)
        if position is None:
            return None
        return _maybe_person(await info.context.loaders.get(PersonRow, position.person_id))

    @strawberry.field(description="The active building-head position (selection, priorities).")
    async def head_position(self, info: Info) -> Positions | None:
        from schema.people import PositionNode

        position = await rp.building_head(info.context.loaders, self.db_id)
        return PositionNode.from_row(position) if position else None

    @strawberry.field(description="Every position at this building, newest first.")
    async def positions(self, info: Info, active_only: bool = True) -> list[Positions]:
        from schema.people import PositionNode

        rows = await rp.positions_of(
            info.context.loaders,
            PositionRow.building_id,
            self.db_id,
            rp.PositionFilter(active_only=active_only),
        )
        return [PositionNode.from_row(row) for row in rows]

    @strawberry.field(description="楼栋党小组")
    async def party_group(self, info: Info) -> PartyOrganisationNode | None:
        row = await r.party_group_of(info.context.loaders, self.db_id)
        return PartyOrganisationNode.from_row(row) if row else None

    @strawberry.field(description="党员中心户")
    async def central_households(self, info: Info) -> list[CentralHouseholdNode]:
        rows = await r.active_central_households(
            info.context.loaders, m.CentralHousehold.building_id, self.db_id
        )
        return [CentralHouseholdNode.from_row(row) for row in rows]

    @strawberry.field
    async def residents(
        self,
        info: Info,
        filter: PersonFilterArg | None = None,
        order_by: rp.PersonOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[People]:
        page = await rp.people_under(
            info.context.loaders,
            "building",
            self.db_id,
            page_args(first, after, last, before),
            _people_filter(info, filter, order_by, residents=True),
        )
        return connection(page, _person)  # type: ignore[no-any-return]


@strawberry.type(name="Household", description="A dwelling (户) in a building.")
class HouseholdNode(Node):
    """Every field below is governed by `permissions.policy.FIELD_POLICY["Household"]`."""

    db_id: strawberry.Private[int]
    row: strawberry.Private[m.Household]
    id: strawberry.ID = strawberry.field(extensions=guard("Household", "id"))
    created_at: datetime = strawberry.field(extensions=guard("Household", "createdAt"))

    @classmethod
    def from_row(cls, row: m.Household) -> HouseholdNode:
        assert row.id is not None
        return cls(
            id=to_global_id("Household", row.id),
            db_id=row.id,
            row=row,
            created_at=row.created_at,
        )

    @property
    def row_path(self) -> str | None:
        return self.row.path

    @strawberry.field(extensions=guard("Household", "unit"))
    def unit(self) -> str | None:
        return self.row.unit

    @strawberry.field(extensions=guard("Household", "room"), description="Masked: 3**.")
    def room(self) -> str | None:
        return self.row.room

    @strawberry.field(extensions=guard("Household", "tenure"))
    def tenure(self) -> m.Tenure | None:
        return self.row.tenure

    @strawberry.field(extensions=guard("Household", "building"))
    async def building(self, info: Info) -> BuildingNode | None:
        row = await info.context.loaders.get(m.Building, self.row.building_id)
        return BuildingNode.from_row(row) if row else None

    @strawberry.field(extensions=guard("Household", "members", withheld=[]))
    async def members(self, info: Info) -> list[People]:
        rows = await rp.household_members(info.context.loaders, self.db_id)
        return [_person(row) for row in rows]

    @strawberry.field(
        extensions=guard("Household", "centralHousehold"),
        description="Set when this household is a 党员中心户.",
    )
    async def central_household(self, info: Info) -> CentralHouseholdNode | None:
        rows = await r.active_central_households(
            info.context.loaders, m.CentralHousehold.household_id, self.db_id
        )
        return CentralHouseholdNode.from_row(rows[0]) if rows else None


@strawberry.type(name="PartyOrganisation", description="A node of the Party tree.")
class PartyOrganisationNode(Node):
    db_id: strawberry.Private[int]
    parent_db_id: strawberry.Private[int | None]
    org_unit_db_id: strawberry.Private[int | None]
    building_db_id: strawberry.Private[int | None]
    kind: m.PartyOrgKind
    name: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: m.PartyOrganisation) -> PartyOrganisationNode:
        assert row.id is not None
        return cls(
            id=to_global_id("PartyOrganisation", row.id),
            db_id=row.id,
            parent_db_id=row.parent_id,
            org_unit_db_id=row.org_unit_id,
            building_db_id=row.building_id,
            kind=row.kind,
            name=row.name,
            created_at=row.created_at,
        )

    @strawberry.field
    async def parent(self, info: Info) -> PartyOrganisationNode | None:
        row = await info.context.loaders.get(m.PartyOrganisation, self.parent_db_id)
        return PartyOrganisationNode.from_row(row) if row else None

    @strawberry.field
    async def children(self, info: Info) -> list[PartyOrganisationNode]:
        rows = await r.by_column(
            info.context.loaders,
            "party_organisation.children",
            m.PartyOrganisation,
            m.PartyOrganisation.parent_id,
            self.db_id,
        )
        return [PartyOrganisationNode.from_row(row) for row in rows]

    @strawberry.field(description="The community or grid it serves (none for a building group).")
    async def org_unit(self, info: Info) -> OrgUnitNode | None:
        row = await info.context.loaders.get(m.OrgUnit, self.org_unit_db_id)
        return OrgUnitNode.from_row(row) if row else None

    @strawberry.field(description="The building a building Party group serves.")
    async def building(self, info: Info) -> BuildingNode | None:
        row = await info.context.loaders.get(m.Building, self.building_db_id)
        return BuildingNode.from_row(row) if row else None

    @strawberry.field
    async def members(
        self,
        info: Info,
        filter: PersonFilterArg | None = None,
        order_by: rp.PersonOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[People]:
        page = await rp.party_members_of(
            info.context.loaders,
            self.db_id,
            page_args(first, after, last, before),
            _people_filter(info, filter, order_by, residents=False),
        )
        return connection(page, _person)  # type: ignore[no-any-return]


@strawberry.type(name="CentralHousehold", description="党员中心户: a Party member's household.")
class CentralHouseholdNode(Node):
    """Every field below is governed by `permissions.policy.FIELD_POLICY["CentralHousehold"]`:
    naming the Party member says which household they live in."""

    db_id: strawberry.Private[int]
    row: strawberry.Private[m.CentralHousehold]
    id: strawberry.ID = strawberry.field(extensions=guard("CentralHousehold", "id"))
    designated_at: datetime = strawberry.field(extensions=guard("CentralHousehold", "designatedAt"))
    ended_at: datetime | None = strawberry.field(extensions=guard("CentralHousehold", "endedAt"))

    @classmethod
    def from_row(cls, row: m.CentralHousehold) -> CentralHouseholdNode:
        assert row.id is not None
        return cls(
            id=to_global_id("CentralHousehold", row.id),
            db_id=row.id,
            row=row,
            designated_at=row.designated_at,
            ended_at=row.ended_at,
        )

    @property
    def row_path(self) -> str | None:
        return self.row.path

    @strawberry.field(extensions=guard("CentralHousehold", "building"))
    async def building(self, info: Info) -> BuildingNode | None:
        row = await info.context.loaders.get(m.Building, self.row.building_id)
        return BuildingNode.from_row(row) if row else None

    @strawberry.field(extensions=guard("CentralHousehold", "household"))
    async def household(self, info: Info) -> HouseholdNode | None:
        row = await info.context.loaders.get(m.Household, self.row.household_id)
        return HouseholdNode.from_row(row) if row else None

    @strawberry.field(extensions=guard("CentralHousehold", "partyMember"))
    async def party_member(self, info: Info) -> People | None:
        return _maybe_person(await info.context.loaders.get(PersonRow, self.row.party_member_id))


@strawberry.type(name="WorkUnit", description="A government organ, enterprise or organisation.")
class WorkUnitNode(Node):
    db_id: strawberry.Private[int]
    name: str
    kind: m.WorkUnitKind

    @classmethod
    def from_row(cls, row: m.WorkUnit) -> WorkUnitNode:
        assert row.id is not None
        return cls(id=to_global_id("WorkUnit", row.id), db_id=row.id, name=row.name, kind=row.kind)

    @strawberry.field(description="Communities this unit is paired with (双报到).")
    async def pairings(self, info: Info) -> list[WorkUnitPairingNode]:
        rows = await r.work_unit_pairings(
            info.context.loaders, m.WorkUnitPairing.work_unit_id, self.db_id
        )
        return [WorkUnitPairingNode.from_row(row) for row in rows]


@strawberry.type(name="WorkUnitPairing", description="双报到: a work unit paired with a community.")
class WorkUnitPairingNode(Node):
    db_id: strawberry.Private[int]
    work_unit_db_id: strawberry.Private[int]
    community_db_id: strawberry.Private[int]
    started_at: datetime
    ended_at: datetime | None

    @classmethod
    def from_row(cls, row: m.WorkUnitPairing) -> WorkUnitPairingNode:
        assert row.id is not None
        return cls(
            id=to_global_id("WorkUnitPairing", row.id),
            db_id=row.id,
            work_unit_db_id=row.work_unit_id,
            community_db_id=row.community_id,
            started_at=row.started_at,
            ended_at=row.ended_at,
        )

    @strawberry.field
    async def work_unit(self, info: Info) -> WorkUnitNode | None:
        row = await info.context.loaders.get(m.WorkUnit, self.work_unit_db_id)
        return WorkUnitNode.from_row(row) if row else None

    @strawberry.field
    async def community(self, info: Info) -> OrgUnitNode | None:
        row = await info.context.loaders.get(m.OrgUnit, self.community_db_id)
        return OrgUnitNode.from_row(row) if row else None


# --- queries ----------------------------------------------------------------------


@strawberry.type
class OrgQuery:
    @strawberry.field(description="The city at the root of the administrative tree.")
    async def city(self, info: Info) -> OrgUnitNode | None:
        page = await r.org_unit_children(
            info.context.loaders,
            None,
            page_args(1, None, None, None),
            r.OrgUnitFilter(m.OrgKind.CITY),
        )
        return OrgUnitNode.from_row(page.rows[0]) if page.rows else None

    @strawberry.field(description="One org unit by global `id` or by `code`.")
    async def org_unit(
        self, info: Info, id: strawberry.ID | None = None, code: str | None = None
    ) -> OrgUnitNode | None:
        if (id is None) == (code is None):
            raise DomainError(ErrorCode.VALIDATION, "give exactly one of `id` and `code`", "id")
        if id is not None:
            row = await info.context.loaders.get(m.OrgUnit, expect_id(id, "OrgUnit"))
        else:
            row = await r.org_unit_by_code(info.context.loaders, code or "")
        return OrgUnitNode.from_row(row) if row else None

    @strawberry.field(description="Org units anywhere, filtered by kind and grid type.")
    async def org_units(
        self,
        info: Info,
        kind: m.OrgKind | None = None,
        grid_type: m.GridType | None = None,
        name_contains: str | None = None,
        include_retired: bool = False,
        order_by: r.OrgUnitOrder = r.OrgUnitOrder.CODE,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[OrgUnitNode]:
        f = r.OrgUnitFilter(kind, grid_type, name_contains, include_retired, order_by)
        page = await r.org_unit_children(
            info.context.loaders, None, page_args(first, after, last, before), f
        )
        return connection(page, OrgUnitNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field
    async def buildings(
        self,
        info: Info,
        culture_labels: list[m.CultureLabel] | None = None,
        name_contains: str | None = None,
        order_by: r.BuildingOrder = r.BuildingOrder.NAME,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[BuildingNode]:
        f = r.BuildingFilter(tuple(culture_labels or ()), name_contains, order_by)
        page = await r.buildings_under(
            info.context.loaders, None, page_args(first, after, last, before), f
        )
        return connection(page, BuildingNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field
    async def party_organisations(
        self,
        info: Info,
        kind: m.PartyOrgKind | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PartyOrganisationNode]:
        page = await r.party_organisations_under(
            info.context.loaders, None, page_args(first, after, last, before), kind
        )
        return connection(page, PartyOrganisationNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field
    async def work_units(
        self,
        info: Info,
        kind: m.WorkUnitKind | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[WorkUnitNode]:
        page = await r.work_units_page(
            info.context.loaders, page_args(first, after, last, before), kind
        )
        return connection(page, WorkUnitNode.from_row)  # type: ignore[no-any-return]


# --- mutations ---------------------------------------------------------------------


@strawberry.input
class CreateOrgUnitInput:
    kind: m.OrgKind
    name: str
    code: str
    parent_id: strawberry.ID | None = None
    grid_type: m.GridType | None = None


@strawberry.input
class RenameOrgUnitInput:
    id: strawberry.ID
    name: str


@strawberry.input
class MoveOrgUnitInput:
    id: strawberry.ID
    new_parent_id: strawberry.ID


@strawberry.input
class RetireOrgUnitInput:
    id: strawberry.ID


@strawberry.type
class OrgUnitPayload:
    org_unit: OrgUnitNode | None
    errors: list[UserError]


@strawberry.input
class CreateBuildingInput:
    grid_id: strawberry.ID
    name: str
    address: str
    culture_labels: list[m.CultureLabel] = strawberry.field(default_factory=list)
    motto: str | None = None


@strawberry.input
class UpdateBuildingCultureInput:
    id: strawberry.ID
    culture_labels: list[m.CultureLabel]
    motto: str | None = None


@strawberry.type
class BuildingPayload:
    building: BuildingNode | None
    errors: list[UserError]


@strawberry.input
class CreateHouseholdInput:
    building_id: strawberry.ID
    unit: str
    room: str
    tenure: m.Tenure


@strawberry.type
class HouseholdPayload:
    household: HouseholdNode | None
    errors: list[UserError]


@strawberry.input
class CreatePartyOrganisationInput:
    kind: m.PartyOrgKind
    name: str
    parent_id: strawberry.ID | None = None
    org_unit_id: strawberry.ID | None = None
    building_id: strawberry.ID | None = None


@strawberry.type
class PartyOrganisationPayload:
    party_organisation: PartyOrganisationNode | None
    errors: list[UserError]


@strawberry.input
class DesignateCentralHouseholdInput:
    household_id: strawberry.ID
    party_member_id: strawberry.ID


@strawberry.type
class CentralHouseholdPayload:
    central_household: CentralHouseholdNode | None
    errors: list[UserError]


@strawberry.input
class CreateWorkUnitInput:
    name: str
    kind: m.WorkUnitKind


@strawberry.type
class WorkUnitPayload:
    work_unit: WorkUnitNode | None
    errors: list[UserError]


@strawberry.input
class PairWorkUnitInput:
    work_unit_id: strawberry.ID
    community_id: strawberry.ID


@strawberry.type
class WorkUnitPairingPayload:
    work_unit_pairing: WorkUnitPairingNode | None
    errors: list[UserError]


def _org_unit_payload(row: m.OrgUnit | None, errors: list[UserError]) -> OrgUnitPayload:
    return OrgUnitPayload(org_unit=OrgUnitNode.from_row(row) if row else None, errors=errors)


@strawberry.type
class OrgMutation:
    @strawberry.mutation
    async def create_org_unit(self, info: Info, input: CreateOrgUnitInput) -> OrgUnitPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(
                info,
                "createOrgUnit",
                (m.OrgUnit, optional_id(input.parent_id, "OrgUnit", "parentId"), "parentId"),
            ),
            lambda: r.create_org_unit(
                session,
                kind=input.kind,
                name=input.name,
                code=input.code,
                parent_id=optional_id(input.parent_id, "OrgUnit", "parentId"),
                grid_type=input.grid_type,
            ),
        )
        return _org_unit_payload(row, errors)

    @strawberry.mutation
    async def rename_org_unit(self, info: Info, input: RenameOrgUnitInput) -> OrgUnitPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(
                info, "renameOrgUnit", (m.OrgUnit, expect_id(input.id, "OrgUnit"), "id")
            ),
            lambda: r.rename_org_unit(
                session, unit_id=expect_id(input.id, "OrgUnit"), name=input.name
            ),
        )
        return _org_unit_payload(row, errors)

    @strawberry.mutation(description="Re-parent a unit; its whole subtree is re-pathed at once.")
    async def move_org_unit(self, info: Info, input: MoveOrgUnitInput) -> OrgUnitPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(
                info,
                "moveOrgUnit",
                (m.OrgUnit, expect_id(input.id, "OrgUnit"), "id"),
                (
                    m.OrgUnit,
                    expect_id(input.new_parent_id, "OrgUnit", "newParentId"),
                    "newParentId",
                ),
                parent_of_first=True,
            ),
            lambda: r.move_org_unit(
                session,
                unit_id=expect_id(input.id, "OrgUnit"),
                new_parent_id=expect_id(input.new_parent_id, "OrgUnit", "newParentId"),
            ),
        )
        return _org_unit_payload(row, errors)

    @strawberry.mutation(description="Retire an empty unit; its positions end, history stays.")
    async def retire_org_unit(self, info: Info, input: RetireOrgUnitInput) -> OrgUnitPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(
                info,
                "retireOrgUnit",
                (m.OrgUnit, expect_id(input.id, "OrgUnit"), "id"),
                parent_of_first=True,
            ),
            lambda: r.retire_org_unit(session, unit_id=expect_id(input.id, "OrgUnit")),
        )
        return _org_unit_payload(row, errors)

    @strawberry.mutation
    async def create_building(self, info: Info, input: CreateBuildingInput) -> BuildingPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(
                info,
                "createBuilding",
                (m.OrgUnit, expect_id(input.grid_id, "OrgUnit", "gridId"), "gridId"),
            ),
            lambda: r.create_building(
                session,
                grid_id=expect_id(input.grid_id, "OrgUnit", "gridId"),
                name=input.name,
                address=input.address,
                culture_labels=list(input.culture_labels),
                motto=input.motto,
            ),
        )
        return BuildingPayload(building=BuildingNode.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="Set the building's 一楼一特 labels and motto.")
    async def update_building_culture(
        self,
        info: Info,
        input: UpdateBuildingCultureInput,
    ) -> BuildingPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(
                info,
                "updateBuildingCulture",
                (m.Building, expect_id(input.id, "Building"), "id"),
            ),
            lambda: r.update_building_culture(
                session,
                building_id=expect_id(input.id, "Building"),
                culture_labels=list(input.culture_labels),
                motto=input.motto,
            ),
        )
        return BuildingPayload(building=BuildingNode.from_row(row) if row else None, errors=errors)

    @strawberry.mutation
    async def create_household(self, info: Info, input: CreateHouseholdInput) -> HouseholdPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(
                info,
                "createHousehold",
                (m.Building, expect_id(input.building_id, "Building", "buildingId"), "buildingId"),
            ),
            lambda: r.create_household(
                session,
                building_id=expect_id(input.building_id, "Building", "buildingId"),
                unit=input.unit,
                room=input.room,
                tenure=input.tenure,
            ),
        )
        return HouseholdPayload(
            household=HouseholdNode.from_row(row) if row else None, errors=errors
        )

    @strawberry.mutation
    async def create_party_organisation(
        self,
        info: Info,
        input: CreatePartyOrganisationInput,
    ) -> PartyOrganisationPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(
                info,
                "createPartyOrganisation",
                (m.OrgUnit, optional_id(input.org_unit_id, "OrgUnit", "orgUnitId"), "orgUnitId"),
                (
                    m.Building,
                    optional_id(input.building_id, "Building", "buildingId"),
                    "buildingId",
                ),
            ),
            lambda: r.create_party_organisation(
                session,
                kind=input.kind,
                name=input.name,
                parent_id=optional_id(input.parent_id, "PartyOrganisation", "parentId"),
                org_unit_id=optional_id(input.org_unit_id, "OrgUnit", "orgUnitId"),
                building_id=optional_id(input.building_id, "Building", "buildingId"),
            ),
        )
        return PartyOrganisationPayload(
            party_organisation=PartyOrganisationNode.from_row(row) if row else None, errors=errors
        )

    @strawberry.mutation(description="Designate a Party member's household as 党员中心户.")
    async def designate_central_household(
        self,
        info: Info,
        input: DesignateCentralHouseholdInput,
    ) -> CentralHouseholdPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(
                info,
                "designateCentralHousehold",
                (
                    m.Household,
                    expect_id(input.household_id, "Household", "householdId"),
                    "householdId",
                ),
                see=(
                    (
                        PersonRow,
                        expect_id(input.party_member_id, "Person", "partyMemberId"),
                        "partyMemberId",
                    ),
                ),
            ),
            lambda: r.designate_central_household(
                session,
                household_id=expect_id(input.household_id, "Household", "householdId"),
                party_member_id=expect_id(input.party_member_id, "Person", "partyMemberId"),
            ),
        )
        return CentralHouseholdPayload(
            central_household=CentralHouseholdNode.from_row(row) if row else None, errors=errors
        )

    @strawberry.mutation
    async def create_work_unit(self, info: Info, input: CreateWorkUnitInput) -> WorkUnitPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(info, "createWorkUnit", anywhere=True),
            lambda: r.create_work_unit(session, name=input.name, kind=input.kind),
        )
        return WorkUnitPayload(work_unit=WorkUnitNode.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="双报到: pair a work unit with a community.")
    async def pair_work_unit(self, info: Info, input: PairWorkUnitInput) -> WorkUnitPairingPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(
                info,
                "pairWorkUnit",
                (m.OrgUnit, expect_id(input.community_id, "OrgUnit", "communityId"), "communityId"),
            ),
            lambda: r.pair_work_unit(
                session,
                work_unit_id=expect_id(input.work_unit_id, "WorkUnit", "workUnitId"),
                community_id=expect_id(input.community_id, "OrgUnit", "communityId"),
            ),
        )
        return WorkUnitPairingPayload(
            work_unit_pairing=WorkUnitPairingNode.from_row(row) if row else None, errors=errors
        )
