"""The administrative tree, buildings, households, the Party tree and work units."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import enum_column, fk, ltree_column, pk, text_array, timestamp


class OrgKind(enum.StrEnum):
    CITY = "CITY"
    DISTRICT = "DISTRICT"
    STREET = "STREET"
    COMMUNITY = "COMMUNITY"
    GRID = "GRID"


#: The kind a node's parent must have; a city has none.
PARENT_KIND: dict[OrgKind, OrgKind | None] = {
    OrgKind.CITY: None,
    OrgKind.DISTRICT: OrgKind.CITY,
    OrgKind.STREET: OrgKind.DISTRICT,
    OrgKind.COMMUNITY: OrgKind.STREET,
    OrgKind.GRID: OrgKind.COMMUNITY,
}

#: Depth of each kind in the tree (ltree `nlevel` of its path).
KIND_LEVEL: dict[OrgKind, int] = {kind: i + 1 for i, kind in enumerate(OrgKind)}


class GridType(enum.StrEnum):
    OLD_ESTATE = "OLD_ESTATE"
    NEW_ESTATE = "NEW_ESTATE"
    COMMERCIAL = "COMMERCIAL"
    RELOCATION_RESETTLEMENT = "RELOCATION_RESETTLEMENT"


class CultureLabel(enum.StrEnum):
    """一楼一特: the building's featured culture."""

    MORAL_MODEL = "MORAL_MODEL"
    PARTY_PIONEER = "PARTY_PIONEER"
    ELDER_CARE = "ELDER_CARE"
    LABOUR_MODEL = "LABOUR_MODEL"
    CLEAN_AND_GREEN = "CLEAN_AND_GREEN"
    VETERANS = "VETERANS"
    NEIGHBOURLY = "NEIGHBOURLY"


class Tenure(enum.StrEnum):
    OWNER_OCCUPIED = "OWNER_OCCUPIED"
    RENTED = "RENTED"


class PartyOrgKind(enum.StrEnum):
    COMMUNITY_BRANCH = "COMMUNITY_BRANCH"
    GRID_PARTY_ORG = "GRID_PARTY_ORG"
    BUILDING_PARTY_GROUP = "BUILDING_PARTY_GROUP"


PARTY_PARENT_KIND: dict[PartyOrgKind, PartyOrgKind | None] = {
    PartyOrgKind.COMMUNITY_BRANCH: None,
    PartyOrgKind.GRID_PARTY_ORG: PartyOrgKind.COMMUNITY_BRANCH,
    PartyOrgKind.BUILDING_PARTY_GROUP: PartyOrgKind.GRID_PARTY_ORG,
}


class WorkUnitKind(enum.StrEnum):
    GOVERNMENT_ORGAN = "GOVERNMENT_ORGAN"
    ENTERPRISE_OR_INSTITUTION = "ENTERPRISE_OR_INSTITUTION"
    NON_PUBLIC_ORGANISATION = "NON_PUBLIC_ORGANISATION"


class OrgUnit(SQLModel, table=True):
    __tablename__ = "org_unit"
    __table_args__ = (
        sa.Index("ix_org_unit_path", "path", postgresql_using="gist"),
        sa.CheckConstraint(
            "(kind = 'GRID') = (grid_type IS NOT NULL)", name="ck_org_unit_grid_type_only_on_grids"
        ),
    )

    id: int | None = pk()
    kind: OrgKind = enum_column(OrgKind)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    code: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    parent_id: int | None = fk("org_unit.id", nullable=True)
    path: str | None = ltree_column()
    grid_type: GridType | None = enum_column(GridType, nullable=True)
    retired_at: datetime | None = timestamp(nullable=True, default_now=False)
    created_at: datetime = timestamp()


class Building(SQLModel, table=True):
    """A building of a grid; it may belong to an estate (小区) of the same grid, or to none (a
    scattered old building). Coordinates are GCJ-02 (see `models.services`); a building
    without its own is placed at its estate's."""

    __tablename__ = "building"
    __table_args__ = (
        sa.Index("ix_building_path", "path", postgresql_using="gist"),
        sa.Index("ix_building_culture_labels", "culture_labels", postgresql_using="gin"),
        sa.CheckConstraint(
            "culture_labels <@ ARRAY['" + "','".join(CultureLabel) + "']::text[]",
            name="ck_building_culture_labels",
        ),
        sa.CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL)"
            " AND latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180",
            name="ck_building_coordinates",
        ),
    )

    id: int | None = pk()
    grid_id: int = fk("org_unit.id")
    estate_id: int | None = fk("estate.id", nullable=True)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    address: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    culture_labels: list[str] = text_array()
    motto: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    latitude: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    longitude: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    path: str | None = ltree_column()
    created_at: datetime = timestamp()


class Household(SQLModel, table=True):
    __tablename__ = "household"
    __table_args__ = (
        sa.Index("ix_household_path", "path", postgresql_using="gist"),
        sa.UniqueConstraint("building_id", "unit", "room", name="uq_household_room"),
    )

    id: int | None = pk()
    building_id: int = fk("building.id")
    unit: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    room: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    tenure: Tenure = enum_column(Tenure)
    path: str | None = ltree_column()
    created_at: datetime = timestamp()


class PartyOrganisation(SQLModel, table=True):
    """A node of the Party tree; `path` is the path of the place it serves (for scoping)."""

    __tablename__ = "party_organisation"
    __table_args__ = (
        sa.Index("ix_party_organisation_path", "path", postgresql_using="gist"),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)",
            name="ck_party_organisation_serves_one_place",
        ),
    )

    id: int | None = pk()
    kind: PartyOrgKind = enum_column(PartyOrgKind)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    parent_id: int | None = fk("party_organisation.id", nullable=True)
    org_unit_id: int | None = fk("org_unit.id", nullable=True)
    building_id: int | None = fk("building.id", nullable=True)
    path: str | None = ltree_column()
    created_at: datetime = timestamp()


class CentralHousehold(SQLModel, table=True):
    """党员中心户: a Party member's household designated as the building's anchor."""

    __tablename__ = "central_household"
    __table_args__ = (
        sa.Index("ix_central_household_path", "path", postgresql_using="gist"),
        sa.Index(
            "uq_central_household_active",
            "household_id",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
    )

    id: int | None = pk()
    building_id: int = fk("building.id")
    household_id: int = fk("household.id")
    party_member_id: int = fk("person.id")
    path: str | None = ltree_column()
    designated_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)


class WorkUnit(SQLModel, table=True):
    __tablename__ = "work_unit"

    id: int | None = pk()
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    kind: WorkUnitKind = enum_column(WorkUnitKind)
    created_at: datetime = timestamp()


class WorkUnitPairing(SQLModel, table=True):
    """双报到: a work unit paired with a community."""

    __tablename__ = "work_unit_pairing"
    __table_args__ = (
        sa.Index("ix_work_unit_pairing_path", "path", postgresql_using="gist"),
        sa.Index(
            "uq_work_unit_pairing_active",
            "work_unit_id",
            "community_id",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
    )

    id: int | None = pk()
    work_unit_id: int = fk("work_unit.id")
    community_id: int = fk("org_unit.id")
    path: str | None = ltree_column()
    started_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)
