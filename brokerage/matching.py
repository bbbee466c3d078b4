"""Explainable matching, both ways: candidates for a vacancy, vacancies for a candidate.

Hard filters first (consent, commute distance, hours, adjustments the workplace cannot
offer), then a score out of 100 from weighted factors, each with its contribution in
plain words. Weights live in one place: the ``MATCHING_WEIGHTS`` setting (config),
defaulting to :data:`DEFAULT_WEIGHTS`. Nothing here reads special-category data.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, exists, not_, select, true

from brokerage.models import (
    ACTIVE,
    Candidate,
    CandidateAdjustment,
    CandidateOccupation,
    CandidateSkill,
    CaseHolding,
    Experience,
)
from employers.models import Vacancy, VacancyAdjustment, VacancySkill
from employers.services import public_vacancy_select
from portal import db
from portal.models import Municipality
from portal.municipalities import distance_km, within_radius
from portal.taxonomy import Occupation

DEFAULT_WEIGHTS = {
    "required_skills": 35.0,
    "preferred_skills": 10.0,
    "occupation": 20.0,
    "distance": 15.0,
    "hours": 10.0,
    "experience": 10.0,
}
#: Months of similar experience that earn the full experience points.
FULL_EXPERIENCE_MONTHS = 24
#: No candidate is asked to commute further than this (bounds the SQL prefilter).
MAX_COMMUTE_KM = 150


def weights() -> dict[str, float]:
    configured = current_app.config.get("MATCHING_WEIGHTS") or {}
    return {
        **DEFAULT_WEIGHTS,
        **{k: float(v) for k, v in configured.items() if k in DEFAULT_WEIGHTS},
    }


@dataclass(frozen=True)
class VacancyFacts:
    id: int
    lat: float | None
    lon: float | None
    comune: str
    hours: int
    occupation_id: int | None
    isco: str | None
    required: frozenset[int]
    preferred: frozenset[int]
    offered: frozenset[str]


@dataclass(frozen=True)
class CandidateFacts:
    id: int
    lat: float | None
    lon: float | None
    comune: str
    max_commute_km: int
    hours_min: int
    hours_max: int
    skills: frozenset[int]
    desired: frozenset[int]
    desired_isco: frozenset[str]
    experience: dict[str, int]  # ISCO code -> months
    experience_occupations: dict[int, int]  # occupation id -> months
    needed: frozenset[str]


@dataclass
class Factor:
    name: str
    points: float
    max_points: float
    explanation: str


@dataclass
class Match:
    candidate_id: int
    vacancy_id: int
    score: float
    distance_km: float | None
    factors: list[Factor] = field(default_factory=list)


def _distance(v: VacancyFacts, c: CandidateFacts) -> float | None:
    if v.comune == c.comune:
        return 0.0
    if None in (v.lat, v.lon, c.lat, c.lon):
        return None
    return distance_km(v.lat, v.lon, c.lat, c.lon)  # type: ignore[arg-type]


def passes_hard_filters(v: VacancyFacts, c: CandidateFacts) -> bool:
    """Commute, hours and adjustments (consent is filtered in SQL before)."""
    d = _distance(v, c)
    if d is None or d > c.max_commute_km:
        return False
    if not c.hours_min <= v.hours <= c.hours_max:
        return False
    return c.needed <= v.offered


def _isco_similarity(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 0.75
    if a[:3] == b[:3]:
        return 0.5
    if a[:2] == b[:2]:
        return 0.25
    return 0.0


def score(v: VacancyFacts, c: CandidateFacts, w: dict[str, float]) -> Match | None:
    """The match of ``c`` for ``v``, or None when a hard filter excludes it."""
    if not passes_hard_filters(v, c):
        return None
    d = _distance(v, c) or 0.0
    factors = [
        _skills_factor("required_skills", v.required, c.skills, w["required_skills"]),
        _skills_factor("preferred_skills", v.preferred, c.skills, w["preferred_skills"]),
        _occupation_factor(v, c, w["occupation"]),
        _distance_factor(d, c.max_commute_km, w["distance"]),
        _hours_factor(v.hours, c.hours_max, w["hours"]),
        _experience_factor(v, c, w["experience"]),
    ]
    total = sum(f.points for f in factors)
    maximum = sum(f.max_points for f in factors) or 1.0
    return Match(
        candidate_id=c.id,
        vacancy_id=v.id,
        score=round(100 * total / maximum, 1),
        distance_km=round(d, 1),
        factors=factors,
    )


def _skills_factor(name: str, wanted: frozenset[int], has: frozenset[int], weight: float) -> Factor:
    if not wanted:
        # Nothing asked: half the points, so lists with no skills neither win nor lose.
        return Factor(name, weight / 2, weight, _("The vacancy lists no skills of this kind."))
    shared = len(wanted & has)
    text = (
        _("Has %(n)d of the %(total)d required skills.", n=shared, total=len(wanted))
        if name == "required_skills"
        else _("Has %(n)d of the %(total)d preferred skills.", n=shared, total=len(wanted))
    )
    return Factor(name, weight * shared / len(wanted), weight, text)


def _occupation_factor(v: VacancyFacts, c: CandidateFacts, weight: float) -> Factor:
    if v.occupation_id is None:
        return Factor("occupation", weight / 2, weight, _("The vacancy names no occupation."))
    if v.occupation_id in c.desired:
        return Factor("occupation", weight, weight, _("Wants exactly this occupation."))
    similarity = max((_isco_similarity(v.isco, i) for i in c.desired_isco), default=0.0)
    if similarity:
        return Factor(
            "occupation",
            weight * similarity,
            weight,
            _("Wants a related occupation (same ISCO group)."),
        )
    return Factor("occupation", 0.0, weight, _("Has not asked for this kind of work."))


def _distance_factor(d: float, limit: int, weight: float) -> Factor:
    # Linear decay: full points on the doorstep, none at the candidate's own limit.
    fraction = max(0.0, 1 - d / limit) if limit else 1.0
    return Factor(
        "distance",
        weight * fraction,
        weight,
        _("%(km)s km from home (limit %(limit)s km).", km=f"{d:.0f}", limit=limit),
    )


def _hours_factor(hours: int, hours_max: int, weight: float) -> Factor:
    fraction = min(1.0, hours / hours_max) if hours_max else 0.0
    return Factor(
        "hours",
        weight * fraction,
        weight,
        _("%(hours)s hours a week, of up to %(max)s wanted.", hours=hours, max=hours_max),
    )


def _experience_factor(v: VacancyFacts, c: CandidateFacts, weight: float) -> Factor:
    months = c.experience_occupations.get(v.occupation_id or -1, 0)
    if not months and v.isco:
        months = (
            max((m for isco, m in c.experience.items() if isco[:3] == v.isco[:3]), default=0) // 2
        )  # similar work counts half
    fraction = min(1.0, months / FULL_EXPERIENCE_MONTHS)
    if months:
        text = ngettext(
            "%(num)d month of experience in similar work.",
            "%(num)d months of experience in similar work.",
            months,
        )
    else:
        text = _("No experience in similar work yet.")
    return Factor("experience", weight * fraction, weight, text)


# --- Loading facts in bulk (no N+1) ------------------------------------------------------


def vacancy_facts(vacancies: Iterable[Vacancy]) -> list[VacancyFacts]:
    vacancies = list(vacancies)
    ids = [v.id for v in vacancies]
    skills: dict[int, dict[bool, set[int]]] = defaultdict(lambda: {True: set(), False: set()})
    offered: dict[int, set[str]] = defaultdict(set)
    if ids:
        for vid, sid, required in db.session.execute(
            select(VacancySkill.vacancy_id, VacancySkill.skill_id, VacancySkill.required).where(
                VacancySkill.vacancy_id.in_(ids)
            )
        ):
            skills[vid][required].add(sid)
        for vid, code in db.session.execute(
            select(VacancyAdjustment.vacancy_id, VacancyAdjustment.code).where(
                VacancyAdjustment.vacancy_id.in_(ids)
            )
        ):
            offered[vid].add(code)
    facts = []
    for v in vacancies:
        place = v.municipality
        extra = {"onsite_tutor"} if v.onsite_tutor else set()
        facts.append(
            VacancyFacts(
                id=v.id,
                lat=place.lat,
                lon=place.lon,
                comune=v.comune_code,
                hours=v.hours_per_week,
                occupation_id=v.occupation_id,
                isco=v.occupation.isco_code if v.occupation else None,
                required=frozenset(skills[v.id][True]),
                preferred=frozenset(skills[v.id][False]),
                offered=frozenset(offered[v.id] | extra),
            )
        )
    return facts


def candidate_facts(
    rows: list[tuple[int, str, float | None, float | None, int, int, int]],
) -> list[CandidateFacts]:
    """Facts for candidates given as (id, comune, lat, lon, max_commute, hours_min,
    hours_max) rows; skills, wishes, experience and needs in four queries."""
    ids = [r[0] for r in rows]
    skills: dict[int, set[int]] = defaultdict(set)
    desired: dict[int, set[int]] = defaultdict(set)
    desired_isco: dict[int, set[str]] = defaultdict(set)
    experience: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    experience_occ: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    needed: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(ids, 5000):
        for cid, sid in db.session.execute(
            select(CandidateSkill.candidate_id, CandidateSkill.skill_id).where(
                CandidateSkill.candidate_id.in_(chunk)
            )
        ):
            skills[cid].add(sid)
        for cid, oid, isco in db.session.execute(
            select(
                CandidateOccupation.candidate_id,
                CandidateOccupation.occupation_id,
                Occupation.isco_code,
            )
            .join(Occupation)
            .where(CandidateOccupation.candidate_id.in_(chunk))
        ):
            desired[cid].add(oid)
            desired_isco[cid].add(isco)
        for cid, oid, isco, months in db.session.execute(
            select(
                Experience.candidate_id,
                Experience.occupation_id,
                Occupation.isco_code,
                Experience.months,
            )
            .outerjoin(Occupation)
            .where(Experience.candidate_id.in_(chunk))
        ):
            if oid is not None:
                experience_occ[cid][oid] += months
                experience[cid][isco] += months
        for cid, code in db.session.execute(
            select(CandidateAdjustment.candidate_id, CandidateAdjustment.code).where(
                CandidateAdjustment.candidate_id.in_(chunk)
            )
        ):
            needed[cid].add(code)
    return [
        CandidateFacts(
            id=cid,
            comune=comune,
            lat=lat,
            lon=lon,
            max_commute_km=commute,
            hours_min=hmin,
            hours_max=hmax,
            skills=frozenset(skills[cid]),
            desired=frozenset(desired[cid]),
            desired_isco=frozenset(desired_isco[cid]),
            experience=dict(experience[cid]),
            experience_occupations=dict(experience_occ[cid]),
            needed=frozenset(needed[cid]),
        )
        for cid, comune, lat, lon, commute, hmin, hmax in rows
    ]


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _box(lat: float | None, lon: float | None, km: float):  # type: ignore[no-untyped-def]
    if lat is None or lon is None:
        return None
    dlat = km / 111.0
    dlon = km / (111.0 * max(math.cos(math.radians(lat)), 0.01))
    return (
        Municipality.lat.between(lat - dlat, lat + dlat),
        Municipality.lon.between(lon - dlon, lon + dlon),
    )


def candidates_for_vacancy(
    vacancy: Vacancy, service_ids: set[int], today: date, limit: int = 50
) -> list[Match]:
    """Ranked candidates of ``service_ids`` for ``vacancy`` (valid consent only)."""
    [v] = vacancy_facts([vacancy])
    held = select(CaseHolding.candidate_id).where(
        CaseHolding.service_id.in_(service_ids), CaseHolding.until.is_(None)
    )
    # A candidate who needs an adjustment the workplace does not offer is left out in SQL.
    lacking = exists().where(
        CandidateAdjustment.candidate_id == Candidate.id,
        not_(CandidateAdjustment.code.in_(v.offered)) if v.offered else true(),
    )
    stmt = (
        select(
            Candidate.id,
            Candidate.comune_code,
            Municipality.lat,
            Municipality.lon,
            Candidate.max_commute_km,
            Candidate.hours_min,
            Candidate.hours_max,
        )
        .join(Municipality, Candidate.comune_code == Municipality.istat_code)
        .where(
            Candidate.id.in_(held),
            Candidate.status == ACTIVE,
            Candidate.erased_at.is_(None),
            Candidate.matching_consent_until >= today,
            Candidate.hours_min <= v.hours,
            Candidate.hours_max >= v.hours,
            ~lacking,
        )
    )
    box = _box(v.lat, v.lon, MAX_COMMUTE_KM)
    if box is not None:
        stmt = stmt.where(and_(*box) | (Candidate.comune_code == v.comune))
    else:
        stmt = stmt.where(Candidate.comune_code == v.comune)
    rows = db.session.execute(stmt).all()
    w = weights()
    matches = [m for c in candidate_facts(rows) if (m := score(v, c, w)) is not None]
    matches.sort(key=lambda m: (-m.score, m.distance_km or 0, m.candidate_id))
    return matches[:limit]


def _offers_all(needed: Iterable[str]) -> list:  # type: ignore[type-arg]
    """SQL conditions: the vacancy offers every adjustment in ``needed``."""
    conditions = []
    for code in sorted(needed):
        offered = exists().where(
            VacancyAdjustment.vacancy_id == Vacancy.id, VacancyAdjustment.code == code
        )
        conditions.append(
            offered | Vacancy.onsite_tutor.is_(True) if code == "onsite_tutor" else offered
        )
    return conditions


@dataclass
class NoMatchReasons:
    """Why no public vacancy passes a candidate's hard filters: how many of the open
    public vacancies fail on each (one vacancy may fail on several), and what would
    widen the search. Counts of public vacancies and the candidate's own profile only."""

    public: int
    too_far: int
    other_hours: int
    missing_adjustments: int
    #: Distance to the nearest vacancy whose hours and adjustments fit (rounded up).
    nearest_fitting_km: int | None
    #: The hours a week asked by vacancies within the commute that offer the adjustments.
    nearby_hours: tuple[int, int] | None


def why_no_match(candidate: Candidate, today: date) -> NoMatchReasons:
    base = public_vacancy_select(today)
    needed = set(candidate.adjustments or ())
    place = candidate.municipality
    near = Vacancy.comune_code.in_(within_radius(place, candidate.max_commute_km))
    hours_fit = Vacancy.hours_per_week.between(candidate.hours_min, candidate.hours_max)
    adjustments_fit = and_(true(), *_offers_all(needed))

    def count(*where) -> int:  # type: ignore[no-untyped-def]
        stmt = base.where(*where).with_only_columns(db.func.count(Vacancy.id))
        return int(db.session.execute(stmt).scalar_one())

    public = count()
    nearest = None
    if place.lat is not None and place.lon is not None:
        rows = db.session.execute(
            base.where(hours_fit, adjustments_fit, not_(near))
            .join(Municipality, Vacancy.comune_code == Municipality.istat_code)
            .with_only_columns(Municipality.lat, Municipality.lon)
            .distinct()
        ).all()
        distances = [
            distance_km(place.lat, place.lon, lat, lon)
            for lat, lon in rows
            if lat is not None and lon is not None
        ]
        nearest = math.ceil(min(distances)) if distances else None
    hours = db.session.execute(
        base.where(near, adjustments_fit).with_only_columns(
            db.func.min(Vacancy.hours_per_week), db.func.max(Vacancy.hours_per_week)
        )
    ).one()
    return NoMatchReasons(
        public=public,
        too_far=public - count(near),
        other_hours=public - count(hours_fit),
        missing_adjustments=public - count(adjustments_fit) if needed else 0,
        nearest_fitting_km=nearest if nearest is not None and nearest <= MAX_COMMUTE_KM else None,
        nearby_hours=(int(hours[0]), int(hours[1])) if hours[0] is not None else None,
    )


def vacancies_for_candidate(candidate: Candidate, today: date, limit: int = 50) -> list[Match]:
    """Ranked public vacancies for ``candidate`` (empty without valid consent)."""
    if not candidate.has_matching_consent(today) or candidate.status != ACTIVE:
        return []
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
    stmt = public_vacancy_select(today).where(
        Vacancy.hours_per_week.between(c.hours_min, c.hours_max), *_offers_all(c.needed)
    )
    # The municipalities within the commute first, then their vacancies by the comune_code
    # index: a box over the joined municipality let SQLite walk all public vacancies.
    stmt = stmt.where(Vacancy.comune_code.in_(within_radius(place, c.max_commute_km)))
    vacancies = db.session.execute(stmt).scalars().all()
    w = weights()
    matches = [m for v in vacancy_facts(vacancies) if (m := score(v, c, w)) is not None]
    matches.sort(key=lambda m: (-m.score, m.distance_km or 0, m.vacancy_id))
    return matches[:limit]
