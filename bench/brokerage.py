"""Brokerage: matching latency, one vacancy against the 20,000 candidates of a service and
one candidate against the 50,000 public vacancies (target p95 <= 200 ms)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from bench.common import report, report_latency, timed

REPEAT = 20


def run(app: Flask) -> None:
    from brokerage import matching
    from brokerage.models import Candidate, CaseHolding
    from employers.models import PUBLISHED, Vacancy
    from portal import accounts, db
    from portal.db import utcnow

    with app.app_context():
        today = utcnow().date()
        service = accounts.find_organisation("SIL Pordenone – Servizio Inserimento Lavorativo")
        held = db.session.execute(
            select(func.count())
            .select_from(CaseHolding)
            .where(CaseHolding.service_id == service.id, CaseHolding.until.is_(None))
        ).scalar_one()
        report("brokerage candidates held by the service", held, "candidates")
        vacancy = db.session.execute(
            select(Vacancy)
            .where(
                Vacancy.status == PUBLISHED,
                Vacancy.comune_code == "093033",
                Vacancy.expires_on >= today,
            )
            .limit(1)
        ).scalar_one()
        found = matching.candidates_for_vacancy(vacancy, {service.id}, today)
        report("brokerage candidates ranked for the vacancy", len(found), "candidates")
        samples = timed(
            lambda: matching.candidates_for_vacancy(vacancy, {service.id}, today), REPEAT
        )
        report_latency("brokerage matching, 1 vacancy vs the service's candidates", samples)
        public = db.session.execute(
            select(func.count()).select_from(Vacancy).where(Vacancy.status == PUBLISHED)
        ).scalar_one()
        report("brokerage published vacancies", public, "vacancies")
        candidate = db.session.execute(
            select(Candidate)
            .join(CaseHolding)
            .where(
                CaseHolding.service_id == service.id,
                Candidate.status == "active",
                Candidate.matching_consent_until >= today,
            )
            .limit(1)
        ).scalar_one()
        samples = timed(lambda: matching.vacancies_for_candidate(candidate, today), REPEAT)
        report_latency("brokerage matching, 1 candidate vs all vacancies", samples)
