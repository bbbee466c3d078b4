"""Needs survey pages: rounds, the questionnaire (by the company or a visiting broker),
the aggregated results with their chart and exports. Routes live on ``employers.views.bp``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
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
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from employers import surveys
from employers.forms import CheckboxListField
from employers.models import CONTRACT_TYPES, CompanyProfile
from employers.surveys import (
    MAX_COMMENTS,
    MAX_LINES,
    RESPONDENT_ROLES,
    RESULTS_ROLES,
    ROUND_ROLES,
    SECTORS,
    SURVEY_ROLES,
    NeedData,
    ResponseData,
    RoundData,
    SurveyError,
    SurveyResponse,
    SurveyRound,
)
from employers.surveys import demo as survey_demo
from employers.views import bp, my_organisation, today
from portal import concurrency, db
from portal.concurrency import VersionedForm
from portal.forms import MunicipalityField, options
from portal.models import BROKER, Organisation
from portal.permissions import require, roles_required
from portal.taxonomy import Skill, suggested_skills
from portal.views import page_arg

#: Blank lines offered on a new questionnaire, and added by "Add more lines".
BLANK_LINES = 3
SUGGESTED_ESSENTIAL, SUGGESTED_OPTIONAL = 12, 8


def _register(state: Any) -> None:
    from portal import demo
    from portal.layout import add_nav

    add_nav(state.app, _l("Needs survey"), "employers.survey_home", SURVEY_ROLES)
    demo.register_seeder(state.app, survey_demo.seed)


bp.record_once(_register)


# --- Forms -----------------------------------------------------------------------------


class NeedLineForm(Form):
    """One line of needs (a sub-form: the parent form carries the CSRF token)."""

    occupation = StringField(
        _l("Occupation (ESCO)"),
        validators=[Optional(), Length(max=300)],
        description=_l("Type and choose from the list."),
    )
    hires = IntegerField(_l("Planned hires in the next 12 months"), validators=[Optional()])
    contract_type = SelectField(
        _l("Contract type of the hires"),
        choices=options([("", "—"), *CONTRACT_TYPES.items()]),
        default="",
    )
    internships = IntegerField(_l("Internships (tirocini) you would host"), validators=[Optional()])
    on_the_job = BooleanField(_l("We would provide on-the-job training"))
    skills = CheckboxListField(
        _l("Key skills (optional)"), choices=[], coerce=int, validate_choice=False
    )
    remove = BooleanField(_l("Remove this line"))


class SurveyForm(FlaskForm):
    comune = MunicipalityField(
        _l("Municipality where the company works"), validators=[InputRequired()]
    )
    sector = SelectField(
        _l("Sector (ATECO section)"), choices=options([("", "—"), *SECTORS.items()]), default=""
    )
    lines = FieldList(FormField(NeedLineForm), min_entries=0, max_entries=MAX_LINES + 1)
    comments = TextAreaField(
        _l("Comments"),
        validators=[Optional(), Length(max=MAX_COMMENTS)],
        description=_l(
            "Anything else the network should know: seasonal peaks, training you need, support."
        ),
    )
    add_lines = SubmitField(_l("Add more lines"))
    suggest = SubmitField(_l("Show key skills for the chosen occupations"))
    submit = SubmitField(_l("Save the answers"))


class VisitSurveyForm(SurveyForm):
    visit_on = DateField(_l("Date of the visit"), validators=[Optional()])


class RoundForm(VersionedForm, FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    year = IntegerField(
        _l("Year surveyed"),
        validators=[InputRequired()],
        description=_l("The answers are about the 12 months from this year."),
    )
    opens_on = DateField(_l("Open from"), validators=[InputRequired()])
    closes_on = DateField(_l("Open until"), validators=[InputRequired()])
    description = TextAreaField(
        _l("Note for the companies"), validators=[Optional(), Length(max=MAX_COMMENTS)]
    )
    submit = SubmitField(_l("Save"))


# --- Helpers ---------------------------------------------------------------------------


def get_round(round_id: int) -> SurveyRound:
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None:
        abort(404)
    return survey_round


def _blank(entry: Any) -> bool:
    sub = entry.form
    numbers_empty = all(
        not (f.raw_data and f.raw_data[0].strip()) for f in (sub.hires, sub.internships)
    )
    return (
        not (sub.occupation.data or "").strip()
        and numbers_empty
        and not sub.on_the_job.data
        and not sub.contract_type.data
        and not sub.skills.data
    )


def _drop_removed(form: SurveyForm) -> None:
    form.lines.entries = [e for e in form.lines.entries if not e.form.remove.data]


def _add_blank_lines(form: SurveyForm, count: int = BLANK_LINES) -> None:
    for _n in range(count):
        if len(form.lines.entries) >= MAX_LINES:
            break
        form.lines.append_entry()


def _fill_skill_choices(form: SurveyForm) -> None:
    """Each line offers the ESCO skills of its occupation, plus those already chosen."""
    chosen_ids = {s for e in form.lines for s in (e.form.skills.data or []) if isinstance(s, int)}
    chosen = (
        {
            s.id: s
            for s in db.session.execute(select(Skill).where(Skill.id.in_(chosen_ids))).scalars()
        }
        if chosen_ids
        else {}
    )
    for entry in form.lines:
        sub = entry.form
        choices: dict[int, str] = {}
        occupation = surveys.occupation_from_text(sub.occupation.data)
        if occupation is not None:
            essential, optional = suggested_skills(occupation)
            for skill in essential[:SUGGESTED_ESSENTIAL] + optional[:SUGGESTED_OPTIONAL]:
                choices[skill.id] = skill.label
        for skill_id in sub.skills.data or []:
            if skill_id in chosen:
                choices.setdefault(skill_id, chosen[skill_id].label)
        sub.skills.choices = list(choices.items())


def _initial(org: Organisation, response: SurveyResponse | None, visit: bool) -> dict[str, Any]:
    if response is not None:
        data: dict[str, Any] = {
            "comune": response.municipality.label,
            "sector": response.sector,
            "comments": response.comments,
            "lines": [
                {
                    "occupation": need.occupation.label,
                    "hires": need.hires,
                    "contract_type": need.contract_type or "",
                    "internships": need.internships,
                    "on_the_job": need.on_the_job_training,
                    "skills": [r.skill_id for r in need.skill_rows],
                }
                for need in response.needs
            ]
            + [{} for _n in range(min(BLANK_LINES - 1, MAX_LINES - len(response.needs)))],
        }
    else:
        profile = db.session.get(CompanyProfile, org.id)
        data = {
            "comune": org.municipality.label if org.municipality else "",
            "sector": surveys.sector_of(profile.ateco_code if profile else ""),
            "lines": [{} for _n in range(BLANK_LINES)],
        }
    if visit:
        data["visit_on"] = today()
    return data


def _response_data(form: SurveyForm) -> ResponseData:
    needs = []
    for entry in form.lines:
        if entry.form.remove.data or _blank(entry):
            continue
        sub = entry.form
        text = (sub.occupation.data or "").strip()
        occupation = surveys.occupation_from_text(text)
        needs.append(
            NeedData(
                occupation_id=occupation.id if occupation else (-1 if text else None),
                hires=sub.hires.data,
                contract_type=sub.contract_type.data or None,
                internships=sub.internships.data,
                on_the_job_training=bool(sub.on_the_job.data),
                skill_ids=[s for s in sub.skills.data or [] if isinstance(s, int)],
                key=entry.name,
            )
        )
    comune = form.comune.data
    if comune and not (isinstance(comune, str) and comune.isdigit()):
        from portal.municipalities import resolve_municipality

        found = resolve_municipality(comune)
        comune = found.istat_code if found else None
    return ResponseData(
        comune_code=comune,
        sector=form.sector.data or "",
        comments=form.comments.data or "",
        needs=needs,
        visit_on=form.visit_on.data if isinstance(form, VisitSurveyForm) else None,
    )


def _show_problems(form: SurveyForm, problems: dict[str, str]) -> list[str]:
    """Put each message next to its field (unless the field already has one); return
    those that belong to the whole form."""
    fields = {f.name: f for f in form}
    for entry in form.lines:
        for sub_field in entry.form:
            fields[sub_field.name] = sub_field
    general = []
    for name, message in problems.items():
        target = fields.get(name)
        if target is None:
            general.append(message)
        elif not target.errors:
            target.errors = [message]
    return general


def _restore_comune_text(form: SurveyForm) -> None:
    # Validation turns "Pordenone (PN)" into its ISTAT code: show what the person typed.
    raw = getattr(form.comune, "raw_text", None)
    if raw:
        form.comune.data = raw


def _process(
    form: SurveyForm, survey_round: SurveyRound, org: Organisation, visit: bool
) -> tuple[SurveyResponse | None, list[str] | None]:
    """Handle a POST of the questionnaire: re-render for "add lines"/"show skills",
    otherwise validate everything and save all or nothing.

    Returns the saved answers, or the messages that belong to the whole form when saving
    failed (None when nothing was tried)."""
    if request.method != "POST":
        return None, None
    _drop_removed(form)
    if form.add_lines.data or form.suggest.data:
        if form.add_lines.data:
            _add_blank_lines(form)
        return None, None
    form_ok = form.validate_on_submit()
    data = _response_data(form)
    problems = surveys.response_problems(survey_round, data, today(), visit=visit)
    general = _show_problems(form, problems)
    if form_ok and not problems:
        try:
            response = surveys.save_response(
                survey_round, org, current_user, data, today(), visit=visit
            )
        except SurveyError as error:
            db.session.rollback()
            general += _show_problems(form, error.fields)
        else:
            db.session.commit()
            return response, []
    _restore_comune_text(form)
    return None, general


def _render_form(
    form: SurveyForm,
    survey_round: SurveyRound,
    org: Organisation,
    response: SurveyResponse | None,
    general: list[str] | None,
    visit: bool,
) -> Any:
    if not form.lines.entries:
        _add_blank_lines(form)
    _fill_skill_choices(form)
    return render_template(
        "employers/survey_form.html",
        form=form,
        survey_round=survey_round,
        org=org,
        response=response,
        general_errors=general or [],
        failed=general is not None,
        visit=visit,
        occupations=surveys.occupation_choices(),
        max_lines=MAX_LINES,
        max_hires=surveys.MAX_HIRES,
        max_internships=surveys.MAX_INTERNSHIPS,
        today=today(),
    )


# --- Home, rounds ----------------------------------------------------------------------


@bp.route("/surveys")
@roles_required(*SURVEY_ROLES)
def survey_home() -> Any:
    now = today()
    open_now = db.session.execute(surveys.open_rounds(now).limit(50)).scalars().all()
    orgs = surveys.respondent_organisations(current_user)
    chosen = request.args.get("org", type=int)
    org = next((o for o in orgs if chosen is None or o.id == chosen), None)
    page = answered = None
    if org is not None:
        page = db.paginate(
            select(SurveyResponse)
            .join(SurveyRound)
            .where(SurveyResponse.organisation_id == org.id)
            .order_by(SurveyRound.closes_on.desc(), SurveyResponse.id.desc()),
            page_arg(),
            current_app.config["PER_PAGE"],
        )
        answered = set(
            db.session.execute(
                select(SurveyResponse.round_id).where(
                    SurveyResponse.organisation_id == org.id,
                    SurveyResponse.round_id.in_([r.id for r in open_now]),
                )
            ).scalars()
        )
    return render_template(
        "employers/survey_home.html",
        open_rounds=open_now,
        org=org,
        orgs=orgs,
        page=page,
        answered=answered or set(),
        today=now,
        is_broker=current_user.has_role(BROKER),
        manages_rounds=current_user.has_role(*ROUND_ROLES),
        reads_results=current_user.has_role(*RESULTS_ROLES),
    )


@bp.route("/surveys/rounds")
@roles_required(*ROUND_ROLES)
def survey_rounds() -> Any:
    page = db.paginate(surveys.all_rounds(), page_arg(), current_app.config["PER_PAGE"])
    counts = (
        dict(
            db.session.execute(
                select(SurveyResponse.round_id, func.count())
                .where(SurveyResponse.round_id.in_([r.id for r in page.items]))
                .group_by(SurveyResponse.round_id)
            ).all()
        )
        if page.items
        else {}
    )
    return render_template("employers/survey_rounds.html", page=page, counts=counts, today=today())


def _round_form_page(form: RoundForm, current: SurveyRound | None) -> Any:
    def build(**kwargs: Any) -> RoundForm:
        return RoundForm(obj=current, **kwargs)

    if current is not None and request.method == "GET":
        concurrency.stamp(form, current)
    if form.validate_on_submit() and (
        current is None or concurrency.unchanged_since(form, current, lambda: build(formdata=None))
    ):
        data = RoundData(
            title=form.title.data or "",
            year=form.year.data,
            opens_on=form.opens_on.data,
            closes_on=form.closes_on.data,
            description=form.description.data or "",
        )
        try:
            surveys.save_round(data, current_user, current)
        except SurveyError as error:
            db.session.rollback()
            for name, message in error.fields.items():
                getattr(form, name).errors = [*getattr(form, name).errors, message]
        else:
            db.session.commit()
            flash(_("The survey round has been saved."), "success")
            return redirect(url_for("employers.survey_rounds"))
    return render_template(
        "employers/survey_round_form.html", form=form, survey_round=current
    ), concurrency.status()


@bp.route("/surveys/rounds/new", methods=["GET", "POST"])
@roles_required(*ROUND_ROLES)
def survey_round_new() -> Any:
    form = RoundForm()
    if request.method == "GET":
        now = today()
        form.year.data = now.year
        form.opens_on.data = now
        form.closes_on.data = date(now.year, 12, 31)
    return _round_form_page(form, None)


@bp.route("/surveys/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@roles_required(*ROUND_ROLES)
def survey_round_edit(round_id: int) -> Any:
    survey_round = get_round(round_id)
    return _round_form_page(RoundForm(obj=survey_round), survey_round)


# --- The questionnaire -----------------------------------------------------------------


@bp.route("/surveys/rounds/<int:round_id>/answers", methods=["GET", "POST"])
@roles_required(*RESPONDENT_ROLES)
def survey_respond(round_id: int) -> Any:
    """The company answers for its own organisation (``?org=`` when it has several)."""
    survey_round = get_round(round_id)
    org = my_organisation()
    response = surveys.response_for(survey_round, org)
    if request.method == "GET" and not survey_round.is_open(today()):
        flash(_("This survey round is not open: answers cannot be given or changed."), "info")
        if response is not None:
            return redirect(url_for("employers.survey_response_detail", response_id=response.id))
        return redirect(url_for("employers.survey_home", org=org.id))
    form = (
        SurveyForm()
        if request.method == "POST"
        else SurveyForm(data=_initial(org, response, visit=False))
    )
    saved, general = _process(form, survey_round, org, visit=False)
    if saved is not None:
        flash(_("Thank you: your answers have been saved."), "success")
        return redirect(url_for("employers.survey_response_detail", response_id=saved.id))
    return _render_form(form, survey_round, org, response, general, visit=False)


@bp.route("/surveys/visits")
@roles_required(BROKER)
def survey_visits() -> Any:
    """Answers the broker's service filled in during company visits."""
    services = [s.id for s in surveys.broker_services(current_user)]
    page = db.paginate(
        select(SurveyResponse)
        .join(SurveyRound)
        .where(
            SurveyResponse.during_visit.is_(True),
            SurveyResponse.visit_service_id.in_(services or [-1]),
        )
        .order_by(SurveyResponse.updated_at.desc(), SurveyResponse.id.desc()),
        page_arg(),
        current_app.config["PER_PAGE"],
    )
    return render_template("employers/survey_visits.html", page=page, today=today())


@bp.route("/surveys/rounds/<int:round_id>/visit")
@roles_required(BROKER)
def survey_visit_companies(round_id: int) -> Any:
    """The broker picks the company they are visiting."""
    survey_round = get_round(round_id)
    if not survey_round.is_open(today()):
        flash(_("This survey round is not open: answers cannot be given or changed."), "info")
        return redirect(url_for("employers.survey_home"))
    q = (request.args.get("q") or "").strip()[:100]
    page = db.paginate(surveys.visitable_companies(q), page_arg(), current_app.config["PER_PAGE"])
    responses = (
        {
            r.organisation_id: r
            for r in db.session.execute(
                select(SurveyResponse).where(
                    SurveyResponse.round_id == survey_round.id,
                    SurveyResponse.organisation_id.in_([o.id for o in page.items]),
                )
            ).scalars()
        }
        if page.items
        else {}
    )
    services = {s.id for s in surveys.broker_services(current_user)}
    return render_template(
        "employers/survey_companies.html",
        survey_round=survey_round,
        page=page,
        q=q,
        responses=responses,
        services=services,
    )


@bp.route("/surveys/rounds/<int:round_id>/visit/<int:org_id>", methods=["GET", "POST"])
@roles_required(BROKER)
def survey_visit_respond(round_id: int, org_id: int) -> Any:
    """A broker fills the questionnaire in with the company, during a visit."""
    survey_round = get_round(round_id)
    org = db.session.get(Organisation, org_id)
    if not surveys.visitable(org):
        abort(404)
    assert org is not None
    response = surveys.response_for(survey_round, org)
    if not surveys.broker_may_fill(current_user, org, response):
        flash(
            _(
                "This company has answered on its own: only the company can see and change "
                "its answers."
            ),
            "danger",
        )
        return redirect(url_for("employers.survey_visit_companies", round_id=round_id))
    if request.method == "GET" and not survey_round.is_open(today()):
        flash(_("This survey round is not open: answers cannot be given or changed."), "info")
        return redirect(url_for("employers.survey_home"))
    form = (
        VisitSurveyForm()
        if request.method == "POST"
        else VisitSurveyForm(data=_initial(org, response, visit=True))
    )
    saved, general = _process(form, survey_round, org, visit=True)
    if saved is not None:
        flash(_("The answers of %(name)s have been saved.", name=org.name), "success")
        return redirect(url_for("employers.survey_response_detail", response_id=saved.id))
    return _render_form(form, survey_round, org, response, general, visit=True)


@bp.route("/surveys/answers/<int:response_id>")
@roles_required(*RESPONDENT_ROLES, BROKER)
def survey_response_detail(response_id: int) -> Any:
    response = db.session.get(SurveyResponse, response_id)
    if response is None:
        abort(404)
    require(surveys.can_read_response(current_user, response))
    own = surveys.can_answer_for(current_user, response.organisation)
    if response.round.is_open(today()):
        if own:
            edit_url = url_for(
                "employers.survey_respond", round_id=response.round_id, org=response.organisation_id
            )
        else:
            edit_url = url_for(
                "employers.survey_visit_respond",
                round_id=response.round_id,
                org_id=response.organisation_id,
            )
    else:
        edit_url = None
    return render_template(
        "employers/survey_response.html",
        response=response,
        own=own,
        edit_url=edit_url,
        today=today(),
    )


# --- Results ---------------------------------------------------------------------------


def _results_from_args() -> surveys.Results | None:
    round_id = request.args.get("round", type=int)
    if round_id is not None:
        survey_round = get_round(round_id)
    else:
        survey_round = db.session.execute(surveys.all_rounds().limit(1)).scalar_one_or_none()
        if survey_round is None:
            return None
    return surveys.aggregate(
        survey_round,
        request.args.get("territory", "region"),
        request.args.get("occupation", "isco1"),
    )


@bp.route("/surveys/results")
@roles_required(*RESULTS_ROLES)
def survey_results() -> Any:
    results = _results_from_args()
    rounds = db.session.execute(surveys.all_rounds().limit(200)).scalars().all()
    page = bars = None
    if results is not None:
        per_page = current_app.config["PER_PAGE"]
        number = page_arg()
        page = db.Page(
            items=results.cells[(number - 1) * per_page : number * per_page],
            total=len(results.cells),
            page=number,
            per_page=per_page,
        )
        bars = surveys.chart_bars(page.items, results.max_value)
    return render_template(
        "employers/survey_results.html",
        results=results,
        rounds=rounds,
        page=page,
        bars=bars,
        territory_levels=surveys.TERRITORY_LEVELS,
        occupation_levels=surveys.OCCUPATION_LEVELS,
        chart_width=surveys.CHART_WIDTH,
        bar_area=surveys.CHART_BAR_AREA,
        row_height=surveys.CHART_ROW,
        minimum=surveys.MIN_CELL_COMPANIES,
        today=today(),
    )


def _download(body: str | bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/surveys/results.csv")
@roles_required(*RESULTS_ROLES)
def survey_results_csv() -> Any:
    results = _results_from_args()
    if results is None:
        abort(404)
    # A byte-order mark lets spreadsheet programs read the accents as UTF-8.
    response = _download(
        "\ufeff" + surveys.to_csv(results), "text/csv", surveys.export_filename(results, "csv")
    )
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    return response


@bp.route("/surveys/results.xlsx")
@roles_required(*RESULTS_ROLES)
def survey_results_xlsx() -> Any:
    results = _results_from_args()
    if results is None:
        abort(404)
    return _download(
        surveys.to_xlsx(results),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        surveys.export_filename(results, "xlsx"),
    )
