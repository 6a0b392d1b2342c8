"""People, their positions (time-bounded grants of a role at a place) and 1+N pairings."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import enum_column, fk, ltree_column, pk, text_array, timestamp


class Gender(enum.StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"


class Role(enum.StrEnum):
    BUILDING_HEAD = "BUILDING_HEAD"
    GRID_WORKER = "GRID_WORKER"
    HOUSEHOLD_LIAISON = "HOUSEHOLD_LIAISON"
    SECONDED_CADRE = "SECONDED_CADRE"
    REGISTERED_PARTY_MEMBER = "REGISTERED_PARTY_MEMBER"
    VOLUNTEER = "VOLUNTEER"
    PROPERTY_STAFF = "PROPERTY_STAFF"
    SHOP_OPERATOR = "SHOP_OPERATOR"
    #: 兼职委员: a leading cadre of a department on a street or community Party committee
    PARTY_COMMITTEE_MEMBER = "PARTY_COMMITTEE_MEMBER"
    COMMUNITY_ADMIN = "COMMUNITY_ADMIN"
    STREET_ADMIN = "STREET_ADMIN"
    DISTRICT_ADMIN = "DISTRICT_ADMIN"
    CITY_ADMIN = "CITY_ADMIN"


class SelectionMethod(enum.StrEnum):
    NOMINATION_AND_ELECTION = "NOMINATION_AND_ELECTION"
    APPOINTMENT = "APPOINTMENT"


class PriorityBasis(enum.StrEnum):
    """三优先: why a building head was preferred."""

    PARTY_MEMBER = "PARTY_MEMBER"
    VETERAN = "VETERAN"
    OUTSTANDING_VOLUNTEER = "OUTSTANDING_VOLUNTEER"


class StaffKind(enum.StrEnum):
    """红管家: property staff serving a building."""

    GUARD = "GUARD"
    CLEANER = "CLEANER"
    ELECTRICIAN = "ELECTRICIAN"


class HouseholdRelationship(enum.StrEnum):
    """与户主关系: how a resident stands to the head of their household (the register's column)."""

    HEAD = "HEAD"  # 户主
    SPOUSE = "SPOUSE"  # 配偶
    CHILD = "CHILD"  # 子女
    PARENT = "PARENT"  # 父母
    GRANDCHILD = "GRANDCHILD"  # 孙子女
    SIBLING = "SIBLING"  # 兄弟姐妹
    OTHER = "OTHER"  # 其他


class Person(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (
        sa.Index("ix_person_path", "path", postgresql_using="gist"),
        sa.Index("ix_person_name_prefix", "name", postgresql_ops={"name": "text_pattern_ops"}),
        # one person per ID number, whoever registers it (createPerson, the register import)
        sa.Index("ix_person_id_card_hash", "id_card_hash", unique=True),
    )

    id: int | None = pk()
    household_id: int | None = fk("household.id", nullable=True)
    party_org_id: int | None = fk("party_organisation.id", nullable=True)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    gender: Gender = enum_column(Gender)
    birth_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    phone: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    id_card_cipher: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary))
    id_card_hash: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary))
    is_party_member: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    is_veteran: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    is_elderly: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    lives_alone: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    is_renter: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    health_notes: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    relationship: HouseholdRelationship | None = enum_column(HouseholdRelationship, nullable=True)
    path: str | None = ltree_column(nullable=True)
    created_at: datetime = timestamp()


class Position(SQLModel, table=True):
    """A role held by a person at an org unit or a building, from `started_at` until ended."""

    __tablename__ = "position"
    __table_args__ = (
        sa.Index("ix_position_path", "path", postgresql_using="gist"),
        sa.Index(
            "uq_position_active_building_head",
            "building_id",
            unique=True,
            postgresql_where=sa.text("role = 'BUILDING_HEAD' AND ended_at IS NULL"),
        ),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)", name="ck_position_one_place"
        ),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ck_position_period"),
    )

    id: int | None = pk()
    person_id: int = fk("person.id")
    role: Role = enum_column(Role)
    org_unit_id: int | None = fk("org_unit.id", nullable=True)
    building_id: int | None = fk("building.id", nullable=True)
    path: str | None = ltree_column()
    selection_method: SelectionMethod | None = enum_column(SelectionMethod, nullable=True)
    priority_basis: list[str] = text_array()
    work_unit_id: int | None = fk("work_unit.id", nullable=True)
    team: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    staff_kind: StaffKind | None = enum_column(StaffKind, nullable=True)
    started_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)
    end_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class Pairing(SQLModel, table=True):
    """1+N: a Party member paired with one of the households they look after."""

    __tablename__ = "pairing"
    __table_args__ = (
        sa.Index("ix_pairing_path", "path", postgresql_using="gist"),
        sa.Index(
            "uq_pairing_active",
            "party_member_id",
            "household_id",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
    )

    id: int | None = pk()
    party_member_id: int = fk("person.id")
    household_id: int = fk("household.id")
    path: str | None = ltree_column()
    started_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)


class HouseholdMembership(SQLModel, table=True):
    """Who lived in which household when: written when a person moves (renters in and out),
    so the register keeps its history while `Person.household_id` says where they live now."""

    __tablename__ = "household_membership"
    __table_args__ = (
        sa.Index("ix_household_membership_path", "path", postgresql_using="gist"),
        sa.Index("ix_household_membership_person", "person_id", "started_at"),
        sa.Index(
            "uq_household_membership_current",
            "person_id",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name="ck_household_membership_period"
        ),
    )

    id: int | None = pk()
    person_id: int = fk("person.id", index=False)
    household_id: int = fk("household.id")
    path: str | None = ltree_column()
    started_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
