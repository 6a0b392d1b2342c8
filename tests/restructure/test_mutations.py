"""Every mutation is declared the same way: its ids, its rule, its domain's error type; the
error fields it can name are fields of its input type, so they cannot drift."""

from __future__ import annotations

import enum
from typing import Any

import pytest
from strawberry.types.base import get_object_definition

from schema.operations import Mutation, input_fields
from schema.root import schema


def mutations() -> list[type[Mutation[Any, Any, Any]]]:
    found: list[type[Mutation[Any, Any, Any]]] = []
    stack: list[type[Mutation[Any, Any, Any]]] = list(Mutation.__subclasses__())
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


MUTATIONS = mutations()


def test_every_mutation_field_is_a_declared_mutation() -> None:
    fields = set(schema._schema.mutation_type.fields)  # type: ignore[union-attr]
    assert len(MUTATIONS) == len(fields)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda c: c.__name__)
def test_names_come_from_the_input_type(mutation: type[Mutation[Any, Any, Any]]) -> None:
    input_type, _, payload_type = mutation._types()
    known = input_fields(input_type)
    assert set(mutation.refs) <= set(known), "every id the mutation decodes is an input field"
    assert set(mutation.error_fields.values()) <= set(known)
    assert not set(mutation.error_fields) & set(known), "a rename renames a non-input name"
    payload = get_object_definition(payload_type, strict=True)
    errors = next(f for f in payload.fields if f.python_name == "errors")
    assert "errors" in {f.python_name for f in payload.fields}
    assert errors is not None
    assert issubclass(mutation.errors.codes, enum.StrEnum)
    assert mutation.permission is not None
