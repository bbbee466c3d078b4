"""Solidarity groups: the list, the create and edit form, the group's page with its
recognition problems, its state changes, new members and training sessions.
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

from microcredit import collection
from microcredit.forms import (
    ActionForm,
    GroupForm,
    TrainingForm,
)
from microcredit.groups import (
    GROUP_ACTIONS,
    group_transition,
    recognition_problems,
    record_training,
    save_group,
    sessions_attended,
)
from microcredit.models import (
    GROUP_STATES,
    Centre,
    Group,
    Member,
)
from microcredit.policy import policy
from microcredit.savings import savings_balance
from microcredit.views.common import (
    bp,
    centre_choices,
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
from portal import db
from portal.views import page_arg


@bp.route("/groups")
@officer_only
def group_list() -> Any:
    org = current_org()
    status = request.args.get("status", "")
    stmt = select(Group).where(Group.organisation_id == org.id).order_by(Group.name)
    if status in GROUP_STATES:
        stmt = stmt.where(Group.status == status)
    page = db.paginate(stmt, page_arg(), per_page())
    ids = [g.id for g in page.items] or [-1]
    sizes = dict(
        db.session.execute(
            select(Member.group_id, func.count())
            .where(Member.group_id.in_(ids), Member.left_on.is_(None))
            .group_by(Member.group_id)
        ).all()
    )
    centres = dict(
        db.session.execute(
            select(Centre.id, Centre.name).where(Centre.organisation_id == org.id)
        ).all()
    )
    return render_template(
        "microcredit/groups.html", page=page, sizes=sizes, centres=centres, status=status
    )


def _group_form_page(group: Group | None) -> Any:
    org = org_of(group)

    def build(**kwargs: Any) -> GroupForm:
        form = GroupForm(obj=group, **kwargs)
        form.centre.choices = centre_choices(org.id)
        if request.method == "GET" or kwargs:
            chosen = group.centre_id if group else request.args.get("centre", type=int)
            form.centre.data = chosen or 0
        return form

    def save(form: GroupForm) -> Group:
        centre = db.session.get(Centre, form.centre.data) if form.centre.data else None
        return save_group(org, form.name.data or "", centre, current_user, group, today())

    return edit_page(
        group,
        build,
        save,
        template="microcredit/group_form.html",
        done=_("The group has been saved."),
        then=lambda saved: url_for("microcredit.group_detail", group_id=saved.id),
        group=group,
    )


@bp.route("/groups/new", methods=["GET", "POST"])
@officer_only
def group_new() -> Any:
    return _group_form_page(None)


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@officer_only
def group_edit(group_id: int) -> Any:
    return _group_form_page(owned(Group, group_id))


@bp.route("/groups/<int:group_id>")
@officer_only
def group_detail(group_id: int) -> Any:
    group = owned(Group, group_id)
    view = collection.group_view(group, today())
    attended = sessions_attended(m.id for m in group.members)
    problems = recognition_problems(group) if group.status == "training" else []
    return render_template(
        "microcredit/group.html",
        group=group,
        view=view,
        attended=attended,
        required=policy().training_sessions_required,
        problems=problems,
        fund=savings_balance(group.id, None),
        form=ActionForm(formdata=None),
        today=today(),
        rules=policy(),
    )


@bp.route("/groups/<int:group_id>/<action>", methods=["POST"])
@officer_only
def group_action(group_id: int, action: str) -> Any:
    group = owned(Group, group_id)
    if action not in GROUP_ACTIONS:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("Give the date."), "danger")
        return redirect(url_for("microcredit.group_detail", group_id=group.id))
    change = commit(
        lambda: group_transition(
            group, action, form.on_date.data, current_user, form.reason.data or ""
        )
    )
    if change.done:
        flash(_("The group is now: %(state)s.", state=group.status_label), "success")
    flash_problems(change)
    return redirect(url_for("microcredit.group_detail", group_id=group.id))


@bp.route("/groups/<int:group_id>/training/new", methods=["GET", "POST"])
@officer_only
def training_new(group_id: int) -> Any:
    group = owned(Group, group_id)
    form = TrainingForm()
    form.attendees.choices = [(m.id, m.label) for m in group.members]
    if request.method == "GET":
        form.held_on.data = today()
        form.attendees.data = [m.id for m in group.members]
    problems: list[str] = []
    if form.validate_on_submit():
        change = commit(
            lambda: record_training(
                group,
                form.held_on.data,
                form.topic.data or "",
                form.attendees.data or [],
                current_user,
            ),
            form,
        )
        if change.done:
            flash(_("The training session has been recorded."), "success")
            return redirect(url_for("microcredit.group_detail", group_id=group.id))
        problems = change.problems
    return render_template(
        "microcredit/training_form.html", form=form, group=group, problems=problems
    )
