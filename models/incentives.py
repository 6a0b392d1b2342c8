"""The incentive points ledger (积分): append-only (the database refuses UPDATE, DELETE and
TRUNCATE), without a `path` (it belongs to a person: a move of the tree never rewrites it)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import enum_column, fk, pk, timestamp


class PointsKind(enum.StrEnum):
    EARNED = "EARNED"
    REDEEMED = "REDEEMED"


class PointsEntry(SQLModel, table=True):
    """The incentive points ledger: append-only; a source credits a person at most once."""

    __tablename__ = "points_entry"
    __table_args__ = (
        sa.Index("ix_points_entry_person", "person_id", "at"),
        sa.Index("ix_points_entry_source", "source_type", "source_id"),
        sa.Index(
            "uq_points_entry_earned_once",
            "source_type",
            "source_id",
            "person_id",
            unique=True,
            postgresql_where=sa.text("kind = 'EARNED'"),
        ),
        sa.CheckConstraint("points > 0", name="ck_points_entry_positive"),
    )

    id: int | None = pk()
    person_id: int = fk("person.id", index=False)
    kind: PointsKind = enum_column(PointsKind)
    points: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    source_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    source_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    at: datetime = timestamp()
