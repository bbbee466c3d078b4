"""service desks and referral requests from public vacancies

Revision ID: 4f1a2b3c5d6e
Revises: 95f04d791269
Create Date: 2026-12-07 12:15:00
"""

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "4f1a2b3c5d6e"
down_revision = "95f04d791269"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_desk",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("opening_hours", sa.String(length=300), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("accepts_candidacies", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_service_desk_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_service_desk")),
    )
    op.create_table(
        "referral_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vacancy_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("consent_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("handled_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancy.id"],
            name=op.f("fk_referral_request_vacancy_id_vacancy"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["organisation.id"],
            name=op.f("fk_referral_request_service_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["handled_by_id"], ["user.id"], name=op.f("fk_referral_request_handled_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_request")),
    )
    with op.batch_alter_table("referral_request") as batch_op:
        batch_op.create_index("ix_referral_request_vacancy_id", ["vacancy_id"])
        batch_op.create_index("ix_referral_request_service_id", ["service_id"])
        batch_op.create_index("ix_referral_request_status", ["status"])


def downgrade() -> None:
    with op.batch_alter_table("referral_request") as batch_op:
        batch_op.drop_index("ix_referral_request_status")
        batch_op.drop_index("ix_referral_request_service_id")
        batch_op.drop_index("ix_referral_request_vacancy_id")
    op.drop_table("referral_request")
    op.drop_table("service_desk")
