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
from permissions.registry import Collected
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
    """Who sees a field in full and who masked; `personal` full reads are audited.

    `concealed_by` names a flag of the row (a petition's `anonymous`): while it is set, the
    field is the row's subject's alone (SELF), whatever the other relations.
    """

    full: frozenset[Relation]
    masked: frozenset[Relation] = frozenset()
    personal: bool = False
    mask: Callable[[Any], Any] | None = None  # None: a masked value reads as null
    concealed_by: str | None = None

    def access(self, relations: set[Relation], row: Any = None) -> Access:
        if self.concealed_by is not None and getattr(row, self.concealed_by, True):
            return Access.FULL if Relation.SELF in relations else Access.DENIED
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

#: The union of every domain's tables (see `permissions.registry`).
SUBJECTS: Collected[str, str] = Collected("SUBJECTS")
FIELD_POLICY: Collected[str, dict[str, FieldRule]] = Collected("FIELD_POLICY")
FIELD_RULES: Collected[tuple[str, str], FieldRule] = Collected("FIELD_RULES")
#: Type -> columns naming the people a row is a task of (a person id, or an array of them):
#: they stand to it as TASKED (the volunteer who took on a service order, who visited).
TASKED_BY: Collected[str, tuple[str, ...]] = Collected("TASKED_BY")
RELATION_PATHS: Collected[tuple[str, str], tuple[str, str] | None] = Collected("RELATION_PATHS")


def rule(type_name: str, field: str) -> FieldRule | None:
    return FIELD_POLICY.get(type_name, {}).get(field) or FIELD_RULES.get((type_name, field))


def decide(type_name: str, field: str, relations: set[Relation], row: Any = None) -> Access:
    found = rule(type_name, field)
    return found.access(relations, row) if found else Access.DENIED


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
