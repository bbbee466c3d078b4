"""TOTP codes valid once: the last accepted time step per user (RFC 6238 §5.2)

Revision ID: 8c4d2e6f1b3a
Revises: 5b1d0c2a7f3e
Create Date: 2026-12-07 13:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "8c4d2e6f1b3a"
down_revision = "5b1d0c2a7f3e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("totp_last_step")
