"""GraphQL types, queries and mutations of co-governance: conventions and their signatures,
meetings with agendas and decisions, 民生实事 tasks, liaisons and 联心亭, improvement projects,
notices; and the engagement figures of a subtree for the big screen."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from models import cogovernance as m
from models import org as mo
from models import people as mp
from models.incentives import Shop
from models.petitions import Petition, PetitionAction
from permissions import cogovernance as rules
from permissions.aggregates import CountKind, display_root, displayed, for_display
from resolvers import cogovernance as r
from resolvers.errors import Common, DomainError, not_found
from resolvers.pagination import PageArgs
from resolvers.workflow import Flow
from schema.context import Context, Info
from schema.declare import column, computed, expose, listing, many, reference, row_type
from schema.errors import UserError, domain_error
from schema.operations import Mutation, Refs, allowed_actions, forbidden
from schema.org import BuildingNode, HouseholdNode, OrgUnitNode, WorkUnitNode
from schema.people import PersonNode
from schema.relay import Connection, Node, connection, expect_id, to_global_id

if TYPE_CHECKING:
    from schema.incentives import ShopNode
    from schema.petitions import PetitionNode

Petitions = Annotated["PetitionNode", strawberry.lazy("schema.petitions")]
Shops = Annotated["ShopNode", strawberry.lazy("schema.incentives")]

expose(m.MeetingKind, name="MeetingKind", description="楼栋共治会, 红色议事厅, 党建联席会议")
expose(m.AgendaOutcome, name="AgendaOutcome")
expose(m.TaskStatus, name="LivelihoodTaskStatus")
expose(m.TaskAction, name="LivelihoodTaskAction")
expose(m.LiaisonKind, name="LiaisonKind", description="商铺联户, 单位联户")
expose(m.Problem, name="Problem", description="牛皮癣, 电线乱搭, 楼道堵塞 ...")
expose(m.FundingSource, name="FundingSource", description="部门出资, 社区筹资, 企业捐资")


@domain_error(Flow, r.CogovernanceCode)
class CogovernanceError(UserError):
    """Why a change of a convention, a meeting, a task, a liaison, a project or a notice was
    refused."""


# --- conventions -------------------------------------------------------------------------------


@row_type(
    m.ConventionSignature,
    name="ConventionSignature",
    description="A household's signature: for the household and the building's staff.",
    policy="ConventionSignature",
)
class ConventionSignatureNode(Node):
    household: HouseholdNode | None = reference(m.ConventionSignature.household_id)
    signed_by: PersonNode | None = reference(m.ConventionSignature.signed_by_id)
    signed_at: datetime | None = column()


@strawberry.type(description="The convention in force and the share of households that signed.")
class ConventionCoverage:
    version: int | None
    households: int
    signed: int
    share: float | None


@row_type(m.Convention, name="Convention", description="《红色美丽楼栋公约》: one version.")
class ConventionNode(Node):
    version: int = column()
    title: str = column()
    text: str = column()
    adopted_at: datetime = column()
    building: BuildingNode | None = reference(m.Convention.building_id)
    signatures: list[ConventionSignatureNode] = many(
        r.SIGNATURES, description="Which households signed: the building's staff see them."
    )


async def building_convention(info: Info, building_id: int) -> m.Convention | None:
    found = await info.context.loaders.children(r.CONVENTIONS_OF_BUILDING, building_id)
    return found[0] if found else None


async def building_coverage(info: Info, building_id: int) -> ConventionCoverage:
    c = await r.coverage_of(info.context.loaders, building_id)
    return ConventionCoverage(
        version=c.version, households=c.households, signed=c.signed, share=c.share
    )


# --- meetings ------------------------------------------------------------------------------------


@row_type(m.MeetingAttendee, name="MeetingAttendee", node=False)
class MeetingAttendeeNode:
    capacity: str | None = column(description="居民代表, 物业, 单位 ...")
    person: PersonNode | None = reference(m.MeetingAttendee.person_id)


def _service_order(row: m.AgendaItem) -> strawberry.ID | None:
    if row.service_order_id is None:
        return None
    return to_global_id("ServiceOrder", row.service_order_id)


@row_type(m.AgendaItem, name="AgendaItem", description="An item of a meeting's agenda.")
class AgendaItemNode(Node):
    position: int = column()
    subject: str = column()
    petition: Petitions | None = reference(m.AgendaItem.petition_id)
    service_order_id: strawberry.ID | None = computed(
        _service_order, description="A service order on the agenda (services domain)."
    )
    decision: str | None = column()
    outcome: m.AgendaOutcome | None = column()
    petition_action: PetitionAction | None = column(description="The step the decision took.")
    petition_version: int | None = column(description="The petition's version after it.")
    task: LivelihoodTaskNode | None = reference(m.AgendaItem.task_id)
    decided_at: datetime | None = column()
    meeting: MeetingNode | None = reference(m.AgendaItem.meeting_id)


@row_type(m.Meeting, name="Meeting", description="楼栋共治会, 红色议事厅 or 党建联席会议.")
class MeetingNode(Node):
    kind: m.MeetingKind = column()
    title: str = column()
    held_at: datetime = column()
    place: str = column()
    minutes: str | None = column()
    building: BuildingNode | None = reference(m.Meeting.building_id)
    org_unit: OrgUnitNode | None = reference(m.Meeting.org_unit_id)
    attendees: list[MeetingAttendeeNode] = many(r.ATTENDEES)
    agenda: list[AgendaItemNode] = many(r.AGENDA)
    tasks: list[LivelihoodTaskNode] = many(r.TASKS_OF_MEETING, description="民生实事 it opened.")


@row_type(m.LivelihoodTaskEvent, name="LivelihoodTaskEvent", node=False)
class LivelihoodTaskEventNode:
    at: datetime = column()
    action: m.TaskAction = column()
    from_status: m.TaskStatus | None = column()
    to_status: m.TaskStatus = column()
    note: str | None = column()
    version: int = column()


@row_type(m.LivelihoodTask, name="LivelihoodTask", description="民生实事: tracked to done.")
class LivelihoodTaskNode(Node):
    title: str = column()
    description: str | None = column()
    status: m.TaskStatus = column()
    version: int = column(description="Pass it back as `expectedVersion`.")
    due_on: date | None = column()
    result: str | None = column()
    created_at: datetime = column()
    done_at: datetime | None = column()
    building: BuildingNode | None = reference(m.LivelihoodTask.building_id)
    org_unit: OrgUnitNode | None = reference(m.LivelihoodTask.org_unit_id)
    meeting: MeetingNode | None = reference(m.LivelihoodTask.meeting_id)
    assignee: PersonNode | None = reference(m.LivelihoodTask.assignee_id)
    allowed_actions: list[m.TaskAction] = allowed_actions(r.TASKS, rules.TASK_ACTIONS)
    timeline: list[LivelihoodTaskEventNode] = many(r.TASK_TIMELINE)


# --- liaisons, projects, notices -----------------------------------------------------------


@row_type(m.Liaison, name="Liaison", description="商铺联户 or 单位联户 of a building.")
class LiaisonNode(Node):
    kind: m.LiaisonKind = column()
    name: str = column()
    joined_at: datetime = column()
    ended_at: datetime | None = column()
    building: BuildingNode | None = reference(m.Liaison.building_id)
    shop: Shops | None = reference(m.Liaison.shop_id)
    work_unit: WorkUnitNode | None = reference(m.Liaison.work_unit_id)
    pavilion: LiaisonPavilionNode | None = reference(m.Liaison.pavilion_id)


@row_type(m.LiaisonPavilion, name="LiaisonPavilion", description="联心亭.")
class LiaisonPavilionNode(Node):
    name: str = column()
    address: str = column()
    opening_hours: str | None = column()
    building: BuildingNode | None = reference(m.LiaisonPavilion.building_id)
    org_unit: OrgUnitNode | None = reference(m.LiaisonPavilion.org_unit_id)
    liaisons: list[LiaisonNode] = many(r.LIAISONS_OF_PAVILION)


@row_type(m.ProjectFunding, name="ProjectFunding", node=False)
class ProjectFundingNode:
    source: m.FundingSource = column()
    funder: str = column()
    amount_yuan: Decimal = column()
    received_on: date = column()
    work_unit: WorkUnitNode | None = reference(m.ProjectFunding.work_unit_id)


@row_type(
    m.ImprovementProject,
    name="ImprovementProject",
    description="Fixing a place's problems, with its funding and evidence.",
)
class ImprovementProjectNode(Node):
    title: str = column()
    problems: list[m.Problem] = column()
    before_evidence: list[str] = column()
    after_evidence: list[str] = column()
    started_on: date = column()
    completed_on: date | None = column()
    building: BuildingNode | None = reference(m.ImprovementProject.building_id)
    org_unit: OrgUnitNode | None = reference(m.ImprovementProject.org_unit_id)
    funding: list[ProjectFundingNode] = many(r.FUNDING)

    @strawberry.field(description="Funds received, in yuan.")
    async def funding_total(
        self, root: strawberry.Parent[m.ImprovementProject], info: Info
    ) -> Decimal:
        assert root.id is not None
        return await r.project_funding_total(info.context.loaders, root.id)


@row_type(m.Notice, name="Notice", description="党的声音进楼栋: a notice to residents.")
class NoticeNode(Node):
    title: str = column()
    body: str = column()
    published_at: datetime = column()
    withdrawn_at: datetime | None = column()
    building: BuildingNode | None = reference(m.Notice.building_id)
    org_unit: OrgUnitNode | None = reference(m.Notice.org_unit_id)

    @strawberry.field(description="Residents it is addressed to (a count).")
    async def audience(self, root: strawberry.Parent[m.Notice], info: Info) -> int:
        return (await r.readership_of(info.context.loaders, root)).audience

    @strawberry.field(description="Residents who read it (a count: nobody is named).")
    async def read_count(self, root: strawberry.Parent[m.Notice], info: Info) -> int:
        return (await r.readership_of(info.context.loaders, root)).read

    @strawberry.field(description="When you read it (null: not yet).")
    async def my_read_at(self, root: strawberry.Parent[m.Notice], info: Info) -> datetime | None:
        assert root.id is not None
        return await r.read_at(info.context.loaders, root.id, info.context.actor.person_id)


# --- figures ------------------------------------------------------------------------------------

#: Figures that count people's acts (what a display may see only at its own node, and only
#: when not small); the rest count places and things.
PEOPLE_FIGURES = frozenset(
    {"redemptions", "points_redeemed", "fee_reductions", "households", "households_signed",
     "notice_reads"}
)  # fmt: skip


@strawberry.type(
    description="Incentives, recognition and co-governance of a subtree, of the rows you may "
    "count. Displays read the counts of people's acts at their own node only, and none "
    "that is small (null)."
)
class EngagementFigures:
    shops: int | None = strawberry.field(description="红城星店 open.")
    live_offers: int | None
    redemptions: int | None = strawberry.field(description="Codes used at shops.")
    points_redeemed: int | None
    fee_reductions: int | None = strawberry.field(description="物业费减免 granted.")
    awards: int | None
    red_flags: int | None = strawberry.field(description="流动红旗 held today.")
    buildings_with_convention: int | None
    households: int | None = strawberry.field(description="Households of those buildings.")
    households_signed: int | None
    convention_coverage: float | None
    meetings: int | None
    decisions: int | None = strawberry.field(description="Agenda items decided.")
    tasks_open: int | None = strawberry.field(description="民生实事 open.")
    tasks_done: int | None
    projects: int | None
    funds_yuan: Decimal | None = strawberry.field(description="部门出资 + 社区筹资 + 企业捐资.")
    pavilions: int | None = strawberry.field(description="联心亭.")
    liaisons: int | None = strawberry.field(description="商铺联户 and 单位联户.")
    notices: int | None
    notice_reads: int | None


async def engagement_of(info: Info, unit_id: int) -> EngagementFigures:
    """`engagementFigures` of a unit (also a big screen's, `DisplayFigures.engagement`)."""
    actor = info.context.actor
    unit = await info.context.loaders.get(mo.OrgUnit, unit_id)
    found = await r.engagement_figures(info.context.loaders, unit_id) if unit else None
    if unit is None or found is None:
        raise not_found("org unit", "org_unit_id")
    own_node = not for_display(actor) or display_root(actor, unit.path or "") == unit.path
    values: dict[str, object] = {}
    for name, value in vars(found).items():
        if name in PEOPLE_FIGURES:
            shown = displayed(actor, int(value), kind=CountKind.PEOPLE) if own_node else None
            values[name] = shown
        else:
            values[name] = value
    # A sum over a withheld count gives the count's people away (one redemption's points),
    # and so does the rest of a part (the households that did not sign).
    if values["redemptions"] is None:
        values["points_redeemed"] = None
    unsigned = found.households - found.households_signed
    if values["households"] is None or displayed(actor, unsigned, kind=CountKind.PEOPLE) is None:
        values["households_signed"] = None
    coverage = found.convention_coverage
    shown_coverage = values["households_signed"] is not None
    return EngagementFigures(
        **values,  # type: ignore[arg-type]
        convention_coverage=coverage if shown_coverage else None,
    )


@strawberry.type
class CogovernanceQuery:
    @strawberry.field(
        description="Big-screen figures of incentives, recognition and co-governance."
    )
    async def engagement_figures(self, info: Info, org_unit_id: strawberry.ID) -> EngagementFigures:
        return await engagement_of(info, expect_id(org_unit_id, "OrgUnit", "orgUnitId"))

    @strawberry.field(
        description="Meetings held in a subtree, newest first.", metadata=listing(r.MEETINGS_UNDER)
    )
    async def meetings(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        kinds: list[m.MeetingKind] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[MeetingNode]:
        unit = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
        args = PageArgs.parse(first, after, last, before)
        f = r.MeetingFilter(tuple(kinds or ()))
        return connection(await info.context.loaders.page(r.MEETINGS_UNDER, unit, args, f))

    @strawberry.field(
        description="民生实事 in a subtree, newest first.", metadata=listing(r.TASKS_UNDER)
    )
    async def livelihood_tasks(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        statuses: list[m.TaskStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LivelihoodTaskNode]:
        unit = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
        args = PageArgs.parse(first, after, last, before)
        f = r.TaskFilter(tuple(statuses or ()))
        return connection(await info.context.loaders.page(r.TASKS_UNDER, unit, args, f))

    @strawberry.field(description="联心亭 in a subtree.", metadata=listing(r.PAVILIONS_UNDER))
    async def liaison_pavilions(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LiaisonPavilionNode]:
        unit = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
        args = PageArgs.parse(first, after, last, before)
        page = await info.context.loaders.page(r.PAVILIONS_UNDER, unit, args, r.PAVILION_ORDER)
        return connection(page)

    @strawberry.field(
        description="Improvement projects in a subtree.", metadata=listing(r.PROJECTS_UNDER)
    )
    async def improvement_projects(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ImprovementProjectNode]:
        unit = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
        args = PageArgs.parse(first, after, last, before)
        page = await info.context.loaders.page(r.PROJECTS_UNDER, unit, args, r.PROJECT_ORDER)
        return connection(page)

    @strawberry.field(
        description="Notices in force in a subtree, newest first.",
        metadata=listing(r.NOTICES_UNDER),
    )
    async def notices(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[NoticeNode]:
        unit = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
        args = PageArgs.parse(first, after, last, before)
        page = await info.context.loaders.page(r.NOTICES_UNDER, unit, args, r.NOTICE_ORDER)
        return connection(page)


# --- mutations ------------------------------------------------------------------------------


@strawberry.input(description="A new version of a building's convention (《红色美丽楼栋公约》).")
class AdoptConventionInput:
    building_id: strawberry.ID
    title: str
    text: str


@strawberry.type
class ConventionPayload:
    convention: ConventionNode | None
    errors: list[CogovernanceError]


@strawberry.input(description="A household signs the convention in force.")
class SignConventionInput:
    convention_id: strawberry.ID
    household_id: strawberry.ID
    signed_by_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff recording a paper signature: the member who signed."
    )


@strawberry.type
class SignaturePayload:
    signature: ConventionSignatureNode | None
    errors: list[CogovernanceError]


@strawberry.input
class AgendaItemInput:
    subject: str
    petition_id: strawberry.ID | None = None
    service_order_id: strawberry.ID | None = None


@strawberry.input(description="A meeting with its attendees and agenda.")
class CreateMeetingInput:
    kind: m.MeetingKind
    title: str
    held_at: datetime
    place: str
    building_id: strawberry.ID | None = None
    org_unit_id: strawberry.ID | None = None
    minutes: str | None = None
    attendee_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    agenda: list[AgendaItemInput] = strawberry.field(default_factory=list)


@strawberry.type
class MeetingPayload:
    meeting: MeetingNode | None
    errors: list[CogovernanceError]


@strawberry.input
class TaskDraftInput:
    title: str
    description: str | None = None
    due_on: date | None = None
    assignee_id: strawberry.ID | None = None


@strawberry.input(
    description="The meeting's decision on an item: a step of its petition (as `petitionAction` "
    "at `expectedVersion`, with what that step needs), a 民生实事 task, or the decision alone."
)
class DecideAgendaItemInput:
    item_id: strawberry.ID
    decision: str
    petition_action: PetitionAction | None = None
    expected_version: int | None = None
    assignee_id: strawberry.ID | None = None
    duplicate_of_id: strawberry.ID | None = None
    task: TaskDraftInput | None = None


@strawberry.type
class AgendaItemPayload:
    agenda_item: AgendaItemNode | None
    errors: list[CogovernanceError]


@strawberry.input(description="A 民生实事 task at a building or an org unit.")
class CreateLivelihoodTaskInput:
    title: str
    building_id: strawberry.ID | None = None
    org_unit_id: strawberry.ID | None = None
    description: str | None = None
    due_on: date | None = None
    assignee_id: strawberry.ID | None = None


@strawberry.input
class LivelihoodTaskActionInput:
    id: strawberry.ID
    action: m.TaskAction
    expected_version: int
    note: str | None = strawberry.field(default=None, description="The result, or the reason.")


@strawberry.type
class LivelihoodTaskPayload:
    task: LivelihoodTaskNode | None
    errors: list[CogovernanceError]


@strawberry.input
class CreateLiaisonPavilionInput:
    name: str
    address: str
    building_id: strawberry.ID | None = None
    org_unit_id: strawberry.ID | None = None
    opening_hours: str | None = None


@strawberry.type
class LiaisonPavilionPayload:
    pavilion: LiaisonPavilionNode | None
    errors: list[CogovernanceError]


@strawberry.input
class AddLiaisonInput:
    building_id: strawberry.ID
    kind: m.LiaisonKind
    name: str
    shop_id: strawberry.ID | None = None
    work_unit_id: strawberry.ID | None = None
    pavilion_id: strawberry.ID | None = None


@strawberry.input
class EndLiaisonInput:
    id: strawberry.ID


@strawberry.type
class LiaisonPayload:
    liaison: LiaisonNode | None
    errors: list[CogovernanceError]


@strawberry.input
class CreateImprovementProjectInput:
    title: str
    problems: list[m.Problem]
    started_on: date
    building_id: strawberry.ID | None = None
    org_unit_id: strawberry.ID | None = None
    before_evidence: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class AddProjectFundingInput:
    project_id: strawberry.ID
    source: m.FundingSource
    funder: str
    amount_yuan: Decimal
    received_on: date
    work_unit_id: strawberry.ID | None = None


@strawberry.input
class CompleteImprovementProjectInput:
    id: strawberry.ID
    completed_on: date
    after_evidence: list[str]


@strawberry.type
class ImprovementProjectPayload:
    project: ImprovementProjectNode | None
    errors: list[CogovernanceError]


@strawberry.input(description="党的声音进楼栋: to a building, an estate or a community.")
class PublishNoticeInput:
    title: str
    body: str
    building_id: strawberry.ID | None = None
    org_unit_id: strawberry.ID | None = None


@strawberry.input
class NoticeInput:
    id: strawberry.ID


@strawberry.type
class NoticePayload:
    notice: NoticeNode | None
    errors: list[CogovernanceError]


class AdoptConvention(Mutation[AdoptConventionInput, m.Convention, ConventionPayload]):
    """Adopt a new version of the building's convention."""

    refs = {"building_id": mo.Building}
    permission = rules.ADOPT_CONVENTION
    errors = CogovernanceError

    async def perform(self, ctx: Context, input: AdoptConventionInput, refs: Refs) -> m.Convention:
        return await r.adopt_convention(
            ctx.session,
            building_id=refs.need("building_id"),
            title=input.title,
            text=input.text,
            adopted_by_id=ctx.actor.person_id,
        )


class SignConvention(Mutation[SignConventionInput, m.ConventionSignature, SignaturePayload]):
    """Sign the convention in force for your household (or record a household's signature)."""

    refs = {
        "convention_id": m.Convention,
        "household_id": mo.Household,
        "signed_by_id": mp.Person,
    }
    permission = rules.SIGN_CONVENTION
    errors = CogovernanceError

    async def perform(
        self, ctx: Context, input: SignConventionInput, refs: Refs
    ) -> m.ConventionSignature:
        me = ctx.actor.person_id
        signer = refs.id("signed_by_id") or me
        if signer is None:
            raise DomainError(Common.VALIDATION, "say who signed", "signed_by_id")
        return await r.sign_convention(
            ctx.session,
            convention_id=refs.need("convention_id"),
            household_id=refs.need("household_id"),
            signed_by_id=signer,
            recorded_by_id=None if signer == me else me,
        )


class CreateMeeting(Mutation[CreateMeetingInput, m.Meeting, MeetingPayload]):
    """Hold a 楼栋共治会 (building), 红色议事厅 (estate) or 党建联席会议 (street, community)."""

    refs = {"building_id": mo.Building, "org_unit_id": mo.OrgUnit}
    permission = rules.CREATE_MEETING
    errors = CogovernanceError

    async def perform(self, ctx: Context, input: CreateMeetingInput, refs: Refs) -> m.Meeting:
        loaders = ctx.loaders
        attendees = [expect_id(a, "Person", "attendeeIds") for a in input.attendee_ids]
        agenda: list[r.AgendaDraft] = []
        for item in input.agenda:
            petition = (
                expect_id(item.petition_id, "Petition", "agenda") if item.petition_id else None
            )
            if petition is not None and await loaders.get(Petition, petition) is None:
                raise not_found("petition", "agenda")
            order = (
                expect_id(item.service_order_id, "ServiceOrder", "agenda")
                if item.service_order_id
                else None
            )
            agenda.append(r.AgendaDraft(item.subject, petition, order))
        for person in attendees:
            if await loaders.get(mp.Person, person) is None:
                raise not_found("person", "attendee_ids")
        return await r.create_meeting(
            ctx.session,
            r.MeetingDraft(
                kind=input.kind,
                title=input.title,
                held_at=input.held_at,
                place=input.place,
                org_unit_id=refs.id("org_unit_id"),
                building_id=refs.id("building_id"),
                minutes=input.minutes,
                attendee_ids=tuple(attendees),
                agenda=tuple(agenda),
            ),
            convened_by_id=ctx.actor.person_id,
        )


class DecideAgendaItem(Mutation[DecideAgendaItemInput, m.AgendaItem, AgendaItemPayload]):
    """Record the meeting's decision on an item: it moves the petition through its workflow
    (only as you may move it), or opens a 民生实事 task."""

    refs = {
        "item_id": m.AgendaItem,
        "assignee_id": mp.Person,
        "duplicate_of_id": Petition,
    }
    permission = rules.DECIDE_AGENDA_ITEM
    errors = CogovernanceError
    error_fields = {
        "petition_id": "item_id",
        "id": "item_id",
        "note": "decision",
        "action": "petition_action",
        "title": "task",
        "description": "task",
    }

    async def perform(self, ctx: Context, input: DecideAgendaItemInput, refs: Refs) -> m.AgendaItem:
        item = refs.row_of("item_id", m.AgendaItem)
        if input.petition_action is not None and item.petition_id is not None:
            petition = await ctx.loaders.get(Petition, item.petition_id)
            if petition is None:
                raise not_found("petition", "item_id")
            if not rules.may_move_petition(ctx.actor, petition, input.petition_action):
                raise forbidden()
        task = None
        if input.task is not None:
            assignee = (
                expect_id(input.task.assignee_id, "Person", "task")
                if input.task.assignee_id
                else None
            )
            if assignee is not None and await ctx.loaders.get(mp.Person, assignee) is None:
                raise not_found("person", "task")
            task = r.TaskDraft(
                input.task.title, input.task.description, input.task.due_on, assignee
            )
        return await r.decide_agenda_item(
            ctx.session,
            item_id=refs.need("item_id"),
            decision=r.Decision(
                text=input.decision,
                petition_action=input.petition_action,
                expected_version=input.expected_version,
                assignee_id=refs.id("assignee_id"),
                duplicate_of_id=refs.id("duplicate_of_id"),
                task=task,
            ),
            actor_id=ctx.actor.person_id,
        )


class CreateLivelihoodTask(
    Mutation[CreateLivelihoodTaskInput, m.LivelihoodTask, LivelihoodTaskPayload]
):
    """Open a 民生实事 task."""

    refs = {"building_id": mo.Building, "org_unit_id": mo.OrgUnit, "assignee_id": mp.Person}
    permission = rules.CREATE_TASK
    errors = CogovernanceError

    async def perform(
        self, ctx: Context, input: CreateLivelihoodTaskInput, refs: Refs
    ) -> m.LivelihoodTask:
        return await r.create_task(
            ctx.session,
            title=input.title,
            org_unit_id=refs.id("org_unit_id"),
            building_id=refs.id("building_id"),
            description=input.description,
            due_on=input.due_on,
            assignee_id=refs.id("assignee_id"),
            created_by_id=ctx.actor.person_id,
        )


class ActOnLivelihoodTask(
    Mutation[LivelihoodTaskActionInput, m.LivelihoodTask, LivelihoodTaskPayload]
):
    """Start, complete or cancel a 民生实事 task."""

    refs = {"id": m.LivelihoodTask}
    permission = rules.ACT_ON_TASK
    errors = CogovernanceError
    error_fields = {"task_id": "id"}

    async def perform(
        self, ctx: Context, input: LivelihoodTaskActionInput, refs: Refs
    ) -> m.LivelihoodTask:
        return await r.act_on_task(
            ctx.session,
            task_id=refs.need("id"),
            action=input.action,
            expected_version=input.expected_version,
            actor_id=ctx.actor.person_id,
            note=input.note,
        )


class CreateLiaisonPavilion(
    Mutation[CreateLiaisonPavilionInput, m.LiaisonPavilion, LiaisonPavilionPayload]
):
    """Set up a 联心亭 at a building, grid or community."""

    refs = {"building_id": mo.Building, "org_unit_id": mo.OrgUnit}
    permission = rules.CREATE_PAVILION
    errors = CogovernanceError

    async def perform(
        self, ctx: Context, input: CreateLiaisonPavilionInput, refs: Refs
    ) -> m.LiaisonPavilion:
        return await r.create_pavilion(
            ctx.session,
            name=input.name,
            address=input.address,
            org_unit_id=refs.id("org_unit_id"),
            building_id=refs.id("building_id"),
            opening_hours=input.opening_hours,
        )


class AddLiaison(Mutation[AddLiaisonInput, m.Liaison, LiaisonPayload]):
    """A shop (商铺联户) or a work unit (单位联户) joins a building's liaison circle."""

    refs = {
        "building_id": mo.Building,
        "shop_id": Shop,
        "work_unit_id": mo.WorkUnit,
        "pavilion_id": m.LiaisonPavilion,
    }
    permission = rules.ADD_LIAISON
    errors = CogovernanceError

    async def perform(self, ctx: Context, input: AddLiaisonInput, refs: Refs) -> m.Liaison:
        return await r.add_liaison(
            ctx.session,
            building_id=refs.need("building_id"),
            kind=input.kind,
            name=input.name,
            shop_id=refs.id("shop_id"),
            work_unit_id=refs.id("work_unit_id"),
            pavilion_id=refs.id("pavilion_id"),
        )


class EndLiaison(Mutation[EndLiaisonInput, m.Liaison, LiaisonPayload]):
    refs = {"id": m.Liaison}
    permission = rules.END_LIAISON
    errors = CogovernanceError
    error_fields = {"liaison_id": "id"}

    async def perform(self, ctx: Context, input: EndLiaisonInput, refs: Refs) -> m.Liaison:
        return await r.end_liaison(ctx.session, liaison_id=refs.need("id"))


class CreateImprovementProject(
    Mutation[CreateImprovementProjectInput, m.ImprovementProject, ImprovementProjectPayload]
):
    """A project fixing 牛皮癣, 电线乱搭, 楼道堵塞 ..., with evidence from before."""

    refs = {"building_id": mo.Building, "org_unit_id": mo.OrgUnit}
    permission = rules.CREATE_PROJECT
    errors = CogovernanceError

    async def perform(
        self, ctx: Context, input: CreateImprovementProjectInput, refs: Refs
    ) -> m.ImprovementProject:
        return await r.create_project(
            ctx.session,
            title=input.title,
            org_unit_id=refs.id("org_unit_id"),
            building_id=refs.id("building_id"),
            problems=list(input.problems),
            started_on=input.started_on,
            before_evidence=list(input.before_evidence),
            created_by_id=ctx.actor.person_id,
        )


class AddProjectFunding(
    Mutation[AddProjectFundingInput, m.ImprovementProject, ImprovementProjectPayload]
):
    """Funds for a project: 部门出资, 社区筹资 or 企业捐资."""

    refs = {"project_id": m.ImprovementProject, "work_unit_id": mo.WorkUnit}
    permission = rules.ADD_FUNDING
    errors = CogovernanceError

    async def perform(
        self, ctx: Context, input: AddProjectFundingInput, refs: Refs
    ) -> m.ImprovementProject:
        await r.add_funding(
            ctx.session,
            project_id=refs.need("project_id"),
            source=input.source,
            funder=input.funder,
            amount_yuan=input.amount_yuan,
            received_on=input.received_on,
            work_unit_id=refs.id("work_unit_id"),
        )
        return refs.row_of("project_id", m.ImprovementProject)


class CompleteImprovementProject(
    Mutation[CompleteImprovementProjectInput, m.ImprovementProject, ImprovementProjectPayload]
):
    """Complete a project, with evidence from after."""

    refs = {"id": m.ImprovementProject}
    permission = rules.COMPLETE_PROJECT
    errors = CogovernanceError
    error_fields = {"project_id": "id"}

    async def perform(
        self, ctx: Context, input: CompleteImprovementProjectInput, refs: Refs
    ) -> m.ImprovementProject:
        return await r.complete_project(
            ctx.session,
            project_id=refs.need("id"),
            completed_on=input.completed_on,
            after_evidence=list(input.after_evidence),
        )


class PublishNotice(Mutation[PublishNoticeInput, m.Notice, NoticePayload]):
    """党的声音进楼栋: publish a notice to a building's, an estate's or a community's residents."""

    refs = {"building_id": mo.Building, "org_unit_id": mo.OrgUnit}
    permission = rules.PUBLISH_NOTICE
    errors = CogovernanceError

    async def perform(self, ctx: Context, input: PublishNoticeInput, refs: Refs) -> m.Notice:
        return await r.publish_notice(
            ctx.session,
            title=input.title,
            body=input.body,
            org_unit_id=refs.id("org_unit_id"),
            building_id=refs.id("building_id"),
            published_by_id=ctx.actor.person_id,
        )


class WithdrawNotice(Mutation[NoticeInput, m.Notice, NoticePayload]):
    refs = {"id": m.Notice}
    permission = rules.WITHDRAW_NOTICE
    errors = CogovernanceError
    error_fields = {"notice_id": "id"}

    async def perform(self, ctx: Context, input: NoticeInput, refs: Refs) -> m.Notice:
        return await r.withdraw_notice(ctx.session, notice_id=refs.need("id"))


class MarkNoticeRead(Mutation[NoticeInput, m.Notice, NoticePayload]):
    """You have read a notice addressed to you (a read receipt, counted)."""

    refs = {"id": m.Notice}
    permission = rules.MARK_NOTICE_READ
    errors = CogovernanceError
    error_fields = {"notice_id": "id"}

    async def perform(self, ctx: Context, input: NoticeInput, refs: Refs) -> m.Notice:
        assert ctx.actor.person_id is not None
        return await r.mark_notice_read(
            ctx.session, notice_id=refs.need("id"), person_id=ctx.actor.person_id
        )


@strawberry.type
class CogovernanceMutation:
    adopt_convention = AdoptConvention.field()
    sign_convention = SignConvention.field()
    create_meeting = CreateMeeting.field()
    decide_agenda_item = DecideAgendaItem.field()
    create_livelihood_task = CreateLivelihoodTask.field()
    act_on_livelihood_task = ActOnLivelihoodTask.field()
    create_liaison_pavilion = CreateLiaisonPavilion.field()
    add_liaison = AddLiaison.field()
    end_liaison = EndLiaison.field()
    create_improvement_project = CreateImprovementProject.field()
    add_project_funding = AddProjectFunding.field()
    complete_improvement_project = CompleteImprovementProject.field()
    publish_notice = PublishNotice.field()
    withdraw_notice = WithdrawNotice.field()
    mark_notice_read = MarkNoticeRead.field()
