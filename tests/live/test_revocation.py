"""Credentials that end close the WebSocket connections opened with them, on every app
instance at once: signing out, a replayed refresh token, a new password, a disabled account,
a revoked API token. Changed grants are read again without closing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.identity import Account, TokenRole
from resolvers.identity import hash_password
from tests.live.support import (
    ERRORS,
    LiveCity,
    Servers,
    Socket,
    connected,
    gid,
    gql,
    submit,
)

PASSWORD = "party-member-secret-1"
SESSION = f"accessToken refreshToken {ERRORS}"
EVENTS = """subscription($u: ID!) {
  petitionEvents(under: $u) { id event { action } petition { id } } }"""


async def anonymous_gql(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    return response.json()["data"]


@pytest.fixture(scope="module")
async def member(city: LiveCity) -> str:
    """The phone of a Party member of the demo building, given an account for these tests
    (so that changing its password leaves the other demo accounts alone)."""
    person = city.demo.party_member
    assert person.id is not None
    assert person.phone is not None
    async with AsyncSession(city.engine) as session:
        session.add(
            Account(person_id=person.id, phone=person.phone, password_hash=hash_password(PASSWORD))
        )
        await session.commit()
    return person.phone


async def sign_in(http: httpx.AsyncClient, phone: str, password: str = PASSWORD) -> Any:
    data = await anonymous_gql(
        http,
        f"mutation($i: SignInInput!) {{ signIn(input: $i) {{ {SESSION} }} }}",
        {"i": {"phone": phone, "password": password}},
    )
    assert data["signIn"]["errors"] == [], data
    return data["signIn"]


async def watching(base: str, token: str, city: LiveCity) -> Socket:
    socket = await connected(base, token)
    await socket.subscribe("events", EVENTS, {"u": gid("Building", city.demo.building.id)})
    await socket.send({"type": "ping"})
    assert await socket.receive() == {"type": "pong"}  # the subscription is in place
    return socket


async def test_signing_out_closes_the_sessions_connections_on_every_instance(
    servers: Servers, city: LiveCity, member: str
) -> None:
    first, second = servers.start(), servers.start()
    async with httpx.AsyncClient(base_url=first) as http:
        session = await sign_in(http, member)
        other = await sign_in(http, member)
        here = await watching(first, session["accessToken"], city)
        there = await watching(second, session["accessToken"], city)
        elsewhere = await watching(second, other["accessToken"], city)
        started = asyncio.get_running_loop().time()
        await anonymous_gql(
            http,
            f"mutation($i: RefreshSessionInput!) {{ signOut(input: $i) {{ ok {ERRORS} }} }}",
            {"i": {"refreshToken": session["refreshToken"]}},
        )
        assert await here.closed() == (4403, "Forbidden: the credentials ended")
        assert await there.closed() == (4403, "Forbidden: the credentials ended")
        assert asyncio.get_running_loop().time() - started < 5
        # the account's other session goes on
        await elsewhere.send({"type": "ping"})
        assert await elsewhere.receive() == {"type": "pong"}
        await elsewhere.close()


async def test_a_replayed_refresh_token_closes_the_connections_of_its_chain(
    server: str, city: LiveCity, member: str
) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        first = await sign_in(http, member)
        refresh = (
            f"mutation($i: RefreshSessionInput!) {{ refreshSession(input: $i) {{ {SESSION} }} }}"
        )
        given = {"i": {"refreshToken": first["refreshToken"]}}
        rotated = (await anonymous_gql(http, refresh, given))["refreshSession"]
        socket = await watching(server, rotated["accessToken"], city)
        replay = await anonymous_gql(http, refresh, {"i": {"refreshToken": first["refreshToken"]}})
        assert [e["code"] for e in replay["refreshSession"]["errors"]] == ["UNAUTHENTICATED"]
        assert (await socket.closed())[0] == 4403


async def test_a_new_password_closes_every_connection_of_the_account(
    server: str, city: LiveCity, member: str
) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        one, two = await sign_in(http, member), await sign_in(http, member)
        sockets = [await watching(server, s["accessToken"], city) for s in (one, two)]
        changed = await gql(
            http,
            f"""mutation($i: ChangePasswordInput!) {{
                  changePassword(input: $i) {{ ok accessToken {ERRORS} }} }}""",
            {"i": {"currentPassword": PASSWORD, "newPassword": PASSWORD + "-new"}},
            token=one["accessToken"],
        )
        assert changed["changePassword"]["ok"] is True
        for socket in sockets:
            assert (await socket.closed())[0] == 4403
        fresh = await watching(server, changed["changePassword"]["accessToken"], city)
        await fresh.close()
        await gql(
            http,
            f"""mutation($i: ChangePasswordInput!) {{
                  changePassword(input: $i) {{ ok {ERRORS} }} }}""",
            {"i": {"currentPassword": PASSWORD + "-new", "newPassword": PASSWORD}},
            token=changed["changePassword"]["accessToken"],
        )


async def test_a_disabled_account_is_disconnected(server: str, city: LiveCity, member: str) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        session = await sign_in(http, member)
    socket = await watching(server, session["accessToken"], city)
    async with city.engine.begin() as conn:
        await conn.execute(
            sa.update(Account).where(col(Account.phone) == member).values(disabled_at=sa.func.now())
        )
    try:
        assert (await socket.closed())[0] == 4403
    finally:
        async with city.engine.begin() as conn:
            await conn.execute(
                sa.update(Account).where(col(Account.phone) == member).values(disabled_at=None)
            )


async def test_a_revoked_api_token_is_disconnected(
    server: str, city: LiveCity, client: httpx.AsyncClient
) -> None:
    token_id, secret = await city.api_token(TokenRole.DISPLAY, city.demo.renheyuan)
    socket = await connected(server, secret)
    feed = "subscription($u: ID!) { displayFeed(under: $u) { id } }"
    await socket.subscribe("feed", feed, {"u": gid("OrgUnit", city.demo.renheyuan.id)})
    revoked = await gql(
        client,
        f"""mutation($i: RevokeApiTokenInput!) {{
              revokeApiToken(input: $i) {{ apiToken {{ revokedAt }} {ERRORS} }} }}""",
        {"i": {"id": gid("ApiToken", token_id)}},
        token=city.token("community-admin"),
    )
    assert revoked["revokeApiToken"]["errors"] == []
    assert (await socket.closed())[0] == 4403


async def test_new_grants_are_read_again_without_closing(
    server: str, city: LiveCity, member: str, client: httpx.AsyncClient
) -> None:
    """A resident sees her own cases only; appointed household liaison of her building, the
    same connection goes on and now hears of her neighbours' cases."""
    session = await sign_in(client, member)
    socket = await watching(server, session["accessToken"], city)
    building = gid("Building", city.demo.building.id)
    before = await submit(client, city.token("renter"), building)
    assert [f for f in await socket.quiet(1.0) if f.get("id") == "events"] == []
    admin = city.token("community-admin")
    appointed = await gql(
        client,
        f"""mutation($i: AppointPositionInput!) {{
              appointPosition(input: $i) {{ position {{ id }} {ERRORS} }} }}""",
        {
            "i": {
                "personId": gid("Person", city.demo.party_member.id),
                "role": "HOUSEHOLD_LIAISON",
                "buildingId": building,
            }
        },
        token=admin,
    )
    assert appointed["appointPosition"]["errors"] == []
    await asyncio.sleep(1.0)  # the notice reaches the connection, which reads its grants again
    after = await submit(client, city.token("renter"), building)
    message = await socket.next("events")
    assert message["data"]["petitionEvents"]["petition"]["id"] == after["id"]
    assert before["id"] != after["id"]
    ended = await gql(
        client,
        f"""mutation($i: EndPositionInput!) {{ endPosition(input: $i) {{ {ERRORS} }} }}""",
        {"i": {"id": appointed["appointPosition"]["position"]["id"], "reason": "test over"}},
        token=admin,
    )
    assert ended["endPosition"]["errors"] == []
    await socket.close()
