"""Network events: the public calendar and event page, creating, editing (with
the waiting list moving up when seats are added), publishing and cancelling. The sitemap
rows of public events are here too."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import audit, concurrency, db, municipalities
from portal.db import utcnow
from portal.forms import ConfirmForm
from portal.models import Organisation
from portal.network import services
from portal.network.forms import (
    TWICE,
    EventForm,
    GuestRegistrationForm,
    UserRegistrationForm,
    clock_change,
    to_local,
    to_utc,
)
from portal.network.models import CANCELLED, DRAFT, EVENT_KINDS, PUBLISHED, Event, Registration
from portal.network.queries import EventFilters, public_events
from portal.network.services import MEMBER_ROLES, NetworkError
from portal.network.views.base import acting_user, bp, org_choices, per_page
from portal.permissions import login_required, public, require, roles_required
from portal.views import page_arg


@bp.route("/events")
@public
def event_list() -> Any:
    filters = EventFilters.from_args(request.args)
    page = db.paginate(public_events(filters, utcnow()), page_arg(), per_page())
    return render_template(
        "network/event_list.html",
        page=page,
        filters=filters,
        kinds=EVENT_KINDS,
        regions=municipalities.regions(),
        counts=services.seat_counts([e.id for e in page.items]),
    )


def event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not services.can_view_event(current_user, event):
        abort(404)
    return event


@bp.route("/events/<int:event_id>")
@bp.route("/events/<int:event_id>-<slug>")
@public
def event_detail(event_id: int, slug: str = "") -> Any:
    event = event_or_404(event_id)
    if event.slug and slug != event.slug:
        return redirect(url_for("network.event_detail", event_id=event.id, slug=event.slug))
    return event_page(
        event,
        mine=services.user_registration(event, current_user),
        manager=services.can_manage_event(current_user, event),
        guest_form=GuestRegistrationForm(),
    )


def event_page(
    event: Event, *, mine: Registration | None, manager: bool, guest_form: GuestRegistrationForm
) -> str:
    """The event page: seats, the visitor's own registration, the organiser's actions and
    the registration forms (a guest's refused form is shown again with its errors)."""
    return render_template(
        "network/event_detail.html",
        event=event,
        counts=services.seat_counts([event.id])[event.id],
        mine=mine,
        manager=manager,
        open_now=event.accepts_registrations(utcnow()),
        guest_form=guest_form,
        user_form=UserRegistrationForm(),
        confirm_form=ConfirmForm(),
        share_url=url_for(
            "network.event_detail", event_id=event.id, slug=event.slug, _external=True
        ),
    )


def _fill_event(event: Event, form: EventForm) -> None:
    event.organisation_id = form.organisation_id.data
    event.title = form.title.data.strip()
    event.kind = form.kind.data
    event.description = (form.description.data or "").strip()
    event.starts_at = to_utc(form.starts_at.data, form.fold("starts_at"))
    event.ends_at = to_utc(form.ends_at.data, form.fold("ends_at"))
    event.mode = form.mode.data
    event.venue = (form.venue.data or "").strip()
    event.address = (form.address.data or "").strip()
    event.comune_code = form.comune.data or None
    event.online_url = (form.online_url.data or "").strip()
    event.capacity = form.capacity.data
    event.registration_open = bool(form.registration_open.data)
    services.set_slug(event)


@bp.route("/events/new", methods=["GET", "POST"])
@roles_required(*MEMBER_ROLES)
def event_new() -> Any:
    orgs = services.member_orgs(current_user)
    form = EventForm()
    org_choices(form, orgs)
    if not orgs:
        flash(_("Your organisation must be verified before it can publish content."), "warning")
    elif form.validate_on_submit():
        require(form.organisation_id.data in {o.id for o in orgs})
        if form.starts_at.data and to_utc(form.starts_at.data, form.fold("starts_at")) < utcnow():
            form.starts_at.errors = [
                *form.starts_at.errors,
                _("The event cannot start in the past."),
            ]
        else:
            event = Event(created_by_id=current_user.id, status=DRAFT)
            _fill_event(event, form)
            db.session.add(event)
            db.session.flush()
            audit.record("event.create", event)
            db.session.commit()
            flash(_("The event is saved as a draft: publish it when it is ready."), "success")
            return redirect(url_for("network.event_detail", event_id=event.id, slug=event.slug))
    return render_template("network/event_form.html", form=form, event=None, orgs=orgs)


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@login_required
def event_edit(event_id: int) -> Any:
    event = event_or_404(event_id)
    require(services.can_manage_event(current_user, event))
    orgs = services.member_orgs(current_user)

    def build(**kwargs: Any) -> EventForm:
        form = EventForm(obj=event, **kwargs)
        org_choices(form, orgs if event.organisation in orgs else [event.organisation, *orgs])
        if request.method == "GET" or kwargs:
            form.starts_at.data = to_local(event.starts_at)
            form.ends_at.data = to_local(event.ends_at)
            for name in ("starts_at", "ends_at"):
                if clock_change(form[name].data) == TWICE:
                    form[f"{name}_clock"].data = "winter" if form[name].data.fold else "summer"
            form.comune.data = event.municipality.label if event.municipality else ""
        return form

    form = concurrency.edit_form(build, event)
    if concurrency.may_save(form, build, event):
        require(
            form.organisation_id.data == event.organisation_id
            or form.organisation_id.data in {o.id for o in orgs}
        )
        locked = services.lock_event(event.id)
        _fill_event(locked, form)
        locked.sequence += 1
        promoted = services.fill_seats(locked)
        audit.record("event.update", locked)
        db.session.commit()
        flash(_("The event has been saved."), "success")
        if promoted:
            flash(_("%(n)d people moved from the waiting list to a seat.", n=len(promoted)), "info")
        return redirect(url_for("network.event_detail", event_id=event.id, slug=locked.slug))
    return render_template(
        "network/event_form.html", form=form, event=event, orgs=orgs
    ), concurrency.status()


@bp.route("/events/<int:event_id>/publish", methods=["POST"])
@login_required
def event_publish(event_id: int) -> Any:
    event = event_or_404(event_id)
    require(services.can_manage_event(current_user, event))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.publish_event(event, acting_user())
    except NetworkError as error:
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(_("The event is published."), "success")
    return redirect(url_for("network.event_detail", event_id=event.id, slug=event.slug))


@bp.route("/events/<int:event_id>/cancel", methods=["POST"])
@login_required
def event_cancel(event_id: int) -> Any:
    event = event_or_404(event_id)
    require(services.can_manage_event(current_user, event))
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    told = services.cancel_event(event, acting_user(), form.reason.data or "")
    db.session.commit()
    flash(_("The event is cancelled; %(n)d registered people have been told.", n=told), "info")
    return redirect(url_for("network.event_detail", event_id=event.id, slug=event.slug))


def sitemap_events() -> Any:
    """Public events (as ``Event.is_public``): published or cancelled, of verified bodies."""
    return (
        select(Event.id, Event.updated_at, Event.slug)
        .join(Organisation, Organisation.id == Event.organisation_id)
        .where(Event.status.in_((PUBLISHED, CANCELLED)), Organisation.verified_at.is_not(None))
    )


def sitemap_event_url(row: Any) -> str:
    return url_for("network.event_detail", event_id=row[0], slug=row[2] or None, _external=True)
