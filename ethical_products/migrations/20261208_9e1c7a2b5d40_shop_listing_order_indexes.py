"""shop listing and facet indexes: a producer's shop and a category read by name from an
index; the facet counts by category and producer read the index alone whatever the organic
and season filters

Revision ID: 9e1c7a2b5d40
Revises: 4c5d6e7f8a9b
Create Date: 2026-12-08 09:30:00
"""

from alembic import op

revision = "9e1c7a2b5d40"
down_revision = "4c5d6e7f8a9b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (producer_id, active) is a prefix of the new index: it serves what the old one did.
    op.drop_index("ix_ep_product_producer_active", table_name="ep_product")
    op.create_index(
        "ix_ep_product_producer_listing",
        "ep_product",
        ["producer_id", "active", "name", "id"],
        unique=False,
    )
    # With the producer last, counts by category and producer may read this one alone too.
    op.create_index(
        "ix_ep_product_category_listing",
        "ep_product",
        ["active", "category", "name", "id", "producer_id"],
        unique=False,
    )
    # The facets' count by category and producer, with the filters' columns after them.
    op.drop_index("ix_ep_product_active_category", table_name="ep_product")
    op.create_index(
        "ix_ep_product_active_category",
        "ep_product",
        ["active", "category", "producer_id", "organic", "season_from", "season_to"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_ep_product_active_category", table_name="ep_product")
    op.create_index(
        "ix_ep_product_active_category",
        "ep_product",
        ["active", "category", "producer_id"],
        unique=False,
    )
    op.drop_index("ix_ep_product_category_listing", table_name="ep_product")
    op.drop_index("ix_ep_product_producer_listing", table_name="ep_product")
    op.create_index(
        "ix_ep_product_producer_active", "ep_product", ["producer_id", "active"], unique=False
    )
