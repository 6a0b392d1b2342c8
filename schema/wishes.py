"""GraphQL types, queries and mutations of micro-wishes (微心愿) and their wish walls."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import org as mo
from models import people as mp
from models import wishes as m
from permissions import wishes as rules
from resolvers import wishes as r
from resolvers.errors import invalid
from resolvers.pagination import PageArgs
from resolvers.workflow import Flow
from schema.context import Context, Info
from schema.declare import column, expose, listing, many, reference, row_type
from schema.errors import UserError, domain_error
from schema.operations import Mutation, Refs, allowed_actions
from schema.org import BuildingNode
from schema.people import PersonNode
from schema.relay import Connection, Node, connection, expect_id

expose(m.WishStatus, name="WishStatus")
expose(m.WishAction, name="WishAction")


@domain_error(Flow, r.WishCode)
class WishError(UserError):
    """Why a micro-wish step was refused."""


@row_type(
    m.MicroWishEvent, name="WishEvent", description="One step of a wish's timeline.", node=False
)
class WishEventNode:
    at: datetime = column()
    action: m.WishAction = column()
    from_status: m.WishStatus | None = column()
    to_status: m.WishStatus = column()
    note: str | None = column()
    version: int = column()
    actor: PersonNode | None = reference(m.MicroWishEvent.actor_person_id)


@row_type(m.MicroWish, name="MicroWish", description="微心愿: a small wish on a building's wall.")
class MicroWishNode(Node):
    title: str = column()
    description: str = column()
    status: m.WishStatus = column()
    version: int = column(description="Pass it back as `expectedVersion`.")
    evidence: list[str] = column()
    evidence_note: str | None = column()
    thanks: str | None = column()
    cancel_reason: str | None = column()
    posted_at: datetime = column()
    published_at: datetime | None = column()
    claimed_at: datetime | None = column()
    fulfilled_at: datetime | None = column()
    confirmed_at: datetime | None = column()
    building: BuildingNode | None = reference(m.MicroWish.building_id)
    resident: PersonNode | None = reference(
        m.MicroWish.resident_id, description="The resident whose wish it is."
    )
    claimant: PersonNode | None = reference(
        m.MicroWish.claimant_id,
        description="The Party member, volunteer or cadre who took it on.",
    )
    allowed_actions: list[m.WishAction] = allowed_actions(r.WISHES, rules.WISH_ACTIONS)
    timeline: list[WishEventNode] = many(r.WISH_TIMELINE, description="Every step, oldest first.")


@strawberry.type
class WishQuery:
    @strawberry.field(
        description="A building's or community's wish wall.", metadata=listing(r.WISHES_UNDER)
    )
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
        f = r.WishFilter(tuple(statuses) if statuses else r.ON_THE_WALL)
        args = PageArgs.parse(first, after, last, before)
        loaders = info.context.loaders
        if (building_id is None) == (org_unit_id is None):
            raise invalid("give exactly one of `building_id` and `org_unit_id`", "building_id")
        if building_id is not None:
            building = expect_id(building_id, "Building", "building_id")
            return connection(await loaders.page(r.WALL_OF_BUILDING, building, args, f))
        unit = expect_id(org_unit_id or "", "OrgUnit", "org_unit_id")
        return connection(await loaders.page(r.WISHES_UNDER, unit, args, f))


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
    errors: list[WishError]


class PostWish(Mutation[PostWishInput, m.MicroWish, WishPayload]):
    """Post a micro-wish (a resident's own, or recorded for one)."""

    refs = {"building_id": mo.Building, "community_id": mo.OrgUnit, "resident_id": mp.Person}
    permission = rules.POST_WISH
    errors = WishError

    async def admit(self, ctx: Context, input: PostWishInput) -> None:
        if (input.building_id is None) == (input.community_id is None):
            raise invalid("a wish goes on a building's or a community's wall", "building_id")

    async def perform(self, ctx: Context, input: PostWishInput, refs: Refs) -> m.MicroWish:
        me = ctx.actor.person_id
        resident = refs.id("resident_id") or me
        if resident is None:
            raise invalid("say whose wish it is", "resident_id")
        return await r.post_wish(
            ctx.session,
            resident_id=resident,
            title=input.title,
            description=input.description,
            building_id=refs.id("building_id"),
            community_id=refs.id("community_id"),
            recorded_by_id=None if resident == me else me,
        )


class ActOnWish(Mutation[WishActionInput, m.MicroWish, WishPayload]):
    """Publish, claim, release, fulfil, confirm or cancel a wish."""

    refs = {"id": m.MicroWish}
    permission = rules.ACT_ON_WISH
    errors = WishError
    error_fields = {"wish_id": "id"}

    async def perform(self, ctx: Context, input: WishActionInput, refs: Refs) -> m.MicroWish:
        return await r.act_on_wish(
            ctx.session,
            refs.need("id"),
            input.action,
            input.expected_version,
            ctx.actor.person_id,
            note=input.note,
            evidence=input.evidence,
        )


@strawberry.type
class WishMutation:
    post_wish = PostWish.field()
    act_on_wish = ActOnWish.field()
