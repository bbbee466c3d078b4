"""Needs surveys: what local companies plan to hire and the training they would host.

Seed 002 (Piemonte) asks for a structured survey of the local companies, seed 003
(Relatium) for the monitoring of the companies' training and job needs. An
administrator or a public officer opens a *round* (title, year, open and close dates);
each company answers once per round for its own organisation, or a broker fills the
answers in during a visit to the company. The network reads only aggregated,
anonymised results: cells with fewer than :data:`MIN_CELL_COMPANIES` companies are
suppressed, and further cells are withheld when a suppressed cell could otherwise be
worked out by subtracting the visible ones from a total (see :func:`protect`).

This module holds the models and the rules; the pages are in ``survey_views``.
"""

from __future__ import annotations

import io
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Select,
    String,
    Text,
    UniqueConstraint,
    exc,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from employers.models import CONTRACT_TYPES
from portal import audit, db, municipalities, spreadsheets
from portal.concurrency import Versioned
from portal.db import Base, TimestampMixin, utcnow
from portal.models import (
    ADMIN,
    BROKER,
    COMPANY,
    COOPERATIVE,
    COOPERATIVE_B,
    EMPLOYER,
    PUBLIC_OFFICER,
    SERVICE,
    SOCIAL_FARM,
    SOCIAL_FARM_KIND,
    Municipality,
    Organisation,
    User,
)
from portal.taxonomy import Occupation, Skill, localized

# --- Who does what ---------------------------------------------------------------------

#: Roles that answer for their own organisation (companies, cooperatives, social farms):
#: those of ``employers.services.VACANCY_ROLES`` (not imported: models import this module).
RESPONDENT_ROLES = (EMPLOYER, COOPERATIVE, SOCIAL_FARM)
#: Organisation kinds a broker may answer for during a visit.
RESPONDENT_KINDS = (COMPANY, COOPERATIVE_B, SOCIAL_FARM_KIND)
#: Roles that open and manage survey rounds.
ROUND_ROLES = (ADMIN, PUBLIC_OFFICER)
#: Roles that read the aggregated, anonymised results.
RESULTS_ROLES = (BROKER, PUBLIC_OFFICER, ADMIN)
#: Everybody who uses surveys (the menu entry).
SURVEY_ROLES = tuple(dict.fromkeys((*RESPONDENT_ROLES, BROKER, PUBLIC_OFFICER, ADMIN)))

# --- Limits (plausibility, not law) -----------------------------------------------------

MAX_HIRES = 10_000
MAX_INTERNSHIPS = 1_000
MAX_LINES = 50
MAX_SKILLS_PER_LINE = 20
MAX_COMMENTS = 4_000
#: Statistical disclosure control: a cell needs at least this many companies.
MIN_CELL_COMPANIES = 3

#: ATECO 2025 sections (the NACE Rev. 2.1 sections ISTAT adopted from 1 January 2025).
SECTORS = {
    "A": _l("Agriculture, forestry and fishing"),
    "B": _l("Mining and quarrying"),
    "C": _l("Manufacturing"),
    "D": _l("Electricity, gas, steam and air conditioning supply"),
    "E": _l("Water supply, sewerage, waste management and remediation"),
    "F": _l("Construction"),
    "G": _l("Wholesale and retail trade"),
    "H": _l("Transportation and storage"),
    "I": _l("Accommodation and food service activities"),
    "J": _l("Publishing, broadcasting, content production and distribution"),
    "K": _l("Telecommunications, computer programming and information services"),
    "L": _l("Financial and insurance activities"),
    "M": _l("Real estate activities"),
    "N": _l("Professional, scientific and technical activities"),
    "O": _l("Administrative and support service activities"),
    "P": _l("Public administration and defence; compulsory social security"),
    "Q": _l("Education"),
    "R": _l("Human health and social work activities"),
    "S": _l("Arts, sports and recreation"),
    "T": _l("Other service activities"),
    "U": _l("Activities of households as employers"),
    "V": _l("Activities of extraterritorial organisations and bodies"),
}

#: ISCO-08 major groups (ILO).
ISCO_MAJOR_GROUPS = {
    "0": _l("Armed forces occupations"),
    "1": _l("Managers"),
    "2": _l("Professionals"),
    "3": _l("Technicians and associate professionals"),
    "4": _l("Clerical support workers"),
    "5": _l("Service and sales workers"),
    "6": _l("Skilled agricultural, forestry and fishery workers"),
    "7": _l("Craft and related trades workers"),
    "8": _l("Plant and machine operators and assemblers"),
    "9": _l("Elementary occupations"),
}

#: ISCO-08 sub-major groups of the major groups 4–9 (the ESCO subset the portal ships).
ISCO_SUB_MAJOR_GROUPS = {
    "41": _l("General and keyboard clerks"),
    "42": _l("Customer services clerks"),
    "43": _l("Numerical and material recording clerks"),
    "44": _l("Other clerical support workers"),
    "51": _l("Personal service workers"),
    "52": _l("Sales workers"),
    "53": _l("Personal care workers"),
    "54": _l("Protective services workers"),
    "61": _l("Market-oriented skilled agricultural workers"),
    "62": _l("Market-oriented skilled forestry, fishery and hunting workers"),
    "63": _l("Subsistence farmers, fishers, hunters and gatherers"),
    "71": _l("Building and related trades workers, excluding electricians"),
    "72": _l("Metal, machinery and related trades workers"),
    "73": _l("Handicraft and printing workers"),
    "74": _l("Electrical and electronic trades workers"),
    "75": _l("Food processing, wood working, garment and other craft workers"),
    "81": _l("Stationary plant and machine operators"),
    "82": _l("Assemblers"),
    "83": _l("Drivers and mobile plant operators"),
    "91": _l("Cleaners and helpers"),
    "92": _l("Agricultural, forestry and fishery labourers"),
    "93": _l("Labourers in mining, construction, manufacturing and transport"),
    "94": _l("Food preparation assistants"),
    "95": _l("Street and related sales and service workers"),
    "96": _l("Refuse workers and other elementary workers"),
}

TERRITORY_LEVELS = {"region": _l("Region"), "province": _l("Province")}
OCCUPATION_LEVELS = {
    "isco1": _l("ISCO major group"),
    "isco2": _l("ISCO sub-major group"),
    "esco": _l("ESCO occupation"),
}


# --- Models ----------------------------------------------------------------------------


class SurveyRound(Versioned, TimestampMixin, Base):
    """One edition of the questionnaire (e.g. "Needs of the companies 2027")."""

    __tablename__ = "survey_round"
    __table_args__ = (
        UniqueConstraint("year", "title"),
        CheckConstraint("opens_on <= closes_on", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()

    def is_open(self, today: date) -> bool:
        return self.opens_on <= today <= self.closes_on

    def status(self, today: date) -> str:
        if today < self.opens_on:
            return "upcoming"
        return "open" if today <= self.closes_on else "closed"

    def status_label(self, today: date) -> str:
        return str(
            {"upcoming": _l("Not open yet"), "open": _l("Open"), "closed": _l("Closed")}[
                self.status(today)
            ]
        )


class SurveyResponse(TimestampMixin, Base):
    """One organisation's answers to one round."""

    __tablename__ = "survey_response"
    __table_args__ = (UniqueConstraint("round_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_round.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    #: Where the company works and its sector, as answered (they may change later).
    comune_code: Mapped[str] = mapped_column(ForeignKey("municipality.istat_code"), index=True)
    sector: Mapped[str] = mapped_column(String(1))
    comments: Mapped[str] = mapped_column(Text, default="")
    #: Who saved the answers last, and whether a broker did it during a company visit.
    filled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    during_visit: Mapped[bool] = mapped_column(default=False)
    visit_on: Mapped[date | None] = mapped_column(Date)
    #: The broker's service: its brokers may continue a visit's answers.
    visit_service_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )

    round: Mapped[SurveyRound] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined", foreign_keys=[organisation_id])
    municipality: Mapped[Municipality] = relationship(lazy="joined")
    filled_by: Mapped[User | None] = relationship(lazy="joined")
    visit_service: Mapped[Organisation | None] = relationship(foreign_keys=[visit_service_id])
    needs: Mapped[list[SurveyNeed]] = relationship(
        back_populates="response",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="SurveyNeed.position",
    )

    @property
    def sector_label(self) -> str:
        return str(SECTORS.get(self.sector, self.sector))

    @property
    def total_hires(self) -> int:
        return sum(n.hires for n in self.needs)

    @property
    def total_internships(self) -> int:
        return sum(n.internships for n in self.needs)


class SurveyNeed(Base):
    """A line of needs: an occupation, the hires planned, the training offered."""

    __tablename__ = "survey_need"
    __table_args__ = (
        CheckConstraint(f"hires >= 0 AND hires <= {MAX_HIRES}", name="hires_range"),
        CheckConstraint(
            f"internships >= 0 AND internships <= {MAX_INTERNSHIPS}", name="internships_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_response.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("esco_occupation.id"), index=True)
    hires: Mapped[int] = mapped_column(default=0)
    contract_type: Mapped[str | None] = mapped_column(String(30))
    internships: Mapped[int] = mapped_column(default=0)
    on_the_job_training: Mapped[bool] = mapped_column(default=False)

    response: Mapped[SurveyResponse] = relationship(back_populates="needs")
    occupation: Mapped[Occupation] = relationship(lazy="joined")
    skill_rows: Mapped[list[SurveyNeedSkill]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def skills(self) -> list[Skill]:
        return sorted((r.skill for r in self.skill_rows), key=lambda s: s.label)

    @property
    def contract_label(self) -> str:
        return str(CONTRACT_TYPES.get(self.contract_type or "", ""))


class SurveyNeedSkill(Base):
    """A key skill (ESCO) the company looks for in a line of needs."""

    __tablename__ = "survey_need_skill"

    need_id: Mapped[int] = mapped_column(
        ForeignKey("survey_need.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(ForeignKey("esco_skill.id"), primary_key=True, index=True)

    skill: Mapped[Skill] = relationship(lazy="joined")


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


def respondent_organisations(user: Any) -> list[Organisation]:
    return user.organisations(*RESPONDENT_ROLES) if user and user.is_authenticated else []


def broker_services(user: Any) -> list[Organisation]:
    if not (user and user.is_authenticated):
        return []
    return [o for o in user.organisations(BROKER) if o.kind == SERVICE]


def can_answer_for(user: Any, org: Organisation) -> bool:
    """The company's own people answer for it."""
    return org in respondent_organisations(user)


def visitable(org: Organisation | None) -> bool:
    """A broker answers only for verified companies, cooperatives and social farms."""
    return org is not None and org.is_verified and org.kind in RESPONDENT_KINDS


def broker_may_fill(user: Any, org: Organisation, response: SurveyResponse | None) -> bool:
    """A broker may start a company's answers during a visit, and the brokers of the same
    service may continue them; answers the company gave on its own stay the company's."""
    services = broker_services(user)
    if not services or not visitable(org):
        return False
    if response is None:
        return True
    return response.during_visit and response.visit_service_id in {s.id for s in services}


def can_read_response(user: Any, response: SurveyResponse) -> bool:
    return can_answer_for(user, response.organisation) or broker_may_fill(
        user, response.organisation, response
    )


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


def visitable_companies(q: str = "") -> Select:
    """Companies a broker may visit, by name or municipality."""
    stmt = (
        select(Organisation)
        .outerjoin(Municipality, Municipality.istat_code == Organisation.comune_code)
        .where(Organisation.kind.in_(RESPONDENT_KINDS), Organisation.verified_at.is_not(None))
    )
    q = q.strip().lower()[:100]
    if q:
        like = "%" + q.replace("\\", "").replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(
            or_(func.lower(Organisation.name).like(like), func.lower(Municipality.name).like(like))
        )
    return stmt.order_by(Organisation.name)


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


def sector_of(ateco_code: str | None) -> str:
    """The ATECO section of a company's activity code ("" when it is not known)."""
    import ateco

    code = (ateco_code or "").strip()
    if not code:
        return ""
    for edition in ("2025", "2022"):
        node = ateco.lookup(code, edition=edition)
        while node is not None and node.level != "section" and node.parent:
            node = ateco.lookup(node.parent, edition=edition)
        # Sections A–I kept their letters in ATECO 2025; later ones moved.
        if node is not None and node.level == "section" and (edition == "2025" or node.code <= "I"):
            return node.code
    return ""


# --- Aggregated, anonymised results ----------------------------------------------------


@dataclass
class Cell:
    """Territory × occupation: what the companies there plan, or why it is withheld."""

    territory: str
    territory_label: str
    occupation: str
    occupation_label: str
    territory_parent: str | None = None
    occupation_parent: str | None = None
    companies: set[int] = field(default_factory=set)
    on_the_job: set[int] = field(default_factory=set)
    hires: int = 0
    internships: int = 0
    #: Fewer than MIN_CELL_COMPANIES companies (primary suppression).
    small: bool = False
    #: Enough companies, but withheld so a small cell cannot be worked out by subtraction.
    withheld: bool = False

    @property
    def hidden(self) -> bool:
        return self.small or self.withheld

    @property
    def company_count(self) -> int | None:
        return None if self.hidden else len(self.companies)

    @property
    def training_companies(self) -> int | None:
        return None if self.hidden else len(self.on_the_job)

    @property
    def planned_hires(self) -> int | None:
        return None if self.hidden else self.hires

    @property
    def internships_offered(self) -> int | None:
        return None if self.hidden else self.internships

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.territory_label.lower(), self.occupation)


@dataclass
class Results:
    survey_round: SurveyRound
    territory_level: str
    occupation_level: str
    cells: list[Cell]
    #: Responding organisations (also those that plan no hires); None if fewer than the minimum.
    respondents: int | None
    total_hires: int | None
    total_internships: int | None
    total_training_companies: int | None

    @property
    def max_value(self) -> int:
        values = [c.hires for c in self.cells if not c.hidden]
        values += [c.internships for c in self.cells if not c.hidden]
        return max(values, default=0)


def _isco_label(code: str) -> str:
    table = ISCO_MAJOR_GROUPS if len(code) == 1 else ISCO_SUB_MAJOR_GROUPS
    label = table.get(code)
    return f"{code} – {label}" if label else f"ISCO {code}"


def protect(cells: Iterable[Cell], minimum: int = MIN_CELL_COMPANIES) -> None:
    """Statistical disclosure control, in place.

    Primary suppression: a cell with fewer than ``minimum`` companies is shown as "<3".
    Secondary suppression: a total minus the visible cells would give away the hidden
    ones, so within every group that adds up to a published figure (the whole table, and
    the parent region or ISCO group of each cell, which other tables publish) the hidden
    cells together must hold no company or at least ``minimum`` companies; otherwise the
    visible cell with the fewest companies is withheld too, until that holds.
    """
    cells = list(cells)
    for cell in cells:
        cell.small = len(cell.companies) < minimum
    # The smallest groups first: what they withhold often protects the larger ones too.
    groupings: list[Callable[[Cell], Any]] = [
        lambda c: (c.territory_parent, c.occupation) if c.territory_parent else None,
        lambda c: (c.territory, c.occupation_parent) if c.occupation_parent else None,
        lambda c: "table",  # the whole table: its grand total is published
    ]
    changed = True
    while changed:
        changed = False
        for grouping in groupings:
            groups: dict[Any, list[Cell]] = defaultdict(list)
            for cell in cells:
                key = grouping(cell)
                if key is not None:  # None: that level has no parent in this table
                    groups[key].append(cell)
            for members in groups.values():
                hidden: set[int] = set()
                for cell in members:
                    if cell.hidden:
                        hidden |= cell.companies
                if 0 < len(hidden) < minimum:
                    visible = [c for c in members if not c.hidden]
                    if visible:
                        chosen = min(
                            visible,
                            key=lambda c: (len(c.companies), c.hires, c.internships, c.sort_key),
                        )
                        chosen.withheld = True
                        changed = True


def aggregate(
    survey_round: SurveyRound, territory_level: str = "region", occupation_level: str = "isco1"
) -> Results:
    """Planned hires, internships and companies per territory and occupation, protected."""
    if territory_level not in TERRITORY_LEVELS:
        territory_level = "region"
    if occupation_level not in OCCUPATION_LEVELS:
        occupation_level = "isco1"
    rows = db.session.execute(
        select(
            SurveyResponse.organisation_id,
            Municipality.province_code,
            Municipality.region,
            Occupation.id,
            Occupation.isco_code,
            Occupation.label_it,
            Occupation.label_en,
            SurveyNeed.hires,
            SurveyNeed.internships,
            SurveyNeed.on_the_job_training,
        )
        .join(SurveyNeed, SurveyNeed.response_id == SurveyResponse.id)
        .join(Municipality, Municipality.istat_code == SurveyResponse.comune_code)
        .join(Occupation, Occupation.id == SurveyNeed.occupation_id)
        .where(SurveyResponse.round_id == survey_round.id)
    ).all()
    cells: dict[tuple[str, str], Cell] = {}
    for (
        org_id,
        province,
        region,
        occ_id,
        isco,
        label_it,
        label_en,
        hires,
        internships,
        on_the_job,
    ) in rows:
        if territory_level == "province":
            territory, territory_label, territory_parent = (
                province,
                f"{province} ({region})",
                region,
            )
        else:
            territory, territory_label, territory_parent = region, region, None
        if occupation_level == "esco":
            occupation = f"{isco}/{occ_id}"
            occupation_label = localized(label_it, label_en)
            occupation_parent: str | None = isco[:2]
        elif occupation_level == "isco2":
            occupation, occupation_parent = isco[:2], isco[:1]
            occupation_label = _isco_label(occupation)
        else:
            occupation, occupation_parent = isco[:1], None
            occupation_label = _isco_label(occupation)
        cell = cells.get((territory, occupation))
        if cell is None:
            cell = cells[(territory, occupation)] = Cell(
                territory=territory,
                territory_label=territory_label,
                occupation=occupation,
                occupation_label=occupation_label,
                territory_parent=territory_parent,
                occupation_parent=occupation_parent,
            )
        cell.companies.add(org_id)
        cell.hires += hires
        cell.internships += internships
        if on_the_job:
            cell.on_the_job.add(org_id)
    protect(cells.values())
    respondents = db.session.execute(
        select(func.count())
        .select_from(SurveyResponse)
        .where(SurveyResponse.round_id == survey_round.id)
    ).scalar_one()
    enough = respondents >= MIN_CELL_COMPANIES
    # The totals come from the companies that gave lines of needs: they must be enough
    # too (the others only say they plan nothing).
    contributors = len({r.organisation_id for r in rows})
    figures = enough and (contributors == 0 or contributors >= MIN_CELL_COMPANIES)
    return Results(
        survey_round=survey_round,
        territory_level=territory_level,
        occupation_level=occupation_level,
        cells=sorted(cells.values(), key=lambda c: c.sort_key),
        respondents=respondents if enough else None,
        total_hires=sum(r.hires for r in rows) if figures else None,
        total_internships=sum(r.internships for r in rows) if figures else None,
        total_training_companies=len({r.organisation_id for r in rows if r.on_the_job_training})
        if figures
        else None,
    )


@dataclass
class Bar:
    cell: Cell
    y: int
    hires_width: float
    internships_width: float


CHART_WIDTH = 560
CHART_BAR_AREA = 380
CHART_ROW = 66


def chart_bars(cells: list[Cell], max_value: int) -> list[Bar]:
    """Geometry of the SVG bar chart: a label, then a bar per measure with its number."""
    bars = []
    for n, cell in enumerate(cells):
        scale = CHART_BAR_AREA / max_value if max_value else 0
        bars.append(
            Bar(
                cell=cell,
                y=n * CHART_ROW,
                hires_width=0 if cell.hidden else round(cell.hires * scale, 1),
                internships_width=0 if cell.hidden else round(cell.internships * scale, 1),
            )
        )
    return bars


def export_header() -> list[str]:
    return [
        _("Territory code"),
        _("Territory"),
        _("Occupation code"),
        _("Occupation"),
        _("Responding companies"),
        _("Planned hires"),
        _("Internships offered"),
        _("Companies offering on-the-job training"),
        _("Note"),
    ]


def export_rows(results: Results) -> list[list[Any]]:
    """The aggregated table as exported: "<3" and empty values where suppressed."""
    small = _("Fewer than %(min)s companies: figures withheld.", min=MIN_CELL_COMPANIES)
    rows: list[list[Any]] = []
    for cell in results.cells:
        names = [cell.territory, cell.territory_label, cell.occupation, cell.occupation_label]
        if cell.small:
            rows.append([*names, f"<{MIN_CELL_COMPANIES}", None, None, None, small])
        elif cell.withheld:
            rows.append([*names, None, None, None, None, _("Withheld to protect a small cell.")])
        else:
            rows.append(
                [
                    *names,
                    len(cell.companies),
                    cell.hires,
                    cell.internships,
                    len(cell.on_the_job),
                    "",
                ]
            )
    names = ["", _("Total"), "", ""]
    if results.respondents is None:
        rows.append([*names, f"<{MIN_CELL_COMPANIES}", None, None, None, small])
    elif results.total_hires is None:
        rows.append([*names, results.respondents, None, None, None, small])
    else:
        rows.append(
            [
                *names,
                results.respondents,
                results.total_hires,
                results.total_internships,
                results.total_training_companies,
                "",
            ]
        )
    return rows


def export_filename(results: Results, extension: str) -> str:
    return (
        f"needs-survey-{results.survey_round.year}-{results.survey_round.id}-"
        f"{results.territory_level}-{results.occupation_level}.{extension}"
    )


def to_csv(results: Results) -> str:
    return spreadsheets.csv_text([export_header(), *export_rows(results)])


def to_xlsx(results: Results) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Needs survey")[:31]
    spreadsheets.append(sheet, export_header())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in export_rows(results):
        spreadsheets.append(sheet, row)
    sheet[f"A{sheet.max_row}"].font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHI", (12, 30, 14, 50, 14, 14, 14, 18, 40), strict=True):
        sheet.column_dimensions[column].width = width
    notes = book.create_sheet(_("Notes")[:31])
    survey_round = results.survey_round
    for line in (
        [_("Survey round"), survey_round.title],
        [_("Year"), survey_round.year],
        [_("Open from"), survey_round.opens_on.isoformat()],
        [_("Open until"), survey_round.closes_on.isoformat()],
        [
            _("Grouped by"),
            str(TERRITORY_LEVELS[results.territory_level]),
            str(OCCUPATION_LEVELS[results.occupation_level]),
        ],
        [_("Exported on"), utcnow().date().isoformat()],
        [
            _("Confidentiality"),
            _(
                "Cells with fewer than %(min)s companies are shown as <%(min)s and their "
                "figures are withheld; some other cells are withheld so that they cannot be "
                "worked out by subtraction.",
                min=MIN_CELL_COMPANIES,
            ),
        ],
    ):
        spreadsheets.append(notes, line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- Demo data -------------------------------------------------------------------------

# (organisation, filled by (demo e-mail local part), sector, comments,
#  lines: (ESCO English label, hires, contract, internships, on-the-job training))
DEMO_RESPONSES: list[tuple[str, str, str, str, list[tuple[str, int, str | None, int, bool]]]] = [
    (
        "Mobilificio Friulano S.p.A.",
        "employer",
        "C",
        "Cerchiamo soprattutto personale di magazzino; disponibili due tutor aziendali.",
        [
            ("warehouse worker", 3, "fixed_term", 2, True),
            ("furniture assembler", 2, "permanent", 1, True),
        ],
    ),
    (
        "Cooperativa Sociale Il Ponte",
        "cooperative",
        "N",
        "Nuovi appalti di manutenzione del verde in primavera.",
        [
            ("landscape gardener", 2, "social_coop_placement", 2, True),
            ("building cleaner", 3, "fixed_term", 0, True),
        ],
    ),
    (
        "Fattoria Sociale Il Melograno",
        "broker",
        "A",
        "",
        [("horticulture worker", 1, "part_time", 3, True)],
    ),
    (
        "Logistica Ciociara S.r.l.",
        "employer.fr",
        "H",
        "",
        [
            ("warehouse worker", 4, "part_time", 1, True),
            ("forklift operator", 1, "permanent", 0, False),
        ],
    ),
    (
        "Fattoria Sociale Terre del Liri",
        "farm",
        "A",
        "Tirocini stagionali da aprile a ottobre.",
        [("horticulture worker", 2, "fixed_term", 2, True)],
    ),
    (
        "Ristorazione Brianza S.r.l.",
        "broker",
        "I",
        "",
        [
            ("kitchen assistant", 3, "internship", 3, True),
            ("cook", 1, "permanent", 0, False),
            ("building cleaner", 2, "part_time", 0, False),
        ],
    ),
    (
        "Cooperativa Sociale Monza Lavoro",
        "broker",
        "C",
        "",
        [("hand packer", 4, "social_coop_placement", 2, True)],
    ),
    (
        "Officine Meccaniche Torinesi S.r.l.",
        "broker",
        "C",
        "",
        [
            ("metal drawing machine operator", 2, "apprenticeship", 1, True),
            ("welder", 1, "permanent", 0, False),
        ],
    ),
    (
        "Cooperativa Sociale La Fenice",
        "broker",
        "N",
        "",
        [
            ("building cleaner", 3, "social_coop_placement", 1, True),
            ("office clerk", 1, "part_time", 0, False),
        ],
    ),
]


def seed(scale: str, echo: Callable[[str], Any]) -> None:
    """One open round for the current year and the demo companies' answers (idempotent)."""
    from employers.demo import occupation
    from portal import accounts
    from portal.demo import DEMO_DOMAIN

    today = utcnow().date()
    title = f"Fabbisogni occupazionali e formativi delle imprese {today.year}"
    survey_round = db.session.execute(
        select(SurveyRound).where(SurveyRound.year == today.year, SurveyRound.title == title)
    ).scalar_one_or_none()
    if survey_round is None:
        survey_round = SurveyRound(
            title=title,
            year=today.year,
            opens_on=date(today.year, 1, 1),
            closes_on=date(today.year, 12, 31),
            description="Indagine strutturata sulle assunzioni e sulla formazione che le "
            "imprese prevedono nei prossimi 12 mesi.",
        )
        db.session.add(survey_round)
        db.session.flush()
    added = 0
    for name, filler, sector, comments, lines in DEMO_RESPONSES:
        org = accounts.find_organisation(name)
        if org is None or org.comune_code is None or response_for(survey_round, org):
            continue
        user = accounts.find_user(f"{filler}@{DEMO_DOMAIN}")
        visit = user is not None and user.has_role(BROKER)
        needs = []
        for label, hires, contract, internships, on_the_job in lines:
            occ = occupation(label)
            if occ is not None:
                needs.append(
                    SurveyNeed(
                        position=len(needs),
                        occupation=occ,
                        hires=hires,
                        contract_type=contract,
                        internships=internships,
                        on_the_job_training=on_the_job,
                    )
                )
        response = SurveyResponse(
            round=survey_round,
            organisation=org,
            comune_code=org.comune_code,
            sector=sector,
            comments=comments,
            filled_by=user,
            during_visit=visit,
            needs=needs,
            visit_on=today if visit else None,
            visit_service=broker_services(user)[0] if visit and user else None,
        )
        db.session.add(response)
        added += 1
    db.session.flush()
    if scale == "large":
        added += _seed_large(survey_round)
    db.session.commit()
    if added:
        echo(f'Needs survey: {added} answers to "{survey_round.title}".')


def _seed_large(survey_round: SurveyRound, target: int = 1_000) -> int:
    """Answers from companies of the large directory, so the results have real cells."""
    existing = db.session.execute(
        select(func.count())
        .select_from(SurveyResponse)
        .where(SurveyResponse.round_id == survey_round.id)
    ).scalar_one()
    missing = target - existing
    if missing <= 0:
        return 0
    answered = select(SurveyResponse.organisation_id).where(
        SurveyResponse.round_id == survey_round.id
    )
    companies = db.session.execute(
        select(Organisation.id, Organisation.comune_code)
        .where(
            Organisation.kind == COMPANY,
            Organisation.verified_at.is_not(None),
            Organisation.comune_code.is_not(None),
            Organisation.id.not_in(answered),
        )
        .order_by(Organisation.id)
        .limit(missing)
    ).all()
    occupations = db.session.execute(select(Occupation.id).order_by(Occupation.id)).scalars().all()
    if not companies or not occupations:
        return 0
    rng = random.Random(2)  # seed 002: the structured survey of local companies
    now = utcnow()
    contracts = list(CONTRACT_TYPES)
    # The large directory clusters in a few hundred places: favour common occupations.
    common = rng.sample(occupations, min(40, len(occupations)))
    response_rows = [
        {
            "round_id": survey_round.id,
            "organisation_id": org_id,
            "comune_code": comune,
            "sector": rng.choice("CFGHINQ"),
            "comments": "",
            "during_visit": False,
            "created_at": now,
            "updated_at": now,
        }
        for org_id, comune in companies
    ]
    ids = (
        db.session.execute(insert(SurveyResponse).returning(SurveyResponse.id), response_rows)
        .scalars()
        .all()
    )
    need_rows = []
    for response_id in ids:
        for position in range(rng.randint(0, 3)):
            hires = rng.choice([0, 1, 1, 2, 3, 5])
            need_rows.append(
                {
                    "response_id": response_id,
                    "position": position,
                    "occupation_id": rng.choice(common),
                    "hires": hires,
                    "contract_type": rng.choice(contracts) if hires else None,
                    "internships": rng.choice([0, 0, 1, 2]) if hires else rng.randint(1, 3),
                    "on_the_job_training": rng.random() < 0.5,
                }
            )
    for start in range(0, len(need_rows), 5000):
        db.session.execute(insert(SurveyNeed), need_rows[start : start + 5000])
    return len(ids)
