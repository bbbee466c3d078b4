"""scheduled job statistics (runs, failures, last success per job and node, for /metrics)

Revision ID: 5b1e0c2d7a91
Revises: c6e9ffea6dad
Create Date: 2026-12-07 12:40:00
"""

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "5b1e0c2d7a91"
down_revision = "c6e9ffea6dad"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_job_stat",
        sa.Column("job", sa.String(length=80), nullable=False),
        sa.Column("node", sa.String(length=120), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_run_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_duration", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("job", "node", name=op.f("pk_scheduled_job_stat")),
    )


def downgrade() -> None:
    op.drop_table("scheduled_job_stat")
