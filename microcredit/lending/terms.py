"""A loan's terms and their legal limits: the schedule terms of a loan (its
own, copied from the product when applied for), a preview of its schedule, and the
art. 111 TUB / DM 176/2014 limits per borrower (cumulative amount, duration, one open
loan of a kind).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from microcredit.models import (
    OPEN_STATES,
    REJECTED,
    WITHDRAWN,
    Loan,
    Member,
)
from microcredit.money import money
from microcredit.policy import SOCIAL, policy
from microcredit.schedule import (
    Schedule,
    Terms,
    add_months,
    build_schedule,
    due_dates,
)
from portal import db
from portal.i18n import euro


def term_exceeds(kind: str, frequency: str, repayments: int, start: date) -> bool:
    last = due_dates(start, frequency, repayments)[-1]
    return last > add_months(start, policy().limits(kind).max_months)


def loan_terms(loan: Loan, start: date | None = None) -> Terms:
    return Terms(
        principal=money(loan.principal),
        interest_rate=Decimal(loan.interest_rate),
        repayments=loan.repayments,
        disbursement_date=start or loan.disbursed_on or loan.expected_disbursement_on,
        frequency=loan.frequency,
        interest_method=loan.interest_method,
        amortization=loan.amortization,
        interest_rate_period=loan.interest_rate_period,
        grace_on_principal=loan.grace_on_principal,
        in_multiples_of=money(loan.in_multiples_of) if loan.in_multiples_of else None,
        days_in_year=loan.days_in_year,
        interest_calculation=loan.interest_calculation,
        rounding=loan.rounding,
        move_non_working_days=loan.move_non_working_days,
        local_holidays=loan.centre.local_holidays if loan.centre else (),
        holiday_subdivision=loan.centre.holiday_subdivision if loan.centre else None,
    )


def preview_schedule(loan: Loan) -> Schedule:
    return build_schedule(loan_terms(loan))


def _cumulative_exposure(member: Member, kind: str, exclude_id: int | None) -> Decimal:
    limits = policy().limits(kind)
    stmt = select(func.sum(Loan.principal)).where(
        Loan.member_id == member.id, Loan.kind == kind, Loan.id != (exclude_id or -1)
    )
    if limits.cumulative:
        # Everything ever lent, not what was refused; a rescheduled loan counts once.
        stmt = stmt.where(
            Loan.status.not_in((REJECTED, WITHDRAWN)), Loan.rescheduled_from_id.is_(None)
        )
    else:
        stmt = stmt.where(Loan.status.in_(OPEN_STATES))
    return money(db.session.execute(stmt).scalar_one())


def check_limits(
    member: Member,
    kind: str,
    principal: Decimal,
    repayments: int,
    frequency: str,
    start: date,
    exclude_id: int | None,
    errors: dict[str, str],
) -> None:
    """Art. 111 TUB and DM 176/2014 limits (see :mod:`microcredit.policy`)."""
    rules = policy()
    limits = rules.limits(kind)
    already = _cumulative_exposure(member, kind, exclude_id)
    if principal + already > limits.max_amount:
        errors["principal"] = _(
            "This would bring the member's %(kind)s to %(total)s: the limit is %(max)s.",
            kind=_("social microcredit") if kind == SOCIAL else _("business microcredit"),
            total=euro(principal + already),
            max=euro(limits.max_amount),
        )
    if repayments >= 1 and term_exceeds(kind, frequency, repayments, start):
        errors["repayments"] = _(
            "The loan would last more than the %(months)d months allowed.", months=limits.max_months
        )
    if (
        rules.one_open_loan_per_kind
        and db.session.execute(
            select(Loan.id).where(
                Loan.member_id == member.id,
                Loan.kind == kind,
                Loan.status.in_(OPEN_STATES),
                Loan.id != (exclude_id or -1),
            )
        ).first()
    ):
        errors["member"] = _("The member already has an open loan of this kind.")
