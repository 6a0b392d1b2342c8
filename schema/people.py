"""GraphQL types, queries and mutations of people, positions and 1+N pairings."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from models import org as mo
from models import people as m
from models.audit import AuditAction
from models.crypto import decrypt_id_card
from permissions.operations import refusal_key, refusal_limit
from permissions.policy import filterable
from resolvers import identity as ri
from resolvers import people as r
from resolvers.errors import DomainError, ErrorCode
from schema.common import (
    forbidden,
    mutate,
    optional_id,
    page_args,
    require,
    require_manageable,
    require_position_end,
)
from schema.context import Info
from schema.errors import UserError
from schema.org import (
    BuildingNode,
    HouseholdNode,
    OrgUnitNode,
    PartyOrganisationNode,
    WorkUnitNode,
)
from schema.policy import guard
from schema.relay import Connection, Node, connection, expect_id, to_global_id


@strawberry.input(description="Filters for lists of people; every given condition must hold.")
class PersonFilterInput:
    name_prefix: str | None = None
    gender: m.Gender | None = None
    is_party_member: bool | None = None
    is_veteran: bool | None = None
    is_elderly: bool | None = None
    lives_alone: bool | None = None
    is_renter: bool | None = None
    age_band: r.AgeBand | None = None


#: Which policy field each filter reads: filtering on a field reveals it.
FILTER_FIELDS = {
    "name_prefix": "name",
    "gender": "gender",
    "is_party_member": "isPartyMember",
    "is_veteran": "isVeteran",
    "is_elderly": "isElderly",
    "lives_alone": "livesAlone",
    "is_renter": "isRenter",
    "age_band": "ageBand",
}


#: Which policy field each ordering reads: sorting on a field reveals it as filtering does.
ORDER_FIELDS = {r.PersonOrder.NAME: "name", r.PersonOrder.BIRTH_DATE: "birthDate"}


def person_filter(
    info: Info, f: PersonFilterInput | None, order: r.PersonOrder | None, *, residents: bool
) -> r.PersonFilter:
    """The filter and order, refused for any field the actor would not see in full on every
    row of the list (with no order asked: by name where that is allowed, else in the order
    of entry). `residents`: the list holds only people living in a place, not the staff who
    serve there."""
    f = f or PersonFilterInput()
    actor = info.context.actor

    def readable(field: str) -> bool:
        return filterable(actor, "Person", field, serving=not residents)

    for attribute, field in FILTER_FIELDS.items():
        if getattr(f, attribute) is not None and not readable(field):
            raise DomainError(
                ErrorCode.FORBIDDEN, f"you may not filter people by `{field}`", "filter"
            )
    if order is not None and not readable(ORDER_FIELDS[order]):
        raise DomainError(
            ErrorCode.FORBIDDEN, f"you may not order people by `{ORDER_FIELDS[order]}`", "orderBy"
        )
    if order is None:
        order = r.PersonOrder.NAME if readable("name") else None
    return r.PersonFilter(
        name_prefix=f.name_prefix,
        gender=f.gender,
        is_party_member=f.is_party_member,
        is_veteran=f.is_veteran,
        is_elderly=f.is_elderly,
        lives_alone=f.lives_alone,
        is_renter=f.is_renter,
        age_band=f.age_band,
        order=order,
    )


@strawberry.type(name="Person", description="A resident or anyone holding a position.")
class PersonNode(Node):
    """Every field below is governed by `permissions.policy.FIELD_POLICY["Person"]`."""

    db_id: strawberry.Private[int]
    row: strawberry.Private[m.Person]
    id: strawberry.ID = strawberry.field(extensions=guard("Person", "id"))
    created_at: datetime = strawberry.field(extensions=guard("Person", "createdAt"))

    @classmethod
    def from_row(cls, row: m.Person) -> PersonNode:
        assert row.id is not None
        return cls(
            id=to_global_id("Person", row.id), db_id=row.id, row=row, created_at=row.created_at
        )

    @property
    def row_path(self) -> str | None:
        return self.row.path

    @strawberry.field(extensions=guard("Person", "name"), description="Masked: 张*丰.")
    def name(self) -> str | None:
        return self.row.name

    @strawberry.field(extensions=guard("Person", "gender"))
    def gender(self) -> m.Gender | None:
        return self.row.gender

    @strawberry.field(extensions=guard("Person", "phone"), description="Masked: 138****1234.")
    def phone(self) -> str | None:
        return self.row.phone

    @strawberry.field(
        extensions=guard("Person", "idCardNumber"),
        description="Resident ID number, encrypted at rest. Masked: 5****************X.",
    )
    def id_card_number(self) -> str | None:
        return decrypt_id_card(self.row.id_card_cipher) if self.row.id_card_cipher else None

    @strawberry.field(
        extensions=guard("Person", "birthDate"), description="Null when masked: see ageBand."
    )
    def birth_date(self) -> date | None:
        return self.row.birth_date

    @strawberry.field(extensions=guard("Person", "age"))
    def age(self) -> int | None:
        return r.age_on(self.row.birth_date, r.today()) if self.row.birth_date else None

    @strawberry.field(extensions=guard("Person", "ageBand"))
    def age_band(self) -> r.AgeBand | None:
        return r.age_band(self.row.birth_date) if self.row.birth_date else None

    @strawberry.field(extensions=guard("Person", "isPartyMember"))
    def is_party_member(self) -> bool | None:
        return self.row.is_party_member

    @strawberry.field(extensions=guard("Person", "isVeteran"))
    def is_veteran(self) -> bool | None:
        return self.row.is_veteran

    @strawberry.field(extensions=guard("Person", "isElderly"))
    def is_elderly(self) -> bool | None:
        return self.row.is_elderly

    @strawberry.field(extensions=guard("Person", "livesAlone"))
    def lives_alone(self) -> bool | None:
        return self.row.lives_alone

    @strawberry.field(extensions=guard("Person", "isRenter"))
    def is_renter(self) -> bool | None:
        return self.row.is_renter

    @strawberry.field(extensions=guard("Person", "healthNotes"))
    def health_notes(self) -> str | None:
        return self.row.health_notes

    @strawberry.field(extensions=guard("Person", "household"))
    async def household(self, info: Info) -> HouseholdNode | None:
        row = await info.context.loaders.get(mo.Household, self.row.household_id)
        return HouseholdNode.from_row(row) if row else None

    @strawberry.field(
        extensions=guard("Person", "partyOrganisation"),
        description="The Party organisation a Party member belongs to.",
    )
    async def party_organisation(self, info: Info) -> PartyOrganisationNode | None:
        row = await info.context.loaders.get(mo.PartyOrganisation, self.row.party_org_id)
        return PartyOrganisationNode.from_row(row) if row else None

    @strawberry.field(
        extensions=guard("Person", "positions", withheld=[]),
        description="Positions held, newest first.",
    )
    async def positions(self, info: Info, active_only: bool = True) -> list[PositionNode]:
        rows = await r.positions_of(
            info.context.loaders,
            m.Position.person_id,
            self.db_id,
            r.PositionFilter(active_only=active_only),
        )
        return [PositionNode.from_row(row) for row in rows]

    @strawberry.field(
        extensions=guard("Person", "pairings", withheld=[]),
        description="1+N: households this Party member is paired with.",
    )
    async def pairings(self, info: Info) -> list[PairingNode]:
        rows = await r.pairings_of(info.context.loaders, m.Pairing.party_member_id, self.db_id)
        return [PairingNode.from_row(row) for row in rows]


@strawberry.type(name="Position", description="A role held by a person at a place, for a period.")
class PositionNode(Node):
    row: strawberry.Private[m.Position]
    role: m.Role
    selection_method: m.SelectionMethod | None
    priority_basis: list[m.PriorityBasis]
    team: str | None
    staff_kind: m.StaffKind | None
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None

    @classmethod
    def from_row(cls, row: m.Position) -> PositionNode:
        assert row.id is not None
        return cls(
            id=to_global_id("Position", row.id),
            row=row,
            role=row.role,
            selection_method=row.selection_method,
            priority_basis=[m.PriorityBasis(b) for b in row.priority_basis],
            team=row.team,
            staff_kind=row.staff_kind,
            started_at=row.started_at,
            ended_at=row.ended_at,
            end_reason=row.end_reason,
        )

    @strawberry.field
    def active(self) -> bool:
        return self.row.ended_at is None

    @strawberry.field
    async def person(self, info: Info) -> PersonNode | None:
        row = await info.context.loaders.get(m.Person, self.row.person_id)
        return PersonNode.from_row(row) if row else None

    @strawberry.field(description="The org unit where the role is held (if not a building).")
    async def org_unit(self, info: Info) -> OrgUnitNode | None:
        row = await info.context.loaders.get(mo.OrgUnit, self.row.org_unit_id)
        return OrgUnitNode.from_row(row) if row else None

    @strawberry.field(description="The building where the role is held (if any).")
    async def building(self, info: Info) -> BuildingNode | None:
        row = await info.context.loaders.get(mo.Building, self.row.building_id)
        return BuildingNode.from_row(row) if row else None

    @strawberry.field(description="The work unit a seconded cadre or registered member comes from.")
    async def work_unit(self, info: Info) -> WorkUnitNode | None:
        row = await info.context.loaders.get(mo.WorkUnit, self.row.work_unit_id)
        return WorkUnitNode.from_row(row) if row else None


@strawberry.type(name="Pairing", description="1+N: a Party member paired with a household.")
class PairingNode(Node):
    """Every field below is governed by `permissions.policy.FIELD_POLICY["Pairing"]`."""

    row: strawberry.Private[m.Pairing]
    id: strawberry.ID = strawberry.field(extensions=guard("Pairing", "id"))
    started_at: datetime = strawberry.field(extensions=guard("Pairing", "startedAt"))
    ended_at: datetime | None = strawberry.field(extensions=guard("Pairing", "endedAt"))

    @classmethod
    def from_row(cls, row: m.Pairing) -> PairingNode:
        assert row.id is not None
        return cls(
            id=to_global_id("Pairing", row.id),
            row=row,
            started_at=row.started_at,
            ended_at=row.ended_at,
        )

    @property
    def db_id(self) -> int:
        assert self.row.id is not None
        return self.row.id

    @property
    def row_path(self) -> str | None:
        return self.row.path

    @strawberry.field(extensions=guard("Pairing", "partyMember"))
    async def party_member(self, info: Info) -> PersonNode | None:
        row = await info.context.loaders.get(m.Person, self.row.party_member_id)
        return PersonNode.from_row(row) if row else None

    @strawberry.field(extensions=guard("Pairing", "household"))
    async def household(self, info: Info) -> HouseholdNode | None:
        row = await info.context.loaders.get(mo.Household, self.row.household_id)
        return HouseholdNode.from_row(row) if row else None


@strawberry.type
class PeopleQuery:
    @strawberry.field(description="People anywhere in the actor's scope.")
    async def people(
        self,
        info: Info,
        filter: PersonFilterInput | None = None,
        order_by: r.PersonOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PersonNode]:
        page = await r.people_under(
            info.context.loaders,
            "all",
            None,
            page_args(first, after, last, before),
            person_filter(info, filter, order_by, residents=False),
        )
        return connection(page, PersonNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field(description="Positions anywhere in the actor's scope.")
    async def positions(
        self,
        info: Info,
        role: m.Role | None = None,
        active_only: bool = True,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PositionNode]:
        page = await r.positions_under(
            info.context.loaders,
            None,
            page_args(first, after, last, before),
            r.PositionFilter(role, active_only),
        )
        return connection(page, PositionNode.from_row)  # type: ignore[no-any-return]


# --- mutations ---------------------------------------------------------------------


@strawberry.input
class CreatePersonInput:
    name: str
    gender: m.Gender
    household_id: strawberry.ID | None = None
    birth_date: date | None = None
    phone: str | None = None
    id_card_number: str | None = None
    is_party_member: bool = False
    is_veteran: bool = False
    is_elderly: bool = False
    lives_alone: bool = False
    is_renter: bool = False
    health_notes: str | None = None


@strawberry.type
class PersonPayload:
    person: PersonNode | None
    errors: list[UserError]


@strawberry.input(description="Grant a role at exactly one of an org unit or a building.")
class AppointPositionInput:
    person_id: strawberry.ID
    role: m.Role
    org_unit_id: strawberry.ID | None = None
    building_id: strawberry.ID | None = None
    selection_method: m.SelectionMethod | None = None
    priority_basis: list[m.PriorityBasis] = strawberry.field(default_factory=list)
    work_unit_id: strawberry.ID | None = None
    team: str | None = None
    staff_kind: m.StaffKind | None = None


@strawberry.input
class EndPositionInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.type
class PositionPayload:
    position: PositionNode | None
    errors: list[UserError]


@strawberry.input
class CreatePairingInput:
    party_member_id: strawberry.ID
    household_id: strawberry.ID


@strawberry.type
class PairingPayload:
    pairing: PairingNode | None
    errors: list[UserError]


class RefusalLimiter:
    """Refusals of one operation to one actor, counted in PostgreSQL (shared by every app
    instance) against the limit in `permissions.operations`; every aliased call counts."""

    def __init__(self, info: Info, operation: str) -> None:
        self.session = info.context.session
        self.key = refusal_key(info.context.actor, operation)
        self.limit = refusal_limit(operation)

    async def check(self) -> None:
        if self.key is None or self.limit is None:
            return
        if not await ri.refusals_left(self.session, self.key, self.limit.limit, self.limit.window):
            raise DomainError(ErrorCode.RATE_LIMITED, "too many refused attempts: try again later")

    async def count(self, errors: list[UserError]) -> None:
        if self.key is not None and errors and errors[0].code is not ErrorCode.RATE_LIMITED:
            await ri.count_refusal(self.session, self.key)


@strawberry.type
class PeopleMutation:
    @strawberry.mutation(
        description="Register a person. An ID number registered already answers DUPLICATE only "
        "when that person is in your scope; refusals are limited per caller (RATE_LIMITED)."
    )
    async def create_person(self, info: Info, input: CreatePersonInput) -> PersonPayload:
        session = info.context.session
        household_id = optional_id(input.household_id, "Household", "householdId")
        limited = RefusalLimiter(info, "createPerson")
        outside: list[int] = []

        async def authorize() -> None:
            await limited.check()
            await require(
                info, "createPerson", (mo.Household, household_id, "householdId"), anywhere="root"
            )

        async def change() -> m.Person:
            try:
                return await r.create_person(
                    session,
                    r.PersonData(
                        name=input.name,
                        gender=input.gender,
                        household_id=household_id,
                        birth_date=input.birth_date,
                        phone=input.phone,
                        id_card_number=input.id_card_number,
                        is_party_member=input.is_party_member,
                        is_veteran=input.is_veteran,
                        is_elderly=input.is_elderly,
                        lives_alone=input.lives_alone,
                        is_renter=input.is_renter,
                        health_notes=input.health_notes,
                    ),
                )
            except r.DuplicateIdCardError as duplicate:
                if await info.context.loaders.get(m.Person, duplicate.existing_id) is not None:
                    raise
                # Outside the caller's scope the number's existence is not theirs to learn.
                outside.append(duplicate.existing_id)
                raise forbidden() from None

        row, errors = await mutate(info, authorize, change)
        if outside:
            info.context.audit.record(
                info.context.who,
                AuditAction.MUTATION,
                "Person",
                outside,
                ["idCardNumber"],
                details={"mutation": "createPerson", "refusal": "DUPLICATE_OUTSIDE_SCOPE"},
            )
        await limited.count(errors)
        return PersonPayload(person=PersonNode.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="Grant a role; a building has at most one active head.")
    async def appoint_position(
        self,
        info: Info,
        input: AppointPositionInput,
    ) -> PositionPayload:
        session = info.context.session

        async def change() -> m.Position:
            return await r.appoint(
                session,
                r.Appointment(
                    person_id=expect_id(input.person_id, "Person", "personId"),
                    role=input.role,
                    org_unit_id=optional_id(input.org_unit_id, "OrgUnit", "orgUnitId"),
                    building_id=optional_id(input.building_id, "Building", "buildingId"),
                    selection_method=input.selection_method,
                    priority_basis=tuple(input.priority_basis),
                    work_unit_id=optional_id(input.work_unit_id, "WorkUnit", "workUnitId"),
                    team=input.team,
                    staff_kind=input.staff_kind,
                ),
            )

        async def authorize() -> None:
            person_id = expect_id(input.person_id, "Person", "personId")
            await require(
                info,
                "appointPosition",
                (mo.OrgUnit, optional_id(input.org_unit_id, "OrgUnit", "orgUnitId"), "orgUnitId"),
                (
                    mo.Building,
                    optional_id(input.building_id, "Building", "buildingId"),
                    "buildingId",
                ),
                role=input.role,
                see=((m.Person, person_id, "personId"),),
            )
            await require_manageable(info, person_id, credentials=False)

        row, errors = await mutate(info, authorize, change)
        return PositionPayload(position=PositionNode.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="End a position; it stays in the history.")
    async def end_position(self, info: Info, input: EndPositionInput) -> PositionPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require_position_end(info, expect_id(input.id, "Position")),
            lambda: r.end_position(
                session, position_id=expect_id(input.id, "Position"), reason=input.reason
            ),
        )
        return PositionPayload(position=PositionNode.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="1+N: pair a Party member with a household.")
    async def create_pairing(self, info: Info, input: CreatePairingInput) -> PairingPayload:
        session = info.context.session
        row, errors = await mutate(
            info,
            lambda: require(
                info,
                "createPairing",
                (
                    mo.Household,
                    expect_id(input.household_id, "Household", "householdId"),
                    "householdId",
                ),
                see=(
                    (
                        m.Person,
                        expect_id(input.party_member_id, "Person", "partyMemberId"),
                        "partyMemberId",
                    ),
                ),
            ),
            lambda: r.create_pairing(
                session,
                party_member_id=expect_id(input.party_member_id, "Person", "partyMemberId"),
                household_id=expect_id(input.household_id, "Household", "householdId"),
            ),
        )
        return PairingPayload(pairing=PairingNode.from_row(row) if row else None, errors=errors)
