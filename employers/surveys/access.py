"""Who does what with needs surveys: the roles that answer, open rounds and read
results, and the rules of company visits (a broker may start a company's answers during
a visit and the brokers of the same service may continue them; answers the company gave
on its own stay the company's).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Select,
    func,
    or_,
    select,
)

from employers.services import VACANCY_ROLES
from employers.surveys.models import SurveyResponse
from portal.models import (
    ADMIN,
    BROKER,
    COMPANY,
    COOPERATIVE_B,
    PUBLIC_OFFICER,
    SERVICE,
    SOCIAL_FARM_KIND,
    Municipality,
    Organisation,
)

#: Roles that answer for their own organisation (companies, cooperatives, social farms):
#: those that post vacancies.
RESPONDENT_ROLES = VACANCY_ROLES
#: Organisation kinds a broker may answer for during a visit.
RESPONDENT_KINDS = (COMPANY, COOPERATIVE_B, SOCIAL_FARM_KIND)
#: Roles that open and manage survey rounds.
ROUND_ROLES = (ADMIN, PUBLIC_OFFICER)
#: Roles that read the aggregated, anonymised results.
RESULTS_ROLES = (BROKER, PUBLIC_OFFICER, ADMIN)
#: Everybody who uses surveys (the menu entry).
SURVEY_ROLES = tuple(dict.fromkeys((*RESPONDENT_ROLES, BROKER, PUBLIC_OFFICER, ADMIN)))


def respondent_organisations(user: Any) -> list[Organisation]:
    return user.organisations(*RESPONDENT_ROLES) if user and user.is_authenticated else []


def broker_services(user: Any) -> list[Organisation]:
    if not (user and user.is_authenticated):
        return []
    return [o for o in user.organisations(BROKER) if o.kind == SERVICE]


def can_answer_for(user: Any, org: Organisation) -> bool:
    """The company's own people answer for it."""
    return org in respondent_organisations(user)


def visitable(org: Organisation | None) -> bool:
    """A broker answers only for verified companies, cooperatives and social farms."""
    return org is not None and org.is_verified and org.kind in RESPONDENT_KINDS


def broker_may_fill(user: Any, org: Organisation, response: SurveyResponse | None) -> bool:
    """A broker may start a company's answers during a visit, and the brokers of the same
    service may continue them; answers the company gave on its own stay the company's."""
    services = broker_services(user)
    if not services or not visitable(org):
        return False
    if response is None:
        return True
    return response.during_visit and response.visit_service_id in {s.id for s in services}


def can_read_response(user: Any, response: SurveyResponse) -> bool:
    return can_answer_for(user, response.organisation) or broker_may_fill(
        user, response.organisation, response
    )


def visitable_companies(q: str = "") -> Select:
    """Companies a broker may visit, by name or municipality."""
    stmt = (
        select(Organisation)
        .outerjoin(Municipality, Municipality.istat_code == Organisation.comune_code)
        .where(Organisation.kind.in_(RESPONDENT_KINDS), Organisation.verified_at.is_not(None))
    )
    q = q.strip().lower()[:100]
    if q:
        like = "%" + q.replace("\\", "").replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(
            or_(func.lower(Organisation.name).like(like), func.lower(Municipality.name).like(like))
        )
    return stmt.order_by(Organisation.name)
