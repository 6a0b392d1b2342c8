"""Who adopts and signs conventions, runs meetings and decides their agenda, keeps 民生实事
tasks, liaisons, improvement projects and notices; and who sees what: a household's signature
is for its household and the building's staff (counts are for everyone who sees the
building), notices' read receipts are counts only."""

from __future__ import annotations

from typing import Any

from models.cogovernance import TaskAction
from models.petitions import PetitionAction
from permissions.actor import Actor
from permissions.petitions import PETITION_ACTIONS, holds
from permissions.policy import FieldRule, public
from permissions.roles import Relation
from permissions.rules import (
    ActionTable,
    Acts,
    LivesAt,
    Other,
    Party,
    SignedIn,
    all_of,
    any_of,
    over,
)
from permissions.scope import Reach

R = Relation
P = Party
T = TaskAction

#: Relations that keep a place's co-governance: its building staff, grid worker, admins above.
KEEPERS: frozenset[Relation] = frozenset({R.BUILDING_STAFF, R.GRID, R.ADMIN})
_PLACE = ("org_unit_id", "building_id")

ADOPT_CONVENTION = over(*KEEPERS, on=("building_id",))
#: A resident signs for their own household; staff record a household's paper signature.
SIGN_CONVENTION = any_of(
    LivesAt(on=("household_id",), person="signed_by_id"),
    all_of(Other("signed_by_id"), over(*KEEPERS, on=("household_id",))),
)
#: A meeting is run by those who keep its place (a building's 共治会 by its staff, a
#: community's 联席会议 by its admins): the place's kind is the business rules' to check.
CREATE_MEETING = over(*KEEPERS, on=_PLACE)
DECIDE_AGENDA_ITEM = over(*KEEPERS, on=("item_id",))
CREATE_TASK = over(*KEEPERS, on=_PLACE)
CREATE_PAVILION = over(R.GRID, R.ADMIN, on=_PLACE)
ADD_LIAISON = over(*KEEPERS, on=("building_id",))
END_LIAISON = over(*KEEPERS, on=("id",))
CREATE_PROJECT = over(R.ADMIN, on=_PLACE)
ADD_FUNDING = over(R.ADMIN, on=("project_id",))
COMPLETE_PROJECT = over(R.ADMIN, on=("id",))
PUBLISH_NOTICE = over(*KEEPERS, on=_PLACE)
WITHDRAW_NOTICE = over(*KEEPERS, on=("id",))
#: Anyone signed in marks a notice read; whether it is addressed to them is the rule's
#: business function's (NOT_IN_AUDIENCE).
MARK_NOTICE_READ = SignedIn()


def may_move_petition(actor: Actor, petition: Any, action: PetitionAction) -> bool:
    """A meeting's decision moves a petition only as the person recording it may move it."""
    return action in PETITION_ACTIONS.permitted(actor, petition)


def task_parties(actor: Actor, task: Any) -> frozenset[Party]:
    found: set[Party] = set()
    if holds(actor, KEEPERS, task.path):
        found.add(P.HANDLER)
    if actor.person_id is not None and actor.person_id == task.assignee_id:
        found.add(P.ASSIGNEE)
    return frozenset(found)


TASK_ACTIONS: ActionTable[TaskAction] = ActionTable(
    {
        T.START: frozenset({P.HANDLER, P.ASSIGNEE}),
        T.COMPLETE: frozenset({P.HANDLER, P.ASSIGNEE}),
        T.CANCEL: frozenset({P.HANDLER}),
    },
    task_parties,
)
ACT_ON_TASK = Acts(TASK_ACTIONS)

ROW_SCOPE: dict[str, Reach] = {
    "convention": Reach.PLACE,
    "convention_signature": Reach.PERSONAL,
    "meeting": Reach.PLACE,
    "meeting_attendee": Reach.PLACE,
    "agenda_item": Reach.PLACE,
    "livelihood_task": Reach.PLACE,
    "livelihood_task_event": Reach.PLACE,
    "liaison_pavilion": Reach.PLACE,
    "liaison": Reach.PLACE,
    "improvement_project": Reach.PLACE,
    "project_funding": Reach.PLACE,
    "notice": Reach.PLACE,
    "notice_receipt": Reach.LEDGER,
}

#: A signature is its signer's.
SUBJECTS: dict[str, str] = {"ConventionSignature": "signed_by_id"}

#: Which household signed is for the household itself and the building's staff.
_SIGNATURE = FieldRule(
    full=frozenset({R.SELF, R.HOUSEHOLD, R.BUILDING_STAFF, R.GRID, R.ADMIN}), personal=True
)
FIELD_POLICY: dict[str, dict[str, FieldRule]] = {
    "ConventionSignature": {
        "id": public(),
        "household": _SIGNATURE,
        "signedBy": _SIGNATURE,
        "signedAt": _SIGNATURE,
    },
}

RELATION_PATHS: dict[tuple[str, str], tuple[str, str] | None] = {
    # a signature ties its signer to the household: membership, for fewer than membership
    ("ConventionSignature", "household"): ("Household", "members"),
    ("ConventionSignature", "signedBy"): ("Household", "members"),
    ("MeetingAttendee", "person"): None,
    ("LivelihoodTask", "assignee"): None,
}
