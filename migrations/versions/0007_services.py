"""services: estates and coordinates, stations, the catalogue, teams, property companies,
Party-member posts, service orders, volunteer activities and hours, door visits, emergencies

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 01:26:00.966771
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class Ltree(UserDefinedType[str]):
    """Frozen copy of the `ltree` column type (migrations do not import models)."""

    cache_ok = True

    def get_col_spec(self, **_: object) -> str:
        return "LTREE"


# Paths are filled by BEFORE INSERT triggers when left NULL (the ORM, raw SQL and COPY agree):
# a row takes the path of the row its `column` names in `table` (TG_ARGV), or of the first
# non-null of several.
TRIGGERS = """
CREATE FUNCTION path_of_parent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fields jsonb;
    i int := 0;
BEGIN
    IF NEW.path IS NOT NULL THEN  -- bulk loads give it: no lookup
        RETURN NEW;
    END IF;
    fields := to_jsonb(NEW);
    WHILE NEW.path IS NULL AND i < TG_NARGS LOOP
        IF fields ->> TG_ARGV[i + 1] IS NOT NULL THEN
            EXECUTE format('SELECT path FROM %I WHERE id = $1', TG_ARGV[i])
                INTO NEW.path USING (fields ->> TG_ARGV[i + 1])::bigint;
        END IF;
        i := i + 2;
    END LOOP;
    RETURN NEW;
END $$;

CREATE TRIGGER estate_before_insert BEFORE INSERT ON estate
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('org_unit', 'grid_id');
CREATE TRIGGER property_company_before_insert BEFORE INSERT ON property_company
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('org_unit', 'org_unit_id');
CREATE TRIGGER service_station_before_insert BEFORE INSERT ON service_station
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('org_unit', 'community_id');
CREATE TRIGGER station_building_before_insert BEFORE INSERT ON station_building
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('building', 'building_id');
CREATE TRIGGER station_manager_before_insert BEFORE INSERT ON station_manager
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('service_station', 'station_id');
CREATE TRIGGER service_team_before_insert BEFORE INSERT ON service_team
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('org_unit', 'community_id');
CREATE TRIGGER team_member_before_insert BEFORE INSERT ON team_member
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('service_team', 'team_id');
CREATE TRIGGER service_item_before_insert BEFORE INSERT ON service_item
    FOR EACH ROW EXECUTE FUNCTION path_of_parent(
        'service_station', 'station_id', 'service_team', 'team_id',
        'property_company', 'property_company_id');
CREATE TRIGGER party_post_before_insert BEFORE INSERT ON party_post
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('building', 'building_id');
CREATE TRIGGER service_order_event_before_insert BEFORE INSERT ON service_order_event
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('service_order', 'order_id');
CREATE TRIGGER service_rating_before_insert BEFORE INSERT ON service_rating
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('service_order', 'order_id');
CREATE TRIGGER volunteer_activity_before_insert BEFORE INSERT ON volunteer_activity
    FOR EACH ROW EXECUTE FUNCTION path_of_parent(
        'service_team', 'team_id', 'service_station', 'station_id', 'org_unit', 'org_unit_id');
CREATE TRIGGER volunteer_activity_event_before_insert BEFORE INSERT ON volunteer_activity_event
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('volunteer_activity', 'activity_id');
CREATE TRIGGER activity_signup_before_insert BEFORE INSERT ON activity_signup
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('volunteer_activity', 'activity_id');
CREATE TRIGGER door_visit_before_insert BEFORE INSERT ON door_visit
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('household', 'household_id');
CREATE TRIGGER visit_finding_before_insert BEFORE INSERT ON visit_finding
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('door_visit', 'visit_id');
CREATE TRIGGER emergency_period_before_insert BEFORE INSERT ON emergency_period
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('org_unit', 'org_unit_id');
CREATE TRIGGER emergency_roster_before_insert BEFORE INSERT ON emergency_roster
    FOR EACH ROW EXECUTE FUNCTION path_of_parent('building', 'building_id');

-- An order is placed at its building; its owner path, when NULL, is the building's ancestor
-- at the owner level, and follows the place when a move of the tree re-paths it.
CREATE FUNCTION service_order_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS NULL THEN
        NEW.path := (SELECT path FROM building WHERE id = NEW.building_id);
    END IF;
    IF NEW.owner_path IS NULL THEN
        NEW.owner_path := subpath(NEW.path, 0, CASE NEW.owner_level
            WHEN 'DISTRICT' THEN 2 WHEN 'STREET' THEN 3 WHEN 'COMMUNITY' THEN 4 END);
    END IF;
    IF NEW.owner_org_unit_id IS NULL THEN
        NEW.owner_org_unit_id := ltree2text(subpath(NEW.owner_path, -1))::bigint;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER service_order_before_insert BEFORE INSERT ON service_order
    FOR EACH ROW EXECUTE FUNCTION service_order_before_insert();
CREATE FUNCTION service_order_owner_follows_place() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS DISTINCT FROM OLD.path AND NEW.owner_path IS NOT DISTINCT FROM OLD.owner_path
    THEN
        NEW.owner_path := subpath(NEW.path, 0, nlevel(OLD.owner_path));
        NEW.owner_org_unit_id := ltree2text(subpath(NEW.owner_path, -1))::bigint;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER service_order_owner_follows_place BEFORE UPDATE OF path ON service_order
    FOR EACH ROW EXECUTE FUNCTION service_order_owner_follows_place();

-- A building's estate lies in the building's grid (estates are references, not tree levels).
CREATE FUNCTION building_estate_in_grid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.estate_id IS NOT NULL
       AND (SELECT grid_id FROM estate WHERE id = NEW.estate_id) IS DISTINCT FROM NEW.grid_id
    THEN
        RAISE EXCEPTION 'a building''s estate lies in the building''s grid'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER building_estate_in_grid BEFORE INSERT OR UPDATE OF estate_id, grid_id ON building
    FOR EACH ROW EXECUTE FUNCTION building_estate_in_grid();

-- The volunteer-hours ledger is append-only (only a move of the tree changes a line's path);
-- each insert moves its person's totals in the same transaction (the upsert takes the
-- total's row lock: concurrent credits add up).
CREATE FUNCTION volunteer_hours_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- a move of the tree re-paths every row (resolvers.org.move_org_unit): that alone passes
    IF TG_OP = 'UPDATE' AND to_jsonb(NEW) - 'path' = to_jsonb(OLD) - 'path' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the volunteer-hours ledger is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER volunteer_hours_no_update_or_delete BEFORE UPDATE OR DELETE ON volunteer_hours
    FOR EACH ROW EXECUTE FUNCTION volunteer_hours_append_only();
CREATE TRIGGER volunteer_hours_no_truncate BEFORE TRUNCATE ON volunteer_hours
    FOR EACH STATEMENT EXECUTE FUNCTION volunteer_hours_append_only();

CREATE FUNCTION volunteer_hours_total() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO volunteer_total AS t
        (person_id, minutes, activities, services, good_deeds, entries, updated_at)
    SELECT person_id, sum(minutes), count(*) FILTER (WHERE kind = 'ACTIVITY'),
           count(*) FILTER (WHERE kind = 'SERVICE'), count(*) FILTER (WHERE kind = 'GOOD_DEED'),
           count(*), now()
      FROM new_entries GROUP BY person_id ORDER BY person_id
    ON CONFLICT (person_id) DO UPDATE SET
        minutes = t.minutes + EXCLUDED.minutes,
        activities = t.activities + EXCLUDED.activities,
        services = t.services + EXCLUDED.services,
        good_deeds = t.good_deeds + EXCLUDED.good_deeds,
        entries = t.entries + EXCLUDED.entries,
        updated_at = EXCLUDED.updated_at;
    RETURN NULL;
END $$;
CREATE TRIGGER volunteer_hours_total AFTER INSERT ON volunteer_hours
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION volunteer_hours_total();
"""

DROP_FUNCTIONS = [
    "path_of_parent()",
    "service_order_before_insert()",
    "service_order_owner_follows_place()",
    "building_estate_in_grid()",
    "volunteer_hours_append_only()",
    "volunteer_hours_total()",
]

#: (code, name, description): the catalogue's headings, the seed's first (分类建立儿童成长、
#: 居家养老等20余类服务事项清单; 上门体检、爱心代购; 法律援助、治安巡查、政策宣传; 矛盾调解、
#: 环境整治 ...).
CATEGORIES = (
    ("CHILD_GROWTH", "儿童成长", "课后托管、四点半课堂、亲子活动"),
    ("HOME_ELDERLY_CARE", "居家养老", "上门照护、助洁、助浴、陪伴"),
    ("HOME_HEALTH_CHECK", "上门体检", "血压血糖测量、慢病随访"),
    ("PROXY_PURCHASE", "爱心代购", "代购生活用品、药品"),
    ("LEGAL_AID", "法律援助", "法律咨询、代写文书、调解指导"),
    ("SECURITY_PATROL", "治安巡查", "楼栋巡逻、消防安全检查"),
    ("POLICY_OUTREACH", "政策宣传", "惠民政策解读、宣讲"),
    ("DISPUTE_MEDIATION", "矛盾调解", "邻里纠纷、家庭矛盾调解"),
    ("ENVIRONMENT", "环境整治", "楼道清理、牛皮癣清除、绿化"),
    ("MEAL_ASSISTANCE", "助餐送餐", "长者食堂、送餐上门"),
    ("ERRANDS", "红色代办", "代缴费用、代办证件、跑腿"),
    ("ESCORT_TO_HOSPITAL", "陪诊就医", "陪同就医、代取报告"),
    ("COMPANIONSHIP", "精神慰藉", "微陪伴、聊天读报"),
    ("REPAIRS", "水电维修", "水电、门窗、家电小修"),
    ("HOUSEKEEPING", "家政保洁", "入户保洁、收纳整理"),
    ("DISABILITY_ASSISTANCE", "助残服务", "辅具借用、康复指导"),
    ("EMPLOYMENT", "就业帮扶", "岗位推荐、技能培训"),
    ("PSYCHOLOGICAL", "心理疏导", "心理咨询、情绪疏导"),
    ("DIGITAL_HELP", "智能手机教学", "教老人用手机、挂号、视频通话"),
    ("HAIRCUT", "爱心理发", "上门义剪"),
    ("CULTURE_SPORTS", "文体活动", "文艺汇演、广场舞、书画"),
    ("VETERAN_SERVICES", "退役军人服务", "优待证办理、走访慰问"),
    ("PROPERTY_SERVICE", "物业服务", "红管家：保安、保洁、水电工"),
    ("RELOCATION_SUPPORT", "搬迁群众服务", "易地扶贫搬迁群众就业、融入"),
)


def upgrade() -> None:  # noqa: PLR0915  (one statement per table and index)
    op.execute("CREATE EXTENSION IF NOT EXISTS cube")
    op.execute("CREATE EXTENSION IF NOT EXISTS earthdistance")
    op.create_table(
        "service_category",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "property_company",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("credit_code", sa.Text(), nullable=True),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=False),
        sa.Column("hotline", sa.Text(), nullable=True),
        sa.Column(
            "has_party_organisation", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("party_organisation_since", sa.Date(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "has_party_organisation OR party_organisation_since IS NULL",
            name="ck_property_company_party_since",
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credit_code"),
        sa.UniqueConstraint("name"),
    )
    op.create_index(
        op.f("ix_property_company_org_unit_id"), "property_company", ["org_unit_id"], unique=False
    )
    op.create_index(
        "ix_property_company_path",
        "property_company",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "service_team",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "RED_RUNNING",
                "VOLUNTEER",
                "PUBLIC_SENTIMENT",
                "STEWARDS",
                name="ck_teamkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "founded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("disbanded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["service_category.id"],
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_service_team_category_id"), "service_team", ["category_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_team_community_id"), "service_team", ["community_id"], unique=False
    )
    op.create_index(
        "ix_service_team_path", "service_team", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "estate",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("grid_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("property_company_id", sa.BigInteger(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL) AND latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180",
            name="ck_estate_coordinates",
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["property_company_id"],
            ["property_company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("grid_id", "name", name="uq_estate_name"),
    )
    op.create_index(op.f("ix_estate_grid_id"), "estate", ["grid_id"], unique=False)
    op.create_index("ix_estate_path", "estate", ["path"], unique=False, postgresql_using="gist")
    op.create_index(
        op.f("ix_estate_property_company_id"), "estate", ["property_company_id"], unique=False
    )
    op.create_table(
        "service_station",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("estate_id", sa.BigInteger(), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("hotline", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column(
            "opening_hours",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "facilities",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "facilities <@ ARRAY['ACTIVITY_ROOM','READING_ROOM','ELDERLY_CANTEEN','HEALTH_POINT','MEDIATION_ROOM','CHILDREN_ROOM','PARTY_ROOM','SERVICE_DESK','FITNESS','WORKERS_REST','COUNSELLING_ROOM','SHARED_TOOLS']::text[]",
            name="ck_service_station_facilities",
        ),
        sa.CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL) AND latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180",
            name="ck_service_station_coordinates",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"],
            ["estate.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_service_station_community_id"), "service_station", ["community_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_station_estate_id"), "service_station", ["estate_id"], unique=False
    )
    op.create_index(
        "ix_service_station_location",
        "service_station",
        [sa.literal_column("ll_to_earth(latitude, longitude)")],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_service_station_path",
        "service_station",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "service_item",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("station_id", sa.BigInteger(), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("property_company_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "eligibility",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("default_minutes", sa.Integer(), server_default="60", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "eligibility <@ ARRAY['ELDERLY','LIVES_ALONE','VETERAN','PARTY_MEMBER','RENTER']::text[]",
            name="ck_service_item_eligibility",
        ),
        sa.CheckConstraint(
            "default_minutes BETWEEN 1 AND 1440", name="ck_service_item_default_minutes"
        ),
        sa.CheckConstraint(
            "num_nonnulls(station_id, team_id, property_company_id) = 1",
            name="ck_service_item_one_provider",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["service_category.id"],
        ),
        sa.ForeignKeyConstraint(
            ["property_company_id"],
            ["property_company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["service_station.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["service_team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_service_item_category_id"), "service_item", ["category_id"], unique=False
    )
    op.create_index(
        "ix_service_item_path", "service_item", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        op.f("ix_service_item_property_company_id"),
        "service_item",
        ["property_company_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_service_item_station_id"), "service_item", ["station_id"], unique=False
    )
    op.create_index(op.f("ix_service_item_team_id"), "service_item", ["team_id"], unique=False)
    op.create_table(
        "station_building",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("station_id", sa.BigInteger(), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["service_station.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("station_id", "building_id", name="uq_station_building"),
    )
    op.create_index(
        op.f("ix_station_building_building_id"), "station_building", ["building_id"], unique=False
    )
    op.create_index(
        "ix_station_building_path",
        "station_building",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "door_visit",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("visitor_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "BIG_VISIT",
                "HOME_VISIT",
                "MICRO_VISIT",
                name="ck_visitkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["service_team.id"],
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_door_visit_household_id"), "door_visit", ["household_id"], unique=False
    )
    op.create_index(
        "ix_door_visit_path", "door_visit", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_door_visit_team_id"), "door_visit", ["team_id"], unique=False)
    op.create_index("ix_door_visit_visited_at", "door_visit", ["visited_at"], unique=False)
    op.create_index(op.f("ix_door_visit_visitor_id"), "door_visit", ["visitor_id"], unique=False)
    op.create_table(
        "emergency_period",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_by_id", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.BigInteger(), nullable=True),
        sa.Column("end_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name="ck_emergency_period_span"
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_emergency_period_org_unit_id"), "emergency_period", ["org_unit_id"], unique=False
    )
    op.create_index(
        "ix_emergency_period_path",
        "emergency_period",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "uq_emergency_period_active",
        "emergency_period",
        ["org_unit_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "service_order",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "ONLINE",
                "RECORDED",
                "DOOR_VISIT",
                name="ck_orderchannel",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("contact_name", sa.Text(), nullable=False),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "owner_level",
            sa.Enum(
                "COMMUNITY",
                "STREET",
                "DISTRICT",
                name="ck_dispatchlevel",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("owner_path", Ltree(), nullable=False),
        sa.Column("owner_org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("queue_rank", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("preferred_time", sa.Text(), nullable=True),
        sa.Column("station_id", sa.BigInteger(), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("property_company_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "evidence",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("completion_note", sa.Text(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "SUBMITTED",
                "DISPATCHED",
                "ACCEPTED",
                "SCHEDULED",
                "DONE",
                "CLOSED",
                "CLOSED_UNRATED",
                "RETURNED",
                "ESCALATED",
                "REJECTED",
                "CANCELLED",
                name="ck_orderstatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("escalation_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column(
            "submitted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status IN ('DISPATCHED', 'ACCEPTED', 'SCHEDULED', 'DONE', 'CLOSED', 'CLOSED_UNRATED')) = (num_nonnulls(station_id, team_id, property_company_id) = 1) OR status = 'CANCELLED'",
            name="ck_service_order_provider",
        ),
        sa.CheckConstraint(
            "nlevel(owner_path) = CASE owner_level WHEN 'COMMUNITY' THEN 4 WHEN 'STREET' THEN 3 WHEN 'DISTRICT' THEN 2 END",
            name="ck_service_order_owner_depth",
        ),
        sa.CheckConstraint("cardinality(evidence) <= 9", name="ck_service_order_evidence"),
        sa.CheckConstraint(
            "minutes IS NULL OR minutes BETWEEN 1 AND 1440", name="ck_service_order_minutes"
        ),
        sa.CheckConstraint(
            "num_nonnulls(station_id, team_id, property_company_id) <= 1",
            name="ck_service_order_one_provider",
        ),
        sa.CheckConstraint("owner_path @> path", name="ck_service_order_owner_above_place"),
        sa.CheckConstraint("version > 0", name="ck_service_order_version"),
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
            ["service_category.id"],
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["service_item.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["property_company_id"],
            ["property_company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["service_station.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["service_team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index(
        op.f("ix_service_order_assignee_id"), "service_order", ["assignee_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_order_building_id"), "service_order", ["building_id"], unique=False
    )
    op.create_index(
        "ix_service_order_clocked",
        "service_order",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('SUBMITTED', 'DISPATCHED', 'RETURNED', 'ESCALATED')"),
    )
    op.create_index(
        "ix_service_order_done",
        "service_order",
        ["done_at"],
        unique=False,
        postgresql_where=sa.text("status = 'DONE'"),
    )
    op.create_index(op.f("ix_service_order_item_id"), "service_order", ["item_id"], unique=False)
    op.create_index(
        op.f("ix_service_order_owner_org_unit_id"),
        "service_order",
        ["owner_org_unit_id"],
        unique=False,
    )
    op.create_index(
        "ix_service_order_owner_path",
        "service_order",
        ["owner_path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_service_order_path", "service_order", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        op.f("ix_service_order_property_company_id"),
        "service_order",
        ["property_company_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_service_order_resident_id"), "service_order", ["resident_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_order_station_id"), "service_order", ["station_id"], unique=False
    )
    op.create_index("ix_service_order_status", "service_order", ["status"], unique=False)
    op.create_index(op.f("ix_service_order_team_id"), "service_order", ["team_id"], unique=False)
    op.create_table(
        "team_member",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "LEADER",
                "DEPUTY_LEADER",
                "MEMBER",
                name="ck_teamrole",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "joined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["service_team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_team_member_path", "team_member", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_team_member_person_id"), "team_member", ["person_id"], unique=False)
    op.create_index(op.f("ix_team_member_team_id"), "team_member", ["team_id"], unique=False)
    op.create_index(
        "uq_team_member_active",
        "team_member",
        ["team_id", "person_id"],
        unique=True,
        postgresql_where=sa.text("left_at IS NULL"),
    )
    op.create_table(
        "volunteer_activity",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "PERFORMANCE",
                "NEIGHBOURHOOD",
                "MICRO_VISIT",
                "MICRO_COMPANY",
                "FESTIVAL",
                "CLEAN_UP",
                "PATROL",
                "POLICY_OUTREACH",
                "HEALTH",
                "OTHER",
                name="ck_activitykind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("station_id", sa.BigInteger(), nullable=True),
        sa.Column("org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("signed_up", sa.Integer(), server_default="0", nullable=False),
        sa.Column("checked_in", sa.Integer(), server_default="0", nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN",
                "FINISHED",
                "CANCELLED",
                name="ck_activitystatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "capacity > 0 AND signed_up BETWEEN 0 AND capacity",
            name="ck_volunteer_activity_capacity",
        ),
        sa.CheckConstraint("checked_in >= 0", name="ck_volunteer_activity_checked_in"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_volunteer_activity_period"),
        sa.CheckConstraint("minutes BETWEEN 1 AND 1440", name="ck_volunteer_activity_minutes"),
        sa.CheckConstraint(
            "num_nonnulls(team_id, station_id, org_unit_id) = 1",
            name="ck_volunteer_activity_one_organiser",
        ),
        sa.CheckConstraint("version > 0", name="ck_volunteer_activity_version"),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["service_station.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["service_team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_volunteer_activity_org_unit_id"),
        "volunteer_activity",
        ["org_unit_id"],
        unique=False,
    )
    op.create_index(
        "ix_volunteer_activity_path",
        "volunteer_activity",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_volunteer_activity_starts_at", "volunteer_activity", ["starts_at"], unique=False
    )
    op.create_index(
        op.f("ix_volunteer_activity_station_id"), "volunteer_activity", ["station_id"], unique=False
    )
    op.create_index(
        op.f("ix_volunteer_activity_team_id"), "volunteer_activity", ["team_id"], unique=False
    )
    op.create_table(
        "volunteer_hours",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "ACTIVITY",
                "SERVICE",
                "GOOD_DEED",
                "ADJUSTMENT",
                name="ck_hourskind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("source_type", sa.Text(), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("as_cadre", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("path", Ltree(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "minutes <> 0 AND (minutes > 0 OR kind = 'ADJUSTMENT')",
            name="ck_volunteer_hours_minutes",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_volunteer_hours_path",
        "volunteer_hours",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_volunteer_hours_person", "volunteer_hours", ["person_id", "at"], unique=False
    )
    op.create_index(
        "uq_volunteer_hours_source",
        "volunteer_hours",
        ["source_type", "source_id", "person_id"],
        unique=True,
        postgresql_where=sa.text("kind <> 'ADJUSTMENT'"),
    )
    op.create_table(
        "volunteer_total",
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("minutes", sa.BigInteger(), nullable=False),
        sa.Column("activities", sa.Integer(), nullable=False),
        sa.Column("services", sa.Integer(), nullable=False),
        sa.Column("good_deeds", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "activity_signup",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "signed_up_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_by_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "cancelled_at IS NULL OR checked_in_at IS NULL", name="ck_activity_signup_state"
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["volunteer_activity.id"],
        ),
        sa.ForeignKeyConstraint(
            ["checked_in_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_activity_signup_activity_id"), "activity_signup", ["activity_id"], unique=False
    )
    op.create_index(
        "ix_activity_signup_path",
        "activity_signup",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_activity_signup_person_id"), "activity_signup", ["person_id"], unique=False
    )
    op.create_index(
        "uq_activity_signup_active",
        "activity_signup",
        ["activity_id", "person_id"],
        unique=True,
        postgresql_where=sa.text("cancelled_at IS NULL"),
    )
    op.create_table(
        "emergency_roster",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("cadre_id", sa.BigInteger(), nullable=False),
        sa.Column("position_id", sa.BigInteger(), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "rostered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
        ),
        sa.ForeignKeyConstraint(
            ["cadre_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["emergency_period.id"],
        ),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["position.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "period_id", "cadre_id", "building_id", name="uq_emergency_roster_cadre_building"
        ),
    )
    op.create_index(
        op.f("ix_emergency_roster_cadre_id"), "emergency_roster", ["cadre_id"], unique=False
    )
    op.create_index(
        "ix_emergency_roster_path",
        "emergency_roster",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_emergency_roster_period_id"), "emergency_roster", ["period_id"], unique=False
    )
    op.create_table(
        "party_post",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "PIONEER_POST",
                "RESPONSIBILITY_AREA",
                name="ck_postkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("holder_id", sa.BigInteger(), nullable=False),
        sa.Column("registration_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("area", sa.Text(), nullable=True),
        sa.Column("duties", sa.Text(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "started_at",
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
            ["holder_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["position.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_party_post_building_id"), "party_post", ["building_id"], unique=False)
    op.create_index(op.f("ix_party_post_holder_id"), "party_post", ["holder_id"], unique=False)
    op.create_index(
        "ix_party_post_path", "party_post", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "service_order_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "SUBMIT",
                "DISPATCH",
                "ACCEPT",
                "SCHEDULE",
                "COMPLETE",
                "RETURN",
                "ESCALATE",
                "REJECT",
                "CANCEL",
                "CLOSE",
                "CLOSE_UNRATED",
                name="ck_orderaction",
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
                "DISPATCHED",
                "ACCEPTED",
                "SCHEDULED",
                "DONE",
                "CLOSED",
                "CLOSED_UNRATED",
                "RETURNED",
                "ESCALATED",
                "REJECTED",
                "CANCELLED",
                name="ck_service_order_event_from_status",
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
                "DISPATCHED",
                "ACCEPTED",
                "SCHEDULED",
                "DONE",
                "CLOSED",
                "CLOSED_UNRATED",
                "RETURNED",
                "ESCALATED",
                "REJECTED",
                "CANCELLED",
                name="ck_service_order_event_to_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("actor_person_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "from_level",
            sa.Enum(
                "COMMUNITY",
                "STREET",
                "DISTRICT",
                name="ck_service_order_event_from_level",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_level",
            sa.Enum(
                "COMMUNITY",
                "STREET",
                "DISTRICT",
                name="ck_service_order_event_to_level",
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
        sa.ForeignKeyConstraint(["order_id"], ["service_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_service_order_event_order", "service_order_event", ["order_id", "id"], unique=False
    )
    op.create_index(
        "ix_service_order_event_path",
        "service_order_event",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "service_rating",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "rating",
            sa.Enum(
                "SATISFIED",
                "BASICALLY_SATISFIED",
                "UNSATISFIED",
                name="ck_service_rating_rating",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(["order_id"], ["service_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id"),
    )
    op.create_index(
        "ix_service_rating_path", "service_rating", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "station_manager",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("station_id", sa.BigInteger(), nullable=False),
        sa.Column("position_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["position.id"],
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["service_station.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_station_manager_path",
        "station_manager",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_station_manager_position_id"), "station_manager", ["position_id"], unique=False
    )
    op.create_index(
        op.f("ix_station_manager_station_id"), "station_manager", ["station_id"], unique=False
    )
    op.create_index(
        "uq_station_manager_active",
        "station_manager",
        ["station_id", "position_id"],
        unique=True,
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.create_table(
        "visit_finding",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("visit_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "NEED",
                "DISPUTE",
                "HAZARD",
                name="ck_findingkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "PETITION",
                "SERVICE_ORDER",
                "MEDIATED",
                "RESOLVED",
                name="ck_findingoutcome",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("petition_id", sa.BigInteger(), nullable=True),
        sa.Column("service_order_id", sa.BigInteger(), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("followed_up_by_id", sa.BigInteger(), nullable=True),
        sa.Column("followed_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.CheckConstraint(
            "(outcome = 'PETITION') = (petition_id IS NOT NULL) AND (outcome = 'SERVICE_ORDER') = (service_order_id IS NOT NULL)",
            name="ck_visit_finding_follow_up",
        ),
        sa.CheckConstraint(
            "outcome <> 'MEDIATED' OR kind = 'DISPUTE'", name="ck_visit_finding_mediated"
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR followed_up_at IS NOT NULL", name="ck_visit_finding_followed"
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["service_category.id"],
        ),
        sa.ForeignKeyConstraint(
            ["followed_up_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petition.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["service_order_id"],
            ["service_order.id"],
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["door_visit.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_visit_finding_path", "visit_finding", ["path"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        op.f("ix_visit_finding_petition_id"), "visit_finding", ["petition_id"], unique=False
    )
    op.create_index(
        op.f("ix_visit_finding_service_order_id"),
        "visit_finding",
        ["service_order_id"],
        unique=False,
    )
    op.create_index("ix_visit_finding_visit", "visit_finding", ["visit_id", "id"], unique=False)
    op.create_table(
        "volunteer_activity_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "PUBLISH",
                "FINISH",
                "CANCEL",
                name="ck_activityaction",
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
                "FINISHED",
                "CANCELLED",
                name="ck_volunteer_activity_event_from_status",
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
                "FINISHED",
                "CANCELLED",
                name="ck_volunteer_activity_event_to_status",
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
        sa.ForeignKeyConstraint(["activity_id"], ["volunteer_activity.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["actor_person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_volunteer_activity_event_activity",
        "volunteer_activity_event",
        ["activity_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_volunteer_activity_event_path",
        "volunteer_activity_event",
        ["path"],
        unique=False,
        postgresql_using="gist",
    )
    op.add_column("building", sa.Column("estate_id", sa.BigInteger(), nullable=True))
    op.add_column("building", sa.Column("latitude", sa.Float(), nullable=True))
    op.add_column("building", sa.Column("longitude", sa.Float(), nullable=True))
    op.create_index(op.f("ix_building_estate_id"), "building", ["estate_id"], unique=False)
    op.create_foreign_key("building_estate_id_fkey", "building", "estate", ["estate_id"], ["id"])
    op.create_check_constraint(
        "ck_building_coordinates",
        "building",
        "(latitude IS NULL) = (longitude IS NULL)"
        " AND latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180",
    )
    op.execute(TRIGGERS)
    categories = sa.table(
        "service_category",
        sa.column("code", sa.Text()),
        sa.column("name", sa.Text()),
        sa.column("description", sa.Text()),
    )
    op.bulk_insert(categories, [{"code": c, "name": n, "description": d} for c, n, d in CATEGORIES])


def downgrade() -> None:  # noqa: PLR0915  (one statement per table and index)
    for fn in DROP_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {fn} CASCADE")
    op.drop_constraint("ck_building_coordinates", "building", type_="check")
    # WARNING: constraint name is None; this directive will fail as
    # rendered.  Add a name, or use a naming convention; see
    # https://alembic.sqlalchemy.org/en/latest/naming.html
    op.drop_index(op.f("ix_building_estate_id"), table_name="building")
    op.drop_column("building", "longitude")
    op.drop_column("building", "latitude")
    op.drop_column("building", "estate_id")
    op.drop_index(
        "ix_volunteer_activity_event_path",
        table_name="volunteer_activity_event",
        postgresql_using="gist",
    )
    op.drop_index("ix_volunteer_activity_event_activity", table_name="volunteer_activity_event")
    op.drop_table("volunteer_activity_event")
    op.drop_index("ix_visit_finding_visit", table_name="visit_finding")
    op.drop_index(op.f("ix_visit_finding_service_order_id"), table_name="visit_finding")
    op.drop_index(op.f("ix_visit_finding_petition_id"), table_name="visit_finding")
    op.drop_index("ix_visit_finding_path", table_name="visit_finding", postgresql_using="gist")
    op.drop_table("visit_finding")
    op.drop_index(
        "uq_station_manager_active",
        table_name="station_manager",
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.drop_index(op.f("ix_station_manager_station_id"), table_name="station_manager")
    op.drop_index(op.f("ix_station_manager_position_id"), table_name="station_manager")
    op.drop_index("ix_station_manager_path", table_name="station_manager", postgresql_using="gist")
    op.drop_table("station_manager")
    op.drop_index("ix_service_rating_path", table_name="service_rating", postgresql_using="gist")
    op.drop_table("service_rating")
    op.drop_index(
        "ix_service_order_event_path", table_name="service_order_event", postgresql_using="gist"
    )
    op.drop_index("ix_service_order_event_order", table_name="service_order_event")
    op.drop_table("service_order_event")
    op.drop_index("ix_party_post_path", table_name="party_post", postgresql_using="gist")
    op.drop_index(op.f("ix_party_post_holder_id"), table_name="party_post")
    op.drop_index(op.f("ix_party_post_building_id"), table_name="party_post")
    op.drop_table("party_post")
    op.drop_index(op.f("ix_emergency_roster_period_id"), table_name="emergency_roster")
    op.drop_index(
        "ix_emergency_roster_path", table_name="emergency_roster", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_emergency_roster_cadre_id"), table_name="emergency_roster")
    op.drop_table("emergency_roster")
    op.drop_index(
        "uq_activity_signup_active",
        table_name="activity_signup",
        postgresql_where=sa.text("cancelled_at IS NULL"),
    )
    op.drop_index(op.f("ix_activity_signup_person_id"), table_name="activity_signup")
    op.drop_index("ix_activity_signup_path", table_name="activity_signup", postgresql_using="gist")
    op.drop_index(op.f("ix_activity_signup_activity_id"), table_name="activity_signup")
    op.drop_table("activity_signup")
    op.drop_table("volunteer_total")
    op.drop_index(
        "uq_volunteer_hours_source",
        table_name="volunteer_hours",
        postgresql_where=sa.text("kind <> 'ADJUSTMENT'"),
    )
    op.drop_index("ix_volunteer_hours_person", table_name="volunteer_hours")
    op.drop_index("ix_volunteer_hours_path", table_name="volunteer_hours", postgresql_using="gist")
    op.drop_table("volunteer_hours")
    op.drop_index(op.f("ix_volunteer_activity_team_id"), table_name="volunteer_activity")
    op.drop_index(op.f("ix_volunteer_activity_station_id"), table_name="volunteer_activity")
    op.drop_index("ix_volunteer_activity_starts_at", table_name="volunteer_activity")
    op.drop_index(
        "ix_volunteer_activity_path", table_name="volunteer_activity", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_volunteer_activity_org_unit_id"), table_name="volunteer_activity")
    op.drop_table("volunteer_activity")
    op.drop_index(
        "uq_team_member_active",
        table_name="team_member",
        postgresql_where=sa.text("left_at IS NULL"),
    )
    op.drop_index(op.f("ix_team_member_team_id"), table_name="team_member")
    op.drop_index(op.f("ix_team_member_person_id"), table_name="team_member")
    op.drop_index("ix_team_member_path", table_name="team_member", postgresql_using="gist")
    op.drop_table("team_member")
    op.drop_index(op.f("ix_service_order_team_id"), table_name="service_order")
    op.drop_index("ix_service_order_status", table_name="service_order")
    op.drop_index(op.f("ix_service_order_station_id"), table_name="service_order")
    op.drop_index(op.f("ix_service_order_resident_id"), table_name="service_order")
    op.drop_index(op.f("ix_service_order_property_company_id"), table_name="service_order")
    op.drop_index("ix_service_order_path", table_name="service_order", postgresql_using="gist")
    op.drop_index(
        "ix_service_order_owner_path", table_name="service_order", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_service_order_owner_org_unit_id"), table_name="service_order")
    op.drop_index(op.f("ix_service_order_item_id"), table_name="service_order")
    op.drop_index(
        "ix_service_order_done",
        table_name="service_order",
        postgresql_where=sa.text("status = 'DONE'"),
    )
    op.drop_index(
        "ix_service_order_clocked",
        table_name="service_order",
        postgresql_where=sa.text("status IN ('SUBMITTED', 'DISPATCHED', 'RETURNED', 'ESCALATED')"),
    )
    op.drop_index(op.f("ix_service_order_building_id"), table_name="service_order")
    op.drop_index(op.f("ix_service_order_assignee_id"), table_name="service_order")
    op.drop_table("service_order")
    op.drop_index(
        "uq_emergency_period_active",
        table_name="emergency_period",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index(
        "ix_emergency_period_path", table_name="emergency_period", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_emergency_period_org_unit_id"), table_name="emergency_period")
    op.drop_table("emergency_period")
    op.drop_index(op.f("ix_door_visit_visitor_id"), table_name="door_visit")
    op.drop_index("ix_door_visit_visited_at", table_name="door_visit")
    op.drop_index(op.f("ix_door_visit_team_id"), table_name="door_visit")
    op.drop_index("ix_door_visit_path", table_name="door_visit", postgresql_using="gist")
    op.drop_index(op.f("ix_door_visit_household_id"), table_name="door_visit")
    op.drop_table("door_visit")
    op.drop_index(
        "ix_station_building_path", table_name="station_building", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_station_building_building_id"), table_name="station_building")
    op.drop_table("station_building")
    op.drop_index(op.f("ix_service_item_team_id"), table_name="service_item")
    op.drop_index(op.f("ix_service_item_station_id"), table_name="service_item")
    op.drop_index(op.f("ix_service_item_property_company_id"), table_name="service_item")
    op.drop_index("ix_service_item_path", table_name="service_item", postgresql_using="gist")
    op.drop_index(op.f("ix_service_item_category_id"), table_name="service_item")
    op.drop_table("service_item")
    op.drop_index("ix_service_station_path", table_name="service_station", postgresql_using="gist")
    op.drop_index(
        "ix_service_station_location", table_name="service_station", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_service_station_estate_id"), table_name="service_station")
    op.drop_index(op.f("ix_service_station_community_id"), table_name="service_station")
    op.drop_table("service_station")
    op.drop_index(op.f("ix_estate_property_company_id"), table_name="estate")
    op.drop_index("ix_estate_path", table_name="estate", postgresql_using="gist")
    op.drop_index(op.f("ix_estate_grid_id"), table_name="estate")
    op.drop_table("estate")
    op.drop_index("ix_service_team_path", table_name="service_team", postgresql_using="gist")
    op.drop_index(op.f("ix_service_team_community_id"), table_name="service_team")
    op.drop_index(op.f("ix_service_team_category_id"), table_name="service_team")
    op.drop_table("service_team")
    op.drop_index(
        "ix_property_company_path", table_name="property_company", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_property_company_org_unit_id"), table_name="property_company")
    op.drop_table("property_company")
    op.drop_table("service_category")
