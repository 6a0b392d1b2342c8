"""A generated set of queries over the schema, sent as every demo actor: each root list and
lookup with every field of its rows and one level of their relations and lists. The suite
runs with GRAPHQL_COMPILED=verify, so each request is answered by both paths and fails unless
their data and audit rows agree; this test also counts how many compile and why others do
not (the counts are printed with `-s`, and must cover the shapes of the benchmark)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, Undefined, get_named_type

from schema.compiler import BACKREF
from schema.declare import (
    SOURCE,
    AncestorsSource,
    ChildrenSource,
    ComputedSource,
    ListingSource,
    LookupSource,
    ReferenceSource,
    ThroughSource,
)
from schema.root import schema
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient

ACTORS = (
    "city-admin",
    "district-admin",
    "street-admin",
    "community-admin",
    "building-head",
    "grid-worker",
    "seconded-cadre",
    "resident",
    "renter",
)
_NESTED = (ReferenceSource, ChildrenSource, ThroughSource, AncestorsSource)


def _python_only(field: object) -> bool:
    """Computed in Python only, or by a resolver that declares no source."""
    definition = getattr(field, "extensions", {}).get(BACKREF)
    source = (definition.metadata or {}).get(SOURCE) if definition else None
    return source is None or (isinstance(source, ComputedSource) and source.sql is None)


def _scalars(kind: GraphQLObjectType) -> list[str]:
    """Every scalar field but those computed in Python only (the ID number, decrypted in
    Python; allowed actions: a query asking for them falls back, see `FALLING_BACK`)."""
    found = []
    for name, field in kind.fields.items():
        named = get_named_type(field.type)
        if isinstance(named, GraphQLObjectType) or field.args or _python_only(field):
            continue
        found.append(name)
    return found


def _selection(kind: GraphQLObjectType, depth: int) -> str:
    parts = list(_scalars(kind))
    if depth > 0:
        for name, field in kind.fields.items():
            named = get_named_type(field.type)
            if not isinstance(named, GraphQLObjectType):
                continue
            definition = field.extensions.get(BACKREF)
            source = (definition.metadata or {}).get(SOURCE) if definition else None
            if isinstance(source, _NESTED) and not field.args:
                parts.append(f"{name} {{ {' '.join(_scalars(named))} }}")
            elif isinstance(source, ListingSource) and source.plan is not None:
                node = get_named_type(named.fields["nodes"].type)
                assert isinstance(node, GraphQLObjectType)
                parts.append(
                    f"{name}(first: 3) {{ totalCount nodes {{ {' '.join(_scalars(node))} }} }}"
                )
    return " ".join(parts)


def generated() -> list[str]:
    query = schema._schema.query_type
    assert query is not None
    found: list[str] = []
    for name, field in sorted(query.fields.items()):
        definition = field.extensions.get(BACKREF)
        source = (definition.metadata or {}).get(SOURCE) if definition else None
        kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if isinstance(source, ListingSource) and source.plan is not None:
            node = get_named_type(kind.fields["nodes"].type)
            required = [
                a
                for a, arg in field.args.items()
                if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
            ]
            if required:
                continue
            found.extend(
                f"{{ {name}(first: {first}) {{ totalCount"
                f" edges {{ cursor node {{ {_selection(node, 1)} }} }}"
                f" pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
                for first in (2, 5)
            )
        elif isinstance(source, LookupSource) and name == "city":
            found.append(f"{{ city {{ {_selection(kind, 1)} }} }}")
    return found


#: Queries that fall back to the resolvers, each for its reason.
FALLING_BACK = [
    "{ people(first: 3) { nodes { name idCardNumber } } }",  # decrypted in Python
    "{ petitions(first: 3) { nodes { title allowedActions } } }",  # the action table in Python
    "{ city { stats { grids buildings } } }",  # display small-cell rules in Python
    "{ me { kind } }",  # not a row type
]
QUERIES = generated() + FALLING_BACK


@pytest.mark.parametrize("query", QUERIES, ids=[q[:40] for q in QUERIES])
async def test_generated_queries_answer_alike_for_every_actor(
    as_account: Callable[[str], GraphQLClient],
    demo_petitions: DemoCity,
    query: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="schema.compiled")
    for actor in ACTORS:
        body = await as_account(actor).raw(query)
        assert "data" in body, body
    outcomes = Counter(
        "compiled" if "answered by one" in r.getMessage() else r.getMessage().split(": ", 1)[-1]
        for r in caplog.records
        if r.name == "schema.compiled"
    )
    print(f"\n{query[:60]}: {dict(outcomes)}")  # noqa: T201  (`-s` shows what compiles)
    assert sum(outcomes.values()) == len(ACTORS), "one path said per request"
    if query in FALLING_BACK:
        assert outcomes["compiled"] == 0, outcomes
    else:  # generated from declared plans: they compile, unless the plan refuses no arguments
        refused = {k for k in outcomes if k.startswith("DomainError from")}
        assert outcomes["compiled"] > 0 or (refused and set(outcomes) == refused), outcomes


async def test_pages_walk_alike_both_ways(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity
) -> None:
    """Cursors from the compiled path page the resolvers' way (and back), for every actor."""
    query = """query($after: String, $before: String, $first: Int, $last: Int) {
      people(first: $first, after: $after, last: $last, before: $before) {
        edges { cursor node { name } }
        pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }"""
    for actor in ("city-admin", "grid-worker", "building-head"):
        client = as_account(actor)
        after = None
        for _ in range(4):
            data = await client(query, {"first": 3, "after": after})
            after = data["people"]["pageInfo"]["endCursor"]
            if not data["people"]["pageInfo"]["hasNextPage"]:
                break
        before = after
        for _ in range(3):
            data = await client(query, {"last": 2, "before": before})
            before = data["people"]["pageInfo"]["startCursor"]
            if before is None:
                break
        await client(query, {"first": 5, "last": 2})
