"""Row-backed GraphQL types, each declared once, each field saying what it reads.

The object a resolver returns for such a type is the SQLModel row itself; the strawberry
class only declares the GraphQL shape. `row_type` makes the class a strawberry type that
accepts rows of its model, registers it (global ids, `node`, the schema's types), attaches
the field policy's guard to every field of a type that holds personal data, and records in
each field's metadata the column, expression or relation behind it: the SQL compiler reads
these declarations, and the resolvers below are generated from the same ones.
"""

from __future__ import annotations

import copy
import enum
import inspect
import types
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
import strawberry
from sqlmodel import SQLModel
from strawberry.extensions import FieldExtension
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from resolvers.loaders import Children
from resolvers.pagination import Filter, Listing, PageArgs
from schema.context import Info
from schema.policy import guard
from schema.relay import Connection, connection, to_global_id

T = TypeVar("T")

#: The metadata key naming a field's source.
SOURCE = "source"
#: The metadata key naming the field-policy type that guards one field of an unguarded type.
POLICY = "policy"


@dataclass(frozen=True)
class ColumnSource:
    """A column of the row, read as it is."""

    column: Any


@dataclass(frozen=True)
class ComputedSource:
    """A value derived from the row: `python(row)`, and `sql(table)` where SQL can say it."""

    python: Callable[[Any], Any]
    sql: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class ReferenceSource:
    """The row another table's id in `column` points at (a many-to-one)."""

    column: Any
    target: type[Any]


@dataclass(frozen=True)
class ChildrenSource:
    """Every row of a small child list (a one-to-many without pages), or its first one,
    narrowed by `filter`, or by what `plan(actor, **arguments)` makes of the field's
    arguments (the resolver and the SQL compiler both call it)."""

    children: Children[Any]
    single: bool = False
    filter: Filter | None = None
    plan: Callable[..., Filter] | None = None
    #: the attribute of the row whose value the children's column holds
    key: str = "id"


@dataclass(frozen=True)
class ThroughSource:
    """The row that `column` of the first row of `children` (narrowed by `filter`) points at:
    the person holding a building's active head position."""

    children: Children[Any]
    filter: Filter | None
    column: Any
    target: type[Any]


@dataclass(frozen=True)
class AncestorsSource:
    """The rows of the same tree above this one, root first (`path @> row.path`)."""

    model: type[Any]


@dataclass(frozen=True)
class Paged:
    """One page of a listing, as a connection field's arguments decide it. `parent` is the
    row the listing hangs under when the field names it (`petitions(under:)`); otherwise the
    row the field is on (None for a top-level list)."""

    listing: Listing[Any]
    args: PageArgs
    filter: Filter
    parent: Hashable | None = None


@dataclass(frozen=True)
class ListingSource:
    """A connection: pages of a listing under the row; `plan(actor, **arguments)` decides
    which page (the resolver and the SQL compiler both call it)."""

    listing: Listing[Any] | None
    plan: Callable[..., Paged] | None = None


@dataclass(frozen=True)
class ById:
    """The row of `model` with this id (in scope), or none."""

    model: type[Any]
    ident: int


@dataclass(frozen=True)
class ByKey:
    """The first row of `children` whose column holds `key` (in scope), or none."""

    children: Children[Any]
    key: Hashable


@dataclass(frozen=True)
class FirstOf:
    """The first row of a page, or none."""

    paged: Paged


#: How a top-level field finds its one row.
Found = ById | ByKey | FirstOf


@dataclass(frozen=True)
class LookupSource:
    """A top-level field answering one row: `plan(actor, **arguments)` says how to find it."""

    plan: Callable[..., Found]


@dataclass(frozen=True)
class NodeSource:
    """`node(id:)` and `nodes(ids:)`: rows of any node type by global id."""

    many: bool


@dataclass(frozen=True)
class RowType:
    name: str
    model: type[Any]
    cls: type[Any]
    policy: str | None
    node: bool
    #: the column naming the person a row is about (SELF in the field policy)
    subject: Any | None


ROW_TYPES: dict[type[Any], RowType] = {}
NODE_TYPES: dict[str, RowType] = {}


class GlobalId(FieldExtension):
    """Turns the row's database id into the opaque global id of its type."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def resolve(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        return to_global_id(self.type_name, next_(source, info, **kwargs))


def model_of_table(table: sa.Table) -> type[Any]:
    for mapper in SQLModel._sa_registry.mappers:
        if mapper.local_table is table:
            found: type[Any] = mapper.class_
            return found
    raise LookupError(table.name)


def _referenced_model(column: Any) -> type[Any]:
    [foreign_key] = column.expression.foreign_keys
    return model_of_table(foreign_key.column.table)


def row_type(
    model: type[Any],
    *,
    name: str,
    description: str | None = None,
    policy: str | None = None,
    node: bool = True,
    subject: Any | None = None,
) -> Callable[[type[T]], type[T]]:
    """Declare `cls` as the GraphQL type of `model` rows (see the module docstring).

    `policy` names the field policy's type: every field is then guarded by its rule
    (a field with no rule is DENIED). A resolver-less field must name a column of the model.
    """

    def declare(cls: type[T]) -> type[T]:
        # graphql-core asks each object whether it is of this type: a row of the model is.
        setattr(cls, "is_type_of", classmethod(lambda _cls, obj, _info: isinstance(obj, model)))  # noqa: B010
        typed = strawberry.type(cls, name=name, description=description)
        definition = get_object_definition(typed, strict=True)
        fields: list[StrawberryField] = []
        for original in definition.fields:
            # Fields inherited from an interface are shared objects: give each type its own.
            f = copy.copy(original)
            f.extensions = list(original.extensions)
            metadata: dict[Any, Any] = dict(original.metadata or {})
            if f.base_resolver is None and SOURCE not in metadata:
                column = getattr(model, f.python_name, None)
                if column is None or not hasattr(column, "expression"):
                    raise TypeError(f"{name}.{f.python_name}: no such column of {model.__name__}")
                metadata[SOURCE] = ColumnSource(column)
            f.metadata = types.MappingProxyType(metadata)
            if node and f.python_name == "id":
                f.extensions.append(GlobalId(name))
            guarded_by = policy or metadata.get(POLICY)
            if guarded_by is not None:
                graphql_name = f.graphql_name or to_camel_case(f.python_name)
                f.extensions.extend(guard(guarded_by, graphql_name))
            fields.append(f)
        definition.fields = fields
        found = RowType(name, model, typed, policy, node, subject)
        ROW_TYPES[model] = found
        if node:
            NODE_TYPES[name] = found
        return typed

    return declare


def expose(enum_cls: type[enum.Enum], *, name: str, description: str | None = None) -> None:
    """Make a domain's enum a GraphQL enum, from the schema module of its domain. A field of
    another domain may have met it first (strawberry then names it after the class): the
    owner's name and description win either way, so each enum is declared in one place."""
    found = getattr(enum_cls, "__strawberry_definition__", None)
    if found is None:
        strawberry.enum(enum_cls, name=name, description=description)
        return
    found.name = name
    found.description = description


def column(*, description: str | None = None, deprecation_reason: str | None = None) -> Any:
    """A column read as it is (the field's python name is the column's name)."""
    return strawberry.field(description=description, deprecation_reason=deprecation_reason)


def computed(
    python: Callable[[Any], Any],
    *,
    sql: Callable[[Any], Any] | None = None,
    description: str | None = None,
) -> Any:
    def resolve(root: Any) -> Any:
        return python(root)

    return strawberry.field(
        resolver=resolve, description=description, metadata={SOURCE: ComputedSource(python, sql)}
    )


def reference(
    column_: Any,
    *,
    description: str | None = None,
    via: Children[Any] | None = None,
    policy: str | None = None,
) -> Any:
    """The row that `column_` of this row points at; null when absent or out of scope.

    With `via`, the one row of a child list whose foreign key holds `column_`'s value (the
    building Party group of a building, the central-household record of a household).
    """
    key = column_.key
    if via is not None:
        spec = via

        async def first_child(root: Any, info: Info) -> Any:
            found = await info.context.loaders.children(spec, getattr(root, key))
            return found[0] if found else None

        return strawberry.field(
            resolver=first_child,
            description=description,
            metadata={SOURCE: ChildrenSource(spec, single=True, key=key)},
        )
    target = _referenced_model(column_)

    async def resolve(root: Any, info: Info) -> Any:
        return await info.context.loaders.get(target, getattr(root, key))

    metadata: dict[str, Any] = {SOURCE: ReferenceSource(column_, target)}
    if policy is not None:
        metadata[POLICY] = policy
    return strawberry.field(resolver=resolve, description=description, metadata=metadata)


def many(spec: Children[Any], *, description: str | None = None) -> Any:
    """Every row of `spec` whose foreign key holds this row's id, in the spec's order."""

    async def resolve(root: Any, info: Info) -> Any:
        return await info.context.loaders.children(spec, root.id)

    return strawberry.field(
        resolver=resolve, description=description, metadata={SOURCE: ChildrenSource(spec)}
    )


def listing(spec: Listing[Any]) -> Mapping[str, Any]:
    """Metadata for a connection field whose resolver pages `spec` under the row (the SQL
    compiler leaves such a field to its resolver: see `paged` for one it can compile)."""
    return {SOURCE: ListingSource(spec)}


def shown(value: object) -> Any:
    """Rows returned where their GraphQL type is declared: the row is the object."""
    return value


def _generated(
    plan: Callable[..., Any],
    resolve: Callable[..., Any],
    returns: str,
    *,
    root: bool = True,
) -> Callable[..., Any]:
    """Give `resolve` the GraphQL arguments of `plan` (its parameters after the actor), in
    the namespace of `plan`'s module, where the return annotation `returns` is resolved."""
    parameters = list(inspect.signature(plan).parameters.values())[1:]
    reserved = [inspect.Parameter("info", inspect.Parameter.KEYWORD_ONLY, annotation=Info)]
    if root:
        reserved.insert(0, inspect.Parameter("root", inspect.Parameter.KEYWORD_ONLY))
    keyword = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters]
    resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*reserved, *keyword], return_annotation=returns
    )
    resolve.__module__ = plan.__module__
    resolve.__name__ = plan.__name__.lstrip("_")
    return resolve


async def load_page(info: Info, decided: Paged, row_id: Hashable | None) -> Connection[Any]:
    listing_ = decided.listing
    parent = None
    if listing_.parent is not None:
        parent = decided.parent if decided.parent is not None else row_id
    loaders = info.context.loaders
    return connection(await loaders.page(listing_, parent, decided.args, decided.filter))


def paged(
    plan: Callable[..., Paged],
    node: str,
    *,
    listing: Listing[Any] | None = None,
    description: str | None = None,
) -> Any:
    """A connection field of `node` rows. `plan(actor, **arguments)` turns the field's
    arguments (its own parameters after the actor) into the page to read; the generated
    resolver and the SQL compiler both call it. `listing` names the listing when the plan
    always pages the same one (the limits read it)."""

    async def resolve(*, root: Any = None, info: Info, **arguments: Any) -> Any:
        decided = plan(info.context.actor, **arguments)
        return await load_page(info, decided, getattr(root, "id", None))

    return strawberry.field(
        resolver=_generated(plan, resolve, f"Connection[{node}]"),
        description=description,
        metadata={SOURCE: ListingSource(listing, plan)},
    )


async def find(info: Info, found: Found) -> Any:
    """The row `found` names, through the request's loaders (in scope, or None)."""
    loaders = info.context.loaders
    if isinstance(found, ById):
        return await loaders.get(found.model, found.ident)
    if isinstance(found, ByKey):
        rows = await loaders.children(found.children, found.key)
        return rows[0] if rows else None
    page = await loaders.page(
        found.paged.listing, found.paged.parent, found.paged.args, found.paged.filter
    )
    return page.rows[0] if page.rows else None


def lookup(plan: Callable[..., Found], node: str, *, description: str | None = None) -> Any:
    """A top-level field answering one `node` row (or null): `plan(actor, **arguments)`
    says how to find it; the generated resolver and the SQL compiler both call it."""

    async def resolve(*, info: Info, **arguments: Any) -> Any:
        return await find(info, plan(info.context.actor, **arguments))

    return strawberry.field(
        resolver=_generated(plan, resolve, f"{node} | None", root=False),
        description=description,
        metadata={SOURCE: LookupSource(plan)},
    )


def first_child(
    spec: Children[Any],
    *,
    filter: Filter | None = None,
    description: str | None = None,
    graphql_type: Any = None,
) -> Any:
    """The first row of `spec` under this row (narrowed by `filter`), or null."""

    async def resolve(root: Any, info: Info) -> Any:
        found = await info.context.loaders.children(spec, root.id, filter)
        return found[0] if found else None

    return strawberry.field(
        resolver=resolve,
        description=description,
        graphql_type=graphql_type,
        metadata={SOURCE: ChildrenSource(spec, single=True, filter=filter)},
    )


def through(
    spec: Children[Any],
    column_: Any,
    *,
    filter: Filter | None = None,
    description: str | None = None,
    graphql_type: Any = None,
) -> Any:
    """The row that `column_` of the first row of `spec` under this row points at, or null."""
    target = _referenced_model(column_)
    key = column_.key

    async def resolve(root: Any, info: Info) -> Any:
        loaders = info.context.loaders
        found = await loaders.children(spec, root.id, filter)
        return await loaders.get(target, getattr(found[0], key)) if found else None

    return strawberry.field(
        resolver=resolve,
        description=description,
        graphql_type=graphql_type,
        metadata={SOURCE: ThroughSource(spec, filter, column_, target)},
    )


def many_by(
    spec: Children[Any],
    plan: Callable[..., Filter],
    node: str,
    *,
    description: str | None = None,
) -> Any:
    """Every row of `spec` under this row, narrowed by what `plan(actor, **arguments)` makes
    of the field's arguments (the resolver and the SQL compiler both call it)."""

    async def resolve(*, root: Any, info: Info, **arguments: Any) -> Any:
        f = plan(info.context.actor, **arguments)
        return await info.context.loaders.children(spec, root.id, f)

    return strawberry.field(
        resolver=_generated(plan, resolve, f"list[{node}]"),
        description=description,
        metadata={SOURCE: ChildrenSource(spec, plan=plan)},
    )


def above(model: type[Any]) -> Mapping[str, Any]:
    """Metadata for a field listing the rows of `model`'s tree above the row, root first."""
    return {SOURCE: AncestorsSource(model)}
