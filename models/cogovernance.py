"""Co-governance (共建共治): building conventions (《红色美丽楼栋公约》) signed per household,
meetings (楼栋共治会, 红色议事厅, 党建联席会议) with agendas and decisions, 民生实事 tasks
tracked to done, liaisons beyond households (商铺联户, 单位联户) and the 联心亭 where they meet,
improvement projects with their funding and evidence, and notices (党的声音进楼栋) with read
receipts."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import enum_column, fk, ltree_column, pk, text_array, timestamp
from models.petitions import PetitionAction


def _one_place(table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        "(org_unit_id IS NULL) <> (building_id IS NULL)", name=f"ck_{table}_one_place"
    )


# --- conventions ----------------------------------------------------------------------------


class Convention(SQLModel, table=True):
    """One version of a building's convention; the newest version is in force."""

    __tablename__ = "convention"
    __table_args__ = (
        sa.Index("ix_convention_path", "path", postgresql_using="gist"),
        sa.UniqueConstraint("building_id", "version", name="uq_convention_version"),
        sa.CheckConstraint("version > 0", name="ck_convention_version"),
    )

    id: int | None = pk()
    building_id: int = fk("building.id", index=False)
    path: str | None = ltree_column()
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    adopted_by_id: int | None = fk("person.id", nullable=True, index=False)
    adopted_at: datetime = timestamp()


class ConventionSignature(SQLModel, table=True):
    """A household's signature of one version (one per household per version)."""

    __tablename__ = "convention_signature"
    __table_args__ = (
        sa.Index("ix_convention_signature_path", "path", postgresql_using="gist"),
        sa.UniqueConstraint("convention_id", "household_id", name="uq_convention_signature"),
    )

    id: int | None = pk()
    convention_id: int = fk("convention.id", index=False)
    household_id: int = fk("household.id")
    path: str | None = ltree_column()
    signed_by_id: int = fk("person.id", index=False)
    recorded_by_id: int | None = fk("person.id", nullable=True, index=False)
    signed_at: datetime = timestamp()


# --- meetings and 民生实事 ----------------------------------------------------------------------


class MeetingKind(enum.StrEnum):
    BUILDING_COUNCIL = "BUILDING_COUNCIL"  # 楼栋共治会 (a building)
    RED_COUNCIL_HALL = "RED_COUNCIL_HALL"  # 红色议事厅 (an estate: a grid or community)
    JOINT_CONFERENCE = "JOINT_CONFERENCE"  # 党建联席会议 (a street or community)


class Meeting(SQLModel, table=True):
    __tablename__ = "meeting"
    __table_args__ = (
        sa.Index("ix_meeting_path", "path", postgresql_using="gist"),
        sa.Index("ix_meeting_held_at", "held_at"),
        _one_place("meeting"),
    )

    id: int | None = pk()
    kind: MeetingKind = enum_column(MeetingKind)
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    org_unit_id: int | None = fk("org_unit.id", nullable=True, index=False)
    building_id: int | None = fk("building.id", nullable=True, index=False)
    path: str | None = ltree_column()
    held_at: datetime = timestamp(default_now=False)
    place: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    convened_by_id: int | None = fk("person.id", nullable=True, index=False)
    minutes: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    created_at: datetime = timestamp()


class MeetingAttendee(SQLModel, table=True):
    __tablename__ = "meeting_attendee"
    __table_args__ = (
        sa.Index("ix_meeting_attendee_path", "path", postgresql_using="gist"),
        sa.UniqueConstraint("meeting_id", "person_id", name="uq_meeting_attendee"),
    )

    id: int | None = pk()
    meeting_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False
        )
    )
    person_id: int = fk("person.id")
    capacity: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    path: str | None = ltree_column()


class AgendaOutcome(enum.StrEnum):
    PETITION_MOVED = "PETITION_MOVED"  # the petition took a step of its workflow
    TASK_CREATED = "TASK_CREATED"  # a 民生实事 task was opened
    NOTED = "NOTED"  # discussed, nothing to move


class AgendaItem(SQLModel, table=True):
    """An item of a meeting's agenda: a petition, a service order, or a topic; its decision
    is the meeting's, and moves what it names."""

    __tablename__ = "agenda_item"
    __table_args__ = (
        sa.Index("ix_agenda_item_path", "path", postgresql_using="gist"),
        sa.Index("ix_agenda_item_meeting", "meeting_id", "position"),
        sa.Index("ix_agenda_item_petition", "petition_id"),
        sa.UniqueConstraint("meeting_id", "position", name="uq_agenda_item_position"),
        sa.CheckConstraint(
            "num_nonnulls(petition_id, service_order_id) <= 1", name="ck_agenda_item_subject"
        ),
        sa.CheckConstraint(
            "(outcome IS NULL) = (decided_at IS NULL)", name="ck_agenda_item_decided"
        ),
    )

    id: int | None = pk()
    meeting_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False
        )
    )
    path: str | None = ltree_column()
    position: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    subject: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    petition_id: int | None = fk("petition.id", nullable=True, index=False)
    #: a service order of the services domain (no foreign key until that table exists here)
    service_order_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    decision: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    outcome: AgendaOutcome | None = enum_column(AgendaOutcome, nullable=True)
    petition_action: PetitionAction | None = enum_column(
        PetitionAction, check="ck_agenda_item_petition_action", nullable=True
    )
    petition_version: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    task_id: int | None = fk("livelihood_task.id", nullable=True, index=False)
    decided_by_id: int | None = fk("person.id", nullable=True, index=False)
    decided_at: datetime | None = timestamp(nullable=True, default_now=False)


class TaskStatus(enum.StrEnum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class TaskAction(enum.StrEnum):
    OPEN = "OPEN"  # the first timeline entry only
    START = "START"
    COMPLETE = "COMPLETE"
    CANCEL = "CANCEL"


class LivelihoodTask(SQLModel, table=True):
    """民生实事: a practical matter a meeting (or an admin) takes on, tracked to done."""

    __tablename__ = "livelihood_task"
    __table_args__ = (
        sa.Index("ix_livelihood_task_path", "path", postgresql_using="gist"),
        sa.Index("ix_livelihood_task_status", "status"),
        _one_place("livelihood_task"),
        sa.CheckConstraint("version > 0", name="ck_livelihood_task_version"),
        sa.CheckConstraint(
            "(status = 'DONE') = (done_at IS NOT NULL)", name="ck_livelihood_task_done"
        ),
    )

    id: int | None = pk()
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    org_unit_id: int | None = fk("org_unit.id", nullable=True, index=False)
    building_id: int | None = fk("building.id", nullable=True, index=False)
    path: str | None = ltree_column()
    meeting_id: int | None = fk("meeting.id", nullable=True, index=False)
    assignee_id: int | None = fk("person.id", nullable=True, index=False)
    due_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    status: TaskStatus = enum_column(TaskStatus)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1")
    )
    result: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    created_by_id: int | None = fk("person.id", nullable=True, index=False)
    created_at: datetime = timestamp()
    done_at: datetime | None = timestamp(nullable=True, default_now=False)
    status_changed_at: datetime = timestamp()


class LivelihoodTaskEvent(SQLModel, table=True):
    __tablename__ = "livelihood_task_event"
    __table_args__ = (
        sa.Index("ix_livelihood_task_event_path", "path", postgresql_using="gist"),
        sa.Index("ix_livelihood_task_event_task", "task_id", "id"),
    )

    id: int | None = pk()
    task_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("livelihood_task.id", ondelete="CASCADE"), nullable=False
        )
    )
    action: TaskAction = enum_column(TaskAction)
    from_status: TaskStatus | None = enum_column(
        TaskStatus, check="ck_livelihood_task_event_from_status", nullable=True
    )
    to_status: TaskStatus = enum_column(TaskStatus, check="ck_livelihood_task_event_to_status")
    actor_person_id: int | None = fk("person.id", nullable=True, index=False)
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    path: str | None = ltree_column()
    at: datetime = timestamp()


# --- liaisons beyond households --------------------------------------------------------------


class LiaisonKind(enum.StrEnum):
    SHOP = "SHOP"  # 商铺联户
    WORK_UNIT = "WORK_UNIT"  # 单位联户


class LiaisonPavilion(SQLModel, table=True):
    """联心亭: where a building's or estate's liaison circle meets."""

    __tablename__ = "liaison_pavilion"
    __table_args__ = (
        sa.Index("ix_liaison_pavilion_path", "path", postgresql_using="gist"),
        _one_place("liaison_pavilion"),
    )

    id: int | None = pk()
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    org_unit_id: int | None = fk("org_unit.id", nullable=True, index=False)
    building_id: int | None = fk("building.id", nullable=True, index=False)
    path: str | None = ltree_column()
    address: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    opening_hours: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    created_at: datetime = timestamp()


class Liaison(SQLModel, table=True):
    """A shop or a work unit in a building's liaison circle (商铺联户, 单位联户)."""

    __tablename__ = "liaison"
    __table_args__ = (
        sa.Index("ix_liaison_path", "path", postgresql_using="gist"),
        sa.CheckConstraint(
            "(kind = 'WORK_UNIT') = (work_unit_id IS NOT NULL)"
            " AND (shop_id IS NULL OR kind = 'SHOP')",
            name="ck_liaison_kind",
        ),
    )

    id: int | None = pk()
    building_id: int = fk("building.id")
    path: str | None = ltree_column()
    kind: LiaisonKind = enum_column(LiaisonKind)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    shop_id: int | None = fk("shop.id", nullable=True, index=False)
    work_unit_id: int | None = fk("work_unit.id", nullable=True, index=False)
    pavilion_id: int | None = fk("liaison_pavilion.id", nullable=True, index=False)
    joined_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)


# --- improvement projects ---------------------------------------------------------------


class Problem(enum.StrEnum):
    ILLEGAL_ADS = "ILLEGAL_ADS"  # 城市“牛皮癣”
    TANGLED_WIRING = "TANGLED_WIRING"  # 电线乱搭
    BLOCKED_CORRIDOR = "BLOCKED_CORRIDOR"  # 楼道堵塞
    PIPES_AND_CABLES = "PIPES_AND_CABLES"  # 管网线网乱拉乱搭
    CLUTTER = "CLUTTER"  # 杂物乱堆乱放
    DIRTY_WALLS = "DIRTY_WALLS"  # 墙面污垢


class FundingSource(enum.StrEnum):
    DEPARTMENT = "DEPARTMENT"  # 部门出资
    COMMUNITY = "COMMUNITY"  # 社区筹资
    ENTERPRISE = "ENTERPRISE"  # 企业捐资


class ImprovementProject(SQLModel, table=True):
    __tablename__ = "improvement_project"
    __table_args__ = (
        sa.Index("ix_improvement_project_path", "path", postgresql_using="gist"),
        _one_place("improvement_project"),
        sa.CheckConstraint(
            "problems <@ ARRAY['" + "','".join(Problem) + "']::text[]"
            " AND cardinality(problems) > 0",
            name="ck_improvement_project_problems",
        ),
        sa.CheckConstraint(
            "completed_on IS NULL OR completed_on >= started_on",
            name="ck_improvement_project_dates",
        ),
    )

    id: int | None = pk()
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    org_unit_id: int | None = fk("org_unit.id", nullable=True, index=False)
    building_id: int | None = fk("building.id", nullable=True, index=False)
    path: str | None = ltree_column()
    problems: list[str] = text_array()
    before_evidence: list[str] = text_array()
    after_evidence: list[str] = text_array()
    started_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    completed_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    created_by_id: int | None = fk("person.id", nullable=True, index=False)
    created_at: datetime = timestamp()


class ProjectFunding(SQLModel, table=True):
    __tablename__ = "project_funding"
    __table_args__ = (
        sa.Index("ix_project_funding_path", "path", postgresql_using="gist"),
        sa.Index("ix_project_funding_project", "project_id"),
        sa.CheckConstraint("amount_yuan > 0", name="ck_project_funding_amount"),
    )

    id: int | None = pk()
    project_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger,
            sa.ForeignKey("improvement_project.id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    path: str | None = ltree_column()
    source: FundingSource = enum_column(FundingSource)
    funder: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    work_unit_id: int | None = fk("work_unit.id", nullable=True, index=False)
    amount_yuan: Decimal = Field(sa_column=sa.Column(sa.Numeric(14, 2), nullable=False))
    received_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))


# --- notices ----------------------------------------------------------------------------


class Notice(SQLModel, table=True):
    """党的声音进楼栋: an announcement to the residents of a building, estate or community."""

    __tablename__ = "notice"
    __table_args__ = (
        sa.Index("ix_notice_path", "path", postgresql_using="gist"),
        sa.Index("ix_notice_published_at", "published_at"),
        _one_place("notice"),
    )

    id: int | None = pk()
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    org_unit_id: int | None = fk("org_unit.id", nullable=True, index=False)
    building_id: int | None = fk("building.id", nullable=True, index=False)
    path: str | None = ltree_column()
    published_by_id: int | None = fk("person.id", nullable=True, index=False)
    published_at: datetime = timestamp()
    withdrawn_at: datetime | None = timestamp(nullable=True, default_now=False)


class NoticeReceipt(SQLModel, table=True):
    """A resident has read a notice (one receipt per person)."""

    __tablename__ = "notice_receipt"
    __table_args__ = (
        sa.UniqueConstraint("notice_id", "person_id", name="uq_notice_receipt"),
        sa.Index("ix_notice_receipt_person", "person_id"),
    )

    id: int | None = pk()
    notice_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("notice.id", ondelete="CASCADE"), nullable=False
        )
    )
    person_id: int = fk("person.id", index=False)
    read_at: datetime = timestamp()
