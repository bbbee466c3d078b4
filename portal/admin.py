"""Administration: verify organisations, security policy, audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import accounts, audit, db
from portal.forms import ConfirmForm, TwoFactorPolicyForm
from portal.models import ADMIN, AuditLog, Organisation, User
from portal.permissions import roles_required
from portal.settings import get_setting, set_setting
from portal.views import page_arg

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@roles_required(ADMIN)
def dashboard() -> Any:
    pending = db.paginate(
        select(Organisation)
        .where(Organisation.verified_at.is_(None))
        .order_by(Organisation.created_at),
        page_arg(),
        current_app.config["PER_PAGE"],
    )
    return render_template("admin/dashboard.html", pending=pending, form=ConfirmForm())


@bp.route("/organisations/<int:org_id>", methods=["GET"])
@roles_required(ADMIN)
def organisation(org_id: int) -> Any:
    org = db.session.get(Organisation, org_id) or abort(404)
    problem = accounts.verification_problem(org)
    return render_template("admin/organisation.html", org=org, problem=problem, form=ConfirmForm())


@bp.route("/organisations/<int:org_id>/verify", methods=["POST"])
@roles_required(ADMIN)
def verify(org_id: int) -> Any:
    org = db.session.get(Organisation, org_id) or abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        accounts.verify_organisation(
            org, current_user._get_current_object(), reason=form.reason.data or ""
        )
    except accounts.AccountError as error:
        flash(str(error), "danger")
        return redirect(url_for("admin.organisation", org_id=org.id))
    db.session.commit()
    flash(_("%(name)s is now verified.", name=org.name), "success")
    return redirect(url_for("admin.dashboard"))


@bp.route("/organisations/<int:org_id>/unverify", methods=["POST"])
@roles_required(ADMIN)
def unverify(org_id: int) -> Any:
    org = db.session.get(Organisation, org_id) or abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit() or not (form.reason.data or "").strip():
        flash(_("Give a reason for withdrawing the verification."), "danger")
        return redirect(url_for("admin.organisation", org_id=org.id))
    accounts.unverify_organisation(org, current_user._get_current_object(), form.reason.data)
    db.session.commit()
    flash(_("The verification of %(name)s has been withdrawn.", name=org.name), "info")
    return redirect(url_for("admin.organisation", org_id=org.id))


@bp.route("/security", methods=["GET", "POST"])
@roles_required(ADMIN)
def security() -> Any:
    form = TwoFactorPolicyForm()
    if request.method == "GET":
        form.roles.data = get_setting("require_2fa_roles", [])
    if form.validate_on_submit():
        set_setting("require_2fa_roles", sorted(form.roles.data or []))
        audit.record(
            "policy.require_2fa",
            ("setting", "require_2fa_roles"),
            roles=sorted(form.roles.data or []),
        )
        db.session.commit()
        flash(_("The security policy has been saved."), "success")
        return redirect(url_for("admin.security"))
    return render_template("admin/security.html", form=form)


@bp.route("/users")
@roles_required(ADMIN)
def users() -> Any:
    page = db.paginate(
        select(User).order_by(User.email), page_arg(), current_app.config["PER_PAGE"]
    )
    return render_template("admin/users.html", page=page, form=ConfirmForm())


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(ADMIN)
def set_user_active(user_id: int) -> Any:
    """Deactivate (or reactivate) an account. Deactivation ends every session of the user
    at once, on every server, and their API tokens stop working."""
    user = db.session.get(User, user_id) or abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    admin = current_user._get_current_object()
    active = request.form.get("active") == "1"
    if user.id == admin.id and not active:
        flash(_("You cannot deactivate your own account."), "danger")
        return redirect(url_for("admin.users"))
    if user.active != active:
        user.active = active
        if not active:
            user.end_sessions()
        audit.record(
            "user.activate" if active else "user.deactivate",
            user,
            actor=admin,
            reason=form.reason.data or "",
        )
        db.session.commit()
    if active:
        flash(_("The account of %(email)s is active.", email=user.email), "success")
    else:
        flash(
            _(
                "The account of %(email)s is deactivated; its sessions have ended.",
                email=user.email,
            ),
            "info",
        )
    return redirect(url_for("admin.users"))


@bp.route("/audit")
@roles_required(ADMIN)
def audit_log() -> Any:
    stmt = select(AuditLog).order_by(AuditLog.id.desc())
    action = request.args.get("action", "").strip()
    if action:
        stmt = stmt.where(AuditLog.action == action)
    page = db.paginate(stmt, page_arg(), 50)
    return render_template("admin/audit.html", page=page, action=action)
