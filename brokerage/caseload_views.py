"""Broker pages: the caseload, the candidate's record and its sensitive part, consent,
the data subject's rights, the placement pathway, handover between services.

Every page is for brokers only and every candidate is reached through
:func:`brokerage.access.candidate_for` (a case the user's services do not hold is a 404,
audit-logged). Pages carrying personal data are sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select

import portal.demo
from brokerage import access, caseload, consents, data_rights, pathway
from brokerage.caseload import CaseloadError, ProfileData, SensitiveData
from brokerage.caseload_forms import (
    CandidateCreateForm,
    ConsentForm,
    EraseForm,
    ExportForm,
    HandoverForm,
    ObservationForm,
    ProfileForm,
    ReasonForm,
    RevokeForm,
    SensitiveForm,
    StageEditForm,
    StageForm,
    origin_choices,
)
from brokerage.demo import seed
from brokerage.models import (
    ACTIVE,
    CLOSE_REASONS,
    CLOSED,
    CONSENT_PURPOSES,
    EDUCATION_LEVELS,
    PLACED,
    PROPOSAL_STATES,
    STAGES,
    WORK_EXPERIENCE_KINDS,
    Candidate,
    Consent,
    PathwayStage,
    Proposal,
)
from brokerage.views import bp
from employers.models import CONTRACT_TYPES, Vacancy
from portal import concurrency, db, spreadsheets
from portal.db import utcnow
from portal.forms import options
from portal.models import BROKER, SERVICE, Organisation
from portal.municipalities import resolve_municipality
from portal.permissions import roles_required
from portal.taxonomy import (
    ADJUSTMENTS,
    Occupation,
    Skill,
    search_occupations,
    search_skills,
    skill_options,
    suggested_skills,
)
from portal.uploads import accepts_upload
from portal.views import page_arg

bp.record_once(lambda s: portal.demo.register_seeder(s.app, seed))

#: Overdue items listed on the caseload before "show more" (the rest fold away).
OVERDUE_SHOWN = 5
STATUS_LABELS = {ACTIVE: _l("Active"), PLACED: _l("Placed"), CLOSED: _l("Closed")}
ACTION_LABELS = {
    "candidate.create": _l("Record created"),
    "candidate.update": _l("Profile changed"),
    "candidate.sensitive_read": _l("Sensitive data read"),
    "candidate.sensitive_update": _l("Sensitive data changed"),
    "candidate.access_denied": _l("Access refused"),
    "candidate.export": _l("All data exported"),
    "candidate.erase": _l("Data erased"),
    "candidate.handover": _l("Case handed over to another service"),
    "candidate.access_log_export": _l("Access log exported"),
    "consent.record": _l("Consent recorded"),
    "consent.revoke": _l("Consent revoked"),
    "consent.document_download": _l("Signed consent form downloaded"),
    "pathway.stage": _l("Pathway stage recorded"),
    "pathway.stage_update": _l("Pathway stage changed"),
    "pathway.observation": _l("Lab observation recorded"),
    "proposal.create": _l("Proposed to an employer"),
    "proposal.withdraw": _l("Proposal withdrawn"),
}
HOLDING_EVENTS = {
    "holding_start": _l("Case taken in charge by"),
    "holding_end": _l("Case no longer held by"),
}


def today() -> date:
    return utcnow().date()


def no_store(view: Callable[..., Any]) -> Callable[..., Any]:
    """Personal data must not stay in shared caches or the browser's history cache."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store, private"
        response.headers["Pragma"] = "no-cache"
        return response

    return wrapper


def held(candidate_id: int, purpose: str = "view") -> Candidate:
    return access.candidate_for(current_user, candidate_id, purpose)


def user() -> Any:
    return current_user._get_current_object()


def show_errors(form: Any, error: CaseloadError, extra: dict[str, list[str]] | None = None) -> None:
    """Put service errors next to their fields; the others go to ``extra`` (fieldsets)."""
    aliases = {
        "sensitive_notes": "sensitive_notes",
        "origin_service": "origin_service",
        "consent": "submit",
        "started_on": "started_on",
    }
    for name, message in error.fields.items():
        target = getattr(form, aliases.get(name, name), None)
        if target is not None and not hasattr(target, "entries") and hasattr(target, "errors"):
            target.errors = [*(target.errors or []), str(message)]
        elif extra is not None:
            extra.setdefault(name, []).append(str(message))
        else:
            flash(str(message), "danger")


# --- Caseload ----------------------------------------------------------------------------


@bp.route("/brokerage/caseload", endpoint="caseload")
@roles_required(BROKER)
@no_store
def caseload_page() -> Any:
    status = request.args.get("status", "")
    q = (request.args.get("q") or "").strip()[:12]
    comune_text = (request.args.get("comune") or "").strip()[:120]
    stmt = access.caseload_query(current_user)
    if status in STATUS_LABELS:
        stmt = stmt.where(Candidate.status == status)
    if q:
        stmt = stmt.where(func.upper(Candidate.pseudonym).contains(q.upper(), autoescape=True))
    comune = resolve_municipality(comune_text) if comune_text else None
    if comune_text:
        stmt = stmt.where(Candidate.comune_code == (comune.istat_code if comune else "-"))
    page = db.paginate(
        stmt.order_by(Candidate.updated_at.desc(), Candidate.id.desc()),
        page_arg(),
        current_app.config["PER_PAGE"],
    )
    ids = [c.id for c in page.items]
    stages: dict[int, PathwayStage] = {}
    for stage in db.session.execute(
        select(PathwayStage)
        .where(PathwayStage.candidate_id.in_(ids), PathwayStage.stage != "follow_up")
        .order_by(PathwayStage.started_on, PathwayStage.id)
    ).scalars():
        stages[stage.candidate_id] = stage
    total = db.session.execute(
        select(func.count()).select_from(
            access.caseload_query(current_user).where(Candidate.status != CLOSED).subquery()
        )
    ).scalar_one()
    return render_template(
        "brokerage/caseload.html",
        page=page,
        stages=stages,
        status=status,
        q=q,
        comune_text=comune_text,
        comune_unknown=bool(comune_text and comune is None),
        statuses=STATUS_LABELS,
        stage_labels=STAGES,
        open_cases=total,
        reminders=pathway.overdue_for(current_user, today(), limit=50),
        overdue_shown=OVERDUE_SHOWN,
        today=today(),
        consent_status=consents.consent_status,
    )


@bp.route("/brokerage/skills")
@roles_required(BROKER)
def skill_suggestions() -> Any:
    """ESCO skills matching ``q`` (the skill picker's look-up): the top 15."""
    q = (request.args.get("q") or "").strip()[:100]
    found = search_skills(q, limit=15) if len(q) >= 2 else []
    return jsonify(
        {"items": [{"id": s.id, "label": s.label, "label_en": s.label_en} for s in found]}
    )


@bp.route("/brokerage/occupations")
@roles_required(BROKER)
def occupation_suggestions() -> Any:
    """ESCO occupations matching ``q``: the top 15."""
    q = (request.args.get("q") or "").strip()[:100]
    found = search_occupations(q, limit=15) if len(q) >= 2 else []
    return jsonify(
        {"items": [{"id": o.id, "label": o.label, "label_en": o.label_en} for o in found]}
    )


# --- The record: profile form ------------------------------------------------------------


def resolve_occupation(text: str) -> tuple[Occupation | None, str | None]:
    """An ESCO occupation from what the broker typed: its label (Italian or English, or
    one of the Italian gendered forms), or the only one containing the words."""
    text = " ".join((text or "").split())
    if not text:
        return None, None
    low = text.lower()
    exact = db.session.execute(
        select(Occupation)
        .where(or_(func.lower(Occupation.label_it) == low, func.lower(Occupation.label_en) == low))
        .limit(1)
    ).scalar_one_or_none()
    if exact is not None:
        return exact, None
    found = search_occupations(text, limit=6)
    for occ in found:
        if low in [part.strip().lower() for part in (occ.label_it or "").split("/")]:
            return occ, None
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, _("No ESCO occupation matches “%(text)s”.", text=text)
    return None, _(
        "Several occupations match: %(list)s. Write one in full.",
        list="; ".join(o.label for o in found[:5]),
    )


def resolve_skill(text: str) -> Skill | None:
    low = " ".join((text or "").split()).lower()
    if not low:
        return None
    return db.session.execute(
        select(Skill)
        .where(or_(func.lower(Skill.label_it) == low, func.lower(Skill.label_en) == low))
        .limit(1)
    ).scalar_one_or_none()


def read_profile_form(
    form: ProfileForm, candidate: Candidate | None, extra: dict[str, list[str]]
) -> tuple[ProfileData | None, bool]:
    """Fill the skill choices, resolve ESCO labels; returns (data, only_refresh).
    ``data`` is None when the form cannot be saved as it is."""
    refresh = bool(form.suggest.data or form.find_skills.data)
    valid = request.method == "POST" and not refresh and form.validate()
    problems = False
    occupations: list[Occupation] = []
    for entry in form.occupations.entries:
        occ, problem = resolve_occupation(entry.data or "")
        if problem:
            entry.errors = [problem]
            problems = True
        elif occ is not None and occ not in occupations:
            occupations.append(occ)
    experiences = []
    for entry in form.experiences.entries:
        sub = entry.form
        if not (
            (sub.occupation.data or "").strip()
            or sub.months.data
            or (sub.description.data or "").strip()
        ):
            continue
        occ, problem = resolve_occupation(sub.occupation.data or "")
        if problem:
            sub.occupation.errors = [problem]
            problems = True
        experiences.append(
            caseload.ExperienceData(
                occupation_id=occ.id if occ else None,
                months=sub.months.data or 0,
                description=sub.description.data or "",
            )
        )
    selected = [int(s) for s in (form.skills.data or [])]
    if request.method == "GET" and candidate is not None:
        selected = [s.skill_id for s in candidate.skills]
    choices: dict[int, str] = {}
    for skill in db.session.execute(select(Skill).where(Skill.id.in_(selected))).scalars():
        choices[skill.id] = skill.label
    if form.suggest.data:
        if not occupations:
            extra.setdefault("skills", []).append(_("Write the desired occupations first."))
        for occ in occupations:
            essential, optional = suggested_skills(occ)
            for skill in essential + optional[:10]:
                choices.setdefault(skill.id, skill.label)
    text = (form.skill_search.data or "").strip()
    if text:
        exact = resolve_skill(text)
        if exact is not None:
            choices.setdefault(exact.id, exact.label)
            if exact.id not in selected:
                selected.append(exact.id)
            form.skill_search.data = ""
        elif form.find_skills.data:
            found = search_skills(text, limit=15)
            if not found:
                form.skill_search.errors = [_("No ESCO skill matches these words.")]
            for skill in found:
                choices.setdefault(skill.id, skill.label)
        else:
            form.skill_search.errors = [
                _("Press “Find skills” and tick the right one, or empty this field.")
            ]
    form.skills.choices = options(skill_options(choices))
    form.skills.data = selected
    if request.method != "POST" or refresh:
        return None, refresh
    if not valid or problems or extra or form.skill_search.errors:
        return None, False
    languages = [x for x in (form.languages.data or "").split(",") if x.strip()]
    return ProfileData(
        full_name=form.full_name.data or "",
        comune_code=form.comune.data or "",
        max_commute_km=form.max_commute_km.data or 0,
        hours_min=form.hours_min.data,
        hours_max=form.hours_max.data,
        education_level=form.education_level.data,
        driving_licence=bool(form.driving_licence.data),
        languages=languages,
        summary=form.summary.data or "",
        skill_ids=selected,
        occupation_ids=[o.id for o in occupations],
        experiences=experiences,
        adjustments=list(form.adjustments.data or []),
    ), False


def profile_form_data(candidate: Candidate) -> dict[str, Any]:
    return {
        "full_name": candidate.full_name,
        "comune": candidate.municipality.label,
        "max_commute_km": candidate.max_commute_km,
        "hours_min": candidate.hours_min,
        "hours_max": candidate.hours_max,
        "education_level": candidate.education_level,
        "driving_licence": candidate.driving_licence,
        "languages": ", ".join(candidate.languages or []),
        "summary": candidate.summary,
        "occupations": [o.occupation.label for o in candidate.desired],
        "experiences": [
            {
                "occupation": e.occupation.label if e.occupation else "",
                "months": e.months,
                "description": e.description,
            }
            for e in candidate.experiences
        ],
        "adjustments": candidate.adjustments,
    }


def pad_rows(form: ProfileForm) -> None:
    """Blank rows to add occupations and experiences without JavaScript."""
    if (
        all((e.data or "").strip() for e in form.occupations.entries)
        and len(form.occupations.entries) < form.occupations.max_entries
    ):
        form.occupations.append_entry()
    blanks = sum(
        1
        for e in form.experiences.entries
        if not (
            (e.form.occupation.data or "").strip()
            or e.form.months.data
            or (e.form.description.data or "").strip()
        )
    )
    while blanks < 2 and len(form.experiences.entries) < form.experiences.max_entries:
        form.experiences.append_entry()
        blanks += 1


def service_choices() -> list[Organisation]:
    return list(
        db.session.execute(
            select(Organisation)
            .where(Organisation.kind == SERVICE, Organisation.verified_at.is_not(None))
            .order_by(Organisation.name)
        ).scalars()
    )


@bp.route("/brokerage/candidates/new", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def candidate_new() -> Any:
    services = current_user.organisations(BROKER)
    if request.method == "GET":
        form = CandidateCreateForm(
            data={
                "comune": services[0].municipality.label
                if services and services[0].municipality
                else ""
            }
        )
    else:
        form = CandidateCreateForm()
    form.service.choices = options((s.id, s.name) for s in services)
    form.origin_service.choices = origin_choices(service_choices())
    extra: dict[str, list[str]] = {}
    profile, _refresh = read_profile_form(form, None, extra)
    if profile is not None:
        service = next((s for s in services if s.id == form.service.data), None)
        if service is None and len(services) == 1:
            service = services[0]
        sensitive = SensitiveData(
            target_group=form.target_group.data or None,
            disability_percentage=form.disability_percentage.data,
            origin_service_id=form.origin_service.data or None,
            notes=form.sensitive_notes.data or "",
        )
        try:
            if service is None:
                raise CaseloadError({"service": _("Choose the service taking charge.")})
            candidate = caseload.create_candidate(service, user(), profile, sensitive, today())
        except CaseloadError as error:
            db.session.rollback()
            show_errors(form, error, extra)
        else:
            db.session.commit()
            flash(
                _(
                    "The record of %(pseudonym)s has been created. Record the consent now.",
                    pseudonym=candidate.pseudonym,
                ),
                "success",
            )
            return redirect(url_for("brokerage.consent_new", candidate_id=candidate.id))
    pad_rows(form)
    return render_template(
        "brokerage/candidate_form.html",
        form=form,
        candidate=None,
        extra=extra,
        create=True,
        show_service=len(services) > 1,
    )


@bp.route("/brokerage/candidates/<int:candidate_id>/edit", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def candidate_edit(candidate_id: int) -> Any:
    candidate = held(candidate_id, "update")

    def build(**kwargs: Any) -> ProfileForm:
        if request.method == "GET" or kwargs:
            return ProfileForm(data=profile_form_data(candidate), **kwargs)
        return ProfileForm()

    form = concurrency.edit_form(build, candidate)
    extra: dict[str, list[str]] = {}
    profile, _refresh = read_profile_form(form, candidate, extra)
    if profile is not None and concurrency.unchanged_since(
        form, candidate, lambda: build(formdata=None)
    ):
        try:
            caseload.update_profile(candidate, user(), profile)
        except CaseloadError as error:
            db.session.rollback()
            show_errors(form, error, extra)
        else:
            db.session.commit()
            flash(_("The profile has been saved."), "success")
            return redirect(url_for("brokerage.candidate_detail", candidate_id=candidate.id))
    pad_rows(form)
    return render_template(
        "brokerage/candidate_form.html",
        form=form,
        candidate=candidate,
        extra=extra,
        create=False,
        show_service=False,
    ), concurrency.status()


@bp.route("/brokerage/candidates/<int:candidate_id>")
@roles_required(BROKER)
@no_store
def candidate_detail(candidate_id: int) -> Any:
    candidate = held(candidate_id)
    stages = pathway.stages_of(candidate)
    proposals = db.session.execute(
        select(Proposal, Vacancy)
        .join(Vacancy, Vacancy.id == Proposal.vacancy_id)
        .where(Proposal.candidate_id == candidate.id)
        .order_by(Proposal.created_at.desc())
    ).all()
    return render_template(
        "brokerage/candidate_detail.html",
        candidate=candidate,
        consents=consents.consents_of(candidate),
        current=pathway.current_stage(stages),
        follow_ups=pathway.follow_ups(stages),
        proposals=proposals,
        today=today(),
        purposes=CONSENT_PURPOSES,
        stage_labels=STAGES,
        statuses=STATUS_LABELS,
        education=EDUCATION_LEVELS,
        adjustments=ADJUSTMENTS,
        states=PROPOSAL_STATES,
        revoke_form=RevokeForm(),
        consent_status=consents.consent_status(candidate, today()),
        holdings=sorted(candidate.holdings, key=lambda h: (h.since, h.id)),
    )


# --- The sensitive part ------------------------------------------------------------------


def sensitive_form_from(view: caseload.SensitiveView, reason: str) -> SensitiveForm:
    form = SensitiveForm(
        formdata=None,
        data={
            "target_group": view.target_group or "",
            "disability_percentage": int(view.disability_percentage)
            if (view.disability_percentage or "").isdigit()
            else None,
            "origin_service": view.origin_service_id or 0,
            "sensitive_notes": view.notes,
            "reason": reason,
        },
    )
    return form


@bp.route("/brokerage/candidates/<int:candidate_id>/sensitive", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def candidate_sensitive(candidate_id: int) -> Any:
    """Shown only on an explicit request with a reason; every read is audit-logged."""
    candidate = held(candidate_id, "sensitive_read")
    form = ReasonForm()
    data = None
    if form.validate_on_submit():
        try:
            data = caseload.read_sensitive(candidate, user(), form.reason.data or "")
        except CaseloadError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
    edit_form = None
    if data is not None:
        edit_form = sensitive_form_from(data, form.reason.data or "")
        edit_form.origin_service.choices = origin_choices(service_choices())
    return render_template(
        "brokerage/candidate_sensitive.html",
        candidate=candidate,
        form=form,
        data=data,
        edit_form=edit_form,
    )


@bp.route("/brokerage/candidates/<int:candidate_id>/sensitive/edit", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def candidate_sensitive_edit(candidate_id: int) -> Any:
    candidate = held(candidate_id, "sensitive_update")
    if request.method == "GET":
        return redirect(url_for("brokerage.candidate_sensitive", candidate_id=candidate.id))
    form = SensitiveForm()
    form.origin_service.choices = origin_choices(service_choices())
    if form.validate_on_submit():
        data = SensitiveData(
            target_group=form.target_group.data or None,
            disability_percentage=form.disability_percentage.data,
            origin_service_id=form.origin_service.data or None,
            notes=form.sensitive_notes.data or "",
        )
        try:
            caseload.update_sensitive(candidate, user(), data, form.reason.data or "")
        except CaseloadError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("The sensitive data have been saved."), "success")
            return redirect(url_for("brokerage.candidate_detail", candidate_id=candidate.id))
    elif form.reason.errors:
        flash(_("Say why you need the sensitive data."), "danger")
        return redirect(url_for("brokerage.candidate_sensitive", candidate_id=candidate.id))
    return render_template(
        "brokerage/candidate_sensitive.html",
        candidate=candidate,
        form=ReasonForm(formdata=None),
        data=None,
        edit_form=form,
    )


# --- The data subject's rights -----------------------------------------------------------


@bp.route("/brokerage/candidates/<int:candidate_id>/access-log")
@roles_required(BROKER)
@no_store
def candidate_access_log(candidate_id: int) -> Any:
    """Every audit entry about the person: who, when, what, why (what they can be shown).
    ``?format=csv`` downloads it (the download itself is logged)."""
    candidate = held(candidate_id, "access_log")
    if request.args.get("format") == "csv":
        from portal import audit

        audit.record("candidate.access_log_export", candidate, subject=candidate)
        db.session.commit()
        out = io.StringIO()
        writer = spreadsheets.CsvWriter(out)
        writer.writerow([_("When"), _("Who"), _("What"), _("Reason")])
        for entry in db.session.execute(caseload.access_log_query(candidate.id)).scalars():
            writer.writerow(
                [
                    entry.at.isoformat(timespec="seconds"),
                    entry.actor.display_name if entry.actor else "",
                    str(ACTION_LABELS.get(entry.action, entry.action)),
                    entry.reason,
                ]
            )
        response = make_response(out.getvalue())
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        response.headers["Content-Disposition"] = (
            f"attachment; filename=access-log-{candidate.pseudonym}.csv"
        )
        return response
    page = db.paginate(caseload.access_log_query(candidate.id), page_arg(), 50)
    return render_template(
        "brokerage/candidate_access_log.html", candidate=candidate, page=page, actions=ACTION_LABELS
    )


@bp.route("/brokerage/candidates/<int:candidate_id>/export", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def candidate_export(candidate_id: int) -> Any:
    candidate = held(candidate_id, "export")
    form = ExportForm()
    if form.validate_on_submit():
        try:
            data = data_rights.export_candidate(candidate, user(), form.reason.data or "")
        except CaseloadError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            response = make_response(json.dumps(data, ensure_ascii=False, indent=2, default=str))
            response.headers["Content-Type"] = "application/json; charset=utf-8"
            response.headers["Content-Disposition"] = (
                f"attachment; filename=ponte-{candidate.pseudonym}.json"
            )
            return response
    return render_template("brokerage/candidate_export.html", candidate=candidate, form=form)


@bp.route("/brokerage/candidates/<int:candidate_id>/erase", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def candidate_erase(candidate_id: int) -> Any:
    candidate = held(candidate_id, "erase")
    form = EraseForm()
    if form.validate_on_submit():
        if (form.pseudonym.data or "").strip().upper() != candidate.pseudonym:
            form.pseudonym.errors = [_("Type the pseudonym exactly: %(p)s.", p=candidate.pseudonym)]
        else:
            try:
                data_rights.erase_candidate(candidate, user(), form.reason.data or "")
            except CaseloadError as error:
                db.session.rollback()
                show_errors(form, error)
            else:
                db.session.commit()
                flash(
                    _(
                        "The personal data of %(pseudonym)s have been erased.",
                        pseudonym=candidate.pseudonym,
                    ),
                    "success",
                )
                return redirect(url_for("brokerage.caseload"))
    return render_template("brokerage/candidate_erase.html", candidate=candidate, form=form)


# --- Consent -----------------------------------------------------------------------------


@bp.route("/brokerage/candidates/<int:candidate_id>/consents/new", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
@accepts_upload(consents.MAX_DOCUMENT_BYTES)
def consent_new(candidate_id: int) -> Any:
    candidate = held(candidate_id, "consent")
    form = ConsentForm()
    if request.method == "GET":
        form.given_on.data = today()
        form.expires_on.data = consents.add_years(today(), 2)
        if request.args.get("purpose") in CONSENT_PURPOSES:
            form.purpose.data = request.args["purpose"]
    if form.validate_on_submit():
        try:
            consent = consents.record_consent(
                candidate,
                user(),
                form.purpose.data,
                form.given_on.data,
                form.expires_on.data,
                today(),
            )
            # The file is kept only once the consent itself is valid: no orphan files.
            upload = form.document.data
            document = consents.store_document(upload.stream, upload.filename or "")
            consent.document_name, consent.document_sha256 = document.name, document.sha256
        except CaseloadError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("The consent has been recorded."), "success")
            return redirect(url_for("brokerage.candidate_detail", candidate_id=candidate.id))
    return render_template("brokerage/consent_form.html", candidate=candidate, form=form)


def held_consent(consent_id: int, purpose: str) -> tuple[Consent, Candidate]:
    consent = db.session.get(Consent, consent_id)
    if consent is None:
        abort(404)
    return consent, held(consent.candidate_id, purpose)


@bp.route("/brokerage/consents/<int:consent_id>/revoke", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def consent_revoke(consent_id: int) -> Any:
    consent, candidate = held_consent(consent_id, "consent_revoke")
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            withdrawn = consents.revoke_consent(
                consent, user(), today(), reason=form.reason.data or ""
            )
        except CaseloadError as error:
            db.session.rollback()
            flash(" ".join(str(m) for m in error.fields.values()), "danger")
        else:
            db.session.commit()
            flash(_("The consent has been revoked."), "success")
            if withdrawn:
                flash(_("Open proposals withdrawn: %(num)d.", num=withdrawn), "info")
        return redirect(url_for("brokerage.candidate_detail", candidate_id=candidate.id))
    return render_template(
        "brokerage/consent_revoke.html",
        candidate=candidate,
        consent=consent,
        form=form,
        purposes=CONSENT_PURPOSES,
    )


@bp.route("/brokerage/consents/<int:consent_id>/document")
@roles_required(BROKER)
def consent_document(consent_id: int) -> Any:
    consent, candidate = held_consent(consent_id, "consent_document")
    path = consents.document_path(consent)
    if path is None:
        abort(404)
    from portal import audit

    audit.record("consent.document_download", consent, subject=candidate)
    db.session.commit()
    response = send_file(
        path,
        mimetype=consents.document_mimetype(consent),
        as_attachment=True,
        download_name=consent.document_name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- Pathway -----------------------------------------------------------------------------


@bp.route("/brokerage/candidates/<int:candidate_id>/pathway")
@roles_required(BROKER)
@no_store
def pathway_timeline(candidate_id: int) -> Any:
    candidate = held(candidate_id, "pathway")
    stages = pathway.stages_of(candidate)
    labs = {s.id: pathway.observations(s) for s in stages if pathway.is_lab(s)}
    due = {s.id: pathway.observation_due(s, today()) for s in stages if pathway.is_lab(s)}
    allowed = pathway.allowed_next(stages)
    return render_template(
        "brokerage/pathway_timeline.html",
        candidate=candidate,
        items=pathway.timeline(candidate),
        follow_ups=pathway.follow_ups(stages),
        allowed=allowed,
        likely=pathway.likely_next(stages, allowed),
        states=PROPOSAL_STATES,
        stage_labels=STAGES,
        labs=labs,
        due=due,
        kinds=WORK_EXPERIENCE_KINDS,
        contracts=CONTRACT_TYPES,
        reasons=CLOSE_REASONS,
        criteria=pathway.OBSERVATION_CRITERIA,
        holding_events=HOLDING_EVENTS,
        today=today(),
        as_date=date.fromisoformat,
        consent_ok=consents.has_consent(candidate, consents.PATHWAY, today()),
        consent_message=consents.consent_missing_message(consents.PATHWAY),
        consent_purpose=consents.PATHWAY,
    )


def broker_choices(candidate: Candidate, extra_service: int | None = None) -> list[Any]:
    ids = set(candidate.holding_service_ids)
    if extra_service:
        ids.add(extra_service)
    return options((b.id, b.display_name) for b in pathway.brokers_of(ids))


def stage_details(stage: str, form: StageForm) -> dict[str, Any]:
    if stage in ("training_plan", "training"):
        return {"title": form.title.data}
    if stage == "work_experience":
        return {
            "kind": form.kind.data,
            "planned_end": form.planned_end.data,
            "host": form.host.data,
        }
    if stage == "hiring":
        return {
            "contract_type": form.contract_type.data,
            "hours": form.hours.data,
            "employer": form.employer.data,
        }
    if stage == "follow_up":
        return {
            "month": form.month.data,
            "still_employed": form.still_employed.data,
            "hours": form.hours.data,
        }
    if stage == "closed":
        return {"reason": form.reason.data}
    return {}


def prefill_hiring(candidate: Candidate, form: StageForm) -> None:
    """A hire the employer recorded on a proposal fills the hiring stage."""
    row = db.session.execute(
        select(Proposal)
        .where(Proposal.candidate_id == candidate.id, Proposal.status == "hired")
        .order_by(Proposal.updated_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return
    employer = db.session.get(Organisation, row.employer_org_id)
    form.employer.data = employer.name if employer else ""
    form.contract_type.data = row.hire_contract_type or form.contract_type.data
    form.hours.data = row.hire_hours
    form.started_on.data = row.hire_start_on or form.started_on.data


@bp.route("/brokerage/candidates/<int:candidate_id>/pathway/new/<stage>", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def pathway_stage_new(candidate_id: int, stage: str) -> Any:
    candidate = held(candidate_id, "pathway")
    if stage not in STAGES or stage == "referral":
        abort(404)
    stages = pathway.stages_of(candidate)
    form = StageForm()
    form.broker.choices = broker_choices(candidate)
    pending = [f for f in pathway.follow_ups(stages) if f.done_on is None]
    form.month.choices = options(
        (f.month, _("%(num)d months (due %(date)s)", num=f.month, date=format_date(f.due_on)))
        for f in pending
    )
    if request.method == "GET":
        form.started_on.data = (
            pending[0].due_on
            if stage == "follow_up" and pending and pending[0].due_on <= today()
            else today()
        )
        form.broker.data = current_user.id
        if stage == "hiring":
            prefill_hiring(candidate, form)
    if form.validate_on_submit():
        data = pathway.StageInput(
            stage=stage,
            started_on=form.started_on.data,
            ended_on=form.ended_on.data if stage not in ("follow_up", "closed") else None,
            tutor=form.tutor.data or "",
            notes=form.notes.data or "",
            broker_id=form.broker.data or None,
            details=stage_details(stage, form),
        )
        try:
            pathway.add_stage(candidate, user(), data, today())
        except CaseloadError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("Stage recorded: %(stage)s.", stage=STAGES[stage]), "success")
            return redirect(url_for("brokerage.pathway_timeline", candidate_id=candidate.id))
    employers = (
        db.session.execute(
            select(Organisation.name)
            .where(
                Organisation.kind.in_(pathway.EMPLOYER_KINDS), Organisation.verified_at.is_not(None)
            )
            .order_by(Organisation.name)
            .limit(300)
        )
        .scalars()
        .all()
    )
    return render_template(
        "brokerage/pathway_stage_form.html",
        candidate=candidate,
        form=form,
        stage=stage,
        stage_labels=STAGES,
        allowed=stage in pathway.allowed_next(stages),
        employers=employers,
        consent_ok=stage == "closed" or consents.has_consent(candidate, consents.PATHWAY, today()),
        consent_message=consents.consent_missing_message(consents.PATHWAY),
        consent_purpose=consents.PATHWAY,
    )


def held_stage(stage_id: int, purpose: str) -> tuple[PathwayStage, Candidate]:
    stage = db.session.get(PathwayStage, stage_id)
    if stage is None:
        abort(404)
    return stage, held(stage.candidate_id, purpose)


@bp.route("/brokerage/pathway/<int:stage_id>/edit", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def pathway_stage_edit(stage_id: int) -> Any:
    stage, candidate = held_stage(stage_id, "pathway")

    def build(**kwargs: Any) -> StageEditForm:
        fresh = request.method == "GET" or kwargs
        form = StageEditForm(obj=stage, **kwargs) if fresh else StageEditForm()
        form.broker.choices = broker_choices(candidate, stage.service_id)
        if fresh:
            form.broker.data = stage.broker_id
        return form

    form = concurrency.edit_form(build, stage)
    if concurrency.may_save(form, build, stage):
        try:
            pathway.update_stage(
                stage,
                user(),
                form.ended_on.data,
                form.tutor.data or "",
                form.notes.data or "",
                form.broker.data or None,
                today(),
            )
        except CaseloadError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("The stage has been saved."), "success")
            return redirect(url_for("brokerage.pathway_timeline", candidate_id=candidate.id))
    return render_template(
        "brokerage/pathway_stage_edit.html",
        candidate=candidate,
        stage=stage,
        form=form,
        stage_labels=STAGES,
    ), concurrency.status()


@bp.route("/brokerage/pathway/<int:stage_id>/observations/new", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def pathway_observation_new(stage_id: int) -> Any:
    stage, candidate = held_stage(stage_id, "observation")
    if not pathway.is_lab(stage):
        abort(404)
    form = ObservationForm()
    if request.method == "GET":
        form.on.data = min(today(), pathway.lab_end(stage) or today())
    if form.validate_on_submit():
        scores = {k: int(getattr(form, k).data) for k in pathway.OBSERVATION_CRITERIA}
        try:
            pathway.add_observation(
                stage,
                user(),
                form.on.data,
                scores,  # type: ignore
                form.notes.data or "",
                today(),
            )
        except CaseloadError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("The observation has been recorded."), "success")
            return redirect(url_for("brokerage.pathway_timeline", candidate_id=candidate.id))
    return render_template(
        "brokerage/pathway_observation_form.html",
        candidate=candidate,
        stage=stage,
        form=form,
        criteria=pathway.OBSERVATION_CRITERIA,
        observations=pathway.observations(stage),
    )


# --- Handover ----------------------------------------------------------------------------


@bp.route("/brokerage/candidates/<int:candidate_id>/handover", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def handover(candidate_id: int) -> Any:
    candidate = held(candidate_id, "handover")
    form = HandoverForm()
    form.to_service.choices = options(
        [(0, "—")] + [(s.id, s.name) for s in caseload.handover_targets(candidate)]
    )
    if form.validate_on_submit():
        try:
            caseload.hand_over(
                candidate, user(), form.to_service.data or None, today(), form.note.data or ""
            )
        except CaseloadError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(
                _("The case of %(pseudonym)s has been handed over.", pseudonym=candidate.pseudonym),
                "success",
            )
            if access.holds(current_user, candidate):
                return redirect(url_for("brokerage.candidate_detail", candidate_id=candidate.id))
            return redirect(url_for("brokerage.caseload"))
    return render_template(
        "brokerage/handover_form.html",
        candidate=candidate,
        form=form,
        holdings=[h for h in candidate.holdings if h.until is None],
        consent_ok=consents.has_consent(candidate, consents.DATA_SHARING, today()),
        consent_message=consents.consent_missing_message(consents.DATA_SHARING),
        consent_purpose=consents.DATA_SHARING,
    )
