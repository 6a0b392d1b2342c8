"""Deny by default: no field holding personal data reaches the schema without a policy entry
and a Guard. The walker is proven on a small fake schema that breaks each rule once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
    get_nullable_type,
)

from permissions.policy import FIELD_POLICY, VISIBLE, Access, FieldRule, public
from schema.policy import Guard, guard
from schema.root import schema

#: Field names that hold personal data wherever they appear.
SENSITIVE = frozenset({"phone", "idCardNumber", "birthDate", "healthNotes", "room"})
#: Types whose every field must be named in the policy and guarded, even if none is sensitive.
ALWAYS_GUARDED = frozenset({"Person", "Household"})
#: Output types allowed to carry sensitive names without a policy entry, and why.
EXEMPT: dict[str, str] = {
    "RevealPayload": "the answer of revealPersonalData, authorised and audited per call",
}


def strawberry_field(field: GraphQLField) -> Any:
    return (field.extensions or {}).get("strawberry-definition")


def guards_of(field: GraphQLField) -> list[Guard]:
    definition = strawberry_field(field)
    extensions = getattr(definition, "extensions", None) or []
    return [e for e in extensions if isinstance(e, Guard)]


def violations(
    walked: strawberry.Schema,
    policy: Mapping[str, Mapping[str, FieldRule]],
    exempt: Mapping[str, str] = EXEMPT,
) -> list[str]:
    """Every breach of deny-by-default in `walked`, one line each (empty when clean)."""
    found: list[str] = []
    type_map = walked._schema.type_map
    for name, gtype in sorted(type_map.items()):
        if name.startswith("__") or not isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType):
            continue
        sensitive = sorted(SENSITIVE & set(gtype.fields))
        if sensitive and name not in policy and name not in exempt:
            found.append(f"{name}: personal fields {sensitive} but no FIELD_POLICY entry")
        if name not in policy and name not in ALWAYS_GUARDED:
            continue
        rules = policy.get(name, {})
        for field_name, field in gtype.fields.items():
            found.extend(_field_violations(name, field_name, field, rules.get(field_name)))
        found.extend(
            f"{name}.{stale}: in FIELD_POLICY but not in the schema"
            for stale in sorted(set(rules) - set(gtype.fields))
        )
    return found


def _field_violations(
    type_name: str, field_name: str, field: GraphQLField, found_rule: FieldRule | None
) -> list[str]:
    where = f"{type_name}.{field_name}"
    if found_rule is None:
        return [f"{where}: not named in FIELD_POLICY[{type_name!r}]"]
    guards = guards_of(field)
    if [(g.type_name, g.field) for g in guards] != [(type_name, field_name)]:
        keys = [(g.type_name, g.field) for g in guards]
        return [f"{where}: needs exactly one guard({type_name!r}, {field_name!r}), has {keys}"]
    problems: list[str] = []
    [_] = guards
    # a guard reads a DENIED list as [] by itself (schema.policy.Guard.withheld)
    is_list = isinstance(get_nullable_type(field.type), GraphQLList)
    # DENIED reads null: a non-null field is only safe when all who see the row see it in full
    if (
        isinstance(field.type, GraphQLNonNull)
        and not is_list
        and any(found_rule.access({relation}) is not Access.FULL for relation in VISIBLE)
    ):
        problems.append(f"{where}: non-null, yet some who see the row are denied it")
    return problems


# --- the real schema ----------------------------------------------------------------------


def test_the_schema_is_deny_by_default() -> None:
    assert violations(schema, FIELD_POLICY) == []


def test_guarded_types_are_the_ones_holding_personal_data() -> None:
    type_map = schema._schema.type_map
    holding = {
        name
        for name, gtype in type_map.items()
        if isinstance(gtype, GraphQLObjectType) and SENSITIVE & set(gtype.fields)
    }
    assert holding - set(EXEMPT) <= set(FIELD_POLICY)
    assert set(FIELD_POLICY) >= ALWAYS_GUARDED
    assert holding >= ALWAYS_GUARDED


def test_every_person_and_household_field_is_guarded_by_its_own_rule() -> None:
    for type_name in sorted(ALWAYS_GUARDED):
        definition = schema.get_type_by_name(type_name)
        assert definition is not None
        exposed = schema._schema.type_map[type_name]
        assert isinstance(exposed, GraphQLObjectType)
        names = {
            schema.config.name_converter.get_graphql_name(f): f
            for f in definition.fields  # type: ignore[union-attr]
        }
        for field_name in exposed.fields:
            assert field_name in FIELD_POLICY[type_name], f"{type_name}.{field_name}"
            strawberry_def = names[field_name]
            keys = [
                (g.type_name, g.field) for g in strawberry_def.extensions if isinstance(g, Guard)
            ]
            assert keys == [(type_name, field_name)], f"{type_name}.{field_name}: {keys}"


def test_the_exempt_payload_is_only_the_answer_of_reveal_personal_data() -> None:
    """The exemption cannot be used to smuggle personal data into other answers."""
    returning: list[str] = []
    for name, gtype in schema._schema.type_map.items():
        if name.startswith("__") or not isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType):
            continue
        returning.extend(
            f"{name}.{field_name}"
            for field_name, field in gtype.fields.items()
            if get_named_type(field.type).name in EXEMPT
        )
    assert returning == ["Mutation.revealPersonalData"]


# --- the walker itself, on a schema that breaks every rule --------------------------------


@strawberry.type(name="Person")
class FakePerson:
    name: str | None = strawberry.field(default=None, extensions=guard("Person", "name"))
    nickname: str | None = None  # new and unguarded: must be caught
    phone: str | None = strawberry.field(default=None, extensions=guard("Person", "name"))
    friends: list[str] = strawberry.field(
        default_factory=list, extensions=guard("Person", "friends")
    )
    secret: str = strawberry.field(default="", extensions=guard("Person", "secret"))


@strawberry.type(name="Household")
class FakeHousehold:
    room: str | None = strawberry.field(default=None, extensions=guard("Household", "room"))


@strawberry.type(name="Leaky")
class Leaky:
    birth_date: str | None = None


@strawberry.type(name="Query")
class FakeQuery:
    person: FakePerson | None = None
    household: FakeHousehold | None = None
    leaky: Leaky | None = None


FAKE_POLICY: dict[str, dict[str, FieldRule]] = {
    "Person": {
        "name": public(),
        "phone": public(),
        "friends": public(),
        "secret": FieldRule(full=frozenset()),
        "gone": public(),
    },
    "Household": {"room": public()},
}


def test_the_walker_catches_every_kind_of_breach() -> None:
    fake = strawberry.Schema(query=FakeQuery)
    found = violations(fake, FAKE_POLICY)
    assert sorted(found) == sorted(
        [
            "Leaky: personal fields ['birthDate'] but no FIELD_POLICY entry",
            "Person.nickname: not named in FIELD_POLICY['Person']",
            "Person.phone: needs exactly one guard('Person', 'phone'), has [('Person', 'name')]",
            "Person.secret: non-null, yet some who see the row are denied it",
            "Person.gone: in FIELD_POLICY but not in the schema",
        ]
    )


def test_a_policy_entry_alone_does_not_satisfy_the_walker() -> None:
    fake = strawberry.Schema(query=FakeQuery)
    policy = {
        "Person": {"name": public(), "phone": public(), "friends": public(), "secret": public()},
        "Household": {"room": public()},
        "Leaky": {"birthDate": public()},
    }
    remaining = violations(fake, policy)
    # what a policy entry cannot fix: fields without (or with the wrong) guard
    assert sorted(remaining) == sorted(
        [
            "Person.nickname: not named in FIELD_POLICY['Person']",
            "Person.phone: needs exactly one guard('Person', 'phone'), has [('Person', 'name')]",
            "Leaky.birthDate: needs exactly one guard('Leaky', 'birthDate'), has []",
        ]
    )
