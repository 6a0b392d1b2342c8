"""Micro-wishes (微心愿): posted by a resident (or recorded for one), published on the wish
wall of their building or community, claimed by a Party member, volunteer or cadre,
fulfilled with evidence, confirmed and thanked by the resident.

Like petitions: one transition table, an expected version on every change (VERSION_CONFLICT
for the loser of a race), a timeline entry per change in the same transaction. Two people
claiming one wish: the conditional UPDATE lets exactly one win; the other gets
ALREADY_CLAIMED. Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.org import Building, OrgKind, OrgUnit
from models.people import Person, Position, Role
from models.petitions import MicroWish, MicroWishEvent, WishAction, WishStatus
from resolvers.errors import DomainError, ErrorCode, not_found
from resolvers.live import Topic, announce
from resolvers.loaders import Loaders
from resolvers.org import by_column, clean_text, get_row, under_org_unit
from resolvers.pagination import Page, PageArgs
from resolvers.petitions import clean_note, clean_references

_W, _WA = WishStatus, WishAction

#: status -> action -> next status: the only source of legal wish transitions.
WISH_TRANSITIONS: Final[dict[WishStatus, dict[WishAction, WishStatus]]] = {
    _W.POSTED: {_WA.PUBLISH: _W.PUBLISHED, _WA.CANCEL: _W.CANCELLED},
    _W.PUBLISHED: {_WA.CLAIM: _W.CLAIMED, _WA.CANCEL: _W.CANCELLED},
    _W.CLAIMED: {_WA.RELEASE: _W.PUBLISHED, _WA.FULFIL: _W.FULFILLED, _WA.CANCEL: _W.CANCELLED},
    _W.FULFILLED: {_WA.CONFIRM: _W.CONFIRMED},
    _W.CONFIRMED: {},
    _W.CANCELLED: {},
}

#: Statuses shown on a wish wall.
ON_THE_WALL: Final = (_W.PUBLISHED, _W.CLAIMED, _W.FULFILLED, _W.CONFIRMED)

#: Positions whose holders may claim wishes besides Party members (volunteers and cadres).
CLAIMING_ROLES: Final = frozenset(
    {
        Role.VOLUNTEER,
        Role.SECONDED_CADRE,
        Role.REGISTERED_PARTY_MEMBER,
        Role.BUILDING_HEAD,
        Role.HOUSEHOLD_LIAISON,
        Role.GRID_WORKER,
        Role.COMMUNITY_ADMIN,
        Role.STREET_ADMIN,
        Role.DISTRICT_ADMIN,
        Role.CITY_ADMIN,
    }
)


def allowed_wish_actions(status: WishStatus) -> set[WishAction]:
    return set(WISH_TRANSITIONS[status])


async def may_claim(session: AsyncSession, person_id: int) -> bool:
    """A Party member, or the holder of an active volunteer or cadre position."""
    person: Person | None = await session.get(Person, person_id)
    if person is None:
        return False
    if person.is_party_member:
        return True
    found = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Position)
        .where(
            col(Position.person_id) == person_id,
            col(Position.role).in_(sorted(CLAIMING_ROLES)),
            col(Position.ended_at).is_(None),
        )
    )
    return bool(found)


async def post_wish(
    session: AsyncSession,
    *,
    resident_id: int,
    title: str,
    description: str,
    building_id: int | None = None,
    community_id: int | None = None,
    recorded_by_id: int | None = None,
    now: datetime | None = None,
) -> MicroWish:
    """A wish for the wall of a building or a community (POSTED until published)."""
    now = now or utcnow()
    if (building_id is None) == (community_id is None):
        raise DomainError(
            ErrorCode.VALIDATION, "a wish goes on a building's or a community's wall", "buildingId"
        )
    if building_id is not None:
        await get_row(session, Building, building_id, "building", "buildingId")
    else:
        assert community_id is not None
        unit: OrgUnit = await get_row(session, OrgUnit, community_id, "org unit", "communityId")
        if unit.kind != OrgKind.COMMUNITY or unit.retired_at is not None:
            raise DomainError(
                ErrorCode.VALIDATION, "a wish wall belongs to an active community", "communityId"
            )
    await get_row(session, Person, resident_id, "person", "residentId")
    if recorded_by_id is not None:
        if recorded_by_id == resident_id:
            raise DomainError(
                ErrorCode.VALIDATION,
                "`recordedById` is staff recording on someone else's behalf",
                "recordedById",
            )
        await get_row(session, Person, recorded_by_id, "person", "recordedById")
    wish = MicroWish(
        title=clean_text(title, "title", max_length=60),
        description=clean_text(description, "description", max_length=500),
        building_id=building_id,
        org_unit_id=community_id,
        resident_id=resident_id,
        recorded_by_id=recorded_by_id,
        status=WishStatus.POSTED,
        version=1,
        posted_at=now,
        status_changed_at=now,
    )
    session.add(wish)
    await session.flush()
    await session.refresh(wish, ["path"])
    await _record(session, wish, _WA.POST, None, recorded_by_id or resident_id, None, now)
    return wish


async def _load(session: AsyncSession, wish_id: int) -> MicroWish:
    found = await session.scalar(
        sa.select(MicroWish)
        .where(col(MicroWish.id) == wish_id)
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise not_found("micro-wish", "id")
    return found


async def _record(
    session: AsyncSession,
    wish: MicroWish,
    action: WishAction,
    from_status: WishStatus | None,
    actor_person_id: int | None,
    note: str | None,
    now: datetime,
) -> None:
    event_id = await session.scalar(
        sa.insert(MicroWishEvent)
        .values(
            wish_id=wish.id,
            action=action,
            from_status=from_status,
            to_status=wish.status,
            actor_person_id=actor_person_id,
            note=note,
            version=wish.version,
            path=wish.path,
            at=now,
        )
        .returning(col(MicroWishEvent.id))
    )
    assert event_id is not None
    await announce(session, Topic.WISH, int(event_id), wish.path)


def _conflict(wish: MicroWish, expected_version: int) -> DomainError:
    return DomainError(
        ErrorCode.VERSION_CONFLICT,
        f"the wish is at version {wish.version}, not {expected_version}: reload it",
        "expectedVersion",
    )


def _claimed(wish: MicroWish) -> DomainError:
    return DomainError(ErrorCode.ALREADY_CLAIMED, "someone has claimed this wish", "id")


@dataclass(frozen=True)
class _Step:
    action: WishAction
    values: dict[str, Any]
    note: str | None = None


async def _move(
    session: AsyncSession,
    wish_id: int,
    expected_version: int,
    actor_person_id: int | None,
    step: _Step,
    now: datetime,
    *,
    check: Callable[[MicroWish], None] | None = None,
) -> MicroWish:
    wish = await _load(session, wish_id)
    is_claim = step.action == _WA.CLAIM
    if is_claim and wish.status in (_W.CLAIMED, _W.FULFILLED, _W.CONFIRMED):
        raise _claimed(wish)
    if wish.version != expected_version:
        raise _conflict(wish, expected_version)
    target = WISH_TRANSITIONS[wish.status].get(step.action)
    if target is None:
        allowed = ", ".join(sorted(WISH_TRANSITIONS[wish.status])) or "none: it is final"
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"a {wish.status} wish cannot {step.action} (allowed: {allowed})",
            "action",
        )
    if check is not None:
        check(wish)
    from_status = wish.status
    changed = await session.scalar(
        sa.update(MicroWish)
        .where(
            col(MicroWish.id) == wish_id,
            col(MicroWish.version) == expected_version,
            col(MicroWish.status) == from_status,
        )
        .values(
            status=target, version=col(MicroWish.version) + 1, status_changed_at=now, **step.values
        )
        .returning(col(MicroWish.id))
        .execution_options(synchronize_session=False)
    )
    if changed is None:
        wish = await _load(session, wish_id)
        if is_claim and wish.claimant_id is not None:
            raise _claimed(wish)
        raise _conflict(wish, expected_version)
    wish = await _load(session, wish_id)
    await _record(session, wish, step.action, from_status, actor_person_id, step.note, now)
    return wish


async def publish_wish(
    session: AsyncSession,
    wish_id: int,
    expected_version: int,
    actor_person_id: int | None,
    *,
    now: datetime | None = None,
) -> MicroWish:
    now = now or utcnow()
    return await _move(
        session,
        wish_id,
        expected_version,
        actor_person_id,
        _Step(_WA.PUBLISH, {"published_at": now}),
        now,
    )


async def claim_wish(
    session: AsyncSession,
    wish_id: int,
    expected_version: int,
    claimant_id: int,
    *,
    now: datetime | None = None,
) -> MicroWish:
    """The claimant takes the wish on; a second claimant gets ALREADY_CLAIMED."""
    now = now or utcnow()
    if not await may_claim(session, claimant_id):
        raise DomainError(
            ErrorCode.FORBIDDEN,
            "wishes are claimed by Party members, volunteers and cadres",
            "claimantId",
        )

    def not_own(wish: MicroWish) -> None:
        if wish.resident_id == claimant_id:
            raise DomainError(ErrorCode.VALIDATION, "you cannot claim your own wish", "id")

    return await _move(
        session,
        wish_id,
        expected_version,
        claimant_id,
        _Step(_WA.CLAIM, {"claimant_id": claimant_id, "claimed_at": now}),
        now,
        check=not_own,
    )


async def release_wish(
    session: AsyncSession,
    wish_id: int,
    expected_version: int,
    actor_person_id: int | None,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> MicroWish:
    """Give a claimed wish back to the wall (by its claimant, or staff: the caller decides)."""
    now = now or utcnow()
    return await _move(
        session,
        wish_id,
        expected_version,
        actor_person_id,
        _Step(_WA.RELEASE, {"claimant_id": None, "claimed_at": None}, clean_note(note)),
        now,
    )


async def fulfil_wish(
    session: AsyncSession,
    wish_id: int,
    expected_version: int,
    actor_person_id: int,
    *,
    evidence: Sequence[str],
    note: str | None = None,
    now: datetime | None = None,
) -> MicroWish:
    """The claimant reports the wish fulfilled, with evidence (photos) and/or a note."""
    now = now or utcnow()
    photos = clean_references(evidence, "evidence")
    note = clean_note(note, "note", max_length=500)
    if not photos and note is None:
        raise DomainError(
            ErrorCode.VALIDATION, "fulfilment needs evidence: a photo or a note", "evidence"
        )

    def by_claimant(wish: MicroWish) -> None:
        if wish.claimant_id != actor_person_id:
            raise DomainError(ErrorCode.FORBIDDEN, "only the claimant fulfils a wish", "id")

    return await _move(
        session,
        wish_id,
        expected_version,
        actor_person_id,
        _Step(
            _WA.FULFIL,
            {"evidence": photos, "evidence_note": note, "fulfilled_at": now},
            note,
        ),
        now,
        check=by_claimant,
    )


async def confirm_wish(
    session: AsyncSession,
    wish_id: int,
    expected_version: int,
    actor_person_id: int,
    *,
    thanks: str | None = None,
    now: datetime | None = None,
) -> MicroWish:
    """The resident (or whoever recorded the wish for them) confirms it and says thanks."""
    now = now or utcnow()
    thanks = clean_note(thanks, "thanks", max_length=500)

    def by_resident(wish: MicroWish) -> None:
        if actor_person_id not in (wish.resident_id, wish.recorded_by_id):
            raise DomainError(
                ErrorCode.FORBIDDEN, "the resident confirms the fulfilment of a wish", "id"
            )

    return await _move(
        session,
        wish_id,
        expected_version,
        actor_person_id,
        _Step(_WA.CONFIRM, {"thanks": thanks, "confirmed_at": now}, thanks),
        now,
        check=by_resident,
    )


async def cancel_wish(
    session: AsyncSession,
    wish_id: int,
    expected_version: int,
    actor_person_id: int | None,
    *,
    reason: str,
    now: datetime | None = None,
) -> MicroWish:
    now = now or utcnow()
    cleaned = clean_note(reason, "reason", max_length=500)
    if cleaned is None:
        raise DomainError(ErrorCode.VALIDATION, "say why the wish is cancelled", "reason")
    return await _move(
        session,
        wish_id,
        expected_version,
        actor_person_id,
        _Step(_WA.CANCEL, {"cancel_reason": cleaned, "cancelled_at": now}, cleaned),
        now,
    )


# --- reading (through the request's loaders) -----------------------------------------------


@dataclass(frozen=True)
class WishFilter:
    statuses: tuple[WishStatus, ...] = ON_THE_WALL

    def conditions(self) -> list[Any]:
        return [col(MicroWish.status).in_(self.statuses)] if self.statuses else []

    @staticmethod
    def order_by() -> list[Any]:
        return [col(MicroWish.posted_at).desc(), col(MicroWish.id).desc()]


async def wish_wall_of_building(
    loaders: Loaders, building_id: int, args: PageArgs, f: WishFilter
) -> Page[MicroWish]:
    """The wall of a building: wishes posted on it."""
    loader = loaders.pages(
        "building.wishes",
        MicroWish,
        partition=MicroWish.building_id,
        where=lambda k: k.conditions(),  # type: ignore[attr-defined]
        order_by=lambda k: k.order_by(),  # type: ignore[attr-defined]
    )
    page: Page[MicroWish] = await loader.load((building_id, args, f))
    return page


async def wishes_under(
    loaders: Loaders, unit_id: int, args: PageArgs, f: WishFilter
) -> Page[MicroWish]:
    """A community's wall (its own wishes and its buildings'), or any subtree's wishes."""
    partition, joins = under_org_unit(MicroWish)
    loader = loaders.pages(
        "org_unit.wishes",
        MicroWish,
        partition=partition,
        joins=joins,
        where=lambda k: k.conditions(),  # type: ignore[attr-defined]
        order_by=lambda k: k.order_by(),  # type: ignore[attr-defined]
    )
    page: Page[MicroWish] = await loader.load((unit_id, args, f))
    return page


async def wish_timeline(loaders: Loaders, wish_id: int) -> list[MicroWishEvent]:
    return await by_column(
        loaders, "micro_wish.timeline", MicroWishEvent, MicroWishEvent.wish_id, wish_id
    )
