"""The demo caseloads at both scales: about 300 candidates over the demo services (small),
and 20,000 more held by the SIL, bulk-inserted for the matching benchmark (large).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from brokerage.demo.data import (
    DSM,
    EDUCATION,
    EMPLOYERS,
    FIRST_NAMES,
    HOURS,
    LANGUAGES,
    OCCUPATIONS,
    SERVICES,
    SIL,
    SURNAMES,
)
from brokerage.demo.records import (
    add_candidate,
    add_consents,
    add_pathway,
    find_user,
    morning_of,
    neighbours,
    new_pseudonyms,
    skills_by_occupation,
)
from brokerage.models import (
    ACTIVE,
    Candidate,
    CandidateAdjustment,
    CandidateOccupation,
    CandidateSkill,
    CaseHolding,
    Consent,
    PathwayStage,
    SensitiveRecord,
)
from portal import accounts, db
from portal.db import utcnow
from portal.models import AuditLog, Municipality, Organisation, User
from portal.taxonomy import ADJUSTMENTS, Occupation, OccupationSkill


def seed_small(services: dict[str, Organisation], today: date) -> int:
    rng = random.Random(1991)  # L. 381/1991
    skills = skills_by_occupation(OCCUPATIONS)
    occupation_ids = list(skills)
    labels = dict(
        db.session.execute(
            select(Occupation.id, Occupation.label_en).where(Occupation.id.in_(occupation_ids))
        ).all()
    )
    employers = {
        centre: [o for o in (accounts.find_organisation(n) for n in names) if o]
        for centre, names in EMPLOYERS.items()
    }
    total = sum(spec[2] for name, spec in SERVICES.items() if name in services)
    pseudonyms = iter(new_pseudonyms(rng, total))
    made = 0
    for name, (email, centre, count, groups) in SERVICES.items():
        service = services.get(name)
        if service is None:
            continue
        broker = find_user(email)
        places = neighbours(centre)
        for _i in range(count):
            referral = today - timedelta(days=rng.randint(10, 3 * 365))
            candidate = add_candidate(
                rng, next(pseudonyms), places, occupation_ids, skills, referral, labels
            )
            group = rng.choice(groups)
            origin = None
            if name == SIL and rng.random() < 0.3:
                origin = services.get(DSM) if group == "psychiatric" else None
            candidate.sensitive = SensitiveRecord(
                target_group=group,
                disability_percentage=str(rng.choice((46, 50, 67, 74, 80, 100)))
                if group.endswith("disability")
                else None,
                origin_service_id=origin.id if origin else None,
                notes=rng.choice(
                    (
                        "Segue un progetto personalizzato con il servizio.",
                        "Preferisce contesti di lavoro piccoli e tranquilli.",
                        "",
                    )
                )
                or None,
            )
            holder, since = service, referral
            if name == SIL and rng.random() < 0.08 and DSM in services:
                # A case the DSM handed over to the SIL.
                handed = referral + timedelta(days=rng.randint(30, 120))
                if handed < today:
                    candidate.holdings.append(
                        CaseHolding(
                            service=services[DSM],
                            since=referral,
                            until=handed,
                            broker=find_user(SERVICES[DSM][0]),
                        )
                    )
                    since = handed
            candidate.holdings.append(CaseHolding(service=holder, since=since, broker=broker))
            db.session.add(candidate)
            db.session.flush()
            add_pathway(rng, candidate, service, broker, referral, today, employers.get(centre, []))
            add_consents(rng, candidate, broker, referral, today)
            db.session.add(
                AuditLog(
                    at=morning_of(referral),
                    actor_id=broker.id if broker else None,
                    action="candidate.create",
                    object_type="candidate",
                    object_id=str(candidate.id),
                    subject_type="candidate",
                    subject_id=str(candidate.id),
                    details={},
                )
            )
            made += 1
    return made


# --- Large scale --------------------------------------------------------------------------


def seed_large(
    sil: Organisation, today: date, echo: Callable[[str], Any], target: int = 20_000
) -> None:
    """20,000 candidates held by the SIL demo service (bulk inserts, for benchmarks)."""
    held = db.session.execute(
        select(func.count())
        .select_from(CaseHolding)
        .where(CaseHolding.service_id == sil.id, CaseHolding.until.is_(None))
    ).scalar_one()
    missing = target - held
    if missing <= 0:
        return
    rng = random.Random(68)
    broker = find_user(SERVICES[SIL][0])
    recorder = broker or db.session.execute(select(User).limit(1)).scalar_one()
    occupations = [
        o
        for o in db.session.execute(
            select(Occupation.id)
            .where(
                Occupation.isco_code.like("9%")
                | Occupation.isco_code.like("8%")
                | Occupation.isco_code.like("5%")
                | Occupation.isco_code.like("7%")
            )
            .limit(200)
        ).scalars()
    ]
    skill_rows = db.session.execute(
        select(OccupationSkill.occupation_id, OccupationSkill.skill_id).where(
            OccupationSkill.occupation_id.in_(occupations)
        )
    ).all()
    by_occ: dict[int, list[int]] = {}
    for occ, skill in skill_rows:
        by_occ.setdefault(occ, []).append(skill)
    occupations = [o for o in occupations if by_occ.get(o)]
    places: list[str] = []
    for centre in ("093033", "060038", "108033", "001272"):
        places += neighbours(centre, 40)
    italy = list(
        db.session.execute(
            select(Municipality.istat_code).where(Municipality.lat.is_not(None))
        ).scalars()
    )
    adjustment_codes = sorted(ADJUSTMENTS)
    groups = (
        "physical_disability",
        "mental_disability",
        "sensory_disability",
        "psychiatric",
        "addiction",
        "poverty",
        "prison",
    )
    now = utcnow()
    names = new_pseudonyms(rng, missing)
    for start in range(0, missing, 2000):
        batch = names[start : start + 2000]
        rows, meta = [], {}
        for pseudonym in batch:
            hours = rng.choice(HOURS)
            referral = today - timedelta(days=rng.randint(1, 900))
            consent_until = (referral + timedelta(days=730)) if rng.random() < 0.9 else None
            if consent_until is not None and consent_until < today:
                consent_until = None
            comune = rng.choice(places) if rng.random() < 0.7 else rng.choice(italy)
            rows.append(
                {
                    "pseudonym": pseudonym,
                    "full_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
                    "comune_code": comune,
                    "max_commute_km": rng.choice((10, 20, 30, 50)),
                    "hours_min": hours[0],
                    "hours_max": hours[1],
                    "education_level": rng.choice(EDUCATION),
                    "driving_licence": rng.random() < 0.45,
                    "languages": list(rng.choice(LANGUAGES)),
                    "summary": "",
                    "status": ACTIVE,
                    "matching_consent_until": consent_until,
                    "erased_at": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            meta[pseudonym] = (referral, consent_until)
        ids = db.session.execute(
            insert(Candidate).returning(Candidate.id, Candidate.pseudonym), rows
        ).all()
        holdings, skills, desired, adjustments, consents, sensitive, stages = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        for candidate_id, pseudonym in ids:
            referral, consent_until = meta[pseudonym]
            holdings.append(
                {
                    "candidate_id": candidate_id,
                    "service_id": sil.id,
                    "since": referral,
                    "until": None,
                    "broker_id": broker.id if broker else None,
                }
            )
            wanted = rng.sample(occupations, k=rng.choice((1, 1, 2)))
            chosen: set[int] = set()
            for occ in wanted:
                desired.append({"candidate_id": candidate_id, "occupation_id": occ})
                pool = by_occ[occ]
                chosen.update(rng.sample(pool, k=min(len(pool), rng.randint(3, 8))))
            skills += [{"candidate_id": candidate_id, "skill_id": s} for s in chosen]
            adjustments += [
                {"candidate_id": candidate_id, "code": c}
                for c in rng.sample(adjustment_codes, k=rng.choice((0, 1, 2)))
            ]
            consents += [
                {
                    "candidate_id": candidate_id,
                    "purpose": purpose,
                    "given_on": referral,
                    "expires_on": referral + timedelta(days=730),
                    "revoked_at": None,
                    "recorded_by_id": recorder.id,
                    "document_name": "",
                    "document_sha256": "",
                    "created_at": now,
                }
                for purpose in ("matching", "pathway", "data_sharing")
            ]
            sensitive.append(
                {
                    "candidate_id": candidate_id,
                    "target_group": rng.choice(groups),
                    "disability_percentage": None,
                    "origin_service_id": None,
                    "notes": None,
                    "updated_at": now,
                }
            )
            stages.append(
                {
                    "candidate_id": candidate_id,
                    "stage": "referral",
                    "started_on": referral,
                    "ended_on": None,
                    "service_id": sil.id,
                    "broker_id": broker.id if broker else None,
                    "tutor": "",
                    "notes": "",
                    "details": {},
                    "created_at": now,
                }
            )
        for model, values in (
            (CaseHolding, holdings),
            (CandidateOccupation, desired),
            (CandidateSkill, skills),
            (CandidateAdjustment, adjustments),
            (Consent, consents),
            (SensitiveRecord, sensitive),
            (PathwayStage, stages),
        ):
            if values:
                db.session.execute(insert(model), values)
        db.session.commit()
    echo(f"Added {missing} candidates to the SIL caseload.")
