"""Who may post, publish, claim, fulfil, confirm or cancel micro-wishes (微心愿), as data."""

from __future__ import annotations

from typing import Any

from sqlmodel import col

from models.people import Role
from models.wishes import MicroWish, WishAction, WishStatus
from permissions.actor import Actor
from permissions.petitions import RECORDERS, holds
from permissions.roles import Relation
from permissions.rules import (
    ActionTable,
    Acts,
    LivesAt,
    Other,
    Party,
    Queue,
    all_of,
    any_of,
    over,
)
from permissions.scope import Private, Reach, under

R = Relation
W = WishAction
P = Party

#: Relations (over the wish's place) that publish, release or cancel wishes on a wall.
WALL_KEEPERS: frozenset[Relation] = frozenset({R.BUILDING_STAFF, R.GRID, R.ADMIN})

#: Positions whose holders may claim wishes besides Party members (volunteers and cadres).
CLAIMING_ROLES: frozenset[str] = frozenset(
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


def may_claim(actor: Actor) -> bool:
    """A Party member, or the holder of an active volunteer, cadre or staff position."""
    return actor.party_member or any(g.role in CLAIMING_ROLES for g in actor.grants)


def wish_parties(actor: Actor, wish: Any) -> frozenset[Party]:
    found: set[Party] = set()
    if holds(actor, WALL_KEEPERS, wish.path):
        found.add(P.KEEPER)
    me = actor.person_id
    if me is not None:
        if me == wish.claimant_id:
            found.add(P.CLAIMANT)
        if me == wish.resident_id:
            found.add(P.REPORTER)
        if me == wish.recorded_by_id:
            found.add(P.RECORDER)
        if me != wish.resident_id and may_claim(actor):
            found.add(P.CLAIMER)
    return frozenset(found)


WISH_ACTIONS: ActionTable[WishAction] = ActionTable(
    {
        W.PUBLISH: frozenset({P.KEEPER}),
        W.CLAIM: frozenset({P.CLAIMER}),
        W.RELEASE: frozenset({P.CLAIMANT, P.KEEPER}),
        W.FULFIL: frozenset({P.CLAIMANT}),
        W.CONFIRM: frozenset({P.REPORTER, P.RECORDER}),
        W.CANCEL: frozenset({P.REPORTER, P.RECORDER, P.KEEPER}),
    },
    wish_parties,
)


def wish_party_sql(actor: Actor, party: Party) -> Any | None:
    """`wish_parties` in SQL, for the parties a queue asks about (not CLAIMER: the open wall
    is the wall, not a queue)."""
    me = actor.person_id
    match party:
        case P.KEEPER:
            keeps = actor.grant_paths(*WALL_KEEPERS)
            return under(col(MicroWish.path), keeps) if keeps else None
        case P.CLAIMANT if me is not None:
            return col(MicroWish.claimant_id) == me
        case P.REPORTER if me is not None:
            return col(MicroWish.resident_id) == me
        case P.RECORDER if me is not None:
            return col(MicroWish.recorded_by_id) == me
    return None


#: What waits for an actor: wishes to publish (keepers), to fulfil (claimants), to confirm
#: (the resident or their recorder). Claiming, releasing and cancelling are always open
#: choices, not work waiting.
WISH_QUEUE: Queue[WishAction] = Queue(
    WISH_ACTIONS,
    col(MicroWish.status),
    wish_party_sql,
    forward=frozenset({W.PUBLISH, W.FULFIL, W.CONFIRM}),
)

_PLACE = ("building_id", "community_id")
#: A resident posts their own wish where they live; staff record one for a resident.
POST_WISH = any_of(
    LivesAt(on=_PLACE, person="resident_id"),
    all_of(Other("resident_id"), over(*RECORDERS, on=_PLACE)),
)
ACT_ON_WISH = Acts(WISH_ACTIONS)

#: How rows of wishes are reached: under a grant of their place, or at one's own home.
ROW_SCOPE: dict[str, Reach] = {
    "micro_wish": Reach.PLACE,
    "micro_wish_event": Reach.PLACE,
}

#: 微心愿 drafts are private: an unpublished (POSTED) or cancelled wish is its author's, its
#: recorder's and the wall keepers' business only, not the neighbours' nor the claimants'.
_DRAFTS = Private(
    statuses=frozenset({WishStatus.POSTED, WishStatus.CANCELLED}),
    owners=("resident_id", "recorded_by_id"),
    keepers=WALL_KEEPERS,
)
PRIVATE_WHILE: dict[str, Private] = {
    "micro_wish": _DRAFTS,
    "micro_wish_event": Private(
        statuses=_DRAFTS.statuses,
        owners=_DRAFTS.owners,
        keepers=_DRAFTS.keepers,
        parent=MicroWish,
        via="wish_id",
    ),
}

#: A wish is its resident's.
SUBJECTS: dict[str, str] = {"MicroWish": "resident_id"}

RELATION_PATHS: dict[tuple[str, str], tuple[str, str] | None] = {
    ("MicroWish", "resident"): None,
    ("MicroWish", "claimant"): None,
    ("WishEvent", "actor"): None,
}
