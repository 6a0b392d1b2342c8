"""Micro-wishes (微心愿): posted by a resident (or recorded for one), published on the wish
wall of their building or community, claimed by a Party member, volunteer or cadre,
fulfilled with evidence, confirmed and thanked by the resident.

The lifecycle runs on the shared workflow (`resolvers.workflow`): one transition table, an
expected version on every change (VERSION_CONFLICT for the loser of a race), a timeline
entry per change in the same transaction. Two people claiming one wish: the guarded UPDATE
lets exactly one win; the other gets ALREADY_CLAIMED. Who may take which step is decided in
`permissions.wishes` before any of this runs. Functions flush, never commit.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.org import Building, OrgKind, OrgUnit
from models.people import Person
from models.wishes import MicroWish, MicroWishEvent, WishAction, WishStatus
from resolvers.common import clean_note, clean_references, clean_text, get_row
from resolvers.errors import DomainError, invalid
from resolvers.loaders import Children
from resolvers.pagination import Listing, Narrowing, Ordering, Parent, asc, desc
from resolvers.workflow import Workflow


class WishCode(enum.StrEnum):
    """Codes of micro-wishes (besides the workflow's own)."""

    ALREADY_CLAIMED = "ALREADY_CLAIMED"


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
#: Statuses in which someone has taken the wish on.
TAKEN: Final = frozenset({_W.CLAIMED, _W.FULFILLED, _W.CONFIRMED})

WISHES: Final[Workflow[MicroWish, WishStatus, WishAction]] = Workflow(
    noun="wish",
    model=MicroWish,
    event=MicroWishEvent,
    event_key="wish_id",
    transitions=WISH_TRANSITIONS,
)


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
        raise invalid("a wish goes on a building's or a community's wall", "building_id")
    if building_id is not None:
        await get_row(session, Building, building_id, "building", "building_id")
    else:
        assert community_id is not None
        unit = await get_row(session, OrgUnit, community_id, "org unit", "community_id")
        if unit.kind != OrgKind.COMMUNITY or unit.retired_at is not None:
            raise invalid("a wish wall belongs to an active community", "community_id")
    await get_row(session, Person, resident_id, "person", "resident_id")
    if recorded_by_id is not None:
        if recorded_by_id == resident_id:
            raise invalid(
                "`recorded_by_id` is staff recording on someone else's behalf", "recorded_by_id"
            )
        await get_row(session, Person, recorded_by_id, "person", "recorded_by_id")
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
    await WISHES.record(
        session, wish, _WA.POST, None, recorded_by_id or resident_id, note=None, now=now
    )
    return wish


def _claimed() -> DomainError:
    return DomainError(WishCode.ALREADY_CLAIMED, "someone has claimed this wish", "id")


def _lost_claim(wish: MicroWish) -> DomainError | None:
    return _claimed() if wish.status in TAKEN else None


def _effects(
    wish: MicroWish,
    action: WishAction,
    actor_person_id: int | None,
    note: str | None,
    evidence: Sequence[str],
    now: datetime,
) -> tuple[dict[str, Any], str | None]:
    """The columns a step sets besides status and version, and its timeline note."""
    match action:
        case _WA.PUBLISH:
            return {"published_at": now}, None
        case _WA.CLAIM:
            return {"claimant_id": actor_person_id, "claimed_at": now}, None
        case _WA.RELEASE:
            return {"claimant_id": None, "claimed_at": None}, clean_note(note)
        case _WA.FULFIL:
            photos = clean_references(evidence, "evidence")
            text = clean_note(note, "note", max_length=500)
            if not photos and text is None:
                raise invalid("fulfilment needs evidence: a photo or a note", "evidence")
            return {"evidence": photos, "evidence_note": text, "fulfilled_at": now}, text
        case _WA.CONFIRM:
            thanks = clean_note(note, "note", max_length=500)
            return {"thanks": thanks, "confirmed_at": now}, thanks
        case _WA.CANCEL:
            reason = clean_note(note, "note", max_length=500)
            if reason is None:
                raise invalid("say why the wish is cancelled", "note")
            return {"cancel_reason": reason, "cancelled_at": now}, reason
    raise WISHES.refusal(wish, action)


async def act_on_wish(
    session: AsyncSession,
    wish_id: int,
    action: WishAction,
    expected_version: int,
    actor_person_id: int | None,
    *,
    note: str | None = None,
    evidence: Sequence[str] = (),
    now: datetime | None = None,
) -> MicroWish:
    """Take one step of a wish's lifecycle at `expected_version`, with its timeline entry.

    `note` is the release note, the fulfilment note, the thanks or the cancel reason.
    A claim that finds the wish taken (whatever version was seen) is ALREADY_CLAIMED.
    """
    now = now or utcnow()
    wish = await WISHES.load(session, wish_id)
    if action == _WA.CLAIM and wish.status in TAKEN:
        raise _claimed()
    if wish.version != expected_version:
        raise WISHES.conflict(wish, expected_version)
    if WISHES.target(wish.status, action) is None:
        raise WISHES.refusal(wish, action)
    values, text = _effects(wish, action, actor_person_id, note, evidence, now)
    return await WISHES.move(
        session,
        wish,
        action,
        actor_person_id,
        now=now,
        expected_version=expected_version,
        note=text,
        values=values,
        lost_race=_lost_claim if action == _WA.CLAIM else None,
    )


# --- reading (through the request's loaders) -----------------------------------------------

NEWEST_FIRST = Ordering.of(desc(MicroWish.posted_at), desc(MicroWish.id))
#: A queue: what has waited longest in its status first.
LONGEST_WAITING = Ordering.of(asc(MicroWish.status_changed_at), asc(MicroWish.id))


@dataclass(frozen=True)
class WishFilter:
    statuses: tuple[WishStatus, ...] = ON_THE_WALL
    #: only what waits for an actor (the permission layer's condition), longest waiting first
    waiting: Narrowing | None = None

    def conditions(self) -> list[Any]:
        found = [col(MicroWish.status).in_(self.statuses)] if self.statuses else []
        if self.waiting is not None:
            found.append(self.waiting.condition())
        return found

    def ordering(self) -> Ordering:
        return NEWEST_FIRST if self.waiting is None else LONGEST_WAITING


#: The wall of a building: wishes posted on it.
WALL_OF_BUILDING = Listing("building.wishes", MicroWish, Parent(column=MicroWish.building_id))
#: A community's wall (its own wishes and its buildings'), or any subtree's wishes.
WISHES_UNDER = Listing("org_unit.wishes", MicroWish, Parent(within=OrgUnit))
#: What waits for the actor (`waiting` in the filter).
MY_WISHES = Listing("my.wishes", MicroWish)
WISH_TIMELINE = Children(
    MicroWishEvent, MicroWishEvent.wish_id, Ordering.of(asc(MicroWishEvent.version))
)
