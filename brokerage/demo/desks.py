"""The demo service desks that take candidacies from public vacancies (SIL, job centre) and
the requests people sent them.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from brokerage.demo.data import SERVICES, SIL
from brokerage.demo.records import find_user
from portal import accounts, db
from portal.db import utcnow
from portal.models import Municipality

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


def seed_desks() -> int:
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
    broker = find_user(SERVICES[SIL][0])
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
