"""identity hardening: credential versions, sign-in throttle, refusal counters

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "account",
        sa.Column("credential_version", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("account", sa.Column("last_failed_at", sa.DateTime(timezone=True)))
    op.add_column("account", sa.Column("last_signed_in_at", sa.DateTime(timezone=True)))
    # the old lock meant "nobody may sign in"; nothing locks an account for everyone any more
    op.execute("UPDATE account SET locked_until = NULL, failed_attempts = 0")
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column(
            "scope",
            sa.Enum(
                "PHONE_ADDRESS",
                "ADDRESS",
                name="ck_throttlescope",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("phone_key", sa.LargeBinary(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "window_started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refused", sa.Boolean(), server_default="false", nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_sign_in_throttle_phone_key", "sign_in_throttle", ["phone_key"])
    op.create_index("ix_sign_in_throttle_window", "sign_in_throttle", ["window_started_at"])
    op.create_table(
        "rate_counter",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column(
            "window_started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("rate_counter")
    op.drop_index("ix_sign_in_throttle_window", table_name="sign_in_throttle")
    op.drop_index("ix_sign_in_throttle_phone_key", table_name="sign_in_throttle")
    op.drop_table("sign_in_throttle")
    op.drop_column("account", "last_signed_in_at")
    op.drop_column("account", "last_failed_at")
    op.drop_column("account", "credential_version")
