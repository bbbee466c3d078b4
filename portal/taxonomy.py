"""Shared vocabularies: ESCO occupations and skills, workplace adjustments.

Employers describe vacancies and brokers describe candidates with the same words,
so matching compares like with like.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import db
from portal.db import Base


class Occupation(Base):
    """An ESCO occupation (ISCO-08 groups 4–9)."""

    __tablename__ = "esco_occupation"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(120), unique=True)
    isco_code: Mapped[str] = mapped_column(String(4), index=True)
    label_it: Mapped[str | None] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))

    skills: Mapped[list[OccupationSkill]] = relationship(back_populates="occupation")

    @property
    def label(self) -> str:
        return localized(self.label_it, self.label_en)


class Skill(Base):
    """An ESCO skill or knowledge item."""

    __tablename__ = "esco_skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(120), unique=True)
    label_it: Mapped[str | None] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300), index=True)
    skill_type: Mapped[str] = mapped_column(String(20))

    @property
    def label(self) -> str:
        return localized(self.label_it, self.label_en)


class OccupationSkill(Base):
    __tablename__ = "esco_occupation_skill"

    occupation_id: Mapped[int] = mapped_column(
        ForeignKey("esco_occupation.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("esco_skill.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    essential: Mapped[bool]

    occupation: Mapped[Occupation] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship(lazy="joined")


def localized(italian: str | None, english: str) -> str:
    """The Italian label in Italian when there is one, else the English one."""
    try:
        lang = str(get_locale() or "it")
    except RuntimeError:  # outside a request
        lang = "it"
    return italian if lang == "it" and italian else english


def suggested_skills(occupation: Occupation) -> tuple[list[Skill], list[Skill]]:
    """The occupation's essential and optional skills (ESCO relations)."""
    rows = (
        db.session.execute(
            select(OccupationSkill).where(OccupationSkill.occupation_id == occupation.id)
        )
        .scalars()
        .all()
    )
    essential = sorted((r.skill for r in rows if r.essential), key=lambda s: s.label)
    optional = sorted((r.skill for r in rows if not r.essential), key=lambda s: s.label)
    return essential, optional


def search_occupations(text: str, limit: int = 20) -> list[Occupation]:
    like = "%" + text.strip().lower().replace("%", "") + "%"
    return list(
        db.session.execute(
            select(Occupation)
            .where(
                or_(
                    func.lower(Occupation.label_it).like(like),
                    func.lower(Occupation.label_en).like(like),
                )
            )
            .order_by(func.length(Occupation.label_en))
            .limit(limit)
        ).scalars()
    )


def search_skills(text: str, limit: int = 20) -> list[Skill]:
    like = "%" + text.strip().lower().replace("%", "") + "%"
    return list(
        db.session.execute(
            select(Skill)
            .where(
                or_(func.lower(Skill.label_it).like(like), func.lower(Skill.label_en).like(like))
            )
            .order_by(func.length(Skill.label_en))
            .limit(limit)
        ).scalars()
    )


#: Workplace adjustments: what helps at work, never what condition it is for
#: (PRODUCT.md privacy rules). The same words for vacancies (offered) and candidates
#: (needed).
ADJUSTMENTS = {
    "quiet_place": _l("Quiet place to work"),
    "step_free_access": _l("Step-free access"),
    "accessible_toilets": _l("Accessible toilets"),
    "flexible_hours": _l("Flexible hours"),
    "part_time": _l("Part-time hours"),
    "onsite_tutor": _l("On-site tutor"),
    "gradual_start": _l("Gradual start"),
    "written_instructions": _l("Written, step-by-step instructions"),
    "extra_breaks": _l("Extra short breaks"),
    "adapted_workstation": _l("Adapted workstation"),
    "assistive_technology": _l("Assistive technology"),
    "public_transport": _l("Reachable by public transport"),
}
