"""The group application: loans for several members of a group on one
form, all or nothing, each line through the single application's rules plus its tranche;
then approval and disbursement of several loans of the group at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from microcredit.lending.lifecycle import approve, disburse, submit_loan
from microcredit.lending.support import add_service
from microcredit.lending.waves import group_plan, staggered, tranche_date, tranche_errors
from microcredit.models import (
    ACTIVE_GROUP,
    APPROVED,
    LEADER,
    SERVICES,
    SUBMITTED,
    Group,
    Loan,
    LoanProduct,
)
from microcredit.money import ZERO
from microcredit.rules import McError, local_today, record
from portal import db
from portal.models import User

#: Errors of :func:`submit_loan` that belong to one member's line of a group application.
ROW_FIELDS = ("principal", "repayments", "member")


@dataclass
class GroupLoanRow:
    """One member's line of a group application (None: missing or not a valid value)."""

    member_id: int
    principal: Decimal | None
    repayments: int | None
    purpose: str = ""
    #: Tranche of the staggered first disbursement (first loans of staggered products).
    tranche: int | None = None


def submit_group_loans(
    group: Group,
    product: LoanProduct,
    rows: list[GroupLoanRow],
    expected_disbursement_on: date | None,
    officer_id: int | None,
    service_kinds: Iterable[str],
    actor: User,
    on_date: date | None = None,
) -> list[Loan]:
    """Apply for loans for several members of a group at once: all or nothing.

    Each line goes through :func:`submit_loan` (the product's terms, consent, training and
    the art. 111 TUB / DM 176/2014 limits per borrower); first loans of a staggered product
    also get their tranche, checked against the pattern (:func:`tranche_errors`). Every
    problem is reported, keyed ``<field>-<member id>`` for a line's fields, and nothing is
    saved unless every line is valid. Each loan gets the support services chosen.
    """
    on_date = on_date or local_today()
    errors: dict[str, str] = {}
    if product.organisation_id != group.organisation_id or not product.active:
        errors["product"] = _("Choose an active product of your organisation.")
    elif not product.group_lending:
        errors["product"] = _("Choose a product that lends to members of a group.")
    if group.status != ACTIVE_GROUP:
        errors["group"] = _("The group is not recognised (active).")
    members = {m.id: m for m in group.members}
    if not rows:
        errors["rows"] = _("Include at least one member.")
    elif any(row.member_id not in members for row in rows) or len(
        {row.member_id for row in rows}
    ) != len(rows):
        errors["rows"] = _("Include each current member of the group at most once.")
    kinds = list(dict.fromkeys(service_kinds))
    if any(kind not in SERVICES for kind in kinds):
        errors["services"] = _("Choose a service.")
    if expected_disbursement_on is None:
        errors["expected_disbursement_on"] = _("Give the expected disbursement date.")
    if errors:
        raise McError(errors)
    assert expected_disbursement_on is not None
    plan = {line.member.id: line for line in group_plan(group, product)}
    if staggered(product):
        errors.update(
            tranche_errors(
                group,
                plan,
                {row.member_id: row.tranche for row in rows if plan[row.member_id].cycle == 1},
            )
        )
    loans: list[Loan] = []
    with db.session.begin_nested():
        for row in rows:
            member = members[row.member_id]
            tranche = row.tranche if staggered(product) and plan[member.id].cycle == 1 else None
            try:
                loan = submit_loan(
                    member,
                    product,
                    row.principal,
                    row.repayments,
                    tranche_date(group, expected_disbursement_on, tranche),
                    row.purpose,
                    officer_id,
                    actor,
                    on_date,
                )
            except McError as error:
                for name, message in error.fields.items():
                    errors.setdefault(
                        f"{name}-{member.id}" if name in ROW_FIELDS else name, message
                    )
                continue
            loan.tranche = tranche if loan.cycle == 1 else None
            for kind in kinds:
                add_service(loan, kind, "", None, None, "", actor)
            loans.append(loan)
        if errors:
            raise McError(errors)
        db.session.flush()
        record(
            "group.loans_submit",
            group,
            actor,
            product=product.id,
            loans=[loan.id for loan in loans],
            principal=sum((loan.principal for loan in loans), ZERO),
        )
    return loans


def _group_loans(group: Group, loan_ids: Iterable[int], state: str) -> list[Loan]:
    ids = sorted(set(loan_ids))
    if not ids:
        raise McError({"loans": _("Choose at least one loan.")})
    loans = list(
        db.session.execute(
            select(Loan).where(Loan.id.in_(ids), Loan.group_id == group.id, Loan.status == state)
        ).scalars()
    )
    if len(loans) != len(ids):
        raise McError({"loans": _("Choose loans of this group in the state shown.")})
    return loans


def _each(loans: list[Loan], action: Any) -> None:
    """Run ``action`` on every loan in one savepoint: all, or none and every problem."""
    errors: dict[str, str] = {}
    with db.session.begin_nested():
        for loan in loans:
            try:
                action(loan)
            except McError as error:
                errors[f"loan-{loan.id}"] = " ".join(dict.fromkeys(error.fields.values()))
        if errors:
            raise McError(errors)


def approve_group_loans(
    group: Group, loan_ids: Iterable[int], on_date: date | None, actor: User, reason: str = ""
) -> list[Loan]:
    """Approve several submitted applications of a group, each through :func:`approve`
    (services, consent, limits), in one transaction; errors keyed ``loan-<id>``."""
    loans = _group_loans(group, loan_ids, SUBMITTED)
    _each(loans, lambda loan: approve(loan, on_date, actor, reason=reason))
    return loans


def disbursement_order(loan: Loan) -> tuple[int, int, int]:
    """Tranche first, the leader last within it, then the order of application."""
    return (loan.tranche or 0, 1 if loan.member.group_role == LEADER else 0, loan.id)


def disburse_group_loans(
    group: Group, loan_ids: Iterable[int], on_date: date | None, actor: User, reason: str = ""
) -> list[Loan]:
    """Disburse several approved loans of a group, each through :func:`disburse` in
    tranche order, so the staggered first disbursement is checked loan by loan; all in
    one transaction, errors keyed ``loan-<id>``."""
    loans = sorted(_group_loans(group, loan_ids, APPROVED), key=disbursement_order)
    _each(loans, lambda loan: disburse(loan, on_date, actor, reason))
    return loans
