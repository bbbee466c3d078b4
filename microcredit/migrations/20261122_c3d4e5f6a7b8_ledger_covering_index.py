"""ledger index covering the portfolio report's sums (loan, date, kind, sign, principal,
interest): the PAR report reads the index alone; it replaces the (loan, date) index

Revision ID: c3d4e5f6a7b8
Revises: b7c8d9e0f1a2
Create Date: 2026-11-22 14:10:00
"""

from alembic import op

revision = "c3d4e5f6a7b8"
down_revision = "b7c8d9e0f1a2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_mc_loan_txn_loan_date_amounts",
        "mc_loan_txn",
        ["loan_id", "on_date", "kind", "sign", "principal", "interest"],
        unique=False,
    )
    op.drop_index("ix_mc_loan_txn_loan_date", table_name="mc_loan_txn")


def downgrade() -> None:
    op.create_index("ix_mc_loan_txn_loan_date", "mc_loan_txn", ["loan_id", "on_date"])
    op.drop_index("ix_mc_loan_txn_loan_date_amounts", table_name="mc_loan_txn")
