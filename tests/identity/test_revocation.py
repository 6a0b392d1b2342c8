"""Revocation is immediate: a replayed refresh token, signing out, a new password and a
disabled account end the access tokens they concern on the very next request, checked in
the one statement that loads the caller."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.config import get_settings
from models.identity import Account
from resolvers.identity import ACCESS_TTL
from schema.relay import from_global_id
from seeds.accounts import DEMO_PASSWORD
from tests.conftest import GraphQLClient, StatementCounter, scalar
from tests.permissions.support import codes, gid, mutation

SESSION = "accessToken refreshToken expiresAt"
NEW_PASSWORD = "a-much-longer-secret-2025"


async def sign_in(client: GraphQLClient, phone: str, password: str = DEMO_PASSWORD) -> Any:
    payload = await mutation(
        client, "signIn", "SignInInput", {"phone": phone, "password": password}, SESSION
    )
    assert payload["errors"] == [], payload
    return payload


async def refresh(client: GraphQLClient, token: str) -> Any:
    return await mutation(
        client, "refreshSession", "RefreshSessionInput", {"refreshToken": token}, SESSION
    )


async def status(http: httpx.AsyncClient, access_token: str) -> int:
    response = await http.post(
        "/graphql",
        json={"query": "{ me { kind } }"},
        headers={"Authorization": f"Bearer {access_token}"},
    )
    return response.status_code


@pytest.fixture
def phone(accounts: dict[str, Account]) -> str:
    return accounts["resident"].phone


async def test_a_replayed_refresh_token_ends_its_sessions_access_tokens(
    anonymous: GraphQLClient, http: httpx.AsyncClient, phone: str
) -> None:
    first = await sign_in(anonymous, phone)
    rotated = await refresh(anonymous, first["refreshToken"])
    other_device = await sign_in(anonymous, phone)
    for token in (first["accessToken"], rotated["accessToken"], other_device["accessToken"]):
        assert await status(http, token) == 200

    replay = await refresh(anonymous, first["refreshToken"])  # stolen, or replayed
    assert codes(replay) == ["UNAUTHENTICATED"]
    assert await status(http, first["accessToken"]) == 401
    assert await status(http, rotated["accessToken"]) == 401
    # another session of the same account is not that chain: it goes on
    assert await status(http, other_device["accessToken"]) == 200


async def test_signing_out_ends_that_sessions_access_tokens(
    anonymous: GraphQLClient, http: httpx.AsyncClient, phone: str
) -> None:
    phone_session = await sign_in(anonymous, phone)
    tablet_session = await sign_in(anonymous, phone)
    done = await mutation(
        anonymous,
        "signOut",
        "RefreshSessionInput",
        {"refreshToken": phone_session["refreshToken"]},
        "ok",
    )
    assert done == {"ok": True, "errors": []}
    assert await status(http, phone_session["accessToken"]) == 401
    assert await status(http, tablet_session["accessToken"]) == 200


async def test_a_new_password_ends_every_access_token_and_returns_a_fresh_session(
    anonymous: GraphQLClient, http: httpx.AsyncClient, phone: str
) -> None:
    here = await sign_in(anonymous, phone)
    elsewhere = await sign_in(anonymous, phone)
    client = GraphQLClient(http, {"Authorization": f"Bearer {here['accessToken']}"})
    changed = await mutation(
        client,
        "changePassword",
        "ChangePasswordInput",
        {"currentPassword": DEMO_PASSWORD, "newPassword": NEW_PASSWORD},
        f"ok {SESSION}",
    )
    assert changed["ok"] is True
    assert changed["errors"] == []
    for ended in (here, elsewhere):
        assert await status(http, ended["accessToken"]) == 401
        assert codes(await refresh(anonymous, ended["refreshToken"])) == ["UNAUTHENTICATED"]
    assert await status(http, changed["accessToken"]) == 200
    assert (await refresh(anonymous, changed["refreshToken"]))["errors"] == []


async def test_a_disabled_account_loses_its_access_tokens_at_once(
    anonymous: GraphQLClient,
    http: httpx.AsyncClient,
    phone: str,
    session: AsyncSession,
    accounts: dict[str, Account],
) -> None:
    signed_in = await sign_in(anonymous, phone)
    assert await status(http, signed_in["accessToken"]) == 200
    await session.execute(
        sa.text("UPDATE account SET disabled_at = now() WHERE id = :a"),
        {"a": accounts["resident"].id},
    )
    await session.flush()
    assert await status(http, signed_in["accessToken"]) == 401


async def test_a_token_without_a_credential_version_is_refused(
    http: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    """Tokens from before versions existed (or forged without one) do not authenticate."""
    now = utcnow()
    legacy = jwt.encode(
        {"sub": str(accounts["resident"].id), "typ": "access", "iat": now, "exp": now + ACCESS_TTL},
        get_settings().jwt_secret,
        algorithm="HS256",
    )
    assert await status(http, legacy) == 401


@pytest.mark.parametrize("handle", ["resident", "city-admin"])
async def test_the_check_costs_no_statement_beyond_the_callers_lookup(
    handle: str,
    anonymous: GraphQLClient,
    http: httpx.AsyncClient,
    accounts: dict[str, Account],
    sql_statements: StatementCounter,
) -> None:
    """Session, credential version, person, positions and a resident's contacts: one
    statement per request (it was three, four for residents, without any revocation check)."""
    signed_in = await sign_in(anonymous, accounts[handle].phone)
    sql_statements.reset()
    assert await status(http, signed_in["accessToken"]) == 200
    assert sql_statements.count == 1, sql_statements.statements
    [lookup] = sql_statements.statements
    assert "refresh_token" in lookup
    assert "credential_version" in lookup


async def test_an_api_token_costs_one_statement_and_notes_its_use_once_a_minute(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    session: AsyncSession,
    sql_statements: StatementCounter,
) -> None:
    """Noting every use would make one token's concurrent requests queue on its row."""
    created = await mutation(
        gql,
        "createApiToken",
        "CreateApiTokenInput",
        {"name": "大屏", "role": "DISPLAY", "orgUnitId": gid("OrgUnit", 1), "days": 30},
        "token apiToken { id }",
    )
    secret = created["token"]
    last_used = "SELECT last_used_at FROM api_token WHERE id = :i"
    token_id = int(from_global_id(created["apiToken"]["id"], "id")[1])
    assert await scalar(session, last_used, i=token_id) is None
    sql_statements.reset()
    assert await status(http, secret) == 200
    assert sql_statements.count == 1, sql_statements.statements
    first_use = await scalar(session, last_used, i=token_id)
    assert first_use is not None
    await session.execute(
        sa.text("UPDATE api_token SET last_used_at = now() - interval '30 seconds' WHERE id = :i"),
        {"i": token_id},
    )
    await session.flush()
    recent = await scalar(session, last_used, i=token_id)
    assert await status(http, secret) == 200
    assert await scalar(session, last_used, i=token_id) == recent  # within the minute
    await session.execute(
        sa.text("UPDATE api_token SET last_used_at = now() - interval '2 minutes' WHERE id = :i"),
        {"i": token_id},
    )
    await session.flush()
    assert await status(http, secret) == 200
    assert await scalar(session, last_used, i=token_id) == first_use
