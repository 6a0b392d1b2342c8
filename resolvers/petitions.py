"""Business rules of petitions (诉求): categories and due times, submission with an idempotency
key, the lifecycle (one transition table, optimistic versions, a timeline entry per change),
automatic escalation of overdue petitions, ratings (一事一评) and the points they earn.

Every function takes the caller's `AsyncSession`, validates, raises `DomainError` with a
stable code, and flushes; the caller owns the transaction (one per request, or one per
scheduler pass). Who may do what is the permission layer's business: actors are plain
person ids here, and `allowed_actions` / `TRANSITIONS` are data it can map from.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import ipaddress
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from models.base import utcnow
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
    PetitionStatus,
    PointsEntry,
    PointsKind,
    Priority,
    RatingValue,
)
from resolvers.errors import DomainError, ErrorCode, not_found
from resolvers.live import Topic, announce
from resolvers.loaders import Loaders
from resolvers.org import by_column, clean_text, get_row, under_building, under_org_unit
from resolvers.pagination import Page, PageArgs

log = logging.getLogger(__name__)

Status = PetitionStatus
Action = PetitionAction

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

_FIELD_NAMES: Final = {
    "note": "note",
    "assignee_id": "assigneeId",
    "duplicate_of_id": "duplicateOfId",
}

#: Points credited to the building head for a SATISFIED rating of a building-level case.
SATISFIED_POINTS: Final = 10
POINTS_SOURCE: Final = "PETITION"
#: Days a resolved petition waits for its rating before CLOSED_UNRATED (scheduler default).
RATING_DAYS: Final = 7


def allowed_actions(status: Status) -> set[Action]:
    return set(TRANSITIONS[status])


def next_status(status: Status, action: Action) -> Status | None:
    return TRANSITIONS[status].get(action)


def required_fields(action: Action) -> frozenset[str]:
    return REQUIRED.get(action, frozenset())


def level_above(level: Level) -> Level | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def reporter_visible_to(petition: Petition, person_id: int | None) -> bool:
    """Whether `person_id` may learn who reported `petition`: anonymous ones only the reporter.

    (Who may see personal data of a named reporter is the field policy's business.)
    """
    if not petition.anonymous:
        return True
    return person_id is not None and person_id == petition.reporter_id


# --- shared validation -----------------------------------------------------------------

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,255}$")
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TOP_LABEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
MAX_PHOTOS: Final = 9
MAX_URL: Final = 500


def is_public_url(value: str) -> bool:
    """An http(s) URL anyone can open: a real host (a domain name with a top-level label,
    or a public IP address), no credentials, no whitespace or control characters."""
    if len(value) > MAX_URL or not value.isprintable() or "\\" in value:
        return False
    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # refuses ports that are not numbers in range
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or "@" in parts.netloc:
        return False
    host = parts.hostname or ""
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        labels = host.split(".")
        return (
            len(host) <= 253
            and len(labels) >= 2
            and all(_HOST_LABEL.match(label) for label in labels)
            and bool(_TOP_LABEL.match(labels[-1]))
        )


def is_object_key(value: str) -> bool:
    """A key of a stored object ('petitions/2024/a.jpg'): no traversal, no empty segments."""
    return bool(_KEY.match(value)) and ".." not in value and "//" not in value


def clean_references(values: Iterable[str], field: str, *, limit: int = MAX_PHOTOS) -> list[str]:
    """Photos or other evidence: public http(s) URLs or keys of stored objects. A refusal
    never repeats the value (a URL can carry credentials)."""
    cleaned = [v.strip() for v in values]
    if len(cleaned) > limit:
        raise DomainError(ErrorCode.VALIDATION, f"at most {limit} items in `{field}`", field)
    for position, value in enumerate(cleaned, start=1):
        if not (is_public_url(value) or is_object_key(value)):
            raise DomainError(
                ErrorCode.VALIDATION,
                f"item {position} of `{field}` is neither a public http(s) URL without "
                f"credentials (at most {MAX_URL} characters) nor a stored object key",
                field,
            )
    return cleaned


def clean_note(value: str | None, field: str = "note", *, max_length: int = 1000) -> str | None:
    if value is None or not value.strip():
        return None
    return clean_text(value, field, max_length=max_length)


def clean_idempotency_key(value: str) -> str:
    value = value.strip()
    if not _IDEMPOTENCY_KEY.match(value):
        raise DomainError(
            ErrorCode.VALIDATION,
            "`idempotencyKey` must be 8-128 letters, digits or ._:- (a UUID will do)",
            "idempotencyKey",
        )
    return value


async def _person(session: AsyncSession, ident: int, field: str) -> Person:
    person: Person = await get_row(session, Person, ident, "person", field)
    return person


# --- categories and due times -------------------------------------------------------------

_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")


def _clean_remit(levels: Sequence[Level]) -> list[str]:
    if not levels:
        raise DomainError(
            ErrorCode.VALIDATION, "a category needs at least one level in its remit", "remitLevels"
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
            ErrorCode.VALIDATION, "`code` is 2-40 capitals, digits or underscores", "code"
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
        raise DomainError(ErrorCode.DUPLICATE_CODE, f"category code {code} is taken", "code")
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
    session: AsyncSession, *, priority: Priority, due: timedelta, now: datetime | None = None
) -> PetitionDueTime:
    """Set how long petitions of `priority` have per level (from the next submission or
    escalation on; due times already set stay)."""
    if due <= timedelta(0) or due > timedelta(days=365):
        raise DomainError(
            ErrorCode.VALIDATION, "a due time is positive and at most a year", "dueIn"
        )
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
            ErrorCode.VALIDATION, "give either a building or an org unit as the place", "buildingId"
        )
    if draft.building_id is not None:
        await get_row(session, Building, draft.building_id, "building", "buildingId")
        return Level.BUILDING
    assert draft.org_unit_id is not None
    unit: OrgUnit = await get_row(session, OrgUnit, draft.org_unit_id, "org unit", "orgUnitId")
    if unit.retired_at is not None:
        raise DomainError(ErrorCode.RETIRED, "this org unit is retired", "orgUnitId")
    level = _ORG_LEVEL.get(unit.kind)
    if level is None:
        raise DomainError(
            ErrorCode.VALIDATION, "a petition's place is a district or below", "orgUnitId"
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
        "location_note": clean_note(draft.location_note, "locationNote", max_length=200),
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
            ErrorCode.VALIDATION, "a petition has a reporter or a recorder", "reporterId"
        )
    if draft.reporter_id is not None:
        await _person(session, draft.reporter_id, "reporterId")
    if draft.recorded_by_id is not None:
        if draft.recorded_by_id == draft.reporter_id:
            raise DomainError(
                ErrorCode.VALIDATION,
                "`recordedById` is staff recording on someone else's behalf",
                "recordedById",
            )
        await _person(session, draft.recorded_by_id, "recordedById")
    if draft.channel == Channel.ONLINE and draft.recorded_by_id is not None:
        raise DomainError(
            ErrorCode.VALIDATION,
            "online petitions are submitted by residents themselves",
            "recordedById",
        )
    if draft.channel == Channel.ONLINE and draft.reporter_id is None:
        raise DomainError(ErrorCode.VALIDATION, "an online petition has a reporter", "reporterId")
    if draft.channel == Channel.DOOR_VISIT and (
        draft.recorded_by_id is None or draft.reporter_id is None
    ):
        raise DomainError(
            ErrorCode.VALIDATION,
            "a door-visit petition is recorded by staff for a resident",
            "recordedById" if draft.recorded_by_id is None else "reporterId",
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
        session, PetitionCategory, draft.category_id, "petition category", "categoryId"
    )
    if not category.active:
        raise DomainError(ErrorCode.VALIDATION, "this category is not in use", "categoryId")
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
        "due_at": now + await due_in(session, priority),
    }
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
    petition = await _load(session, int(inserted))
    await _record(
        session,
        petition,
        _A.SUBMIT,
        None,
        PetitionStatus.SUBMITTED,
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
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotency key was used for a different petition",
            "idempotencyKey",
        )
    return found


# --- transitions -----------------------------------------------------------------------------


async def _load(session: AsyncSession, petition_id: int, *, lock: bool = False) -> Petition:
    stmt = (
        sa.select(Petition)
        .where(col(Petition.id) == petition_id)
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update()
    found = await session.scalar(stmt)
    if found is None:
        raise not_found("petition", "id")
    return found


async def _record(
    session: AsyncSession,
    petition: Petition,
    action: Action,
    from_status: Status | None,
    to_status: Status,
    actor_person_id: int | None,
    *,
    note: str | None,
    now: datetime,
    assignee_id: int | None = None,
    from_level: Level | None = None,
    to_level: Level | None = None,
) -> None:
    """A timeline entry; the reporter of an anonymous petition is recorded as `by_reporter`."""
    by_reporter = actor_person_id is not None and actor_person_id == petition.reporter_id
    event_id = await session.scalar(
        sa.insert(PetitionEvent)
        .values(
            petition_id=petition.id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor_person_id=None if by_reporter and petition.anonymous else actor_person_id,
            by_reporter=by_reporter,
            note=note,
            assignee_id=assignee_id,
            from_level=from_level,
            to_level=to_level,
            version=petition.version,
            path=petition.path,
            at=now,
        )
        .returning(col(PetitionEvent.id))
    )
    assert event_id is not None
    await announce(session, Topic.PETITION, int(event_id), petition.path)


def _transition_error(petition: Petition, action: Action) -> DomainError:
    allowed = ", ".join(sorted(TRANSITIONS[petition.status])) or "none: it is final"
    return DomainError(
        ErrorCode.INVALID_TRANSITION,
        f"a {petition.status} petition cannot {action} (allowed: {allowed})",
        "action",
    )


async def _apply(
    session: AsyncSession,
    petition: Petition,
    action: Action,
    actor_person_id: int | None,
    *,
    note: str | None,
    now: datetime,
    values: dict[str, Any],
    assignee_id: int | None = None,
    from_level: Level | None = None,
    to_level: Level | None = None,
) -> Petition:
    """Move `petition` (as loaded, at its version) along `action`, or VERSION_CONFLICT."""
    target = next_status(petition.status, action)
    if target is None:
        raise _transition_error(petition, action)
    from_status, expected = petition.status, petition.version
    assert petition.id is not None
    changed = await session.scalar(
        sa.update(Petition)
        .where(col(Petition.id) == petition.id, col(Petition.version) == expected)
        .values(
            status=target,
            version=col(Petition.version) + 1,
            status_changed_at=now,
            **values,
        )
        .returning(col(Petition.id))
        .execution_options(synchronize_session=False)
    )
    if changed is None:
        raise DomainError(
            ErrorCode.VERSION_CONFLICT,
            "the petition changed meanwhile: reload it and try again",
            "expectedVersion",
        )
    updated = await _load(session, petition.id)
    await _record(
        session,
        updated,
        action,
        from_status,
        target,
        actor_person_id,
        note=note,
        now=now,
        assignee_id=assignee_id,
        from_level=from_level,
        to_level=to_level,
    )
    return updated


def _escalation(petition: Petition, due: timedelta, now: datetime) -> tuple[Level, dict[str, Any]]:
    above = level_above(petition.owner_level)
    if above is None:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
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
    other: Petition = await get_row(session, Petition, other_id, "petition", "duplicateOfId")
    root = other.duplicate_of_id if other.status == PetitionStatus.DUPLICATE else other.id
    if root == petition.id:
        raise DomainError(
            ErrorCode.VALIDATION, "a petition cannot be merged into itself", "duplicateOfId"
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
            await _person(session, assignee_id, "assigneeId")
            values.update(assignee_id=assignee_id, assigned_at=petition.assigned_at or now)
        case _A.ACKNOWLEDGE:
            values["first_contact_at"] = petition.first_contact_at or now
        case _A.START:
            if petition.assignee_id is None:
                raise DomainError(
                    ErrorCode.VALIDATION, "assign someone before starting", "assigneeId"
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
            values.update(
                reopen_count=petition.reopen_count + 1,
                due_at=now + await due_in(session, petition.priority),
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
    petition = await _load(session, petition_id)
    if petition.version != expected_version:
        raise DomainError(
            ErrorCode.VERSION_CONFLICT,
            f"the petition is at version {petition.version}, not {expected_version}:"
            " reload it and try again",
            "expectedVersion",
        )
    if next_status(petition.status, action) is None:
        raise _transition_error(petition, action)
    note = clean_note(note)
    given = {"note": note, "assignee_id": assignee_id, "duplicate_of_id": duplicate_of_id}
    for name in sorted(required_fields(action)):
        if given[name] is None:
            what = f"a {NOTE_MEANING[action]}" if name == "note" else f"`{_FIELD_NAMES[name]}`"
            raise DomainError(ErrorCode.VALIDATION, f"{action} needs {what}", _FIELD_NAMES[name])
    values, from_level, to_level = await _effects(
        session, petition, action, note, assignee_id, duplicate_of_id, now
    )
    return await _apply(
        session,
        petition,
        action,
        actor_person_id,
        note=note,
        now=now,
        values=values,
        assignee_id=assignee_id if action == _A.ASSIGN else None,
        from_level=from_level,
        to_level=to_level,
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
    rows = await session.scalars(
        sa.select(Petition)
        .where(
            col(Petition.status).in_(sorted(OPEN_STATUSES)),
            col(Petition.due_at) < now,
            col(Petition.owner_level) != Level.DISTRICT,
        )
        .order_by(col(Petition.due_at), col(Petition.id))
        .limit(batch)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    done: list[int] = []
    for petition in list(rows):
        due = await due_in(session, petition.priority)
        overdue_since = petition.due_at
        from_level = petition.owner_level
        to_level, values = _escalation(petition, due, now)
        await _apply(
            session,
            petition,
            _A.ESCALATE,
            None,
            note=f"overdue since {overdue_since:%Y-%m-%d %H:%M} UTC: escalated automatically",
            now=now,
            values=values,
            from_level=from_level,
            to_level=to_level,
        )
        assert petition.id is not None
        done.append(petition.id)
    return done


async def close_unrated(
    session: AsyncSession, now: datetime | None = None, days: int = RATING_DAYS, batch: int = 500
) -> list[int]:
    """Close (CLOSED_UNRATED) petitions left without a rating `days` after resolution."""
    now = now or utcnow()
    rows = await session.scalars(
        sa.select(Petition)
        .where(
            col(Petition.status).in_(sorted(AWAITING_RATING)),
            col(Petition.status_changed_at) < now - timedelta(days=days),
        )
        .order_by(col(Petition.status_changed_at), col(Petition.id))
        .limit(batch)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    done: list[int] = []
    for petition in list(rows):
        await _apply(
            session,
            petition,
            _A.CLOSE_UNRATED,
            None,
            note=f"no rating within {days} days",
            now=now,
            values={"closed_at": now},
        )
        assert petition.id is not None
        done.append(petition.id)
    return done


async def run_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession],
    interval_seconds: float,
    stop: asyncio.Event,
    *,
    rating_days: int = RATING_DAYS,
    batch: int = 100,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Run escalation and unrated closing every `interval_seconds` until `stop` is set.

    Each pass is its own transaction; a full batch is followed at once by another pass.
    Safe to run in every app instance at the same time (see `escalate_overdue`).
    """
    while not stop.is_set():
        busy = False
        try:
            async with sessionmaker() as session, session.begin():
                escalated = await escalate_overdue(session, clock(), batch)
            async with sessionmaker() as session, session.begin():
                closed = await close_unrated(session, clock(), rating_days, batch)
            if escalated or closed:
                log.info("petitions: escalated %d, closed unrated %d", len(escalated), len(closed))
            busy = len(escalated) >= batch or len(closed) >= batch
        except Exception:
            log.exception("petition scheduler pass failed; retrying next interval")
        if busy:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)


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
    SATISFIED_POINTS, once, unless the rater is that head or handled the case.
    """
    now = now or utcnow()
    petition = await _load(session, petition_id, lock=True)
    if petition.reporter_id is None or petition.reporter_id != rater_person_id:
        raise DomainError(
            ErrorCode.FORBIDDEN, "only the resident who raised a petition rates it", "petitionId"
        )
    if petition.status not in AWAITING_RATING:
        if await _already_rated(session, petition):
            raise DomainError(ErrorCode.ALREADY_RATED, "this resolution is rated", "petitionId")
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"a {petition.status} petition is not awaiting a rating",
            "petitionId",
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
        raise DomainError(ErrorCode.ALREADY_RATED, "this resolution is rated", "petitionId")
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
    inserted = await session.scalar(
        pg_insert(PointsEntry)
        .values(
            person_id=head,
            kind=PointsKind.EARNED,
            points=SATISFIED_POINTS,
            source_type=POINTS_SOURCE,
            source_id=petition.id,
            note=f"一事一评「满意」: {petition.title}",
            at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["source_type", "source_id", "person_id"],
            index_where=sa.text("kind = 'EARNED'"),
        )
        .returning(col(PointsEntry.id))
    )
    if inserted is None:
        return None
    return await session.get(PointsEntry, int(inserted))


async def points_balance(session: AsyncSession, person_id: int) -> int:
    earned = sa.case((col(PointsEntry.kind) == PointsKind.EARNED, 1), else_=-1)
    total = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(col(PointsEntry.points) * earned), 0)).where(
            col(PointsEntry.person_id) == person_id
        )
    )
    return int(total or 0)


# --- reading (through the request's loaders) -----------------------------------------------


class PetitionOrder(enum.StrEnum):
    SUBMITTED = "SUBMITTED"  # newest first
    DUE = "DUE"  # soonest due first


@dataclass(frozen=True)
class PetitionFilter:
    statuses: tuple[Status, ...] = ()
    channels: tuple[Channel, ...] = ()
    category_ids: tuple[int, ...] = ()
    priorities: tuple[Priority, ...] = ()
    owner_levels: tuple[Level, ...] = ()
    overdue_at: datetime | None = None  # open and due before this instant
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None
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
        if self.submitted_from is not None:
            found.append(col(Petition.submitted_at) >= self.submitted_from)
        if self.submitted_before is not None:
            found.append(col(Petition.submitted_at) < self.submitted_before)
        return found

    def order_by(self) -> list[Any]:
        if self.order == PetitionOrder.DUE:
            return [col(Petition.due_at), col(Petition.id)]
        return [col(Petition.submitted_at).desc(), col(Petition.id).desc()]


async def petitions_under(
    loaders: Loaders, unit_id: int | None, args: PageArgs, f: PetitionFilter
) -> Page[Petition]:
    """Petitions placed under an org unit (or all the actor may see when `unit_id` is None)."""
    partition, joins = under_org_unit(Petition) if unit_id is not None else (None, tuple)
    loader = loaders.pages(
        "org_unit.petitions" if unit_id is not None else "petitions",
        Petition,
        partition=partition,
        joins=joins,
        where=lambda k: k.conditions(),  # type: ignore[attr-defined]
        order_by=lambda k: k.order_by(),  # type: ignore[attr-defined]
    )
    page: Page[Petition] = await loader.load((unit_id, args, f))
    return page


async def petitions_of_building(
    loaders: Loaders, building_id: int, args: PageArgs, f: PetitionFilter
) -> Page[Petition]:
    partition, joins = under_building(Petition)
    loader = loaders.pages(
        "building.petitions",
        Petition,
        partition=partition,
        joins=joins,
        where=lambda k: k.conditions(),  # type: ignore[attr-defined]
        order_by=lambda k: k.order_by(),  # type: ignore[attr-defined]
    )
    page: Page[Petition] = await loader.load((building_id, args, f))
    return page


async def petitions_owned_by(
    loaders: Loaders, unit_id: int, args: PageArgs, f: PetitionFilter
) -> Page[Petition]:
    """The queue of an org unit: petitions it owns now (grid and above)."""
    loader = loaders.pages(
        "org_unit.owned_petitions",
        Petition,
        partition=Petition.owner_org_unit_id,
        where=lambda k: k.conditions(),  # type: ignore[attr-defined]
        order_by=lambda k: k.order_by(),  # type: ignore[attr-defined]
    )
    page: Page[Petition] = await loader.load((unit_id, args, f))
    return page


async def timeline_of(loaders: Loaders, petition_id: int) -> list[PetitionEvent]:
    return await by_column(
        loaders, "petition.timeline", PetitionEvent, PetitionEvent.petition_id, petition_id
    )


async def ratings_of(loaders: Loaders, petition_id: int) -> list[PetitionRating]:
    return await by_column(
        loaders, "petition.ratings", PetitionRating, PetitionRating.petition_id, petition_id
    )


async def duplicates_of(loaders: Loaders, petition_id: int) -> list[Petition]:
    return await by_column(
        loaders, "petition.duplicates", Petition, Petition.duplicate_of_id, petition_id
    )


async def points_of(loaders: Loaders, person_id: int) -> list[PointsEntry]:
    return await by_column(loaders, "person.points", PointsEntry, PointsEntry.person_id, person_id)
