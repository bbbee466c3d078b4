"""Demo data for employers: company profiles and vacancies (idempotent)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from employers import services
from employers.models import PUBLISHED, CompanyProfile, Vacancy, VacancyAdjustment
from portal import accounts, db
from portal.db import utcnow
from portal.models import COMPANY, Organisation
from portal.taxonomy import Occupation

# (company, legal name, VAT number with valid check digit, ATECO, employees, vacancies)
PROFILES = [
    ("Mobilificio Friulano S.p.A.", "Mobilificio Friulano S.p.A.", "01234560934", "31.09.10", 180),
    ("Logistica Ciociara S.r.l.", "Logistica Ciociara S.r.l.", "02345670604", "52.10.10", 62),
    ("Ristorazione Brianza S.r.l.", "Ristorazione Brianza S.r.l.", "03456781081", "56.29.10", 48),
    (
        "Officine Meccaniche Torinesi S.r.l.",
        "Officine Meccaniche Torinesi S.r.l.",
        "04567890019",
        "25.62.00",
        45,
    ),
]

# (company, title, ESCO English label, comune, contract, hours, adjustments, pay, description)
VACANCIES = [
    (
        "Mobilificio Friulano S.p.A.",
        "Addetto/a al magazzino",
        "warehouse worker",
        "093033",
        "fixed_term",
        38,
        ["step_free_access", "onsite_tutor", "written_instructions"],
        ("1450.00", "1650.00"),
        "Ricevimento merci, movimentazione con transpallet, preparazione ordini. Affiancamento "
        "di un tutor aziendale per le prime settimane.",
    ),
    (
        "Mobilificio Friulano S.p.A.",
        "Falegname",
        "furniture assembler",
        "093033",
        "permanent",
        40,
        ["onsite_tutor"],
        ("1600.00", "1900.00"),
        "Montaggio e finitura di mobili in legno massello nel reparto produzione.",
    ),
    (
        "Logistica Ciociara S.r.l.",
        "Magazziniere part-time",
        "warehouse worker",
        "060038",
        "part_time",
        24,
        ["flexible_hours", "quiet_place", "gradual_start"],
        ("850.00", "950.00"),
        "Picking e imballaggio in un magazzino della grande distribuzione, turni di mattina.",
    ),
    (
        "Ristorazione Brianza S.r.l.",
        "Aiuto cuoco/a in mensa",
        "kitchen assistant",
        "108033",
        "internship",
        30,
        ["onsite_tutor", "written_instructions", "extra_breaks"],
        ("600.00", "600.00"),
        "Tirocinio di sei mesi in una mensa scolastica: preparazione verdure, lavaggio, "
        "porzionamento.",
    ),
    (
        "Ristorazione Brianza S.r.l.",
        "Addetto/a alle pulizie",
        "building cleaner",
        "108033",
        "part_time",
        20,
        ["flexible_hours", "public_transport"],
        ("11.50", "12.50"),
        "Pulizia dei locali mensa dopo il servizio, dal lunedì al venerdì.",
    ),
    (
        "Officine Meccaniche Torinesi S.r.l.",
        "Operaio/a addetto/a al tornio",
        "metal drawing machine operator",
        "001272",
        "apprenticeship",
        40,
        ["step_free_access", "adapted_workstation"],
        ("1400.00", "1700.00"),
        "Apprendistato professionalizzante in officina di lavorazioni meccaniche.",
    ),
    (
        "Cooperativa Sociale Il Ponte",
        "Giardiniere/a",
        "landscape gardener",
        "093033",
        "social_coop_placement",
        30,
        ["onsite_tutor", "gradual_start", "flexible_hours"],
        ("1100.00", "1250.00"),
        "Manutenzione del verde pubblico in squadra con un caposquadra-tutor.",
    ),
]


def occupation(label_en: str) -> Occupation | None:
    return db.session.execute(
        select(Occupation).where(func.lower(Occupation.label_en) == label_en.lower()).limit(1)
    ).scalar_one_or_none()


def seed(scale: str, echo: Callable[[str], Any]) -> None:
    today = utcnow().date()
    for name, legal, vat, ateco_code, employees in PROFILES:
        org = accounts.find_organisation(name)
        if org is not None and db.session.get(CompanyProfile, org.id) is None:
            db.session.add(
                CompanyProfile(
                    organisation_id=org.id,
                    legal_name=legal,
                    vat_number=vat,
                    ateco_code=ateco_code,
                    employees=employees,
                    contact_name="Ufficio personale",
                    contact_email=f"hr@{org.slug[:20]}.ponte.demo",
                    step_free_access=True,
                    public_transport=True,
                    tutors_available=2,
                )
            )
    for name, title, label, comune, contract, hours, adjustments, pay, description in VACANCIES:
        org = accounts.find_organisation(name)
        if (
            org is None
            or db.session.execute(
                select(Vacancy.id).where(Vacancy.organisation_id == org.id, Vacancy.title == title)
            ).first()
        ):
            continue
        occ = occupation(label)
        vacancy = Vacancy(
            organisation=org,
            title=title,
            description=description,
            comune_code=comune,
            contract_type=contract,
            hours_per_week=hours,
            occupation=occ,
            pay_min=Decimal(pay[0]),
            pay_max=Decimal(pay[1]),
            pay_period="hour" if Decimal(pay[0]) < 100 else "month",
            onsite_tutor="onsite_tutor" in adjustments,
            inclusion_open=True,
            counts_toward_quota=contract != "social_coop_placement",
            status=PUBLISHED,
            published_at=utcnow(),
            expires_on=today + timedelta(days=45),
        )
        vacancy.adjustments = adjustments
        if occ is not None:
            from portal.taxonomy import suggested_skills

            essential, optional = suggested_skills(occ)
            from employers.models import VacancySkill

            vacancy.skills = [VacancySkill(skill=s, required=True) for s in essential[:5]] + [
                VacancySkill(skill=s, required=False) for s in optional[:3]
            ]
        db.session.add(vacancy)
    db.session.commit()
    if scale == "large":
        seed_large(echo, today)


def seed_large(echo: Callable[[str], Any], today: Any, target: int = 50_000) -> None:
    """50,000 published vacancies across the large directory's companies (benchmarks)."""
    existing = db.session.execute(select(func.count()).select_from(Vacancy)).scalar_one()
    missing = target - existing
    if missing <= 0:
        return
    rng = random.Random(381)  # L. 381/1991
    companies = db.session.execute(
        select(Organisation.id, Organisation.comune_code).where(
            Organisation.kind == COMPANY, Organisation.verified_at.is_not(None)
        )
    ).all()
    occupations = db.session.execute(
        select(Occupation.id, Occupation.label_it, Occupation.label_en).where(
            Occupation.label_it.is_not(None)
        )
    ).all()
    contracts = list(services.CONTRACT_TYPES)
    from portal.taxonomy import ADJUSTMENTS

    codes = list(ADJUSTMENTS)
    now = utcnow()
    for start in range(0, missing, 5000):
        rows, adjustments = [], []
        for _ in range(min(5000, missing - start)):
            org_id, comune = rng.choice(companies)
            occ_id, label_it, _label_en = rng.choice(occupations)
            title = label_it.split("/")[0].capitalize()
            rows.append(
                {
                    "organisation_id": org_id,
                    "title": title,
                    "comune_code": comune,
                    "description": f"Cerchiamo {title.lower()} per la sede di lavoro; "
                    "formazione iniziale e tutor aziendale.",
                    "occupation_id": occ_id,
                    "hours_per_week": rng.choice([20, 24, 30, 36, 40]),
                    "shift_pattern": "day",
                    "contract_type": rng.choice(contracts),
                    "positions": 1,
                    "pay_min": None,
                    "pay_max": None,
                    "pay_period": "month",
                    "onsite_tutor": rng.random() < 0.5,
                    "inclusion_open": True,
                    "counts_toward_quota": rng.random() < 0.3,
                    "status": PUBLISHED,
                    "published_at": now,
                    "expires_on": today + timedelta(days=rng.randint(5, 60)),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        ids = db.session.execute(insert(Vacancy).returning(Vacancy.id), rows).scalars().all()
        for vacancy_id in ids:
            for code in rng.sample(codes, 2):
                adjustments.append({"vacancy_id": vacancy_id, "code": code})
        db.session.execute(insert(VacancyAdjustment), adjustments)
        db.session.commit()
    echo(f"Added {missing} vacancies.")
