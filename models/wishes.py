"""Micro-wishes (微心愿): a resident's small wish on the wall of a building or a community,
claimed and fulfilled by a Party member, volunteer or cadre, with its own timeline."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import enum_column, fk, ltree_column, pk, text_array, timestamp


class WishStatus(enum.StrEnum):
    POSTED = "POSTED"
    PUBLISHED = "PUBLISHED"
    CLAIMED = "CLAIMED"
    FULFILLED = "FULFILLED"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


class WishAction(enum.StrEnum):
    POST = "POST"  # the first timeline entry only
    PUBLISH = "PUBLISH"
    CLAIM = "CLAIM"
    RELEASE = "RELEASE"
    FULFIL = "FULFIL"
    CONFIRM = "CONFIRM"
    CANCEL = "CANCEL"


class MicroWish(SQLModel, table=True):
    """微心愿: a resident's small wish on the wall of a building or a community."""

    __tablename__ = "micro_wish"
    __table_args__ = (
        sa.Index("ix_micro_wish_path", "path", postgresql_using="gist"),
        sa.Index("ix_micro_wish_status", "status"),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)", name="ck_micro_wish_one_place"
        ),
        sa.CheckConstraint(
            "(status IN ('CLAIMED', 'FULFILLED', 'CONFIRMED')) = (claimant_id IS NOT NULL)"
            " OR status = 'CANCELLED'",
            name="ck_micro_wish_claimant",
        ),
        sa.CheckConstraint("version > 0", name="ck_micro_wish_version"),
    )

    id: int | None = pk()
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    description: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    building_id: int | None = fk("building.id", nullable=True)
    org_unit_id: int | None = fk("org_unit.id", nullable=True)
    path: str | None = ltree_column()
    resident_id: int = fk("person.id")
    recorded_by_id: int | None = fk("person.id", nullable=True, index=False)
    status: WishStatus = enum_column(WishStatus)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1")
    )
    claimant_id: int | None = fk("person.id", nullable=True)
    evidence: list[str] = text_array()
    evidence_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    thanks: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    cancel_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    posted_at: datetime = timestamp()
    published_at: datetime | None = timestamp(nullable=True, default_now=False)
    claimed_at: datetime | None = timestamp(nullable=True, default_now=False)
    fulfilled_at: datetime | None = timestamp(nullable=True, default_now=False)
    confirmed_at: datetime | None = timestamp(nullable=True, default_now=False)
    cancelled_at: datetime | None = timestamp(nullable=True, default_now=False)
    status_changed_at: datetime = timestamp()


class MicroWishEvent(SQLModel, table=True):
    __tablename__ = "micro_wish_event"
    __table_args__ = (
        sa.Index("ix_micro_wish_event_path", "path", postgresql_using="gist"),
        sa.Index("ix_micro_wish_event_wish", "wish_id", "id"),
    )

    id: int | None = pk()
    wish_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("micro_wish.id", ondelete="CASCADE"), nullable=False
        )
    )
    action: WishAction = enum_column(WishAction)
    from_status: WishStatus | None = enum_column(
        WishStatus, check="ck_micro_wish_event_from_status", nullable=True
    )
    to_status: WishStatus = enum_column(WishStatus, check="ck_micro_wish_event_to_status")
    actor_person_id: int | None = fk("person.id", nullable=True, index=False)
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    path: str | None = ltree_column()
    at: datetime = timestamp()
