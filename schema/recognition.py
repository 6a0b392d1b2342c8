"""GraphQL types, queries and mutations of recognition: awards (最美楼栋, 志愿服务之星, 流动红旗,
先进个人或集体) with their candidates, and building culture (role models, publicity wall)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

import strawberry

from models import org as mo
from models import people as mp
from models import recognition as m
from models.base import utcnow
from permissions import recognition as rules
from resolvers import recognition as r
from resolvers.pagination import PageArgs
from resolvers.people import CHINA
from schema.context import Context, Info
from schema.declare import column, expose, listing, reference, row_type
from schema.errors import UserError, domain_error
from schema.operations import Mutation, Refs, authorize
from schema.org import BuildingNode, OrgUnitNode
from schema.people import PersonNode
from schema.relay import Connection, Node, connection, expect_id

expose(
    m.AwardKind, name="AwardKind", description="最美楼栋, 志愿服务之星, 流动红旗, 先进个人或集体"
)
expose(m.RoleModelKind, name="RoleModelKind", description="老党员, 劳动模范, 道德模范")


@domain_error(r.RecognitionCode)
class RecognitionError(UserError):
    """Why an award or a change of a building's culture was refused."""


async def _recipient_name(root: m.Award, info: Info) -> str | None:
    """Winners are public by nature: the building's or the person's name, whoever reads."""
    return await r.recipient_name(info.context.loaders, root)


@row_type(m.Award, name="Award", description="An award a node decided for a period.")
class AwardNode(Node):
    kind: m.AwardKind = column()
    period_start: date = column()
    period_end: date = column(description="Exclusive.")
    citation: str = column()
    points: int = column(description="Points the award credited its winner.")
    decided_at: datetime = column()
    org_unit: OrgUnitNode | None = reference(m.Award.org_unit_id, description="Who awarded it.")
    building: BuildingNode | None = reference(m.Award.building_id)
    person: PersonNode | None = reference(m.Award.person_id)
    recipient_name: str | None = strawberry.field(resolver=_recipient_name)


@row_type(m.RoleModel, name="RoleModel", description="A role model of a building, on its wall.")
class RoleModelNode(Node):
    kind: m.RoleModelKind = column()
    name: str = column()
    story: str = column()
    photo: str | None = column()
    added_at: datetime = column()


@row_type(m.WallPost, name="WallPost", description="宣传墙: a post on a building's wall.")
class WallPostNode(Node):
    title: str = column()
    body: str = column()
    images: list[str] = column()
    posted_at: datetime = column()


@strawberry.type(description="A building or a person the period's metrics put forward.")
class AwardCandidate:
    building_id: strawberry.Private[int | None]
    person_id: strawberry.Private[int | None]
    rank: int
    score: float
    rated: int = strawberry.field(description="Cases rated in the period.")
    satisfaction_rate: float | None
    on_time_rate: float | None
    convention_share: float | None = strawberry.field(
        description="Households that signed the convention in force / households."
    )
    volunteer_hours: Decimal | None

    @strawberry.field(graphql_type=BuildingNode | None)
    async def building(self, info: Info) -> mo.Building | None:
        return await info.context.loaders.get(mo.Building, self.building_id)

    @strawberry.field(graphql_type=PersonNode | None)
    async def person(self, info: Info) -> mp.Person | None:
        return await info.context.loaders.get(mp.Person, self.person_id)


@strawberry.type
class RecognitionQuery:
    @strawberry.field(
        description="Awards decided by units in a subtree, newest first.",
        metadata=listing(r.AWARDS_UNDER),
    )
    async def awards(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        kinds: list[m.AwardKind] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AwardNode]:
        unit = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
        args = PageArgs.parse(first, after, last, before)
        f = r.AwardFilter(tuple(kinds or ()))
        return connection(await info.context.loaders.page(r.AWARDS_UNDER, unit, args, f))

    @strawberry.field(
        description="流动红旗: the holders of a node's red flag, newest period first.",
        metadata=listing(r.RED_FLAGS_OF_NODE),
    )
    async def red_flag_history(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AwardNode]:
        unit = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
        args = PageArgs.parse(first, after, last, before)
        page = await info.context.loaders.page(r.RED_FLAGS_OF_NODE, unit, args, r.RED_FLAG_FILTER)
        return connection(page)

    @strawberry.field(
        description="Who holds a node's red flag today (China time).",
        graphql_type=AwardNode | None,
    )
    async def red_flag(self, info: Info, org_unit_id: strawberry.ID) -> m.Award | None:
        unit = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
        if await info.context.loaders.get(mo.OrgUnit, unit) is None:
            return None
        today = utcnow().astimezone(CHINA).date()
        found = await r.current_red_flag(info.context.session, unit, today)
        if found is None:
            return None
        return await info.context.loaders.get(m.Award, found.id)

    @strawberry.field(
        description="Candidates for an award, ranked by the period's metrics: buildings by "
        "satisfaction, on-time rate and convention signatures; people by volunteer hours."
    )
    async def award_candidates(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        kind: m.AwardKind,
        period_start: date,
        period_end: date,
        limit: int = 10,
    ) -> list[AwardCandidate]:
        args = SimpleNamespace(org_unit_id=org_unit_id)
        refs = await authorize(info, rules.AWARD_CANDIDATES, args, {"org_unit_id": mo.OrgUnit})
        found = await r.award_candidates(
            info.context.session,
            org_unit_id=refs.need("org_unit_id"),
            kind=kind,
            period_start=period_start,
            period_end=period_end,
            limit=limit,
        )
        return [
            AwardCandidate(
                building_id=c.building_id,
                person_id=c.person_id,
                rank=c.rank,
                score=c.score,
                rated=c.rated,
                satisfaction_rate=c.satisfaction_rate,
                on_time_rate=c.on_time_rate,
                convention_share=c.convention_share,
                volunteer_hours=c.volunteer_hours,
            )
            for c in found
        ]


# --- mutations -------------------------------------------------------------------------------


@strawberry.input(description="Decide an award; the red flag passes by awarding the next period.")
class GrantAwardInput:
    kind: m.AwardKind
    org_unit_id: strawberry.ID = strawberry.field(description="The awarding node.")
    period_start: date
    period_end: date = strawberry.field(description="Exclusive.")
    citation: str
    building_id: strawberry.ID | None = None
    person_id: strawberry.ID | None = None


@strawberry.type
class AwardPayload:
    award: AwardNode | None
    errors: list[RecognitionError]


@strawberry.input
class AddRoleModelInput:
    building_id: strawberry.ID
    kind: m.RoleModelKind
    name: str
    story: str
    photo: str | None = None


@strawberry.input
class RemoveInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.type
class RoleModelPayload:
    role_model: RoleModelNode | None
    errors: list[RecognitionError]


@strawberry.input
class PostToWallInput:
    building_id: strawberry.ID
    title: str
    body: str
    images: list[str] = strawberry.field(default_factory=list)


@strawberry.type
class WallPostPayload:
    wall_post: WallPostNode | None
    errors: list[RecognitionError]


class GrantAward(Mutation[GrantAwardInput, m.Award, AwardPayload]):
    """Decide an award with its citation; the winner is credited points."""

    refs = {"org_unit_id": mo.OrgUnit, "building_id": mo.Building, "person_id": mp.Person}
    permission = rules.GRANT_AWARD
    errors = RecognitionError

    async def perform(self, ctx: Context, input: GrantAwardInput, refs: Refs) -> m.Award:
        return await r.grant_award(
            ctx.session,
            r.AwardDecision(
                kind=input.kind,
                org_unit_id=refs.need("org_unit_id"),
                period_start=input.period_start,
                period_end=input.period_end,
                citation=input.citation,
                building_id=refs.id("building_id"),
                person_id=refs.id("person_id"),
            ),
            decided_by_id=ctx.actor.person_id,
        )


class AddRoleModel(Mutation[AddRoleModelInput, m.RoleModel, RoleModelPayload]):
    """Put a role model (老党员, 劳动模范, 道德模范) on the building's wall."""

    refs = {"building_id": mo.Building}
    permission = rules.KEEP_CULTURE
    errors = RecognitionError

    async def perform(self, ctx: Context, input: AddRoleModelInput, refs: Refs) -> m.RoleModel:
        return await r.add_role_model(
            ctx.session,
            building_id=refs.need("building_id"),
            kind=input.kind,
            name=input.name,
            story=input.story,
            photo=input.photo,
        )


class RemoveRoleModel(Mutation[RemoveInput, m.RoleModel, RoleModelPayload]):
    refs = {"id": m.RoleModel}
    permission = rules.REMOVE_ROLE_MODEL
    errors = RecognitionError
    error_fields = {"role_model_id": "id"}

    async def perform(self, ctx: Context, input: RemoveInput, refs: Refs) -> m.RoleModel:
        return await r.remove_role_model(ctx.session, role_model_id=refs.need("id"))


class PostToWall(Mutation[PostToWallInput, m.WallPost, WallPostPayload]):
    """Post on the building's publicity wall (宣传墙)."""

    refs = {"building_id": mo.Building}
    permission = rules.KEEP_CULTURE
    errors = RecognitionError

    async def perform(self, ctx: Context, input: PostToWallInput, refs: Refs) -> m.WallPost:
        return await r.post_to_wall(
            ctx.session,
            building_id=refs.need("building_id"),
            title=input.title,
            body=input.body,
            images=list(input.images),
            posted_by_id=ctx.actor.person_id,
        )


class RemoveWallPost(Mutation[RemoveInput, m.WallPost, WallPostPayload]):
    refs = {"id": m.WallPost}
    permission = rules.REMOVE_WALL_POST
    errors = RecognitionError
    error_fields = {"post_id": "id"}

    async def perform(self, ctx: Context, input: RemoveInput, refs: Refs) -> m.WallPost:
        return await r.remove_wall_post(ctx.session, post_id=refs.need("id"), reason=input.reason)


@strawberry.type
class RecognitionMutation:
    grant_award = GrantAward.field()
    add_role_model = AddRoleModel.field()
    remove_role_model = RemoveRoleModel.field()
    post_to_wall = PostToWall.field()
    remove_wall_post = RemoveWallPost.field()
