"""Late-payment penalties: each product's penalty charged once on every
instalment still unpaid some days after it fell due, by the daily job for each
organisation that lends with penalties.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from microcredit import ledger
from microcredit.ledger import Parts
from microcredit.lending.state import lock_loan
from microcredit.models import (
    ACTIVE,
    PENALTY,
    Loan,
    LoanProduct,
    LoanTransaction,
)
from microcredit.money import money
from microcredit.rules import record
from portal import db
from portal.models import Organisation, User


def penalty_organisations() -> list[Organisation]:
    """The organisations with an active loan whose product charges late penalties (the
    daily ``microcredit penalties`` job without ``--org`` runs for each)."""
    ids = (
        select(Loan.organisation_id)
        .join(LoanProduct)
        .where(Loan.status == ACTIVE, LoanProduct.late_penalty > 0)
    )
    return list(
        db.session.execute(
            select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)
        ).scalars()
    )


def _penalty_charged(loan_id: int, number: int) -> bool:
    net = db.session.execute(
        select(func.sum(LoanTransaction.sign)).where(
            LoanTransaction.loan_id == loan_id,
            LoanTransaction.kind == PENALTY,
            LoanTransaction.installment_number == number,
        )
    ).scalar_one()
    return int(net or 0) > 0


def apply_penalties(org_id: int, as_of: date, actor: User | None = None) -> int:
    """Charge each product's late penalty once on every instalment still unpaid
    ``penalty_after_days`` after it fell due. Returns how many were charged."""
    loans = (
        db.session.execute(
            select(Loan)
            .join(LoanProduct)
            .where(
                Loan.organisation_id == org_id, Loan.status == ACTIVE, LoanProduct.late_penalty > 0
            )
        )
        .scalars()
        .all()
    )
    if not loans:
        return 0
    ids = [loan.id for loan in loans]
    charged: dict[tuple[int, int], int] = {}
    for loan_id, number, net in db.session.execute(
        select(
            LoanTransaction.loan_id,
            LoanTransaction.installment_number,
            func.sum(LoanTransaction.sign),
        )
        .where(
            LoanTransaction.loan_id.in_(ids),
            LoanTransaction.kind == PENALTY,
            LoanTransaction.installment_number.is_not(None),
        )
        .group_by(LoanTransaction.loan_id, LoanTransaction.installment_number)
    ):
        charged[(loan_id, number)] = int(net or 0)
    totals = ledger.totals_for(ids, as_of)
    slots = ledger.slots_for(ids)
    count = 0
    for loan in loans:
        grace = timedelta(days=loan.product.penalty_after_days)
        pos = ledger.position(totals.get(loan.id, {}), slots.get(loan.id, []), as_of)
        for slot, unpaid_p, unpaid_i in pos.slots:
            if slot.due_date + grace >= as_of or not (unpaid_p or unpaid_i):
                continue
            if charged.get((loan.id, slot.number), 0) > 0:
                continue
            lock_loan(loan)
            # Under the lock, look again: a run at the same time (the daily job and a
            # per-organisation cron line) may have charged it since the read above.
            if _penalty_charged(loan.id, slot.number):
                continue
            ledger.book(
                loan,
                PENALTY,
                slot.due_date + grace,
                Parts(penalty=money(loan.product.late_penalty)),
                actor,
                installment_number=slot.number,
                note="late payment penalty",
            )
            count += 1
    if count:
        record("loan.penalties", ("organisation", org_id), actor, charged=count, as_of=as_of)
    return count
