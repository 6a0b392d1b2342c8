"""Sign-in, sessions, API tokens, sign-in throttling and per-actor refusal counters.

Access tokens are short-lived JWTs (HS256) naming their session (`sid`, the refresh-token
family) and the account's credential version (`ver`); both are checked on every request
in the one statement that loads the caller, so a revoked session or a changed password
ends its access tokens at once. Refresh tokens are random, stored only as SHA-256 hashes
and rotate on every use: presenting an already-used one revokes its whole family.
API tokens are random, shown once, stored hashed, bound to a node and revocable.

Sign-in answers every refusal alike (unknown phone, wrong password, disabled account,
held back) and throttles per phone and client address, never per account for everyone.
Password hashing runs on a small dedicated thread pool, off the event loop.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

import jwt
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from models.base import utcnow
from models.config import get_settings
from models.db import on_driver
from models.identity import (
    Account,
    ApiToken,
    RateCounter,
    RefreshToken,
    SignInThrottle,
    ThrottleScope,
    TokenRole,
    security_settings,
)
from models.org import OrgUnit
from models.people import Person
from resolvers.common import clean_text, flush_or_refuse, get_row, refresh_path
from resolvers.errors import Common, DomainError, invalid
from resolvers.pagination import Listing
from resolvers.people import validate_phone


class IdentityCode(enum.StrEnum):
    """Codes of sign-in, accounts and tokens."""

    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    DUPLICATE = "DUPLICATE"


API_TOKENS = Listing("api_tokens", ApiToken)
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=30)
MIN_PASSWORD = 10
API_TOKEN_PREFIX = "rbt_"  # noqa: S105  (marks the kind of bearer, not a secret)
_hasher = PasswordHasher()
T = TypeVar("T")


class AuthenticationError(Exception):
    """Credentials were presented but are not valid: never a silent downgrade."""


# --- passwords, off the event loop ------------------------------------------------------


@lru_cache(maxsize=1)
def _password_pool() -> ThreadPoolExecutor:
    """A few threads for argon2 (CPU and 64 MiB each): a flood of sign-ins queues here
    instead of stalling the event loop or taking every thread of the default pool."""
    return ThreadPoolExecutor(
        max_workers=security_settings().password_threads, thread_name_prefix="argon2"
    )


def hash_password(password: str) -> str:
    """Synchronous: for seeds and command-line tools, never inside a request."""
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    """One job on the pool, decoy included, so both cases queue and cost alike."""
    try:
        return bool(_hasher.verify(password_hash or _decoy_hash(), password))
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A hash nobody knows the password of: unknown phones cost a real verification."""
    return _hasher.hash(secrets.token_urlsafe(24))


@dataclass
class _VerifyTime:
    """A running estimate of what a verification costs here, queueing included: refusals
    that check nothing wait as long, so the time of an answer says nothing either."""

    seconds: float = 0.05

    def add(self, elapsed: float) -> None:
        self.seconds = 0.8 * self.seconds + 0.2 * elapsed


_verify_time = _VerifyTime()


async def _in_thread(fn: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(_password_pool(), fn, *args)


async def hash_password_async(password: str) -> str:
    return await _in_thread(hash_password, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check `password`; with no hash (no such account), check it against a decoy."""
    started = time.perf_counter()
    ok = await _in_thread(_verify, password_hash, password)
    _verify_time.add(time.perf_counter() - started)
    return ok and password_hash is not None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _keyed(*parts: str) -> bytes:
    """A keyed hash of `parts`: phones and addresses are stored only this way."""
    message = "\x1f".join(parts).encode()
    return hmac.new(get_settings().lookup_hash_key, message, hashlib.sha256).digest()


def phone_key(phone: str) -> bytes:
    """How the throttle names a phone across addresses (for lifting its back-offs)."""
    return _keyed("sign-in-phone", phone)


def check_password_strength(password: str, field: str = "new_password") -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            Common.VALIDATION, f"a password needs at least {MIN_PASSWORD} characters", field
        )


# --- tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessClaims:
    account_id: int
    version: int
    #: the session (refresh-token family); every token the server issues names one
    family: str | None


def issue_access_token(
    account_id: int, now: datetime | None = None, *, family: str | None = None, version: int = 0
) -> str:
    now = now or utcnow()
    claims: dict[str, object] = {
        "sub": str(account_id),
        "typ": "access",
        "ver": version,
        "iat": now,
        "exp": now + ACCESS_TTL,
    }
    if family is not None:
        claims["sid"] = family
    return jwt.encode(claims, get_settings().jwt_secret, algorithm="HS256")


#: Tokens whose signature was checked, with their claims and expiry: a session's requests
#: carry the same token for its 15 minutes, and checking a signature costs more than a query.
_VERIFIED: OrderedDict[tuple[str, str], tuple[AccessClaims, float]] = OrderedDict()


def read_access_token(token: str) -> AccessClaims:
    secret = get_settings().jwt_secret
    found = _VERIFIED.get((secret, token))
    if found is not None:
        claims, expires = found
        if time.time() < expires:
            return claims
        del _VERIFIED[(secret, token)]
    checked, expires = _verified_claims(token, secret)
    _VERIFIED[(secret, token)] = (checked, expires)
    if len(_VERIFIED) > 10_000:
        _VERIFIED.popitem(last=False)
    return checked


def _verified_claims(token: str, secret: str) -> tuple[AccessClaims, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["exp", "sub", "typ", "ver"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError("the access token has expired") from exc
    except jwt.PyJWTError as exc:
        raise AuthenticationError("the access token is not valid") from exc
    family = claims.get("sid")
    if (
        claims.get("typ") != "access"
        or not str(claims["sub"]).isdigit()
        or not isinstance(claims["ver"], int)
        or not (family is None or isinstance(family, str))
    ):
        raise AuthenticationError("the access token is not valid")
    return AccessClaims(int(claims["sub"]), claims["ver"], family), float(claims["exp"])


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
    family = family or uuid.uuid4().hex
    session.add(
        RefreshToken(
            account_id=account.id,
            family=family,
            token_hash=_digest(refresh),
            issued_at=now,
            expires_at=now + REFRESH_TTL,
        )
    )
    await session.flush()
    access = issue_access_token(account.id, now, family=family, version=account.credential_version)
    return Session(access, refresh, now + ACCESS_TTL, account)


# --- sign-in throttling ------------------------------------------------------------


@lru_cache(maxsize=1)
def _throttle_sql() -> sa.TextClause:
    """Count one attempt per key and decide, atomically per row, whether it may be checked.

    An attempt is counted before its password is checked (a success takes it back), so
    concurrent attempts cannot slip past the limit. Once a key's free attempts are used,
    every further attempt opens a back-off window twice as long as the one before.
    """

    def per_scope(phone_address: str, address: str) -> str:
        return f"(CASE t.scope WHEN 'ADDRESS' THEN {address} ELSE {phone_address} END)"

    free = per_scope(":pa_free", ":a_free")
    window = per_scope(":pa_window", ":a_window")
    blocked = "(t.blocked_until IS NOT NULL AND t.blocked_until > now())"
    expired = f"(t.window_started_at <= now() - make_interval(secs => {window}))"
    counted = f"(CASE WHEN {expired} THEN 1 ELSE t.failures + 1 END)"
    backoff = (
        f"now() + make_interval(secs => least(:base * power(2, least({counted} - {free}, 30)),"
        " :max))"
    )

    def first(free_param: str) -> str:
        return f"CASE WHEN 1 >= {free_param} THEN now() + make_interval(secs => :base) END"

    # Only the fixed fragments above are interpolated; every value is a bound parameter.
    return sa.text(
        f"""INSERT INTO sign_in_throttle AS t
               (key, scope, phone_key, failures, window_started_at, blocked_until, refused)
            VALUES (:pa_key, 'PHONE_ADDRESS', :phone_key, 1, now(),
                    {first(":pa_free")}, false),
                   (:a_key, 'ADDRESS', NULL, 1, now(), {first(":a_free")}, false)
            ON CONFLICT (key) DO UPDATE SET
                refused = {blocked},
                failures = CASE WHEN {blocked} THEN t.failures ELSE {counted} END,
                window_started_at = CASE WHEN NOT {blocked} AND {expired} THEN now()
                                         ELSE t.window_started_at END,
                blocked_until = CASE WHEN {blocked} THEN t.blocked_until
                                     WHEN {counted} >= {free} THEN {backoff} END
            RETURNING scope, refused, blocked_until"""  # noqa: S608
    ).bindparams(
        *(sa.bindparam(name, type_=sa.Integer) for name in ("pa_free", "a_free")),
        *(sa.bindparam(name, type_=sa.Float) for name in ("pa_window", "a_window", "base", "max")),
    )


@dataclass(frozen=True)
class Credentials:
    """What a password check needs of an account, read before the check runs."""

    account_id: int
    password_hash: str
    usable: bool  # not disabled


@dataclass(frozen=True)
class Attempt:
    """A counted sign-in (or current-password) attempt, before its password is checked."""

    phone: str
    phone_key: bytes
    phone_address_key: bytes
    address_key: bytes
    allowed: bool
    #: end of the back-off for this phone from this address, when one is running
    held_until: datetime | None
    credentials: Credentials | None


def _normalised_phone(phone: str) -> tuple[str, bool]:
    """The phone as keyed; malformed ones are keyed too, so they cost the same."""
    try:
        return validate_phone(phone), True
    except DomainError:
        return phone.strip()[:64], False


async def open_attempt(session: AsyncSession, *, phone: str, address: str) -> Attempt:
    """Count an attempt for `phone` from `address` and read the account it would check.

    The caller commits right after, so the count survives whatever happens next and no
    row stays locked while the password is hashed.
    """
    limits = security_settings()
    phone, well_formed = _normalised_phone(phone)
    keys = {
        "pa_key": _keyed("sign-in", phone, address),
        "a_key": _keyed("sign-in-address", address),
        "phone_key": phone_key(phone),
    }
    rows = await session.execute(
        _throttle_sql(),
        {
            **keys,
            "pa_free": limits.phone_free_attempts,
            "a_free": limits.address_free_attempts,
            "pa_window": limits.phone_window.total_seconds(),
            "a_window": limits.address_window.total_seconds(),
            "base": limits.backoff.total_seconds(),
            "max": limits.backoff_max.total_seconds(),
        },
    )
    refused = False
    held_until: datetime | None = None
    for scope, was_refused, blocked_until in rows:
        refused = refused or bool(was_refused)
        if scope == ThrottleScope.PHONE_ADDRESS:
            held_until = blocked_until
    credentials = None
    if not refused and well_formed:
        found = (
            await session.execute(
                sa.select(
                    col(Account.id), col(Account.password_hash), col(Account.disabled_at)
                ).where(col(Account.phone) == phone)
            )
        ).first()
        if found is not None:
            account_id, password_hash, disabled_at = found
            assert account_id is not None
            credentials = Credentials(account_id, password_hash, disabled_at is None)
    attempt = Attempt(
        phone=phone,
        phone_key=keys["phone_key"],
        phone_address_key=keys["pa_key"],
        address_key=keys["a_key"],
        allowed=not refused,
        held_until=held_until,
        credentials=credentials,
    )
    if refused:
        await _record_failure(session, attempt)
    return attempt


async def _record_failure(session: AsyncSession, attempt: Attempt) -> None:
    """Tell the account holder (and admins) about it; the same statement for any phone."""
    window = security_settings().phone_window
    await session.execute(
        sa.update(Account)
        .where(col(Account.phone) == attempt.phone)
        .values(
            failed_attempts=sa.case(
                (
                    sa.or_(
                        col(Account.last_failed_at).is_(None),
                        col(Account.last_failed_at) <= sa.func.now() - window,
                    ),
                    1,
                ),
                else_=col(Account.failed_attempts) + 1,
            ),
            last_failed_at=sa.func.now(),
            locked_until=sa.func.greatest(col(Account.locked_until), attempt.held_until),
        )
    )


async def _take_back(session: AsyncSession, attempt: Attempt) -> None:
    """A success: this phone starts afresh from this address; the address gets its
    attempt back (not its whole count, or one's own account would reset a spray)."""
    free = security_settings().address_free_attempts
    await session.execute(
        sa.delete(SignInThrottle).where(col(SignInThrottle.key) == attempt.phone_address_key)
    )
    await session.execute(
        sa.update(SignInThrottle)
        .where(col(SignInThrottle.key) == attempt.address_key)
        .values(
            failures=sa.func.greatest(col(SignInThrottle.failures) - 1, 0),
            blocked_until=sa.case(
                (col(SignInThrottle.failures) - 1 >= free, col(SignInThrottle.blocked_until)),
                else_=None,
            ),
        )
    )


_INVALID_MESSAGE = "phone or password is wrong, or there were too many attempts: try again later"


async def check_attempt(
    session: AsyncSession, attempt: Attempt, password: str, refusal: DomainError
) -> Account:
    """The account, when the attempt was allowed and the password is right; else `refusal`.

    Every refusal takes about as long as a real check (a held-back attempt waits instead
    of hashing), so neither the answer nor its time tells the cases apart.
    """
    if not attempt.allowed:
        await asyncio.sleep(_verify_time.seconds)
        raise refusal
    found = attempt.credentials
    ok = await verify_password(found.password_hash if found else None, password)
    if not ok or found is None or not found.usable:
        await _record_failure(session, attempt)
        raise refusal
    account: Account | None = await session.get(Account, found.account_id)
    if account is None:
        raise refusal
    await _take_back(session, attempt)
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = await hash_password_async(password)
    return account


async def forget_stale_throttles(session: AsyncSession, limit: int = 100) -> None:
    """Drop a few rows whose window and back-off are long over (the table stays small)."""
    limits = security_settings()
    horizon = max(limits.phone_window, limits.address_window)
    stale = (
        sa.select(col(SignInThrottle.key))
        .where(
            col(SignInThrottle.window_started_at) < sa.func.now() - horizon,
            sa.or_(
                col(SignInThrottle.blocked_until).is_(None),
                col(SignInThrottle.blocked_until) < sa.func.now(),
            ),
        )
        .limit(limit)
        .scalar_subquery()
    )
    await session.execute(sa.delete(SignInThrottle).where(col(SignInThrottle.key).in_(stale)))


# --- sign-in -------------------------------------------------------------------------


def invalid_credentials(field: str | None = None) -> DomainError:
    return DomainError(IdentityCode.INVALID_CREDENTIALS, _INVALID_MESSAGE, field)


async def sign_in(session: AsyncSession, attempt: Attempt, password: str) -> Session:
    """Finish an attempt opened (and committed) by `open_attempt`."""
    account = await check_attempt(session, attempt, password, invalid_credentials())
    account.last_signed_in_at = utcnow()
    await forget_stale_throttles(session)
    return await _issue_session(session, account)


async def refresh_session(session: AsyncSession, *, refresh_token: str) -> Session:
    found = await session.scalar(
        sa.select(RefreshToken)
        .where(col(RefreshToken.token_hash) == _digest(refresh_token))
        .with_for_update()
    )
    now = utcnow()
    invalid = DomainError(Common.UNAUTHENTICATED, "the refresh token is not valid")
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
    """End a session: its refresh tokens, and (checked per request) its access tokens."""
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


async def phone_of(session: AsyncSession, account_id: int) -> str:
    phone = await session.scalar(sa.select(col(Account.phone)).where(col(Account.id) == account_id))
    if phone is None:
        raise DomainError(Common.UNAUTHENTICATED, "sign in first")
    return str(phone)


def current_password_refusal() -> DomainError:
    return DomainError(
        IdentityCode.INVALID_CREDENTIALS,
        "the current password is wrong, or there were too many attempts: try again later",
        "current_password",
    )


async def change_password(session: AsyncSession, account: Account, *, new: str) -> Session:
    """Set a new password (the current one was checked by `check_attempt`), end every
    session of the account, its access tokens with them, and open a fresh one."""
    check_password_strength(new)
    assert account.id is not None
    account.password_hash = await hash_password_async(new)
    account.password_changed_at = utcnow()
    account.credential_version += 1
    await session.execute(
        sa.update(RefreshToken)
        .where(col(RefreshToken.account_id) == account.id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    await session.flush()
    return await _issue_session(session, account)


async def create_account(
    session: AsyncSession, *, person_id: int, phone: str | None, password: str
) -> Account:
    person: Person = await get_row(session, Person, person_id, "person", "person_id")
    login = validate_phone(phone or person.phone or "")
    check_password_strength(password, "password")
    account = Account(
        person_id=person_id, phone=login, password_hash=await hash_password_async(password)
    )
    await flush_or_refuse(
        session,
        adding=account,
        duplicate=DomainError(
            IdentityCode.DUPLICATE, "this person or phone already has an account", "person_id"
        ),
    )
    return account


async def unlock_account(session: AsyncSession, *, account_id: int) -> Account:
    """Lift every back-off on the account's phone, from every address, and clear its count."""
    account: Account = await get_row(session, Account, account_id, "account", "account_id")
    await session.execute(
        sa.delete(SignInThrottle).where(col(SignInThrottle.phone_key) == phone_key(account.phone))
    )
    account.failed_attempts = 0
    account.locked_until = None
    await session.flush()
    return account


# --- refusal counters ----------------------------------------------------------------


async def refusals_left(session: AsyncSession, key: str, limit: int, window: timedelta) -> int:
    """How many more times `key` may be refused in the current window (0: none).

    The row is created or locked here, so concurrent requests of one actor wait for each
    other's count instead of all slipping past the limit at once.
    """
    expired = col(RateCounter.window_started_at) <= sa.func.now() - window
    statement = (
        postgresql.insert(RateCounter)
        .values(key=key, window_started_at=sa.func.now(), hits=0)
        .on_conflict_do_update(
            index_elements=[col(RateCounter.key)],
            set_={
                "window_started_at": sa.case(
                    (expired, sa.func.now()), else_=col(RateCounter.window_started_at)
                ),
                "hits": sa.case((expired, 0), else_=col(RateCounter.hits)),
            },
        )
        .returning(col(RateCounter.hits))
    )
    hits = (await session.execute(statement)).scalar_one()
    return max(0, limit - int(hits))


async def count_refusal(session: AsyncSession, key: str, n: int = 1) -> None:
    await session.execute(
        sa.update(RateCounter)
        .where(col(RateCounter.key) == key)
        .values(hits=col(RateCounter.hits) + n)
    )


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
    await get_row(session, OrgUnit, org_unit_id, "org unit", "org_unit_id")
    if not 1 <= days <= 366:
        raise DomainError(Common.VALIDATION, "a token lives 1 to 366 days", "days")
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
    #: people holding a contact role at the person's household's building, grid or community
    contact_ids: frozenset[int] = frozenset()
    #: a Party member (党员): some steps (claiming a micro-wish) are theirs without a position
    party_member: bool = False
    #: the lookup noted the token's use: commit it (a query's own transaction is rolled back)
    wrote: bool = False
    #: a token held to an allow-list: the SHA-256 of the operations it may run
    allowed_operations: frozenset[str] | None = None


async def principal_for_bearer(
    session: AsyncSession, bearer: str, contact_roles: frozenset[str]
) -> Principal:
    if bearer.startswith(API_TOKEN_PREFIX):
        return await _token_principal(session, bearer)
    return await _person_principal(session, read_access_token(bearer), contact_roles)


def _table(name: str) -> sa.Table:
    """A table as SQL Core sees it (the lookups below select columns, not rows)."""
    return SQLModel.metadata.tables[name]


def _person_lookup(with_family: bool, contact_roles: frozenset[str]) -> sa.Select[Any]:
    """One statement: the account, whether its session and credentials are still current,
    its person, the person's active grants and the person's contacts. Parameters: `account`,
    `version` and, `with_family`, `family`."""
    account, person = _table("account"), _table("person")
    position = _table("position").alias("held")
    contact = _table("position").alias("contact")
    refresh = _table("refresh_token")
    current = sa.and_(
        account.c.disabled_at.is_(None),
        account.c.credential_version == sa.bindparam("version", 0, type_=sa.Integer),
    )
    if with_family:
        current = sa.and_(
            current,
            sa.exists().where(
                refresh.c.family == sa.bindparam("family", "", type_=sa.Text),
                refresh.c.account_id == account.c.id,
                refresh.c.revoked_at.is_(None),
            ),
        )
    grants = (
        sa.select(
            sa.func.array_agg(
                postgresql.aggregate_order_by(
                    sa.cast(position.c.role, sa.Text) + "|" + sa.cast(position.c.path, sa.Text),
                    position.c.id,
                )
            )
        )
        .where(position.c.person_id == person.c.id, position.c.ended_at.is_(None))
        .scalar_subquery()
    )
    contacts = (
        sa.select(sa.func.array_agg(sa.distinct(contact.c.person_id)))
        .where(
            person.c.household_id.is_not(None),
            contact.c.ended_at.is_(None),
            contact.c.role.in_(sorted(contact_roles)),
            person.c.path.op("<@")(contact.c.path),
        )
        .scalar_subquery()
    )
    return (
        sa.select(
            current.label("current"),
            person.c.id,
            person.c.household_id,
            sa.cast(person.c.path, sa.Text),
            person.c.is_party_member,
            grants,
            contacts,
        )
        .select_from(account.join(person, person.c.id == account.c.person_id))
        .where(account.c.id == sa.bindparam("account", 0, type_=sa.BigInteger))
    )


@lru_cache(maxsize=8)
def _person_lookup_sql(
    with_family: bool, contact_roles: frozenset[str]
) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """The lookup as the driver runs it, compiled once: every request of a signed-in person
    runs it, as a statement the connection has prepared."""
    from sqlalchemy.dialects.postgresql.asyncpg import dialect

    compiled = _person_lookup(with_family, contact_roles).compile(
        dialect=dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"render_postcompile": True},
    )
    return str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params)


async def _person_principal(
    session: AsyncSession, claims: AccessClaims, contact_roles: frozenset[str]
) -> Principal:
    sql, order, fixed = _person_lookup_sql(claims.family is not None, contact_roles)
    values = {**fixed, "account": claims.account_id, "version": claims.version}
    values["family"] = claims.family
    # straight on the driver: no transaction is begun for it (a compiled query then needs
    # none either), and no statement is built per request
    found = await on_driver(session, "fetchrow", sql, *(values[name] for name in order))
    if found is None or not found[0]:
        raise AuthenticationError("the session has ended or the account is not active")
    _, person_id, household_id, path, party_member, grants, contacts = found
    return Principal(
        kind="PERSON",
        person_id=int(person_id),
        party_member=bool(party_member),
        account_id=claims.account_id,
        household_path=str(path) if household_id is not None else None,
        grants=tuple(
            (role, place) for role, _, place in (str(g).partition("|") for g in grants or ())
        ),
        contact_ids=frozenset(int(c) for c in contacts or ()),
    )


async def _token_principal(session: AsyncSession, secret: str) -> Principal:
    """One statement: find the token and, at most once a minute, note that it was used
    (a write per request would make concurrent requests of one token wait for each other)."""
    table = _table("api_token")
    allow_list = _table("token_allow_list")
    allowed = (
        sa.select(allow_list.c.operations)
        .where(allow_list.c.token_id == table.c.id)
        .scalar_subquery()
    )
    found = (
        sa.select(
            table.c.id,
            sa.cast(table.c.role, sa.Text).label("role"),
            sa.cast(table.c.path, sa.Text).label("path"),
            table.c.revoked_at,
            table.c.expires_at,
            table.c.last_used_at,
            allowed.label("allowed"),
        )
        .where(table.c.token_hash == _digest(secret))
        .cte("found")
    )
    stale = sa.or_(
        found.c.last_used_at.is_(None), found.c.last_used_at < sa.func.now() - timedelta(minutes=1)
    )
    touched = (
        sa.update(table)
        .where(
            table.c.id.in_(
                sa.select(found.c.id).where(
                    found.c.revoked_at.is_(None), found.c.expires_at > sa.func.now(), stale
                )
            )
        )
        .values(last_used_at=sa.func.now())
        .returning(table.c.id)
        .cte("touched")
    )
    noted = sa.select(sa.func.count()).select_from(touched).scalar_subquery()
    row = (
        await session.execute(
            sa.select(
                found.c.id,
                found.c.role,
                found.c.path,
                found.c.revoked_at,
                found.c.expires_at,
                found.c.allowed,
                noted.label("noted"),
            )
        )
    ).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("the API token is not valid")
    if row.expires_at <= utcnow():
        raise AuthenticationError("the API token has expired")
    return Principal(
        kind="TOKEN",
        token_id=int(row.id),
        grants=((str(row.role), row.path or ""),),
        wrote=bool(row.noted),
        allowed_operations=frozenset(row.allowed) if row.allowed is not None else None,
    )


async def account_of(session: AsyncSession, person_id: int) -> Account | None:
    account: Account | None = await session.scalar(
        sa.select(Account).where(col(Account.person_id) == person_id)
    )
    return account


@dataclass(frozen=True)
class Revealed:
    """Masked personal data shown in full for a stated purpose (the caller audits it)."""

    person_id: int
    fields: tuple[str, ...]
    purpose: str
    phone: str | None = None
    id_card_number: str | None = None
    birth_date: str | None = None
    health_notes: str | None = None


async def reveal(
    session: AsyncSession, *, person_id: int, fields: list[str], purpose: str
) -> Revealed:
    """The values of `fields` of a person; who may see which is decided before."""
    from models.crypto import decrypt_id_card

    stated = purpose.strip()
    if len(stated) < 4:
        raise invalid("state the purpose", "purpose")
    person = await get_row(session, Person, person_id, "person", "person_id")
    wanted = tuple(sorted(set(fields)))
    return Revealed(
        person_id=person_id,
        fields=wanted,
        purpose=clean_text(stated, "purpose", max_length=200),
        phone=person.phone if "phone" in wanted else None,
        id_card_number=decrypt_id_card(person.id_card_cipher)
        if "idCardNumber" in wanted and person.id_card_cipher
        else None,
        birth_date=person.birth_date.isoformat()
        if "birthDate" in wanted and person.birth_date
        else None,
        health_notes=person.health_notes if "healthNotes" in wanted else None,
    )
