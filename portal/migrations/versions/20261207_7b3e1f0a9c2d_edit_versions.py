"""edit versions: optimistic concurrency for every record people edit

A ``version`` column on each editable table, checked and incremented by SQLAlchemy on
every ORM UPDATE (``version_id_col``). Tables of modules that this installation does not
load are skipped.

Revision ID: 7b3e1f0a9c2d
Revises: 5b1e0c2d7a91
Create Date: 2026-12-07 12:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "7b3e1f0a9c2d"
down_revision = "5b1e0c2d7a91"
branch_labels = None
depends_on = None

TABLES = (
    "organisation",
    "good_practice",
    "network_event",
    "agreement",
    "company_profile",
    "vacancy",
    "survey_round",
    "candidate",
    "pathway_stage",
    "tender_supplier_profile",
    "tender",
    "mc_centre",
    "mc_group",
    "mc_member",
    "mc_product",
    "ep_producer",
    "ep_product",
    "ep_variant",
)


def _existing() -> list[str]:
    names = set(sa.inspect(op.get_bind()).get_table_names())
    return [t for t in TABLES if t in names]


def upgrade() -> None:
    for table in _existing():
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    for table in _existing():
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
