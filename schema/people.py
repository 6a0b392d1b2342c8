"""GraphQL types, queries and mutations of people, positions and 1+N pairings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NoReturn

import strawberry

from models import org as mo
from models import people as m
from models.audit import AuditAction
from models.crypto import decrypt_id_card
from permissions import people as rules
from permissions.actor import Actor
from permissions.policy import filterable
from resolvers import identity as ri
from resolvers import people as r
from resolvers.errors import Common, DomainError
from resolvers.pagination import PageArgs
from schema.context import Context
from schema.declare import (
    Paged,
    column,
    computed,
    expose,
    many,
    many_by,
    paged,
    reference,
    row_type,
)
from schema.errors import UserError, domain_error
from schema.operations import Mutation, Refs, forbidden
from schema.org import (
    BuildingNode,
    HouseholdNode,
    OrgUnitNode,
    PartyOrganisationNode,
    WorkUnitNode,
)
from schema.relay import Connection, Node  # noqa: F401  (generated annotations)

expose(m.Gender, name="Gender")
expose(m.Role, name="Role", description="A role held through a position.")
expose(m.SelectionMethod, name="SelectionMethod")
expose(m.PriorityBasis, name="PriorityBasis", description="三优先")
expose(m.StaffKind, name="StaffKind", description="红管家")
expose(m.HouseholdRelationship, name="HouseholdRelationship", description="与户主关系")
expose(r.AgeBand, name="AgeBand")
expose(r.PersonOrder, name="PersonOrder")


@domain_error(r.PeopleCode)
class PeopleError(UserError):
    """Why a change of a person, a position or a pairing was refused."""


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
    actor: Actor, f: PersonFilterInput | None, order: r.PersonOrder | None, *, residents: bool
) -> r.PersonFilter:
    """The filter and order, refused for any field the actor would not see in full on every
    row of the list (with no order asked: by name where that is allowed, else in the order
    of entry). `residents`: the list holds only people living in a place, not the staff who
    serve there."""
    f = f or PersonFilterInput()

    def readable(field: str) -> bool:
        return filterable(actor, "Person", field, serving=not residents)

    for attribute, field in FILTER_FIELDS.items():
        if getattr(f, attribute) is not None and not readable(field):
            raise DomainError(Common.FORBIDDEN, f"you may not filter people by `{field}`", "filter")
    if order is not None and not readable(ORDER_FIELDS[order]):
        raise DomainError(
            Common.FORBIDDEN, f"you may not order people by `{ORDER_FIELDS[order]}`", "order_by"
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


def _id_card(row: m.Person) -> str | None:
    return decrypt_id_card(row.id_card_cipher) if row.id_card_cipher else None


def _age(row: m.Person) -> int | None:
    return r.age_on(row.birth_date, r.today()) if row.birth_date else None


def _age_band(row: m.Person) -> r.AgeBand | None:
    return r.age_band(row.birth_date) if row.birth_date else None


def _active_positions(actor: Actor, active_only: bool = True) -> r.PositionFilter:
    return r.PositionFilter(active_only=active_only)


@row_type(
    m.Person,
    name="Person",
    description="A resident or anyone holding a position.",
    policy="Person",
)
class PersonNode(Node):
    """Every field is governed by `permissions.policy.FIELD_POLICY["Person"]`."""

    created_at: datetime = column()
    name: str | None = column(description="Masked: 张*丰.")
    gender: m.Gender | None = column()
    phone: str | None = column(description="Masked: 138****1234.")
    id_card_number: str | None = computed(
        _id_card, description="Resident ID number, encrypted at rest. Masked: 5****************X."
    )
    birth_date: date | None = column(description="Null when masked: see ageBand.")
    age: int | None = computed(_age, sql=r.age_sql)
    age_band: r.AgeBand | None = computed(_age_band, sql=r.age_band_sql)
    is_party_member: bool | None = column()
    is_veteran: bool | None = column()
    is_elderly: bool | None = column()
    lives_alone: bool | None = column()
    is_renter: bool | None = column()
    health_notes: str | None = column()
    relationship: m.HouseholdRelationship | None = column(
        description="与户主关系: how the resident stands to the head of the household."
    )
    household: HouseholdNode | None = reference(m.Person.household_id)
    party_organisation: PartyOrganisationNode | None = reference(
        m.Person.party_org_id, description="The Party organisation a Party member belongs to."
    )

    positions = many_by(
        r.POSITIONS_OF_PERSON,
        _active_positions,
        "PositionNode",
        description="Positions held, newest first.",
    )
    pairings: list[PairingNode] = many(
        r.PAIRINGS_OF_MEMBER, description="1+N: households this Party member is paired with."
    )
    household_history: list[HouseholdMembershipNode] = many(
        r.HOUSEHOLD_HISTORY, description="Households lived in, newest first (kept from moves)."
    )


@row_type(
    m.HouseholdMembership,
    name="HouseholdMembership",
    description="A period a person lived in a household.",
    policy="HouseholdMembership",
)
class HouseholdMembershipNode(Node):
    household: HouseholdNode | None = reference(m.HouseholdMembership.household_id)
    started_at: datetime | None = column()
    ended_at: datetime | None = column()
    reason: str | None = column()


def _active(row: m.Position) -> bool:
    return row.ended_at is None


def _not_ended(table: Any) -> Any:
    return table.ended_at.is_(None)


@row_type(
    m.Position, name="Position", description="A role held by a person at a place, for a period."
)
class PositionNode(Node):
    role: m.Role = column()
    selection_method: m.SelectionMethod | None = column()
    priority_basis: list[m.PriorityBasis] = column()
    team: str | None = column()
    staff_kind: m.StaffKind | None = column()
    started_at: datetime = column()
    ended_at: datetime | None = column()
    end_reason: str | None = column()
    active: bool = computed(_active, sql=_not_ended)
    person: PersonNode | None = reference(m.Position.person_id)
    org_unit: OrgUnitNode | None = reference(
        m.Position.org_unit_id,
        description="The org unit where the role is held (if not a building).",
    )
    building: BuildingNode | None = reference(
        m.Position.building_id, description="The building where the role is held (if any)."
    )
    work_unit: WorkUnitNode | None = reference(
        m.Position.work_unit_id,
        description="The work unit a seconded cadre or registered member comes from.",
    )


@row_type(
    m.Pairing,
    name="Pairing",
    description="1+N: a Party member paired with a household.",
    policy="Pairing",
)
class PairingNode(Node):
    """Every field is governed by `permissions.policy.FIELD_POLICY["Pairing"]`."""

    started_at: datetime = column()
    ended_at: datetime | None = column()
    party_member: PersonNode | None = reference(m.Pairing.party_member_id)
    household: HouseholdNode | None = reference(m.Pairing.household_id)


def _people(
    actor: Actor,
    filter: PersonFilterInput | None = None,
    order_by: r.PersonOrder | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Paged:
    f = person_filter(actor, filter, order_by, residents=False)
    return Paged(r.PEOPLE, PageArgs.parse(first, after, last, before), f)


def _positions(
    actor: Actor,
    role: m.Role | None = None,
    active_only: bool = True,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Paged:
    f = r.PositionFilter(role, active_only)
    return Paged(r.POSITIONS, PageArgs.parse(first, after, last, before), f)


@strawberry.type
class PeopleQuery:
    people = paged(
        _people, "PersonNode", listing=r.PEOPLE, description="People anywhere in the actor's scope."
    )
    positions = paged(
        _positions,
        "PositionNode",
        listing=r.POSITIONS,
        description="Positions anywhere in the actor's scope.",
    )


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
    errors: list[PeopleError]


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
    errors: list[PeopleError]


@strawberry.input
class CreatePairingInput:
    party_member_id: strawberry.ID
    household_id: strawberry.ID


@strawberry.type
class PairingPayload:
    pairing: PairingNode | None
    errors: list[PeopleError]


class _GuardsIdNumbers:
    """Answers that could tell whether an ID number is registered anywhere: a holder outside
    the caller's scope reads FORBIDDEN (and is noted for the audit log, never the number),
    and refusals count against one budget per caller, createPerson's (a mixin of the
    mutations that take an ID number)."""

    #: the mutation's name, for the audit log
    audited_as = "createPerson"

    def __init__(self) -> None:
        self.outside: list[int] = []
        self.key: str | None = None

    def probes(self, input: Any) -> bool:
        """Whether this call could probe (it gives an ID number)."""
        return True

    async def admit(self, ctx: Context, input: Any) -> None:
        if not self.probes(input):
            return
        self.key = rules.refusal_key(ctx.actor, "createPerson")
        limit = rules.refusal_limit("createPerson")
        if self.key is None or limit is None:
            return
        if not await ri.refusals_left(ctx.session, self.key, limit.limit, limit.window):
            raise DomainError(Common.RATE_LIMITED, "too many refused attempts: try again later")

    async def refuse(self, ctx: Context, duplicate: r.DuplicateIdCardError) -> NoReturn:
        """DUPLICATE for a holder the caller may see; otherwise FORBIDDEN."""
        if await ctx.loaders.get(m.Person, duplicate.existing_id) is not None:
            raise duplicate
        # Outside the caller's scope the number's existence is not theirs to learn.
        self.outside.append(duplicate.existing_id)
        raise forbidden() from None

    async def settle(
        self, ctx: Context, input: Any, result: m.Person | None, errors: list[UserError]
    ) -> None:
        if self.outside:
            ctx.audit.record(
                ctx.who,
                AuditAction.MUTATION,
                "Person",
                self.outside,
                ["idCardNumber"],
                details={"mutation": self.audited_as, "refusal": "DUPLICATE_OUTSIDE_SCOPE"},
            )
        refused = errors and errors[0].code.value != Common.RATE_LIMITED
        if self.key is not None and refused:
            await ri.count_refusal(ctx.session, self.key)


class CreatePerson(_GuardsIdNumbers, Mutation[CreatePersonInput, m.Person, PersonPayload]):
    """Register a person. An ID number registered already answers DUPLICATE only when that
    person is in your scope; refusals are limited per caller (RATE_LIMITED)."""

    refs = {"household_id": mo.Household}
    permission = rules.CREATE_PERSON
    errors = PeopleError

    async def perform(self, ctx: Context, input: CreatePersonInput, refs: Refs) -> m.Person:
        data = r.PersonData(
            name=input.name,
            gender=input.gender,
            household_id=refs.id("household_id"),
            birth_date=input.birth_date,
            phone=input.phone,
            id_card_number=input.id_card_number,
            is_party_member=input.is_party_member,
            is_veteran=input.is_veteran,
            is_elderly=input.is_elderly,
            lives_alone=input.lives_alone,
            is_renter=input.is_renter,
            health_notes=input.health_notes,
        )
        try:
            return await r.create_person(ctx.session, data)
        except r.DuplicateIdCardError as duplicate:
            await self.refuse(ctx, duplicate)


class AppointPosition(Mutation[AppointPositionInput, m.Position, PositionPayload]):
    """Grant a role; a building has at most one active head."""

    refs = {
        "person_id": m.Person,
        "org_unit_id": mo.OrgUnit,
        "building_id": mo.Building,
        "work_unit_id": mo.WorkUnit,
    }
    permission = rules.APPOINT_POSITION
    errors = PeopleError

    async def perform(self, ctx: Context, input: AppointPositionInput, refs: Refs) -> m.Position:
        return await r.appoint(
            ctx.session,
            r.Appointment(
                person_id=refs.need("person_id"),
                role=input.role,
                org_unit_id=refs.id("org_unit_id"),
                building_id=refs.id("building_id"),
                selection_method=input.selection_method,
                priority_basis=tuple(input.priority_basis),
                work_unit_id=refs.id("work_unit_id"),
                team=input.team,
                staff_kind=input.staff_kind,
            ),
        )


class EndPosition(Mutation[EndPositionInput, m.Position, PositionPayload]):
    """End a position; it stays in the history."""

    refs = {"id": m.Position}
    permission = rules.END_POSITION
    errors = PeopleError
    error_fields = {"position_id": "id"}

    async def perform(self, ctx: Context, input: EndPositionInput, refs: Refs) -> m.Position:
        return await r.end_position(ctx.session, position_id=refs.need("id"), reason=input.reason)


class CreatePairing(Mutation[CreatePairingInput, m.Pairing, PairingPayload]):
    """1+N: pair a Party member with a household."""

    refs = {"party_member_id": m.Person, "household_id": mo.Household}
    permission = rules.CREATE_PAIRING
    errors = PeopleError

    async def perform(self, ctx: Context, input: CreatePairingInput, refs: Refs) -> m.Pairing:
        return await r.create_pairing(
            ctx.session,
            party_member_id=refs.need("party_member_id"),
            household_id=refs.need("household_id"),
        )


@strawberry.input(
    description="Change what the register holds: only what is given changes "
    "(an empty phone or health note clears it)."
)
class UpdatePersonInput:
    id: strawberry.ID
    name: str | None = None
    gender: m.Gender | None = None
    birth_date: date | None = None
    phone: str | None = None
    id_card_number: str | None = None
    is_party_member: bool | None = None
    is_veteran: bool | None = None
    is_elderly: bool | None = None
    lives_alone: bool | None = None
    is_renter: bool | None = None
    health_notes: str | None = None


@strawberry.input(description="Move a person to another household, or out (no household).")
class MovePersonInput:
    id: strawberry.ID
    household_id: strawberry.ID | None = None
    reason: str | None = None


@strawberry.input
class EndPairingInput:
    id: strawberry.ID


class UpdatePerson(_GuardsIdNumbers, Mutation[UpdatePersonInput, m.Person, PersonPayload]):
    """Correct or update a person's record. A new ID number held by someone else answers
    DUPLICATE only when that person is in your scope; refusals of calls giving an ID number
    share createPerson's limit (RATE_LIMITED)."""

    refs = {"id": m.Person}
    permission = rules.UPDATE_PERSON
    errors = PeopleError
    error_fields = {"person_id": "id"}
    audited_as = "updatePerson"

    def probes(self, input: Any) -> bool:
        return bool(input.id_card_number)

    async def perform(self, ctx: Context, input: UpdatePersonInput, refs: Refs) -> m.Person:
        changes = r.PersonChanges(
            name=input.name,
            gender=input.gender,
            birth_date=input.birth_date,
            phone=input.phone,
            id_card_number=input.id_card_number,
            is_party_member=input.is_party_member,
            is_veteran=input.is_veteran,
            is_elderly=input.is_elderly,
            lives_alone=input.lives_alone,
            is_renter=input.is_renter,
            health_notes=input.health_notes,
        )
        try:
            return await r.update_person(ctx.session, refs.need("id"), changes)
        except r.DuplicateIdCardError as duplicate:
            await self.refuse(ctx, duplicate)


class MovePerson(Mutation[MovePersonInput, m.Person, PersonPayload]):
    """Move a person between households (renters in and out); the history is kept."""

    refs = {"id": m.Person, "household_id": mo.Household}
    permission = rules.MOVE_PERSON
    errors = PeopleError
    error_fields = {"person_id": "id"}

    async def perform(self, ctx: Context, input: MovePersonInput, refs: Refs) -> m.Person:
        return await r.move_person(
            ctx.session,
            person_id=refs.need("id"),
            household_id=refs.id("household_id"),
            reason=input.reason,
        )


class EndPairing(Mutation[EndPairingInput, m.Pairing, PairingPayload]):
    """End a 1+N pairing (it stays in the history)."""

    refs = {"id": m.Pairing}
    permission = rules.END_PAIRING
    errors = PeopleError
    error_fields = {"pairing_id": "id"}

    async def perform(self, ctx: Context, input: EndPairingInput, refs: Refs) -> m.Pairing:
        return await r.end_pairing(ctx.session, pairing_id=refs.need("id"))


@strawberry.type
class PeopleMutation:
    create_person = CreatePerson.field()
    update_person = UpdatePerson.field()
    move_person = MovePerson.field()
    end_pairing = EndPairing.field()
    appoint_position = AppointPosition.field()
    end_position = EndPosition.field()
    create_pairing = CreatePairing.field()
