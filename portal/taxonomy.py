"""Shared vocabularies: ESCO occupations and skills, workplace adjustments.

Employers describe vacancies and brokers describe candidates with the same words,
so matching compares like with like.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import ForeignKey, Index, String, exists, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import db
from portal.db import Base


class BilingualLabel:
    """An ESCO concept's preferred labels (``label_it``, ``label_en``) as the reader sees
    them: Italian for an Italian page when ESCO has it, English otherwise."""

    label_it: str | None
    label_en: str

    @property
    def label(self) -> str:
        return localized(self.label_it, self.label_en)

    @property
    def label_html(self) -> Markup:
        return label_html(self.label_it, self.label_en)


class Occupation(BilingualLabel, Base):
    """An ESCO occupation (ISCO-08 groups 4–9)."""

    __tablename__ = "esco_occupation"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(120), unique=True)
    isco_code: Mapped[str] = mapped_column(String(4), index=True)
    label_it: Mapped[str | None] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))

    skills: Mapped[list[OccupationSkill]] = relationship(back_populates="occupation")


class Skill(BilingualLabel, Base):
    """An ESCO skill or knowledge item."""

    __tablename__ = "esco_skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(120), unique=True)
    label_it: Mapped[str | None] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300), index=True)
    skill_type: Mapped[str] = mapped_column(String(20))


class EscoLabel(Base):
    """Labels of an ESCO concept beyond its preferred Italian and English ones: alternative
    labels in any language, and preferred labels in languages other than Italian and English
    (loaded from ESCO's official CSV files by ``flask esco import-labels``)."""

    __tablename__ = "esco_label"
    __table_args__ = (Index("ix_esco_label_concept", "concept", "concept_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    concept: Mapped[str] = mapped_column(String(12))  # "skill" | "occupation"
    concept_id: Mapped[int]
    lang: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(300))
    preferred: Mapped[bool] = mapped_column(default=False)


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


def _locale() -> str:
    try:
        return str(get_locale() or "it")
    except RuntimeError:  # outside a request
        return "it"


def skill_options(skill_ids: Any, sort: bool = True) -> list[tuple[int, Markup]]:
    """(id, label) choices for skill checkboxes (sorted by label, or in the given order);
    a skill shown in English
    on a page in another language is marked ``lang="en"`` so screen readers say it right
    (WCAG 3.1.2, language of parts)."""
    ids = list(skill_ids)
    if not ids:
        return []
    found = {s.id: s for s in db.session.execute(select(Skill).where(Skill.id.in_(ids))).scalars()}
    skills = [found[i] for i in ids if i in found]
    if sort:
        skills.sort(key=lambda s: s.label.lower())
    english_fallback = _locale() != "en"
    choices = []
    for skill in skills:
        if english_fallback and not skill.label_it:
            choices.append((skill.id, Markup('<span lang="en">%s</span>') % skill.label_en))
        else:
            choices.append((skill.id, Markup.escape(skill.label)))
    return choices


def label_html(italian: str | None, english: str) -> Markup:
    """The label for a page: on a non-English page without the Italian label, the English
    one marked ``lang="en"`` so screen readers pronounce it right (WCAG 3.1.2)."""
    lang = _locale()
    if lang == "it" and italian:
        return Markup.escape(italian)
    if lang != "en":
        return Markup('<span lang="en">%s</span>') % english
    return Markup.escape(english)


def localized(italian: str | None, english: str) -> str:
    """The Italian label in Italian when there is one, else the English one."""
    return italian if _locale() == "it" and italian else english


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
    like = "%" + _like_escape(text.strip().lower()) + "%"
    return list(
        db.session.execute(
            select(Occupation)
            .where(
                or_(
                    func.lower(Occupation.label_it).like(like, escape="\\"),
                    func.lower(Occupation.label_en).like(like, escape="\\"),
                    _other_label_like("occupation", Occupation.id, like),
                )
            )
            .order_by(func.length(Occupation.label_en))
            .limit(limit)
        ).scalars()
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _starts_with(text: str) -> Any:
    """Occupations whose Italian or English label, or the feminine form after the "/" of
    the Italian one ("magazziniere/magazziniera"), starts with ``text`` (any case)."""
    pattern = _like_escape(text.lower())
    return or_(
        func.lower(Occupation.label_it).like(pattern + "%", escape="\\"),
        func.lower(Occupation.label_it).like("%/" + pattern + "%", escape="\\"),
        func.lower(Occupation.label_en).like(pattern + "%", escape="\\"),
    )


def suggest_occupations(text: str, limit: int = 12) -> list[Occupation]:
    """The picker's look-up: labels starting with ``text`` first (shortest first, in the
    reader's language), then labels containing it; an ISCO code gives its group."""
    text = " ".join(text.split())
    if len(text) < 2:
        return []
    if text.isdigit():
        return list(
            db.session.execute(
                select(Occupation)
                .where(Occupation.isco_code.startswith(text))
                .order_by(Occupation.isco_code, Occupation.label_en)
                .limit(limit)
            ).scalars()
        )
    label = localized_column()
    found = list(
        db.session.execute(
            select(Occupation)
            .where(_starts_with(text))
            .order_by(func.length(label), label)
            .limit(limit)
        ).scalars()
    )
    if len(found) < limit:
        pattern = "%" + _like_escape(text.lower()) + "%"
        found += db.session.execute(
            select(Occupation)
            .where(
                or_(
                    func.lower(Occupation.label_it).like(pattern, escape="\\"),
                    func.lower(Occupation.label_en).like(pattern, escape="\\"),
                ),
                Occupation.id.not_in([o.id for o in found]),
            )
            .order_by(func.length(label), label)
            .limit(limit - len(found))
        ).scalars()
    return found


def localized_column() -> Any:
    """The label column of the reader's language (Italian falls back to English)."""
    try:
        lang = str(get_locale() or "it")
    except RuntimeError:
        lang = "it"
    if lang == "it":
        return func.coalesce(Occupation.label_it, Occupation.label_en)
    return Occupation.label_en


def resolve_occupation(text: str | None) -> tuple[Occupation | None, list[Occupation]]:
    """The occupation a person meant by ``text``, else None and a few close matches.

    Accepted: the exact label in Italian or English (any case, either gender form of the
    Italian one), a four-digit ISCO code with a single occupation in it, or the start of a
    label that only one occupation has.
    """
    text = " ".join((text or "").split())
    if not text:
        return None, []
    if text.isdigit():
        group = list(
            db.session.execute(
                select(Occupation)
                .where(Occupation.isco_code == text)
                .order_by(Occupation.label_en)
                .limit(6)
            ).scalars()
        )
        return (group[0], []) if len(group) == 1 else (None, group[:5])
    low = text.lower()
    pattern = _like_escape(low)
    exact = list(
        db.session.execute(
            select(Occupation)
            .where(
                or_(
                    func.lower(Occupation.label_it) == low,
                    func.lower(Occupation.label_en) == low,
                    func.lower(Occupation.label_it).like(pattern + "/%", escape="\\"),
                    func.lower(Occupation.label_it).like("%/" + pattern, escape="\\"),
                )
            )
            .order_by(Occupation.id)
        ).scalars()
    )
    if exact:
        whole = [o for o in exact if low in ((o.label_it or "").lower(), o.label_en.lower())]
        return (whole or exact)[0], []
    starting = list(
        db.session.execute(
            select(Occupation).where(_starts_with(text)).order_by(Occupation.id).limit(6)
        ).scalars()
    )
    if len(starting) == 1:
        return starting[0], []
    return None, suggest_occupations(text, limit=5)


def _other_label_like(concept: str, id_column: Any, like: str) -> Any:
    """The concept has an alternative (or other-language) label containing ``like``."""
    return exists().where(
        EscoLabel.concept == concept,
        EscoLabel.concept_id == id_column,
        func.lower(EscoLabel.label).like(like, escape="\\"),
    )


def search_skills(text: str, limit: int = 20) -> list[Skill]:
    """Skills whose Italian, English or alternative label contains ``text``; preferred
    labels in the reader's language first, shortest first."""
    like = "%" + _like_escape(text.strip().lower()) + "%"
    label = func.coalesce(Skill.label_it, Skill.label_en) if _locale() == "it" else Skill.label_en
    preferred = or_(
        func.lower(Skill.label_it).like(like, escape="\\"),
        func.lower(Skill.label_en).like(like, escape="\\"),
    )
    found = list(
        db.session.execute(
            select(Skill).where(preferred).order_by(func.length(label), label).limit(limit)
        ).scalars()
    )
    if len(found) < limit:
        found += db.session.execute(
            select(Skill)
            .where(
                _other_label_like("skill", Skill.id, like),
                Skill.id.not_in([s.id for s in found] or [0]),
            )
            .order_by(func.length(label), label)
            .limit(limit - len(found))
        ).scalars()
    return found


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
