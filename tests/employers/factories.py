"""Factories for employers: vacancies."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from employers import services
from employers.services import VacancyData
from portal import db
from portal.db import utcnow
from portal.models import User


def vacancy_data(**overrides: object) -> VacancyData:
    values: dict[str, object] = {
        "title": "Magazziniere",
        "description": "Movimentazione merci con transpallet.",
        "comune_code": "093033",
        "contract_type": "fixed_term",
        "hours_per_week": 30,
        "pay_min": Decimal("1200.00"),
        "pay_max": Decimal("1400.00"),
        "adjustments": ["step_free_access"],
    }
    values.update(overrides)
    return VacancyData(**values)  # type: ignore[arg-type]


def make_vacancy(user: User, *, publish: bool = True, **overrides: object):
    org = services.owner_organisations(user)[0]
    today = utcnow().date()
    vacancy = services.create_vacancy(org, user, vacancy_data(**overrides), today)
    if publish:
        services.publish(vacancy, user, today)
    db.session.flush()
    return vacancy


def days(n: int):
    return utcnow().date() + timedelta(days=n)
