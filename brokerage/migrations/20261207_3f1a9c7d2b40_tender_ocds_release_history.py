"""tender OCDS release history

Revision ID: 3f1a9c7d2b40
Revises: 4f1a2b3c5d6e
Create Date: 2026-12-07 12:25:00
"""

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "3f1a9c7d2b40"
down_revision = "4f1a2b3c5d6e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tender_ocds_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.String(length=300), nullable=False),
        sa.Column("date", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("extensions", sa.JSON(), nullable=False),
        sa.Column("imported_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tender.id"],
            name=op.f("fk_tender_ocds_release_tender_id_tender"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_ocds_release")),
        sa.UniqueConstraint(
            "tender_id", "release_id", name=op.f("uq_tender_ocds_release_tender_id")
        ),
    )
    with op.batch_alter_table("tender_ocds_release", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tender_ocds_release_tender_id"), ["tender_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tender_ocds_release", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tender_ocds_release_tender_id"))
    op.drop_table("tender_ocds_release")
