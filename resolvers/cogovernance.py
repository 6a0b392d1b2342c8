"""Co-governance (共建共治): conventions signed per household, meetings whose decisions move the
petitions on their agenda (through the petition workflow, the meeting named in the step's
note) or open 民生实事 tasks tracked to done, liaisons beyond households and their 联心亭,
improvement projects with funding and evidence, notices with read receipts.

Functions validate, raise `DomainError` with stable codes and flush; the request owns the
transaction. Who may do what is decided in `permissions.cogovernance` before they run.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.cogovernance import (
    AgendaItem,
    AgendaOutcome,
    Convention,
    ConventionSignature,
    FundingSource,
    ImprovementProject,
    Liaison,
    LiaisonKind,
    LiaisonPavilion,
    LivelihoodTask,
    LivelihoodTaskEvent,
    Meeting,
    MeetingAttendee,
    MeetingKind,
    Notice,
    NoticeReceipt,
    Problem,
    ProjectFunding,
    TaskAction,
    TaskStatus,
)
from models.incentives import Shop
from models.org import Building, Household, OrgKind, OrgUnit, WorkUnit
from models.people import Person
from models.petitions import FINAL_STATUSES, Petition, PetitionAction
from resolvers import petitions as rp
from resolvers.common import clean_note, clean_references, clean_text, get_row
from resolvers.errors import DomainError, invalid
from resolvers.incentives import money
from resolvers.loaders import Children, Loaders
from resolvers.pagination import Listing, Ordering, Parent, asc, desc
from resolvers.workflow import Workflow


class CogovernanceCode(enum.StrEnum):
    """Codes of conventions, meetings, tasks, liaisons, projects and notices."""

    ALREADY_SIGNED = "ALREADY_SIGNED"
    SUPERSEDED = "SUPERSEDED"
    ALREADY_DECIDED = "ALREADY_DECIDED"
    INVALID_PARENT_KIND = "INVALID_PARENT_KIND"
    ALREADY_ENDED = "ALREADY_ENDED"
    NOT_IN_AUDIENCE = "NOT_IN_AUDIENCE"


#: Where each kind of meeting is held: a building, or org units of these kinds.
MEETING_PLACES: Final[dict[MeetingKind, tuple[bool, frozenset[OrgKind]]]] = {
    MeetingKind.BUILDING_COUNCIL: (True, frozenset()),
    MeetingKind.RED_COUNCIL_HALL: (False, frozenset({OrgKind.GRID, OrgKind.COMMUNITY})),
    MeetingKind.JOINT_CONFERENCE: (False, frozenset({OrgKind.STREET, OrgKind.COMMUNITY})),
}
MEETING_NAMES: Final = {
    MeetingKind.BUILDING_COUNCIL: "楼栋共治会",
    MeetingKind.RED_COUNCIL_HALL: "红色议事厅",
    MeetingKind.JOINT_CONFERENCE: "党建联席会议",
}
MAX_AGENDA: Final = 30
MAX_ATTENDEES: Final = 200

_T, _TA = TaskStatus, TaskAction
TASK_TRANSITIONS: Final[dict[TaskStatus, dict[TaskAction, TaskStatus]]] = {
    _T.OPEN: {_TA.START: _T.IN_PROGRESS, _TA.COMPLETE: _T.DONE, _TA.CANCEL: _T.CANCELLED},
    _T.IN_PROGRESS: {_TA.COMPLETE: _T.DONE, _TA.CANCEL: _T.CANCELLED},
    _T.DONE: {},
    _T.CANCELLED: {},
}
TASKS: Final[Workflow[LivelihoodTask, TaskStatus, TaskAction]] = Workflow(
    noun="task",
    model=LivelihoodTask,
    event=LivelihoodTaskEvent,
    event_key="task_id",
    transitions=TASK_TRANSITIONS,
    required={_TA.COMPLETE: frozenset({"note"}), _TA.CANCEL: frozenset({"note"})},
)


@dataclass(frozen=True)
class Place:
    org_unit_id: int | None
    building_id: int | None
    path: str


async def place(
    session: AsyncSession,
    org_unit_id: int | None,
    building_id: int | None,
    *,
    buildings: bool = True,
    kinds: frozenset[OrgKind] = frozenset(
        {OrgKind.GRID, OrgKind.COMMUNITY, OrgKind.STREET, OrgKind.DISTRICT, OrgKind.CITY}
    ),
) -> Place:
    """Exactly one of a building or an active org unit of `kinds`."""
    if (org_unit_id is None) == (building_id is None):
        raise invalid("give exactly one of `org_unit_id` and `building_id`", "building_id")
    if building_id is not None:
        if not buildings:
            raise DomainError(
                CogovernanceCode.INVALID_PARENT_KIND, "not held at a building", "building_id"
            )
        building: Building = await get_row(
            session, Building, building_id, "building", "building_id"
        )
        return Place(None, building_id, str(building.path))
    assert org_unit_id is not None
    unit: OrgUnit = await get_row(session, OrgUnit, org_unit_id, "org unit", "org_unit_id")
    if unit.kind not in kinds or unit.retired_at is not None:
        raise DomainError(
            CogovernanceCode.INVALID_PARENT_KIND,
            f"held at an active {' or '.join(sorted(kinds)) or 'building'}",
            "org_unit_id",
        )
    return Place(org_unit_id, None, str(unit.path))


def under(path: str | None, ancestor: str) -> bool:
    return path is not None and (path == ancestor or path.startswith(ancestor + "."))


# --- conventions ---------------------------------------------------------------------------


async def adopt_convention(
    session: AsyncSession,
    *,
    building_id: int,
    title: str,
    text: str,
    adopted_by_id: int | None,
    now: datetime | None = None,
) -> Convention:
    """A new version of the building's convention (《红色美丽楼栋公约》): it is in force from
    now, and every household signs it anew."""
    await get_row(session, Building, building_id, "building", "building_id")
    await session.execute(
        sa.select(col(Building.id)).where(col(Building.id) == building_id).with_for_update()
    )
    latest = await session.scalar(
        sa.select(sa.func.max(col(Convention.version))).where(
            col(Convention.building_id) == building_id
        )
    )
    convention = Convention(
        building_id=building_id,
        version=int(latest or 0) + 1,
        title=clean_text(title, "title", max_length=60),
        text=clean_text(text, "text", max_length=5000),
        adopted_by_id=adopted_by_id,
        adopted_at=now or utcnow(),
    )
    session.add(convention)
    await session.flush()
    await session.refresh(convention, ["path"])
    return convention


async def sign_convention(
    session: AsyncSession,
    *,
    convention_id: int,
    household_id: int,
    signed_by_id: int,
    recorded_by_id: int | None = None,
    now: datetime | None = None,
) -> ConventionSignature:
    """A household signs the version in force (one signature per household and version)."""
    convention: Convention = await get_row(
        session, Convention, convention_id, "convention", "convention_id"
    )
    newest = await session.scalar(
        sa.select(sa.func.max(col(Convention.version))).where(
            col(Convention.building_id) == convention.building_id
        )
    )
    if newest != convention.version:
        raise DomainError(
            CogovernanceCode.SUPERSEDED, "a newer version is in force: sign that", "convention_id"
        )
    household: Household = await get_row(
        session, Household, household_id, "household", "household_id"
    )
    if household.building_id != convention.building_id:
        raise invalid("the household is not in the convention's building", "household_id")
    signer: Person = await get_row(session, Person, signed_by_id, "person", "signed_by_id")
    if signer.household_id != household_id:
        raise invalid("a member of the household signs for it", "signed_by_id")
    inserted = await session.scalar(
        pg_insert(ConventionSignature)
        .values(
            convention_id=convention_id,
            household_id=household_id,
            signed_by_id=signed_by_id,
            recorded_by_id=recorded_by_id,
            signed_at=now or utcnow(),
        )
        .on_conflict_do_nothing(constraint="uq_convention_signature")
        .returning(col(ConventionSignature.id))
    )
    if inserted is None:
        raise DomainError(
            CogovernanceCode.ALREADY_SIGNED,
            "this household has signed this version",
            "household_id",
        )
    found = await session.get(ConventionSignature, int(inserted))
    assert found is not None
    return found


@dataclass(frozen=True)
class Coverage:
    """The convention in force of a building and how many of its households signed it."""

    convention_id: int | None
    version: int | None
    households: int
    signed: int

    @property
    def share(self) -> float | None:
        return self.signed / self.households if self.households and self.version else None


def coverage_statement(building_ids: Sequence[int]) -> sa.Select[Any]:
    """One statement for many buildings: counts of every household, whoever asks (the
    building's row is what the reader must see; counts are no one's personal data)."""
    ids = list(building_ids)
    latest = (
        sa.select(
            col(Convention.building_id).label("b"), sa.func.max(col(Convention.version)).label("v")
        )
        .where(col(Convention.building_id).in_(ids))
        .group_by(col(Convention.building_id))
        .subquery("latest")
    )
    households = (
        sa.select(col(Household.building_id).label("b"), sa.func.count().label("n"))
        .where(col(Household.building_id).in_(ids))
        .group_by(col(Household.building_id))
        .subquery("households")
    )
    signed = (
        sa.select(col(ConventionSignature.convention_id).label("c"), sa.func.count().label("n"))
        .group_by(col(ConventionSignature.convention_id))
        .subquery("signed")
    )
    stmt = (
        sa.select(
            col(Building.id),
            col(Convention.id),
            col(Convention.version),
            sa.func.coalesce(households.c.n, 0),
            sa.func.coalesce(signed.c.n, 0),
        )
        .outerjoin(latest, latest.c.b == col(Building.id))
        .outerjoin(
            Convention,
            sa.and_(
                col(Convention.building_id) == col(Building.id),
                col(Convention.version) == latest.c.v,
            ),
        )
        .outerjoin(households, households.c.b == col(Building.id))
        .outerjoin(signed, signed.c.c == col(Convention.id))
        .where(col(Building.id).in_(ids))
    )
    return cast("sa.Select[Any]", stmt)


async def coverage_of(loaders: Loaders, building_id: int) -> Coverage:
    async def batch(ids: list[int]) -> list[Coverage]:
        rows = {
            int(b): Coverage(c, v, int(h), int(s))
            for b, c, v, h, s in await loaders.fetch(coverage_statement(ids))
        }
        return [rows.get(i, Coverage(None, None, 0, 0)) for i in ids]

    return await loaders.batch("coverage", Coverage, batch).load(building_id)


# --- meetings and their decisions ----------------------------------------------------------


@dataclass(frozen=True)
class AgendaDraft:
    subject: str
    petition_id: int | None = None
    service_order_id: int | None = None


@dataclass(frozen=True)
class MeetingDraft:
    kind: MeetingKind
    title: str
    held_at: datetime
    place: str
    org_unit_id: int | None = None
    building_id: int | None = None
    minutes: str | None = None
    attendee_ids: tuple[int, ...] = ()
    agenda: tuple[AgendaDraft, ...] = ()


async def create_meeting(
    session: AsyncSession, draft: MeetingDraft, *, convened_by_id: int | None
) -> Meeting:
    """A meeting with its attendees and agenda. A petition on the agenda lies under the
    meeting's place and is still open."""
    at_building, kinds = MEETING_PLACES[draft.kind]
    where = await place(
        session, draft.org_unit_id, draft.building_id, buildings=at_building, kinds=kinds
    )
    if at_building and draft.building_id is None:
        raise DomainError(
            CogovernanceCode.INVALID_PARENT_KIND, f"a {draft.kind} is a building's", "building_id"
        )
    if len(draft.agenda) > MAX_AGENDA or len(set(draft.attendee_ids)) > MAX_ATTENDEES:
        raise invalid(f"at most {MAX_AGENDA} agenda items and {MAX_ATTENDEES} attendees", "agenda")
    petitions = [a.petition_id for a in draft.agenda if a.petition_id is not None]
    if len(petitions) != len(set(petitions)):
        raise invalid("a petition is on the agenda once", "agenda")
    for petition_id in petitions:
        petition: Petition = await get_row(session, Petition, petition_id, "petition", "agenda")
        if not under(petition.path, where.path):
            raise invalid("a petition on the agenda lies under the meeting's place", "agenda")
        if petition.status in FINAL_STATUSES:
            raise invalid("a petition on the agenda is still open", "agenda")
    for person_id in sorted(set(draft.attendee_ids)):
        await get_row(session, Person, person_id, "person", "attendee_ids")
    meeting = Meeting(
        kind=draft.kind,
        title=clean_text(draft.title, "title", max_length=100),
        org_unit_id=where.org_unit_id,
        building_id=where.building_id,
        held_at=draft.held_at,
        place=clean_text(draft.place, "place", max_length=100),
        convened_by_id=convened_by_id,
        minutes=clean_note(draft.minutes, "minutes", max_length=5000),
    )
    session.add(meeting)
    await session.flush()
    await session.refresh(meeting, ["path"])
    assert meeting.id is not None
    rows: list[Any] = [
        MeetingAttendee(meeting_id=meeting.id, person_id=p, path=meeting.path)
        for p in sorted(set(draft.attendee_ids))
    ]
    rows += [
        AgendaItem(
            meeting_id=meeting.id,
            path=meeting.path,
            position=i,
            subject=clean_text(a.subject, "agenda", max_length=200),
            petition_id=a.petition_id,
            service_order_id=a.service_order_id,
        )
        for i, a in enumerate(draft.agenda, start=1)
    ]
    session.add_all(rows)
    await session.flush()
    return meeting


@dataclass(frozen=True)
class TaskDraft:
    title: str
    description: str | None = None
    due_on: date | None = None
    assignee_id: int | None = None


@dataclass(frozen=True)
class Decision:
    """What the meeting decided on an item: a petition step, a new task, or a note alone."""

    text: str
    petition_action: PetitionAction | None = None
    expected_version: int | None = None
    assignee_id: int | None = None
    duplicate_of_id: int | None = None
    task: TaskDraft | None = None


def decision_note(meeting: Meeting, text: str) -> str:
    return (
        f"{MEETING_NAMES[meeting.kind]}「{meeting.title}」({meeting.held_at:%Y-%m-%d}) 决定: {text}"
    )


async def decide_agenda_item(
    session: AsyncSession,
    *,
    item_id: int,
    decision: Decision,
    actor_id: int | None,
    now: datetime | None = None,
) -> AgendaItem:
    """Record the meeting's decision on an item, once (ALREADY_DECIDED). A petition step runs
    through the petition workflow (its guards, its version, its timeline) with the meeting
    in the step's note; a task is opened at the meeting's place."""
    now = now or utcnow()
    item: AgendaItem = await get_row(session, AgendaItem, item_id, "agenda item", "item_id")
    meeting: Meeting = await get_row(session, Meeting, item.meeting_id, "meeting", "item_id")
    locked = await session.scalar(
        sa.select(col(AgendaItem.decided_at))
        .where(col(AgendaItem.id) == item_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is not None:
        raise DomainError(CogovernanceCode.ALREADY_DECIDED, "this item is decided", "item_id")
    text = clean_text(decision.text, "decision", max_length=1000)
    values: dict[str, Any] = {"decision": text, "decided_by_id": actor_id, "decided_at": now}
    if decision.petition_action is not None and decision.task is not None:
        raise invalid("one decision moves a petition or opens a task, not both", "task")
    if decision.petition_action is not None:
        if item.petition_id is None:
            raise invalid("this item names no petition", "petition_action")
        if decision.expected_version is None:
            raise invalid("a petition step passes the version seen", "expected_version")
        moved = await rp.transition(
            session,
            item.petition_id,
            decision.petition_action,
            decision.expected_version,
            actor_id,
            note=decision_note(meeting, text),
            assignee_id=decision.assignee_id,
            duplicate_of_id=decision.duplicate_of_id,
            now=now,
        )
        values.update(
            outcome=AgendaOutcome.PETITION_MOVED,
            petition_action=decision.petition_action,
            petition_version=moved.version,
        )
    elif decision.task is not None:
        task = await create_task(
            session,
            title=decision.task.title,
            description=decision.task.description,
            org_unit_id=meeting.org_unit_id,
            building_id=meeting.building_id,
            due_on=decision.task.due_on,
            assignee_id=decision.task.assignee_id,
            meeting_id=meeting.id,
            created_by_id=actor_id,
            now=now,
        )
        values.update(outcome=AgendaOutcome.TASK_CREATED, task_id=task.id)
    else:
        values["outcome"] = AgendaOutcome.NOTED
    await session.execute(
        sa.update(AgendaItem)
        .where(col(AgendaItem.id) == item_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    decided = await session.get(AgendaItem, item_id, populate_existing=True)
    assert decided is not None
    return decided


# --- 民生实事 --------------------------------------------------------------------------------


async def create_task(
    session: AsyncSession,
    *,
    title: str,
    org_unit_id: int | None,
    building_id: int | None,
    description: str | None = None,
    due_on: date | None = None,
    assignee_id: int | None = None,
    meeting_id: int | None = None,
    created_by_id: int | None = None,
    now: datetime | None = None,
) -> LivelihoodTask:
    now = now or utcnow()
    await place(session, org_unit_id, building_id)
    if assignee_id is not None:
        await get_row(session, Person, assignee_id, "person", "assignee_id")
    task = LivelihoodTask(
        title=clean_text(title, "title", max_length=100),
        description=clean_note(description, "description", max_length=2000),
        org_unit_id=org_unit_id,
        building_id=building_id,
        meeting_id=meeting_id,
        assignee_id=assignee_id,
        due_on=due_on,
        status=TaskStatus.OPEN,
        version=1,
        created_by_id=created_by_id,
        created_at=now,
        status_changed_at=now,
    )
    session.add(task)
    await session.flush()
    await session.refresh(task, ["path"])
    await TASKS.record(session, task, _TA.OPEN, None, created_by_id, note=None, now=now)
    return task


async def act_on_task(
    session: AsyncSession,
    *,
    task_id: int,
    action: TaskAction,
    expected_version: int,
    actor_id: int | None,
    note: str | None = None,
    now: datetime | None = None,
) -> LivelihoodTask:
    """Start, complete (with its result) or cancel (with a reason) a 民生实事 task."""
    now = now or utcnow()
    task = await TASKS.load(session, task_id)
    if task.version != expected_version:
        raise TASKS.conflict(task, expected_version)
    if TASKS.target(task.status, action) is None:
        raise TASKS.refusal(task, action)
    text = clean_note(note, "note", max_length=1000)
    TASKS.require(action, {"note": text}, {"note": "a result or a reason (`note`)"})
    values: dict[str, Any] = {}
    if action == _TA.COMPLETE:
        values = {"done_at": now, "result": text}
    return await TASKS.move(
        session,
        task,
        action,
        actor_id,
        now=now,
        expected_version=expected_version,
        note=text,
        values=values,
    )


# --- liaisons -----------------------------------------------------------------------------


async def create_pavilion(
    session: AsyncSession,
    *,
    name: str,
    address: str,
    org_unit_id: int | None,
    building_id: int | None,
    opening_hours: str | None = None,
) -> LiaisonPavilion:
    await place(
        session, org_unit_id, building_id, kinds=frozenset({OrgKind.GRID, OrgKind.COMMUNITY})
    )
    pavilion = LiaisonPavilion(
        name=clean_text(name, "name", max_length=60),
        address=clean_text(address, "address", max_length=200),
        org_unit_id=org_unit_id,
        building_id=building_id,
        opening_hours=clean_note(opening_hours, "opening_hours", max_length=100),
    )
    session.add(pavilion)
    await session.flush()
    await session.refresh(pavilion, ["path"])
    return pavilion


async def add_liaison(
    session: AsyncSession,
    *,
    building_id: int,
    kind: LiaisonKind,
    name: str,
    shop_id: int | None = None,
    work_unit_id: int | None = None,
    pavilion_id: int | None = None,
) -> Liaison:
    """A shop (商铺联户) or a work unit (单位联户) joins a building's liaison circle."""
    building: Building = await get_row(session, Building, building_id, "building", "building_id")
    if (kind == LiaisonKind.WORK_UNIT) != (work_unit_id is not None) or (
        shop_id is not None and kind != LiaisonKind.SHOP
    ):
        raise invalid(
            "a work unit's liaison names the work unit; a shop's may name the shop", "kind"
        )
    if work_unit_id is not None:
        await get_row(session, WorkUnit, work_unit_id, "work unit", "work_unit_id")
    if shop_id is not None:
        shop: Shop = await get_row(session, Shop, shop_id, "shop", "shop_id")
        if not str(building.path).startswith(f"{shop.path}."):
            raise invalid("the shop is not in the building's grid or community", "shop_id")
    if pavilion_id is not None:
        pavilion: LiaisonPavilion = await get_row(
            session, LiaisonPavilion, pavilion_id, "pavilion", "pavilion_id"
        )
        if not under(str(building.path), str(pavilion.path)):
            raise invalid("the 联心亭 does not serve this building", "pavilion_id")
    liaison = Liaison(
        building_id=building_id,
        kind=kind,
        name=clean_text(name, "name", max_length=60),
        shop_id=shop_id,
        work_unit_id=work_unit_id,
        pavilion_id=pavilion_id,
    )
    session.add(liaison)
    await session.flush()
    await session.refresh(liaison, ["path"])
    return liaison


async def end_liaison(
    session: AsyncSession, *, liaison_id: int, now: datetime | None = None
) -> Liaison:
    liaison: Liaison = await get_row(session, Liaison, liaison_id, "liaison", "id")
    if liaison.ended_at is not None:
        raise DomainError(CogovernanceCode.ALREADY_ENDED, "this liaison has ended", "id")
    liaison.ended_at = now or utcnow()
    await session.flush()
    return liaison


# --- improvement projects -------------------------------------------------------------------


async def create_project(
    session: AsyncSession,
    *,
    title: str,
    org_unit_id: int | None,
    building_id: int | None,
    problems: Sequence[Problem],
    started_on: date,
    before_evidence: Sequence[str] = (),
    created_by_id: int | None = None,
) -> ImprovementProject:
    await place(session, org_unit_id, building_id)
    if not problems:
        raise invalid("a project fixes at least one problem", "problems")
    project = ImprovementProject(
        title=clean_text(title, "title", max_length=100),
        org_unit_id=org_unit_id,
        building_id=building_id,
        problems=sorted({str(p) for p in problems}),
        before_evidence=clean_references(before_evidence, "before_evidence"),
        started_on=started_on,
        created_by_id=created_by_id,
    )
    session.add(project)
    await session.flush()
    await session.refresh(project, ["path"])
    return project


async def add_funding(
    session: AsyncSession,
    *,
    project_id: int,
    source: FundingSource,
    funder: str,
    amount_yuan: Decimal,
    received_on: date,
    work_unit_id: int | None = None,
) -> ProjectFunding:
    """Money a department gave (部门出资), the community raised (社区筹资) or an enterprise
    donated (企业捐资) for a project."""
    await get_row(session, ImprovementProject, project_id, "project", "project_id")
    if work_unit_id is not None:
        await get_row(session, WorkUnit, work_unit_id, "work unit", "work_unit_id")
    amount = money(amount_yuan, "amount_yuan")
    assert amount is not None
    funding = ProjectFunding(
        project_id=project_id,
        source=source,
        funder=clean_text(funder, "funder", max_length=100),
        work_unit_id=work_unit_id,
        amount_yuan=amount,
        received_on=received_on,
    )
    session.add(funding)
    await session.flush()
    return funding


async def complete_project(
    session: AsyncSession, *, project_id: int, completed_on: date, after_evidence: Sequence[str]
) -> ImprovementProject:
    project: ImprovementProject = await get_row(
        session, ImprovementProject, project_id, "project", "id"
    )
    if project.completed_on is not None:
        raise DomainError(CogovernanceCode.ALREADY_ENDED, "this project is complete", "id")
    if completed_on < project.started_on:
        raise invalid("a project completes after it starts", "completed_on")
    evidence = clean_references(after_evidence, "after_evidence")
    if not evidence:
        raise invalid("show the result: photos after the work", "after_evidence")
    project.completed_on = completed_on
    project.after_evidence = evidence
    await session.flush()
    return project


# --- notices ------------------------------------------------------------------------------


async def publish_notice(
    session: AsyncSession,
    *,
    title: str,
    body: str,
    org_unit_id: int | None,
    building_id: int | None,
    published_by_id: int | None,
    now: datetime | None = None,
) -> Notice:
    """党的声音进楼栋: a notice to the residents of a building, an estate or a community."""
    await place(
        session,
        org_unit_id,
        building_id,
        kinds=frozenset({OrgKind.GRID, OrgKind.COMMUNITY, OrgKind.STREET}),
    )
    notice = Notice(
        title=clean_text(title, "title", max_length=100),
        body=clean_text(body, "body", max_length=5000),
        org_unit_id=org_unit_id,
        building_id=building_id,
        published_by_id=published_by_id,
        published_at=now or utcnow(),
    )
    session.add(notice)
    await session.flush()
    await session.refresh(notice, ["path"])
    return notice


async def withdraw_notice(
    session: AsyncSession, *, notice_id: int, now: datetime | None = None
) -> Notice:
    notice: Notice = await get_row(session, Notice, notice_id, "notice", "id")
    if notice.withdrawn_at is not None:
        raise DomainError(CogovernanceCode.ALREADY_ENDED, "this notice is withdrawn", "id")
    notice.withdrawn_at = now or utcnow()
    await session.flush()
    return notice


async def mark_notice_read(
    session: AsyncSession, *, notice_id: int, person_id: int, now: datetime | None = None
) -> Notice:
    """A resident of the notice's place has read it (again: nothing changes)."""
    notice: Notice = await get_row(session, Notice, notice_id, "notice", "id")
    person: Person = await get_row(session, Person, person_id, "person", "id")
    if notice.withdrawn_at is not None or not under(person.path, str(notice.path)):
        raise DomainError(
            CogovernanceCode.NOT_IN_AUDIENCE, "this notice is not addressed to you", "id"
        )
    await session.execute(
        pg_insert(NoticeReceipt)
        .values(notice_id=notice_id, person_id=person_id, read_at=now or utcnow())
        .on_conflict_do_nothing(constraint="uq_notice_receipt")
    )
    return notice


@dataclass(frozen=True)
class Readership:
    audience: int
    read: int


async def readership_of(loaders: Loaders, notice: Notice) -> Readership:
    """Residents a notice is addressed to and how many read it (counts, nobody named)."""

    async def batch(keys: list[tuple[int, str]]) -> list[Readership]:
        ids = [k[0] for k in keys]
        reads = {
            int(n): int(c)
            for n, c in await loaders.fetch(
                sa.select(col(NoticeReceipt.notice_id), sa.func.count())
                .where(col(NoticeReceipt.notice_id).in_(ids))
                .group_by(col(NoticeReceipt.notice_id))
            )
        }
        audience = {
            int(n): int(c)
            for n, c in await loaders.fetch(
                sa.select(col(Notice.id), sa.func.count(col(Person.id)))
                .join(Person, col(Person.path).op("<@")(col(Notice.path)))
                .where(col(Notice.id).in_(ids))
                .group_by(col(Notice.id))
            )
        }
        return [Readership(audience.get(i, 0), reads.get(i, 0)) for i in ids]

    assert notice.id is not None
    return await loaders.batch("readership", Notice, batch).load((notice.id, str(notice.path)))


async def read_at(loaders: Loaders, notice_id: int, person_id: int | None) -> datetime | None:
    if person_id is None:
        return None

    async def batch(ids: list[int]) -> list[datetime | None]:
        rows = await loaders.fetch(
            sa.select(col(NoticeReceipt.notice_id), col(NoticeReceipt.read_at)).where(
                col(NoticeReceipt.notice_id).in_(ids), col(NoticeReceipt.person_id) == person_id
            )
        )
        found = {int(n): at for n, at in rows}
        return [found.get(i) for i in ids]

    return await loaders.batch("read_at", NoticeReceipt, batch).load(notice_id)


async def project_funding_total(loaders: Loaders, project_id: int) -> Decimal:
    async def batch(ids: list[int]) -> list[Decimal]:
        rows = await loaders.fetch(
            sa.select(col(ProjectFunding.project_id), sa.func.sum(col(ProjectFunding.amount_yuan)))
            .where(col(ProjectFunding.project_id).in_(ids))
            .group_by(col(ProjectFunding.project_id))
        )
        found = {int(p): Decimal(t) for p, t in rows}
        return [found.get(i, Decimal(0)) for i in ids]

    return await loaders.batch("funding_total", ProjectFunding, batch).load(project_id)


# --- reading ---------------------------------------------------------------------------------

CONVENTIONS_OF_BUILDING = Children(
    Convention, Convention.building_id, Ordering.of(desc(Convention.version))
)
SIGNATURES = Children(
    ConventionSignature, ConventionSignature.convention_id, Ordering.of(asc(ConventionSignature.id))
)
MEETINGS_UNDER = Listing("org_unit.meetings", Meeting, Parent(within=OrgUnit))
MEETINGS_OF_BUILDING = Listing("building.meetings", Meeting, Parent(column=Meeting.building_id))
ATTENDEES = Children(
    MeetingAttendee, MeetingAttendee.meeting_id, Ordering.of(asc(MeetingAttendee.id))
)
AGENDA = Children(AgendaItem, AgendaItem.meeting_id, Ordering.of(asc(AgendaItem.position)))
TASKS_UNDER = Listing("org_unit.tasks", LivelihoodTask, Parent(within=OrgUnit))
TASK_TIMELINE = Children(
    LivelihoodTaskEvent, LivelihoodTaskEvent.task_id, Ordering.of(asc(LivelihoodTaskEvent.version))
)
TASKS_OF_MEETING = Children(
    LivelihoodTask, LivelihoodTask.meeting_id, Ordering.of(asc(LivelihoodTask.id))
)
PAVILIONS_UNDER = Listing("org_unit.pavilions", LiaisonPavilion, Parent(within=OrgUnit))
LIAISONS_OF_BUILDING = Children(
    Liaison, Liaison.building_id, Ordering.of(asc(Liaison.id)), (col(Liaison.ended_at).is_(None),)
)
LIAISONS_OF_PAVILION = Children(
    Liaison, Liaison.pavilion_id, Ordering.of(asc(Liaison.id)), (col(Liaison.ended_at).is_(None),)
)
PROJECTS_UNDER = Listing("org_unit.projects", ImprovementProject, Parent(within=OrgUnit))
FUNDING = Children(ProjectFunding, ProjectFunding.project_id, Ordering.of(asc(ProjectFunding.id)))
NOTICES_UNDER = Listing("org_unit.notices", Notice, Parent(within=OrgUnit))


@dataclass(frozen=True)
class MeetingFilter:
    kinds: tuple[MeetingKind, ...] = ()

    def conditions(self) -> list[Any]:
        return [col(Meeting.kind).in_(self.kinds)] if self.kinds else []

    @staticmethod
    def ordering() -> Ordering:
        return Ordering.of(desc(Meeting.held_at), desc(Meeting.id))


@dataclass(frozen=True)
class TaskFilter:
    statuses: tuple[TaskStatus, ...] = ()

    def conditions(self) -> list[Any]:
        return [col(LivelihoodTask.status).in_(self.statuses)] if self.statuses else []

    @staticmethod
    def ordering() -> Ordering:
        return Ordering.of(desc(LivelihoodTask.created_at), desc(LivelihoodTask.id))


@dataclass(frozen=True)
class Newest:
    """Newest first by a model's timestamp column."""

    order: Ordering
    where: tuple[Any, ...] = ()

    def conditions(self) -> list[Any]:
        return list(self.where)

    def ordering(self) -> Ordering:
        return self.order


PAVILION_ORDER = Newest(Ordering.of(desc(LiaisonPavilion.created_at), desc(LiaisonPavilion.id)))
PROJECT_ORDER = Newest(
    Ordering.of(desc(ImprovementProject.started_on), desc(ImprovementProject.id))
)
NOTICE_ORDER = Newest(
    Ordering.of(desc(Notice.published_at), desc(Notice.id)), (col(Notice.withdrawn_at).is_(None),)
)


# --- figures for the big screen ------------------------------------------------------------


@dataclass(frozen=True)
class EngagementFigures:
    """What a subtree's incentives, recognition and co-governance amount to, of the rows the
    caller may count."""

    shops: int
    live_offers: int
    redemptions: int
    points_redeemed: int
    fee_reductions: int
    awards: int
    red_flags: int
    buildings_with_convention: int
    households: int
    households_signed: int
    meetings: int
    decisions: int
    tasks_open: int
    tasks_done: int
    projects: int
    funds_yuan: Decimal
    pavilions: int
    liaisons: int
    notices: int
    notice_reads: int

    @property
    def convention_coverage(self) -> float | None:
        return self.households_signed / self.households if self.households else None


def engagement_statement(unit_id: int, scope: Any, now: datetime) -> sa.Select[Any]:
    """Every figure of one unit's subtree in one statement."""
    from models.incentives import FeeReduction, Offer, PointsEntry, Redemption, RedemptionStatus
    from models.recognition import Award, AwardKind

    node = sa.orm.aliased(OrgUnit, name="node")

    def count(model: Any, *conditions: Any, what: Any = None) -> Any:
        counted = what if what is not None else sa.func.count()
        return (
            sa.select(counted)
            .where(model.path.op("<@")(node.path), *conditions, *scope(model))
            .scalar_subquery()
        )

    in_force = sa.select(sa.func.max(col(Convention.id))).group_by(col(Convention.building_id))
    convention_households = count(
        Household, sa.exists().where(col(Convention.building_id) == col(Household.building_id))
    )
    signed = count(ConventionSignature, col(ConventionSignature.convention_id).in_(in_force))
    redeemed_points = (
        sa.select(sa.func.coalesce(sa.func.sum(col(PointsEntry.points)), 0))
        .select_from(PointsEntry)
        .join(Redemption, col(Redemption.id) == col(PointsEntry.source_id))
        .where(
            col(PointsEntry.kind) == "REDEEMED",
            col(PointsEntry.source_type) == "REDEMPTION",
            col(Redemption.path).op("<@")(node.path),
            *scope(Redemption),
        )
        .scalar_subquery()
    )
    funds = (
        sa.select(sa.func.coalesce(sa.func.sum(col(ProjectFunding.amount_yuan)), 0))
        .where(col(ProjectFunding.path).op("<@")(node.path), *scope(ProjectFunding))
        .scalar_subquery()
    )
    today = now.date()
    return sa.select(
        count(Shop, col(Shop.closed_at).is_(None)),
        count(
            Offer,
            col(Offer.withdrawn_at).is_(None),
            col(Offer.valid_from) <= now,
            col(Offer.valid_until) > now,
        ),
        count(Redemption, col(Redemption.status) == RedemptionStatus.CONFIRMED),
        redeemed_points,
        count(FeeReduction),
        count(Award),
        count(
            Award,
            col(Award.kind) == AwardKind.RED_FLAG,
            col(Award.period_start) <= today,
            col(Award.period_end) > today,
        ),
        count(Convention, what=sa.func.count(sa.distinct(col(Convention.building_id)))),
        convention_households,
        signed,
        count(Meeting),
        count(AgendaItem, col(AgendaItem.decided_at).is_not(None)),
        count(LivelihoodTask, col(LivelihoodTask.status).in_((_T.OPEN, _T.IN_PROGRESS))),
        count(LivelihoodTask, col(LivelihoodTask.status) == _T.DONE),
        count(ImprovementProject),
        funds,
        count(LiaisonPavilion),
        count(Liaison, col(Liaison.ended_at).is_(None)),
        count(Notice, col(Notice.withdrawn_at).is_(None)),
        sa.select(sa.func.count())
        .select_from(NoticeReceipt)
        .join(Notice, col(Notice.id) == col(NoticeReceipt.notice_id))
        .where(col(Notice.path).op("<@")(node.path), *scope(Notice))
        .scalar_subquery(),
    ).where(col(node.id) == unit_id)


async def engagement_figures(
    loaders: Loaders, unit_id: int, now: datetime | None = None
) -> EngagementFigures | None:
    """The figures of a unit's subtree, counted over what the caller may count; None when the
    unit is not found."""
    rows = await loaders.fetch(engagement_statement(unit_id, loaders.count_scope, now or utcnow()))
    if not rows:
        return None
    values = list(rows[0])
    values[15] = Decimal(values[15])
    return EngagementFigures(*values)
