"""Demo data for needs surveys: one open round for the current year, the demo
companies' answers, and with ``--scale large`` a thousand random answers from the large
directory so the results have real cells (idempotent).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import (
    func,
    insert,
    select,
)

from employers.demo import occupation
from employers.models import CONTRACT_TYPES
from employers.surveys.access import broker_services
from employers.surveys.models import SurveyNeed, SurveyResponse, SurveyRound
from employers.surveys.services import response_for
from portal import accounts, db
from portal.db import utcnow
from portal.demo import DEMO_DOMAIN
from portal.models import (
    BROKER,
    COMPANY,
    Organisation,
)
from portal.taxonomy import Occupation

# (organisation, filled by (demo e-mail local part), sector, comments,
#  lines: (ESCO English label, hires, contract, internships, on-the-job training))
DEMO_RESPONSES: list[tuple[str, str, str, str, list[tuple[str, int, str | None, int, bool]]]] = [
    (
        "Mobilificio Friulano S.p.A.",
        "employer",
        "C",
        "Cerchiamo soprattutto personale di magazzino; disponibili due tutor aziendali.",
        [
            ("warehouse worker", 3, "fixed_term", 2, True),
            ("furniture assembler", 2, "permanent", 1, True),
        ],
    ),
    (
        "Cooperativa Sociale Il Ponte",
        "cooperative",
        "N",
        "Nuovi appalti di manutenzione del verde in primavera.",
        [
            ("landscape gardener", 2, "social_coop_placement", 2, True),
            ("building cleaner", 3, "fixed_term", 0, True),
        ],
    ),
    (
        "Fattoria Sociale Il Melograno",
        "broker",
        "A",
        "",
        [("horticulture worker", 1, "part_time", 3, True)],
    ),
    (
        "Logistica Ciociara S.r.l.",
        "employer.fr",
        "H",
        "",
        [
            ("warehouse worker", 4, "part_time", 1, True),
            ("forklift operator", 1, "permanent", 0, False),
        ],
    ),
    (
        "Fattoria Sociale Terre del Liri",
        "farm",
        "A",
        "Tirocini stagionali da aprile a ottobre.",
        [("horticulture worker", 2, "fixed_term", 2, True)],
    ),
    (
        "Ristorazione Brianza S.r.l.",
        "broker",
        "I",
        "",
        [
            ("kitchen assistant", 3, "internship", 3, True),
            ("cook", 1, "permanent", 0, False),
            ("building cleaner", 2, "part_time", 0, False),
        ],
    ),
    (
        "Cooperativa Sociale Monza Lavoro",
        "broker",
        "C",
        "",
        [("hand packer", 4, "social_coop_placement", 2, True)],
    ),
    (
        "Officine Meccaniche Torinesi S.r.l.",
        "broker",
        "C",
        "",
        [
            ("metal drawing machine operator", 2, "apprenticeship", 1, True),
            ("welder", 1, "permanent", 0, False),
        ],
    ),
    (
        "Cooperativa Sociale La Fenice",
        "broker",
        "N",
        "",
        [
            ("building cleaner", 3, "social_coop_placement", 1, True),
            ("office clerk", 1, "part_time", 0, False),
        ],
    ),
]


def seed(scale: str, echo: Callable[[str], Any]) -> None:
    """One open round for the current year and the demo companies' answers (idempotent)."""
    today = utcnow().date()
    title = f"Fabbisogni occupazionali e formativi delle imprese {today.year}"
    survey_round = db.session.execute(
        select(SurveyRound).where(SurveyRound.year == today.year, SurveyRound.title == title)
    ).scalar_one_or_none()
    if survey_round is None:
        survey_round = SurveyRound(
            title=title,
            year=today.year,
            opens_on=date(today.year, 1, 1),
            closes_on=date(today.year, 12, 31),
            description="Indagine strutturata sulle assunzioni e sulla formazione che le "
            "imprese prevedono nei prossimi 12 mesi.",
        )
        db.session.add(survey_round)
        db.session.flush()
    added = 0
    for name, filler, sector, comments, lines in DEMO_RESPONSES:
        org = accounts.find_organisation(name)
        if org is None or org.comune_code is None or response_for(survey_round, org):
            continue
        user = accounts.find_user(f"{filler}@{DEMO_DOMAIN}")
        visit = user is not None and user.has_role(BROKER)
        needs = []
        for label, hires, contract, internships, on_the_job in lines:
            occ = occupation(label)
            if occ is not None:
                needs.append(
                    SurveyNeed(
                        position=len(needs),
                        occupation=occ,
                        hires=hires,
                        contract_type=contract,
                        internships=internships,
                        on_the_job_training=on_the_job,
                    )
                )
        response = SurveyResponse(
            round=survey_round,
            organisation=org,
            comune_code=org.comune_code,
            sector=sector,
            comments=comments,
            filled_by=user,
            during_visit=visit,
            needs=needs,
            visit_on=today if visit else None,
            visit_service=broker_services(user)[0] if visit and user else None,
        )
        db.session.add(response)
        added += 1
    db.session.flush()
    if scale == "large":
        added += _seed_large(survey_round)
    db.session.commit()
    if added:
        echo(f'Needs survey: {added} answers to "{survey_round.title}".')


def _seed_large(survey_round: SurveyRound, target: int = 1_000) -> int:
    """Answers from companies of the large directory, so the results have real cells."""
    existing = db.session.execute(
        select(func.count())
        .select_from(SurveyResponse)
        .where(SurveyResponse.round_id == survey_round.id)
    ).scalar_one()
    missing = target - existing
    if missing <= 0:
        return 0
    answered = select(SurveyResponse.organisation_id).where(
        SurveyResponse.round_id == survey_round.id
    )
    companies = db.session.execute(
        select(Organisation.id, Organisation.comune_code)
        .where(
            Organisation.kind == COMPANY,
            Organisation.verified_at.is_not(None),
            Organisation.comune_code.is_not(None),
            Organisation.id.not_in(answered),
        )
        .order_by(Organisation.id)
        .limit(missing)
    ).all()
    occupations = db.session.execute(select(Occupation.id).order_by(Occupation.id)).scalars().all()
    if not companies or not occupations:
        return 0
    rng = random.Random(2)  # seed 002: the structured survey of local companies
    now = utcnow()
    contracts = list(CONTRACT_TYPES)
    # The large directory clusters in a few hundred places: favour common occupations.
    common = rng.sample(occupations, min(40, len(occupations)))
    response_rows = [
        {
            "round_id": survey_round.id,
            "organisation_id": org_id,
            "comune_code": comune,
            "sector": rng.choice("CFGHINQ"),
            "comments": "",
            "during_visit": False,
            "created_at": now,
            "updated_at": now,
        }
        for org_id, comune in companies
    ]
    ids = (
        db.session.execute(insert(SurveyResponse).returning(SurveyResponse.id), response_rows)
        .scalars()
        .all()
    )
    need_rows = []
    for response_id in ids:
        for position in range(rng.randint(0, 3)):
            hires = rng.choice([0, 1, 1, 2, 3, 5])
            need_rows.append(
                {
                    "response_id": response_id,
                    "position": position,
                    "occupation_id": rng.choice(common),
                    "hires": hires,
                    "contract_type": rng.choice(contracts) if hires else None,
                    "internships": rng.choice([0, 0, 1, 2]) if hires else rng.randint(1, 3),
                    "on_the_job_training": rng.random() < 0.5,
                }
            )
    for start in range(0, len(need_rows), 5000):
        db.session.execute(insert(SurveyNeed), need_rows[start : start + 5000])
    return len(ids)
