"""Matching: hard filters, scoring by hand-computed numbers, rankings, explanations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from brokerage import matching
from brokerage.matching import CandidateFacts, VacancyFacts, score
from brokerage.models import (
    Candidate,
    CandidateOccupation,
    CandidateSkill,
    CaseHolding,
    Experience,
)
from portal import db
from portal.db import utcnow
from portal.taxonomy import Occupation, Skill
from tests.employers.factories import make_vacancy
from tests.factories import make_org, make_user

W = dict(matching.DEFAULT_WEIGHTS)


def vfacts(**kw) -> VacancyFacts:
    base = dict(
        id=1,
        lat=45.96,
        lon=12.66,
        comune="093033",
        hours=30,
        occupation_id=10,
        isco="9333",
        required=frozenset({1, 2, 3, 4}),
        preferred=frozenset({5, 6}),
        offered=frozenset({"quiet_place"}),
    )
    base.update(kw)
    return VacancyFacts(**base)


def cfacts(**kw) -> CandidateFacts:
    base = dict(
        id=7,
        lat=45.96,
        lon=12.66,
        comune="093033",
        max_commute_km=20,
        hours_min=20,
        hours_max=40,
        skills=frozenset({1, 2, 5}),
        desired=frozenset({10}),
        desired_isco=frozenset({"9333"}),
        experience={"9333": 12},
        experience_occupations={10: 12},
        needed=frozenset(),
    )
    base.update(kw)
    return CandidateFacts(**base)


def test_score_by_hand():
    match = score(vfacts(), cfacts(), W)
    points = {f.name: f.points for f in match.factors}
    assert points["required_skills"] == pytest.approx(35 * 2 / 4)
    assert points["preferred_skills"] == pytest.approx(10 * 1 / 2)
    assert points["occupation"] == 20
    assert points["distance"] == 15  # same municipality
    assert points["hours"] == pytest.approx(10 * 30 / 40)
    assert points["experience"] == pytest.approx(10 * 12 / 24)
    assert match.score == pytest.approx(round(17.5 + 5 + 20 + 15 + 7.5 + 5, 1))
    assert all(f.explanation for f in match.factors)


@pytest.mark.parametrize(
    "candidate,reason",
    [
        (cfacts(hours_min=35), "hours below the candidate's minimum"),
        (cfacts(hours_max=25), "hours above the candidate's maximum"),
        (cfacts(needed=frozenset({"step_free_access"})), "adjustment not offered"),
        (cfacts(comune="001272", lat=45.07, lon=7.69), "too far (Turin)"),
        (cfacts(comune="999999", lat=None, lon=None), "unknown distance"),
    ],
)
def test_hard_filters(candidate, reason):
    assert score(vfacts(), candidate, W) is None, reason


def test_distance_decays_linearly():
    # Porcia is ~5 km west of Pordenone.
    near = score(vfacts(), cfacts(comune="x", lat=45.96, lon=12.60), W)
    d = near.distance_km
    assert 3 < d < 7
    distance = next(f for f in near.factors if f.name == "distance")
    assert distance.points == pytest.approx(15 * (1 - d / 20), abs=0.2)


def test_related_occupation_scores_part():
    match = score(vfacts(), cfacts(desired=frozenset({99}), desired_isco=frozenset({"9334"})), W)
    occupation = next(f for f in match.factors if f.name == "occupation")
    assert occupation.points == pytest.approx(20 * 0.5)


def test_ranking_is_by_score():
    strong = cfacts(id=1, skills=frozenset({1, 2, 3, 4, 5, 6}))
    weak = cfacts(
        id=2,
        skills=frozenset(),
        desired=frozenset(),
        desired_isco=frozenset(),
        experience={},
        experience_occupations={},
    )
    ranked = sorted([score(vfacts(), c, W) for c in (weak, strong)], key=lambda m: -m.score)
    assert [m.candidate_id for m in ranked] == [1, 2]


# --- Against the database ---------------------------------------------------------------


def skill_ids(n: int) -> list[int]:
    return list(db.session.execute(select(Skill.id).order_by(Skill.id).limit(n)).scalars())


def make_candidate(
    service,
    broker,
    *,
    comune="093033",
    consent_days=365,
    skills=(),
    occupation_id=None,
    hours=(10, 40),
    commute=20,
    needed=(),
    months=0,
):
    n = db.session.execute(select(db.func.count()).select_from(Candidate)).scalar_one()
    candidate = Candidate(
        pseudonym=f"T-{n:05d}",
        comune_code=comune,
        max_commute_km=commute,
        hours_min=hours[0],
        hours_max=hours[1],
        matching_consent_until=(utcnow().date() + timedelta(days=consent_days))
        if consent_days is not None
        else None,
    )
    candidate.skills = [CandidateSkill(skill_id=s) for s in skills]
    if occupation_id:
        candidate.desired = [CandidateOccupation(occupation_id=occupation_id)]
        if months:
            candidate.experiences = [Experience(occupation_id=occupation_id, months=months)]
    candidate.adjustments = list(needed)
    candidate.holdings = [
        CaseHolding(service_id=service.id, since=utcnow().date(), broker_id=broker.id)
    ]
    db.session.add(candidate)
    db.session.flush()
    return candidate


@pytest.fixture
def setting(db_session):
    service = make_org("service", service_type="sil")
    broker = make_user("broker", org=service)
    employer = make_user("employer")
    occupation = db.session.execute(
        select(Occupation).where(Occupation.label_en == "warehouse worker")
    ).scalar_one()
    required = skill_ids(4)
    vacancy = make_vacancy(
        employer,
        occupation_id=occupation.id,
        hours_per_week=30,
        adjustments=["quiet_place"],
        required_skill_ids=required,
    )
    return service, broker, vacancy, occupation, required


def test_candidates_for_vacancy_ranked_and_filtered(setting):
    service, broker, vacancy, occupation, required = setting
    best = make_candidate(service, broker, skills=required, occupation_id=occupation.id, months=24)
    middle = make_candidate(service, broker, skills=required[:2])
    no_consent = make_candidate(service, broker, skills=required, consent_days=None)
    expired = make_candidate(service, broker, skills=required, consent_days=-1)
    needs_ramp = make_candidate(service, broker, skills=required, needed=["step_free_access"])
    far = make_candidate(service, broker, skills=required, comune="001272")
    other_service = make_org("service", service_type="dsm")
    foreign = make_candidate(other_service, make_user("broker", org=other_service), skills=required)
    matches = matching.candidates_for_vacancy(vacancy, {service.id}, utcnow().date())
    ids = [m.candidate_id for m in matches]
    assert ids == [best.id, middle.id]
    for excluded in (no_consent, expired, needs_ramp, far, foreign):
        assert excluded.id not in ids


def test_vacancies_for_candidate(setting):
    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(service, broker, skills=required, occupation_id=occupation.id)
    matches = matching.vacancies_for_candidate(candidate, utcnow().date())
    assert [m.vacancy_id for m in matches] == [vacancy.id]
    candidate.matching_consent_until = None
    assert matching.vacancies_for_candidate(candidate, utcnow().date()) == []


def test_weights_are_configurable(app, setting):
    service, broker, vacancy, occupation, required = setting
    skilled = make_candidate(service, broker, skills=required)
    keen = make_candidate(service, broker, occupation_id=occupation.id, months=24)
    today = utcnow().date()
    default = [
        m.candidate_id for m in matching.candidates_for_vacancy(vacancy, {service.id}, today)
    ]
    app.config["MATCHING_WEIGHTS"] = {"required_skills": 0, "occupation": 100}
    try:
        tuned = [
            m.candidate_id for m in matching.candidates_for_vacancy(vacancy, {service.id}, today)
        ]
    finally:
        app.config.pop("MATCHING_WEIGHTS")
    assert default[0] == skilled.id and tuned[0] == keen.id
