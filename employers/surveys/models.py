"""Needs-survey tables: a round (one edition of the questionnaire), one organisation's
response to it, its lines of needs and the key skills of each line.

Table names and constraints are those of the ``needs surveys`` migration; the limits in
the check constraints come from :mod:`employers.surveys.vocabulary`.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from employers.models import CONTRACT_TYPES
from employers.surveys.vocabulary import MAX_HIRES, MAX_INTERNSHIPS, SECTORS
from portal.concurrency import Versioned
from portal.db import Base, TimestampMixin
from portal.models import (
    Municipality,
    Organisation,
    User,
)
from portal.taxonomy import Occupation, Skill

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
