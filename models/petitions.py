"""Petitions (诉求), their categories and due times, timeline and ratings (一事一评).

A petition belongs to a place (a building, or an org unit for a place without building) and
carries its ltree `path`; it is owned by a node of the administrative tree (`owner_level`,
`owner_path`), starting at the lowest level whose remit covers its category and moving one
level up per escalation. Its lifecycle is a transition table in `resolvers.petitions`; every
change bumps `version` (optimistic concurrency) and writes a `petition_event` row.

Two clocks run on a case: the case's own deadline (`case_due_at`, from receipt, by its
priority's due time) and the deadline of the level that owns it now (`due_at`, restarted for
each new owner). Each level's turn with a case is a `petition_stage` row, judged against its
own deadline.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import enum_column, fk, ltree_column, pk, text_array, timestamp


class Channel(enum.StrEnum):
    ONLINE = "ONLINE"  # 红城微家 mini-program
    SUGGESTION_BOX = "SUGGESTION_BOX"  # 民情意见箱
    WISH_WALL = "WISH_WALL"  # 微心愿墙
    DOOR_VISIT = "DOOR_VISIT"  # 大走访: recorded by staff on the resident's behalf
    HOTLINE = "HOTLINE"
    MEETING = "MEETING"  # 楼栋共治会, 红色议事厅


class Level(enum.StrEnum):
    """The levels that own and handle petitions, lowest first."""

    BUILDING = "BUILDING"
    GRID = "GRID"
    COMMUNITY = "COMMUNITY"
    STREET = "STREET"
    DISTRICT = "DISTRICT"


LEVELS: tuple[Level, ...] = tuple(Level)

#: ltree `nlevel` of a node of each level (city 1, district 2 ... grid 5, building 6).
LEVEL_DEPTH: dict[Level, int] = {
    Level.DISTRICT: 2,
    Level.STREET: 3,
    Level.COMMUNITY: 4,
    Level.GRID: 5,
    Level.BUILDING: 6,
}
DEPTH_LEVEL: dict[int, Level] = {depth: level for level, depth in LEVEL_DEPTH.items()}


class Priority(enum.StrEnum):
    URGENT = "URGENT"  # default 2 hours
    UTILITIES = "UTILITIES"  # default 24 hours
    GENERAL = "GENERAL"  # default 7 days
    COMPLEX = "COMPLEX"  # default 15 days


DEFAULT_DUE: dict[Priority, timedelta] = {
    Priority.URGENT: timedelta(hours=2),
    Priority.UTILITIES: timedelta(hours=24),
    Priority.GENERAL: timedelta(days=7),
    Priority.COMPLEX: timedelta(days=15),
}


class PetitionStatus(enum.StrEnum):
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    DUPLICATE = "DUPLICATE"
    ASSIGNED = "ASSIGNED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    IN_PROGRESS = "IN_PROGRESS"
    RETURNED = "RETURNED"
    ESCALATED = "ESCALATED"
    RESOLVED = "RESOLVED"  # awaiting the resident's rating
    NOT_RESOLVABLE = "NOT_RESOLVABLE"  # awaiting the resident's rating
    REOPENED = "REOPENED"
    CLOSED = "CLOSED"
    CLOSED_UNRATED = "CLOSED_UNRATED"


#: Statuses in which a petition is being handled: the clock (`due_at`) runs and an overdue
#: petition escalates. (RESOLVED and NOT_RESOLVABLE wait for the resident's rating.)
OPEN_STATUSES: frozenset[PetitionStatus] = frozenset(
    {
        PetitionStatus.SUBMITTED,
        PetitionStatus.ACCEPTED,
        PetitionStatus.ASSIGNED,
        PetitionStatus.ACKNOWLEDGED,
        PetitionStatus.IN_PROGRESS,
        PetitionStatus.RETURNED,
        PetitionStatus.ESCALATED,
        PetitionStatus.REOPENED,
    }
)
OPEN_STATUSES_SQL = ", ".join(f"'{s}'" for s in PetitionStatus if s in OPEN_STATUSES)
AWAITING_RATING: frozenset[PetitionStatus] = frozenset(
    {PetitionStatus.RESOLVED, PetitionStatus.NOT_RESOLVABLE}
)
FINAL_STATUSES: frozenset[PetitionStatus] = frozenset(
    {
        PetitionStatus.REJECTED,
        PetitionStatus.DUPLICATE,
        PetitionStatus.CLOSED,
        PetitionStatus.CLOSED_UNRATED,
    }
)


class PetitionAction(enum.StrEnum):
    SUBMIT = "SUBMIT"  # the first timeline entry only; never a transition
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    MARK_DUPLICATE = "MARK_DUPLICATE"
    ASSIGN = "ASSIGN"
    ACKNOWLEDGE = "ACKNOWLEDGE"
    START = "START"
    RESOLVE = "RESOLVE"
    DECLARE_NOT_RESOLVABLE = "DECLARE_NOT_RESOLVABLE"
    RETURN = "RETURN"
    ESCALATE = "ESCALATE"
    CLOSE = "CLOSE"
    REOPEN = "REOPEN"
    CLOSE_UNRATED = "CLOSE_UNRATED"


class RatingValue(enum.StrEnum):
    SATISFIED = "SATISFIED"
    BASICALLY_SATISFIED = "BASICALLY_SATISFIED"
    UNSATISFIED = "UNSATISFIED"


def _levels_check(column: str) -> str:
    return f"{column} <@ ARRAY['" + "','".join(Level) + "']::text[]"


class PetitionCategory(SQLModel, table=True):
    """A kind of petition and the levels whose remit covers it (editable by admins)."""

    __tablename__ = "petition_category"
    __table_args__ = (
        sa.CheckConstraint(_levels_check("remit_levels"), name="ck_petition_category_levels"),
        sa.CheckConstraint("cardinality(remit_levels) > 0", name="ck_petition_category_has_remit"),
    )

    id: int | None = pk()
    code: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    remit_levels: list[str] = text_array()
    default_priority: Priority = enum_column(Priority)
    active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )
    created_at: datetime = timestamp()


class PetitionDueTime(SQLModel, table=True):
    """How long a petition of each priority may stay open at one level before escalating."""

    __tablename__ = "petition_due_time"
    __table_args__ = (sa.CheckConstraint("due_in > interval '0'", name="ck_petition_due_time"),)

    priority: Priority = enum_column(Priority, primary_key=True)
    due_in: timedelta = Field(sa_column=sa.Column(sa.Interval, nullable=False))
    updated_at: datetime = timestamp()


class Petition(SQLModel, table=True):
    __tablename__ = "petition"
    __table_args__ = (
        sa.Index("ix_petition_path", "path", postgresql_using="gist"),
        sa.Index("ix_petition_owner_path", "owner_path", postgresql_using="gist"),
        # the scheduler's two scans: open petitions by due time, resolved ones by age
        sa.Index(
            "ix_petition_open_due",
            "due_at",
            postgresql_where=sa.text("status IN (" + OPEN_STATUSES_SQL + ")"),
        ),
        sa.Index(
            "ix_petition_awaiting_rating",
            "status_changed_at",
            postgresql_where=sa.text("status IN ('RESOLVED', 'NOT_RESOLVABLE')"),
        ),
        sa.Index(
            "ix_petition_open_next_due",
            "next_due_at",
            "id",
            postgresql_where=sa.text("status IN (" + OPEN_STATUSES_SQL + ")"),
        ),
        sa.Index("ix_petition_status", "status"),
        sa.Index("ix_petition_submitted_at", "submitted_at"),
        sa.Index("ix_petition_duplicate_of", "duplicate_of_id"),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)", name="ck_petition_one_place"
        ),
        sa.CheckConstraint(
            "reporter_id IS NOT NULL OR recorded_by_id IS NOT NULL",
            name="ck_petition_has_someone",
        ),
        sa.CheckConstraint(
            "(status = 'DUPLICATE') = (duplicate_of_id IS NOT NULL)",
            name="ck_petition_duplicate_of",
        ),
        sa.CheckConstraint("duplicate_of_id <> id", name="ck_petition_not_own_duplicate"),
        sa.CheckConstraint("version > 0", name="ck_petition_version"),
        sa.CheckConstraint(
            "nlevel(owner_path) = CASE owner_level "
            + " ".join(f"WHEN '{level}' THEN {depth}" for level, depth in LEVEL_DEPTH.items())
            + " END",
            name="ck_petition_owner_depth",
        ),
        sa.CheckConstraint(
            "(owner_level = 'BUILDING') = (owner_org_unit_id IS NULL)",
            name="ck_petition_owner_node",
        ),
        sa.CheckConstraint("owner_path @> path", name="ck_petition_owner_above_place"),
        sa.CheckConstraint("cardinality(photos) <= 9", name="ck_petition_photos"),
    )

    id: int | None = pk()
    channel: Channel = enum_column(Channel)
    category_id: int = fk("petition_category.id")
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    description: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    building_id: int | None = fk("building.id", nullable=True)
    org_unit_id: int | None = fk("org_unit.id", nullable=True)
    location_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    path: str | None = ltree_column()
    #: the resident whose petition this is (and who rates it); NULL only for an unsigned
    #: note recorded by staff (e.g. from a suggestion box)
    reporter_id: int | None = fk("person.id", nullable=True)
    #: staff who recorded it on the resident's behalf (door visit, meeting, hotline ...)
    recorded_by_id: int | None = fk("person.id", nullable=True)
    anonymous: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    priority: Priority = enum_column(Priority)
    photos: list[str] = text_array()
    owner_level: Level = enum_column(Level)
    owner_path: str | None = ltree_column()
    #: the owning org unit; NULL when the owner is a building (then `building_id`)
    owner_org_unit_id: int | None = fk("org_unit.id", nullable=True)
    assignee_id: int | None = fk("person.id", nullable=True)
    duplicate_of_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("petition.id"), nullable=True),
    )
    status: PetitionStatus = enum_column(PetitionStatus)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1")
    )
    rejection_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    resolution_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    escalation_count: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    reopen_count: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    idempotency_key: str | None = Field(
        default=None, sa_column=sa.Column(sa.Text, nullable=True, unique=True)
    )
    content_hash: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    submitted_at: datetime = timestamp()
    #: the owning level's deadline: set at receipt, escalation and reopening; the scheduler
    #: escalates a case whose level deadline passed
    due_at: datetime = timestamp(default_now=False)
    #: the case's deadline: receipt + the priority's due time; escalation leaves it alone,
    #: reopening sets a new one (reopen time + due time)
    case_due_at: datetime = timestamp(default_now=False)
    #: an earlier round was resolved after its case deadline: the case is late for good
    late_earlier: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    #: the nearer of the two deadlines, which queues are ordered by
    next_due_at: datetime | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.DateTime(timezone=True),
            sa.Computed("LEAST(due_at, case_due_at)", persisted=True),
            nullable=False,
        ),
    )
    #: the first acceptance, assignment and contact of the case (per level: `petition_stage`)
    accepted_at: datetime | None = timestamp(nullable=True, default_now=False)
    assigned_at: datetime | None = timestamp(nullable=True, default_now=False)
    first_contact_at: datetime | None = timestamp(nullable=True, default_now=False)
    resolved_at: datetime | None = timestamp(nullable=True, default_now=False)
    closed_at: datetime | None = timestamp(nullable=True, default_now=False)
    status_changed_at: datetime = timestamp()


class PetitionEvent(SQLModel, table=True):
    """One timeline entry: who moved the petition from which status to which, when, why.

    `actor_person_id` is NULL for the scheduler, and for the reporter of an anonymous
    petition (then `by_reporter` is true), so the timeline never reveals them.
    """

    __tablename__ = "petition_event"
    __table_args__ = (
        sa.Index("ix_petition_event_path", "path", postgresql_using="gist"),
        sa.Index("ix_petition_event_petition", "petition_id", "id"),
        sa.Index("ix_petition_event_actor", "actor_person_id"),
    )

    id: int | None = pk()
    petition_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("petition.id", ondelete="CASCADE"), nullable=False
        )
    )
    action: PetitionAction = enum_column(PetitionAction)
    from_status: PetitionStatus | None = enum_column(
        PetitionStatus, check="ck_petition_event_from_status", nullable=True
    )
    to_status: PetitionStatus = enum_column(PetitionStatus, check="ck_petition_event_to_status")
    actor_person_id: int | None = fk("person.id", nullable=True, index=False)
    by_reporter: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    assignee_id: int | None = fk("person.id", nullable=True, index=False)
    from_level: Level | None = enum_column(
        Level, check="ck_petition_event_from_level", nullable=True
    )
    to_level: Level | None = enum_column(Level, check="ck_petition_event_to_level", nullable=True)
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    path: str | None = ltree_column()
    at: datetime = timestamp()


class PetitionRating(SQLModel, table=True):
    """一事一评: the resident's rating of one resolution round (round = reopen count).

    The rater is always the petition's reporter, so it is not stored twice.
    """

    __tablename__ = "petition_rating"
    __table_args__ = (
        sa.Index("ix_petition_rating_path", "path", postgresql_using="gist"),
        sa.UniqueConstraint("petition_id", "round", name="uq_petition_rating_round"),
    )

    id: int | None = pk()
    petition_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("petition.id", ondelete="CASCADE"), nullable=False
        )
    )
    round: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    rating: RatingValue = enum_column(RatingValue)
    comment: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    resolved_level: Level = enum_column(Level)
    path: str | None = ltree_column()
    at: datetime = timestamp()


class PetitionStage(SQLModel, table=True):
    """One level's turn with a case, judged against that level's own deadline.

    A stage starts when a level receives the case (submission, escalation to it, reopening)
    and ends with the action that takes the case from it (resolution, declaration, rejection,
    merging as a duplicate, escalation). `round` is the petition's reopen count when it
    started; `accepted_at`, `assigned_at` and `first_contact_at` are the first of each during
    the stage.
    """

    __tablename__ = "petition_stage"
    __table_args__ = (
        sa.Index("ix_petition_stage_path", "path", postgresql_using="gist"),
        sa.UniqueConstraint("petition_id", "seq", name="uq_petition_stage_seq"),
        # one running stage per case
        sa.Index(
            "uq_petition_stage_running",
            "petition_id",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
        sa.CheckConstraint("due_at > started_at", name="ck_petition_stage_due"),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name="ck_petition_stage_ended"
        ),
        sa.CheckConstraint(
            "(ended_at IS NULL) = (ended_by IS NULL)", name="ck_petition_stage_ended_by"
        ),
        sa.CheckConstraint(
            "(level = 'BUILDING') = (owner_org_unit_id IS NULL)", name="ck_petition_stage_owner"
        ),
    )

    id: int | None = pk()
    petition_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("petition.id", ondelete="CASCADE"), nullable=False
        )
    )
    seq: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    round: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    level: Level = enum_column(Level, check="ck_petition_stage_level")
    #: the node that had the turn: when the place later moves under another parent, a past
    #: turn stays with the node that had it (unlike the petition's current owner)
    owner_path: str | None = ltree_column()
    owner_org_unit_id: int | None = fk("org_unit.id", nullable=True, index=False)
    #: the petition's place (row scope follows the case)
    path: str | None = ltree_column()
    started_at: datetime = timestamp(default_now=False)
    due_at: datetime = timestamp(default_now=False)
    accepted_at: datetime | None = timestamp(nullable=True, default_now=False)
    assigned_at: datetime | None = timestamp(nullable=True, default_now=False)
    first_contact_at: datetime | None = timestamp(nullable=True, default_now=False)
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)
    ended_by: PetitionAction | None = enum_column(
        PetitionAction, check="ck_petition_stage_ended_by_action", nullable=True
    )
