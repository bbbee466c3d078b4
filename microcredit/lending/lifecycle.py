"""The loan lifecycle, in Fineract's states: the application, approval
(and its undoing), rejection and withdrawal, disbursement with its schedule, the write-off
and the reschedule into a new loan for what is owed.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from microcredit import ledger
from microcredit.access import org_officers, require_officer
from microcredit.groups import is_trained
from microcredit.ledger import Parts
from microcredit.lending.state import begin, date_errors, loan_position
from microcredit.lending.support import required_services
from microcredit.lending.terms import check_limits, loan_terms, term_exceeds
from microcredit.lending.waves import wave_number, wave_problem
from microcredit.models import (
    ACTIVE,
    ACTIVE_GROUP,
    APPROVED,
    CLOSED_RESCHEDULED,
    CLOSED_WRITTEN_OFF,
    DISBURSEMENT,
    FEE,
    REJECTED,
    SUBMITTED,
    TRANSFER,
    WAIVER,
    WITHDRAWN,
    WRITE_OFF,
    Loan,
    LoanInstallment,
    LoanProduct,
    LoanTransaction,
    Member,
)
from microcredit.money import ZERO, money
from microcredit.policy import policy
from microcredit.rules import McError, local_today, record
from microcredit.schedule import (
    Schedule,
    build_schedule,
)
from portal import db
from portal.i18n import euro
from portal.models import User


def submit_loan(
    member: Member,
    product: LoanProduct,
    principal: Decimal | None,
    repayments: int | None,
    expected_disbursement_on: date | None,
    purpose: str,
    officer_id: int | None,
    actor: User,
    on_date: date | None = None,
) -> Loan:
    require_officer(actor, member.organisation_id)
    on_date = on_date or local_today()
    errors: dict[str, str] = {}
    if product.organisation_id != member.organisation_id or not product.active:
        errors["product"] = _("Choose an active product of your organisation.")
    if member.left_on is not None:
        errors["member"] = _("The member has left.")
    elif not member.has_consent(on_date):
        errors["member"] = _("The member's consent is missing, expired or withdrawn.")
    if principal is None or principal <= 0 or principal != principal.quantize(Decimal("0.01")):
        errors["principal"] = _(
            "Give an amount in euros, more than zero, with at most two decimals."
        )
    elif not product.min_principal <= principal <= product.max_principal:
        errors["principal"] = _(
            "The product lends from %(low)s to %(high)s.",
            low=euro(product.min_principal),
            high=euro(product.max_principal),
        )
    if repayments is None or not product.min_repayments <= repayments <= product.max_repayments:
        errors["repayments"] = _(
            "The product allows from %(low)d to %(high)d repayments.",
            low=product.min_repayments,
            high=product.max_repayments,
        )
    if expected_disbursement_on is None:
        errors["expected_disbursement_on"] = _("Give the expected disbursement date.")
    elif expected_disbursement_on < on_date - timedelta(days=31):
        errors["expected_disbursement_on"] = _("The date is too far in the past.")
    if officer_id is not None and officer_id not in {
        u.id for u in org_officers(member.organisation_id)
    }:
        errors["officer"] = _("Choose an officer of your organisation.")
    group = member.group if member.group_id and member.left_on is None else None
    if product.group_lending:
        if group is None:
            errors["member"] = _("This product lends to members of a group.")
        elif group.status != ACTIVE_GROUP:
            errors["member"] = _("The member's group is not recognised (active).")
        elif not is_trained(member):
            errors["member"] = _("The member has not attended the compulsory group training.")
    if not errors:
        check_limits(
            member,
            product.kind,
            principal,
            repayments,
            product.frequency,  # type: ignore[arg-type]
            expected_disbursement_on,
            None,
            errors,
        )  # type: ignore[arg-type]
    if errors:
        raise McError(errors)
    cycle = (
        1
        + db.session.execute(
            select(func.count())
            .select_from(Loan)
            .where(
                Loan.member_id == member.id,
                Loan.disbursed_on.is_not(None),
                Loan.rescheduled_from_id.is_(None),
            )
        ).scalar_one()
    )
    loan = Loan(
        organisation_id=member.organisation_id,
        member_id=member.id,
        group_id=group.id if group else None,
        centre_id=group.centre_id if group else None,
        product_id=product.id,
        officer_id=officer_id or actor.id,
        kind=product.kind,
        status=SUBMITTED,
        cycle=cycle,
        principal=principal,
        repayments=repayments,
        frequency=product.frequency,
        interest_rate=product.interest_rate,
        interest_rate_period=product.interest_rate_period,
        interest_method=product.interest_method,
        amortization=product.amortization,
        interest_calculation=product.interest_calculation,
        days_in_year=product.days_in_year,
        grace_on_principal=product.grace_on_principal,
        in_multiples_of=product.in_multiples_of,
        allocation_order=product.allocation_order,
        rounding=policy().rounding,
        move_non_working_days=product.move_non_working_days,
        purpose=(purpose or "").strip()[:300],
        submitted_on=on_date,
        expected_disbursement_on=expected_disbursement_on,
        created_by_id=actor.id,
    )
    db.session.add(loan)
    db.session.flush()
    record(
        "loan.submit",
        loan,
        actor,
        subject=member,
        principal=principal,
        repayments=repayments,
        product=product.id,
    )
    return loan


def approve(
    loan: Loan,
    on_date: date | None,
    actor: User,
    principal: Decimal | None = None,
    reason: str = "",
) -> None:
    loan = begin(loan, actor, SUBMITTED)
    errors = date_errors(loan, on_date)
    amount = principal if principal is not None else loan.principal
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        errors["principal"] = _(
            "Give an amount in euros, more than zero, with at most two decimals."
        )
    elif amount > loan.principal:
        errors["principal"] = _("The approved amount cannot exceed the amount applied for.")
    elif amount < loan.product.min_principal:
        errors["principal"] = _(
            "The product lends at least %(low)s.", low=euro(loan.product.min_principal)
        )
    kinds, needed = required_services(loan)
    if sum(1 for s in loan.services if s.kind in kinds) < needed:
        errors["services"] = _(
            "Record at least %(n)d of the required support services before approval (DM 176/2014).",
            n=needed,
        )
    if not loan.member.has_consent(on_date or local_today()):
        errors["member"] = _("The member's consent is missing, expired or withdrawn.")
    if not errors:
        check_limits(
            loan.member,
            loan.kind,
            amount,
            loan.repayments,
            loan.frequency,
            loan.expected_disbursement_on,
            loan.id,
            errors,
        )
    if errors:
        raise McError(errors)
    loan.principal = amount
    loan.status = APPROVED
    loan.approved_on = on_date
    record(
        "loan.approve",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=on_date,
        principal=amount,
    )


def undo_approval(loan: Loan, actor: User, reason: str = "") -> None:
    loan = begin(loan, actor, APPROVED)
    loan.status = SUBMITTED
    loan.approved_on = None
    record(
        "loan.undo_approval",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=local_today(),
    )


def reject(loan: Loan, on_date: date | None, actor: User, reason: str = "") -> None:
    loan = begin(loan, actor, SUBMITTED)
    errors = date_errors(loan, on_date)
    if not (reason or "").strip():
        errors["reason"] = _("Say why the application is rejected.")
    if errors:
        raise McError(errors)
    loan.status = REJECTED
    loan.rejected_on = on_date
    loan.status_reason = reason.strip()[:300]
    record("loan.reject", loan, actor, reason=reason, subject=loan.member, on_date=on_date)


def withdraw(loan: Loan, on_date: date | None, actor: User, reason: str = "") -> None:
    loan = begin(loan, actor, SUBMITTED)
    errors = date_errors(loan, on_date)
    if errors:
        raise McError(errors)
    loan.status = WITHDRAWN
    loan.withdrawn_on = on_date
    loan.status_reason = (reason or "").strip()[:300]
    record("loan.withdraw", loan, actor, reason=reason, subject=loan.member, on_date=on_date)


def disburse(loan: Loan, on_date: date | None, actor: User, reason: str = "") -> None:
    loan = begin(loan, actor, APPROVED)
    errors = date_errors(loan, on_date)
    if errors:
        raise McError(errors)
    assert on_date is not None
    if not loan.member.has_consent(on_date):
        errors["member"] = _("The member's consent is missing, expired or withdrawn.")
    if loan.product.group_lending:
        group = loan.group
        if group is None or group.status != ACTIVE_GROUP:
            errors["member"] = _("The member's group is not recognised (active).")
    if term_exceeds(loan.kind, loan.frequency, loan.repayments, on_date):
        errors["repayments"] = _(
            "The loan would last more than the %(months)d months allowed.",
            months=policy().limits(loan.kind).max_months,
        )
    problem = wave_problem(loan, on_date)
    if problem:
        errors["on_date"] = problem
    if errors:
        raise McError(errors)
    schedule = build_schedule(loan_terms(loan, on_date))
    _store_schedule(loan, schedule)
    loan.status = ACTIVE
    loan.disbursed_on = on_date
    loan.centre_id = loan.group.centre_id if loan.group else None
    if loan.product.enforce_221 and loan.group_id and loan.cycle == 1:
        loan.wave = wave_number(loan)
    ledger.book(
        loan, DISBURSEMENT, on_date, Parts(principal=money(loan.principal)), actor, note=reason
    )
    fee = money(loan.product.disbursement_fee)
    if fee > 0:
        ledger.book(loan, FEE, on_date, Parts(fee=fee), actor, note="disbursement fee")
    record(
        "loan.disburse",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=on_date,
        principal=loan.principal,
        maturity=schedule.maturity_date,
    )


def _store_schedule(loan: Loan, schedule: Schedule) -> None:
    cumulative_p = cumulative_t = ZERO
    rows = []
    for item in schedule.installments:
        cumulative_p += item.principal
        cumulative_t += item.total
        rows.append(
            LoanInstallment(
                loan_id=loan.id,
                number=item.number,
                due_date=item.due_date,
                principal=item.principal,
                interest=item.interest,
                cumulative_principal=cumulative_p,
                cumulative_total=cumulative_t,
            )
        )
    db.session.add_all(rows)
    db.session.flush()
    db.session.expire(loan, ["installments"])


def write_off(loan: Loan, on_date: date | None, actor: User, reason: str = "") -> LoanTransaction:
    loan = begin(loan, actor, ACTIVE)
    errors = date_errors(loan, on_date)
    if not (reason or "").strip():
        errors["reason"] = _("Say why the loan is written off.")
    if errors:
        raise McError(errors)
    assert on_date is not None
    pos = loan_position(loan, on_date, all_entries=True)
    parts = Parts(principal=pos.principal, interest=pos.interest, fee=pos.fee, penalty=pos.penalty)
    entry = ledger.book(loan, WRITE_OFF, on_date, parts, actor, note=reason)
    loan.status = CLOSED_WRITTEN_OFF
    loan.closed_on = on_date
    loan.status_reason = reason.strip()[:300]
    record(
        "loan.write_off",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=on_date,
        principal=pos.principal,
    )
    return entry


def reschedule(
    loan: Loan, on_date: date | None, repayments: int | None, actor: User, reason: str = ""
) -> Loan:
    """Close the loan as rescheduled and open a new one for what is owed.

    The new loan lends the outstanding principal plus the interest, fees and penalties
    already due (capitalised); interest not yet due is waived. Its schedule starts on
    ``on_date`` with the same product terms and ``repayments``.
    """
    loan = begin(loan, actor, ACTIVE)
    errors = date_errors(loan, on_date)
    if repayments is None or not 1 <= repayments <= policy().max_repayments:
        errors["repayments"] = _(
            "Repayments must be between 1 and %(max)d.", max=policy().max_repayments
        )
    elif on_date and term_exceeds(loan.kind, loan.frequency, repayments, on_date):
        errors["repayments"] = _(
            "The loan would last more than the %(months)d months allowed.",
            months=policy().limits(loan.kind).max_months,
        )
    if not (reason or "").strip():
        errors["reason"] = _("Say why the loan is rescheduled.")
    if errors:
        raise McError(errors)
    assert on_date is not None and repayments is not None
    pos = loan_position(loan, on_date, all_entries=True)
    due_interest = min(pos.due_interest, pos.interest)
    waive = pos.interest - due_interest
    if waive > 0:
        ledger.book(
            loan,
            WAIVER,
            on_date,
            Parts(interest=waive),
            actor,
            note="interest not yet due, on rescheduling",
        )
    moved = Parts(principal=pos.principal, interest=due_interest, fee=pos.fee, penalty=pos.penalty)
    ledger.book(loan, TRANSFER, on_date, moved, actor, note=reason)
    loan.status = CLOSED_RESCHEDULED
    loan.closed_on = on_date
    loan.status_reason = reason.strip()[:300]
    successor = Loan(
        organisation_id=loan.organisation_id,
        member_id=loan.member_id,
        group_id=loan.group_id,
        centre_id=loan.centre_id,
        product_id=loan.product_id,
        officer_id=loan.officer_id,
        kind=loan.kind,
        status=ACTIVE,
        cycle=loan.cycle,
        principal=moved.total,
        repayments=repayments,
        frequency=loan.frequency,
        interest_rate=loan.interest_rate,
        interest_rate_period=loan.interest_rate_period,
        interest_method=loan.interest_method,
        amortization=loan.amortization,
        interest_calculation=loan.interest_calculation,
        days_in_year=loan.days_in_year,
        grace_on_principal=min(loan.grace_on_principal, repayments - 1),
        in_multiples_of=loan.in_multiples_of,
        allocation_order=loan.allocation_order,
        rounding=loan.rounding,
        purpose=loan.purpose,
        submitted_on=on_date,
        expected_disbursement_on=on_date,
        approved_on=on_date,
        disbursed_on=on_date,
        rescheduled_from_id=loan.id,
        created_by_id=actor.id,
    )
    db.session.add(successor)
    db.session.flush()
    _store_schedule(successor, build_schedule(loan_terms(successor, on_date)))
    ledger.book(
        successor, DISBURSEMENT, on_date, Parts(principal=moved.total), actor, note="rescheduled"
    )
    record(
        "loan.disburse",
        successor,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=on_date,
        principal=moved.total,
        rescheduled_from=loan.id,
    )
    record(
        "loan.reschedule",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=on_date,
        successor=successor.id,
        capitalised=moved.total,
        waived=waive,
    )
    return successor
