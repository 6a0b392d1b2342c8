"""Sign-in accounts of people, their refresh tokens, and API tokens for machines."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import enum_column, fk, ltree_column, pk, timestamp


class TokenRole(enum.StrEnum):
    INTEGRATOR = "INTEGRATOR"  # read-only, personal data masked
    DISPLAY = "DISPLAY"  # big screens: aggregates only


class Account(SQLModel, table=True):
    """A person's credentials: phone + argon2 password hash, with lock-out state."""

    __tablename__ = "account"

    id: int | None = pk()
    person_id: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("person.id"), nullable=False, unique=True)
    )
    phone: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    password_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    failed_attempts: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    locked_until: datetime | None = timestamp(nullable=True, default_now=False)
    password_changed_at: datetime = timestamp()
    disabled_at: datetime | None = timestamp(nullable=True, default_now=False)
    created_at: datetime = timestamp()


class RefreshToken(SQLModel, table=True):
    """One link of a rotating chain; presenting a used link revokes the whole family."""

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
