"""Limits checked before execution: document size, tokens, depth, aliases and directives,
counted through fragments, each refused with its own code and without a single SQL
statement, whoever asks (the limits are checked before the credential lookup)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from permissions.limits import Limits
from tests.conftest import GraphQLClient, StatementCounter

LIMITS = Limits()
GRAPHQL_RESPONSE = "application/graphql-response+json"

#: The admin SPA's query from the README: the deepest one the front ends send (7).
ADMIN_SPA = """{
  orgUnit(code: "520303001001") {
    name
    ancestors { name kind }
    stats { grids buildings households residents partyMembers buildingHeads partyGroups
            centralHouseholds secondedCadres registeredPartyMembers pairedWorkUnits }
    children(kind: GRID) {
      nodes {
        name gridType
        buildings(first: 50, cultureLabels: [PARTY_PIONEER]) {
          totalCount
          nodes { name head { name } headPosition { selectionMethod priorityBasis startedAt } }
        }
      }
    }
  }
}"""


def parents(levels: int) -> str:
    """`{ city { parent { parent ... { id } } } }` with `levels` fields in all."""
    inner = "id"
    for _ in range(levels - 2):
        inner = f"parent {{ {inner} }}"
    return f"{{ city {{ {inner} }} }}"


async def refused(
    client: GraphQLClient, query: str, code: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Post as a front end does; the request must be refused with `code`, as a request
    error (no data) under both media types."""
    body = {"query": query, "variables": variables or {}}
    as_json = await client.http.post("/graphql", json=body, headers=client.headers)
    strict = await client.http.post(
        "/graphql", json=body, headers={**client.headers, "Accept": GRAPHQL_RESPONSE}
    )
    assert as_json.status_code == 200, as_json.text
    assert strict.status_code == 400, strict.text
    assert strict.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    for response in (as_json, strict):
        answer = response.json()
        assert "data" not in answer
        codes = [e["extensions"]["code"] for e in answer["errors"]]
        assert code in codes, answer
        rid = response.headers["X-Request-ID"]
        assert all(e["extensions"]["requestId"] == rid for e in answer["errors"])
    result: dict[str, Any] = as_json.json()
    return result


@pytest.fixture
def city_admin(as_account: Callable[[str], GraphQLClient]) -> GraphQLClient:
    return as_account("city-admin")


@pytest.fixture(params=["anonymous", "city-admin"])
def anyone(
    request: pytest.FixtureRequest,
    anonymous: GraphQLClient,
    as_account: Callable[[str], GraphQLClient],
) -> GraphQLClient:
    return anonymous if request.param == "anonymous" else as_account(request.param)


async def test_the_defaults_are_at_least_as_strict_as_graphql_armor() -> None:
    # graphql-armor: tokens 1,000, aliases 15, depth 6 (7 here: see permissions/limits.py)
    assert LIMITS.max_tokens <= 1_000
    assert LIMITS.max_aliases <= 15
    assert LIMITS.max_depth == 7
    assert LIMITS.max_directives <= 50


# --- tokens and size ---------------------------------------------------------------------


async def test_too_many_tokens(anyone: GraphQLClient, sql_statements: StatementCounter) -> None:
    fields = " ".join(["__typename"] * LIMITS.max_tokens)
    body = await refused(anyone, "{ " + fields + " }", "TOKEN_LIMIT")
    assert str(LIMITS.max_tokens) in body["errors"][0]["message"]
    assert sql_statements.count == 0


async def test_comments_count_as_tokens(
    anonymous: GraphQLClient, sql_statements: StatementCounter
) -> None:
    padding = "\n".join(["# padding"] * (LIMITS.max_tokens + 1))
    await refused(anonymous, padding + "\n{ __typename }", "TOKEN_LIMIT")
    assert sql_statements.count == 0


async def test_a_document_just_under_the_token_limit_runs(anonymous: GraphQLClient) -> None:
    fields = " ".join(["__typename"] * (LIMITS.max_tokens - 2))
    data = await anonymous("{ " + fields + " }")
    assert data == {"__typename": "Query"}


async def test_a_document_too_large(
    anyone: GraphQLClient, sql_statements: StatementCounter
) -> None:
    query = "{ __typename }" + " " * LIMITS.max_document_bytes
    await refused(anyone, query, "DOCUMENT_TOO_LARGE")
    assert sql_statements.count == 0


# --- depth -------------------------------------------------------------------------------


async def test_the_readme_admin_query_is_within_the_depth_limit(city_admin: GraphQLClient) -> None:
    data = await city_admin(ADMIN_SPA)
    assert data["orgUnit"]["children"]["nodes"]  # the grids of 仁和苑社区


async def test_one_level_deeper_is_refused(
    anyone: GraphQLClient, sql_statements: StatementCounter
) -> None:
    await anyone(parents(LIMITS.max_depth))
    sql_statements.reset()
    body = await refused(anyone, parents(LIMITS.max_depth + 1), "DEPTH_LIMIT")
    assert f"{LIMITS.max_depth + 1} levels" in body["errors"][0]["message"]
    assert sql_statements.count == 0


async def test_depth_23_through_parent_is_refused_before_any_sql(
    city_admin: GraphQLClient, sql_statements: StatementCounter
) -> None:
    await refused(city_admin, parents(23), "DEPTH_LIMIT")
    assert sql_statements.count == 0


async def test_depth_counts_through_fragments(
    anyone: GraphQLClient, sql_statements: StatementCounter
) -> None:
    query = """{ city { ...A } }
      fragment A on OrgUnit { parent { ...B } }
      fragment B on OrgUnit { parent { ... on OrgUnit { parent { ...C } } } }
      fragment C on OrgUnit { parent { parent { parent { id } } } }"""
    await refused(anyone, query, "DEPTH_LIMIT")
    assert sql_statements.count == 0


async def test_a_document_nested_beyond_reason_is_refused_as_too_deep(
    anonymous: GraphQLClient, sql_statements: StatementCounter
) -> None:
    levels = LIMITS.max_tokens // 3
    query = "{ " + "city { " * levels + "id" + " }" * levels + " }"
    await refused(anonymous, query, "DEPTH_LIMIT")
    assert sql_statements.count == 0


async def test_introspection_depth_does_not_count_where_introspection_is_allowed(
    anonymous: GraphQLClient,
) -> None:
    """GraphiQL's introspection query is 13 levels deep; it is allowed in development."""
    data = await anonymous(get_introspection_query(descriptions=True))
    assert data["__schema"]["queryType"]["name"] == "Query"


# --- aliases -----------------------------------------------------------------------------


def aliased(count: int, field: str = "__typename") -> str:
    return " ".join(f"a{i}: {field}" for i in range(count))


async def test_aliases_up_to_the_limit_run(anonymous: GraphQLClient) -> None:
    data = await anonymous("{ " + aliased(LIMITS.max_aliases) + " }")
    assert len(data) == LIMITS.max_aliases


async def test_one_alias_more_is_refused(
    anyone: GraphQLClient, sql_statements: StatementCounter
) -> None:
    await refused(anyone, "{ " + aliased(LIMITS.max_aliases + 1) + " }", "ALIAS_LIMIT")
    assert sql_statements.count == 0


async def test_aliases_count_once_per_fragment_spread(
    anyone: GraphQLClient, sql_statements: StatementCounter
) -> None:
    """Four aliases in a fragment spread four times (twice through another fragment)."""
    query = """{ ...Q ...Q ...Twice }
      fragment Twice on Query { ...Q ... on Query { ...Q } }
      fragment Q on Query { a: __typename b: __typename c: __typename d: __typename }"""
    await refused(anyone, query, "ALIAS_LIMIT")
    assert sql_statements.count == 0


async def test_fragments_spread_inside_fragments_are_measured_once_each(
    anonymous: GraphQLClient, sql_statements: StatementCounter
) -> None:
    """Each fragment spreads the next twice: 2^40 paths, measured in a linear walk."""
    chain = "\n".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    query = "{ ...F0 }\n" + chain + "\nfragment F40 on Query { x: __typename }"
    body = await refused(anonymous, query, "ALIAS_LIMIT")
    assert f"{2**40} aliases" in body["errors"][0]["message"]
    assert sql_statements.count == 0


async def test_200_aliased_introspections_are_refused_at_once(
    anonymous: GraphQLClient, sql_statements: StatementCounter
) -> None:
    """The attack as it was sent (20 MB, 7 s, /healthz frozen), and as much of it as fits
    under the token limit: a small refusal either way, no SQL."""
    for count, codes in ((200, {"TOKEN_LIMIT"}), (100, {"ALIAS_LIMIT", "COST_LIMIT"})):
        query = "{ " + " ".join(f"i{i}: __schema {{ types {{ name }} }}" for i in range(count))
        response = await anonymous.http.post("/graphql", json={"query": query + " }"})
        assert len(response.content) < 2_000
        assert {e["extensions"]["code"] for e in response.json()["errors"]} == codes
    assert sql_statements.count == 0


async def test_200_aliases_of_100_nodes_are_refused_before_any_sql(
    city_admin: GraphQLClient, sql_statements: StatementCounter
) -> None:
    ids = [f"T3JnVW5pdDo{i}" for i in range(100)]
    for count, code in ((200, "TOKEN_LIMIT"), (60, "ALIAS_LIMIT")):
        query = "query($ids: [ID!]!) { "
        query += " ".join(f"n{i}: nodes(ids: $ids) {{ id }}" for i in range(count)) + " }"
        await refused(city_admin, query, code, {"ids": ids})
    assert sql_statements.count == 0


async def test_identical_siblings_are_merged_before_validation(anonymous: GraphQLClient) -> None:
    """Checking that fields can merge is exponential in nested repeats (seven levels of
    `parent { .. } parent { .. }` took 0.4 s); identical siblings are merged first."""
    query = "id"
    for _ in range(LIMITS.max_depth - 2):
        query = f"parent {{ {query} }} parent {{ {query} }}"
    assert await anonymous("{ city { " + query + " } }") == {"city": None}
    conflict = await anonymous.errors("{ __typename a: __typename a: __schema { __typename } }")
    assert conflict[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


# --- directives --------------------------------------------------------------------------


def skipped(count: int) -> str:
    return " ".join(f"__typename @skip(if: {'true' if i % 2 else 'false'})" for i in range(count))


async def test_directives_up_to_the_limit_run(anonymous: GraphQLClient) -> None:
    assert await anonymous("{ " + skipped(LIMITS.max_directives) + " }") == {"__typename": "Query"}


async def test_one_directive_more_is_refused(
    anyone: GraphQLClient, sql_statements: StatementCounter
) -> None:
    await refused(anyone, "{ " + skipped(LIMITS.max_directives + 1) + " }", "DIRECTIVE_LIMIT")
    assert sql_statements.count == 0


async def test_directives_count_once_per_fragment_spread(
    anonymous: GraphQLClient, sql_statements: StatementCounter
) -> None:
    per_fragment = LIMITS.max_directives // 2 + 1
    query = "{ ...D ... on Query { ...D } } fragment D on Query { " + skipped(per_fragment) + " }"
    await refused(anonymous, query, "DIRECTIVE_LIMIT")
    assert sql_statements.count == 0


# --- configuration -----------------------------------------------------------------------


async def test_limits_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, database_uri: str
) -> None:
    from models import config
    from schema.http import build_app

    monkeypatch.setenv("GRAPHQL_MAX_DEPTH", "2")
    monkeypatch.setenv("GRAPHQL_MAX_ALIASES", "1")
    monkeypatch.setenv("GRAPHQL_COST_ANONYMOUS", "3")
    config.get_settings.cache_clear()
    try:
        app = build_app(database_uri)
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        other = GraphQLClient(client)
        await refused(other, "{ city { parent { id } } }", "DEPTH_LIMIT")
        await refused(other, "{ a: __typename b: __typename }", "ALIAS_LIMIT")
        await refused(other, "{ city { id name code level } }", "COST_LIMIT")
        assert await other("{ a: __typename }") == {"a": "Query"}


@pytest.mark.parametrize("value", ["0", "-1", "seven", "1e3"])
def test_a_limit_must_be_a_positive_whole_number(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models import config

    monkeypatch.setenv("GRAPHQL_MAX_DEPTH", value)
    config.get_settings.cache_clear()
    try:
        with pytest.raises(config.ConfigurationError, match="GRAPHQL_MAX_DEPTH"):
            config.get_settings()
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()


async def test_the_document_is_parsed_and_validated_once(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTTP layer parses, measures and validates; strawberry executes that document.
    A document sent again is neither parsed nor validated again."""
    import graphql

    from schema import limits, transport

    limits.parsed.cache_clear()
    transport.validation_errors.cache_clear()
    calls = {"parse": 0, "validate": 0}

    def counted_parse(*args: Any, **kwargs: Any) -> Any:
        calls["parse"] += 1
        return graphql.parse(*args, **kwargs)

    def counted_validate(*args: Any, **kwargs: Any) -> Any:
        calls["validate"] += 1
        return graphql.validate(*args, **kwargs)

    def never(*_: Any, **__: Any) -> Any:
        raise AssertionError("strawberry parsed or validated the document again")

    monkeypatch.setattr("schema.limits.parse", counted_parse)
    monkeypatch.setattr("schema.transport.validate", counted_validate)
    monkeypatch.setattr("strawberry.schema.schema.parse", never)
    monkeypatch.setattr("strawberry.schema.schema.validate", never)
    query = "query Named { city { name } ...F } fragment F on Query { me { kind } }"
    for _ in range(3):
        data = await gql(query)
        assert data["city"]["name"]
    assert calls == {"parse": 1, "validate": 1}
