"""GraphQL types, queries and mutations of petitions (诉求), their categories, ratings and the
points ledger, and micro-wishes (微心愿)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import strawberry

from models import org as mo
from models import people as mp
from models import petitions as m
from models.base import utcnow
from permissions.petitions import (
    lives_at,
    may_act_on_wish,
    may_edit_categories,
    may_handle,
    may_rate,
    may_record_for,
)
from resolvers import petitions as r
from resolvers import wishes as rw
from resolvers.errors import DomainError, ErrorCode
from schema import enums  # noqa: F401  (registers GraphQL enums)
from schema.common import forbidden, mutate, optional_id, page_args
from schema.context import Info
from schema.errors import UserError
from schema.org import BuildingNode, OrgUnitNode
from schema.people import PersonNode
from schema.relay import Connection, Node, connection, expect_id, from_global_id, to_global_id

for _enum, _name in (
    (m.Channel, "PetitionChannel"),
    (m.Level, "HandlingLevel"),
    (m.Priority, "PetitionPriority"),
    (m.PetitionStatus, "PetitionStatus"),
    (m.PetitionAction, "PetitionAction"),
    (m.RatingValue, "Rating"),
    (m.PointsKind, "PointsKind"),
    (m.WishStatus, "WishStatus"),
    (m.WishAction, "WishAction"),
    (r.PetitionOrder, "PetitionOrder"),
):
    strawberry.enum(_enum, name=_name)


async def _person(info: Info, ident: int | None) -> PersonNode | None:
    row = await info.context.loaders.get(mp.Person, ident)
    return PersonNode.from_row(row) if row else None


@strawberry.type(name="PetitionCategory", description="What a petition is about, and its remit.")
class PetitionCategoryNode(Node):
    row: strawberry.Private[m.PetitionCategory]
    code: str
    name: str
    remit_levels: list[m.Level] = strawberry.field(
        description="Levels whose remit covers it; a new petition goes to the lowest."
    )
    default_priority: m.Priority
    active: bool

    @classmethod
    def from_row(cls, row: m.PetitionCategory) -> PetitionCategoryNode:
        assert row.id is not None
        return cls(
            id=to_global_id("PetitionCategory", row.id),
            row=row,
            code=row.code,
            name=row.name,
            remit_levels=[m.Level(level) for level in row.remit_levels],
            default_priority=row.default_priority,
            active=row.active,
        )


@strawberry.type(description="How long a petition of a priority may take before it escalates.")
class DueTime:
    priority: m.Priority
    hours: float


@strawberry.type(name="PetitionEvent", description="One step of a petition's timeline.")
class PetitionEventNode:
    row: strawberry.Private[m.PetitionEvent]
    at: datetime
    action: m.PetitionAction
    from_status: m.PetitionStatus | None
    to_status: m.PetitionStatus
    note: str | None
    from_level: m.Level | None
    to_level: m.Level | None
    version: int
    by_reporter: bool = strawberry.field(description="Taken by the resident who reported it.")

    @classmethod
    def from_row(cls, row: m.PetitionEvent) -> PetitionEventNode:
        return cls(
            row=row,
            at=row.at,
            action=row.action,
            from_status=row.from_status,
            to_status=row.to_status,
            note=row.note,
            from_level=row.from_level,
            to_level=row.to_level,
            version=row.version,
            by_reporter=row.by_reporter,
        )

    @strawberry.field(description="Who acted (null for the scheduler and the reporter).")
    async def actor(self, info: Info) -> PersonNode | None:
        return await _person(info, self.row.actor_person_id)

    @strawberry.field
    async def assignee(self, info: Info) -> PersonNode | None:
        return await _person(info, self.row.assignee_id)


@strawberry.type(name="PetitionRating", description="一事一评: the resident's rating of a round.")
class PetitionRatingNode:
    rating: m.RatingValue
    comment: str | None
    round: int
    resolved_level: m.Level
    at: datetime


@strawberry.type(
    name="Petition", description="诉求: a resident's request, handled in a closed loop."
)
class PetitionNode(Node):
    row: strawberry.Private[m.Petition]
    channel: m.Channel
    title: str
    description: str
    location_note: str | None
    anonymous: bool
    priority: m.Priority
    photos: list[str]
    owner_level: m.Level
    status: m.PetitionStatus
    version: int = strawberry.field(description="Pass it back as `expectedVersion`.")
    rejection_reason: str | None
    resolution_note: str | None
    escalation_count: int
    reopen_count: int
    submitted_at: datetime
    due_at: datetime
    accepted_at: datetime | None
    assigned_at: datetime | None
    first_contact_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def from_row(cls, row: m.Petition) -> PetitionNode:
        assert row.id is not None
        return cls(
            id=to_global_id("Petition", row.id),
            row=row,
            channel=row.channel,
            title=row.title,
            description=row.description,
            location_note=row.location_note,
            anonymous=row.anonymous,
            priority=row.priority,
            photos=list(row.photos),
            owner_level=row.owner_level,
            status=row.status,
            version=row.version,
            rejection_reason=row.rejection_reason,
            resolution_note=row.resolution_note,
            escalation_count=row.escalation_count,
            reopen_count=row.reopen_count,
            submitted_at=row.submitted_at,
            due_at=row.due_at,
            accepted_at=row.accepted_at,
            assigned_at=row.assigned_at,
            first_contact_at=row.first_contact_at,
            resolved_at=row.resolved_at,
            closed_at=row.closed_at,
        )

    @strawberry.field
    async def category(self, info: Info) -> PetitionCategoryNode | None:
        row = await info.context.loaders.get(m.PetitionCategory, self.row.category_id)
        return PetitionCategoryNode.from_row(row) if row else None

    @strawberry.field
    async def building(self, info: Info) -> BuildingNode | None:
        row = await info.context.loaders.get(mo.Building, self.row.building_id)
        return BuildingNode.from_row(row) if row else None

    @strawberry.field(description="The place, when it is not a building.")
    async def org_unit(self, info: Info) -> OrgUnitNode | None:
        row = await info.context.loaders.get(mo.OrgUnit, self.row.org_unit_id)
        return OrgUnitNode.from_row(row) if row else None

    @strawberry.field(
        description="Who reported it: null when anonymous, to everyone but the reporter."
    )
    async def reporter(self, info: Info) -> PersonNode | None:
        if not r.reporter_visible_to(self.row, info.context.actor.person_id):
            return None
        return await _person(info, self.row.reporter_id)

    @strawberry.field(description="Staff who recorded it on the resident's behalf.")
    async def recorded_by(self, info: Info) -> PersonNode | None:
        return await _person(info, self.row.recorded_by_id)

    @strawberry.field
    async def assignee(self, info: Info) -> PersonNode | None:
        return await _person(info, self.row.assignee_id)

    @strawberry.field(description="The node that owns it now.")
    async def owner(self, info: Info) -> OrgUnitNode | None:
        row = await info.context.loaders.get(mo.OrgUnit, self.row.owner_org_unit_id)
        return OrgUnitNode.from_row(row) if row else None

    @strawberry.field
    async def duplicate_of(self, info: Info) -> PetitionNode | None:
        row = await info.context.loaders.get(m.Petition, self.row.duplicate_of_id)
        return PetitionNode.from_row(row) if row else None

    @strawberry.field
    def overdue(self) -> bool:
        return self.row.status in m.OPEN_STATUSES and self.row.due_at < utcnow()

    @strawberry.field(description="What you may do next (the transition table and your role).")
    def allowed_actions(self, info: Info) -> list[m.PetitionAction]:
        actor = info.context.actor
        return sorted(
            action
            for action in r.allowed_actions(self.row.status)
            if may_handle(
                actor,
                action,
                owner_level=self.row.owner_level,
                owner_path=self.row.owner_path,
                assignee_id=self.row.assignee_id,
            )
        )

    @strawberry.field(description="Every step, oldest first.")
    async def timeline(self, info: Info) -> list[PetitionEventNode]:
        assert self.row.id is not None
        rows = await r.timeline_of(info.context.loaders, self.row.id)
        return [PetitionEventNode.from_row(e) for e in sorted(rows, key=lambda e: e.version)]

    @strawberry.field
    async def ratings(self, info: Info) -> list[PetitionRatingNode]:
        assert self.row.id is not None
        rows = await r.ratings_of(info.context.loaders, self.row.id)
        return [
            PetitionRatingNode(
                rating=x.rating,
                comment=x.comment,
                round=x.round,
                resolved_level=x.resolved_level,
                at=x.at,
            )
            for x in sorted(rows, key=lambda x: x.round)
        ]


@strawberry.type(name="PointsEntry", description="A line of the incentive points ledger.")
class PointsEntryNode:
    kind: m.PointsKind
    points: int
    source_type: str
    source_id: str
    note: str | None
    at: datetime


@strawberry.type(name="MicroWish", description="微心愿: a small wish on a building's wall.")
class MicroWishNode(Node):
    row: strawberry.Private[m.MicroWish]
    title: str
    description: str
    status: m.WishStatus
    version: int
    evidence: list[str]
    evidence_note: str | None
    thanks: str | None
    cancel_reason: str | None
    posted_at: datetime
    published_at: datetime | None
    claimed_at: datetime | None
    fulfilled_at: datetime | None
    confirmed_at: datetime | None

    @classmethod
    def from_row(cls, row: m.MicroWish) -> MicroWishNode:
        assert row.id is not None
        return cls(
            id=to_global_id("MicroWish", row.id),
            row=row,
            title=row.title,
            description=row.description,
            status=row.status,
            version=row.version,
            evidence=list(row.evidence),
            evidence_note=row.evidence_note,
            thanks=row.thanks,
            cancel_reason=row.cancel_reason,
            posted_at=row.posted_at,
            published_at=row.published_at,
            claimed_at=row.claimed_at,
            fulfilled_at=row.fulfilled_at,
            confirmed_at=row.confirmed_at,
        )

    @strawberry.field
    async def building(self, info: Info) -> BuildingNode | None:
        row = await info.context.loaders.get(mo.Building, self.row.building_id)
        return BuildingNode.from_row(row) if row else None

    @strawberry.field(description="The resident whose wish it is.")
    async def resident(self, info: Info) -> PersonNode | None:
        return await _person(info, self.row.resident_id)

    @strawberry.field(description="The Party member, volunteer or cadre who took it on.")
    async def claimant(self, info: Info) -> PersonNode | None:
        return await _person(info, self.row.claimant_id)


# --- queries ------------------------------------------------------------------------------


@strawberry.input(description="Every given condition must hold.")
class PetitionFilterInput:
    statuses: list[m.PetitionStatus] | None = None
    channels: list[m.Channel] | None = None
    category_ids: list[strawberry.ID] | None = None
    priorities: list[m.Priority] | None = None
    handling_levels: list[m.Level] | None = None
    overdue: bool = False
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None


def petition_filter(f: PetitionFilterInput | None, order: r.PetitionOrder) -> r.PetitionFilter:
    f = f or PetitionFilterInput()
    return r.PetitionFilter(
        statuses=tuple(f.statuses or ()),
        channels=tuple(f.channels or ()),
        category_ids=tuple(
            expect_id(c, "PetitionCategory", "categoryIds") for c in f.category_ids or ()
        ),
        priorities=tuple(f.priorities or ()),
        owner_levels=tuple(f.handling_levels or ()),
        overdue_at=utcnow() if f.overdue else None,
        submitted_from=f.submitted_from,
        submitted_before=f.submitted_before,
        order=order,
    )


@strawberry.type
class PetitionQuery:
    @strawberry.field(
        description="Petitions you may see (your own, or in your subtree), optionally only "
        "those under an org unit or at a building."
    )
    async def petitions(
        self,
        info: Info,
        filter: PetitionFilterInput | None = None,
        order_by: r.PetitionOrder = r.PetitionOrder.SUBMITTED,
        under: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PetitionNode]:
        args = page_args(first, after, last, before)
        f = petition_filter(filter, order_by)
        kind, place = from_global_id(under, "under") if under else ("OrgUnit", None)
        if kind == "Building" and place is not None:
            page = await r.petitions_of_building(info.context.loaders, place, args, f)
        elif kind == "OrgUnit":
            page = await r.petitions_under(info.context.loaders, place, args, f)
        else:
            raise DomainError(ErrorCode.VALIDATION, "`under` is an OrgUnit or a Building", "under")
        return connection(page, PetitionNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field(description="The queue of a node: petitions it owns now.")
    async def petition_queue(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        filter: PetitionFilterInput | None = None,
        order_by: r.PetitionOrder = r.PetitionOrder.DUE,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PetitionNode]:
        page = await r.petitions_owned_by(
            info.context.loaders,
            expect_id(org_unit_id, "OrgUnit", "orgUnitId"),
            page_args(first, after, last, before),
            petition_filter(filter, order_by),
        )
        return connection(page, PetitionNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field
    async def petition_categories(
        self, info: Info, include_inactive: bool = False
    ) -> list[PetitionCategoryNode]:
        rows = await r.list_categories(info.context.session, include_inactive=include_inactive)
        return [PetitionCategoryNode.from_row(row) for row in rows]

    @strawberry.field(description="Due time per priority (editable by city admins).")
    async def petition_due_times(self, info: Info) -> list[DueTime]:
        times = await r.due_times(info.context.session)
        return [DueTime(priority=p, hours=due.total_seconds() / 3600) for p, due in times.items()]

    @strawberry.field(description="Your incentive points: balance and ledger, newest first.")
    async def my_points(self, info: Info) -> PointsBalance | None:
        person_id = info.context.actor.person_id
        if person_id is None:
            return None
        rows = await r.points_of(info.context.loaders, person_id)
        return PointsBalance.of(rows)

    @strawberry.field(description="A building's or community's wish wall.")
    async def wish_wall(
        self,
        info: Info,
        building_id: strawberry.ID | None = None,
        org_unit_id: strawberry.ID | None = None,
        statuses: list[m.WishStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[MicroWishNode]:
        f = rw.WishFilter(tuple(statuses) if statuses else rw.ON_THE_WALL)
        args = page_args(first, after, last, before)
        if (building_id is None) == (org_unit_id is None):
            raise DomainError(
                ErrorCode.VALIDATION,
                "give exactly one of `buildingId` and `orgUnitId`",
                "buildingId",
            )
        if building_id is not None:
            page = await rw.wish_wall_of_building(
                info.context.loaders, expect_id(building_id, "Building", "buildingId"), args, f
            )
        else:
            page = await rw.wishes_under(
                info.context.loaders, expect_id(org_unit_id or "", "OrgUnit", "orgUnitId"), args, f
            )
        return connection(page, MicroWishNode.from_row)  # type: ignore[no-any-return]


@strawberry.type(description="Points earned and redeemed.")
class PointsBalance:
    balance: int
    entries: list[PointsEntryNode]

    @classmethod
    def of(cls, rows: list[m.PointsEntry]) -> PointsBalance:
        sign = {m.PointsKind.EARNED: 1}
        return cls(
            balance=sum(e.points * sign.get(e.kind, -1) for e in rows),
            entries=[
                PointsEntryNode(
                    kind=e.kind,
                    points=e.points,
                    source_type=e.source_type,
                    source_id=str(e.source_id),
                    note=e.note,
                    at=e.at,
                )
                for e in sorted(rows, key=lambda e: e.at, reverse=True)
            ],
        )


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
    errors: list[UserError]


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
    petition: PetitionNode | None
    points_credited: int = strawberry.field(description="Points credited to the building head.")
    errors: list[UserError]


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
    errors: list[UserError]


@strawberry.input
class SetDueTimeInput:
    priority: m.Priority
    hours: float


@strawberry.type
class DueTimePayload:
    due_time: DueTime | None
    errors: list[UserError]


@strawberry.input(description="A micro-wish, by a resident or recorded for one.")
class PostWishInput:
    title: str
    description: str
    building_id: strawberry.ID | None = None
    community_id: strawberry.ID | None = None
    resident_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff recording for a resident."
    )


@strawberry.input(
    description="Move a wish along: publish, claim, release, fulfil, confirm, cancel."
)
class WishActionInput:
    id: strawberry.ID
    action: m.WishAction
    expected_version: int
    note: str | None = strawberry.field(
        default=None, description="Release note, fulfilment note, thanks or cancel reason."
    )
    evidence: list[str] = strawberry.field(
        default_factory=list, description="Photos proving a fulfilment."
    )


@strawberry.type
class WishPayload:
    wish: MicroWishNode | None
    errors: list[UserError]


async def _visible(info: Info, model: type, ident: int | None, field: str) -> Any:
    """The row, NOT_FOUND when absent or out of scope; None when no id was given."""
    if ident is None:
        return None
    row: Any = await info.context.loaders.get(model, ident)
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"{model.__name__} not found", field)
    return row


async def _place_path(info: Info, building_id: int | None, org_unit_id: int | None) -> str:
    place = await _visible(info, mo.Building, building_id, "buildingId") or await _visible(
        info, mo.OrgUnit, org_unit_id, "orgUnitId"
    )
    if place is None:
        raise DomainError(ErrorCode.VALIDATION, "say where: a building or a place", "buildingId")
    return str(getattr(place, "path", ""))


@strawberry.type
class PetitionMutation:
    @strawberry.mutation(description="File a petition (the resident's own, or recorded for one).")
    async def submit_petition(self, info: Info, input: SubmitPetitionInput) -> PetitionPayload:
        actor = info.context.actor
        drafts: list[r.PetitionDraft] = []

        async def authorize() -> None:
            building_id = optional_id(input.building_id, "Building", "buildingId")
            org_unit_id = optional_id(input.org_unit_id, "OrgUnit", "orgUnitId")
            reporter_id = optional_id(input.reporter_id, "Person", "reporterId")
            own = reporter_id is None or reporter_id == actor.person_id
            drafts.append(
                r.PetitionDraft(
                    channel=input.channel,
                    category_id=expect_id(input.category_id, "PetitionCategory", "categoryId"),
                    title=input.title,
                    description=input.description,
                    building_id=building_id,
                    org_unit_id=org_unit_id,
                    location_note=input.location_note,
                    reporter_id=reporter_id if reporter_id is not None else actor.person_id,
                    recorded_by_id=None if own else actor.person_id,
                    anonymous=input.anonymous,
                    priority=input.priority,
                    photos=tuple(input.photos),
                )
            )
            if own and input.anonymous:
                info.context.audit.conceal()
            place = await _place_path(info, building_id, org_unit_id)
            if own and actor.person_id is not None and lives_at(actor, place):
                return
            if not may_record_for(actor, place):
                raise forbidden()
            await _visible(info, mp.Person, reporter_id, "reporterId")

        row, errors = await mutate(
            info,
            authorize,
            lambda: r.submit_petition(
                info.context.session, drafts[0], idempotency_key=input.idempotency_key
            ),
            subject=_unlinked,
            object_type="Petition",
        )
        return PetitionPayload(petition=PetitionNode.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="Accept, assign, acknowledge, resolve, escalate ...")
    async def transition_petition(
        self, info: Info, input: TransitionPetitionInput
    ) -> PetitionPayload:
        async def authorize() -> None:
            row = await info.context.loaders.get(m.Petition, expect_id(input.id, "Petition"))
            if row is None:
                raise DomainError(ErrorCode.NOT_FOUND, "petition not found", "id")
            _conceal_if_reporter(info, row)
            if not may_handle(
                info.context.actor,
                input.action,
                owner_level=row.owner_level,
                owner_path=row.owner_path,
                assignee_id=row.assignee_id,
            ):
                raise forbidden()
            for model, ident, field in (
                (mp.Person, optional_id(input.assignee_id, "Person", "assigneeId"), "assigneeId"),
                (
                    m.Petition,
                    optional_id(input.duplicate_of_id, "Petition", "duplicateOfId"),
                    "duplicateOfId",
                ),
            ):
                await _visible(info, model, ident, field)

        row, errors = await mutate(
            info,
            authorize,
            lambda: r.transition(
                info.context.session,
                expect_id(input.id, "Petition"),
                input.action,
                input.expected_version,
                info.context.actor.person_id,
                note=input.note,
                assignee_id=optional_id(input.assignee_id, "Person", "assigneeId"),
                duplicate_of_id=optional_id(input.duplicate_of_id, "Petition", "duplicateOfId"),
            ),
        )
        return PetitionPayload(petition=PetitionNode.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="一事一评: the resident rates the handling of their petition.")
    async def rate_petition(self, info: Info, input: RatePetitionInput) -> RatePetitionPayload:
        person_id = info.context.actor.person_id

        async def authorize() -> None:
            row = await info.context.loaders.get(m.Petition, expect_id(input.id, "Petition"))
            if row is None:
                raise DomainError(ErrorCode.NOT_FOUND, "petition not found", "id")
            _conceal_if_reporter(info, row)
            if not may_rate(info.context.actor, row.reporter_id):
                raise DomainError(ErrorCode.FORBIDDEN, "only its resident rates a petition", "id")

        async def change() -> r.RatingOutcome:
            assert person_id is not None
            return await r.rate_petition(
                info.context.session,
                petition_id=expect_id(input.id, "Petition"),
                rater_person_id=person_id,
                rating=input.rating,
                comment=input.comment,
            )

        outcome, errors = await mutate(
            info,
            authorize,
            change,
            subject=lambda o: _unlinked(o.petition) and o.rating if o else None,
            object_type="PetitionRating",
        )
        return RatePetitionPayload(
            petition=PetitionNode.from_row(outcome.petition) if outcome else None,
            points_credited=outcome.points.points if outcome and outcome.points else 0,
            errors=errors,
        )

    @strawberry.mutation(description="A new petition category (city admins).")
    async def create_petition_category(
        self, info: Info, input: PetitionCategoryInput
    ) -> PetitionCategoryPayload:
        row, errors = await mutate(
            info,
            lambda: _category_editor(info),
            lambda: r.create_category(
                info.context.session,
                code=input.code,
                name=input.name,
                remit_levels=list(input.remit_levels),
                default_priority=input.default_priority,
            ),
        )
        return PetitionCategoryPayload(
            category=PetitionCategoryNode.from_row(row) if row else None, errors=errors
        )

    @strawberry.mutation(description="Rename, re-scope or retire a category (city admins).")
    async def update_petition_category(
        self, info: Info, input: UpdatePetitionCategoryInput
    ) -> PetitionCategoryPayload:
        row, errors = await mutate(
            info,
            lambda: _category_editor(info),
            lambda: r.update_category(
                info.context.session,
                category_id=expect_id(input.id, "PetitionCategory"),
                name=input.name,
                remit_levels=list(input.remit_levels) if input.remit_levels is not None else None,
                default_priority=input.default_priority,
                active=input.active,
            ),
        )
        return PetitionCategoryPayload(
            category=PetitionCategoryNode.from_row(row) if row else None, errors=errors
        )

    @strawberry.mutation(description="Set the due time of a priority (city admins).")
    async def set_petition_due_time(self, info: Info, input: SetDueTimeInput) -> DueTimePayload:
        async def change() -> m.PetitionDueTime:
            if not 0 < input.hours <= 24 * 90:
                raise DomainError(ErrorCode.VALIDATION, "between 0 and 90 days", "hours")
            return await r.set_due_time(
                info.context.session, priority=input.priority, due=timedelta(hours=input.hours)
            )

        row, errors = await mutate(info, lambda: _category_editor(info), change)
        due = (
            DueTime(priority=row.priority, hours=row.due_in.total_seconds() / 3600) if row else None
        )
        return DueTimePayload(due_time=due, errors=errors)

    @strawberry.mutation(description="Post a micro-wish (a resident's own, or recorded for one).")
    async def post_wish(self, info: Info, input: PostWishInput) -> WishPayload:
        actor = info.context.actor
        wanted: dict[str, int | None] = {}

        async def authorize() -> None:
            wanted["building"] = optional_id(input.building_id, "Building", "buildingId")
            wanted["community"] = optional_id(input.community_id, "OrgUnit", "communityId")
            wanted["resident"] = optional_id(input.resident_id, "Person", "residentId")
            place = await _place_path(info, wanted["building"], wanted["community"])
            own = wanted["resident"] in (None, actor.person_id)
            if own and actor.person_id is not None and lives_at(actor, place):
                wanted["resident"] = actor.person_id
                return
            if own or not may_record_for(actor, place):
                raise forbidden()
            await _visible(info, mp.Person, wanted["resident"], "residentId")

        async def change() -> m.MicroWish:
            resident = wanted["resident"]
            assert resident is not None
            return await rw.post_wish(
                info.context.session,
                resident_id=resident,
                title=input.title,
                description=input.description,
                building_id=wanted["building"],
                community_id=wanted["community"],
                recorded_by_id=None if resident == actor.person_id else actor.person_id,
            )

        row, errors = await mutate(info, authorize, change)
        return WishPayload(wish=MicroWishNode.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="Publish, claim, release, fulfil, confirm or cancel a wish.")
    async def act_on_wish(self, info: Info, input: WishActionInput) -> WishPayload:
        actor = info.context.actor
        session = info.context.session
        action = input.action

        async def authorize() -> None:
            row = await info.context.loaders.get(m.MicroWish, expect_id(input.id, "MicroWish"))
            if row is None:
                raise DomainError(ErrorCode.NOT_FOUND, "wish not found", "id")
            if not may_act_on_wish(
                actor,
                action,
                place_path=row.path,
                claimant_id=row.claimant_id,
                resident_id=row.resident_id,
                recorded_by_id=row.recorded_by_id,
            ):
                raise forbidden()

        async def change() -> m.MicroWish:
            wish_id = expect_id(input.id, "MicroWish")
            person = actor.person_id
            version = input.expected_version
            match action:
                case m.WishAction.PUBLISH:
                    return await rw.publish_wish(session, wish_id, version, person)
                case m.WishAction.CLAIM:
                    assert person is not None
                    return await rw.claim_wish(session, wish_id, version, person)
                case m.WishAction.RELEASE:
                    return await rw.release_wish(session, wish_id, version, person, note=input.note)
                case m.WishAction.FULFIL:
                    assert person is not None
                    return await rw.fulfil_wish(
                        session, wish_id, version, person, evidence=input.evidence, note=input.note
                    )
                case m.WishAction.CONFIRM:
                    assert person is not None
                    return await rw.confirm_wish(
                        session, wish_id, version, person, thanks=input.note
                    )
                case m.WishAction.CANCEL:
                    return await rw.cancel_wish(
                        session, wish_id, version, person, reason=input.note or ""
                    )
            raise DomainError(
                ErrorCode.INVALID_TRANSITION, f"{action} is not a wish step", "action"
            )

        row, errors = await mutate(info, authorize, change)
        return WishPayload(wish=MicroWishNode.from_row(row) if row else None, errors=errors)


def _conceal_if_reporter(info: Info, petition: m.Petition) -> None:
    """Anything the reporter of an anonymous petition does to it is audited without a name."""
    person_id = info.context.actor.person_id
    if petition.anonymous and person_id is not None and person_id == petition.reporter_id:
        assert petition.id is not None
        info.context.audit.conceal(("Petition", petition.id))


def _unlinked(petition: m.Petition | None) -> m.Petition | None:
    """What the audit log may link to the acting person: never an anonymous petition (the
    entry keeps who acted and when, not which case)."""
    return None if petition is None or petition.anonymous else petition


async def _category_editor(info: Info) -> None:
    if not may_edit_categories(info.context.actor):
        raise forbidden()
