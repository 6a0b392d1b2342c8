"""Malformed requests: each a 400 GraphQL-shaped error with a code and the request id, the
`X-Request-ID` header, one log line, never a stack trace or a bare text/plain 500."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from ops.metrics import REQUEST_LOG
from permissions.limits import Limits
from tests.conftest import StatementCounter

QUERY = "{ __typename }"
JSON = "application/json"
UNSUPPORTED = "UNSUPPORTED_MEDIA_TYPE"
LIMITS = Limits()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


CASES: dict[str, tuple[bytes, str, str]] = {
    "a number": (b"42", "application/json", "BAD_REQUEST"),
    "null": (b"null", "application/json", "BAD_REQUEST"),
    "an array": (b"[]", "application/json", "BAD_REQUEST"),
    "a batch": (json.dumps([{"query": QUERY}]).encode(), "application/json", "BAD_REQUEST"),
    "a string": (b'"{ __typename }"', "application/json", "BAD_REQUEST"),
    "invalid UTF-8": (b'{"query": "{ __typename \xff\xfe }"}', "application/json", "BAD_REQUEST"),
    "UTF-16": ('{"query": "{ __typename }"}'.encode("utf-16"), "application/json", "BAD_REQUEST"),
    "invalid JSON": (b'{"query": "{ __typename }"', "application/json", "BAD_REQUEST"),
    "NaN": (b'{"query": "{ __typename }", "variables": {"a": NaN}}', JSON, "BAD_REQUEST"),
    "empty": (b"", "application/json", "BAD_REQUEST"),
    "no query": (b'{"qeury": "{ __typename }"}', "application/json", "BAD_REQUEST"),
    "query not a string": (b'{"query": {"a": 1}}', "application/json", "BAD_REQUEST"),
    "variables not an object": (
        b'{"query": "{ __typename }", "variables": "x"}',
        "application/json",
        "BAD_REQUEST",
    ),
    "variables 5,000 deep": (
        f'{{"query": "{QUERY}", "variables": {{"a": {nested(5000)}}}}}'.encode(),
        "application/json",
        "BAD_REQUEST",
    ),
    "variables 500 deep": (
        f'{{"query": "{QUERY}", "variables": {{"a": {nested(500)}}}}}'.encode(),
        "application/json",
        "BAD_REQUEST",
    ),
    "text/plain": (json.dumps({"query": QUERY}).encode(), "text/plain", "UNSUPPORTED_MEDIA_TYPE"),
    "a form": (b"query=%7B__typename%7D", "application/x-www-form-urlencoded", UNSUPPORTED),
    "no content type": (json.dumps({"query": QUERY}).encode(), "", "UNSUPPORTED_MEDIA_TYPE"),
    "latin-1 charset": (
        json.dumps({"query": QUERY}).encode(),
        "application/json; charset=latin-1",
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    "a huge body": (
        json.dumps({"query": QUERY, "variables": {"a": "x" * LIMITS.max_body_bytes}}).encode(),
        "application/json",
        "BODY_TOO_LARGE",
    ),
}


def assert_one_clean_refusal(
    response: httpx.Response, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    rid = response.headers["X-Request-ID"]
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["requestId"] == rid
    assert "Traceback" not in response.text
    # the request log (`app.requests`) has its one line per request besides
    mentioning = [r for r in caplog.records if rid in r.getMessage() and r.name != REQUEST_LOG.name]
    assert len(mentioning) == 1, [r.getMessage() for r in caplog.records]
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("case", list(CASES))
async def test_a_malformed_body_is_a_clean_400(
    case: str,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    sql_statements: StatementCounter,
) -> None:
    caplog.set_level(logging.INFO)
    content, content_type, code = CASES[case]
    headers = {"Content-Type": content_type} if content_type else {}
    response = await http.post("/graphql", content=content, headers=headers)
    assert_one_clean_refusal(response, code, caplog)
    assert sql_statements.count == 0


async def test_a_huge_chunked_body_is_cut_off(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """No Content-Length to trust: reading stops at the limit, not at the end."""
    caplog.set_level(logging.INFO)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "{ __typename }", "variables": {"a": "'
        for _ in range(1_000):
            sent += 65_536
            yield b"x" * 65_536
        yield b'"}}'

    response = await http.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_one_clean_refusal(response, "BODY_TOO_LARGE", caplog)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"query": QUERY, "variables": "{not json"}, "BAD_REQUEST"),
        ({"query": QUERY, "variables": "[1]"}, "BAD_REQUEST"),
        ({"query": QUERY, "extensions": "42"}, "BAD_REQUEST"),
        ({"variables": "{}"}, "BAD_REQUEST"),
    ],
)
async def test_malformed_get_parameters_are_a_clean_400(
    params: dict[str, str],
    code: str,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    response = await http.get("/graphql", params=params, headers={"Accept": "application/json"})
    assert_one_clean_refusal(response, code, caplog)


async def test_a_parameter_given_twice_is_refused(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = await http.get("/graphql?query=%7B__typename%7D&query=%7Bme%7Bkind%7D%7D")
    assert_one_clean_refusal(response, "BAD_REQUEST", caplog)
    assert response.json()["errors"][0]["extensions"]["field"] == "query"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_other_methods_get_a_graphql_shaped_405(method: str, http: httpx.AsyncClient) -> None:
    response = await http.request(method, "/graphql", json={"query": QUERY})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert error["extensions"]["requestId"] == response.headers["X-Request-ID"]


async def test_a_mutation_over_get_is_refused_before_any_sql(
    http: httpx.AsyncClient, sql_statements: StatementCounter
) -> None:
    response = await http.get(
        "/graphql",
        params={"query": 'mutation { signIn(input: {phone: "1", password: "2"}) { accessToken } }'},
    )
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert sql_statements.count == 0


async def test_an_accept_header_naming_nothing_we_serve_is_406(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json={"query": QUERY}, headers={"Accept": "application/xml"}
    )
    assert response.status_code == 406
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "NOT_ACCEPTABLE"
    assert error["extensions"]["requestId"] == response.headers["X-Request-ID"]
