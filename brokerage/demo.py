"""Demo data for the caseload: about 300 candidates held by the demo services, with
consents (most valid, some expired or revoked) and pathways at every stage over the last
three years, so that the indicators look real. Idempotent.

At ``scale == "large"`` the SIL demo service also holds 20,000 candidates, bulk-inserted,
for the matching benchmark. Names are invented; no real person is described.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from brokerage.models import (
    ACTIVE,
    CLOSED,
    DECLINED,
    INTERVIEW,
    PLACED,
    PROPOSED,
    Candidate,
    CandidateAdjustment,
    CandidateOccupation,
    CandidateSkill,
    CaseHolding,
    Consent,
    Experience,
    PathwayStage,
    Proposal,
    SensitiveRecord,
)
from brokerage.pathway import FOLLOW_UP_MONTHS, add_months
from portal import accounts, db
from portal.crypto import fernet
from portal.db import utcnow
from portal.models import AuditLog, Municipality, Organisation, User
from portal.municipalities import within_radius
from portal.taxonomy import ADJUSTMENTS, Occupation, OccupationSkill

SIL = "SIL Pordenone – Servizio Inserimento Lavorativo"
DSM = "DSM Pordenone – Centro di Salute Mentale"
SERT = "ASL Frosinone – Dipartimento 3D"
MONZA = "Centro per l'Impiego di Monza"
TORINO = "Servizio Sociale Città di Torino – Inclusione Lavorativa"

# service: (demo broker e-mail, centre ISTAT code, candidates, target groups)
SERVICES: dict[str, tuple[str | None, str, int, tuple[str, ...]]] = {
    SIL: (
        "broker@ponte.demo",
        "093033",
        110,
        (
            "physical_disability",
            "mental_disability",
            "sensory_disability",
            "psychiatric",
            "poverty",
        ),
    ),
    DSM: ("broker.dsm@ponte.demo", "093033", 60, ("psychiatric",)),
    SERT: ("broker.sert@ponte.demo", "060038", 70, ("addiction", "addiction", "prison")),
    MONZA: (None, "108033", 35, ("physical_disability", "sensory_disability", "poverty")),
    TORINO: (None, "001272", 25, ("poverty", "prison", "minor_family_difficulty")),
}
# Employers where people are hired, by centre.
EMPLOYERS = {
    "093033": [
        "Mobilificio Friulano S.p.A.",
        "Cooperativa Sociale Il Ponte",
        "Fattoria Sociale Il Melograno",
    ],
    "060038": ["Logistica Ciociara S.r.l.", "Fattoria Sociale Terre del Liri"],
    "108033": ["Ristorazione Brianza S.r.l.", "Cooperativa Sociale Monza Lavoro"],
    "001272": ["Officine Meccaniche Torinesi S.r.l.", "Cooperativa Sociale La Fenice"],
}
OCCUPATIONS = (
    "warehouse worker",
    "kitchen assistant",
    "building cleaner",
    "landscape gardener",
    "furniture assembler",
)
FIRST_NAMES = (
    "Marco",
    "Luca",
    "Giuseppe",
    "Andrea",
    "Francesco",
    "Alessandro",
    "Matteo",
    "Davide",
    "Stefano",
    "Paolo",
    "Roberto",
    "Simone",
    "Fabio",
    "Giorgio",
    "Daniele",
    "Nicola",
    "Claudio",
    "Antonio",
    "Michele",
    "Emanuele",
    "Giulia",
    "Anna",
    "Francesca",
    "Chiara",
    "Sara",
    "Laura",
    "Valentina",
    "Elena",
    "Martina",
    "Alessia",
    "Federica",
    "Silvia",
    "Paola",
    "Roberta",
    "Monica",
    "Elisa",
    "Ilaria",
    "Cristina",
    "Barbara",
    "Sofia",
    "Amir",
    "Ion",
    "Fatima",
    "Mihaela",
    "Blerina",
)
SURNAMES = (
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "Costa",
    "Giordano",
    "Rizzo",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
    "Santoro",
    "Mariani",
    "Rinaldi",
    "Caruso",
    "Ferrara",
    "Galli",
    "Martini",
    "Leone",
    "Longo",
    "Gentile",
    "Vitale",
    "Serra",
    "Coppola",
    "Marchetti",
    "Parisi",
    "Villa",
    "Conte",
    "Ferri",
    "Fabbri",
    "Marini",
    "Grasso",
    "Pellegrini",
    "Sanna",
    "Farina",
    "Rizzi",
    "Monti",
    "Zanin",
    "Furlan",
    "Bortolin",
    "Del Ben",
    "Colussi",
    "Ceccarelli",
    "Mastrangeli",
    "Popescu",
    "Hoxha",
    "Benali",
)
SUMMARIES = (
    "Persona puntuale e disponibile, interessata a lavori pratici in squadra.",
    "Buona manualità; preferisce compiti ripetitivi e ben organizzati.",
    "Esperienze brevi in magazzino e nelle pulizie; vuole un lavoro stabile.",
    "Motivata a rientrare nel lavoro dopo un periodo di inattività.",
    "Ama il lavoro all'aperto; disponibile anche nel fine settimana.",
)
EXPERIENCE_TEXTS = {
    "warehouse worker": (
        "Carico e scarico merci, inventario.",
        "Preparazione ordini con transpallet manuale.",
    ),
    "kitchen assistant": (
        "Aiuto in cucina in una mensa aziendale.",
        "Lavaggio stoviglie e preparazione verdure in trattoria.",
    ),
    "building cleaner": (
        "Pulizia di uffici e spazi comuni.",
        "Pulizie in una scuola per una cooperativa.",
    ),
    "landscape gardener": (
        "Manutenzione di aree verdi comunali.",
        "Lavoro stagionale in un vivaio.",
    ),
    "furniture assembler": (
        "Montaggio di arredi in laboratorio.",
        "Imballaggio e montaggio di sedie.",
    ),
}
STAGE_NOTES = (
    "Colloquio svolto, obiettivi condivisi.",
    "Buona partecipazione, da sostenere l'autonomia negli spostamenti.",
    "Incontro con il tutor aziendale.",
    "Verifica intermedia positiva.",
    "",
)
TUTORS = ("Paolo Zanette", "Marta Visintin", "Giovanni Di Lorenzo", "Lucia Ferri", "")
LANGUAGES = (
    ["italiano"],
    ["italiano"],
    ["italiano", "inglese"],
    ["italiano", "rumeno"],
    ["italiano", "arabo"],
    ["italiano", "albanese"],
    ["italiano", "francese"],
)
EDUCATION = (
    "primary",
    "lower_secondary",
    "lower_secondary",
    "lower_secondary",
    "vocational",
    "vocational",
    "upper_secondary",
    "none",
)
HOURS = ((10, 20), (15, 25), (20, 30), (20, 36), (30, 40), (18, 24))


def _find_user(email: str | None) -> User | None:
    return accounts.find_user(email) if email else None


def _services() -> dict[str, Organisation]:
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


def _skills_by_occupation(labels: tuple[str, ...]) -> dict[int, tuple[list[int], list[int]]]:
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


def _neighbours(centre: str, radius_km: float = 30) -> list[str]:
    origin = db.session.get(Municipality, centre)
    if origin is None:
        return []
    codes = within_radius(origin, radius_km)
    # The centre itself is where most people live.
    return [centre] * max(3, len(codes) // 4) + codes


def _pseudonyms(rng: random.Random, count: int) -> list[str]:
    taken = set(db.session.execute(select(Candidate.pseudonym)).scalars())
    out: list[str] = []
    while len(out) < count:
        value = f"C-{rng.randrange(16**5):05X}"
        if value not in taken:
            taken.add(value)
            out.append(value)
    return out


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)


def seed(scale: str, echo: Callable[[str], Any]) -> None:
    services = _services()
    if SIL not in services:
        return
    today = utcnow().date()
    already = db.session.execute(
        select(func.count())
        .select_from(CaseHolding)
        .where(CaseHolding.service_id.in_([s.id for s in services.values()]))
    ).scalar_one()
    if not already:
        count = _seed_small(services, today)
        db.session.commit()
        echo(f"Added {count} candidates to the demo caseloads.")
    proposed = _seed_proposals(services, today)
    if proposed:
        db.session.commit()
        echo(f"Added {proposed} proposals to the demo employer's inbox.")
    desks = _seed_desks()
    if desks:
        db.session.commit()
        echo(f"Added {desks} service desks that take candidacies from public vacancies.")
    if scale == "large":
        seed_large(services[SIL], today, echo)


#: Public desks of the demo services that take candidacies (SIL, job centre).
DEMO_DESKS = {
    SIL: {
        "address": "Via Vittorio Veneto 21, 33170 Pordenone",
        "opening_hours": "lunedì e mercoledì 9:00–12:30; giovedì 14:30–17:00",
        "phone": "0434 392 611",
        "email": "sil@pordenone.ponte.demo",
    },
    "Centro per l'Impiego di Monza": {
        "address": "Via Tiziano Vecellio 18, 20900 Monza",
        "opening_hours": "dal lunedì al venerdì 8:45–12:15; martedì anche 14:00–16:00",
        "phone": "039 975 2200",
        "email": "cpi.monza@ponte.demo",
    },
}
#: Two requests in the SIL desk's inbox, as the public form leaves them.
DEMO_REFERRALS = [
    ("Marco Zanette", "marco.zanette@example.org", "", "new", 1),
    ("Giulia De Marchi", "giulia.demarchi@example.org", "347 112 2334", "contacted", 4),
]


def _seed_desks() -> int:
    """The demo desks and a couple of requests from public vacancies (once)."""
    from brokerage.models import ReferralRequest, ServiceDesk
    from employers.models import PUBLISHED, Vacancy

    made = 0
    for name, fields in DEMO_DESKS.items():
        org = accounts.find_organisation(name)
        if org is None or db.session.get(ServiceDesk, org.id) is not None:
            continue
        db.session.add(ServiceDesk(organisation_id=org.id, **fields))
        made += 1
    sil = accounts.find_organisation(SIL)
    if not made or sil is None:
        return made
    db.session.flush()
    vacancy = db.session.execute(
        select(Vacancy)
        .join(Municipality, Municipality.istat_code == Vacancy.comune_code)
        .where(Vacancy.status == PUBLISHED, Municipality.province_code == "PN")
        .order_by(Vacancy.id)
        .limit(1)
    ).scalar_one_or_none()
    broker = _find_user(SERVICES[SIL][0])
    for full_name, email, phone, status, days in DEMO_REFERRALS if vacancy else ():
        when = utcnow() - timedelta(days=days)
        db.session.add(
            ReferralRequest(
                vacancy_id=vacancy.id,
                service_id=sil.id,
                full_name=full_name,
                email=email,
                phone=phone,
                locale="it",
                consent_at=when,
                status=status,
                handled_by_id=broker.id if broker and status != "new" else None,
                handled_at=when + timedelta(days=1) if status != "new" else None,
                created_at=when,
                updated_at=when,
            )
        )
    return made


#: The demo employer's inbox: (broker, status, note, what the employer answered).
DEMO_PROPOSALS = [
    ("broker@ponte.demo", PROPOSED, "Puntuale, abituato/a al lavoro in squadra.", ""),
    ("broker@ponte.demo", PROPOSED, "Ha concluso con profitto un tirocinio simile.", ""),
    ("broker.dsm@ponte.demo", PROPOSED, "Lavora bene con istruzioni scritte e un tutor.", ""),
    ("broker@ponte.demo", INTERVIEW, "Disponibile da subito, anche su turni.", ""),
    ("broker.dsm@ponte.demo", INTERVIEW, "Motivato/a, cerca un contratto stabile.", "Buon "
     "colloquio: vorremmo una seconda giornata di prova in reparto."),
    ("broker@ponte.demo", DECLINED, "Esperienza in magazzino di due anni.", "Cercavamo il "
     "patentino per il carrello elevatore."),
]  # fmt: skip
DEMO_EMPLOYER = "employer@ponte.demo"


def _seed_proposals(services: dict[str, Organisation], today: date) -> int:
    """A handful of proposals from the Pordenone brokers' candidates to the demo employer's
    published vacancies, in every state of the inbox (once: skipped if it has any)."""
    from brokerage import proposals
    from employers.models import PUBLISHED, Vacancy

    employer = _find_user(DEMO_EMPLOYER)
    orgs = employer.organisations() if employer is not None else []
    if not orgs:
        return 0
    org = orgs[0]
    if db.session.execute(select(Proposal.id).where(Proposal.employer_org_id == org.id)).first():
        return 0
    vacancies = (
        db.session.execute(
            select(Vacancy)
            .where(
                Vacancy.organisation_id == org.id,
                Vacancy.status == PUBLISHED,
                Vacancy.expires_on >= today,
            )
            .order_by(Vacancy.id)
        )
        .scalars()
        .all()
    )
    if not vacancies:
        return 0
    used: set[int] = set()
    made = 0
    for n, (email, status, note, answer) in enumerate(DEMO_PROPOSALS):
        broker = _find_user(email)
        if broker is None:
            continue
        service_ids = {s.id for s in services.values() if broker in [m.user for m in s.memberships]}
        # As in the portal, a broker proposes from the vacancy's ranked matches: the first
        # vacancy (from the n-th on) with a ranked candidate not proposed yet.
        turn = vacancies[n:] + vacancies[:n]
        found = next(
            ((v, *hit) for v in turn if (hit := _proposable(v, service_ids, used, today))),
            None,
        )
        if found is None and _fit_a_candidate(turn[0], service_ids, used, today):
            # The small demo caseload is random: let the nearest person whose availability
            # almost fits be the one who fits, then rank as the portal does.
            hit = _proposable(turn[0], service_ids, used, today)
            found = (turn[0], *hit) if hit else None
        if found is None:
            continue
        vacancy, candidate, match = found
        used.add(candidate.id)
        contact = _at(today - timedelta(days=2 + 3 * n))
        proposal = Proposal(
            vacancy_id=vacancy.id,
            candidate_id=candidate.id,
            broker_id=broker.id,
            service_id=min(service_ids & candidate.holding_service_ids),
            employer_org_id=org.id,
            card=proposals.build_card(candidate, match),
            note=note,
            status=status,
            first_contact_at=contact,
        )
        if status == INTERVIEW:  # held already when the employer wrote how it went
            proposal.interview_at = _at(today + timedelta(days=-1 if answer else 3 + n))
            proposal.interview_place = f"{org.name}, ufficio del personale"
            proposal.interview_outcome = answer
        elif status == DECLINED:
            proposal.decline_reason = answer
        db.session.add(proposal)
        made += 1
    db.session.flush()
    return made


def _proposable(
    vacancy: Any, service_ids: set[int], used: set[int], today: date
) -> tuple[Candidate, Any] | None:
    """The best-ranked candidate of ``service_ids`` not proposed yet (one proposal per
    person in the demo inbox), with the match explanation the portal would show."""
    from brokerage import matching

    ranked = matching.candidates_for_vacancy(vacancy, service_ids, today, limit=20)
    match = next((m for m in ranked if m.candidate_id not in used), None)
    if match is None:
        return None
    return db.session.get(Candidate, match.candidate_id), match


def _fit_a_candidate(vacancy: Any, service_ids: set[int], used: set[int], today: date) -> bool:
    """Make the nearest active candidate of ``service_ids`` with consent, not proposed yet,
    available for ``vacancy``: its hours, a commute that reaches it, only adjustments it
    offers. Demo data only."""
    from portal.municipalities import distance_between

    held = select(CaseHolding.candidate_id).where(
        CaseHolding.service_id.in_(service_ids), CaseHolding.until.is_(None)
    )
    candidates = (
        db.session.execute(
            select(Candidate).where(
                Candidate.id.in_(held),
                Candidate.id.not_in(used or {0}),
                Candidate.status == ACTIVE,
                Candidate.erased_at.is_(None),
                Candidate.matching_consent_until >= today,
            )
        )
        .scalars()
        .all()
    )
    place = vacancy.municipality
    near = sorted(
        (d, c.id, c)
        for c in candidates
        if (d := distance_between(c.municipality, place)) is not None and d <= 40
    )
    if not near:
        return False
    distance, _id, candidate = near[0]
    hours = vacancy.hours_per_week
    candidate.hours_min = min(candidate.hours_min, hours)
    candidate.hours_max = max(candidate.hours_max, hours)
    candidate.max_commute_km = max(candidate.max_commute_km, int(distance) + 5)
    offered = set(vacancy.adjustments) | ({"onsite_tutor"} if vacancy.onsite_tutor else set())
    candidate.adjustments = [a for a in candidate.adjustments if a in offered]
    db.session.flush()
    return True


def _seed_small(services: dict[str, Organisation], today: date) -> int:
    rng = random.Random(1991)  # L. 381/1991
    skills = _skills_by_occupation(OCCUPATIONS)
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
    pseudonyms = iter(_pseudonyms(rng, total))
    made = 0
    for name, (email, centre, count, groups) in SERVICES.items():
        service = services.get(name)
        if service is None:
            continue
        broker = _find_user(email)
        places = _neighbours(centre)
        for _i in range(count):
            referral = today - timedelta(days=rng.randint(10, 3 * 365))
            candidate = _candidate(
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
                            broker=_find_user(SERVICES[DSM][0]),
                        )
                    )
                    since = handed
            candidate.holdings.append(CaseHolding(service=holder, since=since, broker=broker))
            db.session.add(candidate)
            db.session.flush()
            _pathway(rng, candidate, service, broker, referral, today, employers.get(centre, []))
            _consents(rng, candidate, broker, referral, today)
            db.session.add(
                AuditLog(
                    at=_at(referral),
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


def _candidate(
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
        created_at=_at(referral),
        updated_at=_at(referral),
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


def _pathway(
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
            created_at=_at(start),
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


def _consents(
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
            revoked = _at(start + timedelta(days=rng.randint(10, 300)))
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
                    created_at=_at(start),
                )
            )
        if revoked is None and start <= today <= expires:
            valid_until.append(expires)
        if revoked is not None or expires >= today or rng.random() < 0.15:
            break  # revoked, still running, or expired and not renewed
        start = expires - timedelta(days=rng.randint(0, 20))
    candidate.matching_consent_until = max(valid_until, default=None)


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
    broker = _find_user(SERVICES[SIL][0])
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
        places += _neighbours(centre, 40)
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
    names = _pseudonyms(rng, missing)
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
