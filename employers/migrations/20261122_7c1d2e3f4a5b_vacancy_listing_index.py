"""vacancy listing index: newest published first without a sort

Revision ID: 7c1d2e3f4a5b
Revises: 5be1c0f223a5
Create Date: 2026-11-22 12:30:00
"""

from alembic import op

revision = "7c1d2e3f4a5b"
down_revision = "5be1c0f223a5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_vacancy_status_published", "vacancy", ["status", "published_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_vacancy_status_published", table_name="vacancy")
