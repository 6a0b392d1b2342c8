"""The append-only audit log: every mutation and every full read of personal data."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from models.base import enum_column, pk, text_array, timestamp


class AuditAction(enum.StrEnum):
    READ = "READ"  # personal data returned in full
    REVEAL = "REVEAL"  # masked personal data revealed for a stated purpose
    MUTATION = "MUTATION"


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_at", "at"),
        sa.Index("ix_audit_log_actor_person", "actor_person_id", "at"),
        sa.Index("ix_audit_log_object", "object_type", "at"),
        sa.Index("ix_audit_log_row_ids", "row_ids", postgresql_using="gin"),
    )

    id: int | None = pk()
    at: datetime = timestamp()
    action: AuditAction = enum_column(AuditAction)
    actor_kind: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    actor_person_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    actor_token_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    roles: list[str] = text_array()
    request_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    operation_name: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    object_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    row_ids: list[int] = Field(
        default_factory=list,
        sa_column=sa.Column(postgresql.ARRAY(sa.BigInteger), nullable=False),
    )
    fields: list[str] = text_array()
    purpose: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    details: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(postgresql.JSONB))
