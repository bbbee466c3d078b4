"""catalogue listing indexes: products by name from the index, category facet from the index

Revision ID: 4c5d6e7f8a9b
Revises: 32bcf4f3ff58
Create Date: 2026-11-22 14:20:00
"""

from alembic import op

revision = "4c5d6e7f8a9b"
down_revision = "32bcf4f3ff58"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_ep_product_active_category", table_name="ep_product")
    op.create_index(
        "ix_ep_product_active_category",
        "ep_product",
        ["active", "category", "producer_id"],
        unique=False,
    )
    op.create_index("ix_ep_product_listing", "ep_product", ["active", "name", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ep_product_listing", table_name="ep_product")
    op.drop_index("ix_ep_product_active_category", table_name="ep_product")
    op.create_index(
        "ix_ep_product_active_category", "ep_product", ["active", "category"], unique=False
    )
