"""Proposals of candidates to employers' vacancies, and the employer's answers.

The employer sees only the proposal's ``card``: an anonymised snapshot built here from
the profile part of the record. The broker appears as the network's placement desk, never
as the service (whose type would reveal the condition: PRODUCT.md privacy rules).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from babel.dates import get_datetime_format
from flask import current_app, url_for
from flask_babel import force_locale, format_date, format_time, get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from brokerage import access
from brokerage.matching import Match, candidate_facts, score, vacancy_facts, weights
from brokerage.models import (
    DECLINED,
    HIRED,
    INTERVIEW,
    PROPOSED,
    WITHDRAWN,
    Candidate,
    Proposal,
)
from employers.models import CONTRACT_TYPES, Vacancy
from portal import audit, db
from portal.db import utcnow
from portal.models import User
from portal.notifications import notify


class ProposalError(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = fields


def explain(candidate: Candidate, vacancy: Vacancy) -> Match | None:
    place = candidate.municipality
    [c] = candidate_facts(
        [
            (
                candidate.id,
                candidate.comune_code,
                place.lat,
                place.lon,
                candidate.max_commute_km,
                candidate.hours_min,
                candidate.hours_max,
            )
        ]
    )
    [v] = vacancy_facts([vacancy])
    return score(v, c, weights())


def build_card(candidate: Candidate, match: Match | None) -> dict[str, Any]:
    """The anonymised profile an employer may see: no name, no category, no service."""
    return {
        "pseudonym": candidate.pseudonym,
        "skills": [
            {"uri": s.skill.uri, "label_it": s.skill.label_it, "label_en": s.skill.label_en}
            for s in candidate.skills
        ],
        "experience": [
            {
                "occupation_it": e.occupation.label_it if e.occupation else None,
                "occupation_en": e.occupation.label_en if e.occupation else None,
                "months": e.months,
            }
            for e in candidate.experiences
        ],
        "availability": {
            "hours_min": candidate.hours_min,
            "hours_max": candidate.hours_max,
            "max_commute_km": candidate.max_commute_km,
            "driving_licence": candidate.driving_licence,
            "languages": list(candidate.languages or []),
            "education_level": candidate.education_level,
        },
        "adjustments": candidate.adjustments,
        "match": None
        if match is None
        else {
            "score": match.score,
            "factors": [
                {
                    "name": f.name,
                    "points": round(f.points, 1),
                    "max_points": f.max_points,
                    "explanation": f.explanation,
                }
                for f in match.factors
            ],
        },
    }


def propose(
    candidate: Candidate, vacancy: Vacancy, broker: User, note: str, today: date
) -> Proposal:
    if not access.holds(broker, candidate):
        raise ProposalError({"candidate": _("Your service does not hold this case.")})
    if not candidate.has_matching_consent(today):
        raise ProposalError(
            {"candidate": _("There is no valid consent to matching: record it before proposing.")}
        )
    if not vacancy.is_public(today):
        raise ProposalError({"vacancy": _("The vacancy is not open.")})
    if db.session.execute(
        select(Proposal.id).where(
            Proposal.vacancy_id == vacancy.id, Proposal.candidate_id == candidate.id
        )
    ).first():
        raise ProposalError(
            {"vacancy": _("This candidate has already been proposed for this vacancy.")}
        )
    service_id = min(access.broker_service_ids(broker) & candidate.holding_service_ids)
    proposal = Proposal(
        vacancy_id=vacancy.id,
        candidate_id=candidate.id,
        broker_id=broker.id,
        service_id=service_id,
        employer_org_id=vacancy.organisation_id,
        card=build_card(candidate, explain(candidate, vacancy)),
        note=note.strip()[:2000],
        status=PROPOSED,
        first_contact_at=utcnow(),
    )
    db.session.add(proposal)
    db.session.flush()
    audit.record("proposal.create", proposal, actor=broker, subject=candidate)
    link = url_for("brokerage.inbox_detail", proposal_id=proposal.id)
    for member in vacancy.organisation.memberships:
        _notify_in_their_language(
            member.user,
            lambda: _(
                'New candidate proposed for "%(title)s": %(pseudonym)s',
                title=vacancy.title,
                pseudonym=candidate.pseudonym,
            ),
            link,
        )
    return proposal


def _notify_in_their_language(user: User, message: Callable[[], str], link: str) -> None:
    """Notify ``user`` with ``message()`` written in the recipient's language (not the
    sender's: the employer and the broker may read the portal in different languages)."""
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        notify(user, message(), link)


def _notify_broker(proposal: Proposal, vacancy: Vacancy, message: Callable[[], str]) -> None:
    _notify_in_their_language(
        proposal.broker, message, url_for("brokerage.proposal_detail", proposal_id=proposal.id)
    )


def local_datetime(when: datetime) -> str:
    """``when`` (aware, any zone) as date and time in Europe/Rome (BABEL_DEFAULT_TIMEZONE),
    in the current locale, without seconds: "25 nov 2026, 10:00" / "Nov 25, 2026, 10:00 AM".
    Flask-Babel's formatters convert to that zone; the glue is the locale's, as in Babel's
    own ``format_datetime``."""
    glue = get_datetime_format("medium", locale=get_locale()).replace("'", "")
    return glue.replace("{0}", format_time(when, "short")).replace("{1}", format_date(when))


def schedule_interview(
    proposal: Proposal, vacancy: Vacancy, actor: User, when: datetime, place: str
) -> None:
    if proposal.status not in (PROPOSED, INTERVIEW):
        raise ProposalError({"status": _("This proposal is no longer open.")})
    if when < utcnow():
        raise ProposalError({"when": _("Choose a date and time in the future.")})
    if not place.strip():
        raise ProposalError({"place": _("Say where the interview takes place.")})
    proposal.status = INTERVIEW
    proposal.interview_at = when
    proposal.interview_place = place.strip()[:200]
    audit.record("proposal.interview", proposal, actor=actor)
    _notify_broker(
        proposal,
        vacancy,
        lambda: _(
            'Interview for %(pseudonym)s ("%(title)s") on %(when)s at %(place)s.',
            pseudonym=proposal.card["pseudonym"],
            title=vacancy.title,
            when=local_datetime(when),
            place=proposal.interview_place,
        ),
    )


def record_outcome(proposal: Proposal, vacancy: Vacancy, actor: User, outcome: str) -> None:
    if proposal.status != INTERVIEW:
        raise ProposalError({"outcome": _("Arrange the interview first.")})
    if not outcome.strip():
        raise ProposalError({"outcome": _("Write how the interview went.")})
    proposal.interview_outcome = outcome.strip()[:500]
    audit.record("proposal.outcome", proposal, actor=actor)
    _notify_broker(
        proposal,
        vacancy,
        lambda: _(
            "Interview outcome for %(pseudonym)s recorded.", pseudonym=proposal.card["pseudonym"]
        ),
    )


def hire(
    proposal: Proposal,
    vacancy: Vacancy,
    actor: User,
    contract_type: str,
    start_on: date,
    hours: int,
) -> None:
    errors = {}
    if proposal.status not in (PROPOSED, INTERVIEW):
        errors["status"] = _("This proposal is no longer open.")
    if contract_type not in CONTRACT_TYPES:
        errors["contract_type"] = _("Choose a contract type.")
    if not 1 <= hours <= 48:
        errors["hours"] = _("Hours per week must be between 1 and %(max)d.", max=48)
    if errors:
        raise ProposalError(errors)
    proposal.status = HIRED
    proposal.hire_contract_type = contract_type
    proposal.hire_start_on = start_on
    proposal.hire_hours = hours
    audit.record("proposal.hire", proposal, actor=actor)
    _notify_broker(
        proposal,
        vacancy,
        lambda: _(
            '%(pseudonym)s has been hired for "%(title)s" from %(date)s.',
            pseudonym=proposal.card["pseudonym"],
            title=vacancy.title,
            date=format_date(start_on),
        ),
    )


def decline(proposal: Proposal, vacancy: Vacancy, actor: User, reason: str) -> None:
    if proposal.status not in (PROPOSED, INTERVIEW):
        raise ProposalError({"status": _("This proposal is no longer open.")})
    if not reason.strip():
        raise ProposalError({"reason": _("Give a reason: it helps the placement desk.")})
    proposal.status = DECLINED
    proposal.decline_reason = reason.strip()[:500]
    audit.record("proposal.decline", proposal, actor=actor)
    _notify_broker(
        proposal,
        vacancy,
        lambda: _(
            '%(pseudonym)s was not chosen for "%(title)s".',
            pseudonym=proposal.card["pseudonym"],
            title=vacancy.title,
        ),
    )


def withdraw(proposal: Proposal, actor: User) -> None:
    if proposal.status not in (PROPOSED, INTERVIEW):
        raise ProposalError({"status": _("This proposal is no longer open.")})
    proposal.status = WITHDRAWN
    audit.record("proposal.withdraw", proposal, actor=actor)
