"""group loan applications: the planned tranche of the staggered first disbursement

Revision ID: a1b2c3d4e5f6
Revises: f3e050f4e6dc
Create Date: 2026-11-22 13:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a1b2c3d4e5f6"
down_revision = "f3e050f4e6dc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("mc_loan", sa.Column("tranche", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mc_loan") as batch:
        batch.drop_column("tranche")
