"""Centres and their meetings: the list, the create and edit form, the centre's page
with its calendar (and what the holiday calendar moves), and the collection sheet of a
meeting, printable and fillable on a phone.
"""

from __future__ import annotations

from datetime import date, timedelta
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
from sqlalchemy.exc import IntegrityError

from microcredit import collection
from microcredit.centres import (
    CentreData,
    calendar_moves,
    meeting_dates,
    next_meetings,
    save_centre,
)
from microcredit.forms import (
    CentreForm,
)
from microcredit.models import (
    CLOSED_GROUP,
    Centre,
    Group,
    Meeting,
    Member,
)
from microcredit.rules import McError
from microcredit.views.common import (
    bp,
    current_org,
    edit_page,
    officer_choices,
    officer_only,
    org_of,
    owned,
    per_page,
    today,
)
from portal import db
from portal.forms import ConfirmForm
from portal.i18n import euro
from portal.views import page_arg


@bp.route("/centres")
@officer_only
def centre_list() -> Any:
    org = current_org()
    page = db.paginate(
        select(Centre).where(Centre.organisation_id == org.id).order_by(Centre.name),
        page_arg(),
        per_page(),
    )
    counts = dict(
        db.session.execute(
            select(Group.centre_id, func.count())
            .where(
                Group.centre_id.in_([c.id for c in page.items] or [-1]),
                Group.status != CLOSED_GROUP,
            )
            .group_by(Group.centre_id)
        ).all()
    )
    upcoming = {c.id: next_meetings(c, today(), 1) for c in page.items}
    return render_template(
        "microcredit/centres.html", org=org, page=page, counts=counts, upcoming=upcoming
    )


def _centre_form_page(centre: Centre | None) -> Any:
    org = org_of(centre)

    def build(**kwargs: Any) -> CentreForm:
        form = CentreForm(obj=centre, **kwargs)
        form.officer.choices = officer_choices(org.id)
        if request.method == "GET" or kwargs:
            if centre is not None:
                form.comune.data = centre.municipality.label if centre.municipality else ""
                form.officer.data = centre.officer_id or 0
            else:
                form.officer.data = current_user.id
        return form

    def save(form: CentreForm) -> Centre:
        data = CentreData(
            name=form.name.data or "",
            first_meeting_on=form.first_meeting_on.data,
            meeting_time=form.meeting_time.data,
            meeting_frequency=form.meeting_frequency.data,
            meeting_place=form.meeting_place.data or "",
            comune_code=form.comune.data,
            officer_id=form.officer.data or None,
            move_non_working_days=form.move_non_working_days.data,
            patron_day=form.patron_day.data or None,
        )
        return save_centre(org, data, current_user, centre)

    return edit_page(
        centre,
        build,
        save,
        template="microcredit/centre_form.html",
        done=_("The centre has been saved."),
        then=lambda saved: url_for("microcredit.centre_detail", centre_id=saved.id),
        fields={"officer_id": "officer"},
        centre=centre,
    )


@bp.route("/centres/new", methods=["GET", "POST"])
@officer_only
def centre_new() -> Any:
    return _centre_form_page(None)


@bp.route("/centres/<int:centre_id>/edit", methods=["GET", "POST"])
@officer_only
def centre_edit(centre_id: int) -> Any:
    return _centre_form_page(owned(Centre, centre_id))


@bp.route("/centres/<int:centre_id>")
@officer_only
def centre_detail(centre_id: int) -> Any:
    centre = owned(Centre, centre_id)
    groups = (
        db.session.execute(select(Group).where(Group.centre_id == centre.id).order_by(Group.name))
        .scalars()
        .all()
    )
    sizes = dict(
        db.session.execute(
            select(Member.group_id, func.count())
            .where(Member.group_id.in_([g.id for g in groups] or [-1]), Member.left_on.is_(None))
            .group_by(Member.group_id)
        ).all()
    )
    recent = collection.recent_meetings(centre, today())
    held = {
        m.on_date: m
        for m in db.session.execute(
            select(Meeting).where(
                Meeting.centre_id == centre.id, Meeting.on_date.in_(recent or [today()])
            )
        ).scalars()
    }
    return render_template(
        "microcredit/centre.html",
        centre=centre,
        groups=groups,
        sizes=sizes,
        recent=recent,
        held=held,
        upcoming=next_meetings(centre, today() + timedelta(days=1)),
        calendar_moves=calendar_moves(centre, today()),
        today=today(),
    )


def _sheet_date(on: str) -> date:
    try:
        return date.fromisoformat(on)
    except ValueError:
        abort(404)


@bp.route("/centres/<int:centre_id>/meetings/<on>", methods=["GET", "POST"])
@officer_only
def sheet(centre_id: int, on: str) -> Any:
    """The collection sheet of a meeting: printable, fillable on a phone."""
    centre = owned(Centre, centre_id)
    on_date = _sheet_date(on)
    errors: dict[str, str] = {}
    problems: list[str] = []
    typed: dict[str, str] = {}
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        version = request.form.get("version", type=int)
        built = collection.build_sheet(centre, on_date)
        amounts = {loan_id: request.form.get(f"amount-{loan_id}", "") for loan_id in built.loans()}
        savings = {
            member_id: request.form.get(f"savings-{member_id}", "") for member_id in built.members()
        }
        attendance = {
            member_id: request.form[f"attendance-{member_id}"]
            for member_id in built.members()
            if request.form.get(f"attendance-{member_id}")
        }
        typed = {
            k: v
            for k, v in request.form.items()
            if k.startswith(("amount-", "savings-", "attendance-"))
        }
        try:
            if version is None:
                raise McError({"sheet": _("The sheet is incomplete: open it again.")})
            saved = collection.save_sheet(
                centre, on_date, version, amounts, savings, attendance, current_user
            )
        except collection.SheetConflict as conflict:
            db.session.rollback()
            problems = list(conflict.fields.values())
            typed = {}
        except McError as error:
            db.session.rollback()
            errors = {k: v for k, v in error.fields.items() if "-" in k}
            problems = [v for k, v in error.fields.items() if "-" not in k]
            if errors:
                problems.insert(
                    0,
                    _(
                        "Some amounts are not valid: nothing has been recorded. "
                        "Correct them and save again."
                    ),
                )
        except IntegrityError:
            db.session.rollback()
            problems = [
                _(
                    "This collection sheet was saved meanwhile: nothing from your copy "
                    "was recorded. Check the amounts now shown."
                )
            ]
            typed = {}
        else:
            db.session.commit()
            flash(
                _(
                    "Collection sheet saved: %(n)d repayments, %(total)s collected.",
                    n=saved.repayments,
                    total=euro(saved.collected),
                ),
                "success",
            )
            return redirect(url_for("microcredit.sheet", centre_id=centre.id, on=on))
    built = collection.build_sheet(centre, on_date)
    return render_template(
        "microcredit/sheet.html",
        centre=centre,
        sheet=built,
        errors=errors,
        problems=problems,
        typed=typed,
        can_save=on_date <= today(),
        form=ConfirmForm(),
        today=today(),
        previous=meeting_dates(centre, on_date - timedelta(days=62), on_date - timedelta(days=1))[
            -1:
        ],
        following=next_meetings(centre, on_date + timedelta(days=1), 1),
    )
