"""page cache: anonymous public pages shared by every worker and node

Revision ID: e3a1c9d47b20
Revises: 42057528e842
Create Date: 2026-12-07 13:05:00
"""

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "e3a1c9d47b20"
down_revision = "42057528e842"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("etag", sa.String(length=80), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_page_cache")),
    )
    with op.batch_alter_table("page_cache", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_cache_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("page_cache", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_cache_created_at"))
    op.drop_table("page_cache")
