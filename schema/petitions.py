"""GraphQL types, queries and mutations of petitions (诉求), their categories, timelines and
ratings (一事一评)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from models import org as mo
from models import people as mp
from models import petitions as m
from models.base import utcnow
from permissions import petitions as rules
from permissions.actor import Actor
from resolvers import petitions as r
from resolvers.errors import DomainError, invalid
from resolvers.pagination import Narrowing, PageArgs
from resolvers.workflow import Flow
from schema.context import Context, Info
from schema.declare import Paged, column, computed, expose, many, paged, reference, row_type
from schema.errors import UserError, domain_error
from schema.operations import Mutation, Refs, allowed_actions
from schema.org import BuildingNode, OrgUnitNode
from schema.people import PersonNode
from schema.relay import Connection, Node, expect_id, from_global_id  # noqa: F401

expose(m.Channel, name="PetitionChannel")
expose(m.Level, name="HandlingLevel")
expose(m.Priority, name="PetitionPriority")
expose(m.PetitionStatus, name="PetitionStatus")
expose(m.PetitionAction, name="PetitionAction")
expose(m.RatingValue, name="Rating")
expose(r.PetitionOrder, name="PetitionOrder")


@domain_error(Flow, r.PetitionCode)
class PetitionError(UserError):
    """Why a petition, its rating or a category change was refused."""


@row_type(
    m.PetitionCategory,
    name="PetitionCategory",
    description="What a petition is about, and its remit.",
)
class PetitionCategoryNode(Node):
    code: str = column()
    name: str = column()
    remit_levels: list[m.Level] = column(
        description="Levels whose remit covers it; a new petition goes to the lowest."
    )
    default_priority: m.Priority = column()
    active: bool = column()


@strawberry.type(description="How long a petition of a priority may take before it escalates.")
class DueTime:
    priority: m.Priority
    hours: float


@row_type(
    m.PetitionEvent,
    name="PetitionEvent",
    description="One step of a petition's timeline.",
    node=False,
)
class PetitionEventNode:
    at: datetime = column()
    action: m.PetitionAction = column()
    from_status: m.PetitionStatus | None = column()
    to_status: m.PetitionStatus = column()
    note: str | None = column()
    from_level: m.Level | None = column()
    to_level: m.Level | None = column()
    version: int = column()
    by_reporter: bool = column(description="Taken by the resident who reported it.")
    actor: PersonNode | None = reference(
        m.PetitionEvent.actor_person_id,
        description="Who acted (null for the scheduler and an anonymous reporter).",
    )
    assignee: PersonNode | None = reference(m.PetitionEvent.assignee_id)


@row_type(
    m.PetitionRating,
    name="PetitionRating",
    description="一事一评: the resident's rating of a round.",
    node=False,
)
class PetitionRatingNode:
    rating: m.RatingValue = column()
    comment: str | None = column()
    round: int = column()
    resolved_level: m.Level = column()
    at: datetime = column()


@row_type(
    m.PetitionStage,
    name="PetitionStage",
    description="One level's turn with a case: from receiving it (submission, escalation, "
    "reopening) to closing or passing it on, judged against that level's own deadline.",
    node=False,
)
class PetitionStageNode:
    level: m.Level = column()
    round: int = column(description="The case's reopen count when the turn began (0 first).")
    started_at: datetime = column()
    due_at: datetime = column(description="This level's own deadline for the case.")
    accepted_at: datetime | None = column(description="First acceptance during the turn.")
    assigned_at: datetime | None = column(description="First assignment during the turn.")
    first_contact_at: datetime | None = column(description="First contact during the turn.")
    ended_at: datetime | None = column()
    ended_by: m.PetitionAction | None = column(
        description="RESOLVE, DECLARE_NOT_RESOLVABLE, REJECT, MARK_DUPLICATE or ESCALATE."
    )
    on_time: bool | None = computed(
        r.stage_on_time,
        sql=r.stage_on_time_sql,
        description="Ended within its deadline; false once the deadline passed without; "
        "null while it runs in time.",
    )
    owner: OrgUnitNode | None = reference(
        m.PetitionStage.owner_org_unit_id, description="The owning node (null: the building)."
    )


@row_type(
    m.Petition, name="Petition", description="诉求: a resident's request, handled in a closed loop."
)
class PetitionNode(Node):
    channel: m.Channel = column()
    title: str = column()
    description: str = column()
    location_note: str | None = column()
    anonymous: bool = column()
    priority: m.Priority = column()
    photos: list[str] = column()
    owner_level: m.Level = column()
    status: m.PetitionStatus = column()
    version: int = column(description="Pass it back as `expectedVersion`.")
    rejection_reason: str | None = column()
    resolution_note: str | None = column()
    escalation_count: int = column()
    reopen_count: int = column()
    submitted_at: datetime = column()
    due_at: datetime = column(
        description="The owning level's deadline: restarts for each new owner (escalation, "
        "reopening); the scheduler escalates a case past it."
    )
    case_due_at: datetime = column(
        description="The case's deadline: receipt + its priority's due time; escalation "
        "leaves it, reopening sets reopen time + due time."
    )
    accepted_at: datetime | None = column(description="First acceptance of the case.")
    assigned_at: datetime | None = column(description="First assignment of the case.")
    first_contact_at: datetime | None = column(description="First contact of the case.")
    resolved_at: datetime | None = column()
    closed_at: datetime | None = column()
    overdue: bool = computed(
        r.overdue, sql=r.overdue_sql, description="Open and past the owning level's deadline."
    )
    case_overdue: bool = computed(
        r.case_overdue, sql=r.case_overdue_sql, description="Open and past the case's deadline."
    )
    on_time: bool | None = computed(
        r.case_on_time,
        sql=r.case_on_time_sql,
        description="The case met its deadline (every round resolved by its case deadline); "
        "false once missed; null while open in time, or rejected or merged.",
    )
    category: PetitionCategoryNode | None = reference(m.Petition.category_id)
    building: BuildingNode | None = reference(m.Petition.building_id)
    org_unit: OrgUnitNode | None = reference(
        m.Petition.org_unit_id, description="The place, when it is not a building."
    )
    reporter: PersonNode | None = reference(
        m.Petition.reporter_id,
        policy="Petition",
        description="Who reported it: null when anonymous, to everyone but the reporter.",
    )
    recorded_by: PersonNode | None = reference(
        m.Petition.recorded_by_id, description="Staff who recorded it on the resident's behalf."
    )
    assignee: PersonNode | None = reference(m.Petition.assignee_id)
    owner: OrgUnitNode | None = reference(
        m.Petition.owner_org_unit_id, description="The node that owns it now."
    )
    duplicate_of: PetitionNode | None = reference(m.Petition.duplicate_of_id)
    allowed_actions: list[m.PetitionAction] = allowed_actions(r.PETITIONS, rules.PETITION_ACTIONS)
    timeline: list[PetitionEventNode] = many(r.TIMELINE, description="Every step, oldest first.")
    stages: list[PetitionStageNode] = many(
        r.STAGES, description="Each level's turn with the case, oldest first."
    )
    ratings: list[PetitionRatingNode] = many(r.RATINGS)


# --- queries ------------------------------------------------------------------------------


@strawberry.input(description="Every given condition must hold.")
class PetitionFilterInput:
    statuses: list[m.PetitionStatus] | None = None
    channels: list[m.Channel] | None = None
    category_ids: list[strawberry.ID] | None = None
    priorities: list[m.Priority] | None = None
    handling_levels: list[m.Level] | None = None
    overdue: bool = strawberry.field(
        default=False, description="Only open cases past their owning level's deadline."
    )
    case_overdue: bool = strawberry.field(
        default=False, description="Only open cases past the case's deadline."
    )
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None


def petition_filter(
    f: PetitionFilterInput | None,
    order: r.PetitionOrder,
    *,
    owned_by_building: bool = False,
    waiting: Narrowing | None = None,
) -> r.PetitionFilter:
    f = f or PetitionFilterInput()
    now = utcnow()
    return r.PetitionFilter(
        statuses=tuple(f.statuses or ()),
        channels=tuple(f.channels or ()),
        category_ids=tuple(
            expect_id(c, "PetitionCategory", "category_ids") for c in f.category_ids or ()
        ),
        priorities=tuple(f.priorities or ()),
        owner_levels=tuple(f.handling_levels or ()),
        overdue_at=now if f.overdue else None,
        case_overdue_at=now if f.case_overdue else None,
        submitted_from=f.submitted_from,
        submitted_before=f.submitted_before,
        owned_by_building=owned_by_building,
        waiting=waiting,
        order=order,
    )


def _petitions(
    actor: Actor,
    filter: PetitionFilterInput | None = None,
    order_by: r.PetitionOrder = r.PetitionOrder.SUBMITTED,
    under: strawberry.ID | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Paged:
    args = PageArgs.parse(first, after, last, before)
    f = petition_filter(filter, order_by)
    kind, place = from_global_id(under, "under") if under else ("OrgUnit", None)
    if kind == "Building" and place is not None:
        return Paged(r.PETITIONS_OF_BUILDING, args, f, place)
    if kind != "OrgUnit":
        raise invalid("`under` is an OrgUnit or a Building", "under")
    if place is None:
        return Paged(r.ALL_PETITIONS, args, f)
    return Paged(r.PETITIONS_UNDER, args, f, place)


def _petition_queue(
    actor: Actor,
    org_unit_id: strawberry.ID | None = None,
    building_id: strawberry.ID | None = None,
    filter: PetitionFilterInput | None = None,
    order_by: r.PetitionOrder = r.PetitionOrder.DUE,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Paged:
    if (org_unit_id is None) == (building_id is None):
        raise invalid("give exactly one of `orgUnitId` and `buildingId`", "org_unit_id")
    args = PageArgs.parse(first, after, last, before)
    if building_id is not None:
        building = expect_id(building_id, "Building", "building_id")
        f = petition_filter(filter, order_by, owned_by_building=True)
        return Paged(r.BUILDING_QUEUE, args, f, building)
    unit = expect_id(org_unit_id or "", "OrgUnit", "org_unit_id")
    return Paged(r.OWNED_PETITIONS, args, petition_filter(filter, order_by), unit)


@strawberry.type
class PetitionQuery:
    petitions = paged(
        _petitions,
        "PetitionNode",
        listing=r.ALL_PETITIONS,
        description="Petitions you may see (your own, or in your subtree), optionally only "
        "those under an org unit or at a building.",
    )
    petition_queue = paged(
        _petition_queue,
        "PetitionNode",
        listing=r.OWNED_PETITIONS,
        description="The queue of a node: petitions an org unit (`orgUnitId`) or a building "
        "(`buildingId`) owns now; give exactly one.",
    )

    @strawberry.field(graphql_type=list[PetitionCategoryNode])
    async def petition_categories(
        self, info: Info, include_inactive: bool = False
    ) -> list[m.PetitionCategory]:
        return await r.list_categories(info.context.session, include_inactive=include_inactive)

    @strawberry.field(description="Due time per priority (editable by city admins).")
    async def petition_due_times(self, info: Info) -> list[DueTime]:
        times = await r.due_times(info.context.session)
        return [DueTime(priority=p, hours=due.total_seconds() / 3600) for p, due in times.items()]


# --- mutations ----------------------------------------------------------------------------


@strawberry.input(description="A new petition; `idempotencyKey` makes retries safe.")
class SubmitPetitionInput:
    idempotency_key: str = strawberry.field(
        description="Client-made, 8-128 characters; the same key returns the same petition."
    )
    channel: m.Channel
    category_id: strawberry.ID
    title: str
    description: str
    building_id: strawberry.ID | None = None
    org_unit_id: strawberry.ID | None = strawberry.field(
        default=None, description="The place when it is not a building."
    )
    location_note: str | None = None
    reporter_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff recording for a resident: whose petition it is."
    )
    anonymous: bool = False
    priority: m.Priority | None = None
    photos: list[str] = strawberry.field(
        default_factory=list, description="URLs or stored keys (up to 9)."
    )


@strawberry.type
class PetitionPayload:
    petition: PetitionNode | None
    errors: list[PetitionError]


@strawberry.input(description="Move a petition along the closed loop.")
class TransitionPetitionInput:
    id: strawberry.ID
    action: m.PetitionAction
    expected_version: int
    note: str | None = strawberry.field(
        default=None, description="Reason, resolution note or explanation, as the action needs."
    )
    assignee_id: strawberry.ID | None = None
    duplicate_of_id: strawberry.ID | None = None


@strawberry.input
class RatePetitionInput:
    id: strawberry.ID
    rating: m.RatingValue
    comment: str | None = None


@strawberry.type
class RatePetitionPayload:
    petition: m.Petition | None = strawberry.field(graphql_type=PetitionNode | None)
    points_credited: int = strawberry.field(description="Points credited to the building head.")
    errors: list[UserError] = strawberry.field(graphql_type=list[PetitionError])


@strawberry.input
class PetitionCategoryInput:
    code: str
    name: str
    remit_levels: list[m.Level]
    default_priority: m.Priority


@strawberry.input
class UpdatePetitionCategoryInput:
    id: strawberry.ID
    name: str | None = None
    remit_levels: list[m.Level] | None = None
    default_priority: m.Priority | None = None
    active: bool | None = None


@strawberry.type
class PetitionCategoryPayload:
    category: PetitionCategoryNode | None
    errors: list[PetitionError]


@strawberry.input
class SetDueTimeInput:
    priority: m.Priority
    hours: float


@strawberry.type
class DueTimePayload:
    due_time: DueTime | None
    errors: list[UserError] = strawberry.field(graphql_type=list[PetitionError])


def _conceal_if_reporter(ctx: Context, petition: m.Petition) -> None:
    """Anything the reporter of an anonymous petition does to it is audited without a name."""
    person_id = ctx.actor.person_id
    if petition.anonymous and person_id is not None and person_id == petition.reporter_id:
        assert petition.id is not None
        ctx.audit.conceal(("Petition", petition.id))


def _names_self(ctx: Context, reporter_id: strawberry.ID | None) -> bool:
    """No reporter given, or the actor's own id: the resident files for themselves."""
    if reporter_id is None:
        return True
    try:
        kind, ident = from_global_id(reporter_id, "reporter_id")
    except DomainError:
        return False
    return kind == "Person" and ident == ctx.actor.person_id


def _unlinked(petition: m.Petition) -> m.Petition | None:
    """What the audit log may link to the acting person: never an anonymous petition (the
    entry keeps who acted and when, not which case)."""
    return None if petition.anonymous else petition


class SubmitPetition(Mutation[SubmitPetitionInput, m.Petition, PetitionPayload]):
    """File a petition (the resident's own, or recorded for one)."""

    refs = {
        "category_id": m.PetitionCategory,
        "building_id": mo.Building,
        "org_unit_id": mo.OrgUnit,
        "reporter_id": mp.Person,
    }
    permission = rules.SUBMIT_PETITION
    errors = PetitionError
    #: the API names whom a recording is for by `reporterId` alone
    error_fields = {"recorded_by_id": "reporter_id"}
    audit_type = "Petition"

    async def admit(self, ctx: Context, input: SubmitPetitionInput) -> None:
        """A resident's own anonymous petition is audited nameless, refusals included; a
        petition names one place."""
        if input.anonymous and _names_self(ctx, input.reporter_id):
            ctx.audit.conceal()
        if (input.building_id is None) == (input.org_unit_id is None):
            raise invalid("give either a building or an org unit as the place", "building_id")

    async def perform(self, ctx: Context, input: SubmitPetitionInput, refs: Refs) -> m.Petition:
        me = ctx.actor.person_id
        reporter = refs.id("reporter_id")
        own = reporter is None or reporter == me
        draft = r.PetitionDraft(
            channel=input.channel,
            category_id=refs.need("category_id"),
            title=input.title,
            description=input.description,
            building_id=refs.id("building_id"),
            org_unit_id=refs.id("org_unit_id"),
            location_note=input.location_note,
            reporter_id=reporter if reporter is not None else me,
            recorded_by_id=None if own else me,
            anonymous=input.anonymous,
            priority=input.priority,
            photos=tuple(input.photos),
        )
        return await r.submit_petition(ctx.session, draft, idempotency_key=input.idempotency_key)

    def audited(self, result: m.Petition) -> Any:
        return _unlinked(result)


class TransitionPetition(Mutation[TransitionPetitionInput, m.Petition, PetitionPayload]):
    """Accept, assign, acknowledge, resolve, escalate ..."""

    refs = {"id": m.Petition, "assignee_id": mp.Person, "duplicate_of_id": m.Petition}
    permission = rules.TRANSITION_PETITION
    errors = PetitionError
    error_fields = {"petition_id": "id"}

    async def perform(self, ctx: Context, input: TransitionPetitionInput, refs: Refs) -> m.Petition:
        _conceal_if_reporter(ctx, refs.row_of("id", m.Petition))
        return await r.transition(
            ctx.session,
            refs.need("id"),
            input.action,
            input.expected_version,
            ctx.actor.person_id,
            note=input.note,
            assignee_id=refs.id("assignee_id"),
            duplicate_of_id=refs.id("duplicate_of_id"),
        )


class RatePetition(Mutation[RatePetitionInput, r.RatingOutcome, RatePetitionPayload]):
    """一事一评: the resident rates the handling of their petition."""

    refs = {"id": m.Petition}
    permission = rules.RATE_PETITION
    errors = PetitionError
    error_fields = {"petition_id": "id"}
    audit_type = "PetitionRating"

    async def perform(self, ctx: Context, input: RatePetitionInput, refs: Refs) -> r.RatingOutcome:
        _conceal_if_reporter(ctx, refs.row_of("id", m.Petition))
        rater = ctx.actor.person_id
        assert rater is not None
        return await r.rate_petition(
            ctx.session,
            petition_id=refs.need("id"),
            rater_person_id=rater,
            rating=input.rating,
            comment=input.comment,
        )

    def audited(self, result: r.RatingOutcome) -> Any:
        return result.rating if _unlinked(result.petition) else None

    def payload(
        self, result: r.RatingOutcome | None, errors: list[UserError]
    ) -> RatePetitionPayload:
        return RatePetitionPayload(
            petition=result.petition if result else None,
            points_credited=result.points.points if result and result.points else 0,
            errors=errors,
        )


class CreatePetitionCategory(
    Mutation[PetitionCategoryInput, m.PetitionCategory, PetitionCategoryPayload]
):
    """A new petition category (city admins)."""

    permission = rules.EDIT_CATEGORIES
    errors = PetitionError

    async def perform(
        self, ctx: Context, input: PetitionCategoryInput, refs: Refs
    ) -> m.PetitionCategory:
        return await r.create_category(
            ctx.session,
            code=input.code,
            name=input.name,
            remit_levels=list(input.remit_levels),
            default_priority=input.default_priority,
        )


class UpdatePetitionCategory(
    Mutation[UpdatePetitionCategoryInput, m.PetitionCategory, PetitionCategoryPayload]
):
    """Rename, re-scope or retire a category (city admins)."""

    refs = {"id": m.PetitionCategory}
    permission = rules.EDIT_CATEGORIES
    errors = PetitionError
    error_fields = {"category_id": "id"}

    async def perform(
        self, ctx: Context, input: UpdatePetitionCategoryInput, refs: Refs
    ) -> m.PetitionCategory:
        return await r.update_category(
            ctx.session,
            category_id=refs.need("id"),
            name=input.name,
            remit_levels=list(input.remit_levels) if input.remit_levels is not None else None,
            default_priority=input.default_priority,
            active=input.active,
        )


class SetPetitionDueTime(Mutation[SetDueTimeInput, m.PetitionDueTime, DueTimePayload]):
    """Set the due time of a priority (city admins)."""

    permission = rules.EDIT_CATEGORIES
    errors = PetitionError

    async def perform(self, ctx: Context, input: SetDueTimeInput, refs: Refs) -> m.PetitionDueTime:
        return await r.set_due_time(ctx.session, priority=input.priority, hours=input.hours)

    def payload(self, result: m.PetitionDueTime | None, errors: list[UserError]) -> DueTimePayload:
        due = (
            DueTime(priority=result.priority, hours=result.due_in.total_seconds() / 3600)
            if result
            else None
        )
        return DueTimePayload(due_time=due, errors=errors)


@strawberry.type
class PetitionMutation:
    submit_petition = SubmitPetition.field()
    transition_petition = TransitionPetition.field()
    rate_petition = RatePetition.field()
    create_petition_category = CreatePetitionCategory.field()
    update_petition_category = UpdatePetitionCategory.field()
    set_petition_due_time = SetPetitionDueTime.field()
