"""foundation: org tree, buildings, people, positions, party tree

Revision ID: 0001
Revises:
Create Date: 2026-11-25 17:40:34.494429
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class Ltree(UserDefinedType[str]):
    """Frozen copy of the `ltree` column type (migrations do not import models)."""

    cache_ok = True

    def get_col_spec(self, **_: object) -> str:
        return "LTREE"


# Paths are filled by BEFORE INSERT triggers when the inserter leaves them NULL, so the ORM,
# raw SQL and COPY bulk loads all agree; bulk loaders may precompute them to skip the lookup.
PATH_TRIGGERS = """
CREATE FUNCTION org_unit_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_path ltree;
    parent_kind text;
    expected text := CASE NEW.kind WHEN 'DISTRICT' THEN 'CITY' WHEN 'STREET' THEN 'DISTRICT'
        WHEN 'COMMUNITY' THEN 'STREET' WHEN 'GRID' THEN 'COMMUNITY' END;
BEGIN
    IF NEW.parent_id IS NULL THEN
        IF expected IS NOT NULL THEN
            RAISE EXCEPTION 'a % needs a parent of kind %', NEW.kind, expected
                USING ERRCODE = 'check_violation';
        END IF;
        NEW.path := coalesce(NEW.path, text2ltree(NEW.id::text));
        RETURN NEW;
    END IF;
    SELECT path, kind INTO parent_path, parent_kind FROM org_unit WHERE id = NEW.parent_id;
    IF parent_kind IS DISTINCT FROM expected THEN
        RAISE EXCEPTION 'the parent of a % must be a %, not %', NEW.kind, expected, parent_kind
            USING ERRCODE = 'check_violation';
    END IF;
    NEW.path := coalesce(NEW.path, parent_path || NEW.id::text);
    RETURN NEW;
END $$;
CREATE TRIGGER org_unit_before_insert BEFORE INSERT ON org_unit
    FOR EACH ROW EXECUTE FUNCTION org_unit_before_insert();

CREATE FUNCTION building_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE grid_path ltree; grid_kind text;
BEGIN
    IF NEW.path IS NULL THEN
        SELECT path, kind INTO grid_path, grid_kind FROM org_unit WHERE id = NEW.grid_id;
        IF grid_kind IS DISTINCT FROM 'GRID' THEN
            RAISE EXCEPTION 'a building belongs to a GRID, not %', grid_kind
                USING ERRCODE = 'check_violation';
        END IF;
        NEW.path := grid_path || ('b' || NEW.id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER building_before_insert BEFORE INSERT ON building
    FOR EACH ROW EXECUTE FUNCTION building_before_insert();

CREATE FUNCTION household_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS NULL THEN
        NEW.path := (SELECT path FROM building WHERE id = NEW.building_id) || ('h' || NEW.id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER household_before_insert BEFORE INSERT ON household
    FOR EACH ROW EXECUTE FUNCTION household_before_insert();

CREATE FUNCTION place_path(org_unit_id bigint, building_id bigint, household_id bigint)
    RETURNS ltree LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN household_id IS NOT NULL THEN (SELECT path FROM household WHERE id = household_id)
        WHEN building_id IS NOT NULL THEN (SELECT path FROM building WHERE id = building_id)
        WHEN org_unit_id IS NOT NULL THEN (SELECT path FROM org_unit WHERE id = org_unit_id)
    END
$$;

CREATE FUNCTION person_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS NULL AND NEW.household_id IS NOT NULL THEN
        NEW.path := place_path(NULL, NULL, NEW.household_id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER person_before_insert BEFORE INSERT ON person
    FOR EACH ROW EXECUTE FUNCTION person_before_insert();

CREATE FUNCTION at_org_or_building_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS NULL THEN
        NEW.path := place_path(NEW.org_unit_id, NEW.building_id, NULL);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER position_before_insert BEFORE INSERT ON position
    FOR EACH ROW EXECUTE FUNCTION at_org_or_building_before_insert();
CREATE TRIGGER party_organisation_before_insert BEFORE INSERT ON party_organisation
    FOR EACH ROW EXECUTE FUNCTION at_org_or_building_before_insert();

CREATE FUNCTION at_household_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS NULL THEN
        NEW.path := place_path(NULL, NULL, NEW.household_id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER central_household_before_insert BEFORE INSERT ON central_household
    FOR EACH ROW EXECUTE FUNCTION at_household_before_insert();
CREATE TRIGGER pairing_before_insert BEFORE INSERT ON pairing
    FOR EACH ROW EXECUTE FUNCTION at_household_before_insert();

CREATE FUNCTION work_unit_pairing_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS NULL THEN
        NEW.path := place_path(NEW.community_id, NULL, NULL);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER work_unit_pairing_before_insert BEFORE INSERT ON work_unit_pairing
    FOR EACH ROW EXECUTE FUNCTION work_unit_pairing_before_insert();
"""

DROP_TRIGGER_FUNCTIONS = [
    "org_unit_before_insert()",
    "building_before_insert()",
    "household_before_insert()",
    "person_before_insert()",
    "at_org_or_building_before_insert()",
    "at_household_before_insert()",
    "work_unit_pairing_before_insert()",
    "place_path(bigint, bigint, bigint)",
]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS ltree")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "org_unit",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "CITY",
                "DISTRICT",
                "STREET",
                "COMMUNITY",
                "GRID",
                name="ck_orgkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "grid_type",
            sa.Enum(
                "OLD_ESTATE",
                "NEW_ESTATE",
                "COMMERCIAL",
                "RELOCATION_RESETTLEMENT",
                name="ck_gridtype",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'GRID') = (grid_type IS NOT NULL)", name="ck_org_unit_grid_type_only_on_grids"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_org_unit_parent_id"), "org_unit", ["parent_id"], unique=False)
    op.create_index("ix_org_unit_path", "org_unit", ["path"], unique=False, postgresql_using="gist")
    op.create_table(
        "work_unit",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "GOVERNMENT_ORGAN",
                "ENTERPRISE_OR_INSTITUTION",
                "NON_PUBLIC_ORGANISATION",
                name="ck_workunitkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "building",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("grid_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column(
            "culture_labels",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("motto", sa.Text(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "culture_labels <@ ARRAY['MORAL_MODEL','PARTY_PIONEER','ELDER_CARE','LABOUR_MODEL','CLEAN_AND_GREEN','VETERANS','NEIGHBOURLY']::text[]",
            name="ck_building_culture_labels",
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_building_culture_labels",
        "building",
        ["culture_labels"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(op.f("ix_building_grid_id"), "building", ["grid_id"], unique=False)
    op.create_index("ix_building_path", "building", ["path"], unique=False, postgresql_using="gist")
    op.create_table(
        "work_unit_pairing",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("work_unit_id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_unit_id"],
            ["work_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_work_unit_pairing_community_id"),
        "work_unit_pairing",
        ["community_id"],
        unique=False,
    )
    op.create_index(
        "ix_work_unit_pairing_path",
        "work_unit_pairing",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_work_unit_pairing_work_unit_id"),
        "work_unit_pairing",
        ["work_unit_id"],
        unique=False,
    )
    op.create_index(
        "uq_work_unit_pairing_active",
        "work_unit_pairing",
        ["work_unit_id", "community_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "household",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("room", sa.Text(), nullable=False),
        sa.Column(
            "tenure",
            sa.Enum(
                "OWNER_OCCUPIED",
                "RENTED",
                name="ck_tenure",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("building_id", "unit", "room", name="uq_household_room"),
    )
    op.create_index(op.f("ix_household_building_id"), "household", ["building_id"], unique=False)
    op.create_index(
        "ix_household_path", "household", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "party_organisation",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "COMMUNITY_BRANCH",
                "GRID_PARTY_ORG",
                "BUILDING_PARTY_GROUP",
                name="ck_partyorgkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)",
            name="ck_party_organisation_serves_one_place",
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["party_organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_party_organisation_building_id"),
        "party_organisation",
        ["building_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_party_organisation_org_unit_id"),
        "party_organisation",
        ["org_unit_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_party_organisation_parent_id"), "party_organisation", ["parent_id"], unique=False
    )
    op.create_index(
        "ix_party_organisation_path",
        "party_organisation",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "person",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=True),
        sa.Column("party_org_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "gender",
            sa.Enum(
                "MALE",
                "FEMALE",
                name="ck_gender",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("id_card_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("id_card_hash", sa.LargeBinary(), nullable=True),
        sa.Column("is_party_member", sa.Boolean(), nullable=False),
        sa.Column("is_veteran", sa.Boolean(), nullable=False),
        sa.Column("is_elderly", sa.Boolean(), nullable=False),
        sa.Column("lives_alone", sa.Boolean(), nullable=False),
        sa.Column("is_renter", sa.Boolean(), nullable=False),
        sa.Column("health_notes", sa.Text(), nullable=True),
        sa.Column("path", Ltree(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.ForeignKeyConstraint(
            ["party_org_id"],
            ["party_organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_person_household_id"), "person", ["household_id"], unique=False)
    op.create_index("ix_person_id_card_hash", "person", ["id_card_hash"], unique=False)
    op.create_index(
        "ix_person_name_prefix",
        "person",
        ["name"],
        unique=False,
        postgresql_ops={"name": "text_pattern_ops"},
    )
    op.create_index(op.f("ix_person_party_org_id"), "person", ["party_org_id"], unique=False)
    op.create_index("ix_person_path", "person", ["path"], unique=False, postgresql_using="gist")
    op.create_table(
        "central_household",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("party_member_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "designated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.ForeignKeyConstraint(
            ["party_member_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_central_household_building_id"), "central_household", ["building_id"], unique=False
    )
    op.create_index(
        op.f("ix_central_household_household_id"),
        "central_household",
        ["household_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_central_household_party_member_id"),
        "central_household",
        ["party_member_id"],
        unique=False,
    )
    op.create_index(
        "ix_central_household_path",
        "central_household",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "uq_central_household_active",
        "central_household",
        ["household_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "pairing",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("party_member_id", sa.BigInteger(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.ForeignKeyConstraint(
            ["party_member_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_pairing_household_id"), "pairing", ["household_id"], unique=False)
    op.create_index(
        op.f("ix_pairing_party_member_id"), "pairing", ["party_member_id"], unique=False
    )
    op.create_index("ix_pairing_path", "pairing", ["path"], unique=False, postgresql_using="gist")
    op.create_index(
        "uq_pairing_active",
        "pairing",
        ["party_member_id", "household_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "position",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "BUILDING_HEAD",
                "GRID_WORKER",
                "HOUSEHOLD_LIAISON",
                "SECONDED_CADRE",
                "REGISTERED_PARTY_MEMBER",
                "VOLUNTEER",
                "PROPERTY_STAFF",
                "SHOP_OPERATOR",
                "COMMUNITY_ADMIN",
                "STREET_ADMIN",
                "DISTRICT_ADMIN",
                "CITY_ADMIN",
                name="ck_role",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "selection_method",
            sa.Enum(
                "NOMINATION_AND_ELECTION",
                "APPOINTMENT",
                name="ck_selectionmethod",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "priority_basis",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("work_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("team", sa.Text(), nullable=True),
        sa.Column(
            "staff_kind",
            sa.Enum(
                "GUARD",
                "CLEANER",
                "ELECTRICIAN",
                name="ck_staffkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)", name="ck_position_one_place"
        ),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ck_position_period"),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_unit_id"],
            ["work_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_position_building_id"), "position", ["building_id"], unique=False)
    op.create_index(op.f("ix_position_org_unit_id"), "position", ["org_unit_id"], unique=False)
    op.create_index("ix_position_path", "position", ["path"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_position_person_id"), "position", ["person_id"], unique=False)
    op.create_index(op.f("ix_position_work_unit_id"), "position", ["work_unit_id"], unique=False)
    op.create_index(
        "uq_position_active_building_head",
        "position",
        ["building_id"],
        unique=True,
        postgresql_where=sa.text("role = 'BUILDING_HEAD' AND ended_at IS NULL"),
    )

    op.execute(PATH_TRIGGERS)


def downgrade() -> None:
    op.drop_index(
        "uq_position_active_building_head",
        table_name="position",
        postgresql_where=sa.text("role = 'BUILDING_HEAD' AND ended_at IS NULL"),
    )
    op.drop_index(op.f("ix_position_work_unit_id"), table_name="position")
    op.drop_index(op.f("ix_position_person_id"), table_name="position")
    op.drop_index("ix_position_path", table_name="position", postgresql_using="gist")
    op.drop_index(op.f("ix_position_org_unit_id"), table_name="position")
    op.drop_index(op.f("ix_position_building_id"), table_name="position")
    op.drop_table("position")
    op.drop_index(
        "uq_pairing_active", table_name="pairing", postgresql_where=sa.text("ended_at IS NULL")
    )
    op.drop_index("ix_pairing_path", table_name="pairing", postgresql_using="gist")
    op.drop_index(op.f("ix_pairing_party_member_id"), table_name="pairing")
    op.drop_index(op.f("ix_pairing_household_id"), table_name="pairing")
    op.drop_table("pairing")
    op.drop_index(
        "uq_central_household_active",
        table_name="central_household",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index(
        "ix_central_household_path", table_name="central_household", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_central_household_party_member_id"), table_name="central_household")
    op.drop_index(op.f("ix_central_household_household_id"), table_name="central_household")
    op.drop_index(op.f("ix_central_household_building_id"), table_name="central_household")
    op.drop_table("central_household")
    op.drop_index("ix_person_path", table_name="person", postgresql_using="gist")
    op.drop_index(op.f("ix_person_party_org_id"), table_name="person")
    op.drop_index(
        "ix_person_name_prefix", table_name="person", postgresql_ops={"name": "text_pattern_ops"}
    )
    op.drop_index("ix_person_id_card_hash", table_name="person")
    op.drop_index(op.f("ix_person_household_id"), table_name="person")
    op.drop_table("person")
    op.drop_index(
        "ix_party_organisation_path", table_name="party_organisation", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_party_organisation_parent_id"), table_name="party_organisation")
    op.drop_index(op.f("ix_party_organisation_org_unit_id"), table_name="party_organisation")
    op.drop_index(op.f("ix_party_organisation_building_id"), table_name="party_organisation")
    op.drop_table("party_organisation")
    op.drop_index("ix_household_path", table_name="household", postgresql_using="gist")
    op.drop_index(op.f("ix_household_building_id"), table_name="household")
    op.drop_table("household")
    op.drop_index(
        "uq_work_unit_pairing_active",
        table_name="work_unit_pairing",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index(op.f("ix_work_unit_pairing_work_unit_id"), table_name="work_unit_pairing")
    op.drop_index(
        "ix_work_unit_pairing_path", table_name="work_unit_pairing", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_work_unit_pairing_community_id"), table_name="work_unit_pairing")
    op.drop_table("work_unit_pairing")
    op.drop_index("ix_building_path", table_name="building", postgresql_using="gist")
    op.drop_index(op.f("ix_building_grid_id"), table_name="building")
    op.drop_index("ix_building_culture_labels", table_name="building", postgresql_using="gin")
    op.drop_table("building")
    op.drop_table("work_unit")
    op.drop_index("ix_org_unit_path", table_name="org_unit", postgresql_using="gist")
    op.drop_index(op.f("ix_org_unit_parent_id"), table_name="org_unit")
    op.drop_table("org_unit")
    for fn in DROP_TRIGGER_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {fn} CASCADE")
