"""GraphQL types, queries and mutations of the administrative tree, buildings and households,
the Party tree and work units."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from models import org as m
from models import services as ms
from models.people import Person, Position, Role
from permissions import org as rules
from permissions.actor import Actor
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
from permissions.scope import counts_all_under
from resolvers import aggregates as ra
from resolvers import org as r
from resolvers import people as rp
from resolvers.errors import invalid
from resolvers.figures import load_org_stats_maintained, org_stats_maintained
from resolvers.pagination import Listing, PageArgs
from schema.context import Context, Info
from schema.declare import (
    ById,
    ByKey,
    FirstOf,
    Found,
    Paged,
    above,
    column,
    computed,
    expose,
    first_child,
    lookup,
    many,
    many_by,
    paged,
    reference,
    row_type,
    through,
)
from schema.errors import UserError, domain_error
from schema.operations import Mutation, Refs
from schema.relay import Connection, Node, expect_id  # noqa: F401  (generated annotations)

if TYPE_CHECKING:
    from schema.cogovernance import ConventionCoverage, ConventionNode, LiaisonNode
    from schema.people import PersonFilterInput, PersonNode, PositionNode
    from schema.recognition import AwardNode, RoleModelNode, WallPostNode
    from schema.services import (
        EmergencyPeriodNode,
        EstateNode,
        NearbyStation,
        PartyPostNode,
        ServiceStationNode,
        ServiceStatsType,
    )

People = Annotated["PersonNode", strawberry.lazy("schema.people")]
RoleModels = Annotated["RoleModelNode", strawberry.lazy("schema.recognition")]
WallPosts = Annotated["WallPostNode", strawberry.lazy("schema.recognition")]
Awards = Annotated["AwardNode", strawberry.lazy("schema.recognition")]
Conventions = Annotated["ConventionNode", strawberry.lazy("schema.cogovernance")]
Coverage = Annotated["ConventionCoverage", strawberry.lazy("schema.cogovernance")]
Liaisons = Annotated["LiaisonNode", strawberry.lazy("schema.cogovernance")]
OrgUnits = Annotated["OrgUnitNode", strawberry.lazy("schema.org")]
PersonFilterArg = Annotated["PersonFilterInput", strawberry.lazy("schema.people")]
Positions = Annotated["PositionNode", strawberry.lazy("schema.people")]
Estates = Annotated["EstateNode", strawberry.lazy("schema.services")]
Stations = Annotated["ServiceStationNode", strawberry.lazy("schema.services")]
NearbyStations = Annotated["NearbyStation", strawberry.lazy("schema.services")]
PartyPosts = Annotated["PartyPostNode", strawberry.lazy("schema.services")]
ServiceCounts = Annotated["ServiceStatsType", strawberry.lazy("schema.services")]
Emergencies = Annotated["EmergencyPeriodNode", strawberry.lazy("schema.services")]

expose(m.OrgKind, name="OrgKind", description="Level of the administrative tree.")
expose(m.GridType, name="GridType")
expose(m.CultureLabel, name="CultureLabel", description="一楼一特")
expose(m.Tenure, name="Tenure")
expose(m.PartyOrgKind, name="PartyOrgKind")
expose(m.WorkUnitKind, name="WorkUnitKind")
expose(r.OrgUnitOrder, name="OrgUnitOrder")
expose(r.BuildingOrder, name="BuildingOrder")


@domain_error(r.OrgCode)
class OrgError(UserError):
    """Why a change of the tree, a building, a household or the Party tree was refused."""


def _people_filter(
    actor: Actor, f: PersonFilterInput | None, order: rp.PersonOrder | None, *, residents: bool
) -> rp.PersonFilter:
    from schema.people import person_filter

    return person_filter(actor, f, order, residents=residents)


def _unit_pages(spec: Listing[m.OrgUnit]) -> Any:
    """The page of org units a field's arguments ask for (resolver and SQL compiler alike)."""

    def plan(
        actor: Actor,
        kind: m.OrgKind | None = None,
        grid_type: m.GridType | None = None,
        name_contains: str | None = None,
        include_retired: bool = False,
        order_by: r.OrgUnitOrder = r.OrgUnitOrder.CODE,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Paged:
        f = r.OrgUnitFilter(kind, grid_type, name_contains, include_retired, order_by)
        return Paged(spec, PageArgs.parse(first, after, last, before), f)

    return plan


def _building_pages(spec: Listing[m.Building]) -> Any:
    def plan(
        actor: Actor,
        culture_labels: list[m.CultureLabel] | None = None,
        name_contains: str | None = None,
        order_by: r.BuildingOrder = r.BuildingOrder.NAME,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Paged:
        f = r.BuildingFilter(tuple(culture_labels or ()), name_contains, order_by)
        return Paged(spec, PageArgs.parse(first, after, last, before), f)

    return plan


def _people_pages(spec: Listing[Person], *, residents: bool) -> Any:
    def plan(
        actor: Actor,
        filter: PersonFilterArg | None = None,
        order_by: rp.PersonOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Paged:
        f = _people_filter(actor, filter, order_by, residents=residents)
        return Paged(spec, PageArgs.parse(first, after, last, before), f)

    return plan


def _position_pages(
    actor: Actor,
    role: Role | None = None,
    active_only: bool = True,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Paged:
    f = rp.PositionFilter(role, active_only)
    return Paged(rp.POSITIONS_UNDER, PageArgs.parse(first, after, last, before), f)


def _party_organisation_pages(spec: Listing[m.PartyOrganisation]) -> Any:
    def plan(
        actor: Actor,
        kind: m.PartyOrgKind | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Paged:
        f = r.PartyOrganisationFilter(kind)
        return Paged(spec, PageArgs.parse(first, after, last, before), f)

    return plan


def _household_pages(
    actor: Actor,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Paged:
    return Paged(r.HOUSEHOLDS, PageArgs.parse(first, after, last, before), r.HOUSEHOLD_ORDER)


def _work_unit_pages(
    actor: Actor,
    kind: m.WorkUnitKind | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Paged:
    f = r.WorkUnitFilter(kind)
    return Paged(r.WORK_UNITS, PageArgs.parse(first, after, last, before), f)


def _active_positions(actor: Actor, active_only: bool = True) -> rp.PositionFilter:
    return rp.PositionFilter(active_only=active_only)


#: The building head: the active BUILDING_HEAD position of the building.
HEAD = rp.PositionFilter(role=Role.BUILDING_HEAD)


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
            load = load_org_stats_maintained if counts_all_under(actor, root) else None
            table = await ra.stats_table(
                loaders, root, grouped, PERSONAL_STATS, load=load or r.load_org_stats
            )
            decided |= withheld_by_unit(
                table.values,
                Tree(table.org.root, table.org.children),
                PERSONAL_STATS,
                table.cells,
                STATS_LINES,
            )
        return [decided.get(i, frozenset(PERSONAL_STATS)) for i in ids]

    return await loaders.batch("withheld_stats", OrgStatsType, batch).load(unit_id)


def _level(row: m.OrgUnit) -> int:
    return (row.path or "").count(".") + 1


def _nlevel(table: Any) -> Any:
    import sqlalchemy as sa

    return sa.func.nlevel(table.path)


@row_type(m.OrgUnit, name="OrgUnit", description="A node of the administrative tree: city to grid.")
class OrgUnitNode(Node):
    kind: m.OrgKind = column()
    name: str = column()
    code: str = column()
    grid_type: m.GridType | None = column()
    retired_at: datetime | None = column()
    created_at: datetime = column()
    level: int = computed(
        _level, sql=_nlevel, description="Depth in the tree: 1 for the city, 5 for a grid."
    )
    parent: OrgUnitNode | None = reference(m.OrgUnit.parent_id)

    @strawberry.field(
        description="From the city down to the parent.",
        graphql_type=list[OrgUnits],
        metadata=above(m.OrgUnit),
    )
    async def ancestors(self, root: strawberry.Parent[m.OrgUnit], info: Info) -> list[m.OrgUnit]:
        rows = await info.context.loaders.get_many(m.OrgUnit, r.ancestor_ids(root.path or ""))
        return [row for row in rows if row is not None]

    children = paged(_unit_pages(r.CHILDREN), "OrgUnitNode", listing=r.CHILDREN)
    descendants = paged(
        _unit_pages(r.DESCENDANTS),
        "OrgUnitNode",
        listing=r.DESCENDANTS,
        description="Every unit below this one, filtered by kind or grid type.",
    )
    buildings = paged(
        _building_pages(r.BUILDINGS_UNDER),
        "BuildingNode",
        listing=r.BUILDINGS_UNDER,
        description="Buildings anywhere in this subtree.",
    )
    residents = paged(
        _people_pages(rp.RESIDENTS_UNDER, residents=True),
        "People",
        listing=rp.RESIDENTS_UNDER,
        description="People living anywhere in this subtree.",
    )
    positions = paged(
        _position_pages,
        "Positions",
        listing=rp.POSITIONS_UNDER,
        description="Positions held at this unit or anywhere below it.",
    )
    party_organisations = paged(
        _party_organisation_pages(r.PARTY_ORGANISATIONS_UNDER),
        "PartyOrganisationNode",
        listing=r.PARTY_ORGANISATIONS_UNDER,
        description="Party organisations serving places in this subtree.",
    )

    paired_work_units: list[WorkUnitPairingNode] = many(
        r.WORK_UNIT_PAIRINGS, description="双报到: work units paired with this community."
    )

    @strawberry.field
    async def stats(self, root: strawberry.Parent[m.OrgUnit], info: Info) -> OrgStatsType:
        assert root.id is not None
        actor = info.context.actor
        loaders = info.context.loaders
        if counts_all_under(actor, root.path or ""):
            found = await org_stats_maintained(loaders, root.path or "")
        else:
            found = await r.stats_of(loaders, root.id)
        withheld = await _withheld_stats(info, root.id) if for_display(actor) else frozenset()
        return OrgStatsType(
            **{
                k: displayed(actor, v, kind=STAT_KINDS[k], withheld=k in withheld)
                for k, v in vars(found).items()
            }
        )

    @strawberry.field(
        description="Service counts (stations, teams, orders done, volunteer services and hours, "
        "visits, disputes resolved ...) over the subtree, optionally of a period.",
        graphql_type=ServiceCounts,
    )
    async def service_stats(
        self,
        root: strawberry.Parent[m.OrgUnit],
        info: Info,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Any:
        from schema.services import service_stats_for

        return await service_stats_for(info, root, since, until)

    @strawberry.field(
        description="平急结合: the emergency this unit is in, if any.",
        graphql_type=Emergencies | None,
    )
    async def emergency(self, root: strawberry.Parent[m.OrgUnit], info: Info) -> Any:
        from resolvers.services import ACTIVE_EMERGENCY

        found = await info.context.loaders.children(ACTIVE_EMERGENCY, root.id)
        return found[0] if found else None


@row_type(m.Building, name="Building", description="A residential building (楼栋) in a grid.")
class BuildingNode(Node):
    name: str = column()
    address: str = column()
    culture_labels: list[m.CultureLabel] = column()
    motto: str | None = column()
    created_at: datetime = column()
    latitude: float | None = column(description="GCJ-02 (the estate's point when none).")
    longitude: float | None = column(description="GCJ-02")
    grid: OrgUnitNode | None = reference(m.Building.grid_id)
    estate: Estates | None = reference(m.Building.estate_id, description="小区, if any.")

    @strawberry.field(
        description="15分钟服务圈: stations within `minutes`' walk, nearest first.",
        graphql_type=list[NearbyStations],
    )
    async def nearby_stations(
        self, root: strawberry.Parent[m.Building], info: Info, minutes: int = 15
    ) -> Any:
        from resolvers.services import nearby_stations
        from schema.services import as_nearby

        assert root.id is not None
        return as_nearby(await nearby_stations(info.context.loaders, root.id, minutes))

    @strawberry.field(
        description="The stations serving this building.", graphql_type=list[Stations]
    )
    async def serving_stations(self, root: strawberry.Parent[m.Building], info: Info) -> Any:
        from resolvers.services import STATIONS_SERVING

        links = await info.context.loaders.children(STATIONS_SERVING, root.id)
        found = await info.context.loaders.get_many(
            ms.ServiceStation, [s.station_id for s in links]
        )
        return [row for row in found if row is not None]

    @strawberry.field(
        description="党员先锋岗 and 党员责任区 of this building.", graphql_type=list[PartyPosts]
    )
    async def party_posts(self, root: strawberry.Parent[m.Building], info: Info) -> Any:
        from resolvers.services import POSTS_OF_BUILDING

        return await info.context.loaders.children(POSTS_OF_BUILDING, root.id)

    households = paged(_household_pages, "HouseholdNode", listing=r.HOUSEHOLDS)
    head = through(
        rp.POSITIONS_OF_BUILDING,
        Position.person_id,
        filter=HEAD,
        description="楼栋长: the person holding the active building-head position.",
        graphql_type=People | None,
    )
    head_position = first_child(
        rp.POSITIONS_OF_BUILDING,
        filter=HEAD,
        description="The active building-head position (selection, priorities).",
        graphql_type=Positions | None,
    )
    positions = many_by(
        rp.POSITIONS_OF_BUILDING,
        _active_positions,
        "Positions",
        description="Every position at this building, newest first.",
    )
    party_group: PartyOrganisationNode | None = reference(
        m.Building.id, description="楼栋党小组", via=r.PARTY_GROUP
    )
    central_households: list[CentralHouseholdNode] = many(
        r.CENTRAL_HOUSEHOLDS_OF_BUILDING, description="党员中心户"
    )

    @strawberry.field(
        description="Role models (老党员, 劳动模范, 道德模范) on the building's wall.",
        graphql_type=list[RoleModels],
    )
    async def role_models(self, root: strawberry.Parent[m.Building], info: Info) -> list[Any]:
        from resolvers.recognition import ROLE_MODELS

        return await info.context.loaders.children(ROLE_MODELS, root.id)

    @strawberry.field(
        description="宣传墙: the building's publicity wall, newest first.",
        graphql_type=list[WallPosts],
    )
    async def publicity_wall(self, root: strawberry.Parent[m.Building], info: Info) -> list[Any]:
        from resolvers.recognition import WALL_POSTS

        return await info.context.loaders.children(WALL_POSTS, root.id)

    @strawberry.field(
        description="Awards the building won, newest first.", graphql_type=list[Awards]
    )
    async def awards(self, root: strawberry.Parent[m.Building], info: Info) -> list[Any]:
        from resolvers.recognition import AWARDS_OF_BUILDING

        return await info.context.loaders.children(AWARDS_OF_BUILDING, root.id)

    @strawberry.field(
        description="《红色美丽楼栋公约》 in force (its newest version).",
        graphql_type=Conventions | None,
    )
    async def convention(self, root: strawberry.Parent[m.Building], info: Info) -> Any:
        from schema.cogovernance import building_convention

        assert root.id is not None
        return await building_convention(info, root.id)

    @strawberry.field(
        description="How many of its households signed the convention in force.",
        graphql_type=Coverage,
    )
    async def convention_coverage(self, root: strawberry.Parent[m.Building], info: Info) -> Any:
        from schema.cogovernance import building_coverage

        assert root.id is not None
        return await building_coverage(info, root.id)

    @strawberry.field(
        description="商铺联户 and 单位联户 of the building.", graphql_type=list[Liaisons]
    )
    async def liaisons(self, root: strawberry.Parent[m.Building], info: Info) -> list[Any]:
        from resolvers.cogovernance import LIAISONS_OF_BUILDING

        return await info.context.loaders.children(LIAISONS_OF_BUILDING, root.id)

    residents = paged(
        _people_pages(rp.RESIDENTS_OF_BUILDING, residents=True),
        "People",
        listing=rp.RESIDENTS_OF_BUILDING,
    )


@row_type(
    m.Household,
    name="Household",
    description="A dwelling (户) in a building.",
    policy="Household",
)
class HouseholdNode(Node):
    """Every field is governed by `permissions.policy.FIELD_POLICY["Household"]`."""

    created_at: datetime = column()
    unit: str | None = column()
    room: str | None = column(description="Masked: 3**.")
    tenure: m.Tenure | None = column()
    building: BuildingNode | None = reference(m.Household.building_id)
    members: list[People] = many(rp.HOUSEHOLD_MEMBERS)
    central_household: CentralHouseholdNode | None = reference(
        m.Household.id,
        via=r.CENTRAL_HOUSEHOLD_OF_HOUSEHOLD,
        description="Set when this household is a 党员中心户.",
    )


@row_type(m.PartyOrganisation, name="PartyOrganisation", description="A node of the Party tree.")
class PartyOrganisationNode(Node):
    kind: m.PartyOrgKind = column()
    name: str = column()
    created_at: datetime = column()
    parent: PartyOrganisationNode | None = reference(m.PartyOrganisation.parent_id)
    children: list[PartyOrganisationNode] = many(r.PARTY_ORGANISATION_CHILDREN)
    org_unit: OrgUnitNode | None = reference(
        m.PartyOrganisation.org_unit_id,
        description="The community or grid it serves (none for a building group).",
    )
    building: BuildingNode | None = reference(
        m.PartyOrganisation.building_id, description="The building a building Party group serves."
    )

    members = paged(
        _people_pages(rp.PARTY_MEMBERS, residents=False), "People", listing=rp.PARTY_MEMBERS
    )


@row_type(
    m.CentralHousehold,
    name="CentralHousehold",
    description="党员中心户: a Party member's household.",
    policy="CentralHousehold",
)
class CentralHouseholdNode(Node):
    """Every field is governed by `permissions.policy.FIELD_POLICY["CentralHousehold"]`:
    naming the Party member says which household they live in."""

    designated_at: datetime = column()
    ended_at: datetime | None = column()
    building: BuildingNode | None = reference(m.CentralHousehold.building_id)
    household: HouseholdNode | None = reference(m.CentralHousehold.household_id)
    party_member: People | None = reference(m.CentralHousehold.party_member_id)


@row_type(
    m.WorkUnit, name="WorkUnit", description="A government organ, enterprise or organisation."
)
class WorkUnitNode(Node):
    name: str = column()
    kind: m.WorkUnitKind = column()
    pairings: list[WorkUnitPairingNode] = many(
        r.PAIRINGS_OF_WORK_UNIT, description="Communities this unit is paired with (双报到)."
    )


@row_type(
    m.WorkUnitPairing,
    name="WorkUnitPairing",
    description="双报到: a work unit paired with a community.",
)
class WorkUnitPairingNode(Node):
    started_at: datetime = column()
    ended_at: datetime | None = column()
    work_unit: WorkUnitNode | None = reference(m.WorkUnitPairing.work_unit_id)
    community: OrgUnitNode | None = reference(m.WorkUnitPairing.community_id)


# --- queries ----------------------------------------------------------------------


def _city(actor: Actor) -> Found:
    return FirstOf(Paged(r.ORG_UNITS, PageArgs.parse(1), r.OrgUnitFilter(m.OrgKind.CITY)))


def _org_unit(actor: Actor, id: strawberry.ID | None = None, code: str | None = None) -> Found:
    if (id is None) == (code is None):
        raise invalid("give exactly one of `id` and `code`", "id")
    if id is not None:
        return ById(m.OrgUnit, expect_id(id, "OrgUnit"))
    return ByKey(r.ORG_UNIT_BY_CODE, code or "")


@strawberry.type
class OrgQuery:
    city = lookup(
        _city, "OrgUnitNode", description="The city at the root of the administrative tree."
    )
    org_unit = lookup(
        _org_unit, "OrgUnitNode", description="One org unit by global `id` or by `code`."
    )
    org_units = paged(
        _unit_pages(r.ORG_UNITS),
        "OrgUnitNode",
        listing=r.ORG_UNITS,
        description="Org units anywhere, filtered by kind and grid type.",
    )
    buildings = paged(_building_pages(r.BUILDINGS), "BuildingNode", listing=r.BUILDINGS)
    party_organisations = paged(
        _party_organisation_pages(r.PARTY_ORGANISATIONS),
        "PartyOrganisationNode",
        listing=r.PARTY_ORGANISATIONS,
    )
    work_units = paged(_work_unit_pages, "WorkUnitNode", listing=r.WORK_UNITS)


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
    errors: list[OrgError]


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
    errors: list[OrgError]


@strawberry.input
class CreateHouseholdInput:
    building_id: strawberry.ID
    unit: str
    room: str
    tenure: m.Tenure


@strawberry.type
class HouseholdPayload:
    household: HouseholdNode | None
    errors: list[OrgError]


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
    errors: list[OrgError]


@strawberry.input
class DesignateCentralHouseholdInput:
    household_id: strawberry.ID
    party_member_id: strawberry.ID


@strawberry.type
class CentralHouseholdPayload:
    central_household: CentralHouseholdNode | None
    errors: list[OrgError]


@strawberry.input
class CreateWorkUnitInput:
    name: str
    kind: m.WorkUnitKind


@strawberry.type
class WorkUnitPayload:
    work_unit: WorkUnitNode | None
    errors: list[OrgError]


@strawberry.input
class PairWorkUnitInput:
    work_unit_id: strawberry.ID
    community_id: strawberry.ID


@strawberry.type
class WorkUnitPairingPayload:
    work_unit_pairing: WorkUnitPairingNode | None
    errors: list[OrgError]


class CreateOrgUnit(Mutation[CreateOrgUnitInput, m.OrgUnit, OrgUnitPayload]):
    refs = {"parent_id": m.OrgUnit}
    permission = rules.CREATE_ORG_UNIT
    errors = OrgError

    async def perform(self, ctx: Context, input: CreateOrgUnitInput, refs: Refs) -> m.OrgUnit:
        return await r.create_org_unit(
            ctx.session,
            kind=input.kind,
            name=input.name,
            code=input.code,
            parent_id=refs.id("parent_id"),
            grid_type=input.grid_type,
        )


class RenameOrgUnit(Mutation[RenameOrgUnitInput, m.OrgUnit, OrgUnitPayload]):
    refs = {"id": m.OrgUnit}
    permission = rules.RENAME_ORG_UNIT
    errors = OrgError
    error_fields = {"unit_id": "id"}

    async def perform(self, ctx: Context, input: RenameOrgUnitInput, refs: Refs) -> m.OrgUnit:
        return await r.rename_org_unit(ctx.session, unit_id=refs.need("id"), name=input.name)


class MoveOrgUnit(Mutation[MoveOrgUnitInput, m.OrgUnit, OrgUnitPayload]):
    """Re-parent a unit; its whole subtree is re-pathed at once."""

    refs = {"id": m.OrgUnit, "new_parent_id": m.OrgUnit}
    permission = rules.MOVE_ORG_UNIT
    errors = OrgError
    error_fields = {"unit_id": "id"}

    async def perform(self, ctx: Context, input: MoveOrgUnitInput, refs: Refs) -> m.OrgUnit:
        return await r.move_org_unit(
            ctx.session, unit_id=refs.need("id"), new_parent_id=refs.need("new_parent_id")
        )


class RetireOrgUnit(Mutation[RetireOrgUnitInput, m.OrgUnit, OrgUnitPayload]):
    """Retire an empty unit; its positions end, history stays."""

    refs = {"id": m.OrgUnit}
    permission = rules.RETIRE_ORG_UNIT
    errors = OrgError
    error_fields = {"unit_id": "id"}

    async def perform(self, ctx: Context, input: RetireOrgUnitInput, refs: Refs) -> m.OrgUnit:
        return await r.retire_org_unit(ctx.session, unit_id=refs.need("id"))


class CreateBuilding(Mutation[CreateBuildingInput, m.Building, BuildingPayload]):
    refs = {"grid_id": m.OrgUnit}
    permission = rules.CREATE_BUILDING
    errors = OrgError

    async def perform(self, ctx: Context, input: CreateBuildingInput, refs: Refs) -> m.Building:
        return await r.create_building(
            ctx.session,
            grid_id=refs.need("grid_id"),
            name=input.name,
            address=input.address,
            culture_labels=list(input.culture_labels),
            motto=input.motto,
        )


class UpdateBuildingCulture(Mutation[UpdateBuildingCultureInput, m.Building, BuildingPayload]):
    """Set the building's 一楼一特 labels and motto."""

    refs = {"id": m.Building}
    permission = rules.UPDATE_BUILDING_CULTURE
    errors = OrgError
    error_fields = {"building_id": "id"}

    async def perform(
        self, ctx: Context, input: UpdateBuildingCultureInput, refs: Refs
    ) -> m.Building:
        return await r.update_building_culture(
            ctx.session,
            building_id=refs.need("id"),
            culture_labels=list(input.culture_labels),
            motto=input.motto,
        )


class CreateHousehold(Mutation[CreateHouseholdInput, m.Household, HouseholdPayload]):
    refs = {"building_id": m.Building}
    permission = rules.CREATE_HOUSEHOLD
    errors = OrgError

    async def perform(self, ctx: Context, input: CreateHouseholdInput, refs: Refs) -> m.Household:
        return await r.create_household(
            ctx.session,
            building_id=refs.need("building_id"),
            unit=input.unit,
            room=input.room,
            tenure=input.tenure,
        )


class CreatePartyOrganisation(
    Mutation[CreatePartyOrganisationInput, m.PartyOrganisation, PartyOrganisationPayload]
):
    refs = {
        "parent_id": m.PartyOrganisation,
        "org_unit_id": m.OrgUnit,
        "building_id": m.Building,
    }
    permission = rules.CREATE_PARTY_ORGANISATION
    errors = OrgError

    async def perform(
        self, ctx: Context, input: CreatePartyOrganisationInput, refs: Refs
    ) -> m.PartyOrganisation:
        return await r.create_party_organisation(
            ctx.session,
            kind=input.kind,
            name=input.name,
            parent_id=refs.id("parent_id"),
            org_unit_id=refs.id("org_unit_id"),
            building_id=refs.id("building_id"),
        )


class DesignateCentralHousehold(
    Mutation[DesignateCentralHouseholdInput, m.CentralHousehold, CentralHouseholdPayload]
):
    """Designate a Party member's household as 党员中心户."""

    refs = {"household_id": m.Household, "party_member_id": Person}
    permission = rules.DESIGNATE_CENTRAL_HOUSEHOLD
    errors = OrgError

    async def perform(
        self, ctx: Context, input: DesignateCentralHouseholdInput, refs: Refs
    ) -> m.CentralHousehold:
        return await r.designate_central_household(
            ctx.session,
            household_id=refs.need("household_id"),
            party_member_id=refs.need("party_member_id"),
        )


class CreateWorkUnit(Mutation[CreateWorkUnitInput, m.WorkUnit, WorkUnitPayload]):
    permission = rules.CREATE_WORK_UNIT
    errors = OrgError

    async def perform(self, ctx: Context, input: CreateWorkUnitInput, refs: Refs) -> m.WorkUnit:
        return await r.create_work_unit(ctx.session, name=input.name, kind=input.kind)


class PairWorkUnit(Mutation[PairWorkUnitInput, m.WorkUnitPairing, WorkUnitPairingPayload]):
    """双报到: pair a work unit with a community."""

    refs = {"work_unit_id": m.WorkUnit, "community_id": m.OrgUnit}
    permission = rules.PAIR_WORK_UNIT
    errors = OrgError

    async def perform(
        self, ctx: Context, input: PairWorkUnitInput, refs: Refs
    ) -> m.WorkUnitPairing:
        return await r.pair_work_unit(
            ctx.session,
            work_unit_id=refs.need("work_unit_id"),
            community_id=refs.need("community_id"),
        )


@strawberry.input
class EndInput:
    id: strawberry.ID


class EndCentralHousehold(Mutation[EndInput, m.CentralHousehold, CentralHouseholdPayload]):
    """End a 党员中心户 designation (it stays in the history)."""

    refs = {"id": m.CentralHousehold}
    permission = rules.END_CENTRAL_HOUSEHOLD
    errors = OrgError
    error_fields = {"central_id": "id"}

    async def perform(self, ctx: Context, input: EndInput, refs: Refs) -> m.CentralHousehold:
        return await r.end_central_household(ctx.session, central_id=refs.need("id"))


class EndWorkUnitPairing(Mutation[EndInput, m.WorkUnitPairing, WorkUnitPairingPayload]):
    """End a 双报到 pairing (it stays in the history)."""

    refs = {"id": m.WorkUnitPairing}
    permission = rules.END_WORK_UNIT_PAIRING
    errors = OrgError
    error_fields = {"pairing_id": "id"}

    async def perform(self, ctx: Context, input: EndInput, refs: Refs) -> m.WorkUnitPairing:
        return await r.end_work_unit_pairing(ctx.session, pairing_id=refs.need("id"))


@strawberry.type
class OrgMutation:
    create_org_unit = CreateOrgUnit.field()
    rename_org_unit = RenameOrgUnit.field()
    move_org_unit = MoveOrgUnit.field()
    retire_org_unit = RetireOrgUnit.field()
    create_building = CreateBuilding.field()
    update_building_culture = UpdateBuildingCulture.field()
    create_household = CreateHousehold.field()
    create_party_organisation = CreatePartyOrganisation.field()
    designate_central_household = DesignateCentralHousehold.field()
    create_work_unit = CreateWorkUnit.field()
    pair_work_unit = PairWorkUnit.field()
    end_central_household = EndCentralHousehold.field()
    end_work_unit_pairing = EndWorkUnitPairing.field()
