"""Sign-in accounts of people, their refresh tokens, API tokens for machines, sign-in
throttling and per-actor refusal counters, and the settings that bound them."""

from __future__ import annotations

import enum
import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import enum_column, fk, ltree_column, pk, timestamp


class TokenRole(enum.StrEnum):
    INTEGRATOR = "INTEGRATOR"  # read-only, personal data masked
    DISPLAY = "DISPLAY"  # big screens: aggregates only


class Account(SQLModel, table=True):
    """A person's credentials: phone + argon2 password hash.

    `credential_version` goes up whenever existing access tokens must stop working (a new
    password); every access token carries the version it was issued under. The failure
    columns only inform the holder and admins: they never lock the account for everyone.
    """

    __tablename__ = "account"

    id: int | None = pk()
    person_id: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("person.id"), nullable=False, unique=True)
    )
    phone: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    password_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    credential_version: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    #: failed sign-ins for this phone in the current window (from any address)
    failed_attempts: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    last_failed_at: datetime | None = timestamp(nullable=True, default_now=False)
    #: until when sign-ins for this phone are held back from at least one address
    locked_until: datetime | None = timestamp(nullable=True, default_now=False)
    last_signed_in_at: datetime | None = timestamp(nullable=True, default_now=False)
    password_changed_at: datetime = timestamp()
    disabled_at: datetime | None = timestamp(nullable=True, default_now=False)
    created_at: datetime = timestamp()


class RefreshToken(SQLModel, table=True):
    """One link of a rotating chain; presenting a used link revokes the whole family.

    The family is the session: access tokens name it, so revoking it ends them too.
    """

    __tablename__ = "refresh_token"

    id: int | None = pk()
    account_id: int = fk("account.id")
    family: str = Field(sa_column=sa.Column(sa.Text, nullable=False, index=True))
    token_hash: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False, unique=True))
    issued_at: datetime = timestamp()
    expires_at: datetime = timestamp(default_now=False)
    used_at: datetime | None = timestamp(nullable=True, default_now=False)
    revoked_at: datetime | None = timestamp(nullable=True, default_now=False)


class ApiToken(SQLModel, table=True):
    """A machine credential bound to a node of the tree; only its hash is stored."""

    __tablename__ = "api_token"
    __table_args__ = (sa.Index("ix_api_token_path", "path", postgresql_using="gist"),)

    id: int | None = pk()
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    role: TokenRole = enum_column(TokenRole)
    org_unit_id: int = fk("org_unit.id")
    path: str | None = ltree_column()
    token_hash: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False, unique=True))
    created_by_person_id: int | None = fk("person.id", nullable=True)
    created_at: datetime = timestamp()
    expires_at: datetime = timestamp(default_now=False)
    revoked_at: datetime | None = timestamp(nullable=True, default_now=False)
    last_used_at: datetime | None = timestamp(nullable=True, default_now=False)


class ThrottleScope(enum.StrEnum):
    PHONE_ADDRESS = "PHONE_ADDRESS"  # one phone from one client address
    ADDRESS = "ADDRESS"  # every phone from one client address


class SignInThrottle(SQLModel, table=True):
    """Sign-in attempts per key, with an exponential back-off once the free ones are used.

    Keys are keyed hashes (phones and client addresses are personal data), computed the
    same way whether or not an account exists, so the throttle is no phone oracle.
    """

    __tablename__ = "sign_in_throttle"
    __table_args__ = (
        sa.Index("ix_sign_in_throttle_phone_key", "phone_key"),
        sa.Index("ix_sign_in_throttle_window", "window_started_at"),
    )

    key: bytes = Field(sa_column=sa.Column(sa.LargeBinary, primary_key=True))
    scope: ThrottleScope = enum_column(ThrottleScope)
    phone_key: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary))
    failures: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    window_started_at: datetime = timestamp()
    blocked_until: datetime | None = timestamp(nullable=True, default_now=False)
    #: whether the latest attempt was refused unchecked (set atomically with the count)
    refused: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default="false")
    )


class RateCounter(SQLModel, table=True):
    """Refusals of one operation to one actor in a fixed window, shared by every instance."""

    __tablename__ = "rate_counter"

    key: str = Field(sa_column=sa.Column(sa.Text, primary_key=True))
    window_started_at: datetime = timestamp()
    hits: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


# --- settings ------------------------------------------------------------------------


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SecuritySettings:
    """Sign-in throttling, password hashing and refusal limits (environment, read once)."""

    #: attempts for one phone from one address before the back-off starts
    phone_free_attempts: int = 5
    #: attempts from one address (any phones) per address window before its back-off starts
    address_free_attempts: int = 50
    #: first back-off; it doubles with every further attempt, up to `backoff_max`
    backoff: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=1)
    #: counts for a phone (and the account's failure count) start afresh after this
    phone_window: timedelta = timedelta(days=1)
    address_window: timedelta = timedelta(hours=1)
    #: reverse proxies whose X-Forwarded-For is believed (nothing by default)
    trusted_proxies: tuple[Network, ...] = ()
    #: threads hashing or verifying passwords at once (each argon2 call uses 64 MiB)
    password_threads: int = 2
    #: refused createPerson calls per actor per window before RATE_LIMITED
    create_person_refusals: int = 20
    create_person_window: timedelta = timedelta(hours=1)


def _seconds(name: str, default: timedelta) -> timedelta:
    raw = os.environ.get(name)
    return timedelta(seconds=float(raw)) if raw else default


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name)
    value = int(raw) if raw else default
    if value < 1:
        raise ValueError(f"{name} must be at least 1")
    return value


def parse_networks(raw: str) -> tuple[Network, ...]:
    """'10.0.0.0/8, 127.0.0.1' -> networks; a bare address is a network of one."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()
    )


@lru_cache(maxsize=1)
def security_settings() -> SecuritySettings:
    d = SecuritySettings()
    return SecuritySettings(
        phone_free_attempts=_count("SIGN_IN_FREE_ATTEMPTS", d.phone_free_attempts),
        address_free_attempts=_count("SIGN_IN_ADDRESS_FREE_ATTEMPTS", d.address_free_attempts),
        backoff=_seconds("SIGN_IN_BACKOFF_SECONDS", d.backoff),
        backoff_max=_seconds("SIGN_IN_BACKOFF_MAX_SECONDS", d.backoff_max),
        phone_window=_seconds("SIGN_IN_WINDOW_SECONDS", d.phone_window),
        address_window=_seconds("SIGN_IN_ADDRESS_WINDOW_SECONDS", d.address_window),
        trusted_proxies=parse_networks(os.environ.get("TRUSTED_PROXIES", "")),
        password_threads=_count("PASSWORD_HASH_THREADS", d.password_threads),
        create_person_refusals=_count("CREATE_PERSON_REFUSALS", d.create_person_refusals),
        create_person_window=_seconds(
            "CREATE_PERSON_REFUSAL_WINDOW_SECONDS", d.create_person_window
        ),
    )
