"""Brokerage pages: matching and proposals (broker side), the employer's proposals inbox.
Caseload, consent and pathway pages are in caseload_views, rights_views and pathway_views;
the blueprint itself is in ``brokerage.blueprint``."""

from __future__ import annotations

from typing import Any

from flask import (
    Flask,
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
from markupsafe import Markup
from sqlalchemy import func, select

from brokerage import access, matching, proposals
from brokerage.blueprint import bp, today
from brokerage.forms import DeclineForm, HireForm, InterviewForm, OutcomeForm, ProposeForm
from brokerage.models import ACTIVE, PROPOSAL_STATES, PROPOSED, Candidate, Proposal
from employers.models import Vacancy
from employers.services import VACANCY_ROLES, owner_organisations
from portal import db
from portal.forms import ConfirmForm
from portal.layout import HomeAction, add_home_actions, add_nav
from portal.models import BROKER
from portal.permissions import require, roles_required
from portal.taxonomy import ADJUSTMENTS
from portal.views import page_arg


def init_app(app: Flask) -> None:
    add_nav(app, _l("Caseload"), "brokerage.caseload", (BROKER,))
    add_nav(app, _l("Proposals received"), "brokerage.inbox", VACANCY_ROLES)
    add_nav(app, _l("Requests from vacancies"), "brokerage.referral_inbox", (BROKER,))
    app.extensions["ponte_vacancy_apply"] = vacancy_apply_url
    add_home_actions(app, (BROKER,), broker_home_actions, order=10)
    app.extensions.setdefault("ponte_employer_widgets", []).append(inbox_widget)

    @app.context_processor
    def matching_labels() -> dict[str, Any]:
        return {"factor_labels": lambda: FACTOR_LABELS}


def broker_home_actions(user: Any) -> list[HomeAction]:
    """A broker's next steps: people who asked the desk to be put forward, the caseload."""
    from brokerage import referrals
    from brokerage.models import REFERRAL_NEW

    waiting = db.session.execute(
        referrals.inbox_query(access.broker_service_ids(user), REFERRAL_NEW)
        .with_only_columns(func.count())
        .order_by(None)
    ).scalar_one()
    return [
        HomeAction(
            _("Requests from public vacancies to contact"),
            url_for("brokerage.referral_inbox", status=REFERRAL_NEW),
            waiting,
        ),
        HomeAction(_("Caseload"), url_for("brokerage.caseload")),
    ]


def vacancy_apply_url(vacancy: Vacancy) -> str | None:
    """Where a person applies for a public vacancy through the network (None: nowhere on
    the portal, no desk takes candidacies for it)."""
    from brokerage import referrals

    if not referrals.accepts_referrals(vacancy):
        return None
    return url_for("brokerage.vacancy_apply", vacancy_id=vacancy.id)


FACTOR_LABELS = {
    "required_skills": _l("Required skills"),
    "preferred_skills": _l("Preferred skills"),
    "occupation": _l("Occupation"),
    "distance": _l("Distance"),
    "hours": _l("Hours"),
    "experience": _l("Experience"),
}


def inbox_widget(org: Any) -> Markup | None:
    waiting = db.session.execute(
        select(func.count())
        .select_from(Proposal)
        .where(Proposal.employer_org_id == org.id, Proposal.status == PROPOSED)
    ).scalar_one()
    return Markup(render_template("brokerage/inbox_widget.html", waiting=waiting))  # noqa: S704


# --- Broker: matching and proposals ------------------------------------------------------


def open_vacancy(vacancy_id: int) -> Vacancy:
    vacancy = db.session.get(Vacancy, vacancy_id)
    if vacancy is None or not vacancy.is_public(today()):
        abort(404)
    return vacancy


@bp.route("/brokerage/vacancies/<int:vacancy_id>/matches")
@roles_required(BROKER)
def vacancy_matches(vacancy_id: int) -> Any:
    vacancy = open_vacancy(vacancy_id)
    matches = matching.candidates_for_vacancy(
        vacancy, access.broker_service_ids(current_user), today()
    )
    candidates = {
        c.id: c
        for c in db.session.execute(
            select(Candidate).where(Candidate.id.in_([m.candidate_id for m in matches]))
        ).scalars()
    }
    proposed = set(
        db.session.execute(
            select(Proposal.candidate_id).where(Proposal.vacancy_id == vacancy.id)
        ).scalars()
    )
    return render_template(
        "brokerage/vacancy_matches.html",
        vacancy=vacancy,
        matches=matches,
        candidates=candidates,
        proposed=proposed,
        adjustments=ADJUSTMENTS,
    )


@bp.route("/brokerage/candidates/<int:candidate_id>/matches")
@roles_required(BROKER)
def candidate_matches(candidate_id: int) -> Any:
    candidate = access.candidate_for(current_user, candidate_id, "matching")
    matches = matching.vacancies_for_candidate(candidate, today())
    vacancies = {
        v.id: v
        for v in db.session.execute(
            select(Vacancy).where(Vacancy.id.in_([m.vacancy_id for m in matches]))
        ).scalars()
    }
    return render_template(
        "brokerage/candidate_matches.html",
        candidate=candidate,
        matches=matches,
        vacancies=vacancies,
        consent_ok=candidate.has_matching_consent(today()),
        reasons=matching.why_no_match(candidate, today())
        if not matches and candidate.has_matching_consent(today()) and candidate.status == ACTIVE
        else None,
    )


@bp.route(
    "/brokerage/vacancies/<int:vacancy_id>/propose/<int:candidate_id>", methods=["GET", "POST"]
)
@roles_required(BROKER)
def propose(vacancy_id: int, candidate_id: int) -> Any:
    vacancy = open_vacancy(vacancy_id)
    candidate = access.candidate_for(current_user, candidate_id, "proposal")
    form = ProposeForm()
    match = proposals.explain(candidate, vacancy)
    if form.validate_on_submit():
        try:
            proposal = proposals.propose(
                candidate, vacancy, current_user, form.note.data or "", today()
            )
        except proposals.ProposalError as error:
            db.session.rollback()
            form.note.errors = list(error.fields.values())
        else:
            db.session.commit()
            flash(
                _(
                    "%(pseudonym)s has been proposed to the employer.",
                    pseudonym=candidate.pseudonym,
                ),
                "success",
            )
            return redirect(url_for("brokerage.proposal_detail", proposal_id=proposal.id))
    return render_template(
        "brokerage/propose.html", form=form, vacancy=vacancy, candidate=candidate, match=match
    )


def broker_proposal(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.service_id not in access.broker_service_ids(current_user):
        abort(404)
    return proposal


@bp.route("/brokerage/proposals")
@roles_required(BROKER)
def proposal_list() -> Any:
    services = access.broker_service_ids(current_user)
    page = db.paginate(
        select(Proposal)
        .where(Proposal.service_id.in_(services))
        .order_by(Proposal.updated_at.desc()),
        page_arg(),
        current_app.config["PER_PAGE"],
    )
    vacancies = {
        v.id: v
        for v in db.session.execute(
            select(Vacancy).where(Vacancy.id.in_([p.vacancy_id for p in page.items]))
        ).scalars()
    }
    return render_template(
        "brokerage/proposal_list.html", page=page, vacancies=vacancies, states=PROPOSAL_STATES
    )


@bp.route("/brokerage/proposals/<int:proposal_id>")
@roles_required(BROKER)
def proposal_detail(proposal_id: int) -> Any:
    proposal = broker_proposal(proposal_id)
    vacancy = db.session.get(Vacancy, proposal.vacancy_id)
    return render_template(
        "brokerage/proposal_detail.html",
        proposal=proposal,
        vacancy=vacancy,
        states=PROPOSAL_STATES,
        form=ConfirmForm(),
        adjustments=ADJUSTMENTS,
    )


@bp.route("/brokerage/proposals/<int:proposal_id>/withdraw", methods=["POST"])
@roles_required(BROKER)
def proposal_withdraw(proposal_id: int) -> Any:
    proposal = broker_proposal(proposal_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        proposals.withdraw(proposal, current_user)
    except proposals.ProposalError as error:
        flash(" ".join(error.fields.values()), "danger")
    else:
        db.session.commit()
        flash(_("The proposal has been withdrawn."), "info")
    return redirect(url_for("brokerage.proposal_detail", proposal_id=proposal.id))


# --- Employer: the proposals inbox --------------------------------------------------------


def inbox_proposal(proposal_id: int) -> tuple[Proposal, Vacancy]:
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        abort(404)
    require(proposal.employer_org_id in {o.id for o in owner_organisations(current_user)})
    vacancy = db.session.get(Vacancy, proposal.vacancy_id)
    return proposal, vacancy  # type: ignore[return-value]


@bp.route("/employer/proposals")
@roles_required(*VACANCY_ROLES)
def inbox() -> Any:
    orgs = [o.id for o in owner_organisations(current_user)]
    status = request.args.get("status", "")
    stmt = select(Proposal).where(Proposal.employer_org_id.in_(orgs))
    if status in PROPOSAL_STATES:
        stmt = stmt.where(Proposal.status == status)
    page = db.paginate(
        stmt.order_by(Proposal.created_at.desc()), page_arg(), current_app.config["PER_PAGE"]
    )
    vacancies = {
        v.id: v
        for v in db.session.execute(
            select(Vacancy).where(Vacancy.id.in_([p.vacancy_id for p in page.items]))
        ).scalars()
    }
    return render_template(
        "brokerage/inbox.html",
        page=page,
        vacancies=vacancies,
        states=PROPOSAL_STATES,
        status=status,
    )


@bp.route("/employer/proposals/<int:proposal_id>", methods=["GET", "POST"])
@roles_required(*VACANCY_ROLES)
def inbox_detail(proposal_id: int) -> Any:
    proposal, vacancy = inbox_proposal(proposal_id)
    forms = {
        "interview": InterviewForm(prefix="interview"),
        "outcome": OutcomeForm(prefix="outcome"),
        "hire": HireForm(prefix="hire"),
        "decline": DeclineForm(prefix="decline"),
    }
    if request.method == "GET":
        forms["hire"].contract_type.data = vacancy.contract_type
        forms["hire"].hours.data = vacancy.hours_per_week
    action = request.form.get("action")
    form = forms.get(action or "")
    if request.method == "POST" and form is not None and form.validate_on_submit():
        try:
            _apply_employer_action(action, form, proposal, vacancy)
        except proposals.ProposalError as error:
            db.session.rollback()
            for name, message in error.fields.items():
                target = getattr(form, name, None) or next(iter(form))
                target.errors = [*target.errors, message]
        else:
            db.session.commit()
            flash(_("Saved: the placement desk has been told."), "success")
            return redirect(url_for("brokerage.inbox_detail", proposal_id=proposal.id))
    return render_template(
        "brokerage/inbox_detail.html",
        proposal=proposal,
        vacancy=vacancy,
        forms=forms,
        states=PROPOSAL_STATES,
        adjustments=ADJUSTMENTS,
    )


def _apply_employer_action(action: str, form: Any, proposal: Proposal, vacancy: Vacancy) -> None:
    from datetime import UTC
    from zoneinfo import ZoneInfo

    user = current_user._get_current_object()
    if action == "interview":
        when = form.when.data.replace(tzinfo=ZoneInfo("Europe/Rome")).astimezone(UTC)
        proposals.schedule_interview(proposal, vacancy, user, when, form.place.data or "")
    elif action == "outcome":
        proposals.record_outcome(proposal, vacancy, user, form.outcome.data or "")
    elif action == "hire":
        proposals.hire(
            proposal, vacancy, user, form.contract_type.data, form.start_on.data, form.hours.data
        )
    elif action == "decline":
        proposals.decline(proposal, vacancy, user, form.reason.data or "")
