"""Verified access tokens are remembered so that a session's requests skip the signature
check; the remembered claims never stand in for the credential lookup: a new credential
version, a revoked session or an expired token is refused while the token is remembered."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import jwt
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.identity import Account
from resolvers import identity
from tests.conftest import GraphQLClient
from tests.identity.test_revocation import sign_in, status
from tests.permissions.support import mutation


class Decodes:
    """Counts signature checks while delegating to PyJWT."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = jwt.decode

        def counted(*args: object, **kwargs: object) -> object:
            self.count += 1
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(jwt, "decode", counted)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Decodes:
    return Decodes(monkeypatch)


async def test_a_remembered_token_is_refused_once_its_credential_version_moves(
    anonymous: GraphQLClient,
    http: httpx.AsyncClient,
    session: AsyncSession,
    accounts: dict[str, Account],
    decodes: Decodes,
) -> None:
    signed_in = await sign_in(anonymous, accounts["resident"].phone)
    assert await status(http, signed_in["accessToken"]) == 200
    checked = decodes.count
    assert await status(http, signed_in["accessToken"]) == 200
    assert decodes.count == checked  # remembered: no second signature check
    await session.execute(
        sa.text("UPDATE account SET credential_version = credential_version + 1 WHERE id = :a"),
        {"a": accounts["resident"].id},
    )
    await session.flush()
    assert await status(http, signed_in["accessToken"]) == 401
    assert decodes.count == checked  # refused by the lookup, not by a fresh check


async def test_a_remembered_token_is_refused_once_its_session_is_signed_out(
    anonymous: GraphQLClient, http: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    signed_in = await sign_in(anonymous, accounts["resident"].phone)
    assert await status(http, signed_in["accessToken"]) == 200
    assert await status(http, signed_in["accessToken"]) == 200
    done = await mutation(
        anonymous,
        "signOut",
        "RefreshSessionInput",
        {"refreshToken": signed_in["refreshToken"]},
        "ok",
    )
    assert done == {"ok": True, "errors": []}
    assert await status(http, signed_in["accessToken"]) == 401


async def test_a_remembered_token_expires_on_time(
    http: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    """A token with a second or two left: remembered while valid, refused once its time is
    up (the remembered expiry is the token's own)."""
    account = accounts["resident"]
    assert account.id is not None
    token = identity.issue_access_token(
        account.id,
        utcnow() - identity.ACCESS_TTL + timedelta(seconds=2),
        version=account.credential_version,
    )
    assert await status(http, token) == 200
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, expires - time.time()) + 0.05)
    response = await http.post(
        "/graphql",
        json={"query": "{ me { kind } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    assert "expired" in response.text


async def test_a_token_differing_only_in_its_signature_is_checked_again(
    anonymous: GraphQLClient, http: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    signed_in = await sign_in(anonymous, accounts["resident"].phone)
    token = signed_in["accessToken"]
    assert await status(http, token) == 200
    head, claims, signature = token.split(".")
    forged = f"{head}.{claims}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    assert await status(http, forged) == 401
