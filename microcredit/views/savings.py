"""A group's savings and fund: the movements booked at the office and their reversal."""

from __future__ import annotations

import uuid
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

from microcredit.forms import (
    ReverseForm,
    SavingsForm,
)
from microcredit.models import (
    Group,
    Member,
    SavingsTransaction,
)
from microcredit.savings import post_savings, reverse_savings, savings_balances
from microcredit.views.common import (
    bp,
    commit,
    flash_problems,
    form_key,
    officer_only,
    owned,
    per_page,
    today,
)
from portal import db
from portal.views import page_arg


@bp.route("/groups/<int:group_id>/savings", methods=["GET", "POST"])
@officer_only
def group_savings(group_id: int) -> Any:
    group = owned(Group, group_id)
    form = SavingsForm()
    form.member.choices = [(0, _("Group fund"))] + [(m.id, m.label) for m in group.members]
    if request.method == "GET":
        form.on_date.data = today()
        form.nonce.data = uuid.uuid4().hex
    problems: list[str] = []
    if form.validate_on_submit():
        member = db.session.get(Member, form.member.data) if form.member.data else None
        change = commit(
            lambda: post_savings(
                group,
                member,
                form.kind.data,
                form.amount.data,
                form.on_date.data,
                current_user,
                key=form_key(form),
            ),
            form,
            duplicate=_("This movement has already been recorded."),
        )
        if change.done:
            flash(_("The savings movement has been recorded."), "success")
            return redirect(url_for("microcredit.group_savings", group_id=group.id))
        problems = change.problems
    balances = savings_balances([group.id])
    stmt = (
        select(SavingsTransaction)
        .where(SavingsTransaction.group_id == group.id)
        .order_by(SavingsTransaction.on_date.desc(), SavingsTransaction.id.desc())
    )
    page = db.paginate(stmt, page_arg(), per_page())
    reversed_ids = set(
        db.session.execute(
            select(SavingsTransaction.reversal_of_id).where(
                SavingsTransaction.reversal_of_id.in_([e.id for e in page.items] or [-1])
            )
        ).scalars()
    )
    return render_template(
        "microcredit/savings.html",
        group=group,
        form=form,
        page=page,
        balances=balances,
        reversed_ids=reversed_ids,
        problems=problems,
        reverse_form=ReverseForm(formdata=None),
    )


@bp.route("/savings/<int:entry_id>/reverse", methods=["POST"])
@officer_only
def savings_reverse(entry_id: int) -> Any:
    entry = owned(SavingsTransaction, entry_id)
    form = ReverseForm()
    if not form.validate_on_submit():
        flash(_("Say why the entry is reversed."), "danger")
    else:
        change = commit(lambda: reverse_savings(entry, current_user, form.reason.data or ""))
        if change.done:
            flash(_("The entry has been reversed."), "success")
        flash_problems(change)
    return redirect(url_for("microcredit.group_savings", group_id=entry.group_id))
