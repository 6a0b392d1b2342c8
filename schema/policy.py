"""Binds schema fields to the field policy in `permissions.policy`.

A field of a type holding personal data declares `extensions=[guard("Person", "phone")]`;
the guard asks the policy, masks or withholds the value, and records full reads of
personal data for the audit log. The relation of the actor to a row is worked out
once per row and request.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol

from strawberry.extensions import FieldExtension
from strawberry.types import Info as StrawberryInfo

from models.people import Position
from permissions.actor import narrowed
from permissions.policy import Access, rule
from permissions.roles import Relation
from resolvers.people import PositionFilter, positions_of
from schema.context import Context

#: Relations meaning the row is the reader's own person or household.
OWN = frozenset({Relation.SELF, Relation.HOUSEHOLD})


class GuardedRow(Protocol):
    db_id: int

    @property
    def row_path(self) -> str | None: ...


def _settle(
    context: Context, type_name: str, source: GuardedRow, found: set[Relation]
) -> set[Relation]:
    if type_name == "Person":
        if context.actor.person_id == source.db_id:
            found.add(Relation.SELF)
        if source.db_id in context.actor.contact_ids:
            found.add(Relation.CONTACT)
    found = narrowed(found)
    if not found:
        found = {Relation.OTHER}  # visible, yet nothing closer: public fields only
    context.relations[(type_name, source.db_id)] = found
    return found


def known_relations(context: Context, type_name: str, source: GuardedRow) -> set[Relation] | None:
    """The relations when they follow from the row's path alone (no I/O), else None."""
    found = context.relations.get((type_name, source.db_id))
    if found is not None:
        return found
    path = source.row_path
    if path is None:
        return None
    return _settle(context, type_name, source, context.actor.relations_to(path))


async def relations_to(context: Context, type_name: str, source: GuardedRow) -> set[Relation]:
    found = known_relations(context, type_name, source)
    if found is not None:
        return found
    if type_name != "Person":  # a row placed nowhere: nothing closer than being in scope
        return _settle(context, type_name, source, set())
    # People without a home here (seconded cadres ...) are judged by where they serve.
    # Staff are not residents there: those caring for residents see them as fellow staff.
    held = await positions_of(context.loaders, Position.person_id, source.db_id, PositionFilter())
    serving = set().union(*(context.actor.relations_to(p.path) for p in held))
    serving -= {Relation.HOUSEHOLD}
    if context.actor.city_admin:
        serving.add(Relation.ADMIN)
    if serving & {Relation.BUILDING_STAFF, Relation.GRID}:
        serving = (serving - {Relation.BUILDING_STAFF, Relation.GRID}) | {Relation.SERVICE}
    return _settle(context, type_name, source, serving)


def _access(context: Context, type_name: str, field: str, relations: set[Relation]) -> Access:
    if context.actor.unrestricted:
        return Access.FULL
    found = rule(type_name, field)
    return found.access(relations) if found else Access.DENIED


async def access_to(context: Context, type_name: str, field: str, source: GuardedRow) -> Access:
    return _access(context, type_name, field, await relations_to(context, type_name, source))


class Guard(FieldExtension):
    """Applies the policy rule of (`type_name`, `field`) to one schema field.

    Plain fields stay synchronous (graphql-core's per-await cost dominates big pages);
    only a row whose relation needs a lookup takes the asynchronous path.
    """

    def __init__(self, type_name: str, field: str, *, withheld: Any = None) -> None:
        self.type_name = type_name
        self.field = field
        self.withheld = withheld  # what DENIED reads as: null, or [] for lists
        self.rule = rule(type_name, field)

    def _shown(self, context: Context, source: Any, access: Access, value: Any) -> Any:
        if access is Access.MASKED:
            mask = self.rule.mask if self.rule else None
            return mask(value) if mask and value is not None else self.withheld
        if self.rule and self.rule.personal and value is not None:
            own = bool(context.relations.get((self.type_name, source.db_id), set()) & OWN)
            context.audit.read(self.type_name, source.db_id, self.field, own=own)
        return value

    def resolve(
        self, next_: Any, source: Any, info: StrawberryInfo[Context, Any], **kwargs: Any
    ) -> Any:
        context = info.context
        relations = known_relations(context, self.type_name, source)
        if relations is None:
            return self.resolve_async(next_, source, info, **kwargs)
        access = _access(context, self.type_name, self.field, relations)
        if access is Access.DENIED:
            return self.withheld
        return self._shown(context, source, access, next_(source, info, **kwargs))

    async def resolve_async(
        self, next_: Any, source: Any, info: StrawberryInfo[Context, Any], **kwargs: Any
    ) -> Any:
        context = info.context
        access = await access_to(context, self.type_name, self.field, source)
        if access is Access.DENIED:
            return self.withheld
        value = next_(source, info, **kwargs)
        if inspect.isawaitable(value):
            value = await value
        return self._shown(context, source, access, value)


def guard(type_name: str, field: str, *, withheld: Any = None) -> list[FieldExtension]:
    return [Guard(type_name, field, withheld=withheld)]
