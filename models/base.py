"""Column types and helpers shared by every table module."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType
from sqlmodel import Field


class Ltree(UserDefinedType[str]):
    """PostgreSQL `ltree`, carried as its text form ('1.12.340.b77')."""

    cache_ok = True

    def get_col_spec(self, **_: Any) -> str:
        return "LTREE"

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.cast(bindvalue, self)

    def column_expression(self, colexpr: Any) -> Any:
        return sa.cast(colexpr, sa.Text)


def utcnow() -> datetime:
    return datetime.now(UTC)


def enum_column(
    enum_cls: type[enum.Enum], *, nullable: bool = False, check: str | None = None, **kw: Any
) -> Any:
    """A VARCHAR + CHECK column: new members need no `ALTER TYPE`, unlike native enums.

    `check` names the constraint when a table has two columns of one enum.
    """
    return Field(
        sa_column=sa.Column(
            sa.Enum(
                enum_cls,
                native_enum=False,
                create_constraint=True,
                length=40,
                validate_strings=True,
                values_callable=lambda e: [m.value for m in e],
                name=check or f"ck_{enum_cls.__name__.lower()}",
            ),
            nullable=nullable,
            **kw,
        )
    )


def ltree_column(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(Ltree(), nullable=nullable))


def pk() -> Any:
    return Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger, sa.Identity(always=False), primary_key=True),
    )


def fk(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey(target), nullable=nullable, index=index),
    )


def timestamp(*, nullable: bool = False, default_now: bool = True) -> Any:
    return Field(
        default_factory=utcnow if default_now else None,
        sa_column=sa.Column(
            sa.DateTime(timezone=True),
            nullable=nullable,
            server_default=sa.func.now() if default_now else None,
        ),
    )


def text_array() -> Any:
    return Field(
        default_factory=list,
        sa_column=sa.Column(
            postgresql.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")
        ),
    )
