"""The members' and editors' desk: "my network" (an organisation's own content,
drafts included, its people's registrations and, for editors, the review queue) and the
administrator's list of content editors who may publish good practices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from portal import db
from portal.accounts import find_user
from portal.forms import ConfirmForm
from portal.models import ADMIN, User
from portal.network import services
from portal.network.forms import EditorForm
from portal.network.models import (
    CONFIRMED,
    PENDING,
    SUBMITTED,
    WAITLISTED,
    Agreement,
    ContentEditor,
    Event,
    GoodPractice,
    Registration,
)
from portal.network.views.base import acting_user, bp
from portal.permissions import login_required, roles_required


@bp.route("/my/network")
@login_required
def my_network() -> Any:
    """The organisation's content (drafts included) and, for editors, the review queue."""
    orgs = services.member_orgs(current_user)
    org_ids = [o.id for o in current_user.organisations()]
    practices = _own(GoodPractice, GoodPractice.updated_at, org_ids)
    events = _own(Event, Event.starts_at, org_ids)
    agreements = _own(Agreement, Agreement.updated_at, org_ids)
    registrations = (
        db.session.execute(
            select(Registration)
            .where(
                or_(
                    Registration.user_id == current_user.id,
                    Registration.email == current_user.email.lower(),
                ),
                Registration.status.in_((CONFIRMED, WAITLISTED, PENDING)),
            )
            .order_by(Registration.id.desc())
            .limit(50)
        )
        .scalars()
        .all()
    )
    queue = []
    if services.can_publish(current_user):
        queue = (
            db.session.execute(
                select(GoodPractice)
                .where(GoodPractice.status == SUBMITTED)
                .order_by(GoodPractice.submitted_at)
                .limit(100)
            )
            .scalars()
            .all()
        )
    counts = services.seat_counts([e.id for e in events])
    return render_template(
        "network/my_network.html",
        orgs=orgs,
        practices=practices,
        events=events,
        agreements=agreements,
        registrations=registrations,
        queue=queue,
        counts=counts,
        can_publish=services.can_publish(current_user),
        today=services.today(),
    )


def _own(model: Any, newest: Any, org_ids: list[int]) -> Sequence[Any]:
    """The organisations' own records of ``model`` (drafts included), the 100 newest."""
    if not org_ids:
        return []
    stmt = select(model).where(model.organisation_id.in_(org_ids))
    return db.session.execute(stmt.order_by(newest.desc()).limit(100)).scalars().all()


@bp.route("/admin/content-editors", methods=["GET", "POST"])
@roles_required(ADMIN)
def content_editors() -> Any:
    form = EditorForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if user is None:
            form.email.errors = [*form.email.errors, _("No user has this e-mail address.")]
        else:
            services.grant_editor(user, acting_user())
            db.session.commit()
            flash(_("%(name)s can now publish good practices.", name=user.display_name), "success")
            return redirect(url_for("network.content_editors"))
    editors = (
        db.session.execute(select(ContentEditor).order_by(ContentEditor.granted_at)).scalars().all()
    )
    return render_template(
        "network/content_editors.html", form=form, editors=editors, confirm_form=ConfirmForm()
    )


@bp.route("/admin/content-editors/<int:user_id>/revoke", methods=["POST"])
@roles_required(ADMIN)
def content_editor_revoke(user_id: int) -> Any:
    user = db.session.get(User, user_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.revoke_editor(user, acting_user())
    db.session.commit()
    flash(_("%(name)s is no longer an editor.", name=user.display_name), "info")
    return redirect(url_for("network.content_editors"))
