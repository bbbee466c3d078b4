"""Microcredit pages: the officer's area (centres, groups, members, products, loans,
collection sheets, arrears, portfolio quality) and the public schedule calculator.

Only microcredit officers reach the area, and only their organisation's data: an object
of another organisation answers 404, so its existence is not revealed.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
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
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from microcredit import collection, ledger, portfolio, services
from microcredit.forms import (
    AMOUNT_MESSAGES,
    ActionForm,
    AsOfForm,
    CalculatorForm,
    CentreForm,
    GroupForm,
    GroupLoanActionForm,
    GroupLoansForm,
    LoanForm,
    MemberForm,
    ProductForm,
    RepaymentForm,
    ReverseForm,
    SavingsForm,
    ServiceForm,
    TrainingForm,
)
from microcredit.models import (
    ACTIVE,
    APPROVED,
    ATTENDANCE,
    BUSINESS_SERVICES,
    CLOSED_GROUP,
    FREQUENCY_LABELS,
    GROUP_STATES,
    LOAN_STATES,
    OVERPAID,
    SAVINGS_KINDS,
    SOCIAL_SERVICES,
    SUBMITTED,
    TRANSACTION_KINDS,
    Centre,
    Group,
    Loan,
    LoanProduct,
    LoanService,
    LoanTransaction,
    Member,
    SavingsTransaction,
)
from microcredit.money import AmountError, parse_amount
from microcredit.policy import policy
from microcredit.schedule import TermsError, build_schedule, parse_terms
from microcredit.services import McError
from portal import audit, concurrency, db
from portal.db import Page
from portal.layout import HomeAction
from portal.models import MICROCREDIT_OFFICER, Organisation
from portal.permissions import public, roles_required
from portal.views import page_arg

bp = Blueprint(
    "microcredit",
    __name__,
    url_prefix="/microcredit",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

officer_only = roles_required(MICROCREDIT_OFFICER)


def today() -> date:
    return services.local_today()


def per_page() -> int:
    return current_app.config["PER_PAGE"]


def current_org() -> Organisation:
    orgs = services.officer_organisations(current_user)
    chosen = request.args.get("org", type=int)
    for org in orgs:
        if chosen is None or org.id == chosen:
            return org
    abort(404)


def owned(model: Any, object_id: int) -> Any:
    """The object if it belongs to one of the officer's organisations; 404 otherwise."""
    obj = db.session.get(model, object_id)
    if obj is None or not services.can_manage(current_user, obj.organisation_id):
        abort(404)
    return obj


def apply_errors(form: Any, error: McError, mapping: dict[str, str] | None = None) -> list[str]:
    """Show each message next to its field; return those that belong to no field."""
    leftovers = []
    for name, message in error.fields.items():
        target = (mapping or {}).get(name, name)
        f = getattr(form, target, None) if form is not None else None
        if f is not None and hasattr(f, "errors") and target != "submit":
            f.errors = [*f.errors, message]
        else:
            leftovers.append(message)
    return leftovers


def flash_errors(error: McError) -> None:
    for message in error.fields.values():
        flash(message, "danger")


def date_arg(name: str = "as_of") -> date:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return today()


def list_page(items: list[Any]) -> Page:
    size = 50
    page = page_arg()
    return Page(
        items=items[(page - 1) * size : page * size], total=len(items), page=page, per_page=size
    )


@bp.app_template_filter("mc_percent")
def percent_filter(value: Any) -> str:
    from flask_babel import format_decimal

    return "—" if value is None else f"{format_decimal(value, '#,##0.00')} %"


@bp.context_processor
def microcredit_context() -> dict[str, Any]:
    return {
        "loan_states": LOAN_STATES,
        "group_states": GROUP_STATES,
        "transaction_kinds": TRANSACTION_KINDS,
        "savings_kinds": SAVINGS_KINDS,
        "attendance_labels": ATTENDANCE,
        "frequency_labels": FREQUENCY_LABELS,
    }


# --- Public: the schedule calculator -------------------------------------------------------

TERMS_MESSAGES = {
    "required": _l("This field is required."),
    "invalid": _l("Enter a number, e.g. 1250,50."),
    "too_many_decimals": _l("Use at most two decimals."),
    "not_positive": _l("The amount must be more than zero."),
    "negative": _l("The amount cannot be negative."),
    "too_large": _l("The amount is too large."),
    "choice": _l("Choose one of the options."),
    "whole_number": _l("Enter a whole number."),
    "range": _l("The number is out of range."),
    "grace": _l("The grace must be shorter than the repayments."),
    "multiple": _l("The multiple cannot be more than the amount."),
    "date": _l("Enter a valid date."),
    "date_range": _l("Enter a date between 1990 and 2100."),
    "rate_too_high": _l("The rate is too high."),
    "boolean": _l("Choose one of the options."),
}


@bp.route("/calculator")
@public
def calculator() -> Any:
    form = CalculatorForm(request.args)
    schedule = None
    if request.args.get("principal") is not None:
        rules = policy()
        data = {
            name: request.args.get(name)
            for name in (
                "principal",
                "interest_rate",
                "interest_rate_period",
                "repayments",
                "frequency",
                "interest_method",
                "amortization",
                "grace_on_principal",
                "in_multiples_of",
                "disbursement_date",
                "interest_calculation",
                "days_in_year",
                "move_non_working_days",
            )
        }
        try:
            schedule = build_schedule(
                parse_terms(
                    data,
                    today=today(),
                    max_principal=rules.max_principal,
                    max_repayments=rules.max_repayments,
                    max_annual_rate=rules.max_annual_rate,
                    rounding=rules.rounding,
                    days_in_year=rules.days_in_year,
                    localized=True,
                )
            )
        except TermsError as error:
            if error.codes.get("interest_rate") == "too_many_decimals":
                error.codes["interest_rate"] = "invalid"
            for name, code in error.codes.items():
                field = getattr(form, name)
                field.errors = [*field.errors, str(TERMS_MESSAGES[code])]
    elif not request.args:
        form.disbursement_date.data = today()
    return render_template("microcredit/calculator.html", form=form, schedule=schedule)


# --- The officer's dashboard -----------------------------------------------------------------


@bp.route("/")
@officer_only
def dashboard() -> Any:
    org = current_org()
    group_counts = dict(
        db.session.execute(
            select(Group.status, func.count())
            .where(Group.organisation_id == org.id)
            .group_by(Group.status)
        ).all()
    )
    loan_counts = dict(
        db.session.execute(
            select(Loan.status, func.count())
            .where(Loan.organisation_id == org.id)
            .group_by(Loan.status)
        ).all()
    )
    report = portfolio.portfolio_report(org.id, today())
    centres = (
        db.session.execute(
            select(Centre)
            .where(Centre.organisation_id == org.id, Centre.active.is_(True))
            .order_by(Centre.name)
            .limit(20)
        )
        .scalars()
        .all()
    )
    meetings = [
        (c, services.last_meeting(c, today()), services.next_meetings(c, today(), 1))
        for c in centres
    ]
    return render_template(
        "microcredit/dashboard.html",
        org=org,
        group_counts=group_counts,
        loan_counts=loan_counts,
        report=report,
        meetings=meetings,
        today=today(),
    )


# --- Centres and meetings ----------------------------------------------------------------------


def officer_choices(org_id: int) -> list[tuple[int, str]]:
    return [(0, "—")] + [(u.id, u.display_name) for u in services.org_officers(org_id)]


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
    upcoming = {c.id: services.next_meetings(c, today(), 1) for c in page.items}
    return render_template(
        "microcredit/centres.html", org=org, page=page, counts=counts, upcoming=upcoming
    )


def _centre_form_page(centre: Centre | None) -> Any:
    org = db.session.get(Organisation, centre.organisation_id) if centre else current_org()

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

    form = concurrency.edit_form(build, centre) if centre else build()
    problems: list[str] = []
    if form.validate_on_submit() and concurrency.current_or_new(form, build, centre):
        data = services.CentreData(
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
        try:
            saved = services.save_centre(org, data, current_user, centre)
        except McError as error:
            db.session.rollback()
            problems = apply_errors(form, error, {"officer_id": "officer"})
        else:
            db.session.commit()
            flash(_("The centre has been saved."), "success")
            return redirect(url_for("microcredit.centre_detail", centre_id=saved.id))
    return render_template(
        "microcredit/centre_form.html", form=form, centre=centre, problems=problems
    ), concurrency.status()


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
    from microcredit.models import Meeting

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
        upcoming=services.next_meetings(centre, today() + timedelta(days=1)),
        calendar_moves=services.calendar_moves(centre, today()),
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
        from portal.forms import ConfirmForm

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
                    total=_euro(saved.collected),
                ),
                "success",
            )
            return redirect(url_for("microcredit.sheet", centre_id=centre.id, on=on))
    built = collection.build_sheet(centre, on_date)
    from portal.forms import ConfirmForm

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
        previous=services.meeting_dates(
            centre, on_date - timedelta(days=62), on_date - timedelta(days=1)
        )[-1:],
        following=services.next_meetings(centre, on_date + timedelta(days=1), 1),
    )


def _euro(value: Any) -> str:
    from portal.i18n import euro

    return euro(value)


# --- Groups --------------------------------------------------------------------------------------


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


def centre_choices(org_id: int) -> list[tuple[int, str]]:
    centres = db.session.execute(
        select(Centre.id, Centre.name)
        .where(Centre.organisation_id == org_id, Centre.active.is_(True))
        .order_by(Centre.name)
    ).all()
    return [(0, _("— no centre yet —")), *((c.id, c.name) for c in centres)]


def _group_form_page(group: Group | None) -> Any:
    org = db.session.get(Organisation, group.organisation_id) if group else current_org()

    def build(**kwargs: Any) -> GroupForm:
        form = GroupForm(obj=group, **kwargs)
        form.centre.choices = centre_choices(org.id)
        if request.method == "GET" or kwargs:
            chosen = group.centre_id if group else request.args.get("centre", type=int)
            form.centre.data = chosen or 0
        return form

    form = concurrency.edit_form(build, group) if group else build()
    problems: list[str] = []
    if form.validate_on_submit() and concurrency.current_or_new(form, build, group):
        centre = db.session.get(Centre, form.centre.data) if form.centre.data else None
        try:
            saved = services.save_group(
                org, form.name.data or "", centre, current_user, group, today()
            )
        except McError as error:
            db.session.rollback()
            problems = apply_errors(form, error)
        else:
            db.session.commit()
            flash(_("The group has been saved."), "success")
            return redirect(url_for("microcredit.group_detail", group_id=saved.id))
    return render_template(
        "microcredit/group_form.html", form=form, group=group, problems=problems
    ), concurrency.status()


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
    attended = services.sessions_attended(m.id for m in group.members)
    problems = services.recognition_problems(group) if group.status == "training" else []
    return render_template(
        "microcredit/group.html",
        group=group,
        view=view,
        attended=attended,
        required=policy().training_sessions_required,
        problems=problems,
        fund=services.savings_balance(group.id, None),
        form=ActionForm(formdata=None),
        today=today(),
        rules=policy(),
    )


@bp.route("/groups/<int:group_id>/<action>", methods=["POST"])
@officer_only
def group_action(group_id: int, action: str) -> Any:
    group = owned(Group, group_id)
    if action not in services.GROUP_ACTIONS:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("Give the date."), "danger")
        return redirect(url_for("microcredit.group_detail", group_id=group.id))
    try:
        services.group_transition(
            group, action, form.on_date.data, current_user, form.reason.data or ""
        )
    except McError as error:
        db.session.rollback()
        flash_errors(error)
    else:
        db.session.commit()
        flash(_("The group is now: %(state)s.", state=group.status_label), "success")
    return redirect(url_for("microcredit.group_detail", group_id=group.id))


@bp.route("/groups/<int:group_id>/members/new", methods=["GET", "POST"])
@officer_only
def group_member_new(group_id: int) -> Any:
    group = owned(Group, group_id)
    return _member_form_page(None, group)


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
        try:
            services.record_training(
                group,
                form.held_on.data,
                form.topic.data or "",
                form.attendees.data or [],
                current_user,
            )
        except McError as error:
            db.session.rollback()
            problems = apply_errors(form, error)
        else:
            db.session.commit()
            flash(_("The training session has been recorded."), "success")
            return redirect(url_for("microcredit.group_detail", group_id=group.id))
    return render_template(
        "microcredit/training_form.html", form=form, group=group, problems=problems
    )


@bp.route("/groups/<int:group_id>/savings", methods=["GET", "POST"])
@officer_only
def group_savings(group_id: int) -> Any:
    group = owned(Group, group_id)
    form = SavingsForm()
    form.member.choices = [(0, _("Group fund"))] + [(m.id, m.label) for m in group.members]
    if request.method == "GET":
        form.on_date.data = today()
        form.nonce.data = uuid.uuid4().hex
    problems: list[str] = []
    if form.validate_on_submit():
        member = db.session.get(Member, form.member.data) if form.member.data else None
        try:
            services.post_savings(
                group,
                member,
                form.kind.data,
                form.amount.data,
                form.on_date.data,
                current_user,
                key=f"form:{form.nonce.data}" if form.nonce.data else None,
            )
            db.session.commit()
        except McError as error:
            db.session.rollback()
            problems = apply_errors(form, error)
        except IntegrityError:
            db.session.rollback()
            problems = [_("This movement has already been recorded.")]
        else:
            flash(_("The savings movement has been recorded."), "success")
            return redirect(url_for("microcredit.group_savings", group_id=group.id))
    balances = services.savings_balances([group.id])
    stmt = (
        select(SavingsTransaction)
        .where(SavingsTransaction.group_id == group.id)
        .order_by(SavingsTransaction.on_date.desc(), SavingsTransaction.id.desc())
    )
    page = db.paginate(stmt, page_arg(), per_page())
    reversed_ids = set(
        db.session.execute(
            select(SavingsTransaction.reversal_of_id).where(
                SavingsTransaction.reversal_of_id.in_([e.id for e in page.items] or [-1])
            )
        ).scalars()
    )
    return render_template(
        "microcredit/savings.html",
        group=group,
        form=form,
        page=page,
        balances=balances,
        reversed_ids=reversed_ids,
        problems=problems,
        reverse_form=ReverseForm(formdata=None),
    )


@bp.route("/savings/<int:entry_id>/reverse", methods=["POST"])
@officer_only
def savings_reverse(entry_id: int) -> Any:
    entry = owned(SavingsTransaction, entry_id)
    form = ReverseForm()
    if not form.validate_on_submit():
        flash(_("Say why the entry is reversed."), "danger")
    else:
        try:
            services.reverse_savings(entry, current_user, form.reason.data or "")
        except McError as error:
            db.session.rollback()
            flash_errors(error)
        else:
            db.session.commit()
            flash(_("The entry has been reversed."), "success")
    return redirect(url_for("microcredit.group_savings", group_id=entry.group_id))


# --- Members ---------------------------------------------------------------------------------


@bp.route("/members")
@officer_only
def member_list() -> Any:
    org = current_org()
    stmt = select(Member).where(Member.organisation_id == org.id).order_by(Member.number)
    group_id = request.args.get("group", type=int)
    if group_id:
        stmt = stmt.where(Member.group_id == group_id)
    page = db.paginate(stmt, page_arg(), per_page())
    ids = [m.id for m in page.items] or [-1]
    open_loans = dict(
        db.session.execute(
            select(Loan.member_id, func.count())
            .where(
                Loan.member_id.in_(ids), Loan.status.in_((SUBMITTED, APPROVED, ACTIVE, OVERPAID))
            )
            .group_by(Loan.member_id)
        ).all()
    )
    groups = dict(
        db.session.execute(
            select(Group.id, Group.name).where(Group.organisation_id == org.id)
        ).all()
    )
    return render_template(
        "microcredit/members.html", page=page, open_loans=open_loans, groups=groups, today=today()
    )


def _member_form_page(member: Member | None, group: Group | None) -> Any:
    org = (
        db.session.get(Organisation, member.organisation_id)
        if member
        else db.session.get(Organisation, group.organisation_id)
        if group
        else current_org()
    )

    def build(**kwargs: Any) -> MemberForm:
        form = MemberForm(obj=member, **kwargs)
        if request.method == "GET" or kwargs:
            if member is not None:
                form.comune.data = member.municipality.label if member.municipality else ""
                from brokerage.models import Candidate

                candidate = (
                    db.session.get(Candidate, member.candidate_id) if member.candidate_id else None
                )
                form.candidate.data = candidate.pseudonym if candidate else ""
                form.consent.data = member.has_consent(today())
            else:
                form.consent_on.data = today()
                form.joined_on.data = today()
        return form

    form = concurrency.edit_form(build, member) if member else build()
    in_group = (member.group_id if member else group) is not None
    problems: list[str] = []
    if form.validate_on_submit() and concurrency.current_or_new(form, build, member):
        consent_on = form.consent_on.data or today() if form.consent.data else None
        if member is not None and not form.consent.data:
            consent_on = None  # keeps the consent recorded before
        data = services.MemberData(
            full_name=form.full_name.data or "",
            consent_on=consent_on,
            consent_purpose=form.consent_purpose.data or "",
            consent_until=form.consent_until.data,
            fiscal_code=form.fiscal_code.data or "",
            phone=form.phone.data or "",
            comune_code=form.comune.data,
            candidate_pseudonym=form.candidate.data or "",
            joined_on=form.joined_on.data,
            group_role=form.group_role.data if in_group else "member",
        )
        try:
            saved = services.save_member(org, data, current_user, member=member, group=group)
        except McError as error:
            db.session.rollback()
            problems = apply_errors(form, error)
        except IntegrityError:
            db.session.rollback()
            problems = [_("Another member was saved at the same time: save again.")]
        else:
            db.session.commit()
            flash(_("The member has been saved."), "success")
            return redirect(url_for("microcredit.member_detail", member_id=saved.id))
    return render_template(
        "microcredit/member_form.html",
        form=form,
        member=member,
        group=group,
        in_group=in_group,
        problems=problems,
    ), concurrency.status()


@bp.route("/members/new", methods=["GET", "POST"])
@officer_only
def member_new() -> Any:
    return _member_form_page(None, None)


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
@officer_only
def member_edit(member_id: int) -> Any:
    return _member_form_page(owned(Member, member_id), None)


@bp.route("/members/<int:member_id>")
@officer_only
def member_detail(member_id: int) -> Any:
    member = owned(Member, member_id)
    loans = (
        db.session.execute(select(Loan).where(Loan.member_id == member.id).order_by(Loan.id.desc()))
        .scalars()
        .all()
    )
    ids = [loan.id for loan in loans]
    totals, slots = ledger.totals_for(ids), ledger.slots_for(ids)
    positions = {
        loan.id: ledger.position(totals.get(loan.id, {}), slots.get(loan.id, []), today())
        for loan in loans
    }
    candidate = None
    if member.candidate_id:
        from brokerage.models import Candidate

        candidate = db.session.get(Candidate, member.candidate_id)
    savings = services.savings_balance(member.group_id, member.id) if member.group_id else None
    audit.record("microcredit.member.view", member, subject=member, reason="officer view")
    db.session.commit()
    return render_template(
        "microcredit/member.html",
        member=member,
        loans=loans,
        positions=positions,
        candidate=candidate,
        savings=savings,
        form=ActionForm(formdata=None),
        today=today(),
    )


@bp.route("/members/<int:member_id>/<action>", methods=["POST"])
@officer_only
def member_action(member_id: int, action: str) -> Any:
    member = owned(Member, member_id)
    form = ActionForm()
    if action not in ("withdraw_consent", "leave_group"):
        abort(404)
    if not form.validate_on_submit():
        flash(_("Give the date."), "danger")
        return redirect(url_for("microcredit.member_detail", member_id=member.id))
    try:
        if action == "withdraw_consent":
            services.withdraw_consent(member, form.on_date.data, current_user)
        else:
            services.leave_group(member, form.on_date.data, current_user)
    except McError as error:
        db.session.rollback()
        flash_errors(error)
    else:
        db.session.commit()
        flash(_("Done."), "success")
    return redirect(url_for("microcredit.member_detail", member_id=member.id))


# --- Products ----------------------------------------------------------------------------


@bp.route("/products")
@officer_only
def product_list() -> Any:
    org = current_org()
    products = (
        db.session.execute(
            select(LoanProduct)
            .where(LoanProduct.organisation_id == org.id)
            .order_by(LoanProduct.name)
        )
        .scalars()
        .all()
    )
    return render_template("microcredit/products.html", products=products, rules=policy())


def _product_form_page(product: LoanProduct | None) -> Any:
    org = db.session.get(Organisation, product.organisation_id) if product else current_org()

    def build(**kwargs: Any) -> ProductForm:
        form = ProductForm(obj=product, **kwargs)
        if (request.method == "GET" or kwargs) and product is not None:
            form.days_in_year.data = str(product.days_in_year)
        return form

    form = concurrency.edit_form(build, product) if product else build()
    problems: list[str] = []
    if form.validate_on_submit() and concurrency.current_or_new(form, build, product):
        data = services.ProductData(
            name=form.name.data or "",
            kind=form.kind.data,
            min_principal=form.min_principal.data,
            max_principal=form.max_principal.data,
            interest_rate=form.interest_rate.data,
            min_repayments=form.min_repayments.data,
            max_repayments=form.max_repayments.data,
            default_repayments=form.default_repayments.data,
            frequency=form.frequency.data,
            interest_rate_period=form.interest_rate_period.data,
            interest_method=form.interest_method.data,
            amortization=form.amortization.data,
            interest_calculation=form.interest_calculation.data,
            days_in_year=int(form.days_in_year.data),
            grace_on_principal=form.grace_on_principal.data or 0,
            in_multiples_of=form.in_multiples_of.data,
            allocation_order=form.allocation_order.data or "",
            disbursement_fee=form.disbursement_fee.data or ledger.ZERO,
            late_penalty=form.late_penalty.data or ledger.ZERO,
            penalty_after_days=form.penalty_after_days.data or 0,
            group_lending=form.group_lending.data,
            enforce_221=form.enforce_221.data,
            move_non_working_days=form.move_non_working_days.data,
            description=form.description.data or "",
            active=form.active.data,
        )
        try:
            services.save_product(org, data, current_user, product)
        except McError as error:
            db.session.rollback()
            problems = apply_errors(form, error)
        else:
            db.session.commit()
            flash(_("The product has been saved."), "success")
            return redirect(url_for("microcredit.product_list"))
    return render_template(
        "microcredit/product_form.html",
        form=form,
        product=product,
        problems=problems,
        rules=policy(),
    ), concurrency.status()


@bp.route("/products/new", methods=["GET", "POST"])
@officer_only
def product_new() -> Any:
    return _product_form_page(None)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@officer_only
def product_edit(product_id: int) -> Any:
    return _product_form_page(owned(LoanProduct, product_id))


# --- Loans -----------------------------------------------------------------------------------


@bp.route("/loans")
@officer_only
def loan_list() -> Any:
    org = current_org()
    status = request.args.get("status", "")
    stmt = select(Loan).where(Loan.organisation_id == org.id).order_by(Loan.id.desc())
    if status in LOAN_STATES:
        stmt = stmt.where(Loan.status == status)
    centre_id = request.args.get("centre", type=int)
    if centre_id:
        stmt = stmt.where(Loan.centre_id == centre_id)
    page = db.paginate(stmt, page_arg(), per_page())
    ids = [loan.id for loan in page.items]
    totals, slots = ledger.totals_for(ids), ledger.slots_for(ids)
    positions = {
        loan.id: ledger.position(totals.get(loan.id, {}), slots.get(loan.id, []), today())
        for loan in page.items
    }
    return render_template("microcredit/loans.html", page=page, positions=positions, status=status)


@bp.route("/members/<int:member_id>/loans/new", methods=["GET", "POST"])
@officer_only
def loan_new(member_id: int) -> Any:
    member = owned(Member, member_id)
    products = (
        db.session.execute(
            select(LoanProduct)
            .where(
                LoanProduct.organisation_id == member.organisation_id, LoanProduct.active.is_(True)
            )
            .order_by(LoanProduct.name)
        )
        .scalars()
        .all()
    )
    form = LoanForm()
    form.product.choices = [(p.id, f"{p.name} – {p.kind_label}") for p in products]
    form.officer.choices = officer_choices(member.organisation_id)
    if request.method == "GET":
        form.officer.data = current_user.id
        suited = [p for p in products if p.group_lending == bool(member.group_id)] or products
        if suited:
            form.product.data = suited[0].id
            form.repayments.data = suited[0].default_repayments
        start = today()
        if member.group and member.group.centre:
            start = (
                services.next_meetings(member.group.centre, today(), 1)[0]
                if services.next_meetings(member.group.centre, today(), 1)
                else today()
            )
        form.expected_disbursement_on.data = start
    problems: list[str] = []
    if form.validate_on_submit():
        product = next((p for p in products if p.id == form.product.data), None)
        if product is None:
            form.product.errors = [_("Choose a product.")]
        else:
            try:
                loan = services.submit_loan(
                    member,
                    product,
                    form.principal.data,
                    form.repayments.data,
                    form.expected_disbursement_on.data,
                    form.purpose.data or "",
                    form.officer.data or None,
                    current_user,
                    today(),
                )
            except McError as error:
                db.session.rollback()
                problems = apply_errors(form, error)
            else:
                db.session.commit()
                flash(_("The application has been submitted."), "success")
                return redirect(url_for("microcredit.loan_detail", loan_id=loan.id))
    return render_template(
        "microcredit/loan_form.html", form=form, member=member, products=products, problems=problems
    )


# --- Group applications, bulk approval and disbursement --------------------------------------


def _group_products(org_id: int) -> list[LoanProduct]:
    return list(
        db.session.execute(
            select(LoanProduct)
            .where(
                LoanProduct.organisation_id == org_id,
                LoanProduct.active.is_(True),
                LoanProduct.group_lending.is_(True),
            )
            .order_by(LoanProduct.name)
        ).scalars()
    )


def _read_rows(
    plan: list[services.PlanLine], form: Any
) -> tuple[list[services.GroupLoanRow], dict[str, str]]:
    """The lines of the members ticked on a group application, and typing errors."""
    rows, errors = [], {}
    for line in plan:
        mid = line.member.id
        if form.get(f"include-{mid}") != "1":
            continue
        principal = None
        try:
            principal = parse_amount(form.get(f"principal-{mid}"), localized=True)
        except AmountError as error:
            errors[f"principal-{mid}"] = str(AMOUNT_MESSAGES[error.code])
        raw = (form.get(f"repayments-{mid}") or "").strip()
        repayments = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 5 else None
        if repayments is None:
            errors[f"repayments-{mid}"] = _("Enter a whole number.")
        raw = (form.get(f"tranche-{mid}") or "").strip()
        rows.append(
            services.GroupLoanRow(
                member_id=mid,
                principal=principal,
                repayments=repayments,
                purpose=(form.get(f"purpose-{mid}") or "").strip()[:300],
                tranche=int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 3 else None,
            )
        )
    return rows, errors


@bp.route("/groups/<int:group_id>/loans/new", methods=["GET", "POST"])
@officer_only
def group_loans_new(group_id: int) -> Any:
    """One application for several members of a group (all or nothing)."""
    group = owned(Group, group_id)
    products = _group_products(group.organisation_id)
    chosen = request.values.get("product", type=int)
    product = next((p for p in products if p.id == chosen), products[0] if products else None)
    form = GroupLoansForm()
    form.officer.choices = officer_choices(group.organisation_id)
    kinds = BUSINESS_SERVICES if product and product.kind == "business" else SOCIAL_SERVICES
    form.services.choices = list(kinds.items())
    plan = services.group_plan(group, product) if product else []
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    problems: list[str] = []
    if request.method == "GET" and product is not None:
        form.product.data = str(product.id)
        form.officer.data = current_user.id
        meetings = services.next_meetings(group.centre, today(), 1) if group.centre else []
        form.expected_disbursement_on.data = meetings[0] if meetings else today()
        form.services.data = list(kinds)[: policy().limits(product.kind).min_services]
        for line in plan:
            if line.open_loan is None:
                typed[f"include-{line.member.id}"] = "1"
    elif request.method == "POST":
        typed = request.form.to_dict()
        rows, errors = _read_rows(plan, request.form)
        if form.validate_on_submit() and product is not None:
            try:
                loans = services.submit_group_loans(
                    group,
                    product,
                    rows,
                    form.expected_disbursement_on.data,
                    form.officer.data or None,
                    form.services.data or [],
                    current_user,
                    today(),
                )
                if errors:
                    raise McError(errors)
            except McError as error:
                db.session.rollback()
                errors = {**error.fields, **errors}
                shared = {k: v for k, v in errors.items() if "-" not in k}
                problems = apply_errors(form, McError(shared)) if shared else []
            else:
                db.session.commit()
                flash(_("%(n)d applications have been submitted.", n=len(loans)), "success")
                return redirect(url_for("microcredit.group_loans", group_id=group.id))
        elif product is None:
            problems = [_("Create a loan product for groups first.")]
        if not problems and (errors or form.errors):
            problems = [_("Nothing has been saved: correct the fields marked below.")]
    waves = policy().first_disbursement_waves
    tranche_of = {}
    for line in plan:
        raw = typed.get(f"tranche-{line.member.id}", "")
        tranche_of[line.member.id] = (
            int(raw)
            if raw.isascii() and raw.isdigit() and len(raw) < 3 and not line.fixed
            else line.tranche
        )
    start = form.expected_disbursement_on.data or today()
    tranches = [
        {
            "number": k,
            "size": size,
            "date": services.tranche_date(group, start, k),
            "members": [
                line
                for line in plan
                if tranche_of[line.member.id] == k
                and (line.fixed or typed.get(f"include-{line.member.id}") == "1")
            ],
        }
        for k, size in enumerate(waves, start=1)
    ]
    return render_template(
        "microcredit/group_loans_new.html",
        group=group,
        form=form,
        product=product,
        products=products,
        plan=plan,
        typed=typed,
        errors=errors,
        problems=problems,
        tranches=tranches,
        staggered=bool(product and services.staggered(product)),
        pattern="-".join(str(w) for w in waves),
    )


@bp.route("/groups/<int:group_id>/loans", methods=["GET", "POST"])
@officer_only
def group_loans(group_id: int) -> Any:
    """The group's applications and approved loans: approve or disburse several at once."""
    group = owned(Group, group_id)
    approve_form = GroupLoanActionForm(prefix="approve")
    disburse_form = GroupLoanActionForm(prefix="disburse")
    errors: dict[str, str] = {}
    problems: list[str] = []
    for action, form in (("approve", approve_form), ("disburse", disburse_form)):
        if request.method == "POST" and f"{action}-submit" in request.form:
            if form.validate_on_submit():
                bulk = (
                    services.approve_group_loans
                    if action == "approve"
                    else services.disburse_group_loans
                )
                try:
                    done = bulk(
                        group,
                        form.loans.data or [],
                        form.on_date.data,
                        current_user,
                        form.reason.data or "",
                    )
                except McError as error:
                    db.session.rollback()
                    errors = error.fields
                    if "loans" in errors:
                        form.loans.errors = [errors["loans"]]
                    if any(k.startswith("loan-") for k in errors):
                        problems = [_("Nothing has been saved: see the loans marked below.")]
                else:
                    db.session.commit()
                    message = (
                        _("%(n)d loans have been approved.", n=len(done))
                        if action == "approve"
                        else _("%(n)d loans have been disbursed.", n=len(done))
                    )
                    flash(message, "success")
                    return redirect(url_for("microcredit.group_loans", group_id=group.id))
        elif request.method == "GET":
            form.on_date.data = today()
    loans = list(
        db.session.execute(
            select(Loan)
            .where(Loan.group_id == group.id, Loan.status.in_((SUBMITTED, APPROVED)))
            .order_by(Loan.id)
        ).scalars()
    )
    submitted = [loan for loan in loans if loan.status == SUBMITTED]
    approved = sorted(
        (loan for loan in loans if loan.status == APPROVED), key=services.disbursement_order
    )
    if request.method == "POST":
        ticked = {
            "approve": set(approve_form.loans.data or []),
            "disburse": set(disburse_form.loans.data or []),
        }
    else:  # everything to approve; the next tranche (and loans outside tranches) to disburse
        first = min((loan.tranche for loan in approved if loan.tranche), default=None)
        ticked = {
            "approve": {loan.id for loan in submitted},
            "disburse": {loan.id for loan in approved if loan.tranche in (None, first)},
        }
    return render_template(
        "microcredit/group_loans.html",
        group=group,
        submitted=submitted,
        approved=approved,
        approve_form=approve_form,
        disburse_form=disburse_form,
        errors=errors,
        problems=problems,
        ticked=ticked,
        needed={loan.id: services.required_services(loan) for loan in submitted},
    )


@bp.route("/loans/<int:loan_id>")
@officer_only
def loan_detail(loan_id: int) -> Any:
    loan = owned(Loan, loan_id)
    position = services.loan_position(loan, today())
    schedule = (
        None if loan.disbursed_on else (services.preview_schedule(loan) if loan.is_open else None)
    )
    entries = services.transactions(loan)
    kinds, needed = services.required_services(loan)
    successor = db.session.execute(
        select(Loan.id).where(Loan.rescheduled_from_id == loan.id)
    ).scalar_one_or_none()
    return render_template(
        "microcredit/loan.html",
        loan=loan,
        position=position,
        schedule=schedule,
        entries=entries,
        service_kinds=kinds,
        services_needed=needed,
        successor=successor,
        reverse_form=ReverseForm(formdata=None),
        today=today(),
    )


LOAN_ACTIONS = {
    "approve": (_l("Approve the application"), (SUBMITTED,)),
    "reject": (_l("Reject the application"), (SUBMITTED,)),
    "withdraw": (_l("Withdrawn by the applicant"), (SUBMITTED,)),
    "undo_approval": (_l("Undo the approval"), (APPROVED,)),
    "disburse": (_l("Disburse the loan"), (APPROVED,)),
    "prepay": (_l("Pay off early"), (ACTIVE,)),
    "write_off": (_l("Write the loan off"), (ACTIVE,)),
    "reschedule": (_l("Reschedule the loan"), (ACTIVE,)),
    "refund": (_l("Refund the overpayment"), (OVERPAID,)),
}


@bp.route("/loans/<int:loan_id>/do/<action>", methods=["GET", "POST"])
@officer_only
def loan_action(loan_id: int, action: str) -> Any:
    loan = owned(Loan, loan_id)
    if action not in LOAN_ACTIONS:
        abort(404)
    title, states = LOAN_ACTIONS[action]
    if loan.status not in states:
        flash(
            _('This cannot be done on a loan in the state "%(state)s".', state=loan.status_label),
            "danger",
        )
        return redirect(url_for("microcredit.loan_detail", loan_id=loan.id))
    form = ActionForm()
    if request.method == "GET":
        form.on_date.data = today()
        form.principal.data = loan.principal
        form.repayments.data = loan.repayments
        form.nonce.data = uuid.uuid4().hex
    problems: list[str] = []
    result: Any = None
    if form.validate_on_submit():
        user, on_date, reason = current_user, form.on_date.data, form.reason.data or ""
        try:
            if action == "approve":
                services.approve(loan, on_date, user, form.principal.data, reason)
            elif action == "reject":
                services.reject(loan, on_date, user, reason)
            elif action == "withdraw":
                services.withdraw(loan, on_date, user, reason)
            elif action == "undo_approval":
                services.undo_approval(loan, user, reason)
            elif action == "disburse":
                services.disburse(loan, on_date, user, reason)
            elif action == "prepay":
                services.prepay(
                    loan, on_date, user, key=f"form:{form.nonce.data}" if form.nonce.data else None
                )
            elif action == "write_off":
                services.write_off(loan, on_date, user, reason)
            elif action == "reschedule":
                result = services.reschedule(loan, on_date, form.repayments.data, user, reason)
            elif action == "refund":
                services.refund(loan, on_date, user)
            db.session.commit()
        except McError as error:
            db.session.rollback()
            problems = apply_errors(
                form, error, {"status": "on_date", "member": "on_date", "services": "on_date"}
            )
        except IntegrityError:
            db.session.rollback()
            problems = [_("This has already been recorded.")]
        else:
            flash(_("Done: %(what)s.", what=title), "success")
            target = result.id if isinstance(result, Loan) else loan.id
            return redirect(url_for("microcredit.loan_detail", loan_id=target))
    position = services.loan_position(loan, form.on_date.data or today(), all_entries=True)
    quote = ledger.payoff_quote(position) if action == "prepay" else None
    preview = (
        build_schedule(services.loan_terms(loan, form.on_date.data or today()))
        if action == "disburse"
        else None
    )
    return render_template(
        "microcredit/loan_action.html",
        loan=loan,
        form=form,
        action=action,
        title=title,
        problems=problems,
        position=position,
        quote=quote,
        preview=preview,
    )


@bp.route("/loans/<int:loan_id>/repay", methods=["GET", "POST"])
@officer_only
def loan_repay(loan_id: int) -> Any:
    loan = owned(Loan, loan_id)
    form = RepaymentForm()
    position = services.loan_position(loan, today())
    if request.method == "GET":
        form.on_date.data = today()
        form.amount.data = position.due_now if position.due_now > 0 else None
        form.nonce.data = uuid.uuid4().hex
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            services.repay(
                loan,
                form.amount.data,
                form.on_date.data,
                current_user,
                key=f"form:{form.nonce.data}" if form.nonce.data else None,
            )
            db.session.commit()
        except McError as error:
            db.session.rollback()
            problems = apply_errors(form, error, {"status": "amount"})
        except IntegrityError:
            db.session.rollback()
            problems = [_("This repayment has already been recorded.")]
        else:
            flash(_("The repayment has been recorded."), "success")
            return redirect(url_for("microcredit.loan_detail", loan_id=loan.id))
    return render_template(
        "microcredit/repay.html", loan=loan, form=form, position=position, problems=problems
    )


@bp.route("/loans/<int:loan_id>/entries/<int:entry_id>/reverse", methods=["GET", "POST"])
@officer_only
def loan_reverse(loan_id: int, entry_id: int) -> Any:
    loan = owned(Loan, loan_id)
    entry = db.session.get(LoanTransaction, entry_id)
    if entry is None or entry.loan_id != loan.id:
        abort(404)
    form = ReverseForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            services.reverse(entry, current_user, form.reason.data or "")
        except McError as error:
            db.session.rollback()
            problems = apply_errors(form, error, {"entry": "reason"})
        else:
            db.session.commit()
            flash(_("The entry has been reversed."), "success")
            return redirect(url_for("microcredit.loan_detail", loan_id=loan.id))
    return render_template(
        "microcredit/reverse.html", loan=loan, entry=entry, form=form, problems=problems
    )


@bp.route("/loans/<int:loan_id>/services/new", methods=["GET", "POST"])
@officer_only
def service_new(loan_id: int) -> Any:
    loan = owned(Loan, loan_id)
    form = ServiceForm()
    kinds, needed = services.required_services(loan)
    if request.method == "GET":
        form.kind.data = next(iter(kinds))
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            services.add_service(
                loan,
                form.kind.data,
                form.provider.data or "",
                form.planned_on.data,
                form.delivered_on.data,
                form.notes.data or "",
                current_user,
            )
        except McError as error:
            db.session.rollback()
            problems = apply_errors(form, error)
        else:
            db.session.commit()
            flash(_("The service has been added."), "success")
            return redirect(url_for("microcredit.loan_detail", loan_id=loan.id))
    return render_template(
        "microcredit/service_form.html",
        loan=loan,
        form=form,
        kinds=kinds,
        needed=needed,
        problems=problems,
    )


@bp.route("/loans/<int:loan_id>/services/<int:service_id>/delivered", methods=["POST"])
@officer_only
def service_delivered(loan_id: int, service_id: int) -> Any:
    loan = owned(Loan, loan_id)
    service = db.session.get(LoanService, service_id)
    if service is None or service.loan_id != loan.id:
        abort(404)
    from portal.forms import ConfirmForm

    if ConfirmForm().validate_on_submit():
        service.delivered_on = today()
        audit.record(
            "microcredit.loan.service_delivered", loan, subject=loan.member, kind=service.kind
        )
        db.session.commit()
        flash(_("The service is marked as delivered."), "success")
    return redirect(url_for("microcredit.loan_detail", loan_id=loan.id))


# --- Arrears and portfolio quality -------------------------------------------------------------


@bp.route("/arrears")
@officer_only
def arrears() -> Any:
    org = current_org()
    form = AsOfForm(request.args)
    as_of = form.as_of.data if form.validate() and form.as_of.data else today()
    form.as_of.data = as_of
    centre_id = request.args.get("centre", type=int) or None
    rows = collection.arrears(org.id, as_of, centre_id=centre_id)
    centres = (
        db.session.execute(
            select(Centre).where(Centre.organisation_id == org.id).order_by(Centre.name)
        )
        .scalars()
        .all()
    )
    return render_template(
        "microcredit/arrears.html",
        form=form,
        as_of=as_of,
        ageing=collection.ageing(rows),
        page=list_page(rows),
        centres=centres,
        centre_id=centre_id,
    )


@bp.route("/portfolio")
@officer_only
def portfolio_page() -> Any:
    org = current_org()
    form = AsOfForm(request.args)
    as_of = form.as_of.data if form.validate() and form.as_of.data else today()
    form.as_of.data = as_of
    report = portfolio.portfolio_report(org.id, as_of)
    return render_template(
        "microcredit/portfolio.html",
        form=form,
        report=report,
        rules=policy(),
        dimension_label=portfolio.dimension_label,
    )


def _report_for_export() -> tuple[portfolio.Report, str]:
    org = current_org()
    as_of = date_arg()
    return portfolio.portfolio_report(org.id, as_of), f"par-{as_of.isoformat()}"


@bp.route("/portfolio.csv")
@officer_only
def portfolio_csv() -> Any:
    report, name = _report_for_export()
    return Response(
        portfolio.to_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}.csv"},
    )


@bp.route("/portfolio.xlsx")
@officer_only
def portfolio_xlsx() -> Any:
    report, name = _report_for_export()
    return Response(
        portfolio.to_xlsx(report),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
    )


# --- Next steps on the officer's home ------------------------------------------------------


def officer_home_actions(user: Any) -> list[HomeAction]:
    """A microcredit officer's next steps: today's centre meetings, loans in arrears."""
    orgs = services.officer_organisations(user)
    if not orgs:
        return []
    day = today()
    centres = (
        db.session.execute(
            select(Centre).where(Centre.organisation_id == orgs[0].id, Centre.active.is_(True))
        )
        .scalars()
        .all()
    )
    meeting_today = [c for c in centres if services.meeting_dates(c, day, day) == [day]]
    actions = [
        HomeAction(
            _("Centre meetings today"),
            url_for("microcredit.sheet", centre_id=meeting_today[0].id, on=day.isoformat())
            if len(meeting_today) == 1
            else url_for("microcredit.dashboard", _anchor="meetings-title"),
            len(meeting_today),
        ),
        HomeAction(
            _("Loans in arrears"),
            url_for("microcredit.arrears"),
            len(collection.late_loan_ids(orgs[0].id, day)),
        ),
    ]
    return actions
