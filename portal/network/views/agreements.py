"""Agreements between the bodies of the network (protocols, conventions): the
public register, the agreement page, recording and editing with the parties involved, and
the renewal notice that portal.network.services reminds of."""

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
from portal.network.forms import AgreementForm, DocumentForm
from portal.network.models import AGREEMENT_KINDS, Agreement
from portal.network.queries import AgreementFilters, public_agreements
from portal.network.services import MEMBER_ROLES
from portal.network.views.base import bp, org_choices, per_page
from portal.permissions import login_required, public, require, roles_required
from portal.views import page_arg


@bp.route("/agreements")
@public
def agreement_list() -> Any:
    filters = AgreementFilters.from_args(request.args)
    page = db.paginate(public_agreements(filters), page_arg(), per_page())
    return render_template(
        "network/agreement_list.html",
        page=page,
        filters=filters,
        kinds=AGREEMENT_KINDS,
        today=services.today(),
    )


def agreement_or_404(agreement_id: int) -> Agreement:
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None or not services.can_view_agreement(current_user, agreement):
        abort(404)
    return agreement


@bp.route("/agreements/<int:agreement_id>")
@public
def agreement_detail(agreement_id: int) -> Any:
    agreement = agreement_or_404(agreement_id)
    return render_template(
        "network/agreement_detail.html",
        agreement=agreement,
        manager=services.can_manage_agreement(current_user, agreement),
        document_form=DocumentForm(),
        confirm_form=ConfirmForm(),
        today=services.today(),
    )


def _party_choices(form: AgreementForm) -> None:
    form.party_ids.choices = [
        (o.id, o.name)
        for o in db.session.execute(
            select(Organisation)
            .where(Organisation.verified_at.is_not(None), Organisation.kind != "company")
            .order_by(Organisation.name)
            .limit(2000)
        ).scalars()
    ]


def _fill_agreement(agreement: Agreement, form: AgreementForm) -> None:
    agreement.organisation_id = form.organisation_id.data
    agreement.title = form.title.data.strip()
    agreement.kind = form.kind.data
    agreement.description = (form.description.data or "").strip()
    agreement.signed_on = form.signed_on.data
    agreement.starts_on = form.starts_on.data
    if agreement.ends_on != form.ends_on.data:
        agreement.renewal_reminded_at = None  # renewed: remind again before the new end
    agreement.ends_on = form.ends_on.data
    agreement.renewal_notice_days = form.renewal_notice_days.data
    agreement.status = form.status.data
    db.session.flush()
    valid = {v for v, _label in form.party_ids.choices}
    services.set_parties(
        agreement,
        [i for i in form.party_ids.data or [] if i in valid],
        (form.other_parties.data or "").splitlines(),
    )


@bp.route("/agreements/new", methods=["GET", "POST"])
@roles_required(*MEMBER_ROLES)
def agreement_new() -> Any:
    orgs = services.member_orgs(current_user)
    form = AgreementForm()
    org_choices(form, orgs)
    _party_choices(form)
    if not orgs:
        flash(_("Your organisation must be verified before it can publish content."), "warning")
    elif form.validate_on_submit():
        require(form.organisation_id.data in {o.id for o in orgs})
        agreement = Agreement(created_by_id=current_user.id, title="", kind=form.kind.data)
        db.session.add(agreement)
        _fill_agreement(agreement, form)
        audit.record("agreement.create", agreement)
        db.session.commit()
        flash(_("The agreement has been recorded."), "success")
        return redirect(url_for("network.agreement_detail", agreement_id=agreement.id))
    return render_template("network/agreement_form.html", form=form, agreement=None)


@bp.route("/agreements/<int:agreement_id>/edit", methods=["GET", "POST"])
@login_required
def agreement_edit(agreement_id: int) -> Any:
    agreement = agreement_or_404(agreement_id)
    require(services.can_manage_agreement(current_user, agreement))
    orgs = services.member_orgs(current_user)

    def build(**kwargs: Any) -> AgreementForm:
        form = AgreementForm(obj=agreement, **kwargs)
        parties = orgs if agreement.organisation in orgs else [agreement.organisation, *orgs]
        org_choices(form, parties)
        _party_choices(form)
        if request.method == "GET" or kwargs:
            form.party_ids.data = [
                p.organisation_id
                for p in agreement.parties
                if p.organisation_id and p.organisation_id != agreement.organisation_id
            ]
            form.other_parties.data = "\n".join(
                p.name for p in agreement.parties if p.organisation_id is None
            )
        return form

    form = concurrency.edit_form(build, agreement)
    if concurrency.may_save(form, build, agreement):
        require(
            form.organisation_id.data == agreement.organisation_id
            or form.organisation_id.data in {o.id for o in orgs}
        )
        _fill_agreement(agreement, form)
        audit.record("agreement.update", agreement)
        db.session.commit()
        flash(_("The agreement has been saved."), "success")
        return redirect(url_for("network.agreement_detail", agreement_id=agreement.id))
    return render_template(
        "network/agreement_form.html", form=form, agreement=agreement
    ), concurrency.status()
