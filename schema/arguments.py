"""One check of every argument value before execution: strings PostgreSQL cannot store
(NUL, unpaired UTF-16 surrogates) and datetimes that leave the representable range once
converted to UTC or China time, refused as VALIDATION with the argument named.

It runs on the operation as sent (literals and variables alike), after graphql-core has
validated the document and coerced the variables, so only values of the right shape
reach it; no resolver needs a check of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from schema.errors import RequestCode, request_error

#: Datetimes must stay a day inside the representable range, so that conversion to any
#: UTC offset (China is +08:00, clients send up to ±14:00) cannot overflow.
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def string_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (not valid Unicode)"
    return None


def datetime_problem(value: Any) -> str | None:
    if not isinstance(value, datetime):
        return None
    try:
        in_utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        return "is out of range once converted to UTC"
    if not _EARLIEST <= in_utc <= _LATEST:
        return "is out of range once converted to UTC"
    return None


class ArgumentCheck:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.seen: set[str] = set()
        self.errors: list[GraphQLError] = []

    def operation(self, operation: OperationDefinitionNode) -> list[GraphQLError]:
        self.selections(operation.selection_set, self.schema.get_root_type(operation.operation))
        return self.errors

    def selections(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> None:
        for selection in selection_set.selections or ():
            if isinstance(selection, FieldNode):
                self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                self.selections(selection.selection_set, inner)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in self.seen:
                    continue  # arguments do not depend on where a fragment is spread
                self.seen.add(name)
                condition_type = self.schema.get_type(fragment.type_condition.name.value)
                self.selections(fragment.selection_set, condition_type)

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> None:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return
        for argument in node.arguments or ():
            arg = definition.args.get(argument.name.value)
            if arg is not None:
                self.literal(argument.value, arg.type, argument.name.value)
        if node.selection_set is not None:
            self.selections(node.selection_set, get_named_type(definition.type))

    def literal(self, value: ValueNode, type_: GraphQLInputType, path: str) -> None:
        nullable = get_nullable_type(type_)
        if isinstance(value, VariableNode):
            self.given(self.variables.get(value.name.value), type_, path)
        elif isinstance(value, ListValueNode):
            item = nullable.of_type if is_list_type(nullable) else type_
            for entry in value.values or ():
                self.literal(entry, item, path)
        elif isinstance(value, ObjectValueNode) and isinstance(nullable, GraphQLInputObjectType):
            for given in value.fields or ():
                field = nullable.fields.get(given.name.value)
                if field is not None:
                    self.literal(given.value, field.type, f"{path}.{given.name.value}")
        elif isinstance(value, StringValueNode):
            self.string(value.value, nullable, path, lambda scalar: scalar.parse_literal(value))

    def given(self, value: Any, type_: GraphQLInputType, path: str) -> None:
        """A variable's value as sent (JSON), checked against the type where it is used."""
        nullable = get_nullable_type(type_)
        if isinstance(value, list):
            item = nullable.of_type if is_list_type(nullable) else type_
            for entry in value:
                self.given(entry, item, path)
        elif isinstance(value, dict) and isinstance(nullable, GraphQLInputObjectType):
            for key, entry in value.items():
                field = nullable.fields.get(key)
                if field is not None:
                    self.given(entry, field.type, f"{path}.{key}")
        elif isinstance(value, str):
            if is_list_type(nullable):  # a single value given for a list
                nullable = get_nullable_type(nullable.of_type)
            self.string(value, nullable, path, lambda scalar: scalar.parse_value(value))

    def string(self, value: str, type_: Any, path: str, parsed: Any) -> None:
        problem = string_problem(value)
        if problem is None and isinstance(type_, GraphQLScalarType) and type_.name == "DateTime":
            try:
                problem = datetime_problem(parsed(type_))
            except (ValueError, TypeError, GraphQLError):
                problem = None  # not a datetime at all: coercion has refused it already
        if problem is not None:
            self.errors.append(
                request_error(RequestCode.VALIDATION, f"`{path}` {problem}", field=path)
            )


def check_arguments(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> list[GraphQLError]:
    return ArgumentCheck(schema, document, variables).operation(operation)
