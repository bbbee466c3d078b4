"""ESCO alternative and other-language labels

Revision ID: 5a6b7c8d9e0f
Revises: 7b3e1f0a9c2d
Create Date: 2026-12-07 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "5a6b7c8d9e0f"
down_revision = "7b3e1f0a9c2d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "esco_label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("concept", sa.String(length=12), nullable=False),
        sa.Column("concept_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("preferred", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_esco_label")),
    )
    with op.batch_alter_table("esco_label") as batch_op:
        batch_op.create_index("ix_esco_label_concept", ["concept", "concept_id"])


def downgrade() -> None:
    with op.batch_alter_table("esco_label") as batch_op:
        batch_op.drop_index("ix_esco_label_concept")
    op.drop_table("esco_label")
