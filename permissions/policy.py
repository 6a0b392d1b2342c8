"""The field policy: per type and field, FULL, MASKED or DENIED by the actor's relation to the row.

This table is the single place that decides who sees what of a person; schema fields
reference it by (type, field) and resolvers never check roles. Anything not named
here is DENIED, and a schema test fails when a type holding personal data has a
field missing from this table.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from permissions.actor import Actor
from permissions.masking import mask_id_card, mask_name, mask_phone, mask_room
from permissions.roles import Relation


class Access(enum.IntEnum):
    DENIED = 0
    MASKED = 1
    FULL = 2


R = Relation
#: Everybody who can see a row at all, except display tokens (aggregates only).
VISIBLE = frozenset(r for r in Relation if r is not R.DISPLAY)
#: People who work with a building's residents in person.
CARERS = frozenset({R.SELF, R.HOUSEHOLD, R.BUILDING_STAFF, R.GRID})


@dataclass(frozen=True)
class FieldRule:
    """Who sees a field in full and who masked; `personal` full reads are audited."""

    full: frozenset[Relation]
    masked: frozenset[Relation] = frozenset()
    personal: bool = False
    mask: Callable[[Any], Any] | None = None  # None: a masked value reads as null

    def access(self, relations: set[Relation]) -> Access:
        if self.personal:
            relations = relations - {Relation.OTHER}
        if relations & self.full:
            return Access.FULL
        if relations & self.masked:
            return Access.MASKED
        return Access.DENIED


def public() -> FieldRule:
    return FieldRule(full=VISIBLE)


def personal(
    full: set[Relation] | frozenset[Relation],
    masked: set[Relation] | frozenset[Relation] = frozenset(),
    mask: Callable[[Any], Any] | None = None,
) -> FieldRule:
    return FieldRule(full=frozenset(full), masked=frozenset(masked), personal=True, mask=mask)


#: Who lives in which household: integrators may not regroup people into households.
MEMBERSHIP = FieldRule(full=VISIBLE - {R.INTEGRATOR})
#: Which Party member looks after which household (1+N): not for a resident's contacts.
PAIRING = FieldRule(full=VISIBLE - {R.CONTACT})

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
        # integrators may not regroup people into households (members are denied to them)
        "household": FieldRule(full=VISIBLE - {R.CONTACT, R.INTEGRATOR}),
        "partyOrganisation": public(),
        "positions": public(),
        "pairings": PAIRING,
    },
    "Household": {
        "id": public(),
        "createdAt": public(),
        "unit": public(),
        "room": personal(CARERS, {R.SERVICE, R.ADMIN, R.INTEGRATOR}, mask_room),
        "tenure": public(),
        "building": public(),
        "members": MEMBERSHIP,
        "centralHousehold": public(),
    },
    # a central household names a Party member and the household they live in: membership
    "CentralHousehold": {
        "id": public(),
        "building": public(),
        "household": public(),
        "partyMember": MEMBERSHIP,
        "designatedAt": public(),
        "endedAt": public(),
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

#: Every field leading from one type to a Person or a Household, with the relation of the
#: policy (type, field) it reveals and may never exceed, on any path, for any actor: a
#: relation denied in one place is denied everywhere. None: the field reveals nothing the
#: target's own guarded fields do not already govern (a role holder, a case's people, the
#: subject of a mutation). A schema test walks every path and fails on a field missing here.
RELATION_PATHS: dict[tuple[str, str], tuple[str, str] | None] = {
    ("Household", "members"): ("Household", "members"),
    ("Person", "household"): ("Person", "household"),
    ("CentralHousehold", "partyMember"): ("Household", "members"),
    ("CentralHousehold", "household"): None,  # the household side: public, the person guarded
    ("Pairing", "partyMember"): ("Person", "pairings"),
    ("Pairing", "household"): ("Person", "pairings"),
    ("Building", "head"): None,
    ("Building", "residents"): None,
    ("Building", "households"): None,
    ("OrgUnit", "residents"): None,
    ("PartyOrganisation", "members"): None,
    ("Position", "person"): None,
    ("Petition", "reporter"): None,  # hidden when anonymous by the petitions resolvers
    ("Petition", "recordedBy"): None,
    ("Petition", "assignee"): None,
    ("PetitionEvent", "actor"): None,
    ("PetitionEvent", "assignee"): None,
    ("MicroWish", "resident"): None,
    ("MicroWish", "claimant"): None,
    ("Query", "people"): None,
    ("Viewer", "person"): None,  # oneself
    ("Viewer", "household"): None,
    ("AccountPayload", "person"): None,
    ("PersonPayload", "person"): None,
    ("HouseholdPayload", "household"): None,
}

#: Fields an admin or grid worker may reveal in full for a stated purpose (audited).
REVEALABLE: dict[str, tuple[str, ...]] = {
    "Person": ("phone", "idCardNumber", "birthDate", "healthNotes"),
    "Household": ("room",),
}
#: Relations allowed to use revealPersonalData at all.
REVEALERS = frozenset({R.ADMIN, R.GRID})


def rule(type_name: str, field: str) -> FieldRule | None:
    return FIELD_POLICY.get(type_name, {}).get(field)


def decide(type_name: str, field: str, relations: set[Relation]) -> Access:
    found = rule(type_name, field)
    return found.access(relations) if found else Access.DENIED


def row_relations(actor: Actor, *, serving: bool = True) -> set[Relation]:
    """Every relation the actor may stand in to a row of a list: its grants' and a
    resident's; with `serving` (lists that hold the staff serving a place, not only its
    residents) SERVICE for building staff and grid workers, who see seconded cadres and the
    like as fellow staff (`schema.policy.relations_to`)."""
    found = actor.possible_relations()
    if serving and found & {R.BUILDING_STAFF, R.GRID}:
        found.add(R.SERVICE)
    return found


def filterable(actor: Actor, type_name: str, field: str, *, serving: bool = True) -> bool:
    """Filtering, ordering or grouping a list by a field reveals it as reading it would:
    allowed only when every relation the actor can have to a row of the list gives the
    field in full (a masked or withheld field sorts and filters nothing)."""
    if actor.unrestricted:
        return True
    relations = row_relations(actor, serving=serving)
    return bool(relations) and all(decide(type_name, field, {r}) is Access.FULL for r in relations)
