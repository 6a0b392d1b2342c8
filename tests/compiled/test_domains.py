"""The compiled path over the domains merged after it (services, incentives, petition clocks),
attacked: a relation that only the row names (TASKED), decimals, another actor's ids, aliases
and fragments hiding a guarded field, one document sent by actors of different grant shapes
(one cached statement each, never another's), display and integrator tokens. The suite runs
with GRAPHQL_COMPILED=verify: each request below is answered by both paths and fails unless
they agree; `compiled()` also checks that the compiled path answered, not a fallback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import gid, rows, token_client
from tests.services.helpers import act, order

#: A service order as a volunteer's task page reads it: no allowed actions (Python only).
TASK = """query($id: ID!) { node(id: $id) { ... on ServiceOrder {
  id status specialGroup details contactName contactPhone address
  assignee { id } timeline { action toStatus } } } }"""

#: The same guarded fields behind aliases, a named fragment and an inline fragment.
DISGUISED = """query($id: ID!) {
  a: node(id: $id) { ...Who }
  b: node(id: $id) { ... on ServiceOrder { phone: contactPhone where: address } }
  c: nodes(ids: [$id, $id]) { ... on ServiceOrder { name: contactName ...Who } } }
fragment Who on ServiceOrder { status who: contactName note: details }"""


async def compiled(
    client: GraphQLClient,
    caplog: pytest.LogCaptureFixture,
    query: str,
    variables: dict[str, Any] | None = None,
) -> Any:
    """The data of `query`, which the compiled path must have answered (and, in verify mode,
    the resolvers alike)."""
    caplog.clear()
    data = await client(query, variables)
    messages = [r.getMessage() for r in caplog.records if r.name == "schema.compiled"]
    assert any("answered by one compiled statement" in m for m in messages), messages
    return data


@pytest.fixture(autouse=True)
def _debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="schema.compiled")


async def test_a_volunteer_sees_who_and_where_once_the_task_is_theirs(
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    caplog: pytest.LogCaptureFixture,
) -> None:
    resident, worker, renter = (as_account(h) for h in ("resident", "grid-worker", "renter"))
    placed = await order(resident, demo.services.elderly_item.id, details="买两斤鸡蛋")
    ident = placed["order"]["id"]
    dispatched = await act(
        worker,
        placed["order"],
        "DISPATCH",
        teamId=gid("ServiceTeam", demo.services.running_team.id),
    )
    before = (await compiled(renter, caplog, TASK, {"id": ident}))["node"]
    assert (before["contactName"], before["contactPhone"], before["details"]) == (None,) * 3
    accepted = await act(renter, dispatched["order"], "ACCEPT")
    assert accepted["errors"] == []
    mine = (await compiled(renter, caplog, TASK, {"id": ident}))["node"]
    assert mine["contactName"] == "王秀英"
    assert mine["details"] == "买两斤鸡蛋"
    assert mine["contactPhone"]
    assert "*" not in mine["contactPhone"]

    disguised = await compiled(renter, caplog, DISGUISED, {"id": ident})
    assert disguised["a"]["who"] == "王秀英"
    assert disguised["c"][0]["name"] == "王秀英"
    # the same document as the grid worker (another grant shape: a cached statement of its
    # own), the resident herself, and a seconded cadre serving the building, who is none of
    # them (SERVICE: the task, not who)
    assert (await compiled(worker, caplog, DISGUISED, {"id": ident}))["a"]["who"] == "王秀英"
    assert (await compiled(resident, caplog, DISGUISED, {"id": ident}))["b"]["phone"]
    cadre = await compiled(as_account("seconded-cadre"), caplog, DISGUISED, {"id": ident})
    assert cadre["a"] is None or cadre["a"]["who"] is None
    # and the volunteer again, after them: still his own statement
    again = await compiled(renter, caplog, DISGUISED, {"id": ident})
    assert again == disguised


async def test_tokens_read_service_orders_as_their_rules_say(
    as_account: Callable[[str], GraphQLClient],
    session: AsyncSession,
    http: httpx.AsyncClient,
    demo: DemoCity,
    caplog: pytest.LogCaptureFixture,
) -> None:
    placed = await order(as_account("resident"), demo.services.elderly_item.id, details="代购")
    ident = placed["order"]["id"]
    integrator = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    seen = (await compiled(integrator, caplog, TASK, {"id": ident}))["node"]
    assert seen is not None
    assert seen["contactPhone"] is None or "*" in seen["contactPhone"]
    assert seen["contactName"] is None or seen["contactName"] != "王秀英"
    display = await token_client(session, http, TokenRole.DISPLAY, demo.renheyuan)
    assert (await compiled(display, caplog, DISGUISED, {"id": ident}))["a"] is None


async def test_fee_reductions_by_id_their_own_and_nobody_elses(
    as_account: Callable[[str], GraphQLClient],
    session: AsyncSession,
    demo: DemoCity,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A decimal prints as the resolvers print it ("300.00"); a stranger's id reads null."""
    [(fee, amount)] = await rows(session, "SELECT id, amount_yuan FROM fee_reduction")
    query = """query($id: ID!) { node(id: $id) { ... on FeeReduction {
      amountYuan period person { id } } } }"""
    variables = {"id": gid("FeeReduction", int(fee))}
    admin = await compiled(as_account("community-admin"), caplog, query, variables)
    assert admin["node"]["amountYuan"] == str(amount)
    for stranger in ("resident", "renter", "building-head"):
        assert (await compiled(as_account(stranger), caplog, query, variables))["node"] is None


async def test_petition_stages_and_clocks_compile(
    as_account: Callable[[str], GraphQLClient],
    demo_petitions: DemoCity,
    caplog: pytest.LogCaptureFixture,
) -> None:
    query = """{ petitions(first: 5) { nodes { title dueAt caseDueAt overdue caseOverdue onTime
      stages { level round startedAt dueAt endedBy onTime owner { name } } } } }"""
    for handle in ("city-admin", "community-admin", "grid-worker", "resident"):
        data = await compiled(as_account(handle), caplog, query)
        if handle == "city-admin":
            assert any(p["stages"] for p in data["petitions"]["nodes"])
