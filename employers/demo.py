"""Demo data for employers: company profiles and vacancies (idempotent)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from employers.models import (
    CLOSED,
    CONTRACT_TYPES,
    DRAFT,
    PUBLISHED,
    CompanyProfile,
    Vacancy,
    VacancyAdjustment,
    VacancySkill,
)
from portal import accounts, db
from portal.db import utcnow
from portal.models import COMPANY, Organisation
from portal.taxonomy import ADJUSTMENTS, Occupation, suggested_skills

# (company, legal name, VAT number with valid check digit, ATECO, employees, vacancies)
PROFILES = [
    ("Mobilificio Friulano S.p.A.", "Mobilificio Friulano S.p.A.", "01234560934", "31.00.20", 180),
    ("Logistica Ciociara S.r.l.", "Logistica Ciociara S.r.l.", "02345670604", "52.10.10", 62),
    ("Ristorazione Brianza S.r.l.", "Ristorazione Brianza S.r.l.", "03456780158", "56.22.01", 48),
    (
        "Officine Meccaniche Torinesi S.r.l.",
        "Officine Meccaniche Torinesi S.r.l.",
        "04567890019",
        "25.53.00",
        45,
    ),
]

# More companies, created here (the portal's demo has four): sizes from a bakery of 9 to a
# retailer of 420, so the quota page shows every band of L. 68/1999 art. 3.
# (name, comune, ATECO 2025, employees, description, first ten digits of the VAT number)
COMPANIES = [
    (
        "Panificio Roveredano S.n.c.",
        "093036",
        "10.71.10",
        9,
        "Pane e prodotti da forno per negozi e mense della provincia.",
        "0187650093",
    ),
    (
        "Hotel Terme di Cassino S.r.l.",
        "060019",
        "55.10.00",
        28,
        "Albergo con centro benessere: 60 camere, ristorante e sale congressi.",
        "0298760060",
    ),
    (
        "Supermercati Brianzoli S.p.A.",
        "108023",
        "47.11.02",
        420,
        "Catena di supermercati di quartiere in Brianza: 14 punti vendita.",
        "0376540015",
    ),
    (
        "Lavanderia Industriale Subalpina S.r.l.",
        "001272",
        "96.10.21",
        38,
        "Lavaggio e noleggio di biancheria per alberghi, ospedali e case di riposo.",
        "0465430001",
    ),
    (
        "Contact Center Roma Est S.r.l.",
        "058091",
        "82.20.00",
        95,
        "Servizi di assistenza clienti in entrata per utilities e trasporto pubblico.",
        "0554320058",
    ),
    (
        "Vivai Pontini Soc. Agr. S.r.l.",
        "059011",
        "01.30.00",
        22,
        "Piante ornamentali e da frutto per garden center e manutentori del verde.",
        "0643210059",
    ),
    (
        "Elettroimpianti Friulani S.r.l.",
        "030129",
        "43.21.01",
        16,
        "Impianti elettrici e fotovoltaici civili e industriali.",
        "0732100030",
    ),
    (
        "Ciclofficina Felsinea S.r.l.",
        "037006",
        "95.29.99",
        12,
        "Riparazione e noleggio di biciclette, anche per il servizio di bike sharing.",
        "0821090037",
    ),
]


def vat_number(first_ten: str) -> str:
    """The eleven-digit VAT number: ``first_ten`` and its check digit (DPR 633/1972)."""
    digits = [int(c) for c in first_ten]
    odd = sum(digits[0::2])
    even = sum(d * 2 - 9 if d * 2 > 9 else d * 2 for d in digits[1::2])
    return first_ten + str((10 - (odd + even) % 10) % 10)


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


# Vacancies in every state, for the dashboards and the public list. ``state``: published
# (``days``: until expiry; "published_past" is one the nightly job has not closed yet),
# draft, or closed as filled / withdrawn / expired (``days``: how long ago).
# (company, title, ESCO English label, contract, hours, adjustments, pay, state, days)
MORE_VACANCIES: list[tuple[str, str, str, str, int, list[str], tuple[str, str] | None, str, int]]
MORE_VACANCIES = [
    # The demo employer's company: one of each, so its dashboard tells the whole story.
    ("Mobilificio Friulano S.p.A.", "Verniciatore/trice", "furniture assembler", "fixed_term", 36,
     ["adapted_workstation", "onsite_tutor", "gradual_start", "quiet_place", "extra_breaks",
      "flexible_hours", "public_transport"], ("1500.00", "1700.00"), "published", 5),
    ("Mobilificio Friulano S.p.A.", "Carrellista", "forklift operator", "permanent", 40,
     ["written_instructions", "onsite_tutor", "gradual_start", "step_free_access",
      "accessible_toilets", "adapted_workstation", "public_transport"], ("1550.00", "1750.00"),
     "published", 50),
    ("Mobilificio Friulano S.p.A.", "Impiegato/a inserimento dati", "data entry clerk",
     "part_time", 25, ["quiet_place", "assistive_technology", "flexible_hours"],
     ("950.00", "1100.00"), "draft", 0),
    ("Mobilificio Friulano S.p.A.", "Imballatore/trice", "hand packer", "fixed_term", 30,
     ["gradual_start", "extra_breaks"], ("1200.00", "1300.00"), "filled", 20),
    ("Mobilificio Friulano S.p.A.", "Addetto/a allo showroom", "shop assistant", "part_time",
     24, ["step_free_access"], None, "withdrawn", 40),
    ("Mobilificio Friulano S.p.A.", "Magazziniere stagionale", "warehouse worker", "fixed_term",
     40, ["onsite_tutor"], ("1400.00", "1500.00"), "expired", 10),
    ("Panificio Roveredano S.n.c.", "Aiuto panettiere/a", "baker", "apprenticeship", 30,
     ["onsite_tutor", "written_instructions"], ("1100.00", "1300.00"), "published", 40),
    ("Panificio Roveredano S.n.c.", "Commesso/a al banco", "shop assistant", "part_time", 20,
     ["flexible_hours"], ("9.50", "10.50"), "filled", 60),
    ("Hotel Terme di Cassino S.r.l.", "Cameriere/a di sala", "waiter/waitress", "fixed_term",
     36, ["onsite_tutor", "gradual_start"], ("1350.00", "1500.00"), "published", 30),
    ("Hotel Terme di Cassino S.r.l.", "Facchino/a d'albergo", "hotel porter", "fixed_term", 30,
     ["step_free_access", "written_instructions"], ("1150.00", "1250.00"), "published", 12),
    ("Hotel Terme di Cassino S.r.l.", "Lavapiatti e aiuto cucina", "kitchen porter",
     "internship", 25, ["extra_breaks", "onsite_tutor"], ("600.00", "700.00"), "draft", 0),
    ("Hotel Terme di Cassino S.r.l.", "Addetto/a ai piani", "domestic housekeeper", "fixed_term",
     30, ["gradual_start"], ("1100.00", "1200.00"), "expired", 25),
    ("Supermercati Brianzoli S.p.A.", "Scaffalista", "shelf filler", "part_time", 24,
     ["written_instructions", "quiet_place", "public_transport"], ("10.00", "11.00"),
     "published", 55),
    ("Supermercati Brianzoli S.p.A.", "Cassiere/a", "cashier", "permanent", 30,
     ["adapted_workstation", "step_free_access", "accessible_toilets"], ("1250.00", "1400.00"),
     "published", 35),
    ("Supermercati Brianzoli S.p.A.", "Banconiere/a gastronomia", "food service worker",
     "apprenticeship", 36, ["onsite_tutor"], ("1300.00", "1450.00"), "published", 20),
    ("Supermercati Brianzoli S.p.A.", "Addetto/a al reparto ortofrutta", "shop assistant",
     "fixed_term", 30, ["gradual_start", "flexible_hours"], ("1200.00", "1300.00"), "filled", 15),
    ("Supermercati Brianzoli S.p.A.", "Magazziniere notturno", "warehouse worker", "permanent",
     36, [], ("1500.00", "1650.00"), "withdrawn", 30),
    ("Lavanderia Industriale Subalpina S.r.l.", "Addetto/a alla stireria", "laundry worker",
     "social_coop_placement", 30, ["extra_breaks", "written_instructions", "onsite_tutor"],
     ("1050.00", "1150.00"), "published", 45),
    ("Lavanderia Industriale Subalpina S.r.l.", "Autista consegne biancheria", "laundry worker",
     "fixed_term", 38, [], ("1450.00", "1550.00"), "published_past", -1),
    ("Lavanderia Industriale Subalpina S.r.l.", "Addetto/a allo smistamento", "laundry worker",
     "part_time", 20, ["quiet_place", "gradual_start"], ("10.50", "11.50"), "draft", 0),
    ("Contact Center Roma Est S.r.l.", "Operatore/trice di call center", "call centre agent",
     "part_time", 20, ["assistive_technology", "quiet_place", "flexible_hours"],
     ("800.00", "900.00"), "published", 25),
    ("Contact Center Roma Est S.r.l.", "Operatore/trice inbound in lingua inglese",
     "call centre agent", "fixed_term", 30, ["assistive_technology", "public_transport"],
     ("1150.00", "1300.00"), "published", 6),
    ("Contact Center Roma Est S.r.l.", "Receptionist", "receptionist", "permanent", 36,
     ["step_free_access", "accessible_toilets"], ("1300.00", "1400.00"), "filled", 45),
    ("Contact Center Roma Est S.r.l.", "Addetto/a alla posta interna", "mail clerk",
     "part_time", 20, ["written_instructions"], None, "expired", 50),
    ("Vivai Pontini Soc. Agr. S.r.l.", "Operaio/a florovivaista", "horticulture worker",
     "fixed_term", 39, ["onsite_tutor", "gradual_start", "extra_breaks"], ("8.50", "9.50"),
     "published", 28),
    ("Vivai Pontini Soc. Agr. S.r.l.", "Raccoglitore/trice di frutta", "fruit and vegetable picker",
     "fixed_term", 39, ["flexible_hours"], ("8.20", "8.90"), "filled", 30),
    ("Vivai Pontini Soc. Agr. S.r.l.", "Manutentore/trice del verde", "groundsman/groundswoman",
     "social_coop_placement", 30, ["onsite_tutor"], ("1100.00", "1200.00"), "published", 48),
    ("Elettroimpianti Friulani S.r.l.", "Apprendista elettricista", "electrician",
     "apprenticeship", 40, ["onsite_tutor", "written_instructions"], ("1250.00", "1450.00"),
     "published", 33),
    ("Elettroimpianti Friulani S.r.l.", "Aiuto saldatore/trice", "welder", "internship", 30,
     ["onsite_tutor", "gradual_start"], ("700.00", "700.00"), "draft", 0),
    ("Ciclofficina Felsinea S.r.l.", "Meccanico/a di biciclette", "bicycle mechanic",
     "apprenticeship", 30, ["onsite_tutor", "written_instructions", "quiet_place"],
     ("1150.00", "1300.00"), "published", 42),
    ("Ciclofficina Felsinea S.r.l.", "Addetto/a al lavaggio mezzi", "vehicle cleaner",
     "part_time", 18, ["flexible_hours", "public_transport"], ("9.00", "9.80"), "withdrawn", 12),
    ("Officine Meccaniche Torinesi S.r.l.", "Saldatore/trice", "welder", "permanent", 40,
     ["adapted_workstation"], ("1650.00", "1900.00"), "published", 22),
    ("Ristorazione Brianza S.r.l.", "Cuoco/a per mensa aziendale", "cook", "permanent", 36,
     ["onsite_tutor"], ("1500.00", "1700.00"), "filled", 35),
]  # fmt: skip


def occupation(label_en: str) -> Occupation | None:
    return db.session.execute(
        select(Occupation).where(func.lower(Occupation.label_en) == label_en.lower()).limit(1)
    ).scalar_one_or_none()


def _company_without(name: str, title: str) -> Organisation | None:
    """The demo company ``name`` when it has no vacancy titled ``title`` yet (idempotence)."""
    org = accounts.find_organisation(name)
    if (
        org is None
        or db.session.execute(
            select(Vacancy.id).where(Vacancy.organisation_id == org.id, Vacancy.title == title)
        ).first()
    ):
        return None
    return org


def _suggested_skills(occ: Occupation | None, required: int, preferred: int) -> list[VacancySkill]:
    """The first essential and optional skills ESCO suggests for the occupation."""
    if occ is None:
        return []
    essential, optional = suggested_skills(occ)
    return [VacancySkill(skill=s, required=True) for s in essential[:required]] + [
        VacancySkill(skill=s, required=False) for s in optional[:preferred]
    ]


def _companies() -> list[tuple[str, str, str, str, int]]:
    """The demo's companies (created and verified when missing), as ``PROFILES`` rows."""
    rows = list(PROFILES)
    for name, comune, ateco_code, employees, description, first_ten in COMPANIES:
        org = accounts.find_organisation(name)
        if org is None:
            org = accounts.create_organisation(
                name, COMPANY, comune_code=comune, description=description
            )
            org.email = f"info@{org.slug[:30]}.ponte.demo"
            org.fiscal_code = vat_number(first_ten)
            accounts.verify_organisation(org, admin=None, reason="demo data")
        rows.append((name, name, vat_number(first_ten), ateco_code, employees))
    db.session.flush()
    return rows


def seed(scale: str, echo: Callable[[str], Any]) -> None:
    today = utcnow().date()
    for n, (name, legal, vat, ateco_code, employees) in enumerate(_companies()):
        org = accounts.find_organisation(name)
        if org is not None and db.session.get(CompanyProfile, org.id) is None:
            db.session.add(
                CompanyProfile(
                    organisation_id=org.id,
                    legal_name=legal,
                    vat_number=vat,
                    fiscal_code=vat,
                    ateco_code=ateco_code,
                    employees=employees,
                    contact_name="Ufficio personale",
                    contact_email=f"hr@{org.slug[:20]}.ponte.demo",
                    contact_phone=f"+39 0{n + 2}1 {540000 + 1379 * n}",
                    step_free_access=n % 3 != 2,
                    accessible_toilets=n % 2 == 0,
                    public_transport=n % 4 != 3,
                    tutors_available=1 + employees // 60,
                )
            )
    for name, title, label, comune, contract, hours, adjustments, pay, description in VACANCIES:
        org = _company_without(name, title)
        if org is None:
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
        vacancy.skills = _suggested_skills(occ, required=5, preferred=3)
        db.session.add(vacancy)
    _seed_more_vacancies(today)
    db.session.commit()
    if scale == "large":
        seed_large(echo, today)


def _seed_more_vacancies(today: date) -> None:
    now = utcnow()
    author = accounts.find_user("employer@ponte.demo")
    for name, title, label, contract, hours, adjustments, pay, state, days in MORE_VACANCIES:
        org = _company_without(name, title)
        if org is None:
            continue
        occ = occupation(label)
        vacancy = Vacancy(
            organisation=org,
            created_by=author if author is not None and org in author.organisations() else None,
            title=title,
            description=f"{title} presso {org.name}. {org.description}",
            comune_code=org.comune_code,
            contract_type=contract,
            hours_per_week=hours,
            occupation=occ,
            pay_min=Decimal(pay[0]) if pay else None,
            pay_max=Decimal(pay[1]) if pay else None,
            pay_period="hour" if pay and Decimal(pay[0]) < 100 else "month",
            onsite_tutor="onsite_tutor" in adjustments,
            inclusion_open=True,
            counts_toward_quota=contract not in ("social_coop_placement", "internship"),
        )
        if state.startswith("published"):
            vacancy.status = PUBLISHED
            vacancy.published_at = now - timedelta(days=max(1, 60 - days))
            vacancy.expires_on = today + timedelta(days=days)
        elif state == DRAFT:
            vacancy.status = DRAFT
        else:  # closed: filled, withdrawn or expired, ``days`` ago
            vacancy.status = CLOSED
            vacancy.close_reason = state
            vacancy.published_at = now - timedelta(days=days + 50)
            vacancy.closed_at = now - timedelta(days=days)
            vacancy.expires_on = today - timedelta(days=days + (1 if state == "expired" else -10))
        vacancy.adjustments = adjustments
        vacancy.skills = _suggested_skills(occ, required=4, preferred=2)
        db.session.add(vacancy)


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
    contracts = list(CONTRACT_TYPES)
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
