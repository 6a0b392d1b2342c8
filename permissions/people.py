"""Who may register people, grant and end positions, and pair Party members with households;
and how many refusals of `createPerson` one actor gets (an ID number must not be guessable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from models.identity import security_settings
from permissions.actor import Actor
from permissions.masking import mask_id_card, mask_name, mask_phone
from permissions.policy import CARERS, PAIRING, VISIBLE, FieldRule, personal, public
from permissions.roles import Relation
from permissions.rules import CityAdmin, Manages, Rank, all_of, over
from permissions.scope import Reach

R = Relation

#: Staff register residents of a household in their place; people with no household here
#: (seconded cadres from elsewhere ...) are registered by city admins.
CREATE_PERSON = over(R.ADMIN, R.GRID, R.BUILDING_STAFF, on=("household_id",), otherwise=CityAdmin())
#: An admin grants roles up to its own rank inside its subtree, never to itself, and never to
#: someone whose grants reach beyond its own.
APPOINT_POSITION = all_of(
    over(R.ADMIN, on=("org_unit_id", "building_id"), rank=Rank(input="role")),
    Manages("person_id"),
)
END_POSITION = all_of(
    over(R.ADMIN, on=("id",), rank=Rank(row="id")),
    Manages("id", attribute="person_id"),
)
CREATE_PAIRING = over(R.ADMIN, R.GRID, on=("household_id",))
END_PAIRING = over(R.ADMIN, R.GRID, on=("id",))
#: Staff keep the register of the residents of their place; someone holding positions only
#: by the admins who manage every one of them (and nobody edits their own record).
UPDATE_PERSON = all_of(over(R.ADMIN, R.GRID, R.BUILDING_STAFF, on=("id",)), Manages("id"))
#: A move takes a person out of one household into another (or out): the actor keeps both.
MOVE_PERSON = all_of(over(R.ADMIN, R.GRID, on=("id", "household_id")), Manages("id"))


@dataclass(frozen=True)
class RefusalLimit:
    """At most `limit` refusals of an operation per actor per `window`, then RATE_LIMITED."""

    limit: int
    window: timedelta


def refusal_limit(operation: str) -> RefusalLimit | None:
    """Operations whose refusals could be used to probe for data (createPerson answers
    whether an ID number is registered in the caller's scope), and how many they get."""
    settings = security_settings()
    limits = {
        "createPerson": RefusalLimit(
            settings.create_person_refusals, settings.create_person_window
        ),
    }
    return limits.get(operation)


def refusal_key(actor: Actor, operation: str) -> str | None:
    """Whose refusals count together: a person's, or a token's (anonymous callers are
    refused before anything could be probed)."""
    if actor.person_id is not None:
        return f"{operation}:person:{actor.person_id}"
    if actor.token_id is not None:
        return f"{operation}:token:{actor.token_id}"
    return None


#: How rows of people, positions and pairings are reached (see `permissions.scope.Reach`).
ROW_SCOPE: dict[str, Reach] = {
    "person": Reach.PERSON,
    "position": Reach.PLACE,
    "pairing": Reach.PERSONAL,
    "household_membership": Reach.PERSONAL,
}

#: A person row is about that person, a membership about its member.
SUBJECTS: dict[str, str] = {"Person": "id", "HouseholdMembership": "person_id"}

#: Where a person lives: not for a resident's contacts, nor integrators (no regrouping).
LIVES_IN = FieldRule(full=VISIBLE - {R.CONTACT, R.INTEGRATOR})

FIELD_POLICY: dict[str, dict[str, FieldRule]] = {
    "Person": {
        "id": public(),
        "createdAt": public(),
        "name": personal(VISIBLE - {R.INTEGRATOR}, {R.INTEGRATOR}, mask_name),
        "gender": personal(VISIBLE - {R.CONTACT}),
        "phone": personal(CARERS | {R.CONTACT}, {R.SERVICE, R.ADMIN, R.INTEGRATOR}, mask_phone),
        "idCardNumber": personal(
            {R.SELF}, {R.HOUSEHOLD, R.BUILDING_STAFF, R.GRID, R.ADMIN, R.INTEGRATOR}, mask_id_card
        ),
        "birthDate": personal(
            {R.SELF, R.HOUSEHOLD, R.GRID}, {R.BUILDING_STAFF, R.SERVICE, R.ADMIN, R.INTEGRATOR}
        ),
        # an exact age is a birth date to the year: full only where the birth date is
        "age": personal({R.SELF, R.HOUSEHOLD, R.GRID}, {R.BUILDING_STAFF, R.SERVICE, R.ADMIN}),
        "ageBand": personal(VISIBLE - {R.CONTACT}),
        "isPartyMember": personal(VISIBLE),
        "isVeteran": personal(VISIBLE),
        "isRenter": personal(VISIBLE - {R.CONTACT}),
        "isElderly": personal(CARERS | {R.SERVICE, R.ADMIN}),
        "livesAlone": personal(CARERS | {R.SERVICE, R.ADMIN}),
        "healthNotes": personal(CARERS, {R.ADMIN}),
        # 与户主关系 tells who lives with whom, as `household` does
        "relationship": personal(VISIBLE - {R.CONTACT, R.INTEGRATOR}),
        # integrators may not regroup people into households (members are denied to them)
        "household": LIVES_IN,
        "partyOrganisation": public(),
        "positions": public(),
        "pairings": PAIRING,
        "householdHistory": LIVES_IN,
    },
    # who lived in which household when: where a person lives, like `Person.household`
    "HouseholdMembership": {
        "id": public(),
        "household": LIVES_IN,
        "startedAt": LIVES_IN,
        "endedAt": LIVES_IN,
        "reason": LIVES_IN,
    },
    # a 1+N pairing names a Party member and a household they look after
    "Pairing": {
        "id": public(),
        "startedAt": public(),
        "endedAt": public(),
        "partyMember": PAIRING,
        "household": PAIRING,
    },
}

RELATION_PATHS: dict[tuple[str, str], tuple[str, str] | None] = {
    ("Person", "household"): ("Person", "household"),
    ("HouseholdMembership", "household"): ("Person", "household"),
    ("Pairing", "partyMember"): ("Person", "pairings"),
    ("Pairing", "household"): ("Person", "pairings"),
    ("Position", "person"): None,
    ("Query", "people"): None,
    ("PersonPayload", "person"): None,
}
