"""Good practices: the public list and page, drafting and editing by member
organisations, and the editorial path (submit, withdraw, review and publish) that
portal.network.services rules. The sitemap rows of published practices are here too."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import audit, concurrency, db
from portal.forms import ConfirmForm
from portal.models import Organisation
from portal.network import services
from portal.network.forms import DocumentForm, PracticeForm, ReviewForm
from portal.network.models import PUBLISHED, SUBMITTED, TARGET_GROUPS, THEMES, GoodPractice
from portal.network.queries import PracticeFilters, practice_facets, public_practices
from portal.network.services import MEMBER_ROLES, NetworkError
from portal.network.views.base import acting_user, bp, org_choices, per_page, region_choices
from portal.permissions import login_required, public, require, roles_required
from portal.views import page_arg


@bp.route("/good-practices")
@public
def practice_list() -> Any:
    filters = PracticeFilters.from_args(request.args)
    stmt = public_practices(filters)
    page = db.paginate(stmt, page_arg(), per_page())
    return render_template(
        "network/practice_list.html",
        page=page,
        filters=filters,
        facets=practice_facets(stmt),
        themes=THEMES,
        targets=TARGET_GROUPS,
    )


def practice_or_404(practice_id: int) -> GoodPractice:
    practice = db.session.get(GoodPractice, practice_id)
    if practice is None or not services.can_view_practice(current_user, practice):
        abort(404)
    return practice


@bp.route("/good-practices/<int:practice_id>")
@bp.route("/good-practices/<int:practice_id>-<slug>")
@public
def practice_detail(practice_id: int, slug: str = "") -> Any:
    practice = practice_or_404(practice_id)
    if practice.slug and slug != practice.slug:
        return redirect(
            url_for("network.practice_detail", practice_id=practice.id, slug=practice.slug)
        )
    return render_template(
        "network/practice_detail.html",
        practice=practice,
        themes=THEMES,
        targets=TARGET_GROUPS,
        can_edit=services.can_edit_practice(current_user, practice),
        is_member=services.is_member(current_user, practice.organisation),
        can_review=practice.status == SUBMITTED and services.can_publish(current_user),
        review_form=ReviewForm(),
        confirm_form=ConfirmForm(),
        share_url=url_for(
            "network.practice_detail",
            practice_id=practice.id,
            slug=practice.slug,
            _external=True,
        ),
    )


def _fill_practice(practice: GoodPractice, form: PracticeForm) -> None:
    practice.organisation_id = form.organisation_id.data
    practice.title = form.title.data.strip()
    practice.summary = (form.summary.data or "").strip()
    practice.body = (form.body.data or "").strip()
    practice.region = form.region.data or ""
    practice.province_code = (form.province_code.data or "").upper()
    practice.themes = form.themes.data or []
    practice.target_groups = form.target_groups.data or []
    services.set_slug(practice)


@bp.route("/good-practices/new", methods=["GET", "POST"])
@roles_required(*MEMBER_ROLES)
def practice_new() -> Any:
    orgs = services.member_orgs(current_user)
    form = PracticeForm()
    org_choices(form, orgs)
    form.region.choices = region_choices()
    if not orgs:
        flash(_("Your organisation must be verified before it can publish content."), "warning")
    elif form.validate_on_submit():
        org = db.session.get(Organisation, form.organisation_id.data)
        practice = services.new_practice(org, acting_user())
        _fill_practice(practice, form)
        db.session.flush()
        audit.record("good_practice.create", practice)
        db.session.commit()
        flash(
            _("The draft has been saved. Attach documents, then submit it for review."), "success"
        )
        return redirect(url_for("network.practice_edit", practice_id=practice.id))
    return render_template("network/practice_form.html", form=form, practice=None, orgs=orgs)


@bp.route("/good-practices/<int:practice_id>/edit", methods=["GET", "POST"])
@login_required
def practice_edit(practice_id: int) -> Any:
    practice = practice_or_404(practice_id)
    require(services.can_edit_practice(current_user, practice))
    orgs = services.member_orgs(current_user)

    def build(**kwargs: Any) -> PracticeForm:
        form = PracticeForm(obj=practice, **kwargs)
        org_choices(form, orgs or [practice.organisation])
        form.region.choices = region_choices()
        if request.method == "GET" or kwargs:
            form.themes.data = practice.themes
            form.target_groups.data = practice.target_groups
        return form

    form = concurrency.edit_form(build, practice)
    if concurrency.may_save(form, build, practice):
        require(form.organisation_id.data in {o.id for o in orgs})
        _fill_practice(practice, form)
        audit.record("good_practice.update", practice)
        db.session.commit()
        flash(_("The draft has been saved."), "success")
        return redirect(url_for("network.practice_edit", practice_id=practice.id))
    return render_template(
        "network/practice_form.html",
        form=form,
        practice=practice,
        orgs=orgs,
        document_form=DocumentForm(),
        confirm_form=ConfirmForm(),
    ), concurrency.status()


@bp.route("/good-practices/<int:practice_id>/submit", methods=["POST"])
@login_required
def practice_submit(practice_id: int) -> Any:
    practice = practice_or_404(practice_id)
    require(services.is_member(current_user, practice.organisation))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.submit_practice(practice, acting_user())
    except NetworkError as error:
        flash(str(error), "danger")
        return redirect(url_for("network.practice_edit", practice_id=practice.id))
    db.session.commit()
    flash(_("Submitted: an editor will review it before it is published."), "success")
    return redirect(url_for("network.practice_detail", practice_id=practice.id, slug=practice.slug))


@bp.route("/good-practices/<int:practice_id>/withdraw", methods=["POST"])
@login_required
def practice_withdraw(practice_id: int) -> Any:
    practice = practice_or_404(practice_id)
    require(services.is_member(current_user, practice.organisation))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.withdraw_practice(practice, acting_user())
    except NetworkError as error:
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(_("The practice is a draft again: only your organisation sees it."), "info")
    return redirect(url_for("network.practice_detail", practice_id=practice.id, slug=practice.slug))


@bp.route("/good-practices/<int:practice_id>/review", methods=["POST"])
@login_required
def practice_review(practice_id: int) -> Any:
    practice = practice_or_404(practice_id)
    require(services.can_publish(current_user))
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if form.publish.data:
            services.publish_practice(practice, acting_user())
            message = _("The good practice is published.")
        else:
            services.return_practice(practice, acting_user(), form.comment.data or "")
            message = _("The practice has been sent back to its authors.")
    except NetworkError as error:
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("network.practice_detail", practice_id=practice.id, slug=practice.slug))


def sitemap_practices() -> Any:
    """Published good practices of verified organisations (as ``GoodPractice.is_public``)."""
    return (
        select(GoodPractice.id, GoodPractice.updated_at, GoodPractice.slug)
        .join(Organisation, Organisation.id == GoodPractice.organisation_id)
        .where(GoodPractice.status == PUBLISHED, Organisation.verified_at.is_not(None))
    )


def sitemap_practice_url(row: Any) -> str:
    return url_for(
        "network.practice_detail", practice_id=row[0], slug=row[2] or None, _external=True
    )
