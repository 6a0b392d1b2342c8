"""Sign-in, sessions and API tokens.

Access tokens are short-lived JWTs (HS256); refresh tokens are random, stored only as
SHA-256 hashes and rotate on every use: presenting an already-used one revokes its
whole family (a stolen token is detected on its first replay). API tokens are random,
shown once, stored hashed, bound to a node and revocable.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import Ltree, utcnow
from models.config import get_settings
from models.identity import Account, ApiToken, RefreshToken, TokenRole
from models.org import OrgUnit
from models.people import Person, Position
from resolvers.errors import DomainError, ErrorCode
from resolvers.org import clean_text, flush_or_refuse, get_row, refresh_path
from resolvers.people import validate_phone

ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=30)
MAX_FAILED_ATTEMPTS = 5
LOCK_OUT = timedelta(minutes=15)
MIN_PASSWORD = 10
API_TOKEN_PREFIX = "rbt_"  # noqa: S105  (marks the kind of bearer, not a secret)
_hasher = PasswordHasher()


class AuthenticationError(Exception):
    """Credentials were presented but are not valid: never a silent downgrade."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def check_password_strength(password: str, field: str = "newPassword") -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            ErrorCode.VALIDATION, f"a password needs at least {MIN_PASSWORD} characters", field
        )


# --- tokens ------------------------------------------------------------------------


def issue_access_token(account_id: int, now: datetime | None = None) -> str:
    now = now or utcnow()
    claims = {"sub": str(account_id), "typ": "access", "iat": now, "exp": now + ACCESS_TTL}
    return jwt.encode(claims, get_settings().jwt_secret, algorithm="HS256")


def read_access_token(token: str) -> int:
    """The account id in a valid access token."""
    try:
        claims = jwt.decode(
            token,
            get_settings().jwt_secret,
            algorithms=["HS256"],
            options={"require": ["exp", "sub", "typ"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError("the access token has expired") from exc
    except jwt.PyJWTError as exc:
        raise AuthenticationError("the access token is not valid") from exc
    if claims.get("typ") != "access" or not str(claims["sub"]).isdigit():
        raise AuthenticationError("the access token is not valid")
    return int(claims["sub"])


@dataclass(frozen=True)
class Session:
    access_token: str
    refresh_token: str
    expires_at: datetime
    account: Account


async def _issue_session(
    session: AsyncSession, account: Account, family: str | None = None
) -> Session:
    assert account.id is not None
    now = utcnow()
    refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            account_id=account.id,
            family=family or uuid.uuid4().hex,
            token_hash=_digest(refresh),
            issued_at=now,
            expires_at=now + REFRESH_TTL,
        )
    )
    await session.flush()
    return Session(issue_access_token(account.id, now), refresh, now + ACCESS_TTL, account)


# --- sign-in -------------------------------------------------------------------------


_INVALID = DomainError(ErrorCode.INVALID_CREDENTIALS, "phone or password is wrong")


async def sign_in(session: AsyncSession, *, phone: str, password: str) -> Session:
    """Same refusal for an unknown phone and a wrong password; lock after repeated failures."""
    try:
        phone = validate_phone(phone)
    except DomainError:
        raise _INVALID from None
    account = await session.scalar(
        sa.select(Account).where(col(Account.phone) == phone).with_for_update()
    )
    now = utcnow()
    if account is None or account.disabled_at is not None:
        _hasher.hash(password)  # same cost as a real check: no timing oracle for phones
        raise _INVALID
    if account.locked_until and account.locked_until > now:
        raise DomainError(
            ErrorCode.ACCOUNT_LOCKED,
            "too many failed sign-ins; try again later or ask an admin to unlock",
        )
    try:
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        account.failed_attempts += 1
        if account.failed_attempts >= MAX_FAILED_ATTEMPTS:
            account.locked_until = now + LOCK_OUT
            account.failed_attempts = 0
        await session.flush()
        raise _INVALID from None
    account.failed_attempts = 0
    account.locked_until = None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return await _issue_session(session, account)


async def refresh_session(session: AsyncSession, *, refresh_token: str) -> Session:
    found = await session.scalar(
        sa.select(RefreshToken)
        .where(col(RefreshToken.token_hash) == _digest(refresh_token))
        .with_for_update()
    )
    now = utcnow()
    invalid = DomainError(ErrorCode.UNAUTHENTICATED, "the refresh token is not valid")
    if found is None or found.revoked_at is not None or found.expires_at <= now:
        raise invalid
    if found.used_at is not None:
        await revoke_family(session, found.family)
        raise invalid
    found.used_at = now
    account = await session.get(Account, found.account_id)
    if account is None or account.disabled_at is not None:
        raise invalid
    return await _issue_session(session, account, found.family)


async def revoke_family(session: AsyncSession, family: str) -> None:
    await session.execute(
        sa.update(RefreshToken)
        .where(col(RefreshToken.family) == family, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


async def sign_out(session: AsyncSession, *, refresh_token: str) -> RefreshToken | None:
    """Revoke the token's family; an unknown token is not an error (signing out twice is fine)."""
    found: RefreshToken | None = await session.scalar(
        sa.select(RefreshToken).where(col(RefreshToken.token_hash) == _digest(refresh_token))
    )
    if found is not None:
        await revoke_family(session, found.family)
    return found


async def change_password(
    session: AsyncSession, *, account_id: int, current: str, new: str
) -> Account:
    account: Account = await get_row(session, Account, account_id, "account", "currentPassword")
    try:
        _hasher.verify(account.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise DomainError(
            ErrorCode.INVALID_CREDENTIALS, "the current password is wrong", "currentPassword"
        ) from None
    check_password_strength(new)
    account.password_hash = hash_password(new)
    account.password_changed_at = utcnow()
    await session.execute(
        sa.update(RefreshToken)
        .where(col(RefreshToken.account_id) == account_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    await session.flush()
    return account


async def create_account(
    session: AsyncSession, *, person_id: int, phone: str | None, password: str
) -> Account:
    person: Person = await get_row(session, Person, person_id, "person", "personId")
    login = validate_phone(phone or person.phone or "")
    check_password_strength(password, "password")
    account = Account(person_id=person_id, phone=login, password_hash=hash_password(password))
    session.add(account)
    await flush_or_refuse(
        session,
        duplicate=DomainError(
            ErrorCode.DUPLICATE, "this person or phone already has an account", "personId"
        ),
    )
    return account


async def unlock_account(session: AsyncSession, *, account_id: int) -> Account:
    account: Account = await get_row(session, Account, account_id, "account", "accountId")
    account.failed_attempts = 0
    account.locked_until = None
    await session.flush()
    return account


# --- API tokens ----------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once


async def create_api_token(
    session: AsyncSession,
    *,
    name: str,
    role: TokenRole,
    org_unit_id: int,
    days: int,
    created_by: int | None,
) -> IssuedToken:
    await get_row(session, OrgUnit, org_unit_id, "org unit", "orgUnitId")
    if not 1 <= days <= 366:
        raise DomainError(ErrorCode.VALIDATION, "a token lives 1 to 366 days", "days")
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=clean_text(name, "name"),
        role=role,
        org_unit_id=org_unit_id,
        token_hash=_digest(secret),
        created_by_person_id=created_by,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    await session.flush()
    await refresh_path(session, token)
    return IssuedToken(token, secret)


async def revoke_api_token(session: AsyncSession, *, token_id: int) -> ApiToken:
    token: ApiToken = await get_row(session, ApiToken, token_id, "API token", "id")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()
    return token


# --- who is calling ----------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """What the credentials of a request resolve to, before roles are applied."""

    kind: str  # PERSON | TOKEN
    person_id: int | None = None
    account_id: int | None = None
    token_id: int | None = None
    household_path: str | None = None
    grants: tuple[tuple[str, str], ...] = ()  # (role, path)


async def principal_for_bearer(session: AsyncSession, bearer: str) -> Principal:
    if bearer.startswith(API_TOKEN_PREFIX):
        return await _token_principal(session, bearer)
    account_id = read_access_token(bearer)
    account = await session.get(Account, account_id)
    if account is None or account.disabled_at is not None:
        raise AuthenticationError("the account is not active")
    person = await session.get(Person, account.person_id)
    assert person is not None
    positions = await session.execute(
        sa.select(col(Position.role), col(Position.path)).where(
            col(Position.person_id) == person.id, col(Position.ended_at).is_(None)
        )
    )
    return Principal(
        kind="PERSON",
        person_id=person.id,
        account_id=account.id,
        household_path=person.path if person.household_id is not None else None,
        grants=tuple((str(role), str(path)) for role, path in positions),
    )


async def _token_principal(session: AsyncSession, secret: str) -> Principal:
    token = await session.scalar(
        sa.select(ApiToken).where(col(ApiToken.token_hash) == _digest(secret))
    )
    now = utcnow()
    if token is None or token.revoked_at is not None:
        raise AuthenticationError("the API token is not valid")
    if token.expires_at <= now:
        raise AuthenticationError("the API token has expired")
    await session.execute(
        sa.update(ApiToken).where(col(ApiToken.id) == token.id).values(last_used_at=now)
    )
    return Principal(kind="TOKEN", token_id=token.id, grants=((token.role, token.path or ""),))


async def account_of(session: AsyncSession, person_id: int) -> Account | None:
    account: Account | None = await session.scalar(
        sa.select(Account).where(col(Account.person_id) == person_id)
    )
    return account


async def contacts_of(
    session: AsyncSession, household_path: str, roles: frozenset[str]
) -> frozenset[int]:
    """People holding one of `roles` at the household's building, grid or community."""
    above = sa.cast(sa.literal(household_path), Ltree()).op("<@")(col(Position.path))
    rows = await session.execute(
        sa.select(col(Position.person_id)).where(
            col(Position.ended_at).is_(None), col(Position.role).in_(sorted(roles)), above
        )
    )
    return frozenset(int(person_id) for (person_id,) in rows)
