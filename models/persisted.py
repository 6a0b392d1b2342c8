"""Registered GraphQL operations (the allow-list catalogue) and the operations an API token
is held to."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, text_array, timestamp


class RegisteredOperation(SQLModel, table=True):
    """A GraphQL document registered by an admin, known by the SHA-256 of its text (the hash
    Apollo's automatic persisted queries send): allow-lists name these."""

    __tablename__ = "registered_operation"

    sha256: str = Field(sa_column=sa.Column(sa.Text, primary_key=True))
    document: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    operation_name: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    registered_by_person_id: int | None = fk("person.id", nullable=True, index=False)
    registered_at: datetime = timestamp()


class TokenAllowList(SQLModel, table=True):
    """An API token held to an allow-list: it may run these registered operations only."""

    __tablename__ = "token_allow_list"

    token_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("api_token.id", ondelete="CASCADE"), primary_key=True
        )
    )
    operations: list[str] = text_array()
    updated_by_person_id: int | None = fk("person.id", nullable=True, index=False)
    updated_at: datetime = timestamp()
