"""petition clocks: the case deadline beside the level's, and each level's turn as a stage

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:00:00.000000

Existing petitions get their clocks from their timelines. Where the timeline does not say
(a deadline the due-time settings gave in the past), the backfill uses today's due time of
the petition's priority:
- `case_due_at`: the current round's start (submission, or the last reopening) + due time;
  a round never escalated keeps its stored `due_at`, which is exactly that.
- `late_earlier`: some round before a reopening was not resolved by its start + due time.
- stages: one per SUBMIT, ESCALATE and REOPEN entry, at the level the case then had; the
  running (last) stage's deadline is the stored `due_at`, earlier ones start + due time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import UserDefinedType


class Ltree(UserDefinedType[str]):
    cache_ok = True

    def get_col_spec(self, **_: object) -> str:
        return "LTREE"


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LEVELS = ("BUILDING", "GRID", "COMMUNITY", "STREET", "DISTRICT")
_DEPTH = "CASE {} WHEN 'DISTRICT' THEN 2 WHEN 'STREET' THEN 3 WHEN 'COMMUNITY' THEN 4 WHEN 'GRID' THEN 5 WHEN 'BUILDING' THEN 6 END"
_ACTIONS = (
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
)
_OPEN = "'SUBMITTED', 'ACCEPTED', 'ASSIGNED', 'ACKNOWLEDGED', 'IN_PROGRESS', 'RETURNED', 'ESCALATED', 'REOPENED'"

#: today's due time of each petition's priority (the stored setting, else the default)
_DUE = """(SELECT coalesce(
    (SELECT t.due_in FROM petition_due_time t WHERE t.priority = {p}.priority),
    CASE {p}.priority WHEN 'URGENT' THEN interval '2 hours' WHEN 'UTILITIES' THEN interval '24 hours'
         WHEN 'GENERAL' THEN interval '7 days' ELSE interval '15 days' END))"""


def upgrade() -> None:
    op.add_column("petition", sa.Column("case_due_at", sa.DateTime(timezone=True)))
    op.add_column(
        "petition",
        sa.Column("late_earlier", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "petition_stage",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("petition_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                *_LEVELS,
                name="ck_petition_stage_level",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("owner_path", Ltree(), nullable=False),
        sa.Column("owner_org_unit_id", sa.BigInteger(), nullable=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "ended_by",
            sa.Enum(
                *_ACTIONS,
                name="ck_petition_stage_ended_by_action",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.CheckConstraint("due_at > started_at", name="ck_petition_stage_due"),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name="ck_petition_stage_ended"
        ),
        sa.CheckConstraint(
            "(ended_at IS NULL) = (ended_by IS NULL)", name="ck_petition_stage_ended_by"
        ),
        sa.CheckConstraint(
            "(level = 'BUILDING') = (owner_org_unit_id IS NULL)", name="ck_petition_stage_owner"
        ),
        sa.ForeignKeyConstraint(["owner_org_unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["petition_id"], ["petition.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("petition_id", "seq", name="uq_petition_stage_seq"),
    )
    op.create_index("ix_petition_stage_path", "petition_stage", ["path"], postgresql_using="gist")

    # the case deadline of the current round
    op.execute(
        f"""
        UPDATE petition p SET case_due_at = CASE
            WHEN NOT EXISTS (SELECT 1 FROM petition_event e
                              WHERE e.petition_id = p.id AND e.action = 'ESCALATE'
                                AND e.at >= r.started) THEN p.due_at
            ELSE r.started + {_DUE.format(p="p")} END
          FROM (SELECT q.id, coalesce(
                    (SELECT max(e.at) FROM petition_event e
                      WHERE e.petition_id = q.id AND e.action = 'REOPEN'),
                    q.submitted_at) AS started
                  FROM petition q) r
         WHERE r.id = p.id
        """  # noqa: S608
    )
    # stages: one per SUBMIT, ESCALATE and REOPEN entry
    op.execute(
        f"""
        WITH marked AS (
            SELECT e.petition_id, e.version, e.action, e.at,
                   count(*) FILTER (WHERE e.action IN ('SUBMIT', 'ESCALATE', 'REOPEN'))
                       OVER w AS seq,
                   count(*) FILTER (WHERE e.action = 'REOPEN') OVER w AS round
              FROM petition_event e
            WINDOW w AS (PARTITION BY e.petition_id ORDER BY e.version)
        ), turns AS (
            SELECT m.petition_id, m.seq, min(m.round) AS round, min(m.version) AS first_version,
                   (array_agg(m.action ORDER BY m.version))[1] AS started_by,
                   min(m.at) AS started_at,
                   min(m.at) FILTER (WHERE m.action = 'ACCEPT') AS accepted_at,
                   min(m.at) FILTER (WHERE m.action = 'ASSIGN') AS assigned_at,
                   min(m.at) FILTER (WHERE m.action = 'ACKNOWLEDGE') AS first_contact_at,
                   (array_agg(m.action ORDER BY m.version) FILTER (WHERE m.action IN
                       ('RESOLVE', 'DECLARE_NOT_RESOLVABLE', 'REJECT', 'MARK_DUPLICATE')))[1]
                       AS closed_by,
                   min(m.at) FILTER (WHERE m.action IN
                       ('RESOLVE', 'DECLARE_NOT_RESOLVABLE', 'REJECT', 'MARK_DUPLICATE'))
                       AS closed_at
              FROM marked m WHERE m.seq > 0
             GROUP BY m.petition_id, m.seq
        ), placed AS (
            SELECT t.*, p.path, p.priority, p.due_at AS current_due,
                   t.seq = max(t.seq) OVER (PARTITION BY t.petition_id) AS running,
                   lead(t.started_by) OVER turn = 'ESCALATE' AS escalated,
                   lead(t.started_at) OVER turn AS next_started,
                   coalesce(
                       (SELECT x.to_level FROM petition_event x
                         WHERE x.petition_id = t.petition_id AND x.action = 'ESCALATE'
                           AND x.version <= t.first_version
                         ORDER BY x.version DESC LIMIT 1),
                       (SELECT x.from_level FROM petition_event x
                         WHERE x.petition_id = t.petition_id AND x.action = 'ESCALATE'
                         ORDER BY x.version LIMIT 1),
                       p.owner_level) AS level
              FROM turns t JOIN petition p ON p.id = t.petition_id
            WINDOW turn AS (PARTITION BY t.petition_id ORDER BY t.seq)
        )
        INSERT INTO petition_stage
            (petition_id, seq, round, level, owner_path, owner_org_unit_id, path, started_at,
             due_at, accepted_at, assigned_at, first_contact_at, ended_at, ended_by)
        SELECT s.petition_id, s.seq, s.round, s.level,
               subpath(s.path, 0, {_DEPTH.format("s.level")}),
               CASE WHEN s.level <> 'BUILDING'
                    THEN ltree2text(subpath(s.path, {_DEPTH.format("s.level")} - 1, 1))::bigint
               END,
               s.path, s.started_at,
               CASE WHEN s.running AND s.current_due > s.started_at THEN s.current_due
                    ELSE s.started_at + {_DUE.format(p="s")} END,
               s.accepted_at, s.assigned_at, s.first_contact_at,
               CASE WHEN s.closed_at IS NOT NULL THEN s.closed_at
                    WHEN s.escalated THEN s.next_started END,
               CASE WHEN s.closed_at IS NOT NULL THEN s.closed_by
                    WHEN s.escalated THEN 'ESCALATE' END
          FROM placed s
        """  # noqa: S608
    )
    # a round before a reopening that was not resolved by its own case deadline
    op.execute(
        f"""
        UPDATE petition p SET late_earlier = true
         WHERE p.reopen_count > 0 AND EXISTS (
            SELECT 1 FROM petition_stage s
             WHERE s.petition_id = p.id AND s.round < p.reopen_count
             GROUP BY s.round
            HAVING coalesce(min(s.ended_at) FILTER (WHERE s.ended_by = 'RESOLVE'), 'infinity')
                   > min(s.started_at) + {_DUE.format(p="p")})
        """  # noqa: S608
    )
    op.alter_column("petition", "case_due_at", nullable=False)
    op.add_column(
        "petition",
        sa.Column(
            "next_due_at",
            sa.DateTime(timezone=True),
            sa.Computed("LEAST(due_at, case_due_at)", persisted=True),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_petition_open_next_due",
        "petition",
        ["next_due_at", "id"],
        postgresql_where=sa.text(f"status IN ({_OPEN})"),
    )
    op.create_index(
        "uq_petition_stage_running",
        "petition_stage",
        ["petition_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    # the metrics join stages per petition: give the planner the new table's statistics now
    op.execute("ANALYZE petition_stage")


def downgrade() -> None:
    op.drop_index("uq_petition_stage_running", table_name="petition_stage")
    op.drop_index("ix_petition_open_next_due", table_name="petition")
    op.drop_column("petition", "next_due_at")
    op.drop_index("ix_petition_stage_path", table_name="petition_stage")
    op.drop_table("petition_stage")
    op.drop_column("petition", "late_earlier")
    op.drop_column("petition", "case_due_at")
