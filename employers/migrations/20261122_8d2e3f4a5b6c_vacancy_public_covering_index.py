"""vacancy public index also covers the organisation, so counting the listing reads no rows

Revision ID: 8d2e3f4a5b6c
Revises: 7c1d2e3f4a5b
Create Date: 2026-11-22 14:00:00
"""

from alembic import op

revision = "8d2e3f4a5b6c"
down_revision = "7c1d2e3f4a5b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_vacancy_public", table_name="vacancy")
    op.create_index(
        "ix_vacancy_public", "vacancy", ["status", "expires_on", "organisation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_vacancy_public", table_name="vacancy")
    op.create_index("ix_vacancy_public", "vacancy", ["status", "expires_on"], unique=False)
