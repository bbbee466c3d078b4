"""Loan applications: one member's application and the whole group's on one form
(all or nothing, with the tranches of a staggered first disbursement). Both start from
the organisation's active products and the centre's next meeting as the expected
disbursement date.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from microcredit.centres import next_meetings
from microcredit.forms import (
    AMOUNT_MESSAGES,
    GroupLoansForm,
    LoanForm,
)
from microcredit.lending.group_loans import GroupLoanRow, submit_group_loans
from microcredit.lending.lifecycle import submit_loan
from microcredit.lending.waves import PlanLine, group_plan, staggered, tranche_date
from microcredit.models import (
    BUSINESS_SERVICES,
    SOCIAL_SERVICES,
    Group,
    LoanProduct,
    Member,
)
from microcredit.money import AmountError, parse_amount
from microcredit.policy import policy
from microcredit.rules import McError
from microcredit.views.common import (
    apply_errors,
    bp,
    commit,
    officer_choices,
    officer_only,
    owned,
    today,
)
from portal import db


@bp.route("/members/<int:member_id>/loans/new", methods=["GET", "POST"])
@officer_only
def loan_new(member_id: int) -> Any:
    member = owned(Member, member_id)
    products = _products(member.organisation_id)
    form = LoanForm()
    form.product.choices = [(p.id, f"{p.name} – {p.kind_label}") for p in products]
    form.officer.choices = officer_choices(member.organisation_id)
    if request.method == "GET":
        form.officer.data = current_user.id
        suited = [p for p in products if p.group_lending == bool(member.group_id)] or products
        if suited:
            form.product.data = suited[0].id
            form.repayments.data = suited[0].default_repayments
        form.expected_disbursement_on.data = _disbursement_day(member.group)
    problems: list[str] = []
    if form.validate_on_submit():
        product = next((p for p in products if p.id == form.product.data), None)
        if product is None:
            form.product.errors = [_("Choose a product.")]
        else:
            change = commit(
                lambda: submit_loan(
                    member,
                    product,
                    form.principal.data,
                    form.repayments.data,
                    form.expected_disbursement_on.data,
                    form.purpose.data or "",
                    form.officer.data or None,
                    current_user,
                    today(),
                ),
                form,
            )
            if change.done:
                flash(_("The application has been submitted."), "success")
                return redirect(url_for("microcredit.loan_detail", loan_id=change.result.id))
            problems = change.problems
    return render_template(
        "microcredit/loan_form.html", form=form, member=member, products=products, problems=problems
    )


def _products(org_id: int, *, group_lending: bool | None = None) -> list[LoanProduct]:
    """The organisation's active products by name (``group_lending``: only those that
    lend, or do not lend, to members of a group)."""
    stmt = select(LoanProduct).where(
        LoanProduct.organisation_id == org_id, LoanProduct.active.is_(True)
    )
    if group_lending is not None:
        stmt = stmt.where(LoanProduct.group_lending.is_(group_lending))
    return list(db.session.execute(stmt.order_by(LoanProduct.name)).scalars())


def _disbursement_day(group: Group | None) -> date:
    """The expected disbursement date an application starts from: the next meeting of
    the group's centre, where loans are handed over, or today."""
    meetings = next_meetings(group.centre, today(), 1) if group and group.centre else []
    return meetings[0] if meetings else today()


def _whole_number(raw: str, digits: int) -> int | None:
    """A whole number of at most ``digits`` digits typed in a line of the form, or None."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= digits else None


def _read_rows(plan: list[PlanLine], form: Any) -> tuple[list[GroupLoanRow], dict[str, str]]:
    """The lines of the members ticked on a group application, and typing errors."""
    rows, errors = [], {}
    for line in plan:
        mid = line.member.id
        if form.get(f"include-{mid}") != "1":
            continue
        principal = None
        try:
            principal = parse_amount(form.get(f"principal-{mid}"), localized=True)
        except AmountError as error:
            errors[f"principal-{mid}"] = str(AMOUNT_MESSAGES[error.code])
        raw = (form.get(f"repayments-{mid}") or "").strip()
        repayments = _whole_number(raw, 4)
        if repayments is None:
            errors[f"repayments-{mid}"] = _("Enter a whole number.")
        raw = (form.get(f"tranche-{mid}") or "").strip()
        rows.append(
            GroupLoanRow(
                member_id=mid,
                principal=principal,
                repayments=repayments,
                purpose=(form.get(f"purpose-{mid}") or "").strip()[:300],
                tranche=_whole_number(raw, 2),
            )
        )
    return rows, errors


@bp.route("/groups/<int:group_id>/loans/new", methods=["GET", "POST"])
@officer_only
def group_loans_new(group_id: int) -> Any:
    """One application for several members of a group (all or nothing)."""
    group = owned(Group, group_id)
    products = _products(group.organisation_id, group_lending=True)
    chosen = request.values.get("product", type=int)
    product = next((p for p in products if p.id == chosen), products[0] if products else None)
    form = GroupLoansForm()
    form.officer.choices = officer_choices(group.organisation_id)
    kinds = BUSINESS_SERVICES if product and product.kind == "business" else SOCIAL_SERVICES
    form.services.choices = list(kinds.items())
    plan = group_plan(group, product) if product else []
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    problems: list[str] = []
    if request.method == "GET" and product is not None:
        form.product.data = str(product.id)
        form.officer.data = current_user.id
        form.expected_disbursement_on.data = _disbursement_day(group)
        form.services.data = list(kinds)[: policy().limits(product.kind).min_services]
        for line in plan:
            if line.open_loan is None:
                typed[f"include-{line.member.id}"] = "1"
    elif request.method == "POST":
        typed = request.form.to_dict()
        rows, errors = _read_rows(plan, request.form)
        if form.validate_on_submit() and product is not None:
            try:
                loans = submit_group_loans(
                    group,
                    product,
                    rows,
                    form.expected_disbursement_on.data,
                    form.officer.data or None,
                    form.services.data or [],
                    current_user,
                    today(),
                )
                if errors:
                    raise McError(errors)
            except McError as error:
                db.session.rollback()
                errors = {**error.fields, **errors}
                shared = {k: v for k, v in errors.items() if "-" not in k}
                problems = apply_errors(form, McError(shared)) if shared else []
            else:
                db.session.commit()
                flash(_("%(n)d applications have been submitted.", n=len(loans)), "success")
                return redirect(url_for("microcredit.group_loans", group_id=group.id))
        elif product is None:
            problems = [_("Create a loan product for groups first.")]
        if not problems and (errors or form.errors):
            problems = [_("Nothing has been saved: correct the fields marked below.")]
    waves = policy().first_disbursement_waves
    tranche_of = {}
    for line in plan:
        typed_tranche = _whole_number(typed.get(f"tranche-{line.member.id}", ""), 2)
        planned = line.fixed or typed_tranche is None
        tranche_of[line.member.id] = line.tranche if planned else typed_tranche
    start = form.expected_disbursement_on.data or today()
    tranches = [
        {
            "number": k,
            "size": size,
            "date": tranche_date(group, start, k),
            "members": [
                line
                for line in plan
                if tranche_of[line.member.id] == k
                and (line.fixed or typed.get(f"include-{line.member.id}") == "1")
            ],
        }
        for k, size in enumerate(waves, start=1)
    ]
    return render_template(
        "microcredit/group_loans_new.html",
        group=group,
        form=form,
        product=product,
        products=products,
        plan=plan,
        typed=typed,
        errors=errors,
        problems=problems,
        tranches=tranches,
        staggered=bool(product and staggered(product)),
        pattern="-".join(str(w) for w in waves),
    )
