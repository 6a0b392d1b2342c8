"""Accounts and sessions: sign-in, lock-out, access and refresh tokens, password changes,
accounts for people in scope, and API tokens (hashed, expiring, revocable)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.config import ROOT
from models.identity import Account, TokenRole
from resolvers.identity import issue_access_token
from schema.root import schema
from seeds.accounts import DEMO_PASSWORD
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.permissions.support import (
    MISSING_ID,
    codes,
    first_id_under,
    gid,
    mutation,
    rows,
    token_client,
)

SESSION = "accessToken refreshToken expiresAt"
NEW_PASSWORD = "a-much-longer-secret-2025"
ME = "{ me { kind roles person { id } } }"


async def sign_in(client: GraphQLClient, phone: str, password: str) -> dict[str, Any]:
    return await mutation(
        client, "signIn", "SignInInput", {"phone": phone, "password": password}, SESSION
    )


async def refresh(client: GraphQLClient, token: str) -> dict[str, Any]:
    return await mutation(
        client, "refreshSession", "RefreshSessionInput", {"refreshToken": token}, SESSION
    )


def bearer(client: GraphQLClient, token: str) -> GraphQLClient:
    return GraphQLClient(client.http, {"Authorization": f"Bearer {token}"})


async def execute(session: AsyncSession, statement: str, **params: Any) -> None:
    await session.execute(sa.text(statement), params)
    await session.flush()


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def rows_containing(session: AsyncSession, table: str, secret: str) -> int:
    """Rows of `table` whose text form contains `secret` anywhere."""
    return int(
        await scalar(
            session,
            f"SELECT count(*) FROM {table} t WHERE strpos(row_to_json(t)::text, :s) > 0",
            s=secret,
        )
    )


@pytest.fixture
def resident_phone(accounts: dict[str, Account]) -> str:
    return accounts["resident"].phone


# --- signing in -----------------------------------------------------------------------------


async def test_sign_in_gives_tokens_that_work_as_bearer(
    anonymous: GraphQLClient, resident_phone: str, demo: DemoCity, session: AsyncSession
) -> None:
    payload = await sign_in(anonymous, resident_phone, DEMO_PASSWORD)
    assert payload["errors"] == []
    expires = datetime.fromisoformat(payload["expiresAt"])
    assert utcnow() + timedelta(minutes=5) < expires <= utcnow() + timedelta(minutes=16)
    me = await bearer(anonymous, payload["accessToken"])(ME)
    assert me == {
        "me": {
            "kind": "PERSON",
            "roles": ["RESIDENT"],
            "person": {"id": gid("Person", demo.resident_alone.id)},
        }
    }
    # the refresh token is stored only as its hash
    refresh_token = payload["refreshToken"]
    assert (
        await scalar(
            session,
            "SELECT count(*) FROM refresh_token WHERE token_hash = :h",
            h=digest(refresh_token),
        )
        == 1
    )
    assert await rows_containing(session, "refresh_token", refresh_token) == 0


async def test_unknown_phone_and_wrong_password_are_refused_alike(
    anonymous: GraphQLClient, resident_phone: str, session: AsyncSession
) -> None:
    unknown = "19900000001"
    assert await scalar(session, "SELECT count(*) FROM account WHERE phone = :p", p=unknown) == 0
    wrong_password = await sign_in(anonymous, resident_phone, "not-the-password")
    unknown_phone = await sign_in(anonymous, unknown, DEMO_PASSWORD)
    malformed_phone = await sign_in(anonymous, "not a phone", DEMO_PASSWORD)
    assert codes(wrong_password) == ["INVALID_CREDENTIALS"]
    assert wrong_password == unknown_phone == malformed_phone
    assert wrong_password["accessToken"] is None
    assert wrong_password["refreshToken"] is None


async def test_me(
    anonymous: GraphQLClient, as_account: Callable[[str], GraphQLClient], demo: DemoCity
) -> None:
    assert await anonymous(ME) == {"me": {"kind": "ANONYMOUS", "roles": [], "person": None}}
    data = await as_account("building-head")(ME)
    assert data["me"]["kind"] == "PERSON"
    assert data["me"]["person"] == {"id": gid("Person", demo.building_head.id)}
    assert set(data["me"]["roles"]) == {
        "BUILDING_HEAD",
        "VOLUNTEER",
        "REGISTERED_PARTY_MEMBER",
        "RESIDENT",
    }


# --- bad credentials: 401, never a downgrade ------------------------------------------------


def _bad_headers(accounts: dict[str, Account]) -> dict[str, str]:
    account_id = accounts["resident"].id
    assert account_id is not None
    expired = issue_access_token(account_id, now=utcnow() - timedelta(hours=1))
    forged = jwt.encode(
        {"sub": str(account_id), "typ": "access", "iat": utcnow(), "exp": utcnow() + timedelta(1)},
        "not-the-server-secret-but-long-enough-for-hs256",
        algorithm="HS256",
    )
    claims = {"sub": str(account_id), "typ": "access", "exp": int(utcnow().timestamp()) + 600}
    unsigned = (
        ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
            for part in ({"alg": "none", "typ": "JWT"}, claims)
        )
        + "."
    )
    return {
        "expired": f"Bearer {expired}",
        "alg-none": f"Bearer {unsigned}",
        "no-such-account": f"Bearer {issue_access_token(MISSING_ID)}",
        "garbage": "Bearer garbage",
        "forged": f"Bearer {forged}",
        "unknown-api-token": "Bearer rbt_this-token-was-never-issued",
        "wrong-scheme": "Basic dXNlcjpwYXNz",
        "empty-bearer": "Bearer ",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "expired",
        "alg-none",
        "no-such-account",
        "garbage",
        "forged",
        "unknown-api-token",
        "wrong-scheme",
        "empty-bearer",
    ],
)
async def test_bad_credentials_get_a_graphql_shaped_401(
    kind: str, http: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    header = _bad_headers(accounts)[kind]
    response = await http.post(
        "/graphql",
        json={"query": "{ me { kind } city { name } }"},
        headers={"Authorization": header, "X-Request-ID": f"req-{kind}"},
    )
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = response.json()
    [error] = body["errors"]
    assert "data" not in body  # a request error: nothing was executed
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "requestId": f"req-{kind}"}
    assert error["message"]


async def test_a_refresh_token_is_no_bearer_and_a_disabled_account_is_refused(
    anonymous: GraphQLClient,
    http: httpx.AsyncClient,
    resident_phone: str,
    session: AsyncSession,
    accounts: dict[str, Account],
) -> None:
    payload = await sign_in(anonymous, resident_phone, DEMO_PASSWORD)
    for token in (payload["refreshToken"],):
        response = await http.post(
            "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
    await execute(
        session, "UPDATE account SET disabled_at = now() WHERE id = :a", a=accounts["resident"].id
    )
    response = await http.post(
        "/graphql",
        json={"query": ME},
        headers={"Authorization": f"Bearer {payload['accessToken']}"},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- refresh tokens ---------------------------------------------------------------------------


async def test_refresh_rotates_and_a_replay_revokes_the_family(
    anonymous: GraphQLClient, resident_phone: str, session: AsyncSession
) -> None:
    first = await sign_in(anonymous, resident_phone, DEMO_PASSWORD)
    second = await refresh(anonymous, first["refreshToken"])
    assert second["errors"] == []
    assert second["refreshToken"] != first["refreshToken"]
    assert (await bearer(anonymous, second["accessToken"])(ME))["me"]["kind"] == "PERSON"
    # the used token is replayed (stolen?): refused, and the whole family with it
    replay = await refresh(anonymous, first["refreshToken"])
    assert codes(replay) == ["UNAUTHENTICATED"]
    assert replay["refreshToken"] is None
    newest = await refresh(anonymous, second["refreshToken"])
    assert codes(newest) == ["UNAUTHENTICATED"]
    assert await scalar(
        session,
        "SELECT bool_and(revoked_at IS NOT NULL) FROM refresh_token WHERE family = "
        "(SELECT family FROM refresh_token WHERE token_hash = :h)",
        h=digest(second["refreshToken"]),
    )
    assert codes(await refresh(anonymous, "never-issued")) == ["UNAUTHENTICATED"]


async def test_an_expired_refresh_token_is_refused(
    anonymous: GraphQLClient, resident_phone: str, session: AsyncSession
) -> None:
    signed_in = await sign_in(anonymous, resident_phone, DEMO_PASSWORD)
    await execute(
        session,
        "UPDATE refresh_token SET expires_at = now() - interval '1 minute' WHERE token_hash = :h",
        h=digest(signed_in["refreshToken"]),
    )
    assert codes(await refresh(anonymous, signed_in["refreshToken"])) == ["UNAUTHENTICATED"]


async def test_sign_out_revokes_only_that_session(
    anonymous: GraphQLClient, resident_phone: str
) -> None:
    phone_session = await sign_in(anonymous, resident_phone, DEMO_PASSWORD)
    tablet_session = await sign_in(anonymous, resident_phone, DEMO_PASSWORD)
    done = await mutation(
        anonymous,
        "signOut",
        "RefreshSessionInput",
        {"refreshToken": phone_session["refreshToken"]},
        "ok",
    )
    assert done == {"ok": True, "errors": []}
    assert codes(await refresh(anonymous, phone_session["refreshToken"])) == ["UNAUTHENTICATED"]
    assert (await refresh(anonymous, tablet_session["refreshToken"]))["errors"] == []


# --- passwords ------------------------------------------------------------------------------


async def change_password(client: GraphQLClient, current: str, new: str) -> dict[str, Any]:
    return await mutation(
        client,
        "changePassword",
        "ChangePasswordInput",
        {"currentPassword": current, "newPassword": new},
        "ok",
    )


async def test_change_password(anonymous: GraphQLClient, resident_phone: str) -> None:
    signed_in = await sign_in(anonymous, resident_phone, DEMO_PASSWORD)
    client = bearer(anonymous, signed_in["accessToken"])

    wrong = await change_password(client, "not-the-password", NEW_PASSWORD)
    assert [(e["code"], e["field"]) for e in wrong["errors"]] == [
        ("INVALID_CREDENTIALS", "currentPassword")
    ]
    short = await change_password(client, DEMO_PASSWORD, "short")
    assert [(e["code"], e["field"]) for e in short["errors"]] == [("VALIDATION", "newPassword")]
    assert wrong["ok"] is False
    assert short["ok"] is False

    changed = await change_password(client, DEMO_PASSWORD, NEW_PASSWORD)
    assert changed == {"ok": True, "errors": []}
    # sessions opened with the old password end; the old password no longer signs in
    assert codes(await refresh(anonymous, signed_in["refreshToken"])) == ["UNAUTHENTICATED"]
    assert codes(await sign_in(anonymous, resident_phone, DEMO_PASSWORD)) == ["INVALID_CREDENTIALS"]
    assert (await sign_in(anonymous, resident_phone, NEW_PASSWORD))["errors"] == []


async def test_change_password_needs_a_signed_in_person(
    anonymous: GraphQLClient, session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> None:
    assert codes(await change_password(anonymous, DEMO_PASSWORD, NEW_PASSWORD)) == [
        "UNAUTHENTICATED"
    ]
    token = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    assert codes(await change_password(token, DEMO_PASSWORD, NEW_PASSWORD)) == ["UNAUTHENTICATED"]


# --- accounts ---------------------------------------------------------------------------------


async def create_account(
    client: GraphQLClient, person_id: int, password: str = NEW_PASSWORD
) -> dict[str, Any]:
    return await mutation(
        client,
        "createAccount",
        "CreateAccountInput",
        {"personId": gid("Person", person_id), "password": password},
        "person { id }",
    )


async def test_create_account_for_a_person_in_scope(
    as_account: Callable[[str], GraphQLClient],
    anonymous: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    [(person_id, phone)] = await rows(
        session,
        """SELECT p.id, p.phone FROM person p
           WHERE p.path <@ CAST(:c AS ltree) AND p.phone IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM account a WHERE a.person_id = p.id)
           ORDER BY p.id LIMIT 1""",
        c=demo.renheyuan.path,
    )
    admin = as_account("community-admin")
    assert codes(await create_account(admin, person_id, "short")) == ["VALIDATION"]
    created = await create_account(admin, person_id)
    assert created == {"person": {"id": gid("Person", person_id)}, "errors": []}
    [(stored_phone, password_hash)] = await rows(
        session, "SELECT phone, password_hash FROM account WHERE person_id = :p", p=person_id
    )
    assert stored_phone == phone
    assert password_hash.startswith("$argon2")
    assert NEW_PASSWORD not in password_hash
    assert (await sign_in(anonymous, phone, NEW_PASSWORD))["errors"] == []
    assert codes(await create_account(admin, person_id)) == ["DUPLICATE"]


async def test_create_account_out_of_scope_is_not_found(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession
) -> None:
    accounts_before = await scalar(session, "SELECT count(*) FROM account")
    stranger = await first_id_under(session, "person", demo.lingxi.path)
    admin = as_account("community-admin")
    outside = await create_account(admin, stranger)
    missing = await create_account(admin, MISSING_ID)
    assert codes(outside) == ["NOT_FOUND"]
    assert outside == missing
    # a building head manages no accounts, not even in its own building
    head = await create_account(as_account("building-head"), demo.party_member.id or 0)
    assert codes(head) == ["FORBIDDEN"]
    assert await scalar(session, "SELECT count(*) FROM account") == accounts_before


# --- API tokens -------------------------------------------------------------------------------

API_TOKEN = "apiToken { id name role expiresAt revokedAt orgUnit { code } }"


async def create_token(
    client: GraphQLClient, unit_id: int | None, role: str = "INTEGRATOR", days: int = 30
) -> dict[str, Any]:
    return await mutation(
        client,
        "createApiToken",
        "CreateApiTokenInput",
        {"name": "街道大屏", "role": role, "orgUnitId": gid("OrgUnit", unit_id), "days": days},
        f"token {API_TOKEN}",
    )


async def revoke_token(client: GraphQLClient, token_id: str) -> dict[str, Any]:
    return await mutation(
        client, "revokeApiToken", "RevokeApiTokenInput", {"id": token_id}, API_TOKEN
    )


async def status(http: httpx.AsyncClient, secret: str) -> int:
    response = await http.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {secret}"}
    )
    return response.status_code


async def test_an_api_token_is_shown_once_and_stored_hashed(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    created = await create_token(gql, demo.renheyuan.id, days=30)
    assert created["errors"] == []
    secret = created["token"]
    assert secret.startswith("rbt_")
    assert len(secret) > 30
    token = created["apiToken"]
    assert token["role"] == "INTEGRATOR"
    assert token["orgUnit"] == {"code": demo.renheyuan.code}
    expires = datetime.fromisoformat(token["expiresAt"])
    assert abs(expires - (utcnow() + timedelta(days=30))) < timedelta(minutes=5)
    assert (
        await scalar(
            session, "SELECT count(*) FROM api_token WHERE token_hash = :h", h=digest(secret)
        )
        == 1
    )
    tables = [
        str(name)
        for (name,) in await rows(
            session,
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        )
    ]
    assert {"api_token", "audit_log", "person"} <= set(tables)
    for table in tables:
        assert await rows_containing(session, table, secret) == 0, table
    # the token type offers no way to read the secret again
    exposed = set(schema._schema.type_map["ApiToken"].fields)  # type: ignore[attr-defined]
    assert not {f for f in exposed if any(w in f.lower() for w in ("token", "secret", "hash"))}
    listed = await gql("{ apiTokens { nodes { id } } }")
    assert {"id": token["id"]} in listed["apiTokens"]["nodes"]
    me = await bearer(gql, secret)("{ me { kind roles person { id } } }")
    assert me == {"me": {"kind": "TOKEN", "roles": ["INTEGRATOR"], "person": None}}


async def test_a_revoked_or_expired_api_token_gets_401(
    gql: GraphQLClient, http: httpx.AsyncClient, demo: DemoCity, session: AsyncSession
) -> None:
    revoked = await create_token(gql, demo.renheyuan.id)
    expired = await create_token(gql, demo.renheyuan.id)
    for made in (revoked, expired):
        assert await status(http, made["token"]) == 200
    done = await revoke_token(gql, revoked["apiToken"]["id"])
    assert done["errors"] == []
    assert done["apiToken"]["revokedAt"] is not None
    await execute(
        session,
        "UPDATE api_token SET expires_at = now() - interval '1 minute' WHERE token_hash = :h",
        h=digest(expired["token"]),
    )
    for made in (revoked, expired):
        assert await status(http, made["token"]) == 401


async def test_only_an_admin_of_the_tokens_subtree_revokes_it(
    gql: GraphQLClient,
    as_account: Callable[[str], GraphQLClient],
    http: httpx.AsyncClient,
    demo: DemoCity,
) -> None:
    elsewhere = await create_token(gql, demo.lingxi.id)
    here = await create_token(gql, demo.renheyuan.id)
    community_admin = as_account("community-admin")

    outside = await revoke_token(community_admin, elsewhere["apiToken"]["id"])
    missing = await revoke_token(community_admin, gid("ApiToken", MISSING_ID))
    assert codes(outside) == ["NOT_FOUND"]
    assert outside == missing
    refused = await revoke_token(as_account("building-head"), here["apiToken"]["id"])
    assert codes(refused) in (["NOT_FOUND"], ["FORBIDDEN"])
    assert await status(http, elsewhere["token"]) == 200
    assert await status(http, here["token"]) == 200

    listed = await community_admin("{ apiTokens(first: 100) { nodes { id } } }")
    shown = {n["id"] for n in listed["apiTokens"]["nodes"]}
    assert here["apiToken"]["id"] in shown
    assert elsewhere["apiToken"]["id"] not in shown

    done = await revoke_token(community_admin, here["apiToken"]["id"])
    assert done["errors"] == []
    assert done["apiToken"]["revokedAt"] is not None
    done = await revoke_token(as_account("district-admin"), elsewhere["apiToken"]["id"])
    assert codes(done) == ["NOT_FOUND"]  # 灵犀社区 is not in 汇川区
    done = await revoke_token(gql, elsewhere["apiToken"]["id"])
    assert done["errors"] == []
    assert await status(http, here["token"]) == 401
    assert await status(http, elsewhere["token"]) == 401


async def test_tokens_are_created_only_inside_the_admins_subtree(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity
) -> None:
    admin = as_account("community-admin")
    assert codes(await create_token(admin, demo.lingxi.id)) == ["NOT_FOUND"]
    assert codes(await create_token(admin, MISSING_ID)) == ["NOT_FOUND"]
    assert codes(await create_token(admin, demo.street.id)) == ["FORBIDDEN"]
    assert codes(await create_token(as_account("building-head"), demo.renheyuan.id)) == [
        "FORBIDDEN"
    ]
    made = await create_token(admin, demo.renheyuan.id, role="DISPLAY")
    assert made["errors"] == []
    assert made["token"].startswith("rbt_")
    assert codes(await create_token(admin, demo.renheyuan.id, days=367)) == ["VALIDATION"]


async def test_the_token_command_has_help() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "app.py",
        "token",
        "--help",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    text = out.decode()
    for option in ("--org-unit", "--role", "--name", "--days", "INTEGRATOR", "DISPLAY"):
        assert option in text
