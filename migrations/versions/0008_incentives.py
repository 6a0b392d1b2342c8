"""incentives, recognition, co-governance; the register's history; part-time committee members

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 01:22:40.440151
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class Ltree(UserDefinedType[str]):
    cache_ok = True

    def get_col_spec(self, **_: object) -> str:
        return "LTREE"


ROLES = (
    "BUILDING_HEAD", "GRID_WORKER", "HOUSEHOLD_LIAISON", "SECONDED_CADRE",
    "REGISTERED_PARTY_MEMBER", "VOLUNTEER", "PROPERTY_STAFF", "SHOP_OPERATOR",
    "COMMUNITY_ADMIN", "STREET_ADMIN", "DISTRICT_ADMIN", "CITY_ADMIN",
)  # fmt: skip
NEW_ROLE = "PARTY_COMMITTEE_MEMBER"


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


# Every new row's `path` is its parent's (filled when the inserter leaves it NULL, so the ORM,
# raw SQL and COPY agree); a debit of the points ledger never takes a balance below zero.
FUNCTIONS = """
CREATE FUNCTION path_from_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS NULL THEN
        EXECUTE format('SELECT path FROM %I WHERE id = $1', TG_ARGV[0]) INTO NEW.path
            USING (to_jsonb(NEW) ->> TG_ARGV[1])::bigint;
    END IF;
    RETURN NEW;
END $$;

-- A debit waits for the person's ledger lock (held until its transaction ends, so two devices
-- redeeming at once are serialised), then refuses to take the balance below zero.
CREATE FUNCTION points_entry_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE balance bigint;
BEGIN
    IF NEW.kind = 'EARNED' THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(7894, (NEW.person_id % 2147483647)::int);
    SELECT coalesce(sum(CASE WHEN kind = 'EARNED' THEN points ELSE -points END), 0)
        INTO balance FROM points_entry WHERE person_id = NEW.person_id;
    IF balance < NEW.points THEN
        RAISE EXCEPTION 'INSUFFICIENT_POINTS: a debit of % exceeds the balance of %',
            NEW.points, balance USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER points_entry_balance BEFORE INSERT ON points_entry
    FOR EACH ROW EXECUTE FUNCTION points_entry_balance();
"""

#: (table, parent table, column naming the parent) for `path_from_parent`.
INHERITED = (
    ("shop", "org_unit", "org_unit_id"),
    ("offer", "shop", "shop_id"),
    ("redemption", "shop", "shop_id"),
    ("redemption_event", "redemption", "redemption_id"),
    ("fee_reduction", "org_unit", "org_unit_id"),
    ("award", "org_unit", "org_unit_id"),
    ("role_model", "building", "building_id"),
    ("wall_post", "building", "building_id"),
    ("convention", "building", "building_id"),
    ("convention_signature", "household", "household_id"),
    ("liaison", "building", "building_id"),
    ("meeting_attendee", "meeting", "meeting_id"),
    ("agenda_item", "meeting", "meeting_id"),
    ("livelihood_task_event", "livelihood_task", "task_id"),
    ("project_funding", "improvement_project", "project_id"),
)
#: Tables at an org unit or a building (the foundation's `at_org_or_building_before_insert`).
AT_PLACE = ("meeting", "livelihood_task", "liaison_pavilion", "improvement_project", "notice")


def _triggers() -> None:
    op.execute(FUNCTIONS)
    for table, parent, column in INHERITED:
        op.execute(
            f"CREATE TRIGGER {table}_before_insert BEFORE INSERT ON {table} FOR EACH ROW"
            f" EXECUTE FUNCTION path_from_parent('{parent}', '{column}')"
        )
    for table in AT_PLACE:
        op.execute(
            f"CREATE TRIGGER {table}_before_insert BEFORE INSERT ON {table} FOR EACH ROW"
            " EXECUTE FUNCTION at_org_or_building_before_insert()"
        )
    op.execute(
        "CREATE TRIGGER household_membership_before_insert BEFORE INSERT ON household_membership"
        " FOR EACH ROW EXECUTE FUNCTION at_household_before_insert()"
    )


def _checks(roles: Sequence[str], kinds: Sequence[str]) -> None:
    """The enum columns are VARCHAR + CHECK: a new member is a new CHECK."""
    op.drop_constraint("ck_role", "position", type_="check")
    op.create_check_constraint("ck_role", "position", _in("role", roles))
    op.drop_constraint("ck_pointskind", "points_entry", type_="check")
    op.create_check_constraint("ck_pointskind", "points_entry", _in("kind", kinds))


def _upgrade_1() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "liaison_pavilion",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("opening_hours", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)", name="ck_liaison_pavilion_one_place"
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_liaison_pavilion_path",
        "liaison_pavilion",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "role_model",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "VETERAN_PARTY_MEMBER",
                "LABOUR_MODEL",
                "MORAL_MODEL",
                name="ck_rolemodelkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("story", sa.Text(), nullable=False),
        sa.Column("photo", sa.Text(), nullable=True),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_role_model_building_id"), "role_model", ["building_id"], unique=False)
    op.create_index(
        "ix_role_model_path", "role_model", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "award",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "MOST_BEAUTIFUL_BUILDING",
                "VOLUNTEER_STAR",
                "RED_FLAG",
                "ADVANCED_INDIVIDUAL",
                "ADVANCED_COLLECTIVE",
                name="ck_awardkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("credited_person_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "decided_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        postgresql.ExcludeConstraint(
            (sa.column("org_unit_id"), "="),
            (sa.text("daterange(period_start, period_end)"), "&&"),
            where=sa.text("kind = 'RED_FLAG'"),
            using="gist",
            name="ex_award_red_flag_one_holder",
        ),
        sa.CheckConstraint(
            "(kind IN ('VOLUNTEER_STAR', 'ADVANCED_INDIVIDUAL')) = (person_id IS NOT NULL)",
            name="ck_award_recipient_kind",
        ),
        sa.CheckConstraint(
            "(building_id IS NULL) <> (person_id IS NULL)", name="ck_award_one_recipient"
        ),
        sa.CheckConstraint("period_end > period_start", name="ck_award_period"),
        sa.CheckConstraint("points >= 0", name="ck_award_points"),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["credited_person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_award_building", "award", ["building_id"], unique=False)
    op.create_index(op.f("ix_award_org_unit_id"), "award", ["org_unit_id"], unique=False)
    op.create_index("ix_award_path", "award", ["path"], unique=False, postgresql_using="gist")
    op.create_index("ix_award_person", "award", ["person_id"], unique=False)
    op.create_table(
        "convention",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("adopted_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "adopted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("version > 0", name="ck_convention_version"),
        sa.ForeignKeyConstraint(
            ["adopted_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("building_id", "version", name="uq_convention_version"),
    )
    op.create_index(
        "ix_convention_path", "convention", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "household_membership",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name="ck_household_membership_period"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_household_membership_household_id"),
        "household_membership",
        ["household_id"],
        unique=False,
    )
    op.create_index(
        "ix_household_membership_path",
        "household_membership",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_household_membership_person",
        "household_membership",
        ["person_id", "started_at"],
        unique=False,
    )
    op.create_index(
        "uq_household_membership_current",
        "household_membership",
        ["person_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "improvement_project",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "problems",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "before_evidence",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "after_evidence",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "problems <@ ARRAY['ILLEGAL_ADS','TANGLED_WIRING','BLOCKED_CORRIDOR','PIPES_AND_CABLES','CLUTTER','DIRTY_WALLS']::text[] AND cardinality(problems) > 0",
            name="ck_improvement_project_problems",
        ),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)",
            name="ck_improvement_project_one_place",
        ),
        sa.CheckConstraint(
            "completed_on IS NULL OR completed_on >= started_on",
            name="ck_improvement_project_dates",
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_improvement_project_path",
        "improvement_project",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "meeting",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "BUILDING_COUNCIL",
                "RED_COUNCIL_HALL",
                "JOINT_CONFERENCE",
                name="ck_meetingkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("convened_by_id", sa.BigInteger(), nullable=True),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)", name="ck_meeting_one_place"
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["convened_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_meeting_held_at", "meeting", ["held_at"], unique=False)
    op.create_index("ix_meeting_path", "meeting", ["path"], unique=False, postgresql_using="gist")
    op.create_table(
        "notice",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("published_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "published_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)", name="ck_notice_one_place"
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
            ["published_by_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notice_path", "notice", ["path"], unique=False, postgresql_using="gist")
    op.create_index("ix_notice_published_at", "notice", ["published_at"], unique=False)
    op.create_table(
        "points_expiry_rule",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "set_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("months BETWEEN 1 AND 120", name="ck_expiry_months"),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "shop",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("operator_person_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "joined_on", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_shop_operator", "shop", ["operator_person_id"], unique=False)
    op.create_index(op.f("ix_shop_org_unit_id"), "shop", ["org_unit_id"], unique=False)
    op.create_index("ix_shop_path", "shop", ["path"], unique=False, postgresql_using="gist")
    op.create_table(
        "wall_post",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "images",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("posted_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "posted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["posted_by_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_wall_post_building_id"), "wall_post", ["building_id"], unique=False)
    op.create_index(
        "ix_wall_post_path", "wall_post", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "convention_signature",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("convention_id", sa.BigInteger(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("signed_by_id", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "signed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["convention_id"],
            ["convention.id"],
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("convention_id", "household_id", name="uq_convention_signature"),
    )
    op.create_index(
        op.f("ix_convention_signature_household_id"),
        "convention_signature",
        ["household_id"],
        unique=False,
    )
    op.create_index(
        "ix_convention_signature_path",
        "convention_signature",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "fee_reduction",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "basis",
            sa.Enum(
                "POINTS",
                "AWARD",
                name="ck_feebasis",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("award_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_yuan", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("granted_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "granted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(basis = 'POINTS') = (points > 0) AND (basis = 'AWARD') = (award_id IS NOT NULL)",
            name="ck_fee_reduction_basis",
        ),
        sa.CheckConstraint("amount_yuan > 0", name="ck_fee_reduction_amount"),
        sa.ForeignKeyConstraint(
            ["award_id"],
            ["award.id"],
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("award_id", "person_id", name="uq_fee_reduction_award"),
    )
    op.create_index(
        "ix_fee_reduction_path", "fee_reduction", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_index("ix_fee_reduction_person", "fee_reduction", ["person_id"], unique=False)


def _upgrade_2() -> None:
    op.create_table(
        "liaison",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "SHOP",
                "WORK_UNIT",
                name="ck_liaisonkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=True),
        sa.Column("work_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("pavilion_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "joined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(kind = 'WORK_UNIT') = (work_unit_id IS NOT NULL) AND (shop_id IS NULL OR kind = 'SHOP')",
            name="ck_liaison_kind",
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["pavilion_id"],
            ["liaison_pavilion.id"],
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shop.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_unit_id"],
            ["work_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_liaison_building_id"), "liaison", ["building_id"], unique=False)
    op.create_index("ix_liaison_path", "liaison", ["path"], unique=False, postgresql_using="gist")
    op.create_table(
        "livelihood_task",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("meeting_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN",
                "IN_PROGRESS",
                "DONE",
                "CANCELLED",
                name="ck_taskstatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status = 'DONE') = (done_at IS NOT NULL)", name="ck_livelihood_task_done"
        ),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (building_id IS NULL)", name="ck_livelihood_task_one_place"
        ),
        sa.CheckConstraint("version > 0", name="ck_livelihood_task_version"),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_livelihood_task_path",
        "livelihood_task",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index("ix_livelihood_task_status", "livelihood_task", ["status"], unique=False)
    op.create_table(
        "meeting_attendee",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("meeting_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("capacity", sa.Text(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "person_id", name="uq_meeting_attendee"),
    )
    op.create_index(
        "ix_meeting_attendee_path",
        "meeting_attendee",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_meeting_attendee_person_id"), "meeting_attendee", ["person_id"], unique=False
    )
    op.create_table(
        "notice_receipt",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("notice_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "read_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notice_id", "person_id", name="uq_notice_receipt"),
    )
    op.create_index("ix_notice_receipt_person", "notice_receipt", ["person_id"], unique=False)
    op.create_table(
        "offer",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "PERCENT_DISCOUNT",
                "PROPERTY_FEE_REDUCTION",
                "FIXED_BENEFIT",
                name="ck_offerkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("amount_yuan", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("points_cost", sa.Integer(), nullable=False),
        sa.Column(
            "eligibility",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("min_volunteer_hours", sa.Integer(), nullable=True),
        sa.Column(
            "valid_from",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'PERCENT_DISCOUNT') = (percent_off IS NOT NULL) AND (percent_off IS NULL OR percent_off BETWEEN 1 AND 99)",
            name="ck_offer_percent",
        ),
        sa.CheckConstraint(
            "eligibility <@ ARRAY['BUILDING_HEAD_SATISFIED','AWARD_WINNER','VOLUNTEER_HOURS']::text[]",
            name="ck_offer_eligibility",
        ),
        sa.CheckConstraint("amount_yuan IS NULL OR amount_yuan > 0", name="ck_offer_amount"),
        sa.CheckConstraint("points_cost >= 0", name="ck_offer_points_cost"),
        sa.CheckConstraint("valid_until > valid_from", name="ck_offer_validity"),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shop.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_offer_path", "offer", ["path"], unique=False, postgresql_using="gist")
    op.create_index("ix_offer_shop", "offer", ["shop_id"], unique=False)
    op.create_table(
        "project_funding",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "DEPARTMENT",
                "COMMUNITY",
                "ENTERPRISE",
                name="ck_fundingsource",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("funder", sa.Text(), nullable=False),
        sa.Column("work_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_yuan", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.CheckConstraint("amount_yuan > 0", name="ck_project_funding_amount"),
        sa.ForeignKeyConstraint(["project_id"], ["improvement_project.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["work_unit_id"],
            ["work_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_project_funding_path",
        "project_funding",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index("ix_project_funding_project", "project_funding", ["project_id"], unique=False)
    op.create_table(
        "agenda_item",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("meeting_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("petition_id", sa.BigInteger(), nullable=True),
        sa.Column("service_order_id", sa.BigInteger(), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "PETITION_MOVED",
                "TASK_CREATED",
                "NOTED",
                name="ck_agendaoutcome",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "petition_action",
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
                name="ck_agenda_item_petition_action",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("petition_version", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_by_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(outcome IS NULL) = (decided_at IS NULL)", name="ck_agenda_item_decided"
        ),
        sa.CheckConstraint(
            "num_nonnulls(petition_id, service_order_id) <= 1", name="ck_agenda_item_subject"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petition.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["livelihood_task.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "position", name="uq_agenda_item_position"),
    )
    op.create_index(
        "ix_agenda_item_meeting", "agenda_item", ["meeting_id", "position"], unique=False
    )
    op.create_index(
        "ix_agenda_item_path", "agenda_item", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_index("ix_agenda_item_petition", "agenda_item", ["petition_id"], unique=False)
    op.create_table(
        "livelihood_task_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "OPEN",
                "START",
                "COMPLETE",
                "CANCEL",
                name="ck_taskaction",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "from_status",
            sa.Enum(
                "OPEN",
                "IN_PROGRESS",
                "DONE",
                "CANCELLED",
                name="ck_livelihood_task_event_from_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "OPEN",
                "IN_PROGRESS",
                "DONE",
                "CANCELLED",
                name="ck_livelihood_task_event_to_status",
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
        sa.ForeignKeyConstraint(["task_id"], ["livelihood_task.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_livelihood_task_event_path",
        "livelihood_task_event",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_livelihood_task_event_task", "livelihood_task_event", ["task_id", "id"], unique=False
    )
    op.create_table(
        "redemption",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("points_cost", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ISSUED",
                "CONFIRMED",
                "EXPIRED",
                "CANCELLED",
                name="ck_redemptionstatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("confirmed_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("points_cost >= 0", name="ck_redemption_points_cost"),
        sa.CheckConstraint("version > 0", name="ck_redemption_version"),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shop.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_redemption_expiring",
        "redemption",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'ISSUED'"),
    )
    op.create_index(
        "ix_redemption_path", "redemption", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_index("ix_redemption_person", "redemption", ["person_id", "issued_at"], unique=False)
    op.create_index("ix_redemption_shop", "redemption", ["shop_id", "issued_at"], unique=False)
    op.create_index(
        "uq_redemption_live_code",
        "redemption",
        ["shop_id", "code_hash"],
        unique=True,
        postgresql_where=sa.text("status = 'ISSUED'"),
    )
    op.create_table(
        "redemption_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("redemption_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "ISSUE",
                "CONFIRM",
                "CANCEL",
                "EXPIRE",
                name="ck_redemptionaction",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "from_status",
            sa.Enum(
                "ISSUED",
                "CONFIRMED",
                "EXPIRED",
                "CANCELLED",
                name="ck_redemption_event_from_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "ISSUED",
                "CONFIRMED",
                "EXPIRED",
                "CANCELLED",
                name="ck_redemption_event_to_status",
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
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(["redemption_id"], ["redemption.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shop.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_redemption_event_path",
        "redemption_event",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_redemption_event_redemption", "redemption_event", ["redemption_id", "id"], unique=False
    )
    op.add_column(
        "points_entry", sa.Column("hours", sa.Numeric(precision=7, scale=1), nullable=True)
    )
    op.create_index(
        "uq_points_entry_debited_once",
        "points_entry",
        ["source_type", "source_id", "person_id"],
        unique=True,
        postgresql_where=sa.text("kind <> 'EARNED'"),
    )
    op.create_check_constraint(
        "ck_points_entry_hours", "points_entry", "hours IS NULL OR hours > 0"
    )
    _checks((*ROLES, NEW_ROLE), ("EARNED", "REDEEMED", "EXPIRED"))
    _triggers()


def upgrade() -> None:
    _upgrade_1()
    _upgrade_2()


def _downgrade_1() -> None:
    # the ledger refuses deletes: lift that for the rows only this revision could write
    op.execute("ALTER TABLE points_entry DISABLE TRIGGER points_entry_no_update_or_delete")
    op.execute("DELETE FROM points_entry WHERE kind = 'EXPIRED'")
    op.execute("ALTER TABLE points_entry ENABLE TRIGGER points_entry_no_update_or_delete")
    op.execute(sa.text("DELETE FROM position WHERE role = :role").bindparams(role=NEW_ROLE))
    _checks(ROLES, ("EARNED", "REDEEMED"))
    op.drop_constraint("ck_points_entry_hours", "points_entry", type_="check")
    op.execute("DROP TRIGGER points_entry_balance ON points_entry")
    op.execute("DROP FUNCTION points_entry_balance()")
    op.drop_index(
        "uq_points_entry_debited_once",
        table_name="points_entry",
        postgresql_where=sa.text("kind <> 'EARNED'"),
    )
    op.drop_column("points_entry", "hours")
    op.drop_index("ix_redemption_event_redemption", table_name="redemption_event")
    op.drop_index(
        "ix_redemption_event_path", table_name="redemption_event", postgresql_using="gist"
    )
    op.drop_table("redemption_event")
    op.drop_index(
        "uq_redemption_live_code",
        table_name="redemption",
        postgresql_where=sa.text("status = 'ISSUED'"),
    )
    op.drop_index("ix_redemption_shop", table_name="redemption")
    op.drop_index("ix_redemption_person", table_name="redemption")
    op.drop_index("ix_redemption_path", table_name="redemption", postgresql_using="gist")
    op.drop_index(
        "ix_redemption_expiring",
        table_name="redemption",
        postgresql_where=sa.text("status = 'ISSUED'"),
    )
    op.drop_table("redemption")
    op.drop_index("ix_livelihood_task_event_task", table_name="livelihood_task_event")
    op.drop_index(
        "ix_livelihood_task_event_path", table_name="livelihood_task_event", postgresql_using="gist"
    )
    op.drop_table("livelihood_task_event")
    op.drop_index("ix_agenda_item_petition", table_name="agenda_item")
    op.drop_index("ix_agenda_item_path", table_name="agenda_item", postgresql_using="gist")
    op.drop_index("ix_agenda_item_meeting", table_name="agenda_item")
    op.drop_table("agenda_item")
    op.drop_index("ix_project_funding_project", table_name="project_funding")
    op.drop_index("ix_project_funding_path", table_name="project_funding", postgresql_using="gist")
    op.drop_table("project_funding")
    op.drop_index("ix_offer_shop", table_name="offer")
    op.drop_index("ix_offer_path", table_name="offer", postgresql_using="gist")
    op.drop_table("offer")
    op.drop_index("ix_notice_receipt_person", table_name="notice_receipt")
    op.drop_table("notice_receipt")
    op.drop_index(op.f("ix_meeting_attendee_person_id"), table_name="meeting_attendee")
    op.drop_index(
        "ix_meeting_attendee_path", table_name="meeting_attendee", postgresql_using="gist"
    )
    op.drop_table("meeting_attendee")
    op.drop_index("ix_livelihood_task_status", table_name="livelihood_task")
    op.drop_index("ix_livelihood_task_path", table_name="livelihood_task", postgresql_using="gist")
    op.drop_table("livelihood_task")


def _downgrade_2() -> None:
    op.drop_index("ix_liaison_path", table_name="liaison", postgresql_using="gist")
    op.drop_index(op.f("ix_liaison_building_id"), table_name="liaison")
    op.drop_table("liaison")
    op.drop_index("ix_fee_reduction_person", table_name="fee_reduction")
    op.drop_index("ix_fee_reduction_path", table_name="fee_reduction", postgresql_using="gist")
    op.drop_table("fee_reduction")
    op.drop_index(
        "ix_convention_signature_path", table_name="convention_signature", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_convention_signature_household_id"), table_name="convention_signature")
    op.drop_table("convention_signature")
    op.drop_index("ix_wall_post_path", table_name="wall_post", postgresql_using="gist")
    op.drop_index(op.f("ix_wall_post_building_id"), table_name="wall_post")
    op.drop_table("wall_post")
    op.drop_index("ix_shop_path", table_name="shop", postgresql_using="gist")
    op.drop_index(op.f("ix_shop_org_unit_id"), table_name="shop")
    op.drop_index("ix_shop_operator", table_name="shop")
    op.drop_table("shop")
    op.drop_table("points_expiry_rule")
    op.drop_index("ix_notice_published_at", table_name="notice")
    op.drop_index("ix_notice_path", table_name="notice", postgresql_using="gist")
    op.drop_table("notice")
    op.drop_index("ix_meeting_path", table_name="meeting", postgresql_using="gist")
    op.drop_index("ix_meeting_held_at", table_name="meeting")
    op.drop_table("meeting")
    op.drop_index(
        "ix_improvement_project_path", table_name="improvement_project", postgresql_using="gist"
    )
    op.drop_table("improvement_project")
    op.drop_index(
        "uq_household_membership_current",
        table_name="household_membership",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index("ix_household_membership_person", table_name="household_membership")
    op.drop_index(
        "ix_household_membership_path", table_name="household_membership", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_household_membership_household_id"), table_name="household_membership")
    op.drop_table("household_membership")
    op.drop_index("ix_convention_path", table_name="convention", postgresql_using="gist")
    op.drop_table("convention")
    op.drop_index("ix_award_person", table_name="award")
    op.drop_index("ix_award_path", table_name="award", postgresql_using="gist")
    op.drop_index(op.f("ix_award_org_unit_id"), table_name="award")
    op.drop_index("ix_award_building", table_name="award")
    op.drop_table("award")
    op.drop_index("ix_role_model_path", table_name="role_model", postgresql_using="gist")
    op.drop_index(op.f("ix_role_model_building_id"), table_name="role_model")
    op.drop_table("role_model")


def _downgrade_3() -> None:
    op.drop_index(
        "ix_liaison_pavilion_path", table_name="liaison_pavilion", postgresql_using="gist"
    )
    op.drop_table("liaison_pavilion")
    op.execute("DROP FUNCTION path_from_parent() CASCADE")


def downgrade() -> None:
    _downgrade_1()
    _downgrade_2()
    _downgrade_3()
