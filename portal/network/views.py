"""Pages of network life: good practices, events, agreements, indicators, open data."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from portal import audit, concurrency, db, municipalities, ratelimit, spreadsheets
from portal.db import utcnow
from portal.forms import ConfirmForm
from portal.models import ADMIN, Organisation, User
from portal.network import documents, ics, indicators, open_data, services
from portal.network.forms import (
    TWICE,
    AgreementForm,
    AttendanceForm,
    DocumentForm,
    EditorForm,
    EventForm,
    GuestRegistrationForm,
    PracticeForm,
    ReviewForm,
    UserRegistrationForm,
    clock_change,
    to_local,
    to_utc,
)
from portal.network.models import (
    AGREEMENT_KINDS,
    CANCELLED,
    CONFIRMED,
    DRAFT,
    EVENT_KINDS,
    PENDING,
    PUBLISHED,
    SUBMITTED,
    TARGET_GROUPS,
    THEMES,
    WAITLISTED,
    Agreement,
    ContentEditor,
    Document,
    Event,
    GoodPractice,
    Registration,
)
from portal.network.queries import (
    AgreementFilters,
    EventFilters,
    PracticeFilters,
    practice_facets,
    public_agreements,
    public_events,
    public_practices,
)
from portal.network.services import MEMBER_ROLES, NetworkError
from portal.permissions import login_required, public, require, roles_required
from portal.uploads import accepts_upload
from portal.views import page_arg

bp = Blueprint("network", __name__)


def per_page() -> int:
    return current_app.config["PER_PAGE"]


def _user() -> User:
    return current_user._get_current_object()


def _org_choices(form: Any, orgs: list[Organisation]) -> None:
    form.organisation_id.choices = [(o.id, o.name) for o in orgs]


def _region_choices() -> list[tuple[str, str]]:
    return [("", _("Choose a region"))] + [(r, r) for r in municipalities.regions()]


# --- Good practices -------------------------------------------------------------------------


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


def _practice_or_404(practice_id: int) -> GoodPractice:
    practice = db.session.get(GoodPractice, practice_id)
    if practice is None or not services.can_view_practice(current_user, practice):
        abort(404)
    return practice


@bp.route("/good-practices/<int:practice_id>")
@bp.route("/good-practices/<int:practice_id>-<slug>")
@public
def practice_detail(practice_id: int, slug: str = "") -> Any:
    practice = _practice_or_404(practice_id)
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
    _org_choices(form, orgs)
    form.region.choices = _region_choices()
    if not orgs:
        flash(_("Your organisation must be verified before it can publish content."), "warning")
    elif form.validate_on_submit():
        org = db.session.get(Organisation, form.organisation_id.data)
        practice = services.new_practice(org, _user())
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
    practice = _practice_or_404(practice_id)
    require(services.can_edit_practice(current_user, practice))
    orgs = services.member_orgs(current_user)

    def build(**kwargs: Any) -> PracticeForm:
        form = PracticeForm(obj=practice, **kwargs)
        _org_choices(form, orgs or [practice.organisation])
        form.region.choices = _region_choices()
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


def _upload(owner_field: str, owner: Any, redirect_to: str) -> Any:
    form = DocumentForm()
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a PDF file to attach."), "danger")
        return redirect(redirect_to)
    try:
        data = documents.read_limited(upload.stream)
        document = documents.store(data, upload.filename, form.title.data or "", _user())
    except documents.DocumentError as error:
        flash(str(error), "danger")
        return redirect(redirect_to)
    setattr(document, owner_field, owner.id)
    db.session.add(document)
    db.session.flush()
    audit.record("document.upload", document, sha256=document.sha256, size=document.size)
    db.session.commit()
    flash(_("The document has been attached."), "success")
    return redirect(redirect_to)


def _send_document(document: Document) -> Any:
    path = documents.path_of(document)
    if path is None:
        abort(404)
    response = send_file(
        path,
        mimetype="application/pdf",
        as_attachment=False,
        download_name=document.filename,
        max_age=3600,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


@bp.route("/good-practices/<int:practice_id>/documents", methods=["POST"])
@login_required
@accepts_upload(documents.MAX_BYTES)
def practice_document_upload(practice_id: int) -> Any:
    practice = _practice_or_404(practice_id)
    require(services.can_edit_practice(current_user, practice))
    return _upload(
        "practice_id", practice, url_for("network.practice_edit", practice_id=practice.id)
    )


def _document_of(document_id: int, **owner: int) -> Document:
    """The document if it belongs to the given practice or agreement; 404 otherwise."""
    document = db.session.get(Document, document_id)
    ((field, owner_id),) = owner.items()
    if document is None or getattr(document, field) != owner_id:
        abort(404)
    return document


def _delete_document(document: Document, back: str) -> Any:
    db.session.delete(document)
    audit.record("document.delete", document)
    db.session.commit()
    documents.delete_file(document)
    flash(_("The document has been removed."), "info")
    return redirect(back)


@bp.route("/good-practices/<int:practice_id>/documents/<int:document_id>")
@public
def practice_document(practice_id: int, document_id: int) -> Any:
    practice = _practice_or_404(practice_id)
    return _send_document(_document_of(document_id, practice_id=practice.id))


@bp.route("/good-practices/<int:practice_id>/documents/<int:document_id>/delete", methods=["POST"])
@login_required
def practice_document_delete(practice_id: int, document_id: int) -> Any:
    practice = _practice_or_404(practice_id)
    require(services.can_edit_practice(current_user, practice))
    return _delete_document(
        _document_of(document_id, practice_id=practice.id),
        url_for("network.practice_edit", practice_id=practice.id),
    )


@bp.route("/good-practices/<int:practice_id>/submit", methods=["POST"])
@login_required
def practice_submit(practice_id: int) -> Any:
    practice = _practice_or_404(practice_id)
    require(services.is_member(current_user, practice.organisation))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.submit_practice(practice, _user())
    except NetworkError as error:
        flash(str(error), "danger")
        return redirect(url_for("network.practice_edit", practice_id=practice.id))
    db.session.commit()
    flash(_("Submitted: an editor will review it before it is published."), "success")
    return redirect(url_for("network.practice_detail", practice_id=practice.id, slug=practice.slug))


@bp.route("/good-practices/<int:practice_id>/withdraw", methods=["POST"])
@login_required
def practice_withdraw(practice_id: int) -> Any:
    practice = _practice_or_404(practice_id)
    require(services.is_member(current_user, practice.organisation))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.withdraw_practice(practice, _user())
    except NetworkError as error:
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(_("The practice is a draft again: only your organisation sees it."), "info")
    return redirect(url_for("network.practice_detail", practice_id=practice.id, slug=practice.slug))


@bp.route("/good-practices/<int:practice_id>/review", methods=["POST"])
@login_required
def practice_review(practice_id: int) -> Any:
    practice = _practice_or_404(practice_id)
    require(services.can_publish(current_user))
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if form.publish.data:
            services.publish_practice(practice, _user())
            message = _("The good practice is published.")
        else:
            services.return_practice(practice, _user(), form.comment.data or "")
            message = _("The practice has been sent back to its authors.")
    except NetworkError as error:
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("network.practice_detail", practice_id=practice.id, slug=practice.slug))


@bp.route("/my/network")
@login_required
def my_network() -> Any:
    """The organisation's content (drafts included) and, for editors, the review queue."""
    orgs = services.member_orgs(current_user)
    org_ids = [o.id for o in current_user.organisations()]
    practices = (
        db.session.execute(
            select(GoodPractice)
            .where(GoodPractice.organisation_id.in_(org_ids))
            .order_by(GoodPractice.updated_at.desc())
            .limit(100)
        )
        .scalars()
        .all()
        if org_ids
        else []
    )
    events = (
        db.session.execute(
            select(Event)
            .where(Event.organisation_id.in_(org_ids))
            .order_by(Event.starts_at.desc())
            .limit(100)
        )
        .scalars()
        .all()
        if org_ids
        else []
    )
    agreements = (
        db.session.execute(
            select(Agreement)
            .where(Agreement.organisation_id.in_(org_ids))
            .order_by(Agreement.updated_at.desc())
            .limit(100)
        )
        .scalars()
        .all()
        if org_ids
        else []
    )
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


@bp.route("/admin/content-editors", methods=["GET", "POST"])
@roles_required(ADMIN)
def content_editors() -> Any:
    form = EditorForm()
    if form.validate_on_submit():
        from portal.accounts import find_user

        user = find_user(form.email.data)
        if user is None:
            form.email.errors = [*form.email.errors, _("No user has this e-mail address.")]
        else:
            services.grant_editor(user, _user())
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
    services.revoke_editor(user, _user())
    db.session.commit()
    flash(_("%(name)s is no longer an editor.", name=user.display_name), "info")
    return redirect(url_for("network.content_editors"))


# --- Events --------------------------------------------------------------------------------


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


def _event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not services.can_view_event(current_user, event):
        abort(404)
    return event


@bp.route("/events/<int:event_id>")
@bp.route("/events/<int:event_id>-<slug>")
@public
def event_detail(event_id: int, slug: str = "") -> Any:
    event = _event_or_404(event_id)
    if event.slug and slug != event.slug:
        return redirect(url_for("network.event_detail", event_id=event.id, slug=event.slug))
    counts = services.seat_counts([event.id])[event.id]
    return render_template(
        "network/event_detail.html",
        event=event,
        counts=counts,
        mine=services.user_registration(event, current_user),
        manager=services.can_manage_event(current_user, event),
        open_now=event.accepts_registrations(utcnow()),
        guest_form=GuestRegistrationForm(),
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
    _org_choices(form, orgs)
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
    event = _event_or_404(event_id)
    require(services.can_manage_event(current_user, event))
    orgs = services.member_orgs(current_user)

    def build(**kwargs: Any) -> EventForm:
        form = EventForm(obj=event, **kwargs)
        _org_choices(form, orgs if event.organisation in orgs else [event.organisation, *orgs])
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
    event = _event_or_404(event_id)
    require(services.can_manage_event(current_user, event))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.publish_event(event, _user())
    except NetworkError as error:
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(_("The event is published."), "success")
    return redirect(url_for("network.event_detail", event_id=event.id, slug=event.slug))


@bp.route("/events/<int:event_id>/cancel", methods=["POST"])
@login_required
def event_cancel(event_id: int) -> Any:
    event = _event_or_404(event_id)
    require(services.can_manage_event(current_user, event))
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    told = services.cancel_event(event, _user(), form.reason.data or "")
    db.session.commit()
    flash(_("The event is cancelled; %(n)d registered people have been told.", n=told), "info")
    return redirect(url_for("network.event_detail", event_id=event.id, slug=event.slug))


@bp.route("/events/<int:event_id>/register", methods=["POST"])
@public
def event_register(event_id: int) -> Any:
    event = _event_or_404(event_id)
    ratelimit.enforce("event_register", ratelimit.client_address())
    back = url_for("network.event_detail", event_id=event.id, slug=event.slug)
    if current_user.is_authenticated:
        if not UserRegistrationForm().validate_on_submit():
            abort(400)
        try:
            reg = services.register_user(event, _user())
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
        counts = services.seat_counts([event.id])[event.id]
        return render_template(
            "network/event_detail.html",
            event=event,
            counts=counts,
            mine=None,
            manager=False,
            open_now=event.accepts_registrations(utcnow()),
            guest_form=form,
            user_form=UserRegistrationForm(),
            confirm_form=ConfirmForm(),
            share_url=url_for(
                "network.event_detail", event_id=event.id, slug=event.slug, _external=True
            ),
        ), 422
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
    event = _event_or_404(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reg = services.user_registration(event, current_user)
    if reg is None:
        abort(404)
    services.cancel_registration(reg, _user())
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
    event = _event_or_404(event_id)
    require(services.can_manage_event(current_user, event))
    form = AttendanceForm()
    if form.validate_on_submit():
        ids = {int(v) for v in request.form.getlist("present") if v.isdigit()}
        present = services.mark_attendance(event, ids, _user())
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
    event = _event_or_404(event_id)
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


def _ics_response(body: bytes, filename: str) -> Response:
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@bp.route("/events/<int:event_id>.ics")
@public
def event_ics(event_id: int) -> Any:
    event = _event_or_404(event_id)
    return _ics_response(ics.calendar([event], event.title), f"event-{event.id}.ics")


@bp.route("/events/organisations/<int:org_id>.ics")
@public
def organisation_feed(org_id: int) -> Any:
    org = db.session.get(Organisation, org_id)
    if org is None or not org.is_verified:
        abort(404)
    events = (
        db.session.execute(
            public_events(EventFilters(when="all", organisation_id=org.id), utcnow()).limit(500)
        )
        .scalars()
        .all()
    )
    return _ics_response(
        ics.calendar(events, _("Events of %(name)s", name=org.name)), f"events-{org.id}.ics"
    )


@bp.route("/events/feed.ics")
@public
def network_feed() -> Any:
    events = (
        db.session.execute(public_events(EventFilters(when="upcoming"), utcnow()).limit(500))
        .scalars()
        .all()
    )
    return _ics_response(ics.calendar(events, _("Ponte network events")), "ponte-events.ics")


# --- Agreements ----------------------------------------------------------------------------


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


def _agreement_or_404(agreement_id: int) -> Agreement:
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None or not services.can_view_agreement(current_user, agreement):
        abort(404)
    return agreement


@bp.route("/agreements/<int:agreement_id>")
@public
def agreement_detail(agreement_id: int) -> Any:
    agreement = _agreement_or_404(agreement_id)
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
    _org_choices(form, orgs)
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
    agreement = _agreement_or_404(agreement_id)
    require(services.can_manage_agreement(current_user, agreement))
    orgs = services.member_orgs(current_user)

    def build(**kwargs: Any) -> AgreementForm:
        form = AgreementForm(obj=agreement, **kwargs)
        parties = orgs if agreement.organisation in orgs else [agreement.organisation, *orgs]
        _org_choices(form, parties)
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


@bp.route("/agreements/<int:agreement_id>/documents", methods=["POST"])
@login_required
@accepts_upload(documents.MAX_BYTES)
def agreement_document_upload(agreement_id: int) -> Any:
    agreement = _agreement_or_404(agreement_id)
    require(services.can_manage_agreement(current_user, agreement))
    return _upload(
        "agreement_id",
        agreement,
        url_for("network.agreement_detail", agreement_id=agreement.id),
    )


@bp.route("/agreements/<int:agreement_id>/documents/<int:document_id>")
@public
def agreement_document(agreement_id: int, document_id: int) -> Any:
    agreement = _agreement_or_404(agreement_id)
    return _send_document(_document_of(document_id, agreement_id=agreement.id))


@bp.route("/agreements/<int:agreement_id>/documents/<int:document_id>/delete", methods=["POST"])
@login_required
def agreement_document_delete(agreement_id: int, document_id: int) -> Any:
    agreement = _agreement_or_404(agreement_id)
    require(services.can_manage_agreement(current_user, agreement))
    return _delete_document(
        _document_of(document_id, agreement_id=agreement.id),
        url_for("network.agreement_detail", agreement_id=agreement.id),
    )


# --- Network indicators --------------------------------------------------------------------


def _year() -> int:
    today = services.today()
    year = request.args.get("year", type=int)
    return year if year in indicators.years(today) else today.year


@bp.route("/indicators")
@public
def indicators_page() -> Any:
    year = _year()
    return render_template(
        "network/indicators.html",
        year=year,
        years=indicators.years(services.today()),
        sections=indicators.sections(year),
        small_cell=indicators.SMALL_CELL,
        suppressed_text=indicators.SUPPRESSED_TEXT,
        withheld_text=indicators.WITHHELD_TEXT,
    )


@bp.route("/indicators.csv")
@public
def indicators_csv() -> Any:
    year = _year()
    return Response(
        indicators.to_csv(year, indicators.sections(year)),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=ponte-network-{year}.csv"},
    )


@bp.route("/indicators.xlsx")
@public
def indicators_xlsx() -> Any:
    year = _year()
    return Response(
        indicators.to_xlsx(year, indicators.sections(year)),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=ponte-network-{year}.xlsx"},
    )


@bp.route("/indicators/report-<int:year>.pdf")
@public
def indicators_report(year: int) -> Any:
    today = services.today()
    if year not in indicators.years(today):
        abort(404)
    from portal.network import report_pdf

    body = report_pdf.build(year, indicators.sections(year), today, request.host_url)
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename=ponte-network-report-{year}.pdf"},
    )


# --- Open data -----------------------------------------------------------------------------


@bp.route("/open-data")
@public
def open_data_page() -> Any:
    return render_template(
        "network/open_data.html", datasets=open_data.datasets(), catalogue=open_data.CATALOGUE
    )


@bp.route("/open-data/catalog.jsonld")
@public
def open_data_catalogue() -> Any:
    response = current_app.response_class(
        open_data.catalogue_json(), mimetype="application/ld+json"
    )
    return response


def today() -> date:
    return services.today()


# --- Sitemaps ------------------------------------------------------------------------------


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


def sitemap_events() -> Any:
    """Public events (as ``Event.is_public``): published or cancelled, of verified bodies."""
    return (
        select(Event.id, Event.updated_at, Event.slug)
        .join(Organisation, Organisation.id == Event.organisation_id)
        .where(Event.status.in_((PUBLISHED, CANCELLED)), Organisation.verified_at.is_not(None))
    )


def sitemap_event_url(row: Any) -> str:
    return url_for("network.event_detail", event_id=row[0], slug=row[2] or None, _external=True)
