"""SPID/CIE sign-in: the user's codice fiscale and the AuthnRequests issued

Revision ID: 5b1d0c2a7f3e
Revises: 5a6b7c8d9e0f
Create Date: 2026-12-07 12:50:00
"""

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "5b1d0c2a7f3e"
down_revision = "5a6b7c8d9e0f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fiscal_code", sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_user_fiscal_code"), ["fiscal_code"])
    op.create_table(
        "spid_request",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("profile", sa.String(length=8), nullable=False),
        sa.Column("idp_entity_id", sa.String(length=300), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("next_url", sa.String(length=500), nullable=False),
        sa.Column("link_user_id", sa.Integer(), nullable=True),
        sa.Column("linked_fiscal_code", sa.String(length=16), nullable=True),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spid_request")),
    )
    with op.batch_alter_table("spid_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spid_request_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("spid_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spid_request_created_at"))
    op.drop_table("spid_request")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_user_fiscal_code"), type_="unique")
        batch_op.drop_column("fiscal_code")
