"""Business rules of petitions (诉求): categories and due times, submission with an idempotency
key, the lifecycle (one transition table, optimistic versions, a timeline entry per change),
the two clocks (the case's deadline and the owning level's, each level's turn a stage),
automatic escalation of overdue petitions, ratings (一事一评) and the points they earn.

Every function takes the caller's `AsyncSession`, validates, raises `DomainError` with a
stable code, and flushes; the caller owns the transaction (one per request, or one per
scheduler pass). Who may do what is the permission layer's business: actors are plain
person ids here, and `allowed_actions` / `TRANSITIONS` are data it can map from.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.incentives import PointsEntry
from models.org import Building, OrgKind, OrgUnit
from models.people import Person, Position, Role
from models.petitions import (
    AWAITING_RATING,
    DEFAULT_DUE,
    DEPTH_LEVEL,
    LEVEL_DEPTH,
    LEVELS,
    OPEN_STATUSES,
    Channel,
    Level,
    Petition,
    PetitionAction,
    PetitionCategory,
    PetitionDueTime,
    PetitionEvent,
    PetitionRating,
    PetitionStage,
    PetitionStatus,
    Priority,
    RatingValue,
)
from resolvers.common import (
    clean_idempotency_key,
    clean_note,
    clean_references,
    clean_text,
    get_row,
)
from resolvers.errors import Common, DomainError, invalid, not_found
from resolvers.incentives import credit
from resolvers.loaders import Children
from resolvers.pagination import Listing, Narrowing, Ordering, Parent, asc, desc
from resolvers.scheduler import scheduled
from resolvers.workflow import Flow, Workflow

log = logging.getLogger(__name__)

Status = PetitionStatus
Action = PetitionAction


class PetitionCode(enum.StrEnum):
    """Codes of petitions and their categories (besides the workflow's own)."""

    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    ALREADY_RATED = "ALREADY_RATED"
    DUPLICATE_CODE = "DUPLICATE_CODE"
    RETIRED = "RETIRED"


# --- the lifecycle, as data ----------------------------------------------------------

_S, _A = PetitionStatus, PetitionAction

#: status -> action -> next status. The only source of legal transitions.
TRANSITIONS: Final[dict[Status, dict[Action, Status]]] = {
    _S.SUBMITTED: {
        _A.ACCEPT: _S.ACCEPTED,
        _A.REJECT: _S.REJECTED,
        _A.MARK_DUPLICATE: _S.DUPLICATE,
        _A.ESCALATE: _S.ESCALATED,
    },
    _S.ACCEPTED: {
        _A.ASSIGN: _S.ASSIGNED,
        _A.MARK_DUPLICATE: _S.DUPLICATE,
        _A.ESCALATE: _S.ESCALATED,
    },
    _S.ASSIGNED: {
        _A.ASSIGN: _S.ASSIGNED,  # reassign
        _A.ACKNOWLEDGE: _S.ACKNOWLEDGED,
        _A.RETURN: _S.RETURNED,
        _A.ESCALATE: _S.ESCALATED,
    },
    _S.ACKNOWLEDGED: {
        _A.START: _S.IN_PROGRESS,
        _A.RETURN: _S.RETURNED,
        _A.ESCALATE: _S.ESCALATED,
    },
    _S.IN_PROGRESS: {
        _A.RESOLVE: _S.RESOLVED,
        _A.DECLARE_NOT_RESOLVABLE: _S.NOT_RESOLVABLE,
        _A.RETURN: _S.RETURNED,
        _A.ESCALATE: _S.ESCALATED,
    },
    # Back at dispatch (returned, or owned one level up): the dispatcher may still find the
    # case outside every remit or a duplicate.
    _S.RETURNED: {
        _A.ASSIGN: _S.ASSIGNED,
        _A.ESCALATE: _S.ESCALATED,
        _A.REJECT: _S.REJECTED,
        _A.MARK_DUPLICATE: _S.DUPLICATE,
    },
    _S.ESCALATED: {
        _A.ASSIGN: _S.ASSIGNED,
        _A.ESCALATE: _S.ESCALATED,
        _A.REJECT: _S.REJECTED,
        _A.MARK_DUPLICATE: _S.DUPLICATE,
    },
    _S.RESOLVED: {
        _A.CLOSE: _S.CLOSED,
        _A.REOPEN: _S.REOPENED,
        _A.CLOSE_UNRATED: _S.CLOSED_UNRATED,
    },
    _S.NOT_RESOLVABLE: {
        _A.CLOSE: _S.CLOSED,
        _A.REOPEN: _S.REOPENED,
        _A.CLOSE_UNRATED: _S.CLOSED_UNRATED,
    },
    _S.REOPENED: {_A.ASSIGN: _S.ASSIGNED, _A.START: _S.IN_PROGRESS, _A.ESCALATE: _S.ESCALATED},
    _S.REJECTED: {},
    _S.DUPLICATE: {},
    _S.CLOSED: {},
    _S.CLOSED_UNRATED: {},
}

#: Arguments of `transition` an action cannot do without (`note` is the reason, the
#: resolution note or the explanation, as the action requires).
REQUIRED: Final[dict[Action, frozenset[str]]] = {
    _A.REJECT: frozenset({"note"}),
    _A.MARK_DUPLICATE: frozenset({"duplicate_of_id"}),
    _A.ASSIGN: frozenset({"assignee_id"}),
    _A.RESOLVE: frozenset({"note"}),
    _A.DECLARE_NOT_RESOLVABLE: frozenset({"note"}),
    _A.RETURN: frozenset({"note"}),
    _A.ESCALATE: frozenset({"note"}),
}

#: What `note` means for each action that requires it (for labels and messages).
NOTE_MEANING: Final[dict[Action, str]] = {
    _A.REJECT: "reason",
    _A.RESOLVE: "resolution note",
    _A.DECLARE_NOT_RESOLVABLE: "explanation",
    _A.RETURN: "reason (why it is outside the handler's remit)",
    _A.ESCALATE: "reason",
    _A.MARK_DUPLICATE: "note (optional)",
}

#: Actions that count as handling a case (their actors may not earn from its rating).
HANDLING_ACTIONS: Final = frozenset(
    {
        _A.ACCEPT,
        _A.ASSIGN,
        _A.ACKNOWLEDGE,
        _A.START,
        _A.RESOLVE,
        _A.DECLARE_NOT_RESOLVABLE,
        _A.RETURN,
        _A.ESCALATE,
    }
)

#: Points credited to the building head for a SATISFIED rating of a building-level case.
SATISFIED_POINTS: Final = 10
POINTS_SOURCE: Final = "PETITION"
#: The longest a level may have for a petition (the longest default, COMPLEX, is 15 days).
MAX_DUE: Final = timedelta(days=90)
#: Days a resolved petition waits for its rating before CLOSED_UNRATED (scheduler default).
RATING_DAYS: Final = 7


def _event_values(petition: Petition, actor_person_id: int | None) -> dict[str, Any]:
    """The reporter of an anonymous petition is on its timeline as `by_reporter`, unnamed."""
    by_reporter = actor_person_id is not None and actor_person_id == petition.reporter_id
    return {
        "by_reporter": by_reporter,
        "actor_person_id": None if by_reporter and petition.anonymous else actor_person_id,
    }


# --- the clocks: the case's deadline, and each level's turn (a stage) ------------------------

#: Stage columns an action stamps, the first time it happens during the stage.
STAGE_STAMPS: Final[dict[Action, str]] = {
    _A.ACCEPT: "accepted_at",
    _A.ASSIGN: "assigned_at",
    _A.ACKNOWLEDGE: "first_contact_at",
}
#: Actions that end the owning level's turn: it closed the case or passed it on.
ENDS_STAGE: Final = frozenset(
    {_A.RESOLVE, _A.DECLARE_NOT_RESOLVABLE, _A.REJECT, _A.MARK_DUPLICATE, _A.ESCALATE}
)
#: Actions after which a level has the case: receipt, escalation to it, reopening.
STARTS_STAGE: Final = frozenset({_A.SUBMIT, _A.ESCALATE, _A.REOPEN})
#: Statuses that take a case out of handling: it has no deadline to judge.
NOT_HANDLED: Final = (PetitionStatus.REJECTED, PetitionStatus.DUPLICATE)


async def _keep_stages(
    session: AsyncSession, petition: Petition, action: Action, now: datetime
) -> None:
    """After each recorded step: stamp, end and start stages as the step implies."""
    running = sa.and_(
        col(PetitionStage.petition_id) == petition.id, col(PetitionStage.ended_at).is_(None)
    )
    changes: dict[str, Any] = {}
    stamp = STAGE_STAMPS.get(action)
    if stamp is not None:
        changes[stamp] = sa.func.coalesce(getattr(PetitionStage, stamp), now)
    if action in ENDS_STAGE:
        changes.update(ended_at=now, ended_by=action)
    if changes:
        await session.execute(
            sa.update(PetitionStage)
            .where(running)
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
    if action in STARTS_STAGE:
        seq = (
            sa.select(sa.func.coalesce(sa.func.max(col(PetitionStage.seq)), 0) + 1)
            .where(col(PetitionStage.petition_id) == petition.id)
            .scalar_subquery()
        )
        await session.execute(
            sa.insert(PetitionStage).values(
                petition_id=petition.id,
                seq=seq,
                round=petition.reopen_count,
                level=petition.owner_level,
                owner_path=petition.owner_path,
                owner_org_unit_id=petition.owner_org_unit_id,
                path=petition.path,
                started_at=now,
                due_at=petition.due_at,
            )
        )


PETITIONS: Final[Workflow[Petition, PetitionStatus, PetitionAction]] = Workflow(
    noun="petition",
    model=Petition,
    event=PetitionEvent,
    event_key="petition_id",
    transitions=TRANSITIONS,
    required=REQUIRED,
    event_values=_event_values,
    after_record=_keep_stages,
)


def overdue(petition: Petition, now: datetime | None = None) -> bool:
    """Still being handled and past its level's due time (the scheduler escalates it)."""
    return petition.status in OPEN_STATUSES and petition.due_at < (now or utcnow())


def overdue_sql(table: Any) -> Any:
    return sa.and_(table.status.in_(sorted(OPEN_STATUSES)), table.due_at < sa.func.now())


def case_overdue(petition: Petition, now: datetime | None = None) -> bool:
    """Still being handled and past the case's deadline, whichever level owns it."""
    return petition.status in OPEN_STATUSES and petition.case_due_at < (now or utcnow())


def case_overdue_sql(table: Any) -> Any:
    return sa.and_(table.status.in_(sorted(OPEN_STATUSES)), table.case_due_at < sa.func.now())


def resolved_in_time(petition: Petition) -> bool:
    """This round was resolved by its case deadline (a declaration is no resolution)."""
    return petition.resolved_at is not None and petition.resolved_at <= petition.case_due_at


def case_on_time(petition: Petition, now: datetime | None = None) -> bool | None:
    """Whether the case met its deadline: None while that is open (or it left handling).

    Late for good when a round was resolved late (or not resolved) before a reopening;
    otherwise on time when resolved by the case deadline, late once that passed without.
    """
    if petition.status in NOT_HANDLED:
        return None
    if petition.late_earlier:
        return False
    if petition.resolved_at is not None:
        return petition.resolved_at <= petition.case_due_at
    return False if petition.case_due_at <= (now or utcnow()) else None


def case_on_time_sql(table: Any, as_of: Any = None) -> Any:
    """`case_on_time` in SQL, judged at `as_of` (default: now): the metrics' definition."""
    at = sa.func.now() if as_of is None else as_of
    return sa.case(
        (table.status.in_(NOT_HANDLED), sa.null()),
        (table.late_earlier, sa.false()),
        (table.resolved_at.is_not(None), table.resolved_at <= table.case_due_at),
        (table.case_due_at <= at, sa.false()),
        else_=sa.null(),
    )


def stage_on_time(stage: PetitionStage, now: datetime | None = None) -> bool | None:
    """Whether the level closed or passed on the case within its own deadline; None while
    its turn runs and the deadline has not passed."""
    if stage.ended_at is not None:
        return stage.ended_at <= stage.due_at
    return False if stage.due_at <= (now or utcnow()) else None


def stage_on_time_sql(table: Any, as_of: Any = None) -> Any:
    at = sa.func.now() if as_of is None else as_of
    return sa.case(
        (table.ended_at.is_not(None), table.ended_at <= table.due_at),
        (table.due_at <= at, sa.false()),
        else_=sa.null(),
    )


def level_above(level: Level) -> Level | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


async def _person(session: AsyncSession, ident: int, field: str) -> Person:
    return await get_row(session, Person, ident, "person", field)


# --- categories and due times -------------------------------------------------------------

_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")


def _clean_remit(levels: Sequence[Level]) -> list[str]:
    if not levels:
        raise DomainError(
            Common.VALIDATION, "a category needs at least one level in its remit", "remit_levels"
        )
    return [str(level) for level in LEVELS if level in set(levels)]


async def list_categories(
    session: AsyncSession, *, include_inactive: bool = False
) -> list[PetitionCategory]:
    stmt = sa.select(PetitionCategory).order_by(col(PetitionCategory.id))
    if not include_inactive:
        stmt = stmt.where(col(PetitionCategory.active))
    return list((await session.execute(stmt)).scalars())


async def category_by_code(session: AsyncSession, code: str) -> PetitionCategory:
    found = await session.scalar(
        sa.select(PetitionCategory).where(col(PetitionCategory.code) == code)
    )
    if found is None:
        raise not_found("petition category", "code")
    return found


async def create_category(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    remit_levels: Sequence[Level],
    default_priority: Priority,
    active: bool = True,
) -> PetitionCategory:
    code = code.strip().upper()
    if not _CODE.match(code):
        raise DomainError(
            Common.VALIDATION, "`code` is 2-40 capitals, digits or underscores", "code"
        )
    category = PetitionCategory(
        code=code,
        name=clean_text(name, "name", max_length=40),
        remit_levels=_clean_remit(remit_levels),
        default_priority=default_priority,
        active=active,
    )
    taken = await session.scalar(
        sa.select(col(PetitionCategory.id)).where(col(PetitionCategory.code) == code)
    )
    if taken:
        raise DomainError(PetitionCode.DUPLICATE_CODE, f"category code {code} is taken", "code")
    session.add(category)
    await session.flush()
    return category


async def update_category(
    session: AsyncSession,
    *,
    category_id: int,
    name: str | None = None,
    remit_levels: Sequence[Level] | None = None,
    default_priority: Priority | None = None,
    active: bool | None = None,
) -> PetitionCategory:
    """Change what is given; petitions already submitted keep their owner and due time."""
    category: PetitionCategory = await get_row(
        session, PetitionCategory, category_id, "petition category", "id"
    )
    if name is not None:
        category.name = clean_text(name, "name", max_length=40)
    if remit_levels is not None:
        category.remit_levels = _clean_remit(remit_levels)
    if default_priority is not None:
        category.default_priority = default_priority
    if active is not None:
        category.active = active
    await session.flush()
    return category


async def due_times(session: AsyncSession) -> dict[Priority, timedelta]:
    rows = await session.execute(
        sa.select(col(PetitionDueTime.priority), col(PetitionDueTime.due_in))
    )
    found = {Priority(p): d for p, d in rows}
    return {p: found.get(p, DEFAULT_DUE[p]) for p in Priority}


async def due_in(session: AsyncSession, priority: Priority) -> timedelta:
    found = await session.scalar(
        sa.select(col(PetitionDueTime.due_in)).where(col(PetitionDueTime.priority) == priority)
    )
    return found if found is not None else DEFAULT_DUE[priority]


async def set_due_time(
    session: AsyncSession, *, priority: Priority, hours: float, now: datetime | None = None
) -> PetitionDueTime:
    """Set how many hours petitions of `priority` have per level (from the next submission
    or escalation on; due times already set stay)."""
    if not math.isfinite(hours) or not 0 < hours <= MAX_DUE.total_seconds() / 3600:
        raise invalid(f"a due time is longer than 0 and at most {MAX_DUE.days} days", "hours")
    due = timedelta(hours=hours)
    stmt = (
        pg_insert(PetitionDueTime)
        .values(priority=priority, due_in=due, updated_at=now or utcnow())
        .on_conflict_do_update(
            index_elements=["priority"],
            set_={"due_in": due, "updated_at": now or utcnow()},
        )
    )
    await session.execute(stmt)
    row = await session.get(PetitionDueTime, priority, populate_existing=True)
    assert row is not None
    return row


def owner_level_for(remit_levels: Iterable[str], place_level: Level) -> Level:
    """The lowest level, at or above the place, whose remit covers the category."""
    remit = {Level(level) for level in remit_levels}
    for level in LEVELS[LEVELS.index(place_level) :]:
        if level in remit:
            return level
    return place_level


# --- submission ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PetitionDraft:
    """What a resident (or staff on a resident's behalf) submits.

    `reporter_id` is the resident whose petition it is (who rates it); `recorded_by_id` the
    staff member who recorded it for them (door visits, meetings, hotline, suggestion box).
    An unsigned note from a suggestion box has a recorder and no reporter.
    """

    channel: Channel
    category_id: int
    title: str
    description: str
    building_id: int | None = None
    org_unit_id: int | None = None
    location_note: str | None = None
    reporter_id: int | None = None
    recorded_by_id: int | None = None
    anonymous: bool = False
    priority: Priority | None = None
    photos: tuple[str, ...] = field(default_factory=tuple)


_ORG_LEVEL: Final = {
    OrgKind.GRID: Level.GRID,
    OrgKind.COMMUNITY: Level.COMMUNITY,
    OrgKind.STREET: Level.STREET,
    OrgKind.DISTRICT: Level.DISTRICT,
}


async def _place_level(session: AsyncSession, draft: PetitionDraft) -> Level:
    if (draft.building_id is None) == (draft.org_unit_id is None):
        raise DomainError(
            Common.VALIDATION, "give either a building or an org unit as the place", "building_id"
        )
    if draft.building_id is not None:
        await get_row(session, Building, draft.building_id, "building", "building_id")
        return Level.BUILDING
    assert draft.org_unit_id is not None
    unit: OrgUnit = await get_row(session, OrgUnit, draft.org_unit_id, "org unit", "org_unit_id")
    if unit.retired_at is not None:
        raise DomainError(PetitionCode.RETIRED, "this org unit is retired", "org_unit_id")
    level = _ORG_LEVEL.get(unit.kind)
    if level is None:
        raise DomainError(
            Common.VALIDATION, "a petition's place is a district or below", "org_unit_id"
        )
    return level


def _content(draft: PetitionDraft) -> dict[str, Any]:
    """The submission, normalised: what an idempotent retry must repeat exactly."""
    return {
        "channel": str(draft.channel),
        "category_id": draft.category_id,
        "title": clean_text(draft.title, "title", max_length=100),
        "description": clean_text(draft.description, "description", max_length=2000),
        "building_id": draft.building_id,
        "org_unit_id": draft.org_unit_id,
        "location_note": clean_note(draft.location_note, "location_note", max_length=200),
        "reporter_id": draft.reporter_id,
        "recorded_by_id": draft.recorded_by_id,
        "anonymous": draft.anonymous,
        "priority": str(draft.priority) if draft.priority else None,
        "photos": clean_references(draft.photos, "photos"),
    }


def content_hash(content: dict[str, Any]) -> str:
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


async def _validate_people(session: AsyncSession, draft: PetitionDraft) -> None:
    if draft.reporter_id is None and draft.recorded_by_id is None:
        raise DomainError(
            Common.VALIDATION, "a petition has a reporter or a recorder", "reporter_id"
        )
    if draft.reporter_id is not None:
        await _person(session, draft.reporter_id, "reporter_id")
    if draft.recorded_by_id is not None:
        if draft.recorded_by_id == draft.reporter_id:
            raise DomainError(
                Common.VALIDATION,
                "`recorded_by_id` is staff recording on someone else's behalf",
                "recorded_by_id",
            )
        await _person(session, draft.recorded_by_id, "recorded_by_id")
    if draft.channel == Channel.ONLINE and draft.recorded_by_id is not None:
        raise DomainError(
            Common.VALIDATION,
            "online petitions are submitted by residents themselves",
            "recorded_by_id",
        )
    if draft.channel == Channel.ONLINE and draft.reporter_id is None:
        raise DomainError(Common.VALIDATION, "an online petition has a reporter", "reporter_id")
    if draft.channel == Channel.DOOR_VISIT and (
        draft.recorded_by_id is None or draft.reporter_id is None
    ):
        raise DomainError(
            Common.VALIDATION,
            "a door-visit petition is recorded by staff for a resident",
            "recorded_by_id" if draft.recorded_by_id is None else "reporter_id",
        )


async def submit_petition(
    session: AsyncSession,
    draft: PetitionDraft,
    *,
    idempotency_key: str,
    now: datetime | None = None,
) -> Petition:
    """Create a petition, owned by the lowest level whose remit covers its category.

    The same key with the same content returns the petition created first (also when the
    two submissions race); the same key with other content is IDEMPOTENCY_KEY_REUSED.
    """
    now = now or utcnow()
    key = clean_idempotency_key(idempotency_key)
    content = _content(draft)
    digest = content_hash(content)
    existing = await _by_idempotency_key(session, key, digest)
    if existing is not None:
        return existing
    category: PetitionCategory = await get_row(
        session, PetitionCategory, draft.category_id, "petition category", "category_id"
    )
    if not category.active:
        raise DomainError(Common.VALIDATION, "this category is not in use", "category_id")
    place_level = await _place_level(session, draft)
    await _validate_people(session, draft)
    priority = draft.priority or category.default_priority
    owner_level = owner_level_for(category.remit_levels, place_level)
    values: dict[str, Any] = {
        **{k: v for k, v in content.items() if k != "priority"},
        "priority": priority,
        "owner_level": owner_level,
        "status": PetitionStatus.SUBMITTED,
        "version": 1,
        "idempotency_key": key,
        "content_hash": digest,
        "submitted_at": now,
        "status_changed_at": now,
    }
    values["due_at"] = values["case_due_at"] = now + await due_in(session, priority)
    inserted = await session.scalar(
        pg_insert(Petition)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(col(Petition.id))
    )
    if inserted is None:  # a concurrent submission with this key committed first
        existing = await _by_idempotency_key(session, key, digest)
        assert existing is not None
        return existing
    petition = await PETITIONS.load(session, int(inserted))
    await PETITIONS.record(
        session,
        petition,
        _A.SUBMIT,
        None,
        draft.recorded_by_id or draft.reporter_id,
        note=None,
        now=now,
    )
    return petition


async def _by_idempotency_key(session: AsyncSession, key: str, digest: str) -> Petition | None:
    found = await session.scalar(
        sa.select(Petition)
        .where(col(Petition.idempotency_key) == key)
        .execution_options(populate_existing=True)
    )
    if found is not None and found.content_hash != digest:
        raise DomainError(
            PetitionCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotency key was used for a different petition",
            "idempotency_key",
        )
    return found


# --- transitions -----------------------------------------------------------------------------


def _escalation(petition: Petition, due: timedelta, now: datetime) -> tuple[Level, dict[str, Any]]:
    above = level_above(petition.owner_level)
    if above is None:
        raise DomainError(
            Flow.INVALID_TRANSITION,
            "a petition owned by a district cannot escalate further",
            "action",
        )
    labels = (petition.owner_path or "").split(".")
    parent = labels[: LEVEL_DEPTH[above]]
    assert DEPTH_LEVEL[len(parent)] is above
    return above, {
        "owner_level": above,
        "owner_path": ".".join(parent),
        "owner_org_unit_id": int(parent[-1]),
        "assignee_id": None,
        "escalation_count": petition.escalation_count + 1,
        "due_at": now + due,
    }


async def _duplicate_root(session: AsyncSession, petition: Petition, other_id: int) -> int:
    other: Petition = await get_row(session, Petition, other_id, "petition", "duplicate_of_id")
    root = other.duplicate_of_id if other.status == PetitionStatus.DUPLICATE else other.id
    if root == petition.id:
        raise DomainError(
            Common.VALIDATION, "a petition cannot be merged into itself", "duplicate_of_id"
        )
    assert root is not None
    return root


async def _effects(  # noqa: PLR0912  (one case per action of the table)
    session: AsyncSession,
    petition: Petition,
    action: Action,
    note: str | None,
    assignee_id: int | None,
    duplicate_of_id: int | None,
    now: datetime,
) -> tuple[dict[str, Any], Level | None, Level | None]:
    """The columns an action sets besides status and version; levels when it escalates."""
    values: dict[str, Any] = {}
    match action:
        case _A.ACCEPT:
            values["accepted_at"] = petition.accepted_at or now
        case _A.REJECT:
            values.update(rejection_reason=note, closed_at=now)
        case _A.MARK_DUPLICATE:
            assert duplicate_of_id is not None
            values["duplicate_of_id"] = await _duplicate_root(session, petition, duplicate_of_id)
            values["closed_at"] = now
        case _A.ASSIGN:
            assert assignee_id is not None
            await _person(session, assignee_id, "assignee_id")
            values.update(assignee_id=assignee_id, assigned_at=petition.assigned_at or now)
        case _A.ACKNOWLEDGE:
            values["first_contact_at"] = petition.first_contact_at or now
        case _A.START:
            if petition.assignee_id is None:
                raise DomainError(
                    Common.VALIDATION, "assign someone before starting", "assignee_id"
                )
        case _A.RESOLVE:
            values.update(resolution_note=note, resolved_at=now)
        case _A.DECLARE_NOT_RESOLVABLE:
            values["resolution_note"] = note
        case _A.RETURN:
            values["assignee_id"] = None
        case _A.ESCALATE:
            due = await due_in(session, petition.priority)
            to_level, values = _escalation(petition, due, now)
            return values, petition.owner_level, to_level
        case _A.CLOSE | _A.CLOSE_UNRATED:
            values["closed_at"] = now
        case _A.REOPEN:
            # a new round with a new case deadline; a round that missed its own stays late
            deadline = now + await due_in(session, petition.priority)
            values.update(
                reopen_count=petition.reopen_count + 1,
                due_at=deadline,
                case_due_at=deadline,
                late_earlier=petition.late_earlier or not resolved_in_time(petition),
                resolved_at=None,
                resolution_note=None,
            )
    return values, None, None


async def transition(
    session: AsyncSession,
    petition_id: int,
    action: Action,
    expected_version: int,
    actor_person_id: int | None,
    *,
    note: str | None = None,
    assignee_id: int | None = None,
    duplicate_of_id: int | None = None,
    now: datetime | None = None,
) -> Petition:
    """Apply `action` to the petition at `expected_version`, with its timeline entry.

    NOT_FOUND, VERSION_CONFLICT (someone else changed it first), INVALID_TRANSITION (not
    allowed from its status), VALIDATION (a required argument is missing).
    """
    now = now or utcnow()
    petition = await PETITIONS.load(session, petition_id)
    if petition.version != expected_version:
        raise PETITIONS.conflict(petition, expected_version)
    if PETITIONS.target(petition.status, action) is None:
        raise PETITIONS.refusal(petition, action)
    note = clean_note(note)
    given = {"note": note, "assignee_id": assignee_id, "duplicate_of_id": duplicate_of_id}
    meaning = {"note": f"a {NOTE_MEANING.get(action, 'note')}"}
    PETITIONS.require(action, given, meaning)
    values, from_level, to_level = await _effects(
        session, petition, action, note, assignee_id, duplicate_of_id, now
    )
    return await PETITIONS.move(
        session,
        petition,
        action,
        actor_person_id,
        now=now,
        expected_version=expected_version,
        note=note,
        values=values,
        event={
            "assignee_id": assignee_id if action == _A.ASSIGN else None,
            "from_level": from_level,
            "to_level": to_level,
        },
    )


# --- the scheduler ---------------------------------------------------------------------------


async def escalate_overdue(
    session: AsyncSession, now: datetime | None = None, batch: int = 100
) -> list[int]:
    """Escalate up to `batch` overdue open petitions one level each; return their ids.

    Rows are claimed with FOR UPDATE SKIP LOCKED, so schedulers in several app instances
    share the work and never escalate one petition twice for one lapse (the new level gets
    a fresh due time). District-owned petitions cannot go higher and are left alone.
    """
    now = now or utcnow()
    rows = await PETITIONS.claim(
        session,
        col(Petition.status).in_(sorted(OPEN_STATUSES)),
        col(Petition.due_at) < now,
        col(Petition.owner_level) != Level.DISTRICT,
        order_by=[col(Petition.due_at)],
        batch=batch,
    )
    done: list[int] = []
    dues = await due_times(session) if rows else {}
    for petition in rows:
        due = dues[petition.priority]
        overdue_since = petition.due_at
        from_level = petition.owner_level
        to_level, values = _escalation(petition, due, now)
        await PETITIONS.move(
            session,
            petition,
            _A.ESCALATE,
            None,
            now=now,
            note=f"overdue since {overdue_since:%Y-%m-%d %H:%M} UTC: escalated automatically",
            values=values,
            event={"from_level": from_level, "to_level": to_level},
        )
        assert petition.id is not None
        done.append(petition.id)
    return done


async def close_unrated(
    session: AsyncSession, now: datetime | None = None, days: int = RATING_DAYS, batch: int = 500
) -> list[int]:
    """Close (CLOSED_UNRATED) petitions left without a rating `days` after resolution."""
    now = now or utcnow()
    rows = await PETITIONS.claim(
        session,
        col(Petition.status).in_(sorted(AWAITING_RATING)),
        col(Petition.status_changed_at) < now - timedelta(days=days),
        order_by=[col(Petition.status_changed_at)],
        batch=batch,
    )
    return await PETITIONS.sweep(
        session,
        rows,
        _A.CLOSE_UNRATED,
        now=now,
        note=f"no rating within {days} days",
        values={"closed_at": now},
    )


@scheduled("petitions.escalate_overdue")
async def _escalate_job(session: AsyncSession, now: datetime, batch: int) -> list[int]:
    return await escalate_overdue(session, now, batch)


@scheduled("petitions.close_unrated")
async def _close_unrated_job(session: AsyncSession, now: datetime, batch: int) -> list[int]:
    return await close_unrated(session, now, RATING_DAYS, batch)


# --- ratings and points --------------------------------------------------------------------


@dataclass(frozen=True)
class RatingOutcome:
    rating: PetitionRating
    petition: Petition
    points: PointsEntry | None


async def handlers_of(session: AsyncSession, petition_id: int) -> set[int]:
    """Everyone who handled the case: actors of handling actions and every assignee."""
    actors = sa.select(col(PetitionEvent.actor_person_id)).where(
        col(PetitionEvent.petition_id) == petition_id,
        col(PetitionEvent.action).in_(sorted(HANDLING_ACTIONS)),
        col(PetitionEvent.actor_person_id).is_not(None),
    )
    assignees = sa.select(col(PetitionEvent.assignee_id)).where(
        col(PetitionEvent.petition_id) == petition_id, col(PetitionEvent.assignee_id).is_not(None)
    )
    current = sa.select(col(Petition.assignee_id)).where(
        col(Petition.id) == petition_id, col(Petition.assignee_id).is_not(None)
    )
    rows = await session.execute(sa.union(actors, assignees, current))
    return {int(r[0]) for r in rows if r[0] is not None}


async def building_head_at(session: AsyncSession, building_id: int, at: datetime) -> int | None:
    """The person who was the building's head at `at`."""
    found = await session.scalar(
        sa.select(col(Position.person_id))
        .where(
            col(Position.building_id) == building_id,
            col(Position.role) == Role.BUILDING_HEAD,
            col(Position.started_at) <= at,
            sa.or_(col(Position.ended_at).is_(None), col(Position.ended_at) > at),
        )
        .order_by(col(Position.started_at).desc())
        .limit(1)
    )
    return int(found) if found is not None else None


async def _already_rated(session: AsyncSession, petition: Petition) -> bool:
    """Whether the latest resolution was rated (closing it, or reopening it)."""
    rounds = {petition.reopen_count}
    if petition.status == PetitionStatus.REOPENED:
        rounds.add(petition.reopen_count - 1)
    found = await session.scalar(
        sa.select(sa.func.count())
        .select_from(PetitionRating)
        .where(
            col(PetitionRating.petition_id) == petition.id,
            col(PetitionRating.round).in_(sorted(rounds)),
        )
    )
    return bool(found)


async def rate_petition(
    session: AsyncSession,
    *,
    petition_id: int,
    rater_person_id: int,
    rating: RatingValue,
    comment: str | None = None,
    now: datetime | None = None,
) -> RatingOutcome:
    """一事一评: the resident rates the resolution; satisfied closes, unsatisfied reopens.

    One rating per resolution (ALREADY_RATED otherwise). A SATISFIED rating of a petition
    resolved at building level credits the building's head (at resolution time) with
    SATISFIED_POINTS, once, unless the rater is that head or handled the case. That the
    rater is the petition's reporter is the permission layer's decision (`permissions.
    petitions.RATE_PETITION`).
    """
    now = now or utcnow()
    petition = await PETITIONS.load(session, petition_id, lock=True)
    if petition.status not in AWAITING_RATING:
        if await _already_rated(session, petition):
            raise DomainError(PetitionCode.ALREADY_RATED, "this resolution is rated", "petition_id")
        raise DomainError(
            Flow.INVALID_TRANSITION,
            f"a {petition.status} petition is not awaiting a rating",
            "petition_id",
        )
    comment = clean_note(comment, "comment", max_length=500)
    resolved_as = petition.status
    inserted = await session.scalar(
        pg_insert(PetitionRating)
        .values(
            petition_id=petition.id,
            round=petition.reopen_count,
            rating=rating,
            comment=comment,
            resolved_level=petition.owner_level,
            path=petition.path,
            at=now,
        )
        .on_conflict_do_nothing(constraint="uq_petition_rating_round")
        .returning(col(PetitionRating.id))
    )
    if inserted is None:
        raise DomainError(PetitionCode.ALREADY_RATED, "this resolution is rated", "petition_id")
    stored = await session.get(PetitionRating, int(inserted))
    assert stored is not None
    note = f"rated {rating}" + (f": {comment}" if comment else "")
    if rating == RatingValue.UNSATISFIED:
        updated = await transition(
            session, petition_id, _A.REOPEN, petition.version, rater_person_id, note=note, now=now
        )
    else:
        updated = await transition(
            session, petition_id, _A.CLOSE, petition.version, rater_person_id, note=note, now=now
        )
    points = None
    if (
        rating == RatingValue.SATISFIED
        and resolved_as == PetitionStatus.RESOLVED
        and petition.owner_level == Level.BUILDING
    ):
        points = await _credit_building_head(session, petition, rater_person_id, now)
    return RatingOutcome(rating=stored, petition=updated, points=points)


async def _credit_building_head(
    session: AsyncSession, petition: Petition, rater_person_id: int, now: datetime
) -> PointsEntry | None:
    assert petition.building_id is not None
    assert petition.id is not None
    head = await building_head_at(session, petition.building_id, petition.resolved_at or now)
    if head is None or head == rater_person_id:
        return None
    if rater_person_id in await handlers_of(session, petition.id):
        return None
    return await credit(
        session,
        person_id=head,
        points=SATISFIED_POINTS,
        source_type=POINTS_SOURCE,
        source_id=petition.id,
        note=f"一事一评「满意」: {petition.title}",
        now=now,
    )


# --- reading (through the request's loaders) -----------------------------------------------


class PetitionOrder(enum.StrEnum):
    SUBMITTED = "SUBMITTED"  # newest first
    DUE = "DUE"  # the nearer of its two deadlines first


@dataclass(frozen=True)
class PetitionFilter:
    statuses: tuple[Status, ...] = ()
    channels: tuple[Channel, ...] = ()
    category_ids: tuple[int, ...] = ()
    priorities: tuple[Priority, ...] = ()
    owner_levels: tuple[Level, ...] = ()
    overdue_at: datetime | None = None  # open and its level's deadline before this instant
    case_overdue_at: datetime | None = None  # open and the case deadline before this instant
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None
    #: owned by the building it is placed at (the building's queue)
    owned_by_building: bool = False
    #: only what waits for an actor (the permission layer's condition)
    waiting: Narrowing | None = None
    order: PetitionOrder = PetitionOrder.SUBMITTED

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.statuses:
            found.append(col(Petition.status).in_(self.statuses))
        if self.channels:
            found.append(col(Petition.channel).in_(self.channels))
        if self.category_ids:
            found.append(col(Petition.category_id).in_(self.category_ids))
        if self.priorities:
            found.append(col(Petition.priority).in_(self.priorities))
        if self.owner_levels:
            found.append(col(Petition.owner_level).in_(self.owner_levels))
        if self.overdue_at is not None:
            found.append(col(Petition.status).in_(sorted(OPEN_STATUSES)))
            found.append(col(Petition.due_at) < self.overdue_at)
        if self.case_overdue_at is not None:
            found.append(col(Petition.status).in_(sorted(OPEN_STATUSES)))
            found.append(col(Petition.case_due_at) < self.case_overdue_at)
        if self.owned_by_building:
            found.append(col(Petition.owner_level) == Level.BUILDING)
        if self.waiting is not None:
            found.append(self.waiting.condition())
        if self.submitted_from is not None:
            found.append(col(Petition.submitted_at) >= self.submitted_from)
        if self.submitted_before is not None:
            found.append(col(Petition.submitted_at) < self.submitted_before)
        return found

    def ordering(self) -> Ordering:
        return PETITION_ORDERINGS[self.order]


PETITION_ORDERINGS = {
    PetitionOrder.SUBMITTED: Ordering.of(desc(Petition.submitted_at), desc(Petition.id)),
    PetitionOrder.DUE: Ordering.of(asc(Petition.next_due_at), asc(Petition.id)),
}

ALL_PETITIONS = Listing("petitions", Petition)
PETITIONS_UNDER = Listing("org_unit.petitions", Petition, Parent(within=OrgUnit))
PETITIONS_OF_BUILDING = Listing("building.petitions", Petition, Parent(within=Building))
#: The queue of an org unit: petitions it owns now (grid and above).
OWNED_PETITIONS = Listing(
    "org_unit.owned_petitions", Petition, Parent(column=Petition.owner_org_unit_id)
)
#: The queue of a building: petitions placed at it, with `owned_by_building` in the filter.
BUILDING_QUEUE = Listing("building.owned_petitions", Petition, Parent(column=Petition.building_id))
#: What waits for the actor, across every place they handle (`waiting` in the filter).
MY_PETITIONS = Listing("my.petitions", Petition)

TIMELINE = Children(
    PetitionEvent, PetitionEvent.petition_id, Ordering.of(asc(PetitionEvent.version))
)
RATINGS = Children(
    PetitionRating, PetitionRating.petition_id, Ordering.of(asc(PetitionRating.round))
)
DUPLICATES = Children(Petition, Petition.duplicate_of_id, Ordering.of(asc(Petition.id)))
STAGES = Children(PetitionStage, PetitionStage.petition_id, Ordering.of(asc(PetitionStage.seq)))
