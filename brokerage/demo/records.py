"""One demo candidate's record as the demo builds it: the services and their brokers, ESCO
skills by occupation, nearby municipalities, pseudonyms, the candidate with profile and
sensitive part, a pathway at believable intervals (closed or still open) and consents
(most valid, some expired or revoked).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from brokerage.demo.data import (
    EDUCATION,
    EXPERIENCE_TEXTS,
    FIRST_NAMES,
    HOURS,
    LANGUAGES,
    SERVICES,
    STAGE_NOTES,
    SUMMARIES,
    SURNAMES,
    TORINO,
    TUTORS,
)
from brokerage.models import (
    ACTIVE,
    CLOSED,
    PLACED,
    Candidate,
    CandidateAdjustment,
    CandidateOccupation,
    CandidateSkill,
    Consent,
    Experience,
    PathwayStage,
)
from brokerage.pathway import FOLLOW_UP_MONTHS, add_months
from portal import accounts, db
from portal.crypto import fernet
from portal.models import Municipality, Organisation, User
from portal.municipalities import within_radius
from portal.taxonomy import ADJUSTMENTS, Occupation, OccupationSkill


def find_user(email: str | None) -> User | None:
    return accounts.find_user(email) if email else None


def demo_services() -> dict[str, Organisation]:
    found = {}
    for name in SERVICES:
        org = accounts.find_organisation(name)
        if org is None and name == TORINO:
            org = accounts.create_organisation(
                name,
                "service",
                service_type="social_services",
                comune_code="001272",
                description="Servizio sociale comunale: tirocini di inclusione e "
                "accompagnamento al lavoro.",
                email="inclusione@torino.ponte.demo",
            )
            db.session.flush()
            accounts.verify_organisation(org, admin=None, reason="demo data")
        if org is not None:
            found[name] = org
    db.session.flush()
    return found


def skills_by_occupation(labels: tuple[str, ...]) -> dict[int, tuple[list[int], list[int]]]:
    result = {}
    for label in labels:
        occ = db.session.execute(
            select(Occupation).where(func.lower(Occupation.label_en) == label)
        ).scalar_one_or_none()
        if occ is None:
            continue
        rows = db.session.execute(
            select(OccupationSkill.skill_id, OccupationSkill.essential).where(
                OccupationSkill.occupation_id == occ.id
            )
        ).all()
        result[occ.id] = ([s for s, e in rows if e], [s for s, e in rows if not e])
    return result


def neighbours(centre: str, radius_km: float = 30) -> list[str]:
    origin = db.session.get(Municipality, centre)
    if origin is None:
        return []
    codes = within_radius(origin, radius_km)
    # The centre itself is where most people live.
    return [centre] * max(3, len(codes) // 4) + codes


def new_pseudonyms(rng: random.Random, count: int) -> list[str]:
    taken = set(db.session.execute(select(Candidate.pseudonym)).scalars())
    out: list[str] = []
    while len(out) < count:
        value = f"C-{rng.randrange(16**5):05X}"
        if value not in taken:
            taken.add(value)
            out.append(value)
    return out


def morning_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)


def add_candidate(
    rng: random.Random,
    pseudonym: str,
    places: list[str],
    occupation_ids: list[int],
    skills: dict[int, tuple[list[int], list[int]]],
    referral: date,
    labels: dict[int, str],
) -> Candidate:
    desired = rng.sample(occupation_ids, k=min(len(occupation_ids), rng.choice((1, 1, 2))))
    chosen: set[int] = set()
    for occ in desired:
        essential, optional = skills[occ]
        chosen.update(rng.sample(essential, k=min(len(essential), rng.randint(2, 5))))
        chosen.update(rng.sample(optional, k=min(len(optional), rng.randint(0, 2))))
    hours = rng.choice(HOURS)
    candidate = Candidate(
        pseudonym=pseudonym,
        full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
        comune_code=rng.choice(places),
        max_commute_km=rng.choice((5, 10, 15, 20, 30)),
        hours_min=hours[0],
        hours_max=hours[1],
        education_level=rng.choice(EDUCATION),
        driving_licence=rng.random() < 0.45,
        languages=list(rng.choice(LANGUAGES)),
        summary=rng.choice(SUMMARIES),
        status=ACTIVE,
        created_at=morning_of(referral),
        updated_at=morning_of(referral),
    )
    candidate.skills = [CandidateSkill(skill_id=s) for s in sorted(chosen)]
    candidate.desired = [CandidateOccupation(occupation_id=o) for o in desired]
    experiences = []
    for _ in range(rng.choice((0, 1, 1, 2))):
        occ = rng.choice(occupation_ids)
        texts = EXPERIENCE_TEXTS.get(labels.get(occ, ""), ("",))
        experiences.append(
            Experience(occupation_id=occ, months=rng.randint(2, 48), description=rng.choice(texts))
        )
    candidate.experiences = experiences
    candidate.adjustment_rows = [
        CandidateAdjustment(code=c)
        for c in rng.sample(sorted(ADJUSTMENTS), k=rng.choice((0, 1, 2, 2, 3)))
    ]
    return candidate


def add_pathway(
    rng: random.Random,
    candidate: Candidate,
    service: Organisation,
    broker: User | None,
    referral: date,
    today: date,
    employers: list[Organisation],
) -> None:
    """Stages at believable intervals, stopping at today; some people drop out."""
    broker_id = broker.id if broker else None
    stages: list[PathwayStage] = []

    def add(stage: str, start: date, end: date | None, **details: Any) -> PathwayStage:
        if stage != "follow_up":
            for earlier in stages:
                if earlier.ended_on is None:
                    earlier.ended_on = max(earlier.started_on, start)
        row = PathwayStage(
            candidate_id=candidate.id,
            stage=stage,
            started_on=start,
            ended_on=end,
            service_id=service.id,
            broker_id=broker_id,
            tutor=rng.choice(TUTORS),
            notes=rng.choice(STAGE_NOTES),
            details=details,
            created_at=morning_of(start),
        )
        stages.append(row)
        db.session.add(row)
        return row

    add("referral", referral, None)
    day = referral + timedelta(days=rng.randint(7, 30))
    if day > today:
        return
    add("intake", day, None)
    if rng.random() < 0.1:
        return _close(
            add,
            rng,
            candidate,
            day + timedelta(days=rng.randint(20, 90)),
            today,
            ("withdrew", "moved"),
        )
    if rng.random() < 0.6:
        day += timedelta(days=rng.randint(14, 45))
        if day > today:
            return
        add(
            "training_plan",
            day,
            None,
            title=rng.choice(
                (
                    "Sicurezza sul lavoro e HACCP",
                    "Uso del transpallet",
                    "Orientamento al lavoro",
                    "Manutenzione del verde",
                )
            ),
        )
        day += timedelta(days=rng.randint(7, 30))
        if day > today:
            return
        add("training", day, None, title="Corso di formazione professionale")
        day += timedelta(days=rng.randint(45, 120))
    else:
        day += timedelta(days=rng.randint(20, 60))
    if day > today:
        return
    kind = rng.choice(
        ("observation_lab", "observation_lab", "tirocinio", "tirocinio", "borsa_lavoro")
    )
    months = rng.randint(3, 6)
    planned = add_months(day, months)
    host = rng.choice(employers).name if employers else ""
    stage = add(
        "work_experience",
        day,
        None,
        kind=kind,
        planned_end=planned.isoformat(),
        host=host,
        observations=[],
    )
    if kind == "observation_lab":
        entries = []
        when = day + timedelta(days=rng.randint(20, 30))
        while when <= min(planned, today):
            if rng.random() < 0.92:  # now and then an observation is late
                notes = rng.choice(
                    (
                        "Arriva puntuale, chiede aiuto quando serve.",
                        "Migliora nella gestione dei tempi.",
                        "",
                    )
                )
                entries.append(
                    {
                        "on": when.isoformat(),
                        "by": broker_id,
                        **{
                            k: rng.choice((2, 3, 3, 4, 4, 5))
                            for k in ("punctuality", "autonomy", "relations", "task_quality")
                        },
                        "notes": fernet().encrypt(notes.encode()).decode() if notes else "",
                    }
                )
            when = add_months(when, 1)
        stage.details = {**stage.details, "observations": entries}
    if planned > today:
        return
    stage.ended_on = planned
    if rng.random() < 0.3:
        return _close(
            add,
            rng,
            candidate,
            planned + timedelta(days=rng.randint(5, 40)),
            today,
            ("withdrew", "other", "moved"),
        )
    start = planned + timedelta(days=rng.randint(0, 30))
    if start > today or not employers:
        return
    employer = rng.choice(employers)
    hiring = add(
        "hiring",
        start,
        None,
        contract_type=rng.choice(
            ("fixed_term", "permanent", "part_time", "apprenticeship", "social_coop_placement")
        ),
        hours=rng.choice((20, 24, 30, 36, 38)),
        employer_org_id=employer.id,
        employer=employer.name,
    )
    candidate.status = PLACED
    employed = True
    for month in FOLLOW_UP_MONTHS:
        due = add_months(start, month)
        if due > today:
            return
        if rng.random() < 0.12:  # not done yet: shows up as overdue
            return
        employed = employed and rng.random() < 0.9
        done = min(today, due + timedelta(days=rng.randint(0, 10)))
        add("follow_up", done, done, month=month, still_employed=employed)
        if not employed:
            hiring.ended_on = due
            return _close(
                add,
                rng,
                candidate,
                due + timedelta(days=rng.randint(10, 60)),
                today,
                ("other", "withdrew"),
            )
    if rng.random() < 0.7:
        _close(
            add,
            rng,
            candidate,
            add_months(start, 12) + timedelta(days=rng.randint(5, 30)),
            today,
            ("employed",),
        )


def _close(
    add: Callable[..., PathwayStage],
    rng: random.Random,
    candidate: Candidate,
    day: date,
    today: date,
    reasons: tuple[str, ...],
) -> None:
    if day > today:
        return
    add("closed", day, day, reason=rng.choice(reasons))
    candidate.status = CLOSED


def add_consents(
    rng: random.Random, candidate: Candidate, broker: User | None, given: date, today: date
) -> None:
    if broker is None:
        broker = db.session.execute(
            select(User).where(User.email == "admin@ponte.demo")
        ).scalar_one_or_none()
    if broker is None:
        return
    valid_until: list[date] = []
    start = given
    while True:
        expires = start + timedelta(days=730)
        revoked = None
        if rng.random() < 0.04:
            revoked = morning_of(start + timedelta(days=rng.randint(10, 300)))
            if revoked.date() > today:
                revoked = None
        for purpose in ("matching", "pathway", "data_sharing"):
            db.session.add(
                Consent(
                    candidate_id=candidate.id,
                    purpose=purpose,
                    given_on=start,
                    expires_on=expires,
                    recorded_by_id=broker.id,
                    revoked_at=revoked if purpose == "matching" else None,
                    document_name=f"consenso-{candidate.pseudonym}.pdf",
                    document_sha256="",
                    created_at=morning_of(start),
                )
            )
        if revoked is None and start <= today <= expires:
            valid_until.append(expires)
        if revoked is not None or expires >= today or rng.random() < 0.15:
            break  # revoked, still running, or expired and not renewed
        start = expires - timedelta(days=rng.randint(0, 20))
    candidate.matching_consent_until = max(valid_until, default=None)
