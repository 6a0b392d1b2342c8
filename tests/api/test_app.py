"""The HTTP app around the schema: probes, self-hosted GraphiQL, request ids, the SDL, the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from schema.root import schema
from tests.conftest import GraphQLClient

ROOT = Path(__file__).resolve().parents[2]


async def test_healthz(gql: GraphQLClient) -> None:
    response = await gql.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz(gql: GraphQLClient) -> None:
    response = await gql.http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "script" and "src" in found:
            self.scripts.append(found["src"])
        if tag == "link" and "href" in found:
            self.links.append((found.get("rel", ""), found["href"]))


async def test_graphiql_is_self_hosted(gql: GraphQLClient) -> None:
    response = await gql.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "graphiql" in html.lower()
    assets = _Assets()
    assets.feed(html)
    assert any(src.endswith("/graphiql.min.js") for src in assets.scripts)
    assert assets.scripts, "GraphiQL loads no scripts"
    for src in assets.scripts:
        assert src.startswith("/graphiql-static/"), src
    urls = assets.scripts + [href for _, href in assets.links]
    for url in urls:
        assert not re.match(r"^\s*(https?:)?//", url, re.IGNORECASE), url
    stylesheets = [href for rel, href in assets.links if rel == "stylesheet"]
    assert stylesheets
    assert all(href.startswith("/graphiql-static/") for href in stylesheets)
    for cdn in ("unpkg.com", "jsdelivr", "cdnjs", "googleapis"):
        assert cdn not in html
    for local in [*assets.scripts, *stylesheets]:
        served = await gql.http.get(local)
        assert served.status_code == 200, local
        assert served.content


async def test_graphiql_bundle_is_served(gql: GraphQLClient) -> None:
    response = await gql.http.get("/graphiql-static/graphiql.min.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert len(response.content) > 100_000
    assert (await gql.http.get("/graphiql-static/no-such-file.js")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/no-such-page"), ("POST", "/graphql")],
)
async def test_every_response_has_a_request_id(gql: GraphQLClient, method: str, path: str) -> None:
    response = await gql.http.request(
        method, path, json={"query": "{ city { id } }"} if method == "POST" else None
    )
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


async def test_request_ids_differ_per_request(gql: GraphQLClient) -> None:
    ids = {(await gql.http.get("/healthz")).headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


async def test_errors_carry_the_request_id(gql: GraphQLClient) -> None:
    for query in ("{ nope }", "{ buildings(first: 101) { totalCount } }"):
        response = await gql.http.post("/graphql", json={"query": query})
        rid = response.headers["X-Request-ID"]
        errors = response.json()["errors"]
        assert errors
        assert [e["extensions"]["requestId"] for e in errors] == [rid] * len(errors)
        assert all(e["extensions"]["code"] for e in errors)


async def test_a_given_request_id_is_echoed(gql: GraphQLClient) -> None:
    response = await gql.http.post(
        "/graphql",
        json={"query": "{ buildings(first: 101) { totalCount } }"},
        headers={"X-Request-ID": "trace-abc-123"},
    )
    assert response.headers["X-Request-ID"] == "trace-abc-123"
    assert response.json()["errors"][0]["extensions"]["requestId"] == "trace-abc-123"
    too_long = await gql.http.get("/healthz", headers={"X-Request-ID": "x" * 65})
    assert re.fullmatch(r"[0-9a-f]{32}", too_long.headers["X-Request-ID"])


async def test_syntax_error_is_reported_with_code_and_request_id(gql: GraphQLClient) -> None:
    response = await gql.http.post("/graphql", json={"query": "{ city { id "})
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert "Syntax Error" in errors[0]["message"]
    assert errors[0]["extensions"]["code"]
    assert errors[0]["extensions"]["requestId"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "query",
    [
        "{ city { id } workUnits { totalCount } }",
        '{ city { id } orgUnit(code: "520303") { id } }',
        "{ city { id } people { totalCount } }",
    ],
)
async def test_two_root_fields_in_one_query(gql: GraphQLClient, query: str) -> None:
    body = await gql.raw(query)
    assert "errors" not in body, body["errors"]
    assert body["data"]["city"]["id"]


def test_checked_in_schema_is_current() -> None:
    checked_in = (ROOT / "schema" / "schema.graphql").read_text(encoding="utf-8")
    assert checked_in == schema.as_str() + "\n", (
        "schema/schema.graphql is stale: run `make schema` and commit the result"
    )


def test_cli_help_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "app.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in ("serve", "migrate", "seed", "export-schema"):
        assert re.search(rf"\b{command}\b", result.stdout), command
