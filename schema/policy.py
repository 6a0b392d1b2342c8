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
from permissions.policy import Access, rule
from permissions.roles import Relation
from resolvers.people import PositionFilter, positions_of
from schema.context import Context


class GuardedRow(Protocol):
    db_id: int

    @property
    def row_path(self) -> str | None: ...


async def relations_to(context: Context, type_name: str, source: GuardedRow) -> set[Relation]:
    key = (type_name, source.db_id)
    found = context.relations.get(key)
    if found is not None:
        return found
    actor = context.actor
    path = source.row_path
    if path is not None:
        found = actor.relations_to(path)
    else:  # people without a home here (seconded cadres ...): judged by where they serve
        held = await positions_of(
            context.loaders, Position.person_id, source.db_id, PositionFilter()
        )
        found = set().union(*(actor.relations_to(p.path) for p in held))
        found.discard(Relation.HOUSEHOLD)
    if type_name == "Person" and actor.person_id == source.db_id:
        found.add(Relation.SELF)
    if not found:
        found = {Relation.CONTACT}  # visible, yet not under any grant: a contact of one's place
    context.relations[key] = found
    return found


async def access_to(context: Context, type_name: str, field: str, source: GuardedRow) -> Access:
    if context.actor.unrestricted:
        return Access.FULL
    found = rule(type_name, field)
    if found is None:
        return Access.DENIED
    return found.access(await relations_to(context, type_name, source))


class Guard(FieldExtension):
    """Applies the policy rule of (`type_name`, `field`) to one schema field."""

    def __init__(self, type_name: str, field: str, *, withheld: Any = None) -> None:
        self.type_name = type_name
        self.field = field
        self.withheld = withheld  # what DENIED reads as: null, or [] for lists

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
        field_rule = rule(self.type_name, self.field)
        if access is Access.MASKED:
            mask = field_rule.mask if field_rule else None
            return mask(value) if mask and value is not None else self.withheld
        if field_rule and field_rule.personal and value is not None:
            context.audit.read(self.type_name, source.db_id, self.field)
        return value


def guard(type_name: str, field: str, *, withheld: Any = None) -> list[FieldExtension]:
    return [Guard(type_name, field, withheld=withheld)]
