"""Seats at an event: registering (signed-in people at once, guests after the
link in their e-mail), cancelling, and the organiser's attendance register and its export."""

from __future__ import annotations

import io
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import audit, db, ratelimit, spreadsheets
from portal.forms import ConfirmForm
from portal.network import services
from portal.network.forms import AttendanceForm, GuestRegistrationForm, UserRegistrationForm
from portal.network.models import CONFIRMED, PENDING, WAITLISTED, Registration
from portal.network.services import NetworkError
from portal.network.views.base import acting_user, bp
from portal.network.views.events import event_or_404, event_page
from portal.permissions import login_required, public, require


@bp.route("/events/<int:event_id>/register", methods=["POST"])
@public
def event_register(event_id: int) -> Any:
    event = event_or_404(event_id)
    ratelimit.enforce("event_register", ratelimit.client_address())
    back = url_for("network.event_detail", event_id=event.id, slug=event.slug)
    if current_user.is_authenticated:
        if not UserRegistrationForm().validate_on_submit():
            abort(400)
        try:
            reg = services.register_user(event, acting_user())
        except NetworkError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(back)
        db.session.commit()
        if reg.status == CONFIRMED:
            flash(_("You are registered: your seat is confirmed."), "success")
        else:
            flash(_("The event is full: you are on the waiting list."), "warning")
        return redirect(back)
    form = GuestRegistrationForm()
    if not form.validate_on_submit():
        return event_page(event, mine=None, manager=False, guest_form=form), 422
    try:
        services.register_guest(
            event, form.name.data, form.email.data, form.organisation_name.data or ""
        )
    except NetworkError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(back)
    db.session.commit()
    flash(
        _(
            "Almost done: we have sent you an e-mail. Open the link in it to confirm your "
            "registration."
        ),
        "info",
    )
    return redirect(back)


@bp.route("/events/<int:event_id>/unregister", methods=["POST"])
@login_required
def event_unregister(event_id: int) -> Any:
    event = event_or_404(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reg = services.user_registration(event, current_user)
    if reg is None:
        abort(404)
    services.cancel_registration(reg, acting_user())
    db.session.commit()
    flash(_("Your registration has been cancelled."), "info")
    return redirect(url_for("network.event_detail", event_id=event.id, slug=event.slug))


@bp.route("/events/registrations/confirm/<token>", methods=["GET", "POST"])
@public
def registration_confirm(token: str) -> Any:
    """The link in the guest's e-mail: a page with a button (mail scanners that open links
    do not confirm anything), then the seat or the waiting list."""
    reg = services.registration_for_token(token, "confirm")
    if reg is None:
        return render_template("network/registration_token.html", reg=None, purpose="confirm"), 404
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            services.confirm_guest(reg)
        except NetworkError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("network.event_detail", event_id=reg.event_id))
        db.session.commit()
        if reg.status == CONFIRMED:
            flash(_("Your registration is confirmed: see you there."), "success")
        elif reg.status == WAITLISTED:
            flash(_("The event is full: you are on the waiting list."), "warning")
        return redirect(url_for("network.event_detail", event_id=reg.event_id, slug=reg.event.slug))
    return render_template("network/registration_token.html", reg=reg, purpose="confirm", form=form)


@bp.route("/events/registrations/cancel/<token>", methods=["GET", "POST"])
@public
def registration_cancel(token: str) -> Any:
    reg = services.registration_for_token(token, "cancel")
    if reg is None:
        return render_template("network/registration_token.html", reg=None, purpose="cancel"), 404
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        services.cancel_registration(reg)
        db.session.commit()
        flash(_("Your registration has been cancelled."), "info")
        return redirect(url_for("network.event_detail", event_id=reg.event_id, slug=reg.event.slug))
    return render_template("network/registration_token.html", reg=reg, purpose="cancel", form=form)


@bp.route("/events/<int:event_id>/attendance", methods=["GET", "POST"])
@login_required
def event_attendance(event_id: int) -> Any:
    event = event_or_404(event_id)
    require(services.can_manage_event(current_user, event))
    form = AttendanceForm()
    if form.validate_on_submit():
        ids = {int(v) for v in request.form.getlist("present") if v.isdigit()}
        present = services.mark_attendance(event, ids, acting_user())
        db.session.commit()
        flash(_("Attendance register saved: %(n)d people present.", n=present), "success")
        return redirect(url_for("network.event_attendance", event_id=event.id))
    registrations = (
        db.session.execute(
            select(Registration)
            .where(Registration.event_id == event.id, Registration.status != PENDING)
            .order_by(Registration.status, Registration.queued_at, Registration.id)
        )
        .scalars()
        .all()
    )
    return render_template(
        "network/event_attendance.html", event=event, registrations=registrations, form=form
    )


@bp.route("/events/<int:event_id>/attendance.csv")
@login_required
def event_attendance_csv(event_id: int) -> Any:
    event = event_or_404(event_id)
    require(services.can_manage_event(current_user, event))
    out = io.StringIO()
    writer = spreadsheets.CsvWriter(out)  # guests typed these names: never a formula
    writer.writerow(["name", "organisation", "email", "status", "present"])
    for reg in db.session.execute(
        select(Registration)
        .where(Registration.event_id == event.id, Registration.status.in_((CONFIRMED, WAITLISTED)))
        .order_by(Registration.name)
    ).scalars():
        present = "" if reg.attended is None else ("yes" if reg.attended else "no")
        writer.writerow([reg.name, reg.organisation_name, reg.email, reg.status, present])
    audit.record("event.attendance_export", event)
    db.session.commit()
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f"attachment; filename=attendance-event-{event.id}.csv",
            "Cache-Control": "no-store, private",
        },
    )
