"""Who may act on petitions, as data.

Handling follows the owner: a petition owned at a level is handled by the actors whose
grant over the owner's node gives one of that level's handler relations (a community
admin may handle what a building owns; a building head may not handle what a street
owns). The assignee may carry out the hands-on steps. Closing and reopening happen only
through the resident's rating; closing unrated only through the scheduler.
"""

from __future__ import annotations

import enum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from models.petitions import AWAITING_RATING, Level, Petition, PetitionAction
from permissions.actor import Actor, is_under
from permissions.policy import VISIBLE, FieldRule
from permissions.roles import Relation
from permissions.rules import (
    ActionTable,
    Acts,
    As,
    CityAdmin,
    LivesAt,
    Party,
    Queue,
    any_of,
    over,
)
from permissions.scope import Reach, under

R = Relation
A = PetitionAction
P = Party

#: Relations (over the owner's node) that handle petitions owned at each level.
HANDLERS: dict[Level, frozenset[Relation]] = {
    Level.BUILDING: frozenset({R.BUILDING_STAFF, R.GRID, R.ADMIN}),
    Level.GRID: frozenset({R.GRID, R.ADMIN}),
    Level.COMMUNITY: frozenset({R.ADMIN}),
    Level.STREET: frozenset({R.ADMIN}),
    Level.DISTRICT: frozenset({R.ADMIN}),
}

#: Relations (over the place) that may record a petition or wish for a resident.
RECORDERS: frozenset[Relation] = frozenset({R.BUILDING_STAFF, R.GRID, R.SERVICE, R.ADMIN})


def holds(actor: Actor, relations: frozenset[Relation], path: str | None) -> bool:
    """A grant giving one of `relations` over the place at `path`."""
    if path is None:
        return False
    return any(g.relation in relations and is_under(path, g.path) for g in actor.grants)


def petition_parties(actor: Actor, petition: Any) -> frozenset[Party]:
    found: set[Party] = set()
    if holds(actor, HANDLERS[petition.owner_level], petition.owner_path):
        found.add(P.HANDLER)
    me = actor.person_id
    if me is not None and me == petition.assignee_id:
        found.add(P.ASSIGNEE)
    if me is not None and me == petition.reporter_id:
        found.add(P.REPORTER)
    return frozenset(found)


_BY_HANDLERS = frozenset({P.HANDLER})
_HANDS_ON = frozenset({P.HANDLER, P.ASSIGNEE})

#: Who takes each action through `transitionPetition` (CLOSE, REOPEN and CLOSE_UNRATED are
#: not here: only a rating or the scheduler takes them).
PETITION_ACTIONS: ActionTable[PetitionAction] = ActionTable(
    {
        A.ACCEPT: _BY_HANDLERS,
        A.REJECT: _BY_HANDLERS,
        A.MARK_DUPLICATE: _BY_HANDLERS,
        A.ASSIGN: _BY_HANDLERS,
        A.ACKNOWLEDGE: _HANDS_ON,
        A.START: _HANDS_ON,
        A.RESOLVE: _HANDS_ON,
        A.DECLARE_NOT_RESOLVABLE: _HANDS_ON,
        A.RETURN: _HANDS_ON,
        A.ESCALATE: _HANDS_ON,
    },
    petition_parties,
)


def petition_party_sql(actor: Actor, party: Party) -> Any | None:
    """`petition_parties` in SQL: the actor is `party` to the petition row."""
    me = actor.person_id
    match party:
        case P.HANDLER:
            owned = [
                sa.and_(
                    col(Petition.owner_level) == level,
                    under(col(Petition.owner_path), actor.grant_paths(*relations)),
                )
                for level, relations in HANDLERS.items()
                if actor.grant_paths(*relations)
            ]
            return sa.or_(*owned) if owned else None
        case P.ASSIGNEE if me is not None:
            return col(Petition.assignee_id) == me
        case P.REPORTER if me is not None:
            return col(Petition.reporter_id) == me
    return None


#: What waits for an actor: every case they may move on now, and their own resolved cases
#: awaiting their rating.
PETITION_QUEUE: Queue[PetitionAction] = Queue(
    PETITION_ACTIONS,
    col(Petition.status),
    petition_party_sql,
    also={P.REPORTER: AWAITING_RATING},
)

_PLACE = ("building_id", "org_unit_id")
#: A resident files their own petition where they live; staff record one for a resident at
#: a place they serve.
SUBMIT_PETITION = any_of(LivesAt(on=_PLACE, person="reporter_id"), over(*RECORDERS, on=_PLACE))
TRANSITION_PETITION = Acts(PETITION_ACTIONS)
#: 一事一评: only the resident whose petition it is rates it.
RATE_PETITION = As(frozenset({P.REPORTER}), petition_parties)
#: Categories and due times are city-wide.
EDIT_CATEGORIES = CityAdmin()


class FeedbackView(enum.Enum):
    """What a 楼栋说事室 report shows, by who reads it."""

    #: The building's residents: every case of their building, as the board in the meeting
    #: room shows it: category, status, dates and outcome; no titles or notes (free text that
    #: can point at a neighbour), never who reported, recorded, handled or rated.
    BOARD = "BOARD"
    #: Staff and integrators: the cases their row scope admits (handlers: every case of the
    #: building; volunteers and cadres: the cases assigned to them), titles and notes included.
    CASES = "CASES"


#: Item fields each view shows; the others read null.
FEEDBACK_FIELDS: dict[FeedbackView, frozenset[str]] = {
    FeedbackView.BOARD: frozenset(
        {"categoryName", "status", "submittedOn", "resolvedOn", "rating", "onTime"}
    ),
    FeedbackView.CASES: frozenset(
        {
            "categoryName",
            "status",
            "submittedOn",
            "resolvedOn",
            "rating",
            "onTime",
            "title",
            "resolutionNote",
        }
    ),
}
#: Relations (over the building) that read the report of the cases they may see.
FEEDBACK_CASE_READERS: frozenset[Relation] = frozenset(
    {R.BUILDING_STAFF, R.GRID, R.ADMIN, R.INTEGRATOR, R.SERVICE}
)
#: Of those, the ones who handle every case of the building: they never need the board.
FEEDBACK_HANDLERS: frozenset[Relation] = HANDLERS[Level.BUILDING]


def lives_at(actor: Actor, place_path: str | None) -> bool:
    """A resident of the place: their household is at or under it."""
    home = actor.household_path
    return home is not None and place_path is not None and is_under(home, place_path)


def feedback_view(actor: Actor, building_path: str | None) -> FeedbackView | None:
    """The view of a building's report an actor gets; None: refused (displays read no
    building reports: their counts are too small to show)."""
    if actor.unrestricted or holds(actor, FEEDBACK_HANDLERS, building_path):
        return FeedbackView.CASES
    if lives_at(actor, building_path):
        return FeedbackView.BOARD
    if holds(actor, FEEDBACK_CASE_READERS, building_path):
        return FeedbackView.CASES
    return None


#: How rows of petitions are reached: their handlers and integrators under their place, and
#: the resident and the assignee of each case.
ROW_SCOPE: dict[str, Reach] = {
    "petition": Reach.CASE,
    "petition_event": Reach.CASE,
    "petition_rating": Reach.CASE,
    "petition_stage": Reach.CASE,
    "petition_category": Reach.PUBLIC,
    "petition_due_time": Reach.PUBLIC,
}

#: A petition is its reporter's.
SUBJECTS: dict[str, str] = {"Petition": "reporter_id"}

FIELD_RULES: dict[tuple[str, str], FieldRule] = {
    # an anonymous petition's reporter is known to nobody but the reporter, anywhere
    ("Petition", "reporter"): FieldRule(full=VISIBLE, concealed_by="anonymous"),
}

RELATION_PATHS: dict[tuple[str, str], tuple[str, str] | None] = {
    ("Petition", "reporter"): None,  # concealed when anonymous by its rule above
    ("Petition", "recordedBy"): None,
    ("Petition", "assignee"): None,
    ("PetitionEvent", "actor"): None,
    ("PetitionEvent", "assignee"): None,
}
