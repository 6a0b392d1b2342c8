"""Binds schema fields to the field policy in `permissions.policy`.

`schema.declare.row_type(..., policy="Person")` puts a guard on every field of a type that
holds personal data: the guard asks the policy, masks or withholds the value, and records
full reads of personal data for the audit log. The source of a guarded field is the row
itself; the relation of the actor to a row is worked out once per row and request.
"""

from __future__ import annotations

import inspect
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types import Info as StrawberryInfo
from strawberry.types.base import StrawberryList, StrawberryOptional

from permissions.actor import narrowed
from permissions.policy import SUBJECTS, TASKED_BY, Access, rule
from permissions.roles import Relation
from schema.context import Context

#: Relations meaning the row is the reader's own person or household.
OWN = frozenset({Relation.SELF, Relation.HOUSEHOLD})


def _names(value: Any, person_id: int) -> bool:
    """A column naming the person (an id, or a list of ids)."""
    if isinstance(value, list | tuple):
        return person_id in value
    return bool(value == person_id)


def _settle(context: Context, type_name: str, row: Any, found: set[Relation]) -> set[Relation]:
    subject = SUBJECTS.get(type_name)
    me = context.actor.person_id
    if subject is not None and me is not None and getattr(row, subject) == me:
        found.add(Relation.SELF)
    if me is not None and any(_names(getattr(row, c), me) for c in TASKED_BY.get(type_name, ())):
        found.add(Relation.TASKED)
    if type_name == "Person" and row.id in context.actor.contact_ids:
        found.add(Relation.CONTACT)
    found = narrowed(found)
    if not found:
        found = {Relation.OTHER}  # visible, yet nothing closer: public fields only
    context.relations[(type_name, row.id)] = found
    return found


def known_relations(context: Context, type_name: str, row: Any) -> set[Relation] | None:
    """The relations when they follow from the row's path alone (no I/O), else None."""
    found = context.relations.get((type_name, row.id))
    if found is not None:
        return found
    path = getattr(row, "path", None)  # a ledger entry is placed nowhere
    if path is None:
        return None
    return _settle(context, type_name, row, context.actor.relations_to(path))


async def relations_to(context: Context, type_name: str, row: Any) -> set[Relation]:
    found = known_relations(context, type_name, row)
    if found is not None:
        return found
    if type_name != "Person":  # a row placed nowhere: nothing closer than being in scope
        return _settle(context, type_name, row, set())
    # People without a home here (seconded cadres ...) are judged by where they serve.
    # Staff are not residents there: those caring for residents see them as fellow staff.
    from resolvers.people import ACTIVE_POSITIONS_OF_PERSON

    held = await context.loaders.children(ACTIVE_POSITIONS_OF_PERSON, row.id)
    serving = set().union(*(context.actor.relations_to(p.path) for p in held))
    serving -= {Relation.HOUSEHOLD}
    if context.actor.city_admin:
        serving.add(Relation.ADMIN)
    if serving & {Relation.BUILDING_STAFF, Relation.GRID}:
        serving = (serving - {Relation.BUILDING_STAFF, Relation.GRID}) | {Relation.SERVICE}
    return _settle(context, type_name, row, serving)


def _access(
    context: Context, type_name: str, field: str, relations: set[Relation], row: Any
) -> Access:
    if context.actor.unrestricted:
        return Access.FULL
    found = rule(type_name, field)
    return found.access(relations, row) if found else Access.DENIED


async def access_to(context: Context, type_name: str, field: str, row: Any) -> Access:
    return _access(context, type_name, field, await relations_to(context, type_name, row), row)


class Guard(FieldExtension):
    """Applies the policy rule of (`type_name`, `field`) to one schema field.

    Plain fields stay synchronous (graphql-core's per-await cost dominates big pages);
    only a row whose relation needs a lookup takes the asynchronous path.
    """

    def __init__(self, type_name: str, field: str) -> None:
        self.type_name = type_name
        self.field = field
        self.rule = rule(type_name, field)
        self._list: bool | None = None

    def withheld(self, info: StrawberryInfo[Context, Any]) -> Any:
        """What DENIED reads as: an empty list for a list field, else null."""
        if self._list is None:
            kind = info.return_type
            if isinstance(kind, StrawberryOptional):
                kind = kind.of_type
            self._list = isinstance(kind, StrawberryList)
        return [] if self._list else None

    def _shown(
        self, info: StrawberryInfo[Context, Any], source: Any, access: Access, value: Any
    ) -> Any:
        context = info.context
        if access is Access.MASKED:
            mask = self.rule.mask if self.rule else None
            return mask(value) if mask and value is not None else self.withheld(info)
        if self.rule and self.rule.personal and value is not None:
            own = bool(context.relations.get((self.type_name, source.id), set()) & OWN)
            context.audit.read(self.type_name, source.id, self.field, own=own)
        return value

    def resolve(
        self, next_: Any, source: Any, info: StrawberryInfo[Context, Any], **kwargs: Any
    ) -> Any:
        context = info.context
        relations = known_relations(context, self.type_name, source)
        if relations is None:
            return self.resolve_async(next_, source, info, **kwargs)
        access = _access(context, self.type_name, self.field, relations, source)
        if access is Access.DENIED:
            return self.withheld(info)
        return self._shown(info, source, access, next_(source, info, **kwargs))

    async def resolve_async(
        self, next_: Any, source: Any, info: StrawberryInfo[Context, Any], **kwargs: Any
    ) -> Any:
        context = info.context
        access = await access_to(context, self.type_name, self.field, source)
        if access is Access.DENIED:
            return self.withheld(info)
        value = next_(source, info, **kwargs)
        if inspect.isawaitable(value):
            value = await value
        return self._shown(info, source, access, value)


def guard(type_name: str, field: str) -> list[FieldExtension]:
    return [Guard(type_name, field)]
