"""Loans: the list, a loan's page, its lifecycle actions (one or several of a group at
once), repayments, reversals and support services.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from microcredit import ledger
from microcredit.forms import (
    ActionForm,
    GroupLoanActionForm,
    RepaymentForm,
    ReverseForm,
    ServiceForm,
)
from microcredit.lending.group_loans import (
    approve_group_loans,
    disburse_group_loans,
    disbursement_order,
)
from microcredit.lending.lifecycle import (
    approve,
    disburse,
    reject,
    reschedule,
    undo_approval,
    withdraw,
    write_off,
)
from microcredit.lending.repayments import prepay, refund, repay, reverse
from microcredit.lending.state import loan_position, transactions
from microcredit.lending.support import add_service, required_services
from microcredit.lending.terms import loan_terms, preview_schedule
from microcredit.models import (
    ACTIVE,
    APPROVED,
    LOAN_STATES,
    OVERPAID,
    SUBMITTED,
    Group,
    Loan,
    LoanService,
    LoanTransaction,
)
from microcredit.rules import McError
from microcredit.schedule import build_schedule
from microcredit.views.common import (
    bp,
    commit,
    current_org,
    form_key,
    officer_only,
    owned,
    per_page,
    today,
)
from portal import audit, db
from portal.forms import ConfirmForm
from portal.views import page_arg


@bp.route("/loans")
@officer_only
def loan_list() -> Any:
    org = current_org()
    status = request.args.get("status", "")
    stmt = select(Loan).where(Loan.organisation_id == org.id).order_by(Loan.id.desc())
    if status in LOAN_STATES:
        stmt = stmt.where(Loan.status == status)
    centre_id = request.args.get("centre", type=int)
    if centre_id:
        stmt = stmt.where(Loan.centre_id == centre_id)
    page = db.paginate(stmt, page_arg(), per_page())
    ids = [loan.id for loan in page.items]
    totals, slots = ledger.totals_for(ids), ledger.slots_for(ids)
    positions = {
        loan.id: ledger.position(totals.get(loan.id, {}), slots.get(loan.id, []), today())
        for loan in page.items
    }
    return render_template("microcredit/loans.html", page=page, positions=positions, status=status)


@bp.route("/loans/<int:loan_id>")
@officer_only
def loan_detail(loan_id: int) -> Any:
    loan = owned(Loan, loan_id)
    position = loan_position(loan, today())
    schedule = None if loan.disbursed_on else (preview_schedule(loan) if loan.is_open else None)
    entries = transactions(loan)
    kinds, needed = required_services(loan)
    successor = db.session.execute(
        select(Loan.id).where(Loan.rescheduled_from_id == loan.id)
    ).scalar_one_or_none()
    return render_template(
        "microcredit/loan.html",
        loan=loan,
        position=position,
        schedule=schedule,
        entries=entries,
        service_kinds=kinds,
        services_needed=needed,
        successor=successor,
        reverse_form=ReverseForm(formdata=None),
        today=today(),
    )


LOAN_ACTIONS = {
    "approve": (_l("Approve the application"), (SUBMITTED,)),
    "reject": (_l("Reject the application"), (SUBMITTED,)),
    "withdraw": (_l("Withdrawn by the applicant"), (SUBMITTED,)),
    "undo_approval": (_l("Undo the approval"), (APPROVED,)),
    "disburse": (_l("Disburse the loan"), (APPROVED,)),
    "prepay": (_l("Pay off early"), (ACTIVE,)),
    "write_off": (_l("Write the loan off"), (ACTIVE,)),
    "reschedule": (_l("Reschedule the loan"), (ACTIVE,)),
    "refund": (_l("Refund the overpayment"), (OVERPAID,)),
}


def _run(action: str, loan: Loan, form: ActionForm) -> Any:
    """The rule behind one of :data:`LOAN_ACTIONS`, with the form's date and reason; a
    reschedule returns the new loan."""
    user, on_date, reason = current_user, form.on_date.data, form.reason.data or ""
    if action == "approve":
        return approve(loan, on_date, user, form.principal.data, reason)
    if action == "reject":
        return reject(loan, on_date, user, reason)
    if action == "withdraw":
        return withdraw(loan, on_date, user, reason)
    if action == "undo_approval":
        return undo_approval(loan, user, reason)
    if action == "disburse":
        return disburse(loan, on_date, user, reason)
    if action == "prepay":
        return prepay(loan, on_date, user, key=form_key(form))
    if action == "write_off":
        return write_off(loan, on_date, user, reason)
    if action == "reschedule":
        return reschedule(loan, on_date, form.repayments.data, user, reason)
    return refund(loan, on_date, user)


@bp.route("/loans/<int:loan_id>/do/<action>", methods=["GET", "POST"])
@officer_only
def loan_action(loan_id: int, action: str) -> Any:
    loan = owned(Loan, loan_id)
    if action not in LOAN_ACTIONS:
        abort(404)
    title, states = LOAN_ACTIONS[action]
    if loan.status not in states:
        flash(
            _('This cannot be done on a loan in the state "%(state)s".', state=loan.status_label),
            "danger",
        )
        return redirect(url_for("microcredit.loan_detail", loan_id=loan.id))
    form = ActionForm()
    if request.method == "GET":
        form.on_date.data = today()
        form.principal.data = loan.principal
        form.repayments.data = loan.repayments
        form.nonce.data = uuid.uuid4().hex
    problems: list[str] = []
    if form.validate_on_submit():
        change = commit(
            lambda: _run(action, loan, form),
            form,
            fields={"status": "on_date", "member": "on_date", "services": "on_date"},
            duplicate=_("This has already been recorded."),
        )
        if change.done:
            flash(_("Done: %(what)s.", what=title), "success")
            target = change.result.id if isinstance(change.result, Loan) else loan.id
            return redirect(url_for("microcredit.loan_detail", loan_id=target))
        problems = change.problems
    position = loan_position(loan, form.on_date.data or today(), all_entries=True)
    quote = ledger.payoff_quote(position) if action == "prepay" else None
    preview = (
        build_schedule(loan_terms(loan, form.on_date.data or today()))
        if action == "disburse"
        else None
    )
    return render_template(
        "microcredit/loan_action.html",
        loan=loan,
        form=form,
        action=action,
        title=title,
        problems=problems,
        position=position,
        quote=quote,
        preview=preview,
    )


@bp.route("/groups/<int:group_id>/loans", methods=["GET", "POST"])
@officer_only
def group_loans(group_id: int) -> Any:
    """The group's applications and approved loans: approve or disburse several at once."""
    group = owned(Group, group_id)
    approve_form = GroupLoanActionForm(prefix="approve")
    disburse_form = GroupLoanActionForm(prefix="disburse")
    errors: dict[str, str] = {}
    problems: list[str] = []
    for action, form in (("approve", approve_form), ("disburse", disburse_form)):
        if request.method == "POST" and f"{action}-submit" in request.form:
            if form.validate_on_submit():
                bulk = approve_group_loans if action == "approve" else disburse_group_loans
                try:
                    done = bulk(
                        group,
                        form.loans.data or [],
                        form.on_date.data,
                        current_user,
                        form.reason.data or "",
                    )
                except McError as error:
                    db.session.rollback()
                    errors = error.fields
                    if "loans" in errors:
                        form.loans.errors = [errors["loans"]]
                    if any(k.startswith("loan-") for k in errors):
                        problems = [_("Nothing has been saved: see the loans marked below.")]
                else:
                    db.session.commit()
                    message = (
                        _("%(n)d loans have been approved.", n=len(done))
                        if action == "approve"
                        else _("%(n)d loans have been disbursed.", n=len(done))
                    )
                    flash(message, "success")
                    return redirect(url_for("microcredit.group_loans", group_id=group.id))
        elif request.method == "GET":
            form.on_date.data = today()
    loans = list(
        db.session.execute(
            select(Loan)
            .where(Loan.group_id == group.id, Loan.status.in_((SUBMITTED, APPROVED)))
            .order_by(Loan.id)
        ).scalars()
    )
    submitted = [loan for loan in loans if loan.status == SUBMITTED]
    approved = sorted((loan for loan in loans if loan.status == APPROVED), key=disbursement_order)
    if request.method == "POST":
        ticked = {
            "approve": set(approve_form.loans.data or []),
            "disburse": set(disburse_form.loans.data or []),
        }
    else:  # everything to approve; the next tranche (and loans outside tranches) to disburse
        first = min((loan.tranche for loan in approved if loan.tranche), default=None)
        ticked = {
            "approve": {loan.id for loan in submitted},
            "disburse": {loan.id for loan in approved if loan.tranche in (None, first)},
        }
    return render_template(
        "microcredit/group_loans.html",
        group=group,
        submitted=submitted,
        approved=approved,
        approve_form=approve_form,
        disburse_form=disburse_form,
        errors=errors,
        problems=problems,
        ticked=ticked,
        needed={loan.id: required_services(loan) for loan in submitted},
    )


@bp.route("/loans/<int:loan_id>/repay", methods=["GET", "POST"])
@officer_only
def loan_repay(loan_id: int) -> Any:
    loan = owned(Loan, loan_id)
    form = RepaymentForm()
    position = loan_position(loan, today())
    if request.method == "GET":
        form.on_date.data = today()
        form.amount.data = position.due_now if position.due_now > 0 else None
        form.nonce.data = uuid.uuid4().hex
    problems: list[str] = []
    if form.validate_on_submit():
        change = commit(
            lambda: repay(
                loan, form.amount.data, form.on_date.data, current_user, key=form_key(form)
            ),
            form,
            fields={"status": "amount"},
            duplicate=_("This repayment has already been recorded."),
        )
        if change.done:
            flash(_("The repayment has been recorded."), "success")
            return redirect(url_for("microcredit.loan_detail", loan_id=loan.id))
        problems = change.problems
    return render_template(
        "microcredit/repay.html", loan=loan, form=form, position=position, problems=problems
    )


@bp.route("/loans/<int:loan_id>/entries/<int:entry_id>/reverse", methods=["GET", "POST"])
@officer_only
def loan_reverse(loan_id: int, entry_id: int) -> Any:
    loan = owned(Loan, loan_id)
    entry = db.session.get(LoanTransaction, entry_id)
    if entry is None or entry.loan_id != loan.id:
        abort(404)
    form = ReverseForm()
    problems: list[str] = []
    if form.validate_on_submit():
        change = commit(
            lambda: reverse(entry, current_user, form.reason.data or ""),
            form,
            fields={"entry": "reason"},
        )
        if change.done:
            flash(_("The entry has been reversed."), "success")
            return redirect(url_for("microcredit.loan_detail", loan_id=loan.id))
        problems = change.problems
    return render_template(
        "microcredit/reverse.html", loan=loan, entry=entry, form=form, problems=problems
    )


@bp.route("/loans/<int:loan_id>/services/new", methods=["GET", "POST"])
@officer_only
def service_new(loan_id: int) -> Any:
    loan = owned(Loan, loan_id)
    form = ServiceForm()
    kinds, needed = required_services(loan)
    if request.method == "GET":
        form.kind.data = next(iter(kinds))
    problems: list[str] = []
    if form.validate_on_submit():
        change = commit(
            lambda: add_service(
                loan,
                form.kind.data,
                form.provider.data or "",
                form.planned_on.data,
                form.delivered_on.data,
                form.notes.data or "",
                current_user,
            ),
            form,
        )
        if change.done:
            flash(_("The service has been added."), "success")
            return redirect(url_for("microcredit.loan_detail", loan_id=loan.id))
        problems = change.problems
    return render_template(
        "microcredit/service_form.html",
        loan=loan,
        form=form,
        kinds=kinds,
        needed=needed,
        problems=problems,
    )


@bp.route("/loans/<int:loan_id>/services/<int:service_id>/delivered", methods=["POST"])
@officer_only
def service_delivered(loan_id: int, service_id: int) -> Any:
    loan = owned(Loan, loan_id)
    service = db.session.get(LoanService, service_id)
    if service is None or service.loan_id != loan.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        service.delivered_on = today()
        audit.record(
            "microcredit.loan.service_delivered", loan, subject=loan.member, kind=service.kind
        )
        db.session.commit()
        flash(_("The service is marked as delivered."), "success")
    return redirect(url_for("microcredit.loan_detail", loan_id=loan.id))
