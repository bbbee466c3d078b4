"""non-working days: products and loans move due dates off Sundays and public holidays;
centres move their meetings and name their patron saint's day

Revision ID: b7c8d9e0f1a2
Revises: a1b2c3d4e5f6
Create Date: 2026-11-22 13:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b7c8d9e0f1a2"
down_revision = "a1b2c3d4e5f6"
branch_labels = None
depends_on = None


def _flag() -> sa.Column:
    return sa.Column(
        "move_non_working_days", sa.Boolean(), nullable=False, server_default=sa.false()
    )


def upgrade() -> None:
    op.add_column("mc_product", _flag())
    op.add_column("mc_loan", _flag())
    op.add_column("mc_centre", _flag())
    op.add_column("mc_centre", sa.Column("patron_day", sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mc_centre") as batch:
        batch.drop_column("patron_day")
        batch.drop_column("move_non_working_days")
    for table in ("mc_loan", "mc_product"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("move_non_working_days")
