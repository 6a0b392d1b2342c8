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
        "age": personal(CARERS | {R.SERVICE, R.ADMIN}, {R.INTEGRATOR}),
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
        "pairings": FieldRule(full=VISIBLE - {R.CONTACT}),
    },
    "Household": {
        "id": public(),
        "createdAt": public(),
        "unit": public(),
        "room": personal(CARERS, {R.SERVICE, R.ADMIN, R.INTEGRATOR}, mask_room),
        "tenure": public(),
        "building": public(),
        "members": FieldRule(full=VISIBLE - {R.INTEGRATOR}),
        "centralHousehold": public(),
    },
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


def filterable(actor: Actor, type_name: str, field: str) -> bool:
    """Filtering a list by a field reveals it: allowed only when every relation the actor
    can have to a row of the list gives the field in full."""
    if actor.unrestricted:
        return True
    relations = actor.possible_relations()
    return bool(relations) and all(decide(type_name, field, {r}) is Access.FULL for r in relations)
