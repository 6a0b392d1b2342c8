"""What a request asks for, measured from its parsed document before anything runs.

One walk over the selected operation counts depth, aliases and directives (through
fragments, once per spread) and estimates the cost from list sizes; the limits and the
cost model are data in `permissions/limits.py`. Fragments are measured once each and
reused at every spread, so a document that spreads fragments inside fragments costs a
walk linear in its size, never exponential.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    parse,
    print_ast,
)

from permissions.limits import (
    DEFAULT_LIST_SIZE,
    ERRORS_LIST_SIZE,
    FIELD_WEIGHTS,
    LIST_SIZES,
    Limits,
)
from resolvers.pagination import DEFAULT_PAGE, MAX_PAGE
from schema.errors import Refused, RequestCode, located, refuse, request_error

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
_PAGED = frozenset({"nodes", "edges"})


@dataclass(frozen=True)
class Tally:
    """What a selection set asks for, at one instance of its parent."""

    depth: int = 0
    aliases: int = 0
    directives: int = 0
    cost: int = 0
    introspection: bool = False

    def __add__(self, other: Tally) -> Tally:
        """Siblings: the deeper one sets the depth, everything else adds up."""
        return Tally(
            depth=max(self.depth, other.depth),
            aliases=self.aliases + other.aliases,
            directives=self.directives + other.directives,
            cost=self.cost + other.cost,
            introspection=self.introspection or other.introspection,
        )


@dataclass(frozen=True)
class Parsed:
    """A document as sent (what the limits measure) and merged (what runs)."""

    sent: DocumentNode
    merged: DocumentNode


@lru_cache(maxsize=128)
def parsed(query: str, limits: Limits) -> Parsed:
    """Parsed and merged once per distinct document: front ends send the same few texts
    over and over. A refusal raises, and is not cached."""
    document = parse_document(query, limits)
    return Parsed(sent=document, merged=merge_siblings(document))


def parse_document(query: str, limits: Limits) -> DocumentNode:
    """Parse once, refusing oversized documents before the lexer runs and long ones while
    it runs (the parser stops at the token limit)."""
    if len(query.encode("utf-8", "surrogatepass")) > limits.max_document_bytes:
        raise refuse(
            RequestCode.DOCUMENT_TOO_LARGE,
            f"the document is larger than {limits.max_document_bytes} bytes",
        )
    try:
        return parse(
            query,
            max_lexical_tokens=limits.max_tokens,
            max_comments=limits.max_tokens,
        )
    except GraphQLSyntaxError as error:
        if "tokens. Parsing aborted." in error.message or "comments." in error.message:
            raise refuse(
                RequestCode.TOKEN_LIMIT, f"the document has more than {limits.max_tokens} tokens"
            ) from None
        if "nested too deeply" in error.message:
            raise refuse(
                RequestCode.DEPTH_LIMIT, f"the document is nested deeper than {limits.max_depth}"
            ) from None
        raise Refused([located(error, RequestCode.GRAPHQL_PARSE_FAILED)]) from None


def merge_siblings(document: DocumentNode) -> DocumentNode:
    """The document with identical sibling selections merged, as execution would merge them.

    Sibling fields with the same response name, field name, arguments and directives become
    one field selecting everything they selected; so do sibling inline fragments with the
    same type condition and directives, and repeated spreads of a fragment. Nothing changes
    for a document without such repeats. The limits count what was sent; validation (whose
    check that fields can merge is exponential in nested repeats: `{ a { b { .. } b { .. } }
    a { .. } }` seven levels deep took 0.4 s) and execution then work on the merged
    document. Conflicts between fields that differ are still found: those are not merged.
    """
    if not any(
        _repeats(d.selection_set)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ):
        return document
    changed = False

    def merge(selection_set: SelectionSetNode) -> SelectionSetNode:
        nonlocal changed
        groups: dict[tuple[str, ...], list[Any]] = {}
        for selection in selection_set.selections or ():
            groups.setdefault(_sibling_key(selection), []).append(selection)
        merged: list[Any] = []
        for members in groups.values():
            first = members[0]
            if len(members) > 1:
                changed = True
            inner = [m.selection_set for m in members if getattr(m, "selection_set", None)]
            if not inner:
                merged.append(first)
                continue
            combined = SelectionSetNode(
                selections=tuple(sel for block in inner for sel in block.selections or ()),
                loc=inner[0].loc,
            )
            merged.append(_with_selection_set(first, merge(combined)))
        return SelectionSetNode(selections=tuple(merged), loc=selection_set.loc)

    definitions = [
        _with_selection_set(d, merge(d.selection_set))
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
        else d
        for d in document.definitions
    ]
    return DocumentNode(definitions=tuple(definitions), loc=document.loc) if changed else document


def _repeats(selection_set: SelectionSetNode) -> bool:
    """Whether any selection set inside repeats a response name, a type condition or a
    spread (a quick look: only then is the document rebuilt)."""
    pending = [selection_set]
    while pending:
        seen: set[tuple[str, str]] = set()
        for selection in pending.pop().selections or ():
            if isinstance(selection, FieldNode):
                key = ("field", (selection.alias or selection.name).value)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                key = ("inline", condition.name.value if condition else "")
            elif isinstance(selection, FragmentSpreadNode):
                key = ("spread", selection.name.value)
            else:
                continue
            if key in seen:
                return True
            seen.add(key)
            inner = getattr(selection, "selection_set", None)
            if inner is not None:
                pending.append(inner)
    return False


def _sibling_key(selection: Any) -> tuple[str, ...]:
    directives = tuple(print_ast(d) for d in selection.directives or ())
    if isinstance(selection, FieldNode):
        name = selection.name.value
        response = selection.alias.value if selection.alias else name
        arguments = tuple(print_ast(a) for a in selection.arguments or ())
        leaf = "leaf" if selection.selection_set is None else "object"
        return ("field", response, name, leaf, *arguments, "@", *directives)
    if isinstance(selection, InlineFragmentNode):
        condition = selection.type_condition.name.value if selection.type_condition else ""
        return ("inline", condition, "@", *directives)
    if isinstance(selection, FragmentSpreadNode):
        return ("spread", selection.name.value, "@", *directives)
    return ("other", str(id(selection)))


def _with_selection_set(node: Any, selection_set: SelectionSetNode) -> Any:
    values = {key: getattr(node, key) for key in node.keys if key != "selection_set"}
    return type(node)(**values, selection_set=selection_set)


class Measure:
    """Measures one operation of a parsed document against the schema (no validation
    needed first: unknown fields and types count as leaves, fragment cycles as empty)."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._measured: dict[tuple[str, int], Tally] = {}
        self._measuring: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> Tally:
        root = self.schema.get_root_type(operation.operation)
        return Tally(directives=len(operation.directives or ())) + self.selections(
            operation.selection_set, root, DEFAULT_PAGE
        )

    def selections(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, page: int
    ) -> Tally:
        total = Tally()
        for selection in selection_set.selections or ():
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += Tally(directives=len(selection.directives or ()))
                total += self.selections(selection.selection_set, inner, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += Tally(directives=len(selection.directives or ()))
                total += self.fragment(selection.name.value, page)
        return total

    def fragment(self, name: str, page: int) -> Tally:
        key = (name, page)
        if key in self._measured:
            return self._measured[key]
        definition = self.fragments.get(name)
        if definition is None or name in self._measuring:
            return Tally()  # unknown or cyclic: validation refuses the document
        self._measuring.add(name)
        condition = self.schema.get_type(definition.type_condition.name.value)
        tally = Tally(directives=len(definition.directives or ())) + self.selections(
            definition.selection_set, condition, page
        )
        self._measuring.discard(name)
        self._measured[key] = tally
        return tally

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, page: int) -> Tally:
        name = node.name.value
        own = Tally(depth=1, aliases=1 if node.alias else 0, directives=len(node.directives or ()))
        parent_name = parent.name if parent is not None else ""
        weight = FIELD_WEIGHTS.get(f"{parent_name}.{name}", 1)
        if name in INTROSPECTION_FIELDS:
            # A fixed weight covers the whole subtree; its depth is the introspection's own.
            inner = (
                self.selections(node.selection_set, None, page) if node.selection_set else Tally()
            )
            return own + Tally(
                aliases=inner.aliases,
                directives=inner.directives,
                cost=FIELD_WEIGHTS[f"Query.{name}"],
                introspection=True,
            )
        if name == "__typename":
            return own
        fields = (
            parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        )
        definition = fields.get(name)
        if definition is None or node.selection_set is None:
            return own + Tally(cost=weight)
        returned = get_named_type(definition.type)
        size = self.list_size(node, parent_name, name, definition.type, page)
        inner_page = self.page_size(node) if returned.name.endswith("Connection") else page
        inner = self.selections(node.selection_set, returned, inner_page)
        return Tally(
            depth=1 + inner.depth,
            aliases=own.aliases + inner.aliases,
            directives=own.directives + inner.directives,
            cost=weight + size * inner.cost,
            introspection=inner.introspection,
        )

    def list_size(self, node: FieldNode, parent: str, name: str, type_: Any, page: int) -> int:
        """How many instances of its selection one instance of the field yields."""
        if not is_list_type(get_nullable_type(type_)):
            return 1
        if parent.endswith("Connection") and name in _PAGED:
            return page
        if parent == "Query" and name == "nodes":
            return self.list_length(_argument(node, "ids"))
        if name == "errors":
            return ERRORS_LIST_SIZE
        return LIST_SIZES.get(f"{parent}.{name}", DEFAULT_LIST_SIZE)

    def page_size(self, node: FieldNode) -> int:
        """`first`/`last` (the smaller when both), clamped to what the resolvers serve."""
        asked = [
            n
            for n in (self.integer(_argument(node, "first")), self.integer(_argument(node, "last")))
            if n is not None
        ]
        return max(0, min(min(asked) if asked else DEFAULT_PAGE, MAX_PAGE))

    def integer(self, value: ValueNode | None) -> int | None:
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            given = self.variables.get(value.name.value)
            return given if isinstance(given, int) and not isinstance(given, bool) else None
        return None

    def list_length(self, value: ValueNode | None) -> int:
        if isinstance(value, ListValueNode):
            return len(value.values)
        if isinstance(value, VariableNode):
            given = self.variables.get(value.name.value)
            return len(given) if isinstance(given, list) else 1
        return 1


def introspection_only(document: DocumentNode, operation: OperationDefinitionNode) -> bool:
    """Whether the operation selects nothing but `__schema`, `__type` and `__typename` at its
    root (such an operation reads the schema only: no session, no resolvers of ours)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    pending = [operation.selection_set]
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections or ():
            if isinstance(selection, FieldNode):
                if selection.name.value not in INTROSPECTION_FIELDS | {"__typename"}:
                    return False
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    pending.append(fragment.selection_set)
    return operation.operation == OperationType.QUERY


def _argument(node: FieldNode, name: str) -> ValueNode | None:
    for argument in node.arguments or ():
        if argument.name.value == name:
            return argument.value
    return None


def variables_with_defaults(
    operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """The variables as sent, with the operation's literal defaults for those not sent."""
    found = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        default = definition.default_value
        if name not in found and isinstance(default, IntValueNode):
            found[name] = int(default.value)
        elif name not in found and isinstance(default, ListValueNode):
            found[name] = [None] * len(default.values)
    return found


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
    limits: Limits,
) -> Tally:
    """The operation's tally; a document nested beyond the interpreter's reach is too deep."""
    try:
        return Measure(schema, document, variables_with_defaults(operation, variables)).operation(
            operation
        )
    except RecursionError:
        raise refuse(
            RequestCode.DEPTH_LIMIT, f"the document is nested deeper than {limits.max_depth}"
        ) from None


def refusals(
    tally: Tally, limits: Limits, *, budget: int, introspection_allowed: bool
) -> list[GraphQLError]:
    """Every limit the tally exceeds, each with its own code."""
    found: list[GraphQLError] = []

    def over(code: RequestCode, what: str, value: int, limit: int) -> None:
        if value > limit:
            found.append(
                request_error(code, f"the operation has {value} {what}; the limit is {limit}")
            )

    if tally.introspection and not introspection_allowed:
        found.append(
            request_error(
                RequestCode.INTROSPECTION_DISABLED,
                "introspection is not available without signing in",
            )
        )
    over(RequestCode.DEPTH_LIMIT, "levels of fields", tally.depth, limits.max_depth)
    over(RequestCode.ALIAS_LIMIT, "aliases", tally.aliases, limits.max_aliases)
    over(RequestCode.DIRECTIVE_LIMIT, "directives", tally.directives, limits.max_directives)
    if tally.cost > budget:
        found.append(
            request_error(
                RequestCode.COST_LIMIT,
                f"the operation may cost {tally.cost}; the budget is {budget}"
                " (lower `first`/`last`, fewer ids, or fewer nested lists)",
            )
        )
    return found
