"""Compiles a validated query into one SQL statement that builds the response in PostgreSQL.

The row types declare, field by field, the column, expression or relation behind each field
(`schema.declare`); connection, lookup and child fields declare the one plan function that
turns their arguments into what to read, which their resolvers call too. A query whose every
field is so declared becomes one statement: `json_build_object` per object, `json_agg` over a
LATERAL subquery per nested list, keyset pages with the cursors of `resolvers.pagination`,
the actor's row scope (`permissions.scope.visible`) as predicates on every table, and each
guarded field as a CASE over the actor's relation to the row (`permissions.compiled`). Full
reads of personal data come back as row ids per field and are inserted into the audit log by
the same statement. Anything else raises `Unsupported` and the query runs through the
resolvers instead: the two paths answer alike (the test suite runs both and compares).

Per request, `bind` walks the document once: it evaluates arguments and directives, calls
the plans and collects the statement's parameters and the structure they imply; the SQL is
built once per structure (document, operation, actor's grant shape, argument shapes) and
cached, with the actor's paths, ids, cursors and filter values as parameters.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)
from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql import operators, visitors
from strawberry.types.arguments import convert_arguments

from permissions.actor import Actor
from permissions.compiled import (
    BIT,
    RuleBits,
    grant_paths,
    possible,
    rule_bits,
    serving,
    settle,
)
from permissions.policy import SUBJECTS, TASKED_BY, rule
from permissions.roles import Relation
from permissions.scope import visible
from resolvers.pagination import Listing, Ordering, PageArgs, _after, decode_cursor
from schema.declare import (
    POLICY,
    ROW_TYPES,
    SOURCE,
    AncestorsSource,
    ById,
    ByKey,
    ChildrenSource,
    ColumnSource,
    ComputedSource,
    FirstOf,
    ListingSource,
    LookupSource,
    NodeSource,
    Paged,
    ReferenceSource,
    RowType,
    ThroughSource,
)

R = Relation
DIALECT = asyncpg_dialect(paramstyle="named")  # type: ignore[no-untyped-call]
BACKREF = "strawberry-definition"
#: Audit slots per statement: a row id is returned as id * SLOTS + slot.
SLOTS = 64
#: Table aliases per statement at most (planning time grows with them).
MAX_ALIASES = 400
_PARAM = re.compile(r"(?<![:\w]):(p\d+)\b")


class Unsupported(Exception):  # noqa: N818  (a reason, not a failure)
    """The query has something the compiler does not compile: the resolvers answer it."""


class Refused(Unsupported):
    """A plan refused the arguments (a bad id or cursor, a forbidden filter): the resolvers
    answer, with the same error."""


def planned(plan: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`plan(*args, **kwargs)`; whatever it raises is the resolvers' to report."""
    try:
        return plan(*args, **kwargs)
    except Exception as exc:
        raise Refused(f"{type(exc).__name__} from {getattr(plan, '__name__', 'a plan')}") from exc


# --- the request's view of the document ---------------------------------------------------


@dataclass(frozen=True)
class Conds:
    """SQLAlchemy conditions of one table, their bind parameters named for the statement."""

    model: type[Any]
    conditions: tuple[Any, ...]
    names: dict[str, str]  # bind key -> statement parameter


@dataclass
class Obj:
    """The selection of one row type."""

    rt: RowType
    fields: list[Any]


@dataclass(frozen=True)
class Typename:
    key: str
    name: str


@dataclass(frozen=True)
class Scalar:
    key: str
    field: str  # GraphQL name (the field policy's)
    sql: Callable[[str], str]  # row alias -> SQL value
    policy: str | None
    is_list: bool


@dataclass(frozen=True)
class Nested:
    """A field whose value is an object or a list of objects read from another table."""

    key: str
    field: str
    source: Any
    obj: Obj
    policy: str | None
    conds: Conds | None = None  # the children's plan or filter


@dataclass
class Page:
    listing: Listing[Any]
    args: PageArgs
    ordering: Ordering
    conds: Conds  # filter and cursors
    count_conds: Conds  # filter only
    parent: str | None  # parameter of the parent given by the field (petitions(under:))
    size: str
    last: str | None


@dataclass(frozen=True)
class Conn:
    key: str
    field: str
    page: Page
    # connection fields: (response key, what) with what in totalCount, nodes, edges, pageInfo
    parts: tuple[tuple[str, str, Any], ...]
    objs: tuple[Obj, ...]  # the node selections (nodes, edges' node ...), by index
    cursors: bool
    policy: str | None


@dataclass(frozen=True)
class Root:
    """A top-level field answering rows: `node`, `nodes`, a lookup."""

    key: str
    found: tuple[Any, ...]  # per row: (kind, model/spec, param) or None
    objs: tuple[Obj | None, ...]
    many: bool


def _unwrap(kind: Any) -> tuple[Any, bool]:
    """The named type, and whether a list lies on the way."""
    is_list = False
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        if isinstance(kind, GraphQLList):
            is_list = True
        kind = kind.of_type
    return kind, is_list


def _enum_passes(kind: GraphQLEnumType) -> bool:
    """Stored values read as their GraphQL names."""
    return all(str(getattr(v.value, "value", v.value)) == name for name, v in kind.values.items())


class Binder:
    """One walk of the operation for one request: arguments, plans, parameters, structure."""

    def __init__(
        self,
        schema: Any,
        document: DocumentNode,
        variables: VariableValues,
        actor: Actor,
        audit: tuple[str | None, str | None],
    ) -> None:
        self.schema = schema
        self.graphql: GraphQLSchema = schema._schema
        self.variables = variables
        self.actor = actor
        self.params: list[Any] = []
        self.key: list[Hashable] = []
        # the actor's parameters: grant paths by relation, home, person, contacts
        self.grants = {r: self.param(list(p)) for r, p in grant_paths(actor).items()}
        self.household = self.param(actor.household_path) if actor.household_path else None
        self.person = self.param(actor.person_id) if actor.person_id is not None else None
        contacts = sorted(actor.contact_ids)
        self.contacts = self.param(contacts) if contacts else None
        # who the audit log names
        request_id, operation_name = audit
        self.who = {
            "kind": self.param(actor.kind),
            "person": self.param(actor.person_id),
            "token": self.param(actor.token_id),
            "roles": self.param(list(actor.roles)),
            "request": self.param(request_id),
            "operation": self.param(operation_name),
        }
        self.key.append(
            (
                actor.kind,
                tuple(self.grants),
                self.household is not None,
                self.person is not None,
                self.contacts is not None,
                actor.city_admin,
                actor.unrestricted,
            )
        )
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.scopes: dict[type[Any], Conds] = {}
        self.audit = False
        #: what is bound so far depends on variables (the types of `node` ids, directives)
        self.dynamic = False
        self.by_type: dict[str, RowType] = {rt.name: rt for rt in ROW_TYPES.values()}

    # parameters ---------------------------------------------------------------------------
    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"p{len(self.params) - 1}"

    def conds(self, model: type[Any], conditions: Sequence[Any]) -> Conds:
        """Name the bind parameters of `conditions` and note their structure in the key."""
        return self.named(model, measured(tuple(conditions)))

    def named(self, model: type[Any], found: Measured) -> Conds:
        conditions, structure, binds = found
        names = {key: self.param(value) for key, value in binds}
        self.key.append(("conds", model.__tablename__, structure))
        return Conds(model, conditions, names)

    def scope(self, model: type[Any]) -> Conds:
        """The actor's row scope on `model` (`permissions.scope.visible`), measured once per
        actor and table: an actor's requests differ in their arguments, not in their scope."""
        found = self.scopes.get(model)
        if found is None:
            entry = (self.actor, model)
            measured_scope = _SCOPES.get(entry)
            if measured_scope is None:
                measured_scope = measured(tuple(visible(model, self.actor)))
                _SCOPES[entry] = measured_scope
                if len(_SCOPES) > 4096:
                    _SCOPES.popitem(last=False)
            found = self.scopes[model] = self.named(model, measured_scope)
        return found

    # fields -------------------------------------------------------------------------------
    def included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise Unsupported(f"@{name}")
            [argument] = directive.arguments
            value = argument.value
            if isinstance(value, VariableNode):
                self.dynamic = True
                flag = bool(self.variables.coerced.get(value.name.value))
            elif isinstance(value, BooleanValueNode):
                flag = value.value
            else:
                raise Unsupported("a directive argument")
            self.key.append(flag)
            if flag == (name == "skip"):
                return False
        return True

    def matches(self, condition: Any, kind: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        named = self.graphql.get_type(condition.name.value)
        if named is kind:
            return True
        if isinstance(named, GraphQLInterfaceType):
            return named in kind.interfaces
        if isinstance(named, GraphQLUnionType):
            return kind in named.types
        return False

    def collect(
        self,
        selections: Iterable[SelectionSetNode],
        kind: GraphQLObjectType,
        into: OrderedDict[str, list[FieldNode]] | None = None,
    ) -> OrderedDict[str, list[FieldNode]]:
        found: OrderedDict[str, list[FieldNode]] = into if into is not None else OrderedDict()
        for selection_set in selections:
            for node in selection_set.selections:
                if not self.included(node):
                    continue
                if isinstance(node, FieldNode):
                    key = node.alias.value if node.alias else node.name.value
                    found.setdefault(key, []).append(node)
                elif isinstance(node, InlineFragmentNode):
                    if self.matches(node.type_condition, kind):
                        self.collect([node.selection_set], kind, found)
                elif isinstance(node, FragmentSpreadNode):
                    fragment = self.fragments[node.name.value]
                    if self.matches(fragment.type_condition, kind):
                        self.collect([fragment.selection_set], kind, found)
        return found

    def arguments(self, gfield: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """The field's arguments as its resolver receives them (python names)."""
        raw = get_argument_values(gfield, node, self.variables)
        sfield = gfield.extensions.get(BACKREF)
        if sfield is None:
            raise Unsupported("a field strawberry did not declare")
        converter = self.schema.schema_converter
        return convert_arguments(
            raw,
            sfield.arguments,
            scalar_registry=converter.scalar_registry,
            config=self.schema.config,
        )

    def bind(self, operation: OperationDefinitionNode) -> list[Any]:
        if operation.operation is not OperationType.QUERY:
            raise Unsupported("not a query")
        query = self.graphql.query_type
        assert query is not None
        fields: list[Any] = []
        for key, nodes in self.collect([operation.selection_set], query).items():
            name = nodes[0].name.value
            self.key.append(("root", key, name))
            if name == "__typename":
                fields.append(Typename(key, query.name))
                continue
            gfield = query.fields.get(name)
            if gfield is None:
                raise Unsupported(name)
            sfield = gfield.extensions.get(BACKREF)
            source = (sfield.metadata or {}).get(SOURCE) if sfield is not None else None
            fields.append(self.root_field(key, gfield, nodes, source))
        return fields

    def root_field(
        self, key: str, gfield: GraphQLField, nodes: list[FieldNode], source: Any
    ) -> Any:
        args = self.arguments(gfield, nodes[0])
        if isinstance(source, ListingSource) and source.plan is not None:
            return self.connection(key, gfield, nodes, source, args, None)
        if isinstance(source, NodeSource):
            from schema.relay import from_global_id

            self.dynamic = True
            ids = [args["id"]] if not source.many else list(args["ids"])
            if source.many and len(ids) > 100:
                raise Unsupported("too many ids")
            if not source.many:
                type_name, ident = planned(from_global_id, ids[0])
                rt = self.by_type.get(type_name)
                self.key.append(("node", rt.name if rt and rt.node else None))
                if rt is None or not rt.node:
                    return Root(key, (None,), (None,), False)
                return Root(
                    key, (("id", rt.model, self.param(ident)),), (self.obj(rt, nodes),), False
                )
            # every id in one array: a LATERAL per type the ids name, not per id
            names: list[str | None] = []
            idents: list[int] = []
            kinds: dict[str, RowType] = {}
            for global_id in ids:
                type_name, ident = planned(from_global_id, global_id)
                rt = self.by_type.get(type_name)
                known = rt is not None and rt.node
                names.append(type_name if known else None)
                idents.append(ident)
                if rt is not None and known:
                    kinds[rt.name] = rt
            found = ("ids", self.param(names), self.param(idents))
            self.key.append(("nodes", tuple(sorted(kinds))))
            objs = tuple(self.obj(kinds[name], nodes) for name in sorted(kinds))
            return Root(key, (found,), objs, True)
        if isinstance(source, LookupSource):
            decided = planned(source.plan, self.actor, **args)
            named, _ = _unwrap(gfield.type)
            rt = self.row_type(named)
            if isinstance(decided, ById):
                entry: Any = ("id", decided.model, self.param(decided.ident))
            elif isinstance(decided, ByKey):
                spec = decided.children
                entry = ("key", spec, self.param(decided.key), self.conds(spec.model, spec.where))
            elif isinstance(decided, FirstOf):
                entry = ("first", self.page(decided.paged))
            else:
                raise Unsupported("a lookup")
            self.key.append(("lookup", entry[0]))
            return Root(key, (entry,), (self.obj(rt, nodes),), False)
        raise Unsupported(f"Query.{gfield.ast_node.name.value if gfield.ast_node else key}")

    def row_type(self, named: GraphQLNamedType) -> RowType:
        rt = self.by_type.get(named.name) if isinstance(named, GraphQLObjectType) else None
        if rt is None:
            raise Unsupported(f"{named.name} is not a row type")
        return rt

    def obj(self, rt: RowType, nodes: list[FieldNode]) -> Obj:
        kind = self.graphql.get_type(rt.name)
        assert isinstance(kind, GraphQLObjectType)
        # every parameter is named here, never while the SQL is written (which happens once
        # per structure): the row scope of the table, and of the positions that tell how
        # the actor stands to a person without a home here
        self.scope(rt.model)
        if rt.name == "Person":
            from models.people import Position

            self.scope(Position)
        selections = [n.selection_set for n in nodes if n.selection_set is not None]
        fields: list[Any] = []
        for key, group in self.collect(selections, kind).items():
            fields.append(self.field(rt, kind, key, group))
        return Obj(rt, fields)

    def field(self, rt: RowType, kind: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> Any:
        name = nodes[0].name.value
        if name == "__typename":
            return Typename(key, kind.name)
        gfield = kind.fields[name]
        sfield = gfield.extensions.get(BACKREF)
        metadata = (sfield.metadata if sfield is not None else None) or {}
        source = metadata.get(SOURCE)
        policy = rt.policy or metadata.get(POLICY)
        named, is_list = _unwrap(gfield.type)
        if rt.node and name == "id":
            type_name = rt.name
            return Scalar(
                key, name, lambda a: f"gql_global_id('{type_name}', {a}.\"id\")", policy, False
            )
        if isinstance(source, ColumnSource):
            column_name = source.column.expression.name
            return Scalar(
                key, name, _formatter(named, lambda a: f'{a}."{column_name}"'), policy, is_list
            )
        if isinstance(source, ComputedSource):
            if source.sql is None:
                raise Unsupported(f"{rt.name}.{name} is computed in Python only")
            expression = source.sql
            model = rt.model
            return Scalar(
                key,
                name,
                _formatter(named, lambda a: _expression(expression, model, a)),
                policy,
                is_list,
            )
        if isinstance(source, ReferenceSource):
            target = ROW_TYPES[source.target]
            return Nested(key, name, source, self.obj(target, nodes), policy)
        if isinstance(source, ThroughSource):
            spec = source.children
            self.scope(spec.model)
            conds = self.conds(spec.model, (*spec.where, *_filter_conditions(source.filter)))
            return Nested(
                key, name, source, self.obj(ROW_TYPES[source.target], nodes), policy, conds
            )
        if isinstance(source, ChildrenSource):
            spec = source.children
            f = source.filter
            if source.plan is not None:
                f = planned(source.plan, self.actor, **self.arguments(gfield, nodes[0]))
            conds = self.conds(spec.model, (*spec.where, *_filter_conditions(f)))
            return Nested(key, name, source, self.obj(ROW_TYPES[spec.model], nodes), policy, conds)
        if isinstance(source, AncestorsSource):
            return Nested(key, name, source, self.obj(ROW_TYPES[source.model], nodes), policy)
        if isinstance(source, ListingSource) and source.plan is not None:
            args = self.arguments(gfield, nodes[0])
            return self.connection(key, gfield, nodes, source, args, policy)
        raise Unsupported(f"{rt.name}.{name}")

    def page(self, paged: Paged) -> Page:
        listing = paged.listing
        if listing.joins:
            raise Unsupported("a listing with joins")
        ordering = paged.filter.ordering()
        args = paged.args
        self.scope(listing.model)
        filtered = list(paged.filter.conditions())
        count_conds = self.conds(listing.model, filtered)
        cursor_conds = list(filtered)
        for cursor, before in ((args.after, False), (args.before, True)):
            if cursor is not None:
                field_name = "before" if before else "after"
                values = planned(decode_cursor, cursor, ordering, field_name)
                cursor_conds.append(_after(ordering, values, before=before))
        conds = self.conds(listing.model, cursor_conds)
        parent = None
        if paged.parent is not None and listing.parent is not None:
            parent = self.param(paged.parent)
        size = args.first if args.first is not None else args.last
        assert size is not None
        shape = (
            listing.name,
            ordering.tag,
            args.first is None,
            args.last is None,
            args.after is None,
            args.before is None,
            parent is None,
        )
        self.key.append(("page", shape))
        return Page(
            listing,
            args,
            ordering,
            conds,
            count_conds,
            parent,
            self.param(size),
            self.param(args.last) if args.first is not None and args.last is not None else None,
        )

    def connection(
        self,
        key: str,
        gfield: GraphQLField,
        nodes: list[FieldNode],
        source: ListingSource,
        args: dict[str, Any],
        policy: str | None,
    ) -> Conn:
        assert source.plan is not None
        decided = planned(source.plan, self.actor, **args)
        if not isinstance(decided, Paged):
            raise Unsupported("a plan that is not a page")
        page = self.page(decided)
        kind, _ = _unwrap(gfield.type)
        assert isinstance(kind, GraphQLObjectType)
        rt = ROW_TYPES[decided.listing.model]
        parts: list[tuple[str, str, Any]] = []
        objs: list[Obj] = []
        cursors = False
        selections = [n.selection_set for n in nodes if n.selection_set is not None]
        for part_key, group in self.collect(selections, kind).items():
            name = group[0].name.value
            self.key.append(("part", part_key, name))
            if name == "__typename":
                parts.append((part_key, "typename", kind.name))
            elif name == "totalCount":
                parts.append((part_key, "totalCount", None))
            elif name == "nodes":
                objs.append(self.obj(rt, group))
                parts.append((part_key, "nodes", len(objs) - 1))
            elif name == "edges":
                edge_kind, _ = _unwrap(kind.fields["edges"].type)
                edge: list[tuple[str, str, Any]] = []
                for edge_key, edge_group in self.collect(
                    [n.selection_set for n in group if n.selection_set is not None], edge_kind
                ).items():
                    edge_name = edge_group[0].name.value
                    self.key.append(("edge", edge_key, edge_name))
                    if edge_name == "__typename":
                        edge.append((edge_key, "typename", edge_kind.name))
                    elif edge_name == "cursor":
                        cursors = True
                        edge.append((edge_key, "cursor", None))
                    else:
                        objs.append(self.obj(rt, edge_group))
                        edge.append((edge_key, "node", len(objs) - 1))
                parts.append((part_key, "edges", tuple(edge)))
            elif name == "pageInfo":
                info_kind, _ = _unwrap(kind.fields["pageInfo"].type)
                info: list[tuple[str, str]] = []
                for info_key, info_group in self.collect(
                    [n.selection_set for n in group if n.selection_set is not None], info_kind
                ).items():
                    info_name = info_group[0].name.value
                    self.key.append(("info", info_key, info_name))
                    if info_name in ("startCursor", "endCursor"):
                        cursors = True
                    info.append(
                        (info_key, info_name if info_name != "__typename" else info_kind.name)
                    )
                parts.append((part_key, "pageInfo", tuple(info)))
            else:
                raise Unsupported(f"{kind.name}.{name}")
        return Conn(
            key,
            nodes[0].name.value,  # the field, never its alias: its policy is the field's
            page,
            tuple(parts),
            tuple(objs),
            cursors,
            policy,
        )


#: SQLAlchemy conditions, the structure of their SQL, and their values by bind key.
Measured = tuple[tuple[Any, ...], Hashable, tuple[tuple[str, Any], ...]]
_SCOPES: OrderedDict[tuple[Actor, type[Any]], Measured] = OrderedDict()


def measured(conditions: tuple[Any, ...]) -> Measured:
    """The conditions with their structure (SQLAlchemy's cache key, and the lengths of IN
    lists, which the statement takes as arrays) and their values as the driver gets them."""
    if not conditions:
        return conditions, None, ()
    cache_key = sa.and_(*conditions)._generate_cache_key()
    if cache_key is None:
        raise Unsupported("conditions without a cache key")
    binds: dict[str, Any] = {}
    for bind in cache_key.bindparams:
        if bind.key in binds:
            continue
        value = bind.effective_value
        if bind.expanding:
            value = list(value or ())
        binds[bind.key] = _bound(bind, value)
    return conditions, cache_key.key, tuple(binds.items())


def _filter_conditions(f: Any) -> list[Any]:
    return list(f.conditions()) if f is not None else []


def _bound(bind: sa.BindParameter[Any], value: Any) -> Any:
    """The value as the driver gets it (enum members as their stored strings ...)."""
    processor = bind.type._cached_bind_processor(DIALECT)
    if bind.expanding:
        item = bind.type._cached_bind_processor(DIALECT)
        return [item(v) if item else v for v in value]
    return processor(value) if processor else value


def _formatter(named: Any, raw: Callable[[str], str]) -> Callable[[str], str]:
    """The value as the resolvers print it: datetimes as isoformat() in UTC, decimals as
    their text (`numeric` prints as `str(Decimal)` does), enums by name; a scalar without a
    known SQL twin is left to the resolvers."""
    if named.name == "DateTime":
        return lambda a: f"gql_datetime({raw(a)})"
    if named.name == "Decimal":
        return lambda a: f"CAST({raw(a)} AS text)"
    if isinstance(named, GraphQLEnumType):
        if not _enum_passes(named):
            raise Unsupported(f"{named.name}: values differ from names")
        return raw
    if isinstance(named, GraphQLScalarType) and named.name not in _PASSED_SCALARS:
        raise Unsupported(f"the scalar {named.name}")
    return raw


#: Scalars whose PostgreSQL JSON is what the resolvers print.
_PASSED_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID", "Date"})


# --- SQL fragments from SQLAlchemy expressions --------------------------------------------


def _rename(names: dict[str, str]) -> Callable[..., Any]:
    def replace(element: Any, **_: Any) -> Any:
        if (
            isinstance(element, sa.BinaryExpression)
            and element.operator in (operators.in_op, operators.not_in_op)
            and isinstance(element.right, sa.BindParameter)
            and element.right.expanding
            and element.right.key in names
        ):
            bind = element.right
            array = sa.bindparam(names[bind.key], type_=ARRAY(bind.type))
            if element.operator is operators.in_op:
                return element.left == sa.any_(array)
            return element.left != sa.all_(array)
        if isinstance(element, sa.BindParameter) and element.key in names:
            return sa.bindparam(names[element.key], type_=element.type)
        return None

    return replace


def _adapted(
    model: type[Any], alias: str, expressions: Sequence[Any], names: dict[str, str]
) -> tuple[Any, list[Any]]:
    entity = sa.orm.aliased(model, name=alias)
    adapter = sa.inspect(entity)._adapter
    replace = _rename(names)
    opts: dict[str, Any] = {}
    renamed = [
        visitors.replacement_traverse(cast("sa.ColumnElement[Any]", e), opts, replace)
        for e in expressions
    ]
    return entity, [adapter.traverse(e) for e in renamed]


def where_sql(conds: Conds, alias: str) -> str:
    """The conditions on the row `alias` of their model, as SQL text with named parameters."""
    if not conds.conditions:
        return "true"
    entity, adapted = _adapted(conds.model, alias, conds.conditions, conds.names)
    statement: sa.Select[Any] = (
        sa.select(sa.literal_column("1")).select_from(entity).where(*adapted)
    )
    text = str(statement.compile(dialect=DIALECT))
    return "(" + text.split("\nWHERE ", 1)[1] + ")"


def _expression(expression: Callable[[Any], Any], model: type[Any], alias: str) -> str:
    entity = sa.orm.aliased(model, name=alias)
    statement = sa.select(expression(entity).label("v")).select_from(entity)
    compiled = statement.compile(
        dialect=DIALECT, compile_kwargs={"literal_binds": True, "render_postcompile": True}
    )
    text = str(compiled)
    return "(" + text.split("SELECT ", 1)[1].rsplit(" AS v \nFROM ", 1)[0] + ")"


def order_sql(ordering: Ordering, alias: str, *, reverse: bool = False) -> str:
    parts = []
    for s in ordering.sorts:
        column = f'{alias}."{_column_name(s.column)}"'
        descending = s.descending != reverse
        text = column + (" DESC" if descending else " ASC")
        if s.nullable:
            text += " NULLS FIRST" if reverse else " NULLS LAST"
        parts.append(text)
    return ", ".join(parts)


def _column_name(column: Any) -> str:
    expression = getattr(column, "expression", column)
    if not isinstance(expression, sa.Column):
        raise Unsupported("a sort key that is not a column")
    return str(expression.name)


def cursor_sql(ordering: Ordering, alias: str) -> str:
    """`encode_cursor(ordering, values)` of the row, in SQL."""
    values = []
    for s in ordering.sorts:
        column = f'{alias}."{_column_name(s.column)}"'
        kind = s.column.expression.type
        if isinstance(kind, sa.Boolean):
            text = f"""'["b",' || CASE WHEN {column} THEN 'true' ELSE 'false' END || ']'"""
        elif isinstance(kind, sa.Integer):
            text = f"""'["i",' || {column}::text || ']'"""
        elif isinstance(kind, sa.DateTime):
            text = f"""'["t","' || gql_datetime({column}) || '"]'"""
        elif isinstance(kind, sa.Date):
            text = f"""'["d","' || to_char({column}, 'YYYY-MM-DD') || '"]'"""
        else:
            text = f"""'["s",' || to_json({column}::text)::text || ']'"""
        if s.nullable:
            text = f"""CASE WHEN {column} IS NULL THEN '["n"]' ELSE {text} END"""
        values.append(text)
    payload = " || ',' || ".join(values)
    return f"""gql_cursor('["{ordering.tag}",' || {payload} || ']')"""


# --- the statement -------------------------------------------------------------------------


@dataclass
class Parts:
    """What an object contributes to its row's SELECT."""

    pairs: list[str] = field(default_factory=list)  # 'key', value ...
    ids: list[str] = field(default_factory=list)  # int8[] expressions
    joins: list[str] = field(default_factory=list)


class Emitter:
    """Builds the SQL of a bound operation (once per structure; see `compile`)."""

    def __init__(self, binder: Binder) -> None:
        self.binder = binder
        self.actor = binder.actor
        self.n = 0
        self.slots: list[tuple[str, str]] = []
        self.possible = possible(self.actor)
        self.grants = binder.grants
        self.household = binder.household
        self.person = binder.person
        self.contacts = binder.contacts

    def alias(self) -> str:
        self.n += 1
        if self.n > MAX_ALIASES:
            raise Unsupported("a statement this large plans slower than the resolvers run")
        return f"t{self.n}"

    def slot(self, type_name: str, field_name: str) -> int:
        entry = (type_name, field_name)
        if entry not in self.slots:
            self.slots.append(entry)
        if len(self.slots) > SLOTS:
            raise Unsupported("too many audited fields")
        return self.slots.index(entry)

    # the actor's relation to a row ----------------------------------------------------------
    def coverage(self, path: str) -> str:
        parts = [
            f"CASE WHEN {path} <@ CAST(:{name}::text[] AS ltree[]) THEN {BIT[relation]} ELSE 0 END"
            for relation, name in self.grants.items()
        ]
        return " | ".join(parts) if parts else "0"

    def relation(self, model: type[Any], alias: str, type_name: str) -> str:
        """The SQL of the settled relation mask of the actor to the row `alias`."""
        has_path = "path" in model.__table__.c
        path = f'{alias}."path"' if has_path else "NULL::ltree"
        own = self.coverage(path)
        if self.household is not None:
            home = f"CAST(:{self.household}::text AS ltree)"
            own += f" | CASE WHEN {path} = {home} THEN {BIT[R.HOUSEHOLD]} ELSE 0 END"
        if type_name == "Person":
            from models.people import Position
            from resolvers.people import ACTIVE_POSITIONS_OF_PERSON

            sp = self.alias()
            spec = ACTIVE_POSITIONS_OF_PERSON
            where = " AND ".join(
                [
                    where_sql(self.binder_conds(Position, spec.where), sp),
                    where_sql(self.binder.scope(Position), sp),
                ]
            )
            admin = BIT[R.ADMIN] if self.actor.city_admin else 0
            covered = self.coverage(f'{sp}."path"')
            held = (
                f"(SELECT coalesce(bit_or({covered}), 0) | {admin}"
                f' FROM position AS {sp} WHERE {sp}.person_id = {alias}."id" AND {where})'
            )
            # OFFSET 0 keeps each derived value computed once: without it the planner
            # inlines the expression at every reference (seventy copies per person row)
            staff = f"(SELECT {serving('s.h')} FROM (SELECT {held} AS h OFFSET 0) AS s)"
            base = f"CASE WHEN {path} IS NOT NULL THEN {own} ELSE {staff} END"
        else:
            base = f"CASE WHEN {path} IS NOT NULL THEN {own} ELSE 0 END"
        extra = []
        subject = SUBJECTS.get(type_name)
        if subject is not None and self.person is not None:
            extra.append(
                f'CASE WHEN {alias}."{subject}" = :{self.person}::bigint'
                f" THEN {BIT[R.SELF]} ELSE 0 END"
            )
        if self.person is not None:
            for column_name in TASKED_BY.get(type_name, ()):
                named = f'{alias}."{column_name}"'
                if isinstance(model.__table__.c[column_name].type, sa.ARRAY):
                    names = f"{named} @> ARRAY[:{self.person}::bigint]"
                else:
                    names = f"{named} = :{self.person}::bigint"
                extra.append(f"CASE WHEN {names} THEN {BIT[R.TASKED]} ELSE 0 END")
        if type_name == "Person" and self.contacts is not None:
            extra.append(
                f'CASE WHEN {alias}."id" = ANY(:{self.contacts}::bigint[])'
                f" THEN {BIT[R.CONTACT]} ELSE 0 END"
            )
        raw = " | ".join([f"({base})", *extra])
        return f"(SELECT {settle('r.raw')} FROM (SELECT {raw} AS raw OFFSET 0) AS r)"

    def binder_conds(self, model: type[Any], conditions: Sequence[Any]) -> Conds:
        """Conditions fixed by the code (no request values): no parameters of their own."""
        conditions = tuple(conditions)
        names: dict[str, str] = {}
        if conditions:
            cache_key = sa.and_(*conditions)._generate_cache_key()
            if cache_key is not None and cache_key.bindparams:
                raise Unsupported("fixed conditions with parameters")
        return Conds(model, conditions, names)

    # objects --------------------------------------------------------------------------------
    def object(self, obj: Obj, alias: str) -> Parts:
        parts = Parts()
        masks: dict[str, str] = {}

        def mask_of(type_name: str) -> str:
            found = masks.get(type_name)
            if found is None:
                r = self.alias()
                parts.joins.append(
                    f" CROSS JOIN LATERAL (SELECT {self.relation(obj.rt.model, alias, type_name)}"
                    f" AS m OFFSET 0) AS {r}"
                )
                found = masks[type_name] = f"{r}.m"
            return found

        for f in obj.fields:
            if isinstance(f, Typename):
                parts.pairs += [_literal(f.key), _literal(f.name)]
                continue
            access = self.access(f.policy, f.field, alias, mask_of) if f.policy else None
            if isinstance(f, Scalar):
                parts.pairs += [_literal(f.key), self.scalar(f, alias, access)]
                if access is not None and access[2] is not None:
                    parts.ids.append(access[2](f.sql(alias)))
                continue
            allowed = "true"
            if access is not None:
                allowed = access[0]
            if isinstance(f, Nested):
                value, ids, join = self.nested(f, alias, allowed)
            else:
                value, ids, join = self.connection(f, alias, allowed)
            parts.joins.append(join)
            empty = "'[]'::json" if _is_list(f) else "NULL"
            parts.pairs += [
                _literal(f.key),
                value
                if allowed == "true"
                else f"CASE WHEN {allowed} THEN {value} ELSE {empty} END",
            ]
            if ids is not None:
                parts.ids.append(ids)
                if access is not None and access[2] is not None:
                    parts.ids.append(access[2](value))
            elif access is not None and access[2] is not None:
                parts.ids.append(access[2](value))
        return parts

    def access(
        self, policy: str, field_name: str, alias: str, mask_of: Callable[[str], str]
    ) -> tuple[str, str, Callable[[str], str] | None, RuleBits | None] | None:
        """(FULL condition, MASKED condition, audit expression of a value, bits) of a guarded
        field; None when it is FULL on every row the actor can see."""
        found = rule(policy, field_name)
        if self.actor.unrestricted:
            return None
        try:
            rb = rule_bits(found)
        except LookupError:
            raise Unsupported(f"{policy}.{field_name}: a mask without SQL") from None
        if rb is None:
            return ("false", "false", None, None)
        if rb.concealed_by is None and not rb.personal and (self.possible & ~rb.full) == 0:
            return None
        if rb.concealed_by is None and not (self.possible & (rb.full | rb.masked)):
            return ("false", "false", None, rb)
        mask = mask_of(policy)
        flag = f'{alias}."{rb.concealed_by}"' if rb.concealed_by else None
        full, masked = rb.access_sql(mask, flag)
        audit = None
        if rb.personal:
            slot = self.slot(policy, field_name)

            def audit(value: str) -> str:
                return (
                    f"CASE WHEN {full} AND ({value}) IS NOT NULL"
                    f' THEN ARRAY[{alias}."id" * {SLOTS} + {slot}] ELSE NULL END'
                )

        return (full, masked, audit, rb)

    def scalar(self, f: Scalar, alias: str, access: Any) -> str:
        value = f.sql(alias)
        if access is None:
            return value
        full, masked, _, rb = access
        empty = "'[]'::json" if f.is_list else "NULL"
        if rb is None or (full == "false" and masked == "false"):
            return empty
        masked_value = f"{rb.mask_sql}({value})" if rb.mask_sql else empty
        return f"CASE WHEN {full} THEN {value} WHEN {masked} THEN {masked_value} ELSE {empty} END"

    def row(
        self,
        objs: Sequence[Obj],
        model: type[Any],
        where: Callable[[str], list[str]],
        *,
        extra: Callable[[str], list[str]] = lambda a: [],
        tail: Callable[[str], str] = lambda a: "",
    ) -> tuple[str, bool]:
        """SELECT j0.., a, extra FROM model WHERE where(alias) tail(alias); and whether `a`
        can hold ids."""
        alias = self.alias()
        columns: list[str] = []
        ids: list[str] = []
        joins: list[str] = []
        for i, obj in enumerate(objs):
            parts = self.object(obj, alias)
            columns.append(f"json_build_object({', '.join(parts.pairs)}) AS j{i}")
            ids += parts.ids
            joins += parts.joins
        audit = bool(ids)
        columns.append(f"{_concat(ids)} AS a")
        columns += extra(alias)
        conditions = " AND ".join([*where(alias), where_sql(self.binder.scope(model), alias)])
        table = model.__tablename__
        limited = tail(alias)
        if not limited:
            sql = (
                f"SELECT {', '.join(columns)} FROM {table} AS {alias}{''.join(joins)}"
                f" WHERE {conditions}"
            )
            return sql, audit
        # the page's rows first, then their objects: nothing is built for rows beyond it
        rows = f"(SELECT * FROM {table} AS {alias} WHERE {conditions}{limited}) AS {alias}"
        return f"SELECT {', '.join(columns)} FROM {rows}{''.join(joins)}", audit

    def nested(self, f: Nested, parent: str, allowed: str) -> tuple[str, str | None, str]:
        """(value, ids, LATERAL join) of a field read from another table."""
        x = self.alias()
        source = f.source
        guard = [] if allowed == "true" else [allowed]
        if isinstance(source, ReferenceSource):
            fk = source.column.expression.name
            sql, audit = self.row(
                [f.obj], source.target, lambda a: [f'{a}."id" = {parent}."{fk}"', *guard]
            )
            return (
                f"{x}.j0",
                (f"{x}.a" if audit else None),
                f" LEFT JOIN LATERAL ({sql}) AS {x} ON true",
            )
        if isinstance(source, ThroughSource):
            spec = source.children
            c = self.alias()
            assert f.conds is not None
            first = (
                f'SELECT {c}."{source.column.expression.name}" AS ref'
                f" FROM {spec.model.__tablename__} AS {c}"
                f' WHERE {c}."{spec.column.expression.name}" = {parent}."id"'
                f" AND {where_sql(f.conds, c)} AND {where_sql(self.binder.scope(spec.model), c)}"
                f" ORDER BY {order_sql(spec.ordering, c)} LIMIT 1"
            )
            sql, audit = self.row(
                [f.obj], source.target, lambda a: [f'{a}."id" = ({first})', *guard]
            )
            return (
                f"{x}.j0",
                (f"{x}.a" if audit else None),
                f" LEFT JOIN LATERAL ({sql}) AS {x} ON true",
            )
        if isinstance(source, ChildrenSource):
            spec = source.children
            assert f.conds is not None
            column = spec.column.expression.name
            conds = f.conds

            def where(a: str) -> list[str]:
                return [f'{a}."{column}" = {parent}."{source.key}"', where_sql(conds, a), *guard]

            if source.single:
                sql, audit = self.row(
                    [f.obj],
                    spec.model,
                    where,
                    tail=lambda a: f" ORDER BY {order_sql(spec.ordering, a)} LIMIT 1",
                )
                return (
                    f"{x}.j0",
                    (f"{x}.a" if audit else None),
                    f" LEFT JOIN LATERAL ({sql}) AS {x} ON true",
                )
            sql, audit = self.row(
                [f.obj],
                spec.model,
                where,
                extra=lambda a: [
                    f"row_number() OVER (ORDER BY {order_sql(spec.ordering, a)}) AS rn"
                ],
            )
            y = self.alias()
            listed = (
                f"SELECT coalesce(json_agg({y}.j0 ORDER BY {y}.rn), '[]'::json) AS j0,"
                f" gql_ids({y}.a) AS a FROM ({sql}) AS {y}"
            )
            return (
                f"{x}.j0",
                (f"{x}.a" if audit else None),
                f" LEFT JOIN LATERAL ({listed}) AS {x} ON true",
            )
        if isinstance(source, AncestorsSource):
            model = source.model

            def above(a: str) -> list[str]:
                return [f'{a}."path" @> {parent}."path"', f'{a}."path" <> {parent}."path"', *guard]

            sql, audit = self.row(
                [f.obj], model, above, extra=lambda a: [f'nlevel({a}."path") AS lv']
            )
            y = self.alias()
            listed = (
                f"SELECT coalesce(json_agg({y}.j0 ORDER BY {y}.lv), '[]'::json) AS j0,"
                f" gql_ids({y}.a) AS a FROM ({sql}) AS {y}"
            )
            return (
                f"{x}.j0",
                (f"{x}.a" if audit else None),
                f" LEFT JOIN LATERAL ({listed}) AS {x} ON true",
            )
        raise Unsupported(type(source).__name__)

    def parent_condition(self, page: Page, parent: str | None, a: str) -> list[str]:
        listing = page.listing
        link = listing.parent
        if link is None:
            return []
        key = f":{page.parent}::bigint" if page.parent is not None else f'{parent}."id"'
        if link.column is not None:
            return [f'{a}."{link.column.expression.name}" = {key}']
        node = link.within
        if page.parent is not None:
            path = f'(SELECT pn."path" FROM {node.__tablename__} AS pn WHERE pn."id" = {key})'
        else:
            path = f'{parent}."path"'
        found = [f'{a}."path" <@ {path}']
        if link.strict:
            found.append(f'{a}."id" <> {key}')
        return found

    def connection(self, f: Conn, parent: str | None, allowed: str) -> tuple[str, str | None, str]:
        page = f.page
        model = page.listing.model
        guard = [] if allowed == "true" else [allowed]
        backwards = page.args.backwards
        cursors = f.cursors

        def where(a: str) -> list[str]:
            return [*self.parent_condition(page, parent, a), where_sql(page.conds, a), *guard]

        def extra(a: str) -> list[str]:
            found = [
                f"row_number() OVER (ORDER BY {order_sql(page.ordering, a, reverse=backwards)})"
                " AS rn"
            ]
            if cursors:
                found.append(f"{cursor_sql(page.ordering, a)} AS c")
            return found

        def tail(a: str) -> str:
            order = order_sql(page.ordering, a, reverse=backwards)
            return f" ORDER BY {order} LIMIT :{page.size}::bigint + 1"

        objs = f.objs or ()
        sql, audit = self.row(list(objs), model, where, extra=extra, tail=tail)
        y, x = self.alias(), self.alias()
        size = f":{page.size}::bigint"
        n = f"coalesce(max({y}.n), 0)"
        in_page = f"{y}.rn <= {size}"
        if page.last is not None:
            in_page += f" AND {y}.rn > least({y}.n, {size}) - :{page.last}::bigint"
        order = f"{y}.rn DESC" if backwards else f"{y}.rn"
        after = "false" if page.args.after is None else "true"
        before = "false" if page.args.before is None else "true"
        if backwards:
            has_next, has_previous = before, f"({n} > {size} OR {after})"
        else:
            has_next = f"({n} > {size} OR {before})"
            has_previous = after
            if page.last is not None:
                has_previous = f"({after} OR least({n}, {size}) > :{page.last}::bigint)"
        pairs: list[str] = []
        for key, what, detail in f.parts:
            pairs.append(_literal(key))
            if what == "typename":
                pairs.append(_literal(detail))
            elif what == "totalCount":
                c = self.alias()
                count_where = [
                    *self.parent_condition(page, parent, c),
                    where_sql(page.count_conds, c),
                    where_sql(self.binder.scope(model), c),
                ]
                pairs.append(
                    f"(SELECT count(*) FROM {model.__tablename__} AS {c}"
                    f" WHERE {' AND '.join(count_where)})"
                )
            elif what == "nodes":
                pairs.append(
                    f"coalesce(json_agg({y}.j{detail} ORDER BY {order})"
                    f" FILTER (WHERE {in_page}), '[]'::json)"
                )
            elif what == "edges":
                edge: list[str] = []
                for edge_key, edge_what, edge_detail in detail:
                    edge.append(_literal(edge_key))
                    if edge_what == "typename":
                        edge.append(_literal(edge_detail))
                    elif edge_what == "cursor":
                        edge.append(f"{y}.c")
                    else:
                        edge.append(f"{y}.j{edge_detail}")
                pairs.append(
                    f"coalesce(json_agg(json_build_object({', '.join(edge)}) ORDER BY {order})"
                    f" FILTER (WHERE {in_page}), '[]'::json)"
                )
            else:
                info: list[str] = []
                for info_key, info_name in detail:
                    info.append(_literal(info_key))
                    if info_name == "hasNextPage":
                        info.append(has_next)
                    elif info_name == "hasPreviousPage":
                        info.append(has_previous)
                    elif info_name == "startCursor":
                        info.append(
                            f"(array_agg({y}.c ORDER BY {order}) FILTER (WHERE {in_page}))[1]"
                        )
                    elif info_name == "endCursor":
                        reverse = f"{y}.rn" if backwards else f"{y}.rn DESC"
                        info.append(
                            f"(array_agg({y}.c ORDER BY {reverse}) FILTER (WHERE {in_page}))[1]"
                        )
                    else:
                        info.append(_literal(info_name))
                pairs.append(f"json_build_object({', '.join(info)})")
        ids = f"gql_ids({y}.a) FILTER (WHERE {in_page})" if audit else "NULL::bigint[]"
        outer = (
            # count(*): an aggregate, so that no rows still make one (an empty page)
            f"SELECT json_build_object({', '.join(pairs)}) AS j0, {ids} AS a, count(*) AS k"
            f" FROM (SELECT z.*, count(*) OVER () AS n FROM ({sql}) AS z) AS {y}"
        )
        return (
            f"{x}.j0",
            (f"{x}.a" if audit else None),
            f" LEFT JOIN LATERAL ({outer}) AS {x} ON true",
        )

    def root(self, f: Root) -> tuple[str, str | None, list[str]]:
        x = self.alias()
        if f.many:
            return self.nodes(f, x)
        [entry], [obj] = f.found, f.objs
        if entry is None or obj is None:
            return "NULL::json", None, []
        sql, audit = self.found(entry, obj)
        join = f" LEFT JOIN LATERAL ({sql}) AS {x} ON true"
        return f"{x}.j0", (f"{x}.a" if audit else None), [join]

    def nodes(self, f: Root, x: str) -> tuple[str, str | None, list[str]]:
        """`nodes(ids:)`: the ids in order, each row by its type's select (null if none)."""
        _, names, idents = f.found[0]
        w, v = self.alias(), self.alias()
        selects: list[str] = []
        audit = False
        for obj in f.objs:
            assert obj is not None

            def by_id(a: str) -> list[str]:
                return [f'{a}."id" = {w}.id']

            sql, audited = self.row([obj], obj.rt.model, by_id)
            audit = audit or audited
            found = self.alias()
            selects.append(
                f"SELECT {found}.j0 AS j, {found}.a AS a FROM ({sql}) AS {found}"
                f" WHERE {w}.t = {_literal(obj.rt.name)}"
            )
        rows = " UNION ALL ".join(selects) or "SELECT NULL::json AS j, NULL::bigint[] AS a"
        listed = (
            f"SELECT coalesce(json_agg({v}.j ORDER BY {w}.n), '[]'::json) AS j0,"
            f" gql_ids({v}.a) AS a FROM unnest(:{names}::text[], :{idents}::bigint[])"
            f" WITH ORDINALITY AS {w}(t, id, n) LEFT JOIN LATERAL ({rows}) AS {v} ON true"
        )
        join = f" LEFT JOIN LATERAL ({listed}) AS {x} ON true"
        return f"{x}.j0", (f"{x}.a" if audit else None), [join]

    def found(self, entry: tuple[Any, ...], obj: Obj) -> tuple[str, bool]:
        """The row select of one top-level row: by id, by a key, or a page's first."""
        kind = entry[0]
        if kind == "id":
            _, model, name = entry

            def by_id(a: str) -> list[str]:
                return [f'{a}."id" = :{name}::bigint']

            return self.row([obj], model, by_id)
        if kind == "key":
            _, spec, name, conds = entry
            column = spec.column.expression.name

            def by_key(a: str) -> list[str]:
                return [f'{a}."{column}" = :{name}', where_sql(conds, a)]

            def first(a: str) -> str:
                return f" ORDER BY {order_sql(spec.ordering, a)} LIMIT 1"

            return self.row([obj], spec.model, by_key, tail=first)
        page: Page = entry[1]

        def in_page(a: str) -> list[str]:
            return [*self.parent_condition(page, None, a), where_sql(page.conds, a)]

        def first_of(a: str) -> str:
            return f" ORDER BY {order_sql(page.ordering, a)} LIMIT 1"

        return self.row([obj], page.listing.model, in_page, tail=first_of)

    def statement(self, bound: list[Any]) -> str:
        pairs: list[str] = []
        ids: list[str] = []
        joins: list[str] = []
        for f in bound:
            pairs.append(_literal(f.key))
            if isinstance(f, Typename):
                pairs.append(_literal(f.name))
                continue
            if isinstance(f, Root):
                value, found, more = self.root(f)
                joins += more
            else:
                value, found, join = self.connection(f, None, "true")
                joins.append(join)
            pairs.append(value)
            if found is not None:
                ids.append(found)
        body = (
            f"SELECT convert_to(json_build_object({', '.join(pairs)})::text, 'UTF8') AS body,"
            f" {_concat(ids)} AS a FROM (SELECT 1) AS q{''.join(joins)}"
        )
        if not self.slots:
            return f"SELECT r.body FROM ({body}) AS r"
        types = "ARRAY[" + ", ".join(_literal(t) for t, _ in self.slots) + "]"
        fields = "ARRAY[" + ", ".join(_literal(f) for _, f in self.slots) + "]"
        field_name = f'({fields})[v % {SLOTS} + 1] COLLATE "C"'
        who = self.binder.who
        return (
            f"WITH r AS ({body}), w AS (INSERT INTO audit_log (action, actor_kind, actor_person_id,"
            " actor_token_id, roles, request_id, operation_name, object_type, row_ids, fields)"
            f" SELECT 'READ', :{who['kind']}::text, :{who['person']}::bigint,"
            f" :{who['token']}::bigint, :{who['roles']}::text[], :{who['request']}::text,"
            f" :{who['operation']}::text, g.t, g.ids, g.f FROM ("
            f"SELECT ({types})[v % {SLOTS} + 1] AS t,"
            f" array_agg(DISTINCT v / {SLOTS} ORDER BY v / {SLOTS}) AS ids,"
            f" array_agg(DISTINCT {field_name} ORDER BY {field_name}) AS f"
            f' FROM r, unnest(r.a) AS v GROUP BY 1) AS g ORDER BY g.t COLLATE "C")'
            " SELECT r.body FROM r"
        )


def _is_list(f: Any) -> bool:
    if isinstance(f, Conn):
        return False
    source = getattr(f, "source", None)
    return isinstance(source, AncestorsSource) or (
        isinstance(source, ChildrenSource) and not source.single
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _concat(ids: list[str]) -> str:
    if not ids:
        return "NULL::bigint[]"
    return "(" + " || ".join(f"coalesce({i}, '{{}}'::bigint[])" for i in ids) + ")"


# --- compiling, caching, running -----------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """A statement with `$n` parameters, and which of the binder's values each one takes."""

    sql: str
    order: tuple[int, ...]

    @property
    def audits(self) -> bool:
        """The statement writes the request's audit rows itself (a standby cannot)."""
        return "INSERT INTO audit_log" in self.sql


def finish(sql: str) -> Compiled:
    """Number the named parameters in order of first use (unused values are not sent)."""
    order: list[int] = []
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        found = numbers.get(name)
        if found is None:
            order.append(int(name[1:]))
            found = numbers[name] = len(order)
        return f"${found}"

    return Compiled(_PARAM.sub(number, sql), tuple(order))


class QueryCompiler:
    """Compiled statements by structure, and the documents that never compile."""

    def __init__(self, schema: Any, size: int = 512) -> None:
        self.schema = schema
        self.size = size
        self.statements: OrderedDict[Hashable, Compiled] = OrderedDict()
        self.refused: OrderedDict[tuple[str, str | None], str] = OrderedDict()

    def prepare(
        self,
        query: str,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: VariableValues,
        actor: Actor,
        audit: tuple[str | None, str | None],
    ) -> tuple[Compiled, list[Any]]:
        """The statement and its arguments for this request; raises `Unsupported` (or the
        error a plan raises, which the resolvers will raise too) when it cannot compile."""
        name = operation.name.value if operation.name else None
        refused = self.refused.get((query, name))
        if refused is not None:
            raise Unsupported(refused)
        binder = Binder(self.schema, document, variables, actor, audit)
        try:
            bound = binder.bind(operation)
        except Unsupported as why:
            # a plan refusing this request's values (a bad cursor) says nothing of the next
            if not binder.dynamic and not isinstance(why, Refused):
                self._remember(self.refused, (query, name), str(why))
            raise
        key = (query, name, *binder.key)
        found = self.statements.get(key)
        if found is None:
            named = len(binder.params)
            found = finish(Emitter(binder).statement(bound))
            if len(binder.params) != named:
                raise RuntimeError("a parameter was named while writing the SQL")
            self._remember(self.statements, key, found)
        else:
            self.statements.move_to_end(key)
        return found, [binder.params[i] for i in found.order]

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        cache[key] = value
        if len(cache) > self.size:
            cache.popitem(last=False)
