"""Employers: company profiles, vacancies and their skills and adjustments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import Date, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import identifiers
from portal.concurrency import Versioned
from portal.db import Base, TimestampMixin, touches_parent
from portal.models import Municipality, Organisation, User
from portal.taxonomy import ADJUSTMENTS, Occupation, Skill

DRAFT, PUBLISHED, CLOSED = "draft", "published", "closed"
# "vacancy" context: Italian agrees them with "offerta" (feminine).
STATUS_LABELS = {
    DRAFT: lazy_pgettext("vacancy", "Draft"),
    PUBLISHED: lazy_pgettext("vacancy", "Published"),
    CLOSED: lazy_pgettext("vacancy", "Closed"),
}
FILLED, WITHDRAWN, EXPIRED = "filled", "withdrawn", "expired"
CLOSE_REASONS = {
    FILLED: lazy_pgettext("vacancy", "Filled"),
    WITHDRAWN: lazy_pgettext("vacancy", "Withdrawn"),
    EXPIRED: lazy_pgettext("vacancy", "Expired"),
}

CONTRACT_TYPES = {
    "internship": _l("Internship (tirocinio)"),
    "apprenticeship": _l("Apprenticeship"),
    "fixed_term": _l("Fixed-term contract"),
    "permanent": _l("Permanent contract"),
    "part_time": _l("Part-time contract"),
    "social_coop_placement": _l("Placement in a social cooperative"),
}
SHIFT_PATTERNS = {
    "day": _l("Daytime"),
    "morning": _l("Mornings"),
    "afternoon": _l("Afternoons"),
    "shifts": _l("Rotating shifts"),
    "night": _l("Nights"),
    "weekend": _l("Weekends"),
    "flexible": _l("Flexible"),
}
PAY_PERIODS = {"hour": _l("per hour"), "month": _l("per month"), "year": _l("per year")}


class CompanyProfile(Versioned, TimestampMixin, Base):
    """What an employer tells the network about itself (one per organisation)."""

    __tablename__ = "company_profile"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    legal_name: Mapped[str] = mapped_column(String(200), default="")
    vat_number: Mapped[str] = mapped_column(String(11), default="")
    fiscal_code: Mapped[str] = mapped_column(String(16), default="")
    ateco_code: Mapped[str] = mapped_column(String(10), default="")
    employees: Mapped[int | None]
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    step_free_access: Mapped[bool] = mapped_column(default=False)
    accessible_toilets: Mapped[bool] = mapped_column(default=False)
    public_transport: Mapped[bool] = mapped_column(default=False)
    tutors_available: Mapped[int] = mapped_column(default=0)

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class Vacancy(Versioned, TimestampMixin, Base):
    __tablename__ = "vacancy"
    __search_type__ = "vacancy"
    __table_args__ = (
        # Filters the public listing and, covering the organisation, counts it from the index.
        Index("ix_vacancy_public", "status", "expires_on", "organisation_id"),
        # The public listing's order: newest first, read from the index, no sort.
        Index("ix_vacancy_status_published", "status", "published_at", "id"),
        Index("ix_vacancy_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    occupation_id: Mapped[int | None] = mapped_column(ForeignKey("esco_occupation.id"), index=True)
    comune_code: Mapped[str] = mapped_column(ForeignKey("municipality.istat_code"), index=True)
    hours_per_week: Mapped[int]
    shift_pattern: Mapped[str] = mapped_column(String(20), default="day")
    contract_type: Mapped[str] = mapped_column(String(30), index=True)
    positions: Mapped[int] = mapped_column(default=1)
    pay_min: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    pay_max: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    pay_period: Mapped[str] = mapped_column(String(10), default="month")
    onsite_tutor: Mapped[bool] = mapped_column(default=False)
    inclusion_open: Mapped[bool] = mapped_column(default=True)
    counts_toward_quota: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    close_reason: Mapped[str | None] = mapped_column(String(12))
    published_at: Mapped[datetime | None]
    expires_on: Mapped[date | None] = mapped_column(Date)
    reminder_sent_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    occupation: Mapped[Occupation | None] = relationship(lazy="joined")
    municipality: Mapped[Municipality] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()
    skills: Mapped[list[VacancySkill]] = relationship(
        back_populates="vacancy", cascade="all, delete-orphan", lazy="selectin"
    )
    adjustment_rows: Mapped[list[VacancyAdjustment]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def adjustments(self) -> list[str]:
        return sorted(a.code for a in self.adjustment_rows)

    @adjustments.setter
    def adjustments(self, codes: list[str]) -> None:
        wanted = {c for c in codes if c in ADJUSTMENTS}
        self.adjustment_rows = [a for a in self.adjustment_rows if a.code in wanted] + [
            VacancyAdjustment(code=c)
            for c in sorted(wanted - {a.code for a in self.adjustment_rows})
        ]

    @property
    def required_skills(self) -> list[Skill]:
        return [s.skill for s in self.skills if s.required]

    @property
    def preferred_skills(self) -> list[Skill]:
        return [s.skill for s in self.skills if not s.required]

    def is_public(self, today: date) -> bool:
        return (
            self.status == PUBLISHED
            and self.organisation.is_verified
            and (self.expires_on is None or self.expires_on >= today)
        )

    @property
    def contract_label(self) -> str:
        return str(CONTRACT_TYPES.get(self.contract_type, self.contract_type))

    @property
    def status_label(self) -> str:
        if self.status == CLOSED and self.close_reason:
            return f"{STATUS_LABELS[CLOSED]} ({CLOSE_REASONS[self.close_reason]})"
        return str(STATUS_LABELS.get(self.status, self.status))

    def search_document(self) -> dict[str, Any] | None:
        from portal.db import utcnow

        if not self.is_public(utcnow().date()):
            return None
        occupation = self.occupation
        place = self.municipality
        # Italian text only in the Italian body (English labels are in body_en): an Italian
        # snippet never shows an English skill label.
        skills = ", ".join(s.skill.label_it for s in self.skills if s.skill.label_it)
        return {
            "title": self.title,
            "body": [
                self.description,
                occupation.label_it if occupation else "",
                self.organisation.name,
                place.name if place else "",
                skills,
            ],
            "title_en": occupation.label_en if occupation else "",
            "body_en": ", ".join(s.skill.label_en for s in self.skills),
            "kind": self.contract_type,
            "comune": self.comune_code,
            "province": place.province_code if place else "",
            "region": place.region if place else "",
            "tags": self.adjustments,
            "published": self.published_at,
            # Search leaves it out after this day even before the expiry job closes it.
            "expires": self.expires_on,
            "url_endpoint": ("employers.vacancy_detail", {"vacancy_id": self.id}),
        }


@touches_parent(Vacancy, "vacancy_id")  # its changes show in Vacancy.updated_at
class VacancySkill(Base):
    __tablename__ = "vacancy_skill"

    vacancy_id: Mapped[int] = mapped_column(
        ForeignKey("vacancy.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(ForeignKey("esco_skill.id"), primary_key=True, index=True)
    required: Mapped[bool] = mapped_column(default=True)

    vacancy: Mapped[Vacancy] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship(lazy="joined")


@touches_parent(Vacancy, "vacancy_id")  # its changes show in Vacancy.updated_at
class VacancyAdjustment(Base):
    """A workplace adjustment a vacancy offers (the vocabulary brokers use too)."""

    __tablename__ = "vacancy_adjustment"

    vacancy_id: Mapped[int] = mapped_column(
        ForeignKey("vacancy.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(30), primary_key=True, index=True)


# Stored identifiers, checked by `flask ponte check-identifiers` (portal.identifiers).
identifiers.register_stored(
    "company VAT number", CompanyProfile, "vat_number", identifiers.vat_number
)
identifiers.register_stored(
    "company fiscal code", CompanyProfile, "fiscal_code", identifiers.fiscal_code
)
