"""integrators: the register's relationship column, one person per ID number, registered
operations and token allow-lists

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-20 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RELATIONSHIPS = ("HEAD", "SPOUSE", "CHILD", "PARENT", "GRANDCHILD", "SIBLING", "OTHER")


def upgrade() -> None:
    op.add_column(
        "person",
        sa.Column(
            "relationship",
            sa.Enum(
                *RELATIONSHIPS,
                name="ck_householdrelationship",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
    )
    # createPerson serialises registrations of one number with an advisory lock; the register
    # import inserts thousands at once, so the database itself now keeps numbers unique.
    op.drop_index("ix_person_id_card_hash", table_name="person")
    op.create_index("ix_person_id_card_hash", "person", ["id_card_hash"], unique=True)
    op.create_table(
        "registered_operation",
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("operation_name", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("registered_by_person_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["registered_by_person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("sha256"),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="ck_registered_operation_sha256"),
    )
    op.create_table(
        "token_allow_list",
        sa.Column("token_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "operations",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("updated_by_person_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["token_id"], ["api_token.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("token_id"),
    )


def downgrade() -> None:
    op.drop_table("token_allow_list")
    op.drop_table("registered_operation")
    op.drop_index("ix_person_id_card_hash", table_name="person")
    op.create_index("ix_person_id_card_hash", "person", ["id_card_hash"], unique=False)
    op.drop_column("person", "relationship")
