"""Broker pages of the caseload: the list of held candidates, the candidate's record
(creating and editing the profile, the detail page), its sensitive part, and handover
between services. The person's rights (access log, export, erasure, consent) are in
``rights_views``, the placement pathway in ``pathway_views``.

Every page is for brokers only and every candidate is reached through
:func:`brokerage.access.candidate_for` (a case the user's services do not hold is a 404,
audit-logged). Pages carrying personal data are sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select

import portal.demo
from brokerage import access, caseload, consents, pathway
from brokerage.blueprint import bp, change, consent_notice, held, no_store, today, user
from brokerage.caseload import ProfileData, SensitiveData
from brokerage.caseload_forms import (
    CandidateCreateForm,
    HandoverForm,
    ProfileForm,
    ReasonForm,
    RevokeForm,
    SensitiveForm,
    origin_choices,
)
from brokerage.demo import seed
from brokerage.errors import CaseloadError
from brokerage.models import (
    ACTIVE,
    CLOSED,
    CONSENT_PURPOSES,
    EDUCATION_LEVELS,
    PLACED,
    PROPOSAL_STATES,
    STAGES,
    Candidate,
    PathwayStage,
    Proposal,
)
from employers.models import Vacancy
from portal import concurrency, db
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
from portal.views import page_arg

bp.record_once(lambda s: portal.demo.register_seeder(s.app, seed))

#: Overdue items listed on the caseload before "show more" (the rest fold away).
OVERDUE_SHOWN = 5
STATUS_LABELS = {ACTIVE: _l("Active"), PLACED: _l("Placed"), CLOSED: _l("Closed")}


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
        with change(form, extra) as done:
            if service is None:
                raise CaseloadError({"service": _("Choose the service taking charge.")})
            candidate = caseload.create_candidate(service, user(), profile, sensitive, today())
        if done.ok:
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
        with change(form, extra) as done:
            caseload.update_profile(candidate, user(), profile)
        if done.ok:
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
        with change(form):
            data = caseload.read_sensitive(candidate, user(), form.reason.data or "")
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
        with change(form) as done:
            caseload.update_sensitive(candidate, user(), data, form.reason.data or "")
        if done.ok:
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
        with change(form) as done:
            caseload.hand_over(
                candidate, user(), form.to_service.data or None, today(), form.note.data or ""
            )
        if done.ok:
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
        **consent_notice(candidate, consents.DATA_SHARING),
    )
