"""Automatic persisted queries as Apollo clients speak them (GET and POST), registered
operations, and the allow-lists DISPLAY and INTEGRATOR tokens can be held to."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import gid, mutation, rows, token_client

QUERY = "query CityName { city { name } }"
OTHER = "query CityCode { city { code } }"


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha(document)}}


async def post(client: GraphQLClient, body: dict[str, Any]) -> httpx.Response:
    return await client.http.post("/graphql", json=body, headers=client.headers)


async def get(client: GraphQLClient, **params: Any) -> httpx.Response:
    encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return await client.http.get("/graphql", params=encoded, headers=client.headers)


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


async def test_the_apollo_exchange_over_post(gql: GraphQLClient) -> None:
    # 1. the hash alone: not known yet, as Apollo's link expects it
    first = await post(gql, {"extensions": persisted(QUERY)})
    assert first.status_code == 200
    assert first.headers["cache-control"] == "private, no-cache, must-revalidate"
    [error] = first.json()["errors"]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert "data" not in first.json()
    # 2. the hash with the document: run and remembered, the cost reported as always
    second = await post(gql, {"query": QUERY, "extensions": persisted(QUERY)})
    assert second.json()["data"] == {"city": {"name": "遵义市"}}
    assert second.json()["extensions"]["cost"]["requested"] > 0
    # 3. the hash alone again: runs, with the same cost
    third = await post(gql, {"extensions": persisted(QUERY)})
    assert third.json() == second.json()


async def test_the_apollo_exchange_over_get(gql: GraphQLClient) -> None:
    assert codes(await get(gql, extensions=persisted(QUERY))) == ["PERSISTED_QUERY_NOT_FOUND"]
    registered = await get(gql, query=QUERY, extensions=persisted(QUERY))
    assert registered.json()["data"] == {"city": {"name": "遵义市"}}
    again = await get(gql, extensions=persisted(QUERY))
    assert again.json()["data"] == {"city": {"name": "遵义市"}}
    assert again.json()["extensions"]["cost"] == registered.json()["extensions"]["cost"]


async def test_a_hash_is_never_bound_to_another_document(gql: GraphQLClient) -> None:
    """Hash hijacking: registering OTHER under QUERY's hash would make every client that sends
    QUERY's hash run OTHER."""
    hijack = await post(gql, {"query": OTHER, "extensions": persisted(QUERY)})
    assert hijack.status_code == 400
    assert hijack.json()["errors"][0]["message"] == "provided sha does not match query"
    assert codes(await post(gql, {"extensions": persisted(QUERY)})) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_refused_document_is_not_remembered(gql: GraphQLClient) -> None:
    bad = "query Bad { city { nosuchfield } }"
    refused = await post(gql, {"query": bad, "extensions": persisted(bad)})
    assert codes(refused) == ["GRAPHQL_VALIDATION_FAILED"]
    assert codes(await post(gql, {"extensions": persisted(bad)})) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": sha(QUERY)}},
        {"persistedQuery": {"version": 1, "sha256Hash": "ABC"}},
        {"persistedQuery": "yes"},
    ],
)
async def test_a_malformed_persisted_query_is_a_400(
    gql: GraphQLClient, extensions: dict[str, Any]
) -> None:
    response = await post(gql, {"extensions": extensions})
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]


async def test_persisted_queries_can_be_turned_off(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch, database_uri: str, sessions: Any
) -> None:
    from schema.http import build_app

    monkeypatch.setenv("GRAPHQL_PERSISTED_QUERIES", "off")
    app = build_app(database_uri, sessionmaker=sessions)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        client = GraphQLClient(http, gql.headers)
        response = await post(client, {"query": QUERY, "extensions": persisted(QUERY)})
        assert response.status_code == 200
        assert response.json()["errors"][0]["message"] == "PersistedQueryNotSupported"
        assert codes(response) == ["PERSISTED_QUERY_NOT_SUPPORTED"]


REGISTER = "operation { sha256 operationName document description registeredAt }"


async def register(client: GraphQLClient, document: str, description: str = "") -> dict[str, Any]:
    return await mutation(
        client,
        "registerOperation",
        "RegisterOperationInput",
        {"document": document, "description": description or None},
        REGISTER,
    )


async def test_registered_operations_are_known_by_hash_everywhere(
    as_account: Callable[[str], GraphQLClient], anonymous: GraphQLClient
) -> None:
    admin = as_account("community-admin")
    payload = await register(admin, QUERY, "the city's name")
    assert payload["errors"] == []
    assert payload["operation"]["sha256"] == sha(QUERY)
    assert payload["operation"]["operationName"] == "CityName"
    # a fresh process (this test's app never saw the text) runs it by its hash
    response = await post(as_account("resident"), {"extensions": persisted(QUERY)})
    assert response.json()["data"] == {"city": {"name": "遵义市"}}
    listed = await admin("{ registeredOperations { sha256 operationName description } }")
    assert {
        "sha256": sha(QUERY),
        "operationName": "CityName",
        "description": "the city's name",
    } in (listed["registeredOperations"])
    [error] = await as_account("grid-worker").errors("{ registeredOperations { sha256 } }")
    assert error["extensions"]["code"] == "FORBIDDEN"
    [error] = await anonymous.errors("{ registeredOperations { sha256 } }")
    assert error["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "document",
    [
        "{ city { name } }",  # no name
        "query A { city { name } } query B { city { code } }",
        "query Nope { city { nosuch } }",
        "query Broken { city { name }",
        "subscription S { city }",
    ],
)
async def test_only_one_valid_named_operation_is_registered(
    as_account: Callable[[str], GraphQLClient], document: str
) -> None:
    payload = await register(as_account("community-admin"), document)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("VALIDATION", "document")]


async def test_a_grid_worker_registers_nothing(as_account: Callable[[str], GraphQLClient]) -> None:
    payload = await register(as_account("grid-worker"), QUERY)
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]


SET = "apiToken { id } allowedOperations"


@pytest.mark.parametrize("role", [TokenRole.INTEGRATOR, TokenRole.DISPLAY])
async def test_a_token_held_to_an_allow_list_runs_only_what_it_lists(
    role: TokenRole,
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    session: AsyncSession,
    http: httpx.AsyncClient,
) -> None:
    admin = as_account("community-admin")
    token = await token_client(session, http, role, demo.renheyuan)
    [(token_id,)] = await rows(session, "SELECT max(id) FROM api_token")
    assert (await post(token, {"query": OTHER})).json()["data"]  # not held yet
    await register(admin, QUERY)
    held = await mutation(
        admin,
        "setApiTokenOperations",
        "SetApiTokenOperationsInput",
        {"id": gid("ApiToken", token_id), "operations": [sha(QUERY)]},
        SET,
    )
    assert held["errors"] == []
    assert held["allowedOperations"] == [sha(QUERY)]
    # its listed operation, by text or by hash alone
    assert (await post(token, {"query": QUERY})).json()["data"] == {"city": {"name": "遵义市"}}
    assert (await post(token, {"extensions": persisted(QUERY)})).json()["data"]
    # anything else, even an APQ registration of it, is refused with a stable code
    for body in (
        {"query": OTHER},
        {"query": OTHER, "extensions": persisted(OTHER)},
        {"query": QUERY + " "},  # another text is another operation
    ):
        refused = await post(token, body)
        assert codes(refused) == ["OPERATION_NOT_ALLOWED"], body
        assert "data" not in refused.json()
        assert refused.json()["extensions"]["cost"]["requested"] > 0
    listed = await admin(
        "query($id: ID!) { apiTokenOperations(id: $id) }", {"id": gid("ApiToken", token_id)}
    )
    assert listed["apiTokenOperations"] == [sha(QUERY)]
    # lifted again
    lifted = await mutation(
        admin,
        "setApiTokenOperations",
        "SetApiTokenOperationsInput",
        {"id": gid("ApiToken", token_id), "operations": None},
        SET,
    )
    assert lifted["allowedOperations"] is None
    assert (await post(token, {"query": OTHER})).json()["data"]


async def test_an_allow_list_names_registered_operations_of_a_token_one_governs(
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    session: AsyncSession,
    http: httpx.AsyncClient,
) -> None:
    await token_client(session, http, TokenRole.INTEGRATOR, demo.lingxi)
    [(far_token,)] = await rows(session, "SELECT max(id) FROM api_token")
    await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    [(own_token,)] = await rows(session, "SELECT max(id) FROM api_token")
    admin = as_account("community-admin")
    unknown = await mutation(
        admin,
        "setApiTokenOperations",
        "SetApiTokenOperationsInput",
        {"id": gid("ApiToken", own_token), "operations": [sha("query Never { city { id } }")]},
        SET,
    )
    assert [(e["code"], e["field"]) for e in unknown["errors"]] == [("VALIDATION", "operations")]
    far = await mutation(
        admin,
        "setApiTokenOperations",
        "SetApiTokenOperationsInput",
        {"id": gid("ApiToken", far_token), "operations": []},
        SET,
    )
    assert [e["code"] for e in far["errors"]] == ["NOT_FOUND"]
    worker = await mutation(
        as_account("grid-worker"),
        "setApiTokenOperations",
        "SetApiTokenOperationsInput",
        {"id": gid("ApiToken", own_token), "operations": []},
        SET,
    )
    assert [e["code"] for e in worker["errors"]] == ["NOT_FOUND"]


async def test_people_are_never_held_to_an_allow_list(gql: GraphQLClient) -> None:
    assert (await post(gql, {"query": OTHER})).json()["data"]
