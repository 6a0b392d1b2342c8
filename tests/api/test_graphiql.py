"""GraphiQL opens with the README's example operations, valid against the schema as it is, and
says how to send the Authorization header."""

from __future__ import annotations

import re

import httpx
from graphql import parse, validate

from schema.root import schema


async def test_graphiql_opens_with_valid_examples_and_the_header_hint(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    match = re.search(r"const EXAMPLE_QUERY = `(.*?)`;", page.text, re.DOTALL)
    assert match, "the page has no default document"
    document = match.group(1).replace("\\`", "`")
    assert '"Authorization": "Bearer <the accessToken>"' in document
    parsed = parse(document)
    names = {d.name.value for d in parsed.definitions if getattr(d, "name", None)}  # type: ignore[attr-defined]
    assert {
        "SignIn",
        "MyBuilding",
        "CommunityDashboard",
        "EldersLivingAlone",
        "DistrictScreen",
    } <= names
    assert validate(schema._schema, parsed) == []
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert scripts
    assert all(s.startswith(("/graphiql-static/", "data:")) for s in scripts)
