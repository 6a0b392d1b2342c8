"""Who may act on petitions and micro-wishes, as data.

Handling follows the owner: a petition owned at a level is handled by the actors whose
grant over the owner's node gives one of that level's handler relations (a community
admin may handle what a building owns; a building head may not handle what a street
owns). The assignee may carry out the hands-on steps. Closing and reopening happen only
through the resident's rating; closing unrated only through the scheduler.
"""

from __future__ import annotations

import enum

from models.petitions import Level, PetitionAction, WishAction
from permissions.actor import Actor, is_under
from permissions.roles import Relation

R = Relation
A = PetitionAction

#: Relations (over the owner's node) that handle petitions owned at each level.
HANDLERS: dict[Level, frozenset[Relation]] = {
    Level.BUILDING: frozenset({R.BUILDING_STAFF, R.GRID, R.ADMIN}),
    Level.GRID: frozenset({R.GRID, R.ADMIN}),
    Level.COMMUNITY: frozenset({R.ADMIN}),
    Level.STREET: frozenset({R.ADMIN}),
    Level.DISTRICT: frozenset({R.ADMIN}),
}

#: Actions the owner's handlers may take.
BY_HANDLERS: frozenset[PetitionAction] = frozenset(
    {
        A.ACCEPT,
        A.REJECT,
        A.MARK_DUPLICATE,
        A.ASSIGN,
        A.ACKNOWLEDGE,
        A.START,
        A.RESOLVE,
        A.DECLARE_NOT_RESOLVABLE,
        A.RETURN,
        A.ESCALATE,
    }
)
#: Actions the assignee may take on a petition assigned to them.
BY_ASSIGNEE: frozenset[PetitionAction] = frozenset(
    {A.ACKNOWLEDGE, A.START, A.RESOLVE, A.DECLARE_NOT_RESOLVABLE, A.RETURN, A.ESCALATE}
)

#: Relations (over the place) that may record a petition or wish for a resident.
RECORDERS: frozenset[Relation] = frozenset({R.BUILDING_STAFF, R.GRID, R.SERVICE, R.ADMIN})

#: Relations (over the wish's place) that publish, release or cancel wishes on a wall.
WALL_KEEPERS: frozenset[Relation] = frozenset({R.BUILDING_STAFF, R.GRID, R.ADMIN})
BY_WALL_KEEPERS: frozenset[WishAction] = frozenset(
    {WishAction.PUBLISH, WishAction.RELEASE, WishAction.CANCEL}
)

#: Who edits categories and due times: they are city-wide.
CATEGORY_EDITORS: frozenset[Relation] = frozenset({R.ADMIN})


def _holds(actor: Actor, relations: frozenset[Relation], path: str | None) -> bool:
    if path is None:
        return False
    return any(g.relation in relations and is_under(path, g.path) for g in actor.grants)


def may_handle(
    actor: Actor,
    action: PetitionAction,
    *,
    owner_level: Level,
    owner_path: str | None,
    assignee_id: int | None,
) -> bool:
    if actor.unrestricted:
        return True
    if action in BY_HANDLERS and _holds(actor, HANDLERS[owner_level], owner_path):
        return True
    return action in BY_ASSIGNEE and assignee_id is not None and actor.person_id == assignee_id


def may_record_for(actor: Actor, place_path: str | None) -> bool:
    """Staff recording a petition or wish on a resident's behalf at a place they serve."""
    return actor.unrestricted or _holds(actor, RECORDERS, place_path)


def lives_at(actor: Actor, place_path: str | None) -> bool:
    """A resident submitting for themselves: the place is their building or above it."""
    home = actor.household_path
    return home is not None and place_path is not None and is_under(home, place_path)


def may_keep_wall(actor: Actor, action: WishAction, place_path: str | None) -> bool:
    return actor.unrestricted or (
        action in BY_WALL_KEEPERS and _holds(actor, WALL_KEEPERS, place_path)
    )


def may_edit_categories(actor: Actor) -> bool:
    return actor.unrestricted or actor.city_admin


def may_rate(actor: Actor, reporter_id: int | None) -> bool:
    """一事一评: only the resident whose petition it is rates it."""
    return actor.person_id is not None and actor.person_id == reporter_id


#: Wish steps a person takes for themselves; the resolver checks the finer rule of each
#: (who may claim, that only the claimant fulfils, that the resident or recorder confirms).
BY_THE_PEOPLE_CONCERNED: frozenset[WishAction] = frozenset(
    {WishAction.CLAIM, WishAction.FULFIL, WishAction.CONFIRM}
)


def may_act_on_wish(
    actor: Actor,
    action: WishAction,
    *,
    place_path: str | None,
    claimant_id: int | None,
    resident_id: int,
    recorded_by_id: int | None,
) -> bool:
    if actor.unrestricted:
        return True
    if actor.person_id is None:
        return False
    concerned = (
        action in BY_THE_PEOPLE_CONCERNED
        or (action is WishAction.RELEASE and actor.person_id == claimant_id)
        or (action is WishAction.CANCEL and actor.person_id in (resident_id, recorded_by_id))
    )
    return concerned or may_keep_wall(actor, action, place_path)


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
        {"categoryName", "status", "submittedOn", "resolvedOn", "rating"}
    ),
    FeedbackView.CASES: frozenset(
        {"categoryName", "status", "submittedOn", "resolvedOn", "rating", "title", "resolutionNote"}
    ),
}
#: Relations (over the building) that read the report of the cases they may see.
FEEDBACK_CASE_READERS: frozenset[Relation] = frozenset(
    {R.BUILDING_STAFF, R.GRID, R.ADMIN, R.INTEGRATOR, R.SERVICE}
)
#: Of those, the ones who handle every case of the building: they never need the board.
FEEDBACK_HANDLERS: frozenset[Relation] = HANDLERS[Level.BUILDING]


def feedback_view(actor: Actor, building_path: str | None) -> FeedbackView | None:
    """The view of a building's report an actor gets; None: refused (displays read no
    building reports: their counts are too small to show)."""
    if actor.unrestricted or _holds(actor, FEEDBACK_HANDLERS, building_path):
        return FeedbackView.CASES
    if lives_at(actor, building_path):
        return FeedbackView.BOARD
    if _holds(actor, FEEDBACK_CASE_READERS, building_path):
        return FeedbackView.CASES
    return None
