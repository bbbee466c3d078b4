"""Broker pages of the placement pathway: the timeline of a candidate's stages (referral,
training, work experience, hiring, follow-ups, closure), recording and editing a stage,
and the observations of a protected lab.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from brokerage import consents, pathway
from brokerage.blueprint import bp, change, consent_notice, held, held_row, no_store, today, user
from brokerage.caseload_forms import ObservationForm, StageEditForm, StageForm
from brokerage.models import (
    CLOSE_REASONS,
    PROPOSAL_STATES,
    STAGES,
    WORK_EXPERIENCE_KINDS,
    Candidate,
    PathwayStage,
    Proposal,
)
from employers.models import CONTRACT_TYPES
from portal import concurrency, db
from portal.forms import options
from portal.models import BROKER, Organisation
from portal.permissions import roles_required

HOLDING_EVENTS = {
    "holding_start": _l("Case taken in charge by"),
    "holding_end": _l("Case no longer held by"),
}


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
        **consent_notice(candidate, consents.PATHWAY),
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
        with change(form) as done:
            pathway.add_stage(candidate, user(), data, today())
        if done.ok:
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
    notice = consent_notice(candidate, consents.PATHWAY)
    if stage == "closed":
        notice["consent_ok"] = True  # closing the case needs no consent
    return render_template(
        "brokerage/pathway_stage_form.html",
        candidate=candidate,
        form=form,
        stage=stage,
        stage_labels=STAGES,
        allowed=stage in pathway.allowed_next(stages),
        employers=employers,
        **notice,
    )


@bp.route("/brokerage/pathway/<int:stage_id>/edit", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def pathway_stage_edit(stage_id: int) -> Any:
    stage, candidate = held_row(PathwayStage, stage_id, "pathway")

    def build(**kwargs: Any) -> StageEditForm:
        fresh = request.method == "GET" or kwargs
        form = StageEditForm(obj=stage, **kwargs) if fresh else StageEditForm()
        form.broker.choices = broker_choices(candidate, stage.service_id)
        if fresh:
            form.broker.data = stage.broker_id
        return form

    form = concurrency.edit_form(build, stage)
    if concurrency.may_save(form, build, stage):
        with change(form) as done:
            pathway.update_stage(
                stage,
                user(),
                form.ended_on.data,
                form.tutor.data or "",
                form.notes.data or "",
                form.broker.data or None,
                today(),
            )
        if done.ok:
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
    stage, candidate = held_row(PathwayStage, stage_id, "observation")
    if not pathway.is_lab(stage):
        abort(404)
    form = ObservationForm()
    if request.method == "GET":
        form.on.data = min(today(), pathway.lab_end(stage) or today())
    if form.validate_on_submit():
        scores = {k: int(getattr(form, k).data) for k in pathway.OBSERVATION_CRITERIA}
        with change(form) as done:
            pathway.add_observation(
                stage,
                user(),
                form.on.data,
                scores,  # type: ignore
                form.notes.data or "",
                today(),
            )
        if done.ok:
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
