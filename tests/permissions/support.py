"""Helpers shared by the permission and identity tests: ids, API-token clients, actors, SQL."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from models.org import OrgUnit
from permissions.actor import Actor
from resolvers.identity import create_api_token
from schema.auth import actor_for
from schema.relay import to_global_id
from tests.conftest import GraphQLClient

ERRORS = "errors { code field message }"
#: A database id that no demo row has (ids are bigint identities counting from 1).
MISSING_ID = 987_654_321


def gid(type_name: str, ident: int | None) -> str:
    assert ident is not None
    return str(to_global_id(type_name, ident))


async def token_client(
    session: AsyncSession, http: httpx.AsyncClient, role: TokenRole, unit: OrgUnit, days: int = 30
) -> GraphQLClient:
    """A client authenticated by a fresh API token of `role` bound to `unit`."""
    assert unit.id is not None
    issued = await create_api_token(
        session, name=f"test {role}", role=role, org_unit_id=unit.id, days=days, created_by=None
    )
    await session.flush()
    return GraphQLClient(http, {"Authorization": f"Bearer {issued.secret}"})


async def actor_of(session: AsyncSession, client: GraphQLClient) -> Actor:
    """The actor a client's credentials resolve to, as the app resolves them."""
    return await actor_for(session, client.headers.get("Authorization"))


async def rows(session: AsyncSession, statement: str, **params: Any) -> list[Any]:
    return list((await session.execute(sa.text(statement), params)).all())


async def ids(session: AsyncSession, statement: str, **params: Any) -> set[int]:
    return {int(row[0]) for row in await rows(session, statement, **params)}


async def first_id_under(session: AsyncSession, table: str, under: str | None) -> int:
    """The smallest id of `table` rows whose path lies under `under`."""
    [(found,)] = await rows(
        session,
        f"SELECT id FROM {table} WHERE path <@ CAST(:under AS ltree) ORDER BY id LIMIT 1",
        under=under,
    )
    return int(found)


async def mutation(
    client: GraphQLClient, name: str, input_type: str, input: dict[str, Any], selection: str
) -> dict[str, Any]:
    """Run one mutation that must not raise a GraphQL error; return its payload."""
    data = await client(
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} {ERRORS} }} }}",
        {"input": input},
    )
    payload: dict[str, Any] = data[name]
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [str(error["code"]) for error in payload["errors"]]
