"""server-ended sessions (user.session_version) and shared rate limits

Revision ID: 42057528e842
Revises: 8c4d2e6f1b3a
Create Date: 2026-12-07 12:50:00
"""

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "42057528e842"
down_revision = "8c4d2e6f1b3a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "rate_limit",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("window_start", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit")),
    )
    with op.batch_alter_table("rate_limit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rate_limit_window_start"), ["window_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rate_limit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_limit_window_start"))
    op.drop_table("rate_limit")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("session_version")
