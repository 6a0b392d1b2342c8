"""The compiled path as production runs it (GRAPHQL_COMPILED=on: the resolvers never see the
query) sits behind the endpoint's checks, never around them: a token held to an allow-list
runs its listed operations only, and every compiled answer is in the request log and the
metrics with its statements, as a resolved one is."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models.identity import TokenRole
from ops.metrics import REGISTRY, REQUEST_LOG
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, StatementCounter
from tests.permissions.support import gid, mutation, rows, token_client
from tests.persisted.test_apq import SET, codes, persisted, post, register, sha

QUERY = "query CityName { city { name } }"
OTHER = "query CityCode { city { code } }"


@pytest.fixture
def compiled() -> str:
    return "on"


@pytest.fixture(autouse=True)
def _debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=REQUEST_LOG.name)
    caplog.set_level(logging.DEBUG, logger="schema.compiled")  # last: the handler's level


def answered_compiled(caplog: pytest.LogCaptureFixture) -> bool:
    return any(
        "answered by one compiled statement" in r.getMessage()
        for r in caplog.records
        if r.name == "schema.compiled"
    )


async def test_an_allow_list_holds_a_token_to_its_operations_on_the_compiled_path(
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    session: AsyncSession,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin = as_account("community-admin")
    token = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    [(token_id,)] = await rows(session, "SELECT max(id) FROM api_token")
    await register(admin, QUERY)
    held = await mutation(
        admin,
        "setApiTokenOperations",
        "SetApiTokenOperationsInput",
        {"id": gid("ApiToken", token_id), "operations": [sha(QUERY)]},
        SET,
    )
    assert held["errors"] == []
    caplog.clear()
    refusals: list[dict[str, Any]] = [
        {"query": OTHER},
        {"query": OTHER, "extensions": persisted(OTHER)},
        {"query": "{ people(first: 1) { totalCount } }"},
    ]
    for body in refusals:
        refused = await post(token, body)
        assert codes(refused) == ["OPERATION_NOT_ALLOWED"], body
        assert "data" not in refused.json()
    assert not answered_compiled(caplog), "a refused operation was compiled and run"
    admitted: list[dict[str, Any]] = [{"query": QUERY}, {"extensions": persisted(QUERY)}]
    for body in admitted:
        caplog.clear()
        answer = await post(token, body)
        assert answer.json()["data"] == {"city": {"name": "遵义市"}}
        assert answered_compiled(caplog)


async def test_a_compiled_answer_is_logged_and_counted_with_its_statements(
    gql: GraphQLClient,
    engine: AsyncEngine,
    sql_statements: StatementCounter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def ok() -> float:
        labels = {"operation": "CityName", "outcome": "ok"}
        return REGISTRY.get_sample_value("graphql_requests_total", labels) or 0.0

    savepoints: list[str] = []  # the suite's sessions nest in savepoints; the log counts them

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            savepoints.append(statement)

    before = ok()
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    sql_statements.reset()
    try:
        await gql(QUERY)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert answered_compiled(caplog)
    assert ok() == before + 1
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == REQUEST_LOG.name]
    assert (line["operationName"], line["outcome"], line["status"]) == ("CityName", "ok", 200)
    # the caller's lookup and the compiled statement, both run by the driver itself
    assert sql_statements.count == 2, sql_statements.statements
    assert line["statements"] == sql_statements.count + len(savepoints)
