"""Recognition (评比表彰) and building culture: awards (最美楼栋, 志愿服务之星, the rotating
流动红旗, other 先进个人或集体), a building's role models (老党员, 劳动模范, 道德模范) and its
publicity wall (宣传墙) beside the culture labels and motto of `models.org.Building`.

The red flag has one holder per node and period: an exclusion constraint over the node and
the period's date range, so two overlapping holders cannot both be stored, whoever races.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from models.base import enum_column, fk, ltree_column, pk, text_array, timestamp


class AwardKind(enum.StrEnum):
    MOST_BEAUTIFUL_BUILDING = "MOST_BEAUTIFUL_BUILDING"  # 最美楼栋 (a building)
    VOLUNTEER_STAR = "VOLUNTEER_STAR"  # 志愿服务之星 (a person)
    RED_FLAG = "RED_FLAG"  # 流动红旗 (a building; one per node and period)
    ADVANCED_INDIVIDUAL = "ADVANCED_INDIVIDUAL"  # 先进个人
    ADVANCED_COLLECTIVE = "ADVANCED_COLLECTIVE"  # 先进集体 (a building)


class Award(SQLModel, table=True):
    """An award a node (community, street ...) decided for a period, with its citation.
    `path` is the awarding node's: awards are public in its subtree."""

    __tablename__ = "award"
    __table_args__ = (
        sa.Index("ix_award_path", "path", postgresql_using="gist"),
        sa.Index("ix_award_building", "building_id"),
        sa.Index("ix_award_person", "person_id"),
        sa.CheckConstraint(
            "(building_id IS NULL) <> (person_id IS NULL)", name="ck_award_one_recipient"
        ),
        sa.CheckConstraint(
            "(kind IN ('VOLUNTEER_STAR', 'ADVANCED_INDIVIDUAL')) = (person_id IS NOT NULL)",
            name="ck_award_recipient_kind",
        ),
        sa.CheckConstraint("period_end > period_start", name="ck_award_period"),
        sa.CheckConstraint("points >= 0", name="ck_award_points"),
        postgresql.ExcludeConstraint(
            (sa.column("org_unit_id"), "="),
            (sa.func.daterange(sa.column("period_start"), sa.column("period_end")), "&&"),
            where=sa.text("kind = 'RED_FLAG'"),
            using="gist",
            name="ex_award_red_flag_one_holder",
        ),
    )

    id: int | None = pk()
    kind: AwardKind = enum_column(AwardKind)
    org_unit_id: int = fk("org_unit.id")
    path: str | None = ltree_column()
    building_id: int | None = fk("building.id", nullable=True, index=False)
    person_id: int | None = fk("person.id", nullable=True, index=False)
    period_start: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    period_end: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    citation: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    points: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    #: who the points went to (a person, or the building's head at the decision)
    credited_person_id: int | None = fk("person.id", nullable=True, index=False)
    decided_by_id: int | None = fk("person.id", nullable=True, index=False)
    decided_at: datetime = timestamp()


class RoleModelKind(enum.StrEnum):
    VETERAN_PARTY_MEMBER = "VETERAN_PARTY_MEMBER"  # 老党员
    LABOUR_MODEL = "LABOUR_MODEL"  # 劳动模范
    MORAL_MODEL = "MORAL_MODEL"  # 道德模范


class RoleModel(SQLModel, table=True):
    """A role model of a building, as published on its wall (by name, with their consent)."""

    __tablename__ = "role_model"
    __table_args__ = (sa.Index("ix_role_model_path", "path", postgresql_using="gist"),)

    id: int | None = pk()
    building_id: int = fk("building.id")
    path: str | None = ltree_column()
    kind: RoleModelKind = enum_column(RoleModelKind)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    story: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    photo: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    added_at: datetime = timestamp()
    removed_at: datetime | None = timestamp(nullable=True, default_now=False)


class WallPost(SQLModel, table=True):
    """宣传墙: a post on the building's publicity wall (党的声音进楼栋, 一楼一特, good deeds)."""

    __tablename__ = "wall_post"
    __table_args__ = (sa.Index("ix_wall_post_path", "path", postgresql_using="gist"),)

    id: int | None = pk()
    building_id: int = fk("building.id")
    path: str | None = ltree_column()
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    images: list[str] = text_array()
    posted_by_id: int | None = fk("person.id", nullable=True, index=False)
    posted_at: datetime = timestamp()
    removed_at: datetime | None = timestamp(nullable=True, default_now=False)
