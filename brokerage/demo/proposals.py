"""Proposals in the demo employer's inbox: candidates of the demo services put forward for
the demo employer's vacancies they fit, at every stage (proposed, interview, declined).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from brokerage.demo.records import find_user, morning_of
from brokerage.models import ACTIVE, DECLINED, INTERVIEW, PROPOSED, Candidate, CaseHolding, Proposal
from portal import db
from portal.models import Organisation

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


def seed_proposals(services: dict[str, Organisation], today: date) -> int:
    """A handful of proposals from the Pordenone brokers' candidates to the demo employer's
    published vacancies, in every state of the inbox (once: skipped if it has any)."""
    from brokerage import proposals
    from employers.models import PUBLISHED, Vacancy

    employer = find_user(DEMO_EMPLOYER)
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
        broker = find_user(email)
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
        contact = morning_of(today - timedelta(days=2 + 3 * n))
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
            proposal.interview_at = morning_of(today + timedelta(days=-1 if answer else 3 + n))
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
