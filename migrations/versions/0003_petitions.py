"""petitions: categories, due times, petitions, timeline, ratings, points ledger, micro-wishes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 18:28:54.877326
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class Ltree(UserDefinedType[str]):
    cache_ok = True

    def get_col_spec(self, **_: object) -> str:
        return "LTREE"


TRIGGERS = """
-- A petition's path is its place's (building, or org unit for a place without building); its
-- owner path, when left NULL, is the ancestor of that place at the owner level.
CREATE FUNCTION petition_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS NULL THEN
        NEW.path := place_path(NEW.org_unit_id, NEW.building_id, NULL);
    END IF;
    IF NEW.owner_path IS NULL THEN
        NEW.owner_path := subpath(NEW.path, 0, CASE NEW.owner_level
            WHEN 'DISTRICT' THEN 2 WHEN 'STREET' THEN 3 WHEN 'COMMUNITY' THEN 4
            WHEN 'GRID' THEN 5 WHEN 'BUILDING' THEN 6 END);
    END IF;
    IF NEW.owner_org_unit_id IS NULL AND NEW.owner_level <> 'BUILDING' THEN
        NEW.owner_org_unit_id := ltree2text(subpath(NEW.owner_path, -1))::bigint;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER petition_before_insert BEFORE INSERT ON petition
    FOR EACH ROW EXECUTE FUNCTION petition_before_insert();
CREATE TRIGGER micro_wish_before_insert BEFORE INSERT ON micro_wish
    FOR EACH ROW EXECUTE FUNCTION at_org_or_building_before_insert();

CREATE FUNCTION at_petition_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS NULL THEN
        NEW.path := (SELECT path FROM petition WHERE id = NEW.petition_id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER petition_event_before_insert BEFORE INSERT ON petition_event
    FOR EACH ROW EXECUTE FUNCTION at_petition_before_insert();
CREATE TRIGGER petition_rating_before_insert BEFORE INSERT ON petition_rating
    FOR EACH ROW EXECUTE FUNCTION at_petition_before_insert();

CREATE FUNCTION micro_wish_event_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS NULL THEN
        NEW.path := (SELECT path FROM micro_wish WHERE id = NEW.wish_id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER micro_wish_event_before_insert BEFORE INSERT ON micro_wish_event
    FOR EACH ROW EXECUTE FUNCTION micro_wish_event_before_insert();

-- The owner is always the ancestor of the place at the owner level: when a move of the tree
-- re-paths a petition (resolvers.org.move_org_unit), its owner follows its place.
CREATE FUNCTION petition_owner_follows_place() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS DISTINCT FROM OLD.path AND NEW.owner_path IS NOT DISTINCT FROM OLD.owner_path
    THEN
        NEW.owner_path := subpath(NEW.path, 0, nlevel(OLD.owner_path));
        IF NEW.owner_level <> 'BUILDING' THEN
            NEW.owner_org_unit_id := ltree2text(subpath(NEW.owner_path, -1))::bigint;
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER petition_owner_follows_place BEFORE UPDATE OF path ON petition
    FOR EACH ROW EXECUTE FUNCTION petition_owner_follows_place();

-- The points ledger is append-only, like the audit log: entries are never edited in place.
CREATE FUNCTION points_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the points ledger is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER points_entry_no_update_or_delete BEFORE UPDATE OR DELETE ON points_entry
    FOR EACH ROW EXECUTE FUNCTION points_entry_append_only();
CREATE TRIGGER points_entry_no_truncate BEFORE TRUNCATE ON points_entry
    FOR EACH STATEMENT EXECUTE FUNCTION points_entry_append_only();
"""

DROP_FUNCTIONS = [
    "petition_before_insert()",
    "at_petition_before_insert()",
    "micro_wish_event_before_insert()",
    "petition_owner_follows_place()",
    "points_entry_append_only()",
]

#: Due times per priority (editable by admins afterwards).
DUE_TIMES = """
INSERT INTO petition_due_time (priority, due_in) VALUES
    ('URGENT', interval '2 hours'),
    ('UTILITIES', interval '24 hours'),
    ('GENERAL', interval '7 days'),
    ('COMPLEX', interval '15 days');
"""

#: (code, name, remit levels, default priority): what residents raise most, with the
#: levels whose remit covers each; a new petition is owned by the lowest of them.
CATEGORIES = (
    ("CORRIDOR_CLUTTER", "楼道堵塞", ("BUILDING", "GRID", "COMMUNITY"), "GENERAL"),
    ("TANGLED_WIRING", "电线乱搭", ("BUILDING", "GRID", "COMMUNITY"), "URGENT"),
    ("UTILITIES_REPAIR", "水电维修", ("BUILDING", "GRID", "COMMUNITY"), "UTILITIES"),
    ("NEIGHBOUR_DISPUTE", "邻里纠纷", ("BUILDING", "GRID", "COMMUNITY", "STREET"), "GENERAL"),
    ("SANITATION", "环境卫生", ("BUILDING", "GRID", "COMMUNITY"), "GENERAL"),
    ("NOISE", "噪音扰民", ("BUILDING", "GRID", "COMMUNITY"), "GENERAL"),
    ("PARKING", "停车管理", ("GRID", "COMMUNITY", "STREET"), "GENERAL"),
    ("ELDER_CARE", "养老服务", ("GRID", "COMMUNITY", "STREET"), "GENERAL"),
    ("PROPERTY_MANAGEMENT", "物业管理", ("COMMUNITY", "STREET"), "GENERAL"),
    ("PUBLIC_SAFETY", "治安", ("COMMUNITY", "STREET", "DISTRICT"), "URGENT"),
    ("POLICY_QUESTION", "政策咨询", ("COMMUNITY", "STREET", "DISTRICT"), "GENERAL"),
    ("ILLEGAL_CONSTRUCTION", "违章搭建", ("STREET", "DISTRICT"), "COMPLEX"),
    ("ESTATE_RENOVATION", "老旧小区改造", ("STREET", "DISTRICT"), "COMPLEX"),
    ("OTHER", "其他", ("BUILDING", "GRID", "COMMUNITY", "STREET", "DISTRICT"), "GENERAL"),
)


def upgrade() -> None:
    op.create_table(
        "petition_category",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "remit_levels",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "default_priority",
            sa.Enum(
                "URGENT",
                "UTILITIES",
                "GENERAL",
                "COMPLEX",
                name="ck_priority",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "remit_levels <@ ARRAY['BUILDING','GRID','COMMUNITY','STREET','DISTRICT']::text[]",
            name="ck_petition_category_levels",
        ),
        sa.CheckConstraint("cardinality(remit_levels) > 0", name="ck_petition_category_has_remit"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "petition_due_time",
        sa.Column(
            "priority",
            sa.Enum(
                "URGENT",
                "UTILITIES",
                "GENERAL",
                "COMPLEX",
                name="ck_priority",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("due_in", sa.Interval(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("due_in > interval '0'", name="ck_petition_due_time"),
        sa.PrimaryKeyConstraint("priority"),
    )
    op.create_table(
        "micro_wish",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "POSTED",
                "PUBLISHED",
                "CLAIMED",
                "FULFILLED",
                "CONFIRMED",
                "CANCELLED",
                name="ck_wishstatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("claimant_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "evidence",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("evidence_note", sa.Text(), nullable=True),
        sa.Column("thanks", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column(
            "posted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status IN ('CLAIMED', 'FULFILLED', 'CONFIRMED')) = (claimant_id IS NOT NULL) OR status = 'CANCELLED'",
            name="ck_micro_wish_claimant",
        ),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)", name="ck_micro_wish_one_place"
        ),
        sa.CheckConstraint("version > 0", name="ck_micro_wish_version"),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["claimant_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_micro_wish_building_id"), "micro_wish", ["building_id"], unique=False)
    op.create_index(op.f("ix_micro_wish_claimant_id"), "micro_wish", ["claimant_id"], unique=False)
    op.create_index(op.f("ix_micro_wish_org_unit_id"), "micro_wish", ["org_unit_id"], unique=False)
    op.create_index(
        "ix_micro_wish_path", "micro_wish", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_micro_wish_resident_id"), "micro_wish", ["resident_id"], unique=False)
    op.create_index("ix_micro_wish_status", "micro_wish", ["status"], unique=False)
    op.create_table(
        "petition",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "ONLINE",
                "SUGGESTION_BOX",
                "WISH_WALL",
                "DOOR_VISIT",
                "HOTLINE",
                "MEETING",
                name="ck_channel",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("category_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("location_note", sa.Text(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("reporter_id", sa.BigInteger(), nullable=True),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "priority",
            sa.Enum(
                "URGENT",
                "UTILITIES",
                "GENERAL",
                "COMPLEX",
                name="ck_priority",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "photos",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "owner_level",
            sa.Enum(
                "BUILDING",
                "GRID",
                "COMMUNITY",
                "STREET",
                "DISTRICT",
                name="ck_level",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("owner_path", Ltree(), nullable=False),
        sa.Column("owner_org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("duplicate_of_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "SUBMITTED",
                "ACCEPTED",
                "REJECTED",
                "DUPLICATE",
                "ASSIGNED",
                "ACKNOWLEDGED",
                "IN_PROGRESS",
                "RETURNED",
                "ESCALATED",
                "RESOLVED",
                "NOT_RESOLVABLE",
                "REOPENED",
                "CLOSED",
                "CLOSED_UNRATED",
                name="ck_petitionstatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("escalation_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reopen_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.Text(), nullable=True),
        sa.Column(
            "submitted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(owner_level = 'BUILDING') = (owner_org_unit_id IS NULL)",
            name="ck_petition_owner_node",
        ),
        sa.CheckConstraint("owner_path @> path", name="ck_petition_owner_above_place"),
        sa.CheckConstraint(
            "(status = 'DUPLICATE') = (duplicate_of_id IS NOT NULL)",
            name="ck_petition_duplicate_of",
        ),
        sa.CheckConstraint(
            "nlevel(owner_path) = CASE owner_level WHEN 'DISTRICT' THEN 2 WHEN 'STREET' THEN 3 WHEN 'COMMUNITY' THEN 4 WHEN 'GRID' THEN 5 WHEN 'BUILDING' THEN 6 END",
            name="ck_petition_owner_depth",
        ),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)", name="ck_petition_one_place"
        ),
        sa.CheckConstraint("cardinality(photos) <= 9", name="ck_petition_photos"),
        sa.CheckConstraint("duplicate_of_id <> id", name="ck_petition_not_own_duplicate"),
        sa.CheckConstraint(
            "reporter_id IS NOT NULL OR recorded_by_id IS NOT NULL", name="ck_petition_has_someone"
        ),
        sa.CheckConstraint("version > 0", name="ck_petition_version"),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["petition_category.id"],
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["petition.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index(op.f("ix_petition_assignee_id"), "petition", ["assignee_id"], unique=False)
    op.create_index(
        "ix_petition_awaiting_rating",
        "petition",
        ["status_changed_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('RESOLVED', 'NOT_RESOLVABLE')"),
    )
    op.create_index(op.f("ix_petition_building_id"), "petition", ["building_id"], unique=False)
    op.create_index(op.f("ix_petition_category_id"), "petition", ["category_id"], unique=False)
    op.create_index("ix_petition_duplicate_of", "petition", ["duplicate_of_id"], unique=False)
    op.create_index(
        "ix_petition_open_due",
        "petition",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('SUBMITTED', 'ACCEPTED', 'ASSIGNED', 'ACKNOWLEDGED', 'IN_PROGRESS', 'RETURNED', 'ESCALATED', 'REOPENED')"
        ),
    )
    op.create_index(op.f("ix_petition_org_unit_id"), "petition", ["org_unit_id"], unique=False)
    op.create_index(
        op.f("ix_petition_owner_org_unit_id"), "petition", ["owner_org_unit_id"], unique=False
    )
    op.create_index(
        "ix_petition_owner_path", "petition", ["owner_path"], unique=False, postgresql_using="gist"
    )
    op.create_index("ix_petition_path", "petition", ["path"], unique=False, postgresql_using="gist")
    op.create_index(
        op.f("ix_petition_recorded_by_id"), "petition", ["recorded_by_id"], unique=False
    )
    op.create_index(op.f("ix_petition_reporter_id"), "petition", ["reporter_id"], unique=False)
    op.create_index("ix_petition_status", "petition", ["status"], unique=False)
    op.create_index("ix_petition_submitted_at", "petition", ["submitted_at"], unique=False)
    op.create_table(
        "points_entry",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "EARNED",
                "REDEEMED",
                name="ck_pointskind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("source_type", sa.Text(), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("points > 0", name="ck_points_entry_positive"),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_points_entry_person", "points_entry", ["person_id", "at"], unique=False)
    op.create_index(
        "ix_points_entry_source", "points_entry", ["source_type", "source_id"], unique=False
    )
    op.create_index(
        "uq_points_entry_earned_once",
        "points_entry",
        ["source_type", "source_id", "person_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'EARNED'"),
    )
    op.create_table(
        "micro_wish_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("wish_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "POST",
                "PUBLISH",
                "CLAIM",
                "RELEASE",
                "FULFIL",
                "CONFIRM",
                "CANCEL",
                name="ck_wishaction",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "from_status",
            sa.Enum(
                "POSTED",
                "PUBLISHED",
                "CLAIMED",
                "FULFILLED",
                "CONFIRMED",
                "CANCELLED",
                name="ck_micro_wish_event_from_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "POSTED",
                "PUBLISHED",
                "CLAIMED",
                "FULFILLED",
                "CONFIRMED",
                "CANCELLED",
                name="ck_micro_wish_event_to_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("actor_person_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["actor_person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(["wish_id"], ["micro_wish.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_micro_wish_event_path",
        "micro_wish_event",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index("ix_micro_wish_event_wish", "micro_wish_event", ["wish_id", "id"], unique=False)
    op.create_table(
        "petition_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("petition_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "SUBMIT",
                "ACCEPT",
                "REJECT",
                "MARK_DUPLICATE",
                "ASSIGN",
                "ACKNOWLEDGE",
                "START",
                "RESOLVE",
                "DECLARE_NOT_RESOLVABLE",
                "RETURN",
                "ESCALATE",
                "CLOSE",
                "REOPEN",
                "CLOSE_UNRATED",
                name="ck_petitionaction",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "from_status",
            sa.Enum(
                "SUBMITTED",
                "ACCEPTED",
                "REJECTED",
                "DUPLICATE",
                "ASSIGNED",
                "ACKNOWLEDGED",
                "IN_PROGRESS",
                "RETURNED",
                "ESCALATED",
                "RESOLVED",
                "NOT_RESOLVABLE",
                "REOPENED",
                "CLOSED",
                "CLOSED_UNRATED",
                name="ck_petition_event_from_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "SUBMITTED",
                "ACCEPTED",
                "REJECTED",
                "DUPLICATE",
                "ASSIGNED",
                "ACKNOWLEDGED",
                "IN_PROGRESS",
                "RETURNED",
                "ESCALATED",
                "RESOLVED",
                "NOT_RESOLVABLE",
                "REOPENED",
                "CLOSED",
                "CLOSED_UNRATED",
                name="ck_petition_event_to_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("actor_person_id", sa.BigInteger(), nullable=True),
        sa.Column("by_reporter", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "from_level",
            sa.Enum(
                "BUILDING",
                "GRID",
                "COMMUNITY",
                "STREET",
                "DISTRICT",
                name="ck_petition_event_from_level",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_level",
            sa.Enum(
                "BUILDING",
                "GRID",
                "COMMUNITY",
                "STREET",
                "DISTRICT",
                name="ck_petition_event_to_level",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["actor_person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(["petition_id"], ["petition.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_petition_event_actor", "petition_event", ["actor_person_id"], unique=False)
    op.create_index(
        "ix_petition_event_path", "petition_event", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        "ix_petition_event_petition", "petition_event", ["petition_id", "id"], unique=False
    )
    op.create_table(
        "petition_rating",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("petition_id", sa.BigInteger(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column(
            "rating",
            sa.Enum(
                "SATISFIED",
                "BASICALLY_SATISFIED",
                "UNSATISFIED",
                name="ck_ratingvalue",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column(
            "resolved_level",
            sa.Enum(
                "BUILDING",
                "GRID",
                "COMMUNITY",
                "STREET",
                "DISTRICT",
                name="ck_level",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(["petition_id"], ["petition.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("petition_id", "round", name="uq_petition_rating_round"),
    )
    op.create_index(
        "ix_petition_rating_path",
        "petition_rating",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )

    op.execute(TRIGGERS)
    op.execute(DUE_TIMES)
    categories = sa.table(
        "petition_category",
        sa.column("code", sa.Text()),
        sa.column("name", sa.Text()),
        sa.column("remit_levels", postgresql.ARRAY(sa.Text())),
        sa.column("default_priority", sa.Text()),
    )
    op.bulk_insert(
        categories,
        [
            {"code": c, "name": n, "remit_levels": list(r), "default_priority": p}
            for c, n, r, p in CATEGORIES
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_petition_rating_path", table_name="petition_rating", postgresql_using="gist")
    op.drop_table("petition_rating")
    op.drop_index("ix_petition_event_petition", table_name="petition_event")
    op.drop_index("ix_petition_event_path", table_name="petition_event", postgresql_using="gist")
    op.drop_index("ix_petition_event_actor", table_name="petition_event")
    op.drop_table("petition_event")
    op.drop_index("ix_micro_wish_event_wish", table_name="micro_wish_event")
    op.drop_index(
        "ix_micro_wish_event_path", table_name="micro_wish_event", postgresql_using="gist"
    )
    op.drop_table("micro_wish_event")
    op.drop_index(
        "uq_points_entry_earned_once",
        table_name="points_entry",
        postgresql_where=sa.text("kind = 'EARNED'"),
    )
    op.drop_index("ix_points_entry_source", table_name="points_entry")
    op.drop_index("ix_points_entry_person", table_name="points_entry")
    op.drop_table("points_entry")
    op.drop_index("ix_petition_submitted_at", table_name="petition")
    op.drop_index("ix_petition_status", table_name="petition")
    op.drop_index(op.f("ix_petition_reporter_id"), table_name="petition")
    op.drop_index(op.f("ix_petition_recorded_by_id"), table_name="petition")
    op.drop_index("ix_petition_path", table_name="petition", postgresql_using="gist")
    op.drop_index("ix_petition_owner_path", table_name="petition", postgresql_using="gist")
    op.drop_index(op.f("ix_petition_owner_org_unit_id"), table_name="petition")
    op.drop_index(op.f("ix_petition_org_unit_id"), table_name="petition")
    op.drop_index(
        "ix_petition_open_due",
        table_name="petition",
        postgresql_where=sa.text(
            "status IN ('SUBMITTED', 'ACCEPTED', 'ASSIGNED', 'ACKNOWLEDGED', 'IN_PROGRESS', 'RETURNED', 'ESCALATED', 'REOPENED')"
        ),
    )
    op.drop_index("ix_petition_duplicate_of", table_name="petition")
    op.drop_index(op.f("ix_petition_category_id"), table_name="petition")
    op.drop_index(op.f("ix_petition_building_id"), table_name="petition")
    op.drop_index(
        "ix_petition_awaiting_rating",
        table_name="petition",
        postgresql_where=sa.text("status IN ('RESOLVED', 'NOT_RESOLVABLE')"),
    )
    op.drop_index(op.f("ix_petition_assignee_id"), table_name="petition")
    op.drop_table("petition")
    op.drop_index("ix_micro_wish_status", table_name="micro_wish")
    op.drop_index(op.f("ix_micro_wish_resident_id"), table_name="micro_wish")
    op.drop_index("ix_micro_wish_path", table_name="micro_wish", postgresql_using="gist")
    op.drop_index(op.f("ix_micro_wish_org_unit_id"), table_name="micro_wish")
    op.drop_index(op.f("ix_micro_wish_claimant_id"), table_name="micro_wish")
    op.drop_index(op.f("ix_micro_wish_building_id"), table_name="micro_wish")
    op.drop_table("micro_wish")
    op.drop_table("petition_due_time")
    op.drop_table("petition_category")
    for fn in DROP_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {fn} CASCADE")
