"""Brokerage: candidates (profile and sensitive part), services holding the case,
consent, proposals to employers, the placement pathway.

The candidate record has two parts (PRODUCT.md privacy rules): the *profile*, shareable
in anonymised form, and the *sensitive* part (GDPR art. 9 special-category data), kept
in its own table, encrypted at rest, readable only by brokers of the services that hold
the case, every read audit-logged (brokerage.services.read_sensitive).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.concurrency import Versioned
from portal.crypto import EncryptedText
from portal.db import Base, TimestampMixin, utcnow
from portal.models import Municipality, Organisation, User
from portal.taxonomy import Occupation, Skill

# Target groups: L. 381/1991 art. 4 (disadvantaged persons) and L. 68/1999 art. 1.
TARGET_GROUPS = {
    "physical_disability": _l("Physical disability (L. 381/1991 art. 4; L. 68/1999 art. 1)"),
    "mental_disability": _l("Intellectual disability (L. 381/1991 art. 4)"),
    "sensory_disability": _l("Sensory disability (L. 381/1991 art. 4)"),
    "psychiatric": _l("Former or current psychiatric patient (L. 381/1991 art. 4)"),
    "addiction": _l("Addiction: drugs or alcohol (L. 381/1991 art. 4)"),
    "minor_family_difficulty": _l("Minor of working age in family difficulty (L. 381/1991 art. 4)"),
    "prison": _l("Prisoner or person on alternative measures (L. 381/1991 art. 4)"),
    "poverty": _l("Person at risk of poverty (regional inclusion measures)"),
    "other": _l("Other disadvantage"),
}
EDUCATION_LEVELS = {
    "none": _l("No formal qualification"),
    "primary": _l("Primary school"),
    "lower_secondary": _l("Lower secondary school"),
    "vocational": _l("Vocational qualification"),
    "upper_secondary": _l("Upper secondary diploma"),
    "tertiary": _l("University degree"),
}

ACTIVE, PLACED, CLOSED = "active", "placed", "closed"


class Candidate(Versioned, TimestampMixin, Base):
    """A job seeker followed by the network. The profile part: no special-category data."""

    __tablename__ = "candidate"
    __table_args__ = (Index("ix_candidate_status_comune", "status", "comune_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(12), unique=True)
    #: Name kept for the broker's own use; never shown outside the holding services.
    full_name: Mapped[str] = mapped_column(EncryptedText, default="")
    comune_code: Mapped[str] = mapped_column(ForeignKey("municipality.istat_code"))
    max_commute_km: Mapped[int] = mapped_column(default=20)
    hours_min: Mapped[int] = mapped_column(default=10)
    hours_max: Mapped[int] = mapped_column(default=40)
    education_level: Mapped[str] = mapped_column(String(20), default="lower_secondary")
    driving_licence: Mapped[bool] = mapped_column(default=False)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE, index=True)
    #: Denormalised for fast matching: last day of a valid consent to matching.
    matching_consent_until: Mapped[date | None] = mapped_column(Date, index=True)
    erased_at: Mapped[datetime | None]

    municipality: Mapped[Municipality] = relationship(lazy="joined")
    skills: Mapped[list[CandidateSkill]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    desired: Mapped[list[CandidateOccupation]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    experiences: Mapped[list[Experience]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Experience.id"
    )
    adjustment_rows: Mapped[list[CandidateAdjustment]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    holdings: Mapped[list[CaseHolding]] = relationship(
        back_populates="candidate", cascade="all, delete-orphan", lazy="selectin"
    )
    sensitive: Mapped[SensitiveRecord | None] = relationship(
        back_populates="candidate", cascade="all, delete-orphan", lazy="select", uselist=False
    )

    @property
    def adjustments(self) -> list[str]:
        return sorted(a.code for a in self.adjustment_rows)

    @adjustments.setter
    def adjustments(self, codes: list[str]) -> None:
        wanted = set(codes)
        self.adjustment_rows = [a for a in self.adjustment_rows if a.code in wanted] + [
            CandidateAdjustment(code=c)
            for c in sorted(wanted - {a.code for a in self.adjustment_rows})
        ]

    @property
    def holding_service_ids(self) -> set[int]:
        return {h.service_id for h in self.holdings if h.until is None}

    def has_matching_consent(self, today: date) -> bool:
        return self.matching_consent_until is not None and self.matching_consent_until >= today


class CandidateSkill(Base):
    __tablename__ = "candidate_skill"

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(ForeignKey("esco_skill.id"), primary_key=True, index=True)
    skill: Mapped[Skill] = relationship(lazy="joined")


class CandidateOccupation(Base):
    """An occupation the candidate wants (ESCO)."""

    __tablename__ = "candidate_occupation"

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), primary_key=True
    )
    occupation_id: Mapped[int] = mapped_column(
        ForeignKey("esco_occupation.id"), primary_key=True, index=True
    )
    occupation: Mapped[Occupation] = relationship(lazy="joined")


class Experience(Base):
    __tablename__ = "candidate_experience"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), index=True
    )
    occupation_id: Mapped[int | None] = mapped_column(ForeignKey("esco_occupation.id"))
    months: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(String(500), default="")
    occupation: Mapped[Occupation | None] = relationship(lazy="joined")


class CandidateAdjustment(Base):
    """A workplace adjustment the candidate needs (portal.taxonomy.ADJUSTMENTS)."""

    __tablename__ = "candidate_adjustment"

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(30), primary_key=True)


class SensitiveRecord(Base):
    """Special-category data (GDPR art. 9): encrypted, read only through services."""

    __tablename__ = "candidate_sensitive"

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), primary_key=True
    )
    target_group: Mapped[str | None] = mapped_column(EncryptedText)
    disability_percentage: Mapped[str | None] = mapped_column(EncryptedText)
    origin_service_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    notes: Mapped[str | None] = mapped_column(EncryptedText)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    candidate: Mapped[Candidate] = relationship(back_populates="sensitive")
    origin_service: Mapped[Organisation | None] = relationship()


class CaseHolding(Base):
    """A service that holds (has taken charge of) the candidate's case."""

    __tablename__ = "case_holding"
    __table_args__ = (Index("ix_case_holding_service_open", "service_id", "until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    broker_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    candidate: Mapped[Candidate] = relationship(back_populates="holdings")
    service: Mapped[Organisation] = relationship(lazy="joined")
    broker: Mapped[User | None] = relationship(lazy="joined")


CONSENT_PURPOSES = {
    "matching": _l("Job matching and proposals to employers"),
    "pathway": _l("Placement pathway and follow-up"),
    "data_sharing": _l("Sharing within the network's services"),
}


class Consent(Base):
    """Explicit, dated consent with purpose and expiry (GDPR art. 7 and art. 9(2)(a))."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20))
    given_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    revoked_at: Mapped[datetime | None]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    document_name: Mapped[str] = mapped_column(String(200), default="")
    document_sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    recorded_by: Mapped[User] = relationship(lazy="joined")

    def is_valid(self, today: date) -> bool:
        return self.revoked_at is None and self.given_on <= today <= self.expires_on


PROPOSED, INTERVIEW, HIRED, DECLINED, WITHDRAWN = (
    "proposed",
    "interview",
    "hired",
    "declined",
    "withdrawn",
)
PROPOSAL_STATES = {
    PROPOSED: _l("Proposed"),
    INTERVIEW: _l("Interview arranged"),
    HIRED: _l("Hired"),
    DECLINED: _l("Declined"),
    WITHDRAWN: _l("Withdrawn"),
}


class Proposal(TimestampMixin, Base):
    """A candidate proposed for a vacancy. The employer sees ``card`` only: an anonymised
    snapshot (pseudonym, skills, experience, availability, adjustments, the broker's note
    and the match explanation), never the service or any special-category data."""

    __tablename__ = "proposal"
    __table_args__ = (UniqueConstraint("vacancy_id", "candidate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vacancy_id: Mapped[int] = mapped_column(ForeignKey("vacancy.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    broker_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    employer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default=PROPOSED, index=True)
    interview_at: Mapped[datetime | None]
    interview_place: Mapped[str] = mapped_column(String(200), default="")
    interview_outcome: Mapped[str] = mapped_column(String(500), default="")
    hire_contract_type: Mapped[str | None] = mapped_column(String(30))
    hire_start_on: Mapped[date | None] = mapped_column(Date)
    hire_hours: Mapped[int | None] = mapped_column(Integer)
    decline_reason: Mapped[str] = mapped_column(String(500), default="")
    first_contact_at: Mapped[datetime] = mapped_column(default=utcnow)

    candidate: Mapped[Candidate] = relationship()
    broker: Mapped[User] = relationship(lazy="joined")


# The placement pathway (seeds 001, 003): stages in order.
STAGES = {
    "referral": _l("Referral"),
    "intake": _l("Intake and orientation"),
    "training_plan": _l("Training plan"),
    "training": _l("Training"),
    "work_experience": _l("Work experience"),
    "hiring": _l("Hiring"),
    "follow_up": _l("Follow-up"),
    "closed": _l("Closed"),
}
WORK_EXPERIENCE_KINDS = {
    "tirocinio": _l("Internship (tirocinio)"),
    "borsa_lavoro": _l("Work grant (borsa lavoro)"),
    "observation_lab": _l("Observation and evaluation lab (3–6 months)"),
}
CLOSE_REASONS = {
    "employed": _l("Employed"),
    "moved": _l("Moved away"),
    "withdrew": _l("Withdrew"),
    "handed_over": _l("Handed over to another service"),
    "other": _l("Other"),
}


class PathwayStage(Versioned, Base):
    """One stage of a candidate's placement pathway, with dates, broker, tutor, notes."""

    __tablename__ = "pathway_stage"
    __table_args__ = (Index("ix_pathway_stage_candidate", "candidate_id", "started_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(20), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    service_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    broker_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    tutor: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(EncryptedText, default="")
    #: Stage details: referral source service, work-experience kind and observation
    #: record, hiring contract type/hours/employer, follow-up month, closing reason.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    service: Mapped[Organisation] = relationship(lazy="joined")
    broker: Mapped[User | None] = relationship(lazy="joined")


class ServiceDesk(Base):
    """A service's public desk for candidacies: where a person reading a public vacancy
    can go, call or write to be put forward by the network (SIL, job centre)."""

    __tablename__ = "service_desk"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(200), default="")
    opening_hours: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    accepts_candidacies: Mapped[bool] = mapped_column(default=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined")


REFERRAL_NEW = "new"
REFERRAL_CONTACTED = "contacted"
REFERRAL_CLOSED = "closed"
REFERRAL_STATES = {
    REFERRAL_NEW: _l("To contact"),
    REFERRAL_CONTACTED: _l("Contacted"),
    REFERRAL_CLOSED: _l("Closed"),
}


class ReferralRequest(TimestampMixin, Base):
    """A person asks a service desk to be put forward for a public vacancy. Only a name, a
    way to be contacted and the dated consent to be contacted: never special-category data
    (the desk learns the rest at the interview, under the caseload's consent rules)."""

    __tablename__ = "referral_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    vacancy_id: Mapped[int] = mapped_column(
        ForeignKey("vacancy.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(40), default="")
    locale: Mapped[str] = mapped_column(String(5), default="it")
    consent_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default=REFERRAL_NEW, index=True)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    handled_at: Mapped[datetime | None]

    service: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return str(REFERRAL_STATES.get(self.status, self.status))
