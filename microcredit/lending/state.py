"""One loan as it stands: its row lock and the state check every action
starts with, the date checks against its milestones, its position on a day and its
ledger as booked.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from microcredit import ledger
from microcredit.access import require_officer
from microcredit.ledger import Position
from microcredit.models import APPROVED, SUBMITTED, Loan, LoanTransaction
from microcredit.rules import McError, check_date, local_today
from portal import db
from portal.models import User


def lock_loan(loan: Loan) -> Loan:
    """Take the loan's row lock (PostgreSQL; SQLite serialises writers) and refresh it."""
    return db.session.execute(
        select(Loan)
        .where(Loan.id == loan.id)
        .with_for_update(of=Loan)
        .execution_options(populate_existing=True)
    ).scalar_one()


def require_status(loan: Loan, *states: str, message: str | None = None) -> None:
    if loan.status not in states:
        raise McError(
            {
                "status": message
                or _(
                    'This cannot be done on a loan in the state "%(state)s".',
                    state=loan.status_label,
                )
            }
        )


def begin(loan: Loan, actor: User, *states: str) -> Loan:
    """Every action on a loan starts here: made by an officer of the loan's organisation
    (checked again whoever calls), under the loan's row lock, from one of ``states``.
    Returns the loan as read under the lock."""
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    require_status(loan, *states)
    return loan


def date_errors(loan: Loan, on_date: date | None) -> dict[str, str]:
    """The date of an action on the loan: given, not in the future and not before the
    milestone of the loan's state (the application, the approval, the disbursement)."""
    if loan.status == SUBMITTED:
        since, label = loan.submitted_on, _("the application")
    elif loan.status == APPROVED:
        since, label = loan.approved_on, _("the approval")
    else:
        since, label = loan.disbursed_on, _("the disbursement")
    errors: dict[str, str] = {}
    check_date(on_date, "on_date", errors, not_before=since, before_label=label)
    return errors


def loan_position(loan: Loan, as_of: date | None = None, *, all_entries: bool = False) -> Position:
    """The loan's position on ``as_of`` (today by default). ``all_entries`` also counts
    entries dated after it (the current state, for allocating a back-dated repayment)."""
    day = as_of or local_today()
    totals = ledger.totals_for([loan.id], None if all_entries else day).get(loan.id, {})
    return ledger.position(totals, ledger.slots_for([loan.id]).get(loan.id, []), day)


def transactions(loan: Loan) -> list[tuple[LoanTransaction, bool]]:
    """The loan's ledger in booking order, each entry with whether it was reversed."""
    entries = (
        db.session.execute(
            select(LoanTransaction)
            .where(LoanTransaction.loan_id == loan.id)
            .order_by(LoanTransaction.on_date, LoanTransaction.id)
        )
        .scalars()
        .all()
    )
    reversed_ids = {e.reversal_of_id for e in entries if e.reversal_of_id}
    return [(e, e.id in reversed_ids) for e in entries]
