"""A request context needs no HTTP request: a scheduled job or a subscription builds one from
an actor, a request id and a session factory, and runs operations through the same schema,
the same row scope and the same field policy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.identity import Account
from permissions.actor import Actor
from resolvers.identity import issue_access_token
from schema.auth import actor_for
from schema.context import Context
from schema.root import schema
from seeds.demo import DemoCity

QUERY = """query($id: ID!) { node(id: $id) { ... on Person { name phone } } }"""


async def run(context: Context, person_id: int) -> dict[str, object]:
    from tests.petitions_api.helpers import gid

    result = await schema.execute(
        QUERY, variable_values={"id": gid("Person", person_id)}, context_value=context
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def test_a_context_made_without_http_applies_scope_and_policy(
    sessions: async_sessionmaker[AsyncSession],
    demo: DemoCity,
    accounts: dict[str, Account],
) -> None:
    neighbour = demo.renter.id
    assert neighbour is not None
    account = accounts["building-head"]
    assert account.id is not None
    bearer = f"Bearer {issue_access_token(account.id)}"

    async def head(session: AsyncSession) -> Actor:
        return await actor_for(session, bearer)

    async with Context.open(sessions, "job-1", head) as context:
        seen = await run(context, neighbour)
        assert context.actor.person_id == demo.building_head.id
    assert seen == {"node": {"name": demo.renter.name, "phone": demo.renter.phone}}

    async with Context.open(sessions, "job-2", Actor.anonymous()) as context:
        assert await run(context, neighbour) == {"node": None}, "row scope: nothing for nobody"

    async with Context.open(sessions, "job-3", Actor.system()) as context:
        assert (await run(context, neighbour))["node"] == seen["node"]
