"""Members: the list, the create and edit form (consent, candidate link, role in the
group), the member's page (each view audited) and consent withdrawal or leaving the group.
"""

from __future__ import annotations

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
from flask_login import current_user
from sqlalchemy import func, select

from microcredit import ledger
from microcredit.forms import (
    ActionForm,
    MemberForm,
)
from microcredit.members import MemberData, leave_group, save_member, withdraw_consent
from microcredit.models import (
    ACTIVE,
    APPROVED,
    OVERPAID,
    SUBMITTED,
    Group,
    Loan,
    Member,
)
from microcredit.savings import savings_balance
from microcredit.views.common import (
    bp,
    commit,
    current_org,
    edit_page,
    flash_problems,
    officer_only,
    org_of,
    owned,
    per_page,
    today,
)
from portal import audit, db
from portal.views import page_arg


@bp.route("/members")
@officer_only
def member_list() -> Any:
    org = current_org()
    stmt = select(Member).where(Member.organisation_id == org.id).order_by(Member.number)
    group_id = request.args.get("group", type=int)
    if group_id:
        stmt = stmt.where(Member.group_id == group_id)
    page = db.paginate(stmt, page_arg(), per_page())
    ids = [m.id for m in page.items] or [-1]
    open_loans = dict(
        db.session.execute(
            select(Loan.member_id, func.count())
            .where(
                Loan.member_id.in_(ids), Loan.status.in_((SUBMITTED, APPROVED, ACTIVE, OVERPAID))
            )
            .group_by(Loan.member_id)
        ).all()
    )
    groups = dict(
        db.session.execute(
            select(Group.id, Group.name).where(Group.organisation_id == org.id)
        ).all()
    )
    return render_template(
        "microcredit/members.html", page=page, open_loans=open_loans, groups=groups, today=today()
    )


def _member_form_page(member: Member | None, group: Group | None) -> Any:
    org = org_of(member or group)

    def build(**kwargs: Any) -> MemberForm:
        form = MemberForm(obj=member, **kwargs)
        if request.method == "GET" or kwargs:
            if member is not None:
                form.comune.data = member.municipality.label if member.municipality else ""
                from brokerage.models import Candidate

                candidate = (
                    db.session.get(Candidate, member.candidate_id) if member.candidate_id else None
                )
                form.candidate.data = candidate.pseudonym if candidate else ""
                form.consent.data = member.has_consent(today())
            else:
                form.consent_on.data = today()
                form.joined_on.data = today()
        return form

    in_group = (member.group_id if member else group) is not None

    def save(form: MemberForm) -> Member:
        consent_on = form.consent_on.data or today() if form.consent.data else None
        if member is not None and not form.consent.data:
            consent_on = None  # keeps the consent recorded before
        data = MemberData(
            full_name=form.full_name.data or "",
            consent_on=consent_on,
            consent_purpose=form.consent_purpose.data or "",
            consent_until=form.consent_until.data,
            fiscal_code=form.fiscal_code.data or "",
            phone=form.phone.data or "",
            comune_code=form.comune.data,
            candidate_pseudonym=form.candidate.data or "",
            joined_on=form.joined_on.data,
            group_role=form.group_role.data if in_group else "member",
        )
        return save_member(org, data, current_user, member=member, group=group)

    return edit_page(
        member,
        build,
        save,
        template="microcredit/member_form.html",
        done=_("The member has been saved."),
        then=lambda saved: url_for("microcredit.member_detail", member_id=saved.id),
        duplicate=_("Another member was saved at the same time: save again."),
        member=member,
        group=group,
        in_group=in_group,
    )


@bp.route("/groups/<int:group_id>/members/new", methods=["GET", "POST"])
@officer_only
def group_member_new(group_id: int) -> Any:
    group = owned(Group, group_id)
    return _member_form_page(None, group)


@bp.route("/members/new", methods=["GET", "POST"])
@officer_only
def member_new() -> Any:
    return _member_form_page(None, None)


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
@officer_only
def member_edit(member_id: int) -> Any:
    return _member_form_page(owned(Member, member_id), None)


@bp.route("/members/<int:member_id>")
@officer_only
def member_detail(member_id: int) -> Any:
    member = owned(Member, member_id)
    loans = (
        db.session.execute(select(Loan).where(Loan.member_id == member.id).order_by(Loan.id.desc()))
        .scalars()
        .all()
    )
    ids = [loan.id for loan in loans]
    totals, slots = ledger.totals_for(ids), ledger.slots_for(ids)
    positions = {
        loan.id: ledger.position(totals.get(loan.id, {}), slots.get(loan.id, []), today())
        for loan in loans
    }
    candidate = None
    if member.candidate_id:
        from brokerage.models import Candidate

        candidate = db.session.get(Candidate, member.candidate_id)
    savings = savings_balance(member.group_id, member.id) if member.group_id else None
    audit.record("microcredit.member.view", member, subject=member, reason="officer view")
    db.session.commit()
    return render_template(
        "microcredit/member.html",
        member=member,
        loans=loans,
        positions=positions,
        candidate=candidate,
        savings=savings,
        form=ActionForm(formdata=None),
        today=today(),
    )


@bp.route("/members/<int:member_id>/<action>", methods=["POST"])
@officer_only
def member_action(member_id: int, action: str) -> Any:
    member = owned(Member, member_id)
    form = ActionForm()
    if action not in ("withdraw_consent", "leave_group"):
        abort(404)
    if not form.validate_on_submit():
        flash(_("Give the date."), "danger")
        return redirect(url_for("microcredit.member_detail", member_id=member.id))
    rule = withdraw_consent if action == "withdraw_consent" else leave_group
    change = commit(lambda: rule(member, form.on_date.data, current_user))
    if change.done:
        flash(_("Done."), "success")
    flash_problems(change)
    return redirect(url_for("microcredit.member_detail", member_id=member.id))
