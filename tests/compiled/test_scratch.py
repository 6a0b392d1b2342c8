import logging
import pytest
from tests.conftest import GraphQLClient

QUERIES = [
 '{ orgUnit(code: "520303") { name code level children { totalCount nodes { name kind } } } }',
 '{ city { name ancestors { name } } }',
 '{ people(filter: {namePrefix: "王"}, first: 5) { totalCount edges { cursor node { name phone household { unit room building { name } } } } pageInfo { hasNextPage endCursor } } }',
 '{ buildings(first: 3) { nodes { id name head { name phone } headPosition { role startedAt } households(first: 2) { totalCount nodes { unit room members { name phone birthDate age ageBand } } } } } }',
 '{ petitions(first: 3) { totalCount nodes { title status submittedAt overdue reporter { name } category { name } timeline { action at actor { name } } } } }',
]

@pytest.mark.parametrize("q", QUERIES)
async def test_scratch(as_account, demo_petitions, q, caplog):
    caplog.set_level(logging.DEBUG, logger="schema.compiled")
    for who in ("city-admin", "building-head", "community-admin", "resident", "grid-worker"):
        c = as_account(who)
        body = await c.raw(q)
        assert "errors" not in body, body
    print("\n".join(r.getMessage() for r in caplog.records))
    assert not any("falls back" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
