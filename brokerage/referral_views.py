"""Apply through the network (public side) and the desk's inbox of requests (brokers)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from brokerage import access, referrals
from brokerage.blueprint import bp, today
from brokerage.forms import ReferralRequestForm, ServiceDeskForm
from brokerage.models import REFERRAL_STATES, ReferralRequest, ServiceDesk
from employers.models import Vacancy
from portal import audit, db
from portal.forms import ConfirmForm
from portal.models import BROKER
from portal.permissions import public, roles_required
from portal.views import page_arg


def public_vacancy(vacancy_id: int) -> Vacancy:
    vacancy = db.session.get(Vacancy, vacancy_id)
    if vacancy is None or not vacancy.is_public(today()):
        abort(404)
    return vacancy


@bp.route("/vacancies/<int:vacancy_id>/apply", methods=["GET", "POST"])
@public
def vacancy_apply(vacancy_id: int) -> Any:
    """ "Apply through the network": the desks that take candidacies for this vacancy, with
    address, hours and telephone, and a short request the chosen desk receives."""
    vacancy = public_vacancy(vacancy_id)
    desks = referrals.desks_for(vacancy)
    form = ReferralRequestForm()
    form.desk.choices = [(d.organisation.id, d.organisation.name) for d in desks]
    if len(desks) == 1 and request.method == "GET":
        form.desk.data = desks[0].organisation.id
    if desks and form.validate_on_submit():
        desk = next(d for d in desks if d.organisation.id == form.desk.data)
        try:
            referrals.create_request(
                vacancy,
                desk,
                form.full_name.data,
                form.email.data,
                form.phone.data or "",
                str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
            )
        except referrals.ReferralError as error:
            for name, message in error.fields.items():
                getattr(form, name).errors = [message]
            return render_template(
                "brokerage/vacancy_apply.html",
                vacancy=vacancy,
                desks=desks,
                contact=referrals.employer_contact(vacancy),
                form=form,
            )
        return redirect(
            url_for(
                "brokerage.vacancy_apply_sent", vacancy_id=vacancy.id, desk=desk.organisation.id
            )
        )
    return render_template(
        "brokerage/vacancy_apply.html",
        vacancy=vacancy,
        desks=desks,
        contact=referrals.employer_contact(vacancy),
        form=form,
    )


@bp.route("/vacancies/<int:vacancy_id>/apply/sent")
@public
def vacancy_apply_sent(vacancy_id: int) -> Any:
    vacancy = public_vacancy(vacancy_id)
    desks = {d.organisation.id: d for d in referrals.desks_for(vacancy)}
    desk = desks.get(request.args.get("desk", type=int) or 0)
    return render_template("brokerage/vacancy_apply_sent.html", vacancy=vacancy, desk=desk)


@bp.route("/brokerage/referrals")
@roles_required(BROKER)
def referral_inbox() -> Any:
    services = access.broker_service_ids(current_user)
    status = request.args.get("status") or ""
    if status not in REFERRAL_STATES:
        status = ""
    page = db.paginate(
        referrals.inbox_query(services, status or None),
        page_arg(),
        current_app.config["PER_PAGE"],
    )
    vacancies = {
        v.id: v
        for v in db.session.query(Vacancy).filter(
            Vacancy.id.in_({r.vacancy_id for r in page.items})
        )
    }
    return render_template(
        "brokerage/referral_inbox.html",
        page=page,
        vacancies=vacancies,
        states=REFERRAL_STATES,
        status=status,
        form=ConfirmForm(),
        has_desk=any(
            o.service_type in referrals.CANDIDACY_SERVICE_TYPES
            for o in current_user.organisations(BROKER)
        ),
    )


@bp.route("/brokerage/referrals/<int:referral_id>/status", methods=["POST"])
@roles_required(BROKER)
def referral_status(referral_id: int) -> Any:
    referral = db.session.get(ReferralRequest, referral_id)
    if referral is None or referral.service_id not in access.broker_service_ids(current_user):
        abort(404)
    form = ConfirmForm()
    status = request.form.get("status", "")
    if not form.validate_on_submit() or status not in REFERRAL_STATES:
        abort(400)
    referrals.set_status(referral, status, current_user)
    flash(_("Request marked “%(status)s”.", status=referral.status_label), "success")
    return redirect(url_for("brokerage.referral_inbox", _anchor=f"referral-{referral.id}"))


@bp.route("/brokerage/desk", methods=["GET", "POST"])
@roles_required(BROKER)
def desk_edit() -> Any:
    """The public desk of the broker's SIL or job centre: where people apply from vacancies."""
    services = [
        o
        for o in current_user.organisations(BROKER)
        if o.service_type in referrals.CANDIDACY_SERVICE_TYPES
    ]
    if not services:
        abort(404)
    service = services[0]
    desk = db.session.get(ServiceDesk, service.id)
    form = ServiceDeskForm(obj=desk)
    if desk is None and request.method == "GET":
        form.accepts_candidacies.data = True
        form.address.data = service.address
        form.phone.data = service.phone
        form.email.data = service.email
    if form.validate_on_submit():
        if desk is None:
            desk = ServiceDesk(organisation_id=service.id)
            db.session.add(desk)
        form.populate_obj(desk)
        desk.email = desk.email or ""
        audit.record("service_desk.update", service, actor=current_user)
        db.session.commit()
        flash(_("The desk's details are saved."), "success")
        return redirect(url_for("brokerage.referral_inbox"))
    return render_template("brokerage/desk_form.html", form=form, service=service)
