"""live data: the event log in commit order, display figures kept current, credentials that
announce their end

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import UserDefinedType

from models.figures import DROP_TRIGGERS, digest, install_sql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: The figures declared when this revision was written: later ones count tables of later
#: revisions, installed by `models.figures.ensure_figures` after the upgrade.
FIGURE_KEYS = (
    "grids",
    "grid_party_orgs",
    "party_groups",
    "buildings",
    "building_heads",
    "central_households",
    "registered_party_members",
    "seconded_cadres",
    "paired_work_units",
    "households",
    "residents",
    "party_members",
    "petitions",
    "petitions_handled",
    "petitions_open",
)


class Ltree(UserDefinedType[str]):
    cache_ok = True

    def get_col_spec(self, **_: object) -> str:
        return "LTREE"


#: At commit, under a transaction-level lock held until the commit is visible, each event
#: gets the next `seq` (so `seq` order is commit order) and is announced. Deferred, the lock
#: is taken after every row lock of the transaction: it cannot take part in a deadlock.
EVENT_LOG = """
CREATE SEQUENCE live_event_seq;
CREATE FUNCTION live_event_commit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE s bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(5203, 1);
    s := nextval('live_event_seq');
    UPDATE live_event SET seq = s WHERE id = NEW.id;
    PERFORM pg_notify('live_events', json_build_object(
        'topic', NEW.topic, 'seq', s, 'id', NEW.source_id, 'path', NEW.path::text)::text);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER live_event_commit AFTER INSERT ON live_event
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION live_event_commit();
"""

#: Credentials announce their end, so every app instance closes the WebSocket connections
#: opened with them at once: a session revoked (sign-out, a replayed refresh token, a new
#: password), an account's credentials changed or disabled, an API token revoked or its
#: expiry moved, a person's positions or home changed (their grants are read again).
IDENTITY = """
CREATE FUNCTION live_identity_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE what text;
BEGIN
    IF current_setting('app.bulk_load', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'refresh_token' THEN
        what := 'family:' || NEW.family;
    ELSIF TG_TABLE_NAME = 'account' THEN
        what := 'account:' || NEW.id;
    ELSIF TG_TABLE_NAME = 'api_token' THEN
        what := 'token:' || NEW.id;
    ELSIF TG_TABLE_NAME = 'person' THEN
        what := 'person:' || NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        what := 'person:' || OLD.person_id;
    ELSE
        what := 'person:' || NEW.person_id;
    END IF;
    PERFORM pg_notify('live_identity', what);
    RETURN NULL;
END $$;
CREATE TRIGGER live_identity_refresh_token AFTER UPDATE OF revoked_at ON refresh_token
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION live_identity_notify();
CREATE TRIGGER live_identity_account AFTER UPDATE ON account
    FOR EACH ROW WHEN (OLD.credential_version IS DISTINCT FROM NEW.credential_version
                       OR OLD.disabled_at IS DISTINCT FROM NEW.disabled_at)
    EXECUTE FUNCTION live_identity_notify();
CREATE TRIGGER live_identity_api_token AFTER UPDATE ON api_token
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
                       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION live_identity_notify();
CREATE TRIGGER live_identity_position AFTER INSERT OR UPDATE OR DELETE ON position
    FOR EACH ROW EXECUTE FUNCTION live_identity_notify();
CREATE TRIGGER live_identity_person AFTER UPDATE OF household_id, path ON person
    FOR EACH ROW WHEN (OLD.household_id IS DISTINCT FROM NEW.household_id
                       OR OLD.path IS DISTINCT FROM NEW.path)
    EXECUTE FUNCTION live_identity_notify();
"""


def upgrade() -> None:
    op.create_table(
        "live_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("ix_live_event_path", "live_event", ["path"], postgresql_using="gist")
    op.create_index("ix_live_event_at", "live_event", ["at"])
    op.create_table(
        "live_horizon",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_live_horizon_one_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO live_horizon (id, seq) VALUES (1, 0)")
    op.execute(EVENT_LOG)
    op.execute(IDENTITY)
    op.create_table(
        "figure_count",
        sa.Column("node", Ltree(), nullable=False),
        sa.Column("figure", sa.Text(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("node", "figure"),
    )
    op.create_table(
        "figure_member",
        sa.Column("node", Ltree(), nullable=False),
        sa.Column("figure", sa.Text(), nullable=False),
        sa.Column("member", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("node", "figure", "member"),
    )
    op.create_table(
        "figure_definition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_figure_definition_one_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(install_sql(FIGURE_KEYS))
    op.execute("SELECT figures_recompute()")
    # what `models.figures.ensure_figures` (run by every migrate) compares with FIGURES
    op.execute(
        sa.text("INSERT INTO figure_definition (id, digest) VALUES (1, :d)").bindparams(
            d=digest(FIGURE_KEYS)
        )
    )


def downgrade() -> None:
    op.execute(DROP_TRIGGERS)
    op.execute("DROP FUNCTION figures_recompute()")
    op.execute("DROP FUNCTION figure_prefixes(ltree)")
    op.drop_table("figure_definition")
    op.drop_table("figure_member")
    op.drop_table("figure_count")
    for name, table in (
        ("live_identity_refresh_token", "refresh_token"),
        ("live_identity_account", "account"),
        ("live_identity_api_token", "api_token"),
        ("live_identity_position", "position"),
        ("live_identity_person", "person"),
    ):
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute("DROP FUNCTION live_identity_notify()")
    op.execute("DROP TRIGGER live_event_commit ON live_event")
    op.execute("DROP FUNCTION live_event_commit()")
    op.drop_table("live_horizon")
    op.drop_table("live_event")
    op.execute("DROP SEQUENCE live_event_seq")
