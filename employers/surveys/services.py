"""Needs-survey rules, free of HTTP: rounds (their checks and saving), a company's
answers (every problem at once, then saved all or nothing) and the occupation picker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import (
    Select,
    exc,
    func,
    or_,
    select,
)

from employers.models import CONTRACT_TYPES
from employers.surveys.access import broker_may_fill, broker_services, can_answer_for
from employers.surveys.models import SurveyNeed, SurveyNeedSkill, SurveyResponse, SurveyRound
from employers.surveys.vocabulary import (
    MAX_COMMENTS,
    MAX_HIRES,
    MAX_INTERNSHIPS,
    MAX_LINES,
    MAX_SKILLS_PER_LINE,
    SECTORS,
)
from portal import audit, db, municipalities
from portal.models import (
    Organisation,
    User,
)
from portal.taxonomy import Occupation, Skill, localized

# --- Rules -----------------------------------------------------------------------------


class SurveyError(ValueError):
    """Bad survey data; ``fields`` maps field names to messages (nothing was saved)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass
class RoundData:
    title: str
    year: int | None
    opens_on: date | None
    closes_on: date | None
    description: str = ""


def round_problems(data: RoundData, current: SurveyRound | None = None) -> dict[str, str]:
    errors: dict[str, str] = {}
    title = data.title.strip()
    if not title:
        errors["title"] = _("Give the round a title.")
    elif len(title) > 200:
        errors["title"] = _("Use at most 200 characters.")
    if data.year is None or not 2000 <= data.year <= 2100:
        errors["year"] = _("Give a year between 2000 and 2100.")
    if data.opens_on is None:
        errors["opens_on"] = _("Give the opening date.")
    if data.closes_on is None:
        errors["closes_on"] = _("Give the closing date.")
    elif data.opens_on is not None and data.closes_on < data.opens_on:
        errors["closes_on"] = _("The round cannot close before it opens.")
    if len(data.description) > MAX_COMMENTS:
        errors["description"] = _("Use at most %(max)s characters.", max=MAX_COMMENTS)
    if "title" not in errors and "year" not in errors:
        clash = db.session.execute(
            select(SurveyRound.id).where(
                SurveyRound.year == data.year,
                func.lower(SurveyRound.title) == title.lower(),
                SurveyRound.id != (current.id if current else -1),
            )
        ).first()
        if clash:
            errors["title"] = _("A round with this title already exists for that year.")
    return errors


def save_round(data: RoundData, author: User, current: SurveyRound | None = None) -> SurveyRound:
    errors = round_problems(data, current)
    if errors:
        raise SurveyError(errors)
    survey_round = current or SurveyRound(created_by=author)
    survey_round.title = data.title.strip()
    survey_round.year = data.year  # type: ignore[assignment]
    survey_round.opens_on = data.opens_on  # type: ignore[assignment]
    survey_round.closes_on = data.closes_on  # type: ignore[assignment]
    survey_round.description = data.description.strip()
    db.session.add(survey_round)
    db.session.flush()
    audit.record(
        "survey_round.update" if current else "survey_round.create", survey_round, actor=author
    )
    return survey_round


def open_rounds(today: date) -> Select:
    return (
        select(SurveyRound)
        .where(SurveyRound.opens_on <= today, SurveyRound.closes_on >= today)
        .order_by(SurveyRound.closes_on, SurveyRound.id)
    )


def all_rounds() -> Select:
    return select(SurveyRound).order_by(
        SurveyRound.year.desc(), SurveyRound.opens_on.desc(), SurveyRound.id.desc()
    )


def response_for(survey_round: SurveyRound, org: Organisation) -> SurveyResponse | None:
    return db.session.execute(
        select(SurveyResponse).where(
            SurveyResponse.round_id == survey_round.id, SurveyResponse.organisation_id == org.id
        )
    ).scalar_one_or_none()


@dataclass
class NeedData:
    """One line of needs; ``key`` names its form fields (``lines-2``) in errors.

    ``occupation_id`` is None when no occupation was given; a value that matches no
    occupation (e.g. -1 for text that matched nothing) is reported as unknown.
    """

    occupation_id: int | None
    hires: int | None = 0
    contract_type: str | None = None
    internships: int | None = 0
    on_the_job_training: bool = False
    skill_ids: list[int] = field(default_factory=list)
    key: str = ""


@dataclass
class ResponseData:
    comune_code: str | None
    sector: str
    comments: str = ""
    needs: list[NeedData] = field(default_factory=list)
    visit_on: date | None = None


def response_problems(
    survey_round: SurveyRound, data: ResponseData, today: date, *, visit: bool = False
) -> dict[str, str]:
    """Every problem at once, keyed by form field name, so people see them all together."""
    errors: dict[str, str] = {}
    status = survey_round.status(today)
    if status == "closed":
        errors["round"] = _("This survey round is closed: answers can no longer be changed.")
    elif status == "upcoming":
        errors["round"] = _("This survey round is not open yet.")
    if municipalities.get(data.comune_code) is None:
        errors["comune"] = _("Choose a municipality from the list.")
    if data.sector not in SECTORS:
        errors["sector"] = _("Choose the sector.")
    if len(data.comments) > MAX_COMMENTS:
        errors["comments"] = _("Use at most %(max)s characters.", max=MAX_COMMENTS)
    if visit:
        if data.visit_on is None:
            errors["visit_on"] = _("Give the date of the visit.")
        elif data.visit_on > today:
            errors["visit_on"] = _("The visit cannot be in the future.")
        elif data.visit_on < today - timedelta(days=366):
            errors["visit_on"] = _("The visit must be within the last year.")
    if len(data.needs) > MAX_LINES:
        errors["needs"] = _("Give at most %(max)s lines of needs.", max=MAX_LINES)
    occupation_ids = {n.occupation_id for n in data.needs if n.occupation_id is not None}
    known_occupations = (
        set(
            db.session.execute(
                select(Occupation.id).where(Occupation.id.in_(occupation_ids))
            ).scalars()
        )
        if occupation_ids
        else set()
    )
    skill_ids = {s for n in data.needs for s in n.skill_ids}
    known_skills = (
        set(db.session.execute(select(Skill.id).where(Skill.id.in_(skill_ids))).scalars())
        if skill_ids
        else set()
    )
    for need in data.needs:
        key = need.key
        if need.occupation_id is None:
            errors[f"{key}-occupation"] = _("Choose the occupation.")
        elif need.occupation_id not in known_occupations:
            errors[f"{key}-occupation"] = _("Choose an occupation from the list.")
        hires = need.hires or 0
        internships = need.internships or 0
        if not 0 <= hires <= MAX_HIRES:
            errors[f"{key}-hires"] = _(
                "Give a whole number from 0 to %(max)s.", max=format_decimal(MAX_HIRES)
            )
        if not 0 <= internships <= MAX_INTERNSHIPS:
            errors[f"{key}-internships"] = _(
                "Give a whole number from 0 to %(max)s.", max=format_decimal(MAX_INTERNSHIPS)
            )
        if need.contract_type and need.contract_type not in CONTRACT_TYPES:
            errors[f"{key}-contract_type"] = _("Choose a contract type.")
        elif hires > 0 and not need.contract_type:
            errors[f"{key}-contract_type"] = _("Choose the contract type of the planned hires.")
        if (
            hires == 0
            and internships == 0
            and not need.on_the_job_training
            and f"{key}-hires" not in errors
            and f"{key}-internships" not in errors
        ):
            errors[f"{key}-hires"] = _(
                "Give the planned hires or the training you would offer, or remove the line."
            )
        if len(set(need.skill_ids)) > MAX_SKILLS_PER_LINE:
            errors[f"{key}-skills"] = _(
                "Choose at most %(max)s key skills.", max=MAX_SKILLS_PER_LINE
            )
        elif not set(need.skill_ids) <= known_skills:
            errors[f"{key}-skills"] = _("Choose skills from the list.")
    return errors


def save_response(
    survey_round: SurveyRound,
    org: Organisation,
    author: User,
    data: ResponseData,
    today: date,
    *,
    visit: bool = False,
) -> SurveyResponse:
    """Create or replace ``org``'s answers to ``survey_round``, all or nothing.

    ``visit``: a broker fills them in during a company visit (their service is recorded).
    """
    errors = response_problems(survey_round, data, today, visit=visit)
    if errors:
        raise SurveyError(errors)
    response = response_for(survey_round, org)
    created = response is None
    if visit and not broker_may_fill(author, org, response):
        raise SurveyError(
            {
                "round": _(
                    "This company has answered on its own: only the company can see and change "
                    "its answers."
                )
            }
        )
    if not visit and not can_answer_for(author, org):
        raise SurveyError({"round": _("You can answer only for your own organisation.")})
    try:
        with db.session.begin_nested():
            if response is None:
                response = SurveyResponse(round=survey_round, organisation=org)
                db.session.add(response)
            response.comune_code = data.comune_code  # type: ignore[assignment]
            response.sector = data.sector
            response.comments = data.comments.strip()
            response.filled_by = author
            response.during_visit = visit
            if visit:
                response.visit_on = data.visit_on
                response.visit_service = broker_services(author)[0]
            response.needs = [
                SurveyNeed(
                    position=position,
                    occupation_id=need.occupation_id,
                    hires=need.hires or 0,
                    internships=need.internships or 0,
                    contract_type=need.contract_type or None,
                    on_the_job_training=need.on_the_job_training,
                    skill_rows=[SurveyNeedSkill(skill_id=s) for s in dict.fromkeys(need.skill_ids)],
                )
                for position, need in enumerate(data.needs)
            ]
            db.session.flush()
    except exc.IntegrityError as error:
        # Two people saved the first answers of the same company at the same moment.
        raise SurveyError(
            {
                "round": _(
                    "Someone else saved answers for this organisation meanwhile: reload the page."
                )
            }
        ) from error
    audit.record(
        "survey_response.create" if created else "survey_response.update",
        response,
        actor=author,
        during_visit=visit,
        organisation=org.id,
        round=survey_round.id,
    )
    return response


def occupation_from_text(text: str | None) -> Occupation | None:
    """The occupation a person chose: its Italian or English label, or its ESCO URI."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith("http://data.europa.eu/esco/occupation/"):
        return db.session.execute(
            select(Occupation).where(Occupation.uri == text)
        ).scalar_one_or_none()
    lowered = text.lower()
    return db.session.execute(
        select(Occupation)
        .where(
            or_(
                func.lower(Occupation.label_it) == lowered,
                func.lower(Occupation.label_en) == lowered,
            )
        )
        .order_by(Occupation.id)
        .limit(1)
    ).scalar_one_or_none()


def occupation_choices() -> list[str]:
    """Every occupation's label in the current language, for the picker."""
    rows = db.session.execute(select(Occupation.label_it, Occupation.label_en)).all()
    return sorted({localized(it, en) for it, en in rows}, key=str.lower)
